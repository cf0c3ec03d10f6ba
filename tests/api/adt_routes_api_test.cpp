// The routes an Azure Digital Twins client calls beside the twin routes, against the real binary:
// GET and PATCH /digitaltwins/{id}/components/{component} (the SDKs' getComponent and
// updateComponent) and ADT's publish telemetry, POST /digitaltwins/{id}/telemetry and
// /digitaltwins/{id}/components/{component}/telemetry, which feed the telemetry pipeline as
// POST /telemetry/{id} does. Refusals are compared with what the twin routes answer for the same
// failure, so that both keep one error mapping.
#include <fstream>

#include "api/api_fixture.h"

namespace doppel::api {
namespace {

class adt_routes_api : public api_fixture {
 protected:
  void SetUp() override {
    api_fixture::SetUp();
    without_simulation();  // the motor below has no windingTemperature for it to measure
    // The example motor has no writable property; give it one, so that a component PATCH that
    // succeeds does not depend on whether API writes honour `writable`.
    std::ofstream(project_ / "models" / "motor.json") << R"({
      "@context": "dtmi:dtdl:context;3", "@id": "dtmi:doppel:example:Motor;1", "@type": "Interface",
      "contents": [
        {"@type": "Telemetry", "name": "power", "schema": "double"},
        {"@type": "Property", "name": "ratedPower", "schema": "double"},
        {"@type": "Property", "name": "currentLimit", "schema": "double", "writable": true}]})";
    start();
  }
  std::string twin_etag(const std::string& id) { return body(call("GET", "/digitaltwins/" + id))["$etag"]; }
  // A 404 in the API's error shape whose message contains `says`.
  static void expect_not_found(const response& r, const std::string& says) {
    EXPECT_EQ(r.status, 404u) << r.body;
    json j = body(r);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_TRUE(j["error"]["code"].is_string()) << r.body;
    EXPECT_NE(j["error"]["message"].get<std::string>().find(says), std::string::npos) << r.body;
    EXPECT_TRUE(j["error"]["details"].is_array()) << r.body;
  }
  // `r` refuses as `like` does: same status and error.code.
  static void expect_same_refusal(const response& r, const response& like) {
    EXPECT_GE(like.status, 400u) << like.body;
    EXPECT_EQ(r.status, like.status) << r.body << "\nlike " << like.body;
    EXPECT_EQ(body(r)["error"]["code"], body(like)["error"]["code"]) << r.body << "\nlike " << like.body;
  }
  static std::vector<std::pair<std::string, std::string>> message_id(std::string id = "m-1") {
    return {{"Message-Id", std::move(id)}};
  }
};

TEST_F(adt_routes_api, GetComponentAnswersTheComponentWithItsMetadataAndTheTwinsEtag) {
  json twin = body(call("GET", "/digitaltwins/pump-1", "viewer"));
  response r = call("GET", "/digitaltwins/pump-1/components/motor", "viewer");
  ASSERT_EQ(r.status, 200u) << r.body;
  json component = body(r);
  EXPECT_EQ(component, twin["motor"]);
  EXPECT_EQ(component["ratedPower"], 55);
  EXPECT_TRUE(component["$metadata"].is_object()) << r.body;
  EXPECT_EQ(header(r, "ETag"), twin["$etag"]);
}

TEST_F(adt_routes_api, ComponentRoutesAnswer404ForAMissingTwinOrComponent) {
  response missing_twin = call("GET", "/digitaltwins/nope", "viewer");
  ASSERT_EQ(missing_twin.status, 404u) << missing_twin.body;
  std::string patch = R"([{"op": "add", "path": "/currentLimit", "value": 1}])";
  for (const auto& r :
       {call("GET", "/digitaltwins/nope/components/motor", "viewer"),
        call("PATCH", "/digitaltwins/nope/components/motor", "admin", patch),
        call("POST", "/digitaltwins/nope/telemetry", "operator", R"({"speed": 1})", message_id()),
        call("POST", "/digitaltwins/nope/components/motor/telemetry", "operator", R"({"power": 1})", message_id())}) {
    expect_same_refusal(r, missing_twin);
    expect_not_found(r, "twin \"nope\" does not exist");
  }
  // A property, a telemetry and an unknown name are no components (ADT: ComponentNotFound).
  for (std::string name : {"ratedFlow", "speed", "gearbox"}) {
    SCOPED_TRACE(name);
    for (const auto& [r, says] :
         {std::pair{call("GET", "/digitaltwins/pump-1/components/" + name, "viewer"), "no component"},
          std::pair{call("PATCH", "/digitaltwins/pump-1/components/" + name, "admin", patch), "no component"},
          std::pair{call("POST", "/digitaltwins/pump-1/components/" + name + "/telemetry", "operator",
                         R"({"power": 1})", message_id()),
                    "has motor"}}) {
      expect_not_found(r, says);
      EXPECT_EQ(body(r)["error"]["code"], "ComponentNotFound") << r.body;
    }
  }
  // The missing twin's code is ADT's too.
  EXPECT_EQ(body(missing_twin)["error"]["code"], "DigitalTwinNotFound");
}

TEST_F(adt_routes_api, ComponentPatchPathsAreRelativeToTheComponent) {
  std::string etag = twin_etag("pump-1");
  response r = call("PATCH", "/digitaltwins/pump-1/components/motor", "admin",
                    R"([{"op": "add", "path": "/currentLimit", "value": 80}])", {{"If-Match", etag}});
  // As PATCH on the twin (and ADT): 204 with the new ETag.
  ASSERT_EQ(r.status, 204u) << r.body;
  EXPECT_TRUE(r.body.empty());
  std::string new_etag = header(r, "ETag");
  EXPECT_FALSE(new_etag.empty());
  EXPECT_NE(new_etag, etag);
  json twin = body(call("GET", "/digitaltwins/pump-1"));
  EXPECT_EQ(twin["$etag"], new_etag);
  EXPECT_EQ(twin["motor"]["currentLimit"], 80);
  EXPECT_FALSE(twin.contains("currentLimit")) << twin.dump();
  EXPECT_TRUE(twin["motor"]["$metadata"]["currentLimit"]["lastUpdateTime"].is_string()) << twin.dump();
  response got = call("GET", "/digitaltwins/pump-1/components/motor", "viewer");
  EXPECT_EQ(header(got, "ETag"), new_etag);
  EXPECT_EQ(body(got)["currentLimit"], 80);
  // "from" is relative too (the copy fails unless it is rewritten); Prefer: return=representation
  // answers the component.
  response shown = call("PATCH", "/digitaltwins/pump-1/components/motor", "admin",
                        R"([{"op": "test", "path": "/currentLimit", "value": 80},
                            {"op": "copy", "from": "/currentLimit", "path": "/currentLimit"},
                            {"op": "replace", "path": "/currentLimit", "value": 90}])",
                        {{"If-Match", new_etag}, {"Prefer", "return=representation"}});
  ASSERT_EQ(shown.status, 200u) << shown.body;
  EXPECT_EQ(body(shown)["currentLimit"], 90) << shown.body;
  EXPECT_TRUE(body(shown)["$metadata"].is_object()) << shown.body;
  EXPECT_EQ(header(shown, "ETag"), twin_etag("pump-1"));
}

TEST_F(adt_routes_api, ComponentPatchRefusesWhatTwinPatchRefuses) {
  json before = body(call("GET", "/digitaltwins/pump-1"));
  struct bad_patch {
    std::string component_patch, twin_patch;
  };
  for (const auto& [relative, absolute] : std::vector<bad_patch>{
           // a value that does not fit the component's schema
           {R"([{"op": "add", "path": "/currentLimit", "value": "lots"}])",
            R"([{"op": "add", "path": "/motor/currentLimit", "value": "lots"}])"},
           // a name the component's model does not have
           {R"([{"op": "add", "path": "/nope", "value": 1}])", R"([{"op": "add", "path": "/motor/nope", "value": 1}])"},
           // the server's $metadata
           {R"([{"op": "add", "path": "/$metadata/x", "value": 1}])",
            R"([{"op": "add", "path": "/motor/$metadata/x", "value": 1}])"},
           // a failing test op
           {R"([{"op": "test", "path": "/ratedPower", "value": 1}])",
            R"([{"op": "test", "path": "/motor/ratedPower", "value": 1}])"},
           // not a patch
           {R"({"currentLimit": 3})", R"({"currentLimit": 3})"},
           {R"([{"op": "add", "path": "currentLimit", "value": 3}])",
            R"([{"op": "add", "path": "currentLimit", "value": 3}])"},
       }) {
    SCOPED_TRACE(relative);
    response r = call("PATCH", "/digitaltwins/pump-1/components/motor", "admin", relative);
    expect_same_refusal(r, call("PATCH", "/digitaltwins/pump-1", "admin", absolute));
  }
  expect_error(call("PATCH", "/digitaltwins/pump-1/components/motor", "admin", "[{"), 400, "bad_request");
  EXPECT_EQ(body(call("GET", "/digitaltwins/pump-1")), before);  // nothing changed
}

TEST_F(adt_routes_api, ComponentPatchWithAStaleIfMatchIsRefused) {
  std::string etag = twin_etag("pump-1");
  std::string patch = R"([{"op": "add", "path": "/currentLimit", "value": 80}])";
  ASSERT_EQ(call("PATCH", "/digitaltwins/pump-1/components/motor", "admin", patch, {{"If-Match", etag}}).status, 204u);
  response stale = call("PATCH", "/digitaltwins/pump-1/components/motor", "admin",
                        R"([{"op": "replace", "path": "/currentLimit", "value": 10}])", {{"If-Match", etag}});
  EXPECT_EQ(stale.status, 412u) << stale.body;
  expect_same_refusal(stale, call("PATCH", "/digitaltwins/pump-1", "admin", "[]", {{"If-Match", etag}}));
  EXPECT_EQ(body(call("GET", "/digitaltwins/pump-1/components/motor"))["currentLimit"], 80);
}

TEST_F(adt_routes_api, PublishedTelemetryIsLatestAndInTheHistory) {
  response r = call("POST", "/digitaltwins/pump-1/telemetry", "operator", R"({"speed": 1450.5, "running": true})",
                    {{"Message-Id", "m-1"}, {"Telemetry-Source-Time", "2026-01-02T03:04:05.5Z"}});
  ASSERT_EQ(r.status, 204u) << r.body;  // as ADT
  EXPECT_TRUE(r.body.empty());
  r = call("POST", "/digitaltwins/pump-1/components/motor/telemetry", "operator", R"({"power": 4.25})",
           {{"Message-Id", "m-2"}, {"Telemetry-Source-Time", "2026-01-02T04:00:00+01:00"}});
  ASSERT_EQ(r.status, 204u) << r.body;
  json latest = body(call("GET", "/digitaltwins/pump-1/telemetry", "viewer"));
  EXPECT_EQ(latest["speed"].dump(), R"({"time":"2026-01-02T03:04:05.500Z","value":1450.5})") << latest;
  EXPECT_EQ(latest["running"]["value"], true) << latest;
  // The component's telemetry is the component's, as a device's "motor.power" is.
  EXPECT_EQ(latest["motor.power"].dump(), R"({"time":"2026-01-02T03:00:00.000Z","value":4.25})") << latest;
  EXPECT_FALSE(latest.contains("power")) << latest;
  json speed = body(call("GET", "/digitaltwins/pump-1/telemetry/speed", "viewer"));
  ASSERT_EQ(speed["value"].size(), 1u) << speed;
  EXPECT_EQ(speed["value"][0]["time"], "2026-01-02T03:04:05.500Z");
  json power = body(call("GET", "/digitaltwins/pump-1/telemetry/motor.power", "viewer"));
  ASSERT_EQ(power["value"].size(), 1u) << power;
  EXPECT_EQ(power["value"][0]["value"], 4.25);
  // Without Telemetry-Source-Time, the time of arrival; Message-Id does not de-duplicate.
  for (int k = 0; k < 2; ++k) {
    ASSERT_EQ(call("POST", "/digitaltwins/pump-1/telemetry", "operator", R"({"speed": 7})", message_id("again")).status,
              204u);
  }
  speed = body(call("GET", "/digitaltwins/pump-1/telemetry/speed", "viewer"));
  EXPECT_EQ(speed["value"].size(), 3u) << speed;
  EXPECT_GT(speed["value"][1]["time"].get<std::string>(), "2026-01-02T03:04:05.500Z") << speed;
}

TEST_F(adt_routes_api, PublishTelemetryRefusesWhatPostTelemetryRefuses) {
  // ADT requires Message-Id; Telemetry-Source-Time must be RFC 3339.
  expect_error(call("POST", "/digitaltwins/pump-1/telemetry", "operator", R"({"speed": 1})"), 400, "bad_request");
  expect_error(call("POST", "/digitaltwins/pump-1/components/motor/telemetry", "operator", R"({"power": 1})"), 400,
               "bad_request");
  for (const char* bad : {"yesterday", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00", "1764064800000"}) {
    SCOPED_TRACE(bad);
    expect_error(call("POST", "/digitaltwins/pump-1/telemetry", "operator", R"({"speed": 1})",
                      {{"Message-Id", "m"}, {"Telemetry-Source-Time", bad}}),
                 400, "bad_request");
  }
  // The body is refused as on POST /telemetry/{id}: malformed, unknown names, wrong types.
  for (const char* payload : {"{not json", "[1, 2]", R"({"nope": 1})", R"({"speed": "fast"})"}) {
    SCOPED_TRACE(payload);
    expect_same_refusal(call("POST", "/digitaltwins/pump-1/telemetry", "operator", payload, message_id()),
                        call("POST", "/telemetry/pump-1", "operator", payload));
  }
  expect_same_refusal(
      call("POST", "/digitaltwins/pump-1/components/motor/telemetry", "operator", R"({"torque": 1})", message_id()),
      call("POST", "/telemetry/pump-1", "operator", R"({"motor.torque": 1})"));
  // None of it was applied.
  expect_not_found(call("GET", "/digitaltwins/pump-1/telemetry", "viewer"), "sent no telemetry");
}

TEST_F(adt_routes_api, OpenApiDocumentsThePublishTelemetryHeaders) {
  json doc = body(call("GET", "/openapi.json", ""));
  for (const char* path : {"/digitaltwins/{id}/telemetry", "/digitaltwins/{id}/components/{component}/telemetry"}) {
    SCOPED_TRACE(path);
    json op = doc["paths"][path]["post"];
    ASSERT_TRUE(op.is_object()) << doc["paths"].dump();
    EXPECT_TRUE(op["responses"].contains("204")) << op;
    std::map<std::string, bool> headers;
    for (const auto& p : op["parameters"]) {
      if (p["in"] == "header") headers[p["name"]] = p.value("required", false);
    }
    EXPECT_EQ(headers, (std::map<std::string, bool>{{"Message-Id", true}, {"Telemetry-Source-Time", false}}));
  }
  EXPECT_TRUE(doc["paths"]["/digitaltwins/{id}/components/{component}"]["get"].is_object());
  EXPECT_TRUE(doc["paths"]["/digitaltwins/{id}/components/{component}"]["patch"].is_object());
}

}  // namespace
}  // namespace doppel::api
