// Issue 13: what Azure Digital Twins clients expect of the twin API. `writable` does not restrict
// API writes (api.enforce_writable restores the refusal), and failures answer the HTTP status and
// error.code ADT's REST API reference gives for the same failure.
#include <fstream>
#include <iterator>

#include "api_fixture.h"

namespace doppel::api {
namespace {

class adt_api : public api_fixture {
 protected:
  // Appends `yaml` to the example's doppel.yaml.
  void configure(const std::string& yaml) {
    std::string original;
    {
      std::ifstream in(project_ / "doppel.yaml");
      original.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::ofstream(project_ / "doppel.yaml") << original << "\n" << yaml << "\n";
  }
};

// serialNumber and ratedFlow (Pump, via Asset) and motor.ratedPower (a component's) are not
// writable: ADT lets any client allowed to write set them; Doppel answered 422.
TEST_F(adt_api, ReadOnlyPropertiesAreWritableThroughTheApiByDefault) {
  start();
  std::string pump = R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"}, "serialNumber": "SN-7",
                         "ratedFlow": 90, "targetSpeed": 900, "motor": {"$metadata": {}, "ratedPower": 30}})";
  response put = call("PUT", "/digitaltwins/pump-7", "admin", pump);
  ASSERT_EQ(put.status, 200u) << put.body;
  EXPECT_EQ(body(put)["serialNumber"], "SN-7");
  response patched = call("PATCH", "/digitaltwins/pump-7", "admin",
                          R"([{"op": "replace", "path": "/serialNumber", "value": "SN-8"},
               {"op": "replace", "path": "/motor/ratedPower", "value": 31}, {"op": "remove", "path": "/ratedFlow"}])");
  ASSERT_EQ(patched.status, 204u) << patched.body;
  json twin = body(call("GET", "/digitaltwins/pump-7"));
  EXPECT_EQ(twin["serialNumber"], "SN-8");
  EXPECT_EQ(twin["motor"]["ratedPower"], 31);
  EXPECT_FALSE(twin.contains("ratedFlow")) << twin;
  // A PUT replacing a declared twin may carry its read-only properties along.
  response replaced = call("PUT", "/digitaltwins/pump-2", "admin",
                           R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"}, "serialNumber": "KSB-4471-02",
                               "motor": {"$metadata": {}}})");
  ASSERT_EQ(replaced.status, 200u) << replaced.body;
  EXPECT_EQ(body(replaced)["serialNumber"], "KSB-4471-02");
  // `writable` keeps its meaning where Doppel talks to devices: only writable properties have a
  // desired value, and telemetry may not report a read-only one.
  expect_error(call("PATCH", "/digitaltwins/pump-7/desired", "operator", R"({"serialNumber": "X"})"), 400,
               "ValidationFailed");
  response reported = call("POST", "/telemetry/pump-7", "operator", R"({"serialNumber": "X"})");
  expect_error(reported, 400, "ValidationFailed");
  EXPECT_EQ(body(reported)["error"]["details"][0]["reason"], "not_reportable") << reported.body;
  // Still checked against the model: types, unknown names.
  expect_error(
      call("PATCH", "/digitaltwins/pump-7", "admin", R"([{"op": "replace", "path": "/serialNumber", "value": 7}])"),
      400, "ValidationFailed");
}

TEST_F(adt_api, EnforceWritableRefusesReadOnlyPropertiesOnApiWrites) {
  configure("api: {enforce_writable: true}");
  start();
  std::string pump = R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"}, "serialNumber": "SN-7",
                         "motor": {"$metadata": {}}})";
  response put = call("PUT", "/digitaltwins/pump-7", "admin", pump);
  expect_error(put, 400, "ValidationFailed");
  EXPECT_NE(put.body.find("property \\\"serialNumber\\\" is not writable"), std::string::npos) << put.body;
  EXPECT_EQ(body(put)["error"]["details"][0]["path"], "$.serialNumber") << put.body;
  response patched =
      call("PATCH", "/digitaltwins/pump-1", "admin", R"([{"op": "replace", "path": "/motor/ratedPower", "value": 1}])");
  expect_error(patched, 400, "ValidationFailed");
  EXPECT_EQ(body(call("GET", "/digitaltwins/pump-1"))["motor"]["ratedPower"], 55);
  // Writable properties and the twins declared in the project folder are as before.
  EXPECT_EQ(call("PATCH", "/digitaltwins/pump-1", "admin", R"([{"op": "replace", "path": "/targetSpeed", "value": 1}])")
                .status,
            204u);
  EXPECT_EQ(body(call("GET", "/digitaltwins/pump-1"))["serialNumber"], "KSB-4471-01");
}

// Each failure with ADT's status and code (REST API reference, data plane 2023-10-31); Doppel's
// message stays.
TEST_F(adt_api, FailuresAnswerAdtStatusesAndCodes) {
  start();
  // Twins.
  expect_error(call("GET", "/digitaltwins/ghost"), 404, "DigitalTwinNotFound");
  expect_error(call("PATCH", "/digitaltwins/ghost", "admin", R"([{"op": "add", "path": "/mode", "value": "off"}])"),
               404, "DigitalTwinNotFound");
  expect_error(call("DELETE", "/digitaltwins/ghost"), 404, "DigitalTwinNotFound");
  expect_error(call("GET", "/digitaltwins/ghost/relationships"), 404, "DigitalTwinNotFound");
  expect_error(call("GET", "/digitaltwins/ghost/incomingrelationships"), 404, "DigitalTwinNotFound");
  response invalid = call("PUT", "/digitaltwins/pump-7", "admin",
                          R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"}, "mode": "sideways"})");
  expect_error(invalid, 400, "ValidationFailed");
  EXPECT_EQ(body(invalid)["error"]["details"].size(), 2u) << invalid.body;  // mode, and the missing motor
  expect_error(
      call("PATCH", "/digitaltwins/pump-1", "admin", R"([{"op": "replace", "path": "/$metadata", "value": 1}])"), 400,
      "JsonPatchInvalid");
  expect_error(call("PATCH", "/digitaltwins/pump-1", "admin", R"([{"op": "jump", "path": "/mode"}])"), 400,
               "JsonPatchInvalid");
  expect_error(call("PATCH", "/digitaltwins/pump-1", "admin", R"([{"op": "remove", "path": "/nosuch"}])"), 400,
               "JsonPatchInvalid");
  expect_error(call("DELETE", "/digitaltwins/pump-1"), 400, "RelationshipsNotDeleted");
  // Conditions.
  std::string etag = header(call("GET", "/digitaltwins/pump-1"), "ETag");
  ASSERT_EQ(
      call("PATCH", "/digitaltwins/pump-1", "admin", R"([{"op": "replace", "path": "/mode", "value": "off"}])").status,
      204u);
  expect_error(call("PATCH", "/digitaltwins/pump-1", "admin",
                    R"([{"op": "replace", "path": "/mode", "value": "auto"}])", {{"If-Match", etag}}),
               412, "PreconditionFailed");
  expect_error(call("DELETE", "/digitaltwins/tank-1", "admin", "", {{"If-Match", etag}}), 412, "PreconditionFailed");
  expect_error(call("PUT", "/digitaltwins/pump-1", "admin", body(call("GET", "/digitaltwins/pump-1")).dump(),
                    {{"If-None-Match", "*"}}),
               412, "PreconditionFailed");
  // Relationships.
  expect_error(call("GET", "/digitaltwins/station-north/relationships/nope"), 404, "RelationshipNotFound");
  expect_error(call("GET", "/digitaltwins/ghost/relationships/p1"), 404, "DigitalTwinNotFound");
  expect_error(call("DELETE", "/digitaltwins/station-north/relationships/nope"), 404, "RelationshipNotFound");
  expect_error(call("DELETE", "/digitaltwins/ghost/relationships/p1"), 404, "DigitalTwinNotFound");
  expect_error(call("PATCH", "/digitaltwins/station-north/relationships/nope", "admin", "[]"), 404,
               "RelationshipNotFound");
  expect_error(call("PUT", "/digitaltwins/ghost/relationships/r", "admin",
                    R"({"$relationshipName": "hasPump", "$targetId": "pump-1"})"),
               404, "DigitalTwinNotFound");
  expect_error(call("PUT", "/digitaltwins/station-north/relationships/r", "admin",
                    R"({"$relationshipName": "hasPump", "$targetId": "ghost"})"),
               404, "TargetTwinNotFound");
  expect_error(call("PUT", "/digitaltwins/station-north/relationships/r", "admin",
                    R"({"$relationshipName": "owns", "$targetId": "pump-1"})"),
               400, "InvalidRelationship");
  expect_error(call("PUT", "/digitaltwins/station-north/relationships/r", "admin",
                    R"({"$relationshipName": "hasPump", "$targetId": "pump-1", "position": "first"})"),
               400, "ValidationFailed");
  expect_error(call("PUT", "/digitaltwins/station-north/relationships/r", "admin",
                    R"({"$relationshipName": "hasPump", "$targetId": "pump-1", "$sourceId": "pump-2"})"),
               400, "InvalidArgument");
  std::string p1 = header(call("GET", "/digitaltwins/station-north/relationships/p1"), "ETag");
  ASSERT_EQ(call("PATCH", "/digitaltwins/station-north/relationships/p1", "admin",
                 R"([{"op": "replace", "path": "/position", "value": 5}])")
                .status,
            204u);
  expect_error(call("DELETE", "/digitaltwins/station-north/relationships/p1", "admin", "", {{"If-Match", p1}}), 412,
               "PreconditionFailed");
  expect_error(call("PUT", "/digitaltwins/station-north/relationships/p1", "admin",
                    R"({"$relationshipName": "hasPump", "$targetId": "pump-1"})", {{"If-None-Match", "*"}}),
               412, "PreconditionFailed");
  // Models.
  expect_error(call("GET", "/models/dtmi:nope;1"), 404, "ModelNotFound");
  expect_error(call("GET", "/models?dependenciesFor=dtmi:nope;1"), 404, "ModelNotFound");
  expect_error(call("DELETE", "/models/dtmi:nope;1", "admin"), 404, "ModelNotFound");
  std::string decommission = R"([{"op": "replace", "path": "/decommissioned", "value": true}])";
  expect_error(call("PATCH", "/models/dtmi:nope;1", "admin", decommission), 404, "ModelNotFound");
  expect_error(call("POST", "/models", "admin", R"("dtmi")"), 400, "InvalidArgument");
  std::string base = R"([{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Base;1", "@type": "Interface"},
                         {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Derived;1", "@type": "Interface",
                          "extends": "dtmi:test:Base;1"}])";
  ASSERT_EQ(call("POST", "/models", "admin", base).status, 201u);
  expect_error(call("POST", "/models", "admin", base), 409, "ModelAlreadyExists");
  expect_error(call("DELETE", "/models/dtmi:test:Base;1", "admin"), 409, "ModelReferencesNotDeleted");
  // Query.
  expect_error(call("POST", "/query", "viewer", R"({"query": "SELECT FROM"})"), 400, "SqlQueryError");
}

// Telemetry for a twin that does not exist answered 422.
TEST_F(adt_api, TelemetryForAMissingTwinIsDigitalTwinNotFound) {
  start();
  response r = call("POST", "/telemetry/ghost", "operator", R"({"speed": 1})");
  expect_error(r, 404, "DigitalTwinNotFound");
  EXPECT_EQ(body(r)["error"]["details"][0]["reason"], "unknown_twin") << r.body;
  expect_error(call("POST", "/telemetry", "operator", R"([{"$dtId": "ghost", "flow": 1}])"), 404,
               "DigitalTwinNotFound");
  expect_error(call("POST", "/write", "operator", "m,twin=ghost speed=1"), 404, "DigitalTwinNotFound");
  // A reading that does not fit the model is a 400, as ADT's ValidationFailed.
  expect_error(call("POST", "/telemetry/pump-1", "operator", R"({"speed": "fast"})"), 400, "ValidationFailed");
}

}  // namespace
}  // namespace doppel::api
