// libFuzzer target for the twin query language: input "QUERY" or "QUERY\fTOKEN" runs against the
// pump-station plant plus a generated graph (stations, pumps, linked nodes) twice, with and without
// the index; never a crash, every result serialises as valid JSON, both plans agree whenever both
// finish within the budget, and a returned continuation token is accepted for the next page.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/text.h"
#include "model/registry.h"
#include "twin/memory_source.h"
#include "twin/query.h"

namespace {

const doppel::model::model_registry& registry() {
  static const doppel::model::model_registry r = [] {
    doppel::model::model_registry reg;
    if (!reg.load_paths({DOPPEL_SOURCE_DIR "/examples/pump-station/models"}).ok()) __builtin_trap();
    auto report = reg.load({{"node.json", R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:doppel:fuzz:Node;1",
      "@type": "Interface", "extends": "dtmi:doppel:example:Asset;1",
      "contents": [{"@type": "Property", "name": "n", "schema": "long"},
                   {"@type": "Property", "name": "on", "schema": "boolean"},
                   {"@type": "Relationship", "name": "next", "target": "dtmi:doppel:fuzz:Node;1",
                    "properties": [{"@type": "Property", "name": "w", "schema": "double"}]}]})"}});
    if (!report.ok()) __builtin_trap();
    return reg;
  }();
  return r;
}

const doppel::twin::memory_source& data() {
  static const doppel::twin::memory_source* src = [] {
    using nlohmann::json;
    auto* s = new doppel::twin::memory_source(registry());
    auto plant = json::parse(*doppel::read_file(DOPPEL_SOURCE_DIR "/examples/pump-station/twins/plant.json"));
    for (const auto& t : plant["twins"]) {
      if (!s->put_twin(t["$dtId"], t)) __builtin_trap();
    }
    for (json r : plant["relationships"]) {
      if (!r.contains("$relationshipId")) r["$relationshipId"] = r["$relationshipName"].get<std::string>() + "-x";
      if (!s->put_relationship(r)) __builtin_trap();
    }
    const char* modes[] = {"auto", "manual", "off"};
    for (int i = 0; i < 40; ++i) {
      std::string id = "n" + std::to_string(i);
      json body = {{"$metadata", {{"$model", "dtmi:doppel:fuzz:Node;1"}}},
                   {"n", i % 7},
                   {"on", i % 2 == 0},
                   {"serialNumber", "SN-" + std::to_string(i % 5)},
                   {"manufacturer", modes[i % 3]}};
      if (i % 4 == 0) body["maintenance"] = {{"notes", "n\u00e4" + std::to_string(i)}};
      if (!s->put_twin(id, body)) __builtin_trap();
      for (int k = 1; k <= 3; ++k) {
        std::string to = "n" + std::to_string((i * k + 1) % 40);
        json rel = {{"$sourceId", id},
                    {"$relationshipId", id + "-" + to},
                    {"$relationshipName", "next"},
                    {"$targetId", to},
                    {"w", i * 0.5 + k}};
        if (!s->put_relationship(rel)) __builtin_trap();
      }
    }
    return s;
  }();
  return *src;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data_in, std::size_t size) {
  std::string input(reinterpret_cast<const char*>(data_in), size);
  std::size_t cut = input.find('\f');
  std::string text = input.substr(0, cut);
  doppel::twin::query_options options;
  options.page_size = 7;
  options.limits.max_work = 200'000;  // keeps each run fast; the budget itself is under test too
  if (cut != std::string::npos) options.continuation_token = input.substr(cut + 1);
  (void)doppel::twin::check_query(text, options.limits);

  auto indexed = doppel::twin::run_query(text, data(), options);
  options.use_indexes = false;
  auto scanned = doppel::twin::run_query(text, data(), options);
  if (indexed) (void)indexed->dump();  // throws (and so fails) on invalid UTF-8
  if (scanned) (void)scanned->dump();
  if (indexed && scanned && *indexed != *scanned) __builtin_trap();
  if (indexed && indexed->contains("continuationToken")) {
    options.use_indexes = true;
    options.continuation_token = (*indexed)["continuationToken"].get<std::string>();
    auto next = doppel::twin::run_query("", data(), options);
    if (!next) {
      // Only the budget may stop a page the previous one promised.
      if (next.error().message().find("evaluation steps") == std::string::npos) __builtin_trap();
    } else {
      (void)next->dump();
    }
  }
  return 0;
}
