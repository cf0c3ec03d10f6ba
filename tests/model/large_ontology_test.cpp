// A realistic ontology generated in memory: 2,100 interfaces in 100 sources, with extends chains
// across files, mixins, components, relationships, enums, objects, maps, arrays, commands and
// semantic types, in DTDL v3 (with QuantitativeTypes) and DTDL v2. It must load cleanly and fast.
#include "model/registry.h"

#include <gtest/gtest.h>

#include <time.h>
#include <algorithm>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dtdl_test_util.h"

namespace doppel::model {
namespace {

using namespace testing;

constexpr int k_files = 100;
constexpr int k_chain_per_file = 19;  // plus one Sensor and one Mixin interface per file
constexpr int k_levels = 10;          // file f sits at level f % 10 of the extends chains

bool is_v2_file(int f) { return f % 20 == 0; }  // level 0 only: v2 may not extend v3
std::string file_ns(int f) { return "dtmi:com:example:onto:f" + std::to_string(f); }
std::string chain_id(int f, int i) { return file_ns(f) + ":Equipment" + std::to_string(i) + ";1"; }
std::string sensor_id(int f) { return file_ns(f) + ":Sensor;1"; }
std::string mixin_id(int f) { return file_ns(f) + ":Mixin;1"; }

std::string sensor(int f, bool v2) {
  std::string p = "s" + std::to_string(f) + "_";
  std::string semantic = v2 ? R"(["Telemetry", "Pressure"])" : R"(["Telemetry", "Pressure", "Historized"])";
  return R"({"@id": ")" + sensor_id(f) + R"(", "@type": "Interface", "displayName": "Sensor", "contents": [
    {"@type": )" +
         semantic + R"(, "name": ")" + p + R"(pressure", "schema": "float", "unit": "kilopascal"},
    {"@type": "Property", "name": ")" +
         p + R"(calibrated", "schema": "date", "writable": true}]})";
}

std::string mixin(int f) {
  std::string p = "m" + std::to_string(f) + "_";
  return R"({"@id": ")" + mixin_id(f) + R"(", "@type": "Interface", "contents": [
    {"@type": "Property", "name": ")" +
         p + R"(tag", "schema": "string",
     "description": {"en": "Asset tag", "de": "Inventarnummer"}},
    {"@type": "Property", "name": ")" +
         p + R"(installed", "schema": "dateTime"}]})";
}

std::string equipment(int f, int i, bool v2) {
  int level = f % k_levels;
  std::string g = "e" + std::to_string(f) + "_" + std::to_string(i) + "_";
  std::string id = chain_id(f, i);
  std::string mode_id = id.substr(0, id.size() - 2) + ":Mode;1";
  std::vector<std::string> bases;
  if (level > 0) bases.push_back("\"" + chain_id(f - 1, i) + "\"");
  if (level > 0 && i % 5 == 0) bases.push_back("\"" + mixin_id(f) + "\"");
  std::string extends =
      bases.empty() ? "" : "\"extends\": [" + bases[0] + (bases.size() > 1 ? ", " + bases[1] : "") + "], ";
  std::string temperature = v2 ? R"(["Telemetry", "Temperature"])" : R"(["Telemetry", "Temperature", "Historized"])";
  std::string readings = v2 ? R"({"@type": "Map", "mapKey": {"name": "channel", "schema": "string"},
        "mapValue": {"name": "value", "schema": "double"}})"
                            : R"({"@type": "Map", "mapKey": {"name": "channel", "schema": "string"},
        "mapValue": {"@type": ["MapValue", "Length"], "name": "value", "schema": "double", "unit": "metre"}})";
  std::string target = chain_id((f + 7) % k_files, (i + 3) % k_chain_per_file);
  return R"({"@id": ")" + id + R"(", "@type": "Interface", )" + extends + R"("displayName": {"en": "Equipment )" +
         std::to_string(i) + R"("},
  "schemas": [{"@id": ")" +
         mode_id + R"(", "@type": "Enum", "valueSchema": "string", "enumValues": [
    {"name": "off", "enumValue": "OFF"}, {"name": "auto", "enumValue": "AUTO"},
    {"name": "manual", "enumValue": "MANUAL", "displayName": "Manual"}]}],
  "contents": [
    {"@type": )" +
         temperature + R"(, "name": ")" + g + R"(temperature", "schema": "double",
     "unit": "degreeCelsius"},
    {"@type": "Property", "name": ")" +
         g + R"(mode", "schema": ")" + mode_id + R"(", "writable": true},
    {"@type": "Property", "name": ")" +
         g + R"(config", "writable": true, "schema": {"@type": "Object", "fields": [
      {"name": "setpoint", "schema": "double"},
      {"name": "label", "schema": "string"},
      {"name": "priority", "schema": {"@type": "Enum", "valueSchema": "integer", "enumValues": [
        {"name": "low", "enumValue": 1}, {"name": "high", "enumValue": 2}]}},
      {"name": "readings", "schema": )" +
         readings + R"(}]}},
    {"@type": "Telemetry", "name": ")" +
         g + R"(history", "schema": {"@type": "Array", "elementSchema": "long"}},
    {"@type": "Relationship", "name": ")" +
         g + R"(feeds", "target": ")" + target + R"(", "maxMultiplicity": 5,
     "properties": [{"@type": "Property", "name": "flow", "schema": "double"}]},
    {"@type": "Component", "name": ")" +
         g + R"(sensor", "schema": ")" + sensor_id(f) + R"("},
    {"@type": "Command", "name": ")" +
         g + R"(reset", "request": {"name": "delay", "schema": "duration"},
     "response": {"name": "result", "schema": "string"}}
  ]})";
}

std::vector<source> ontology() {
  std::vector<source> out;
  for (int f = 0; f < k_files; ++f) {
    bool v2 = is_v2_file(f);
    std::string context =
        v2 ? R"("dtmi:dtdl:context;2")" : R"(["dtmi:dtdl:context;3", "dtmi:dtdl:extension:quantitativeTypes;1",
                                   "dtmi:dtdl:extension:historization;1"])";
    std::string text = "[\n";
    auto add = [&](const std::string& iface) {
      // Each top-level interface carries the context; splice it in after the opening brace.
      text += (text.size() > 2 ? ",\n" : "") + std::string("{\"@context\": ") + context + ", " + iface.substr(1);
    };
    add(sensor(f, v2));
    add(mixin(f));
    for (int i = 0; i < k_chain_per_file; ++i) add(equipment(f, i, v2));
    text += "\n]";
    out.push_back({"onto/f" + std::to_string(f) + ".json", std::move(text)});
  }
  return out;
}

TEST(LargeOntology, LoadsCleanly) {
  std::vector<source> sources = ontology();
  std::size_t bytes = 0;
  for (const auto& s : sources) bytes += s.text.size();
  // Shuffle deterministically so that references point forwards and backwards across files.
  std::vector<source> shuffled;
  for (int k = 0; k < k_files; ++k) shuffled.push_back(sources[static_cast<std::size_t>((k * 37) % k_files)]);

  // Its speed is measured by `make bench` (bench_dtdl), not asserted here: tests assert
  // behaviour, and timings on a shared machine, under AddressSanitizer, are noise.
  auto reg = std::make_unique<model_registry>();
  auto wall_start = std::chrono::steady_clock::now();
  load_report r = reg->load(std::move(shuffled));
  auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - wall_start);
  std::cout << "[ timing   ] " << reg->size() << " interfaces (" << bytes / 1024 << " KiB in " << k_files
            << " sources) in " << wall.count() << " ms\n";
  RecordProperty("load_ms", static_cast<int>(wall.count()));
  RecordProperty("interfaces", static_cast<int>(reg->size()));
  RecordProperty("bytes", static_cast<int>(bytes));

  ASSERT_TRUE(loads_ok(r));
  EXPECT_EQ(r.files, static_cast<std::size_t>(k_files));
  EXPECT_EQ(reg->size(), static_cast<std::size_t>(k_files * (k_chain_per_file + 2)));
  EXPECT_GE(reg->size(), 2000u);

  // The deepest chain member inherits from nine levels of bases and their mixins.
  const interface* deep = reg->find(chain_id(99, 0));
  ASSERT_NE(deep, nullptr);
  EXPECT_EQ(deep->version, dtdl_version::v3);
  EXPECT_TRUE(deep->is_a(chain_id(90, 0)));
  EXPECT_TRUE(deep->is_a(mixin_id(95)));
  EXPECT_EQ(deep->ancestors.size(), 9u + 9u);  // nine chain bases, nine mixins
  EXPECT_EQ(deep->contents.size(), 10u * 7u + 9u * 2u);
  const content* inherited = deep->find("e90_0_mode");
  ASSERT_NE(inherited, nullptr);
  EXPECT_EQ(inherited->type->values.size(), 3u);
  EXPECT_EQ(deep->find("e99_0_sensor")->component, reg->find(sensor_id(99)));
  EXPECT_EQ(deep->find("e99_0_temperature")->semantic_type, "Temperature");

  // A v3 chain standing on a v2 root.
  const interface* on_v2 = reg->find(chain_id(21, 1));
  ASSERT_NE(on_v2, nullptr);
  EXPECT_TRUE(on_v2->is_a(chain_id(20, 1)));
  EXPECT_EQ(reg->find(chain_id(20, 1))->version, dtdl_version::v2);
  EXPECT_EQ(reg->dependencies(chain_id(21, 1)),
            (std::vector<std::string>{chain_id(20, 1), sensor_id(21), chain_id(28, 4)}));
}

TEST(LargeOntology, SameResultInAnyOrder) {
  std::vector<source> sources = ontology();
  model_registry forward;
  ASSERT_TRUE(loads_ok(forward.load(sources)));
  std::reverse(sources.begin(), sources.end());
  model_registry backward;
  ASSERT_TRUE(loads_ok(backward.load(sources)));
  ASSERT_EQ(forward.size(), backward.size());
  auto a = forward.list();
  auto b = backward.list();
  for (std::size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k]->id, b[k]->id);
    ASSERT_EQ(a[k]->contents.size(), b[k]->contents.size()) << a[k]->id;
    ASSERT_EQ(a[k]->ancestors.size(), b[k]->ancestors.size()) << a[k]->id;
  }
}

TEST(LargeOntology, OneBadFileFailsTheWholeBatch) {
  std::vector<source> sources = ontology();
  std::string& text = sources[55].text;
  std::size_t at = text.find("\"schema\": \"double\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 18, "\"schema\": \"dubble\"");
  model_registry reg;
  load_report r = reg.load(sources);
  EXPECT_TRUE(has_error(r, "unknown schema \"dubble\"", where{0, "", 0, "onto/f55.json"}));
  EXPECT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(reg.size(), 0u);
}

}  // namespace
}  // namespace doppel::model
