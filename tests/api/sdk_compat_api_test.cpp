// What the official Azure Digital Twins SDKs send and read, on the real `doppel serve`: each test
// is one gap the SDK integration test (tests/adt_sdk, ctest `adt_sdk`) found, at the HTTP level.
#include "api/client.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "api/api_fixture.h"

namespace doppel::api {
namespace {

using nlohmann::json;

// The JavaScript SDK's listModels([], true) sends `dependenciesFor=` with no value; that was
// answered 404 'model "" is not loaded'.
TEST_F(api_fixture, ListModelsWithAnEmptyDependenciesForListsThemAll) {
  start();
  response all = call("GET", "/models?api-version=2023-10-31");
  ASSERT_EQ(all.status, 200u) << all.body;
  response empty = call("GET", "/models?dependenciesFor=&includeModelDefinition=true&api-version=2023-10-31");
  ASSERT_EQ(empty.status, 200u) << empty.body;
  EXPECT_EQ(body(empty)["value"].size(), body(all)["value"].size());
  EXPECT_TRUE(body(empty)["value"][0].contains("model"));
}

// ADT's model data carries displayName and description as language maps, in the list and for one
// model alike; GET /models/{id} used to replace displayName with a plain string, so the SDK's
// getModel(id).displayName.en was undefined.
TEST_F(api_fixture, GetModelGivesDisplayNameAsALanguageMap) {
  start();
  json one = body(call("GET", "/models/dtmi:doppel:example:Asset;1"));
  EXPECT_EQ(one["displayName"], json({{"en", "Asset"}, {"de", "Anlage"}})) << one;
  EXPECT_EQ(one["description"]["en"], "Anything the plant owns and maintains.") << one;
  json listed = body(call("GET", "/models?dependenciesFor=dtmi:doppel:example:Asset;1"));
  ASSERT_EQ(listed["value"].size(), 1u) << listed;
  EXPECT_EQ(listed["value"][0]["displayName"], one["displayName"]);
}

// ADT pages GET /models by the `max-items-per-page` header with a `nextLink` (the SDK's
// listModels(...).byPage({maxPageSize}) follows it); Doppel answered every model in one page.
TEST_F(api_fixture, ListModelsPagesByMaxItemsPerPageWithANextLink) {
  start();
  json all = body(call("GET", "/models"))["value"];
  ASSERT_GT(all.size(), 3u) << all;
  std::vector<std::string> want, got;
  for (const auto& m : all) want.push_back(m["id"]);
  std::string next = "/models?includeModelDefinition=true&api-version=2023-10-31";
  std::size_t pages = 0;
  while (!next.empty() && pages < 100) {
    response r = call("GET", next, "admin", "", {{"max-items-per-page", "2"}});
    ASSERT_EQ(r.status, 200u) << next << ": " << r.body;
    json page = body(r);
    ++pages;
    EXPECT_LE(page["value"].size(), 2u) << page;
    for (const auto& m : page["value"]) {
      got.push_back(m["id"]);
      EXPECT_TRUE(m.contains("model")) << m;  // includeModelDefinition carries over to the next pages
    }
    next = page.value("nextLink", "");
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(pages, (want.size() + 1) / 2);

  // The same for the models one model needs.
  response dep =
      call("GET", "/models?dependenciesFor=dtmi:doppel:example:Pump;1", "admin", "", {{"max-items-per-page", "1"}});
  ASSERT_EQ(dep.status, 200u) << dep.body;
  ASSERT_EQ(body(dep)["value"].size(), 1u) << dep.body;
  std::string dep_next = body(dep).value("nextLink", "");
  EXPECT_NE(dep_next.find("dependenciesFor=dtmi%3Adoppel%3Aexample%3APump%3B1"), std::string::npos) << dep_next;

  expect_error(call("GET", "/models", "admin", "", {{"max-items-per-page", "0"}}), 400, "bad_request");
}

// The SDK's README publishes telemetry as JSON text, publishTelemetry(id, '{"Telemetry1": 5}', id),
// which the SDK serializes once more: the body is a JSON string holding the object. It was refused
// as "the payload must be a valid JSON object".
TEST_F(api_fixture, PublishTelemetryTakesThePayloadAsJsonText) {
  start();
  response r =
      call("POST", "/digitaltwins/pump-1/telemetry", "operator", R"("{\"speed\": 1234.5}")", {{"Message-Id", "m-1"}});
  ASSERT_EQ(r.status, 204u) << r.body;
  r = call("POST", "/digitaltwins/pump-1/components/motor/telemetry", "operator", R"( "{\"power\": 4.5}" )",
           {{"Message-Id", "m-2"}});
  ASSERT_EQ(r.status, 204u) << r.body;
  json latest = body(call("GET", "/digitaltwins/pump-1/telemetry", "viewer"));
  EXPECT_EQ(latest["speed"]["value"], 1234.5) << latest;
  EXPECT_EQ(latest["motor.power"]["value"], 4.5) << latest;
  // One level only: a string that holds a string is still no telemetry.
  expect_error(call("POST", "/digitaltwins/pump-1/telemetry", "operator", R"("\"x\"")", {{"Message-Id", "m-3"}}), 400,
               "bad_request");
}

// @azure/digital-twins-core 1.1.0's publishComponentTelemetry sends the message id as the body and
// the payload as Message-Id; the refusal says so and how to call it instead.
TEST_F(api_fixture, PublishComponentTelemetryWithTheSdkArgumentSwapIsExplained) {
  start();
  response r = call("POST", "/digitaltwins/pump-1/components/motor/telemetry", "operator", R"("msg-1")",
                    {{"Message-Id", R"({"power": 4.5})"}});
  expect_error(r, 400, "bad_request");
  EXPECT_NE(r.body.find("publishComponentTelemetry swaps its last two arguments"), std::string::npos) << r.body;
  EXPECT_FALSE(body(call("GET", "/digitaltwins/pump-1/telemetry", "viewer")).contains("motor.power"));
}

}  // namespace
}  // namespace doppel::api
