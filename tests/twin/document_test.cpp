#include "twin/document.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "twin_test_util.h"

namespace doppel::twin {
namespace {

using nlohmann::json;

using testing::pump_station;

json pump() {
  return json::parse(R"({
    "$dtId": "pump-1",
    "$metadata": {"$model": "dtmi:doppel:example:Pump;1"},
    "serialNumber": "P-0001",
    "targetSpeed": 1450,
    "mode": "auto",
    "maintenance": {"lastService": "2026-03-01T08:00:00Z", "interval": "P90D"},
    "motor": {"$metadata": {}, "ratedPower": 55.0}
  })");
}

std::string all(const std::vector<model::value_error>& errors) {
  std::string out;
  for (const auto& e : errors) out += "  " + e.path + ": " + e.message + "\n";
  return out.empty() ? "  (none)\n" : out;
}

bool has(const std::vector<model::value_error>& errors, const std::string& path, const std::string& text) {
  for (const auto& e : errors) {
    if (e.path == path && e.message.find(text) != std::string::npos) return true;
  }
  return false;
}

const check_options k_project{true};  // twins declared in the project may set read-only values
const check_options k_api{false};

TEST(TwinCheck, ValidTwinNamesItsModel) {
  std::vector<model::value_error> errors;
  const model::interface* i = check_twin(pump(), "pump-1", pump_station(), k_project, errors);
  ASSERT_NE(i, nullptr) << all(errors);
  EXPECT_EQ(i->id, "dtmi:doppel:example:Pump;1");
}

TEST(TwinCheck, ReadOnlyPropertiesOnlyOutsideTheApi) {
  std::vector<model::value_error> errors;
  EXPECT_EQ(check_twin(pump(), "pump-1", pump_station(), k_api, errors), nullptr);
  EXPECT_TRUE(has(errors, "$.serialNumber", "not writable")) << all(errors);
  EXPECT_TRUE(has(errors, "$.motor.ratedPower", "not writable")) << all(errors);
  EXPECT_EQ(errors.size(), 2u) << all(errors);
}

TEST(TwinCheck, EveryProblemWithItsPath) {
  json t = pump();
  t["$dtId"] = "pump-2";
  t["targetSpeed"] = "fast";
  t["mode"] = "turbo";
  t["colour"] = "red";
  t["flow"] = 3.5;
  t["maintenance"]["interval"] = "90 days";
  t["$owner"] = "x";
  t["motor"].erase("$metadata");
  std::vector<model::value_error> errors;
  EXPECT_EQ(check_twin(t, "pump-1", pump_station(), k_project, errors), nullptr);
  EXPECT_TRUE(has(errors, "$.$dtId", "must equal the twin id \"pump-1\"")) << all(errors);
  EXPECT_TRUE(has(errors, "$.targetSpeed", "expected a number")) << all(errors);
  EXPECT_TRUE(has(errors, "$.mode", "not one of the enum's values")) << all(errors);
  EXPECT_TRUE(has(errors, "$.colour", "unknown property \"colour\"")) << all(errors);
  EXPECT_TRUE(has(errors, "$.flow", "is Telemetry")) << all(errors);
  EXPECT_TRUE(has(errors, "$.maintenance.interval", "ISO 8601 duration")) << all(errors);
  EXPECT_TRUE(has(errors, "$[\"$owner\"]", "unknown key")) << all(errors);
  EXPECT_TRUE(has(errors, "$.motor", "needs \"$metadata\"")) << all(errors);
  EXPECT_EQ(errors.size(), 8u) << all(errors);
}

TEST(TwinCheck, ModelAndComponentsAreRequired) {
  std::vector<model::value_error> errors;
  EXPECT_EQ(check_twin(json::parse(R"({"$metadata": {}})"), "x", pump_station(), k_project, errors), nullptr);
  EXPECT_TRUE(has(errors, "$.$metadata", "missing \"$model\"")) << all(errors);
  errors.clear();
  EXPECT_EQ(
      check_twin(json::parse(R"({"$metadata": {"$model": "dtmi:x:Nope;1"}})"), "x", pump_station(), k_project, errors),
      nullptr);
  EXPECT_TRUE(has(errors, "$.$metadata.$model", "is not loaded")) << all(errors);
  errors.clear();
  json t = pump();
  t.erase("motor");
  EXPECT_EQ(check_twin(t, "pump-1", pump_station(), k_project, errors), nullptr);
  EXPECT_TRUE(has(errors, "$", "missing component \"motor\"")) << all(errors);
  errors.clear();
  EXPECT_EQ(check_twin(json::array(), "x", pump_station(), k_project, errors), nullptr);
  EXPECT_TRUE(has(errors, "$", "must be a JSON object")) << all(errors);
}

TEST(TwinCheck, RelationshipsAndCommandsAreNotProperties) {
  json station = json::parse(R"({"$metadata": {"$model": "dtmi:doppel:example:PumpStation;1"}, "name": "North",
                                 "hasPump": "pump-1"})");
  std::vector<model::value_error> errors;
  EXPECT_EQ(check_twin(station, "s", pump_station(), k_project, errors), nullptr);
  EXPECT_TRUE(has(errors, "$.hasPump", "is a Relationship")) << all(errors);
  json t = pump();
  t["start"] = true;
  errors.clear();
  EXPECT_EQ(check_twin(t, "pump-1", pump_station(), k_project, errors), nullptr);
  EXPECT_TRUE(has(errors, "$.start", "is a Command")) << all(errors);
}

TEST(TwinPatch, ReplaceAddRemoveOnNestedPaths) {
  json t = pump();
  std::vector<model::value_error> errors;
  json patch = json::parse(R"([
    {"op": "replace", "path": "/targetSpeed", "value": 1200},
    {"op": "add", "path": "/maintenance/notes", "value": "bearing replaced"},
    {"op": "remove", "path": "/maintenance/interval"},
    {"op": "test", "path": "/mode", "value": "auto"},
    {"op": "replace", "path": "/mode", "value": "manual"}
  ])");
  ASSERT_TRUE(patch_twin(t, patch, "pump-1", pump_station(), k_api, errors)) << all(errors);
  EXPECT_EQ(t["targetSpeed"], 1200);
  EXPECT_EQ(t["maintenance"]["notes"], "bearing replaced");
  EXPECT_FALSE(t["maintenance"].contains("interval"));
  EXPECT_EQ(t["mode"], "manual");
}

TEST(TwinPatch, MapEntriesAndComponentPaths) {
  json tank = json::parse(R"({"$metadata": {"$model": "dtmi:doppel:example:Tank;1"}, "alarmLimits": {}})");
  std::vector<model::value_error> errors;
  ASSERT_TRUE(patch_twin(tank, json::parse(R"([{"op": "add", "path": "/alarmLimits/high", "value": 4.5}])"), "t",
                         pump_station(), k_api, errors))
      << all(errors);
  EXPECT_EQ(tank["alarmLimits"]["high"], 4.5);
  EXPECT_FALSE(patch_twin(tank, json::parse(R"([{"op": "add", "path": "/alarmLimits/low", "value": "x"}])"), "t",
                          pump_station(), k_api, errors));
  EXPECT_TRUE(has(errors, "$.alarmLimits.low", "expected a number")) << all(errors);
  json t = pump();
  errors.clear();
  EXPECT_FALSE(patch_twin(t, json::parse(R"([{"op": "replace", "path": "/motor/ratedPower", "value": 75}])"), "pump-1",
                          pump_station(), k_api, errors));
  EXPECT_TRUE(has(errors, "$[0].path", "property \"ratedPower\" is not writable")) << all(errors);
  errors.clear();
  EXPECT_TRUE(patch_twin(t, json::parse(R"([{"op": "replace", "path": "/motor/ratedPower", "value": 75}])"), "pump-1",
                         pump_station(), k_project, errors))
      << all(errors);
  EXPECT_EQ(t["motor"]["ratedPower"], 75);
}

TEST(TwinPatch, FailedPatchLeavesTheTwinUnchanged) {
  json t = pump();
  const json original = t;
  std::vector<model::value_error> errors;
  // The first operation is fine, the second breaks the schema: nothing is applied.
  EXPECT_FALSE(patch_twin(t, json::parse(R"([{"op": "replace", "path": "/targetSpeed", "value": 10},
                                             {"op": "replace", "path": "/mode", "value": "turbo"}])"),
                          "pump-1", pump_station(), k_api, errors));
  EXPECT_EQ(t, original);
  EXPECT_TRUE(has(errors, "$.mode", "not one of the enum's values")) << all(errors);
}

TEST(TwinPatch, RejectsBadOperations) {
  json t = pump();
  const json original = t;
  struct bad_case {
    const char* patch;
    const char* path;
    const char* text;
  };
  const bad_case cases[] = {
      {R"({"op": "add"})", "$", "is an array of operations"},
      {R"([{"op": "frob", "path": "/mode"}])", "$[0].op", "unknown op \"frob\""},
      {R"([{"path": "/mode"}])", "$[0]", "needs \"op\" and \"path\""},
      {R"([{"op": "replace", "path": "/$metadata/$model", "value": "dtmi:x:Y;1"}])", "$[0].path", "server maintains"},
      {R"([{"op": "remove", "path": ""}])", "$[0].path", "may not replace the whole twin"},
      {R"([{"op": "replace", "path": "mode", "value": "auto"}])", "$[0].path", "not a JSON Pointer"},
      {R"([{"op": "remove", "path": "/serialNumber"}])", "$[0].path", "not writable"},
      {R"([{"op": "copy", "path": "/mode"}])", "$[0]", "needs a \"from\""},
      {R"([{"op": "replace", "path": "/nothing", "value": 1}])", "$", "cannot be applied"},
      {R"([{"op": "test", "path": "/mode", "value": "off"}])", "$", "cannot be applied"},
      {R"([{"op": "add", "path": "/colour", "value": "red"}])", "$.colour", "unknown property"},
      {R"([{"op": "remove", "path": "/motor"}])", "$", "missing component \"motor\""},
      // Replacing a whole component may not smuggle in a read-only value.
      {R"([{"op": "add", "path": "/motor", "value": {"$metadata": {}, "ratedPower": 99}}])", "$.motor.ratedPower",
       "not writable"},
      {R"([{"op": "move", "from": "/manufacturer", "path": "/targetSpeed"}])", "$[0].from", "not writable"},
  };
  for (const auto& c : cases) {
    std::vector<model::value_error> errors;
    EXPECT_FALSE(patch_twin(t, json::parse(c.patch), "pump-1", pump_station(), k_api, errors)) << c.patch;
    EXPECT_TRUE(has(errors, c.path, c.text)) << c.patch << "\n" << all(errors);
    EXPECT_EQ(t, original) << c.patch;
  }
}

}  // namespace
}  // namespace doppel::twin
