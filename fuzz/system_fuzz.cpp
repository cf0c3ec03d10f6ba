// libFuzzer target for system files (DIR/sim/systems/NAME.yaml, app/sim_files.h): any bytes give
// a system or an error naming the place, never a crash; what parses is self-consistent
// (components with one of fmu and model and names without dots, connections between known
// components, steps positive and no larger than the system's, stop >= start).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "app/sim_files.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto sys = doppel::app::parse_system(text, "fuzz.yaml");
  if (!sys) return 0;
  if (sys->components.empty() || !(sys->step > 0) || sys->stop < sys->start) __builtin_trap();
  for (const auto& c : sys->components) {
    if (c.name.empty() || c.name.find('.') != std::string::npos || c.fmu.empty() == c.model.empty()) __builtin_trap();
    if (c.step < 0 || c.step > sys->step * (1 + 1e-12)) __builtin_trap();
  }
  for (const auto& k : sys->connections) {
    bool from = false, to = false;
    for (const auto& c : sys->components) {
      from = from || c.name == k.from;
      to = to || c.name == k.to;
    }
    if (!from || !to || k.output.empty() || k.input.empty()) __builtin_trap();
  }
  return 0;
}
