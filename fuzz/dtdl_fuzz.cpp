// libFuzzer target for the DTDL front end: any bytes, as one model file or split into two files
// that reference each other, must give a clean report and never crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/diagnostic.h"
#include "model/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<doppel::model::source> sources;
  // A form feed splits the input into several files, to reach cross-file resolution.
  std::size_t start = 0;
  while (true) {
    std::size_t cut = text.find('\f', start);
    sources.push_back({"f" + std::to_string(sources.size()) + ".json", text.substr(start, cut - start)});
    if (cut == std::string::npos) break;
    start = cut + 1;
  }
  doppel::model::model_registry registry;
  auto report = registry.load(std::move(sources));
  for (const auto& d : report.errors) (void)doppel::model::format(d);
  if (report.ok()) {
    for (const auto* i : registry.list()) (void)registry.dependencies(i->id);
  }
  return 0;
}
