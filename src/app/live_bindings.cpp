#include "app/live_bindings.h"

#include "app/sim_files.h"
#include "core/text.h"

namespace doppel::app {

namespace fs = std::filesystem;

live_bindings bind_live_simulations(const fs::path& dir, const simulation_config& config,
                                    const model::model_registry& registry) {
  live_bindings out;
  for (std::size_t i = 0; i < config.live.size(); ++i) {
    const sim::live_spec& spec = config.live[i];
    const std::string where = "simulation.live[" + std::to_string(i) + "]";
    auto problem = [&](std::string message) {
      out.errors.push_back({(dir / "doppel.yaml").string(), spec.line, spec.column, std::move(message)});
    };
    const model::interface* m = registry.find(spec.model);
    if (!m) {
      problem(where + ".model: no model " + spec.model + " is loaded; write the id of an interface in models/");
      continue;
    }
    const fs::path file = dir / "sim" / (spec.equations + ".yaml");
    std::error_code ec;
    if (spec.equations.empty() || spec.equations.find('/') != std::string::npos || !fs::is_regular_file(file, ec)) {
      problem(where + ".equations: no equation model " + quote(spec.equations) + " (" + file.string() +
              "); write the name of a file in sim/ without .yaml");
      continue;
    }
    auto loaded = load_equation_model(file);
    if (!loaded) {
      problem(where + ".equations: " + loaded.error().message());
      continue;
    }
    auto compiled = sim::equation_model::compile(std::move(*loaded));
    if (!compiled) {
      problem(where + ".equations: " + file.string() + ": " + compiled.error().message());
      continue;
    }
    auto bound = sim::bind(spec, std::move(*compiled), *m);
    if (!bound) {
      problem(where + "." + bound.error().message());
      continue;
    }
    out.bindings.push_back(std::make_shared<const sim::live_binding>(std::move(*bound)));
  }
  return out;
}

}  // namespace doppel::app
