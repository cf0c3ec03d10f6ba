// Generates a realistic synthetic DTDL v3 ontology for benchmarks and scale tests: a hierarchy
// of equipment interfaces with extends chains, components, relationships, reusable enums,
// inline objects, semantic types with units and multi-language display names.
// Deterministic for a given size. Pure function; safe for concurrent use.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "model/registry.h"

namespace doppel::bench {

struct ontology_options {
  std::size_t interfaces = 5000;
  std::size_t per_file = 50;  // interfaces per JSON file (each file holds an array)
};

// The files of the ontology, in an order where references point both forward and backward.
std::vector<model::source> generate_ontology(const ontology_options& options);

}  // namespace doppel::bench
