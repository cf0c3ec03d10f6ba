// libFuzzer target for what-if scenario requests (POST /scenarios bodies): any bytes give a
// scenario spec or an error naming the key, never a crash. A spec that parses runs (bounded:
// at most 1,000 points and 8 sweep values) against a small bound equation model, and its stored
// form reads back as the same scenario.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sim/scenario.h"

namespace {

std::shared_ptr<const doppel::sim::live_binding> lag_binding() {
  doppel::sim::equation_spec spec;
  spec.name = "lag";
  spec.parameters = {{"k", 2, ""}, {"tau", 5, ""}};
  spec.inputs = {{"u", 1, ""}};
  spec.states = {{"x", "0", "(k * u - x) / tau", ""}};
  spec.outputs = {{"y", "2 * x", ""}};
  spec.solver.max_steps = 2000;
  auto model = doppel::sim::equation_model::compile(spec);
  if (!model) __builtin_trap();
  auto b = std::make_shared<doppel::sim::live_binding>();
  b->spec.equations = "lag";
  b->equations = *model;
  b->outputs = {{(*model)->state_slot(0), "sim.x"}, {(*model)->output_slot(0), "sim.y"}};
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto binding = lag_binding();
  auto body = nlohmann::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), nullptr, false);
  if (body.is_discarded()) return 0;
  auto spec = doppel::sim::parse_scenario_request(body);
  if (!spec) return 0;
  if (spec->horizon / spec->step > 1000 || spec->sweep_values.size() > 8) return 0;  // bounded work per input
  auto start = doppel::sim::equation_run::start(binding->equations, 0);
  if (!start) __builtin_trap();
  auto values = (*start)->values();
  std::vector<doppel::sim::scenario_twin> twins{
      {"t", binding, 0, std::vector<double>(values.begin(), values.end()), false}};
  auto r = doppel::sim::run_scenario(*spec, twins, 1, 0);
  if (!r) return 0;
  auto back = doppel::sim::from_json(doppel::sim::to_json(*r, true));
  if (!back || back->spec.id != r->spec.id || back->variants.size() != r->variants.size()) __builtin_trap();
  return 0;
}
