// GET /digitaltwins/{id}/telemetry against the real binary: the exact bytes of the latest values
// (each value in the form the device sent it) and their lifetime (they go with their twin).
#include "api/api_fixture.h"

namespace doppel::api {
namespace {

// Telemetry of every kind of schema, and a component's (the motor's power).
const char* k_gauge_model = R"([{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Gauge;1",
  "@type": "Interface", "contents": [
    {"@type": "Telemetry", "name": "whole", "schema": "double"},
    {"@type": "Telemetry", "name": "fraction", "schema": "double"},
    {"@type": "Telemetry", "name": "negative", "schema": "float"},
    {"@type": "Telemetry", "name": "count", "schema": "long"},
    {"@type": "Telemetry", "name": "on", "schema": "boolean"},
    {"@type": "Telemetry", "name": "label", "schema": "string"},
    {"@type": "Telemetry", "name": "seen", "schema": "dateTime"},
    {"@type": "Telemetry", "name": "state", "schema": {"@type": "Enum", "valueSchema": "string",
      "enumValues": [{"name": "idle", "enumValue": "idle"}, {"name": "busy", "enumValue": "busy"}]}},
    {"@type": "Telemetry", "name": "level", "schema": {"@type": "Enum", "valueSchema": "integer",
      "enumValues": [{"name": "low", "enumValue": 1}, {"name": "high", "enumValue": 2}]}},
    {"@type": "Telemetry", "name": "position", "schema": {"@type": "Object", "fields": [
      {"name": "y", "schema": "double"}, {"name": "x", "schema": "double"}, {"name": "tag", "schema": "string"}]}},
    {"@type": "Telemetry", "name": "samples", "schema": {"@type": "Array", "elementSchema": "double"}},
    {"@type": "Component", "name": "motor", "schema": "dtmi:doppel:example:Motor;1"}
  ]}])";

class telemetry_api : public api_fixture {
 protected:
  void SetUp() override {
    api_fixture::SetUp();
    start();
    ASSERT_EQ(call("POST", "/models", "admin", k_gauge_model).status, 201u);
    create_gauge();
  }
  void create_gauge() {
    response r = call("PUT", "/digitaltwins/g-1", "admin",
                      R"({"$metadata": {"$model": "dtmi:test:Gauge;1"}, "motor": {"$metadata": {}}})");
    ASSERT_EQ(r.status, 200u) << r.body;
  }
};

TEST_F(telemetry_api, LatestTelemetryPrintsEachValueInTheFormItWasSent) {
  // A double sent as an integer stays an integer; times print in milliseconds (floored).
  response r = call("POST", "/telemetry/g-1", "operator",
                    R"({"whole": 3, "fraction": 3.5, "negative": -0.25, "count": 9007199254740993,
                        "on": false, "label": "caf\u00e9 \"quoted\"", "seen": "2024-05-01T10:00:00Z",
                        "state": "busy", "level": 2, "position": {"y": 2.0, "x": 1, "tag": "a"},
                        "samples": [1, 2.5, -3], "motor.power": 7.125, "$ts": "2024-05-01T10:00:00.123456Z"})");
  ASSERT_EQ(r.status, 204u) << r.body;
  r = call("GET", "/digitaltwins/g-1/telemetry", "viewer");
  ASSERT_EQ(r.status, 200u) << r.body;
  const std::string t = R"("time":"2024-05-01T10:00:00.123Z")";
  EXPECT_EQ(r.body, R"({"count":{)" + t + R"(,"value":9007199254740993},"fraction":{)" + t +
                        R"(,"value":3.5},"label":{)" + t + R"(,"value":"café \"quoted\""},"level":{)" + t +
                        R"(,"value":2},"motor.power":{)" + t + R"(,"value":7.125},"negative":{)" + t +
                        R"(,"value":-0.25},"on":{)" + t + R"(,"value":false},"position":{)" + t +
                        R"(,"value":{"tag":"a","x":1,"y":2.0}},"samples":{)" + t + R"(,"value":[1,2.5,-3]},"seen":{)" +
                        t + R"(,"value":"2024-05-01T10:00:00Z"},"state":{)" + t + R"(,"value":"busy"},"whole":{)" + t +
                        R"(,"value":3}})");

  // A newer reading replaces a value (and may change its number form); an older one does not.
  r = call("POST", "/telemetry/g-1", "operator", R"({"whole": 4.0, "on": true, "$ts": 1714557600200})");
  ASSERT_EQ(r.status, 204u) << r.body;
  r = call("POST", "/telemetry/g-1", "operator", R"({"whole": 5, "$ts": 1714557600100})");
  ASSERT_EQ(r.status, 204u) << r.body;
  json latest = body(call("GET", "/digitaltwins/g-1/telemetry", "viewer"));
  EXPECT_EQ(latest["whole"].dump(), R"({"time":"2024-05-01T10:00:00.200Z","value":4.0})");
  EXPECT_EQ(latest["on"].dump(), R"({"time":"2024-05-01T10:00:00.200Z","value":true})");
  EXPECT_EQ(latest["fraction"].dump(), R"({"time":"2024-05-01T10:00:00.123Z","value":3.5})");
  // Before 1970 the time is floored too.
  r = call("POST", "/telemetry/g-1", "operator", R"({"label": "old", "$ts": "1969-12-31T23:59:59.9995Z"})");
  ASSERT_EQ(r.status, 204u) << r.body;
  EXPECT_EQ(body(call("GET", "/digitaltwins/g-1/telemetry", "viewer"))["label"]["time"], "2024-05-01T10:00:00.123Z");
}

TEST_F(telemetry_api, ATwinWithoutTelemetryHasNone) {
  response r = call("GET", "/digitaltwins/g-1/telemetry", "viewer");
  expect_error(r, 404, "not_found");
  EXPECT_EQ(body(r)["error"]["message"], "twin \"g-1\" has sent no telemetry") << r.body;
  // No such twin: the one answer for a missing twin (ADT's code), not "has sent none".
  expect_error(call("GET", "/digitaltwins/nobody/telemetry", "viewer"), 404, "DigitalTwinNotFound");
}

TEST_F(telemetry_api, ADeletedTwinsLatestTelemetryGoesWithIt) {
  ASSERT_EQ(call("POST", "/telemetry/g-1", "operator", R"({"whole": 1, "label": "before"})").status, 204u);
  ASSERT_EQ(call("GET", "/digitaltwins/g-1/telemetry", "viewer").status, 200u);
  ASSERT_EQ(call("DELETE", "/digitaltwins/g-1", "admin").status, 204u);
  expect_error(call("GET", "/digitaltwins/g-1/telemetry", "viewer"), 404, "DigitalTwinNotFound");
  // Created again under the same id, the twin starts without the old values.
  create_gauge();
  expect_error(call("GET", "/digitaltwins/g-1/telemetry", "viewer"), 404, "not_found");
  ASSERT_EQ(call("POST", "/telemetry/g-1", "operator", R"({"label": "after"})").status, 204u);
  json latest = body(call("GET", "/digitaltwins/g-1/telemetry", "viewer"));
  EXPECT_EQ(latest.size(), 1u) << latest;
  EXPECT_EQ(latest["label"]["value"], "after") << latest;
}

}  // namespace
}  // namespace doppel::api
