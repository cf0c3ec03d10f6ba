// libFuzzer target for the simulation files of a project: the input (after its first byte) is an
// equation model file (first byte 0 mod 3), a scenario file (1 mod 3) or a CSV of measurements
// for `doppel sim fit` (2 mod 3), read against a small thermal model. Any bytes give a model, a
// scenario, a fit window or an error naming the place, never a crash; a model that loads also
// compiles and runs a few steps, and a short window is fitted for two iterations.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "app/sim_files.h"

namespace {

constexpr const char* k_thermal = R"(parameters: {R: 0.05, C: 4000}
inputs: {power: 0, ambient: 20}
states: {T: {start: ambient, derivative: "(power - (T - ambient) / R) / C"}}
outputs: {loss: (T - ambient) / R}
solver: {max_steps: 2000}
)";

void fit_csv(std::string_view text) {
  // Compiled once: the harness's only state, never changed after.
  static const std::shared_ptr<const doppel::sim::equation_model> model = [] {
    auto spec = doppel::app::parse_equation_model(k_thermal, "thermal.yaml");
    if (!spec) __builtin_trap();
    auto m = doppel::sim::equation_model::compile(*spec);
    if (!m) __builtin_trap();
    return *m;
  }();
  auto data = doppel::app::parse_fit_csv(*model, text, "fuzz.csv");
  if (!data) return;
  // Bounded work per input: a short window that does not span ages, two iterations.
  if (data->time.size() > 16 || data->time.back() - data->time.front() > 1e4) return;
  doppel::sim::fit_options o;
  o.max_iterations = 2;
  const std::string tune[] = {"R"};
  (void)doppel::sim::fit_parameters(model, *data, tune, {}, o);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 3 == 0) {
    auto spec = doppel::app::parse_equation_model(text, "fuzz.yaml");
    if (!spec) return 0;
    spec->solver.max_steps = std::min(spec->solver.max_steps, 2000L);  // bounded work per input
    auto model = doppel::sim::equation_model::compile(*spec);
    if (!model) __builtin_trap();  // parse_equation_model compiles it already
    auto run = doppel::sim::equation_run::start(*model, 0.0);
    if (run) (void)(*run)->advance(1.0);
    return 0;
  }
  if (data[0] % 3 == 1) {
    (void)doppel::app::parse_scenario(text, "fuzz.yaml");
    return 0;
  }
  fit_csv(text);
  return 0;
}
