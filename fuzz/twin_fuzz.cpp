// libFuzzer target for twin documents, twin declaration files and JSON Patch: input "BODY\fPATCH" is checked against
// the pump-station models and patched; never a crash, and a failed patch leaves the body unchanged.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/registry.h"
#include "twin/declarations.h"
#include "twin/document.h"

namespace {

const doppel::model::model_registry& registry() {
  // Loaded once per fuzzing process; read-only afterwards.
  static const doppel::model::model_registry r = [] {
    doppel::model::model_registry reg;
    if (!reg.load_paths({DOPPEL_SOURCE_DIR "/examples/pump-station/models"}).ok()) __builtin_trap();
    return reg;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::size_t cut = text.find('\f');
  auto body = nlohmann::json::parse(text.substr(0, cut), nullptr, false);
  if (body.is_discarded()) return 0;
  std::vector<doppel::model::value_error> errors;
  for (bool read_only : {false, true}) {
    (void)doppel::twin::check_twin(body, "t", registry(), {read_only}, errors);
  }
  (void)doppel::twin::check_declarations({{"f.json", body}}, registry());
  if (cut == std::string::npos) return 0;
  auto patch = nlohmann::json::parse(text.substr(cut + 1), nullptr, false);
  if (patch.is_discarded()) return 0;
  const nlohmann::json before = body;
  if (!doppel::twin::patch_twin(body, patch, "t", registry(), {false}, errors) && body != before) __builtin_trap();
  return 0;
}
