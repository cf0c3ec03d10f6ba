// The `simulation.live` entries of a project, bound: each entry's equation model read from
// DIR/sim/<equations>.yaml and compiled, and checked against its DTDL interface (sim::bind).
// Callers: load_projects (so `doppel validate` reports a bad binding) and `doppel serve`
// (which runs them, sim/live.h). Not thread-safe.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "app/config.h"
#include "model/registry.h"
#include "sim/live.h"

namespace doppel::app {

struct live_bindings {
  std::vector<std::shared_ptr<const sim::live_binding>> bindings;  // in doppel.yaml's order
  std::vector<config_error> errors;  // doppel.yaml:line:column of the entry, and what is wrong
};

live_bindings bind_live_simulations(const std::filesystem::path& dir, const simulation_config& config,
                                    const model::model_registry& registry);

}  // namespace doppel::app
