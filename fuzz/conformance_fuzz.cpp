// libFuzzer target for value conformance: arbitrary JSON checked against the schemas of the
// pump-station models (numbers, strings with formats, enums, objects, maps, geospatial).
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/conformance.h"
#include "model/registry.h"

namespace {

const doppel::model::model_registry& registry() {
  // Loaded once per fuzzing process; read-only afterwards.
  static const doppel::model::model_registry r = [] {
    doppel::model::model_registry reg;
    auto report = reg.load_paths({DOPPEL_SOURCE_DIR "/examples/pump-station/models"});
    if (!report.ok()) __builtin_trap();
    return reg;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto value = nlohmann::json::parse(data, data + size, nullptr, false);
  if (value.is_discarded()) return 0;
  std::vector<doppel::model::value_error> errors;
  for (const auto* i : registry().list()) {
    for (const auto* c : i->contents) {
      if (c->type) doppel::model::check_value(*c->type, value, errors);
    }
  }
  return 0;
}
