// What the official Azure Digital Twins SDKs send and read, on the real `doppel serve`: each test
// is one gap the SDK integration test (tests/adt_sdk, ctest `adt_sdk`) found, at the HTTP level.
#include "api/client.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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

}  // namespace
}  // namespace doppel::api
