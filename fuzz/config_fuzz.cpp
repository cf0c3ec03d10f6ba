// libFuzzer target for doppel.yaml: any bytes give a config or errors, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "app/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto r = doppel::app::parse_config(text, "fuzz.yaml");
  for (const auto& e : r.errors) (void)doppel::app::format(e);
  return 0;
}
