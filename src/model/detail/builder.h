// The DTDL front end's internals: turns a batch of JSON documents into linked model elements.
// Used only by model_registry; single-threaded.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/diagnostic.h"
#include "model/model.h"
#include "model/registry.h"

namespace doppel::model::detail {

// Owns model elements; pointers to them are stable.
struct arena {
  std::vector<std::unique_ptr<interface>> interfaces;
  std::vector<std::unique_ptr<content>> contents;
  std::vector<std::unique_ptr<schema>> schemas;

  void append(arena&& other);
};

// What an "@id" names, for duplicate checks and reference resolution.
struct id_entry {
  // content: a content element (or relationship property); named: a Field, MapKey, MapValue or
  // command payload (`material` says which); enum_value: an EnumValue. Those three may be named
  // by @id where DTDL expects such an element (a dependent reference).
  enum class kind { interface, schema, content, named, enum_value, other };
  kind what = kind::other;
  const void* element = nullptr;
  const interface* partition = nullptr;  // the interface whose text holds the element
  std::string_view material;             // kind::named: "Field", "MapKey", ...; a string literal
};

using id_table = std::unordered_map<std::string, id_entry>;

// Parses, validates and links `sources`. Elements already in `existing_ids` may be referenced
// (interfaces only: schemas are private to their interface). New elements go to `out` and their
// ids to `new_ids`; diagnostics to `report.errors`.
void build_batch(const std::vector<source>& sources, const registry_options& options, const id_table& existing_ids,
                 arena& out, id_table& new_ids, load_report& report);

// The schema of a standard (primitive or geospatial) term; never null.
const schema* primitive_schema(primitive_kind k);

}  // namespace doppel::model::detail
