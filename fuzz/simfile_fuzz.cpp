// libFuzzer target for the simulation files of a project: the input (after its first byte) is an
// equation model file (first byte even) or a scenario file (odd). Any bytes give a model, a
// scenario or an error naming the place, never a crash; a model that loads also compiles and
// runs a few steps.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "app/sim_files.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto spec = doppel::app::parse_equation_model(text, "fuzz.yaml");
    if (!spec) return 0;
    spec->solver.max_steps = std::min(spec->solver.max_steps, 2000L);  // bounded work per input
    auto model = doppel::sim::equation_model::compile(*spec);
    if (!model) __builtin_trap();  // parse_equation_model compiles it already
    auto run = doppel::sim::equation_run::start(*model, 0.0);
    if (run) (void)(*run)->advance(1.0);
    return 0;
  }
  (void)doppel::app::parse_scenario(text, "fuzz.yaml");
  return 0;
}
