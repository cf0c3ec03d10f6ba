// The graph's model operations (ADT /models): upload, list, decommission, delete; durable.
#include "twin/graph.h"

#include <gtest/gtest.h>

#include "twin_test_util.h"

namespace doppel::twin {
namespace {

using nlohmann::json;

const check_options k_api{false};

// A Valve model that extends the example's Asset, with a valve-only property.
std::string valve(int version = 1, const std::string& extra_contents = "") {
  return R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Valve;)" + std::to_string(version) +
         R"(", "@type": "Interface", "displayName": "Valve", "extends": "dtmi:doppel:example:Asset;1",
            "contents": [{"@type": "Property", "name": "open", "schema": "boolean", "writable": true})" +
         extra_contents + "]}";
}

json valve_twin(int version = 1) {
  return json::parse(R"({"$metadata": {"$model": "dtmi:test:Valve;)" + std::to_string(version) +
                     R"("}, "open": true})");
}

class graph_models : public testing::live_graph {
 protected:
  result<json> upload(const std::string& text) { return graph_->add_models({{"request body", text}}); }
};

TEST_F(graph_models, UploadedModelsTakeTwinsAndSurviveRestart) {
  auto r = upload("[" + valve() + "]");
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0]["id"], "dtmi:test:Valve;1");
  EXPECT_EQ((*r)[0]["displayName"]["en"], "Valve");
  EXPECT_EQ((*r)[0]["decommissioned"], false);
  EXPECT_EQ((*r)[0]["origin"], "api");
  ASSERT_TRUE(graph_->put_twin("valve-1", valve_twin(), {}, k_api));

  reopen();  // a restart: the registry starts from the project's models again
  auto got = graph_->get_twin("valve-1");
  ASSERT_TRUE(got) << got.error().to_string();
  auto data = graph_->model_data("dtmi:test:Valve;1", true);
  ASSERT_TRUE(data) << data.error().to_string();
  EXPECT_EQ((*data)["uploadTime"], (*r)[0]["uploadTime"]);
  EXPECT_EQ((*data)["model"]["@id"], "dtmi:test:Valve;1");  // the stored document
  auto project = graph_->model_data("dtmi:doppel:example:Pump;1", true);
  ASSERT_TRUE(project);
  EXPECT_EQ((*project)["origin"], "project");
  EXPECT_EQ((*project)["model"]["@id"], "dtmi:doppel:example:Pump;1");  // read from its file
}

TEST_F(graph_models, BadUploadsSayWhereAndAddNothing) {
  // Two models, the second broken: neither is added (all or nothing).
  auto r =
      upload("[" + valve(1) + ",\n" + valve(2, R"(, {"@type": "Property", "name": "open", "schema": "int"})") + "]");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), status_code::invalid_argument);
  EXPECT_NE(r.error().message().find("$[1].contents"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("(line 4, column"), std::string::npos) << r.error().message();
  EXPECT_FALSE(graph_->model_data("dtmi:test:Valve;1", false));

  // A model that exists is a conflict, as ADT answers.
  r = upload(std::string("[") + R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:doppel:example:Pump;1",
                       "@type": "Interface"})" +
             "]");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), status_code::already_exists) << r.error().to_string();
  EXPECT_EQ(upload("[]").error().code(), status_code::invalid_argument);
}

TEST_F(graph_models, DecommissionedModelsTakeNoNewTwinsButKeepTheirs) {
  ASSERT_TRUE(upload("[" + valve() + "]"));
  ASSERT_TRUE(graph_->put_twin("valve-1", valve_twin(), {}, k_api));
  ASSERT_TRUE(graph_->decommission_model("dtmi:test:Valve;1"));
  ASSERT_TRUE(graph_->decommission_model("dtmi:test:Valve;1"));  // again: no change, no error
  auto refused = graph_->put_twin("valve-2", valve_twin(), {}, k_api);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), status_code::failed_precondition);
  EXPECT_NE(refused.error().message().find("decommissioned"), std::string::npos);
  // The existing twin can still be written.
  EXPECT_TRUE(
      graph_->patch_twin("valve-1", json::parse(R"([{"op": "replace", "path": "/open", "value": false}])"), {}, k_api));
  EXPECT_TRUE(graph_->put_twin("valve-1", valve_twin(), {}, k_api));

  // Project models can be decommissioned too; both states survive a restart.
  ASSERT_TRUE(graph_->decommission_model("dtmi:doppel:example:Tank;1"));
  reopen();
  EXPECT_EQ((*graph_->model_data("dtmi:test:Valve;1", false))["decommissioned"], true);
  EXPECT_EQ((*graph_->model_data("dtmi:doppel:example:Tank;1", false))["decommissioned"], true);
  EXPECT_EQ((*graph_->model_data("dtmi:doppel:example:Pump;1", false))["decommissioned"], false);
  auto tank = json::parse(R"({"$metadata": {"$model": "dtmi:doppel:example:Tank;1"}})");
  EXPECT_EQ(graph_->put_twin("tank-9", tank, {}, k_api).error().code(), status_code::failed_precondition);
  EXPECT_EQ(graph_->decommission_model("dtmi:test:Nope;1").error().code(), status_code::not_found);
}

TEST_F(graph_models, DeleteIsRefusedWhileAnythingUsesTheModel) {
  std::string child = R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:BigValve;1", "@type": "Interface",
                          "extends": "dtmi:test:Valve;1"})";
  ASSERT_TRUE(upload("[" + valve() + "]"));
  ASSERT_TRUE(upload("[" + child + "]"));  // a later upload may use an earlier one
  ASSERT_TRUE(graph_->put_twin("valve-1", valve_twin(), {}, k_api));

  auto r = graph_->delete_model("dtmi:test:Valve;1");
  EXPECT_EQ(r.error().code(), status_code::failed_precondition);
  EXPECT_NE(r.error().message().find("\"valve-1\""), std::string::npos) << r.error().message();
  ASSERT_TRUE(graph_->delete_twin("valve-1", {}));
  r = graph_->delete_model("dtmi:test:Valve;1");
  EXPECT_NE(r.error().message().find("dtmi:test:BigValve;1"), std::string::npos) << r.error().message();
  r = graph_->delete_model("dtmi:doppel:example:Pump;1");
  EXPECT_EQ(r.error().code(), status_code::failed_precondition);
  EXPECT_NE(r.error().message().find("project folder"), std::string::npos) << r.error().message();

  ASSERT_TRUE(graph_->delete_model("dtmi:test:BigValve;1"));
  ASSERT_TRUE(graph_->delete_model("dtmi:test:Valve;1"));
  EXPECT_EQ(graph_->delete_model("dtmi:test:Valve;1").error().code(), status_code::not_found);
  EXPECT_EQ(graph_->put_twin("valve-1", valve_twin(), {}, k_api).error().code(), status_code::invalid_argument);

  // Deleted for good: not back after a restart, and the DTMI may be uploaded again (changed).
  reopen();
  EXPECT_FALSE(graph_->model_data("dtmi:test:Valve;1", false));
  ASSERT_TRUE(
      upload("[" + valve(1, R"(, {"@type": "Property", "name": "size", "schema": "double", "writable": true})") + "]"));
  auto t = valve_twin();
  t["size"] = 2.5;
  EXPECT_TRUE(graph_->put_twin("valve-1", t, {}, k_api));
}

TEST_F(graph_models, DeletingAModelLeavesOtherUploadsWhole) {
  // Two uploads, each a one-model array, the second with an inline component interface: both
  // bodies start at "$[0]", yet deleting the first must not take the second's inline interface.
  ASSERT_TRUE(upload("[" + valve() + "]"));
  std::string gate = R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Gate;1", "@type": "Interface",
    "contents": [{"@type": "Component", "name": "actuator",
                  "schema": {"@id": "dtmi:test:Gate:actuator;1", "@type": "Interface",
                             "contents": [{"@type": "Property", "name": "stroke", "schema": "double"}]}}]})";
  ASSERT_TRUE(upload("[" + gate + "]"));
  ASSERT_TRUE(graph_->delete_model("dtmi:test:Valve;1"));
  auto gate_twin = json::parse(R"({"$metadata": {"$model": "dtmi:test:Gate;1"}, "actuator": {"$metadata": {}}})");
  EXPECT_TRUE(graph_->put_twin("gate-1", gate_twin, {}, k_api)) << "the inline interface went missing";
  EXPECT_TRUE(graph_->model_data("dtmi:test:Gate:actuator;1", false));
}

TEST_F(graph_models, ListsTopLevelModelsAndDependencies) {
  ASSERT_TRUE(upload("[" + valve() + "]"));
  auto all = graph_->list_models({}, false);
  ASSERT_TRUE(all);
  std::vector<std::string> ids;
  for (const auto& m : *all) ids.push_back(m["id"]);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_NE(std::find(ids.begin(), ids.end(), "dtmi:test:Valve;1"), ids.end());
  EXPECT_NE(std::find(ids.begin(), ids.end(), "dtmi:doppel:example:Pump;1"), ids.end());

  auto deps = graph_->list_models({"dtmi:test:Valve;1"}, true);
  ASSERT_TRUE(deps);
  ids.clear();
  for (const auto& m : *deps) ids.push_back(m["id"]);
  EXPECT_EQ(ids, (std::vector<std::string>{"dtmi:doppel:example:Asset;1", "dtmi:test:Valve;1"}));
  EXPECT_TRUE((*deps)[0].contains("model"));
  EXPECT_EQ(graph_->list_models({"dtmi:test:Nope;1"}, false).error().code(), status_code::not_found);
}

}  // namespace
}  // namespace doppel::twin
