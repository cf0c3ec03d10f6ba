#include "twin/declarations.h"

#include <gtest/gtest.h>

#include "twin/relationship.h"
#include "twin_test_util.h"

namespace doppel::twin {
namespace {

using nlohmann::json;

using testing::pump_station;

const model::interface& model_of(const char* name) {
  return *pump_station().find(std::string("dtmi:doppel:example:") + name + ";1");
}

std::string all(const declaration_report& r) {
  std::string out;
  for (const auto& e : r.errors) out += "  " + e.file + " " + e.path + ": " + e.message + "\n";
  return out.empty() ? "  (none)\n" : out;
}

bool has(const declaration_report& r, const std::string& path, const std::string& text) {
  for (const auto& e : r.errors) {
    if (e.path == path && e.message.find(text) != std::string::npos) return true;
  }
  return false;
}

json station_with_pumps(int pumps) {
  json doc = json::parse(R"({"twins": [{"$dtId": "s", "$metadata": {"$model": "dtmi:doppel:example:PumpStation;1"}}],
                             "relationships": []})");
  for (int i = 0; i < pumps; ++i) {
    std::string id = "p" + std::to_string(i);
    doc["twins"].push_back(json::parse(R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"},
                                           "motor": {"$metadata": {}}})"));
    doc["twins"].back()["$dtId"] = id;
    doc["relationships"].push_back(
        {{"$sourceId", "s"}, {"$relationshipName", "hasPump"}, {"$targetId", id}, {"position", i}});
  }
  return doc;
}

TEST(Relationship, NameTargetAndProperties) {
  std::vector<model::value_error> errors;
  json rel = {{"$relationshipName", "hasPump"}, {"$targetId", "p1"}, {"position", 1}};
  EXPECT_NE(check_relationship(rel, model_of("PumpStation"), &model_of("Pump"), errors), nullptr);
  EXPECT_TRUE(errors.empty());
  // A Tank is not a Pump.
  EXPECT_EQ(check_relationship(rel, model_of("PumpStation"), &model_of("Tank"), errors), nullptr);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("must target a dtmi:doppel:example:Pump;1"), std::string::npos);
  errors.clear();
  json bad = {{"$relationshipName", "hasPump"}, {"$targetId", "p1"}, {"position", "first"}, {"colour", 1}};
  EXPECT_EQ(check_relationship(bad, model_of("PumpStation"), &model_of("Pump"), errors), nullptr);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].path, "$.colour");  // object members come in key order
  EXPECT_EQ(errors[1].path, "$.position");
  errors.clear();
  EXPECT_EQ(check_relationship(json{{"$targetId", "x"}}, model_of("Pump"), nullptr, errors), nullptr);
  EXPECT_EQ(errors.size(), 2u);  // missing name, target does not exist
}

TEST(Relationship, TargetByInheritance) {
  // Pump extends Asset: a relationship targeting Asset accepts a Pump. The station's feeds
  // relationship targets Tank, which also extends Asset, but a Pump is not a Tank.
  EXPECT_TRUE(model_of("Pump").is_a("dtmi:doppel:example:Asset;1"));
  std::vector<model::value_error> errors;
  json rel = {{"$relationshipName", "feeds"}, {"$targetId", "t"}};
  EXPECT_NE(check_relationship(rel, model_of("PumpStation"), &model_of("Tank"), errors), nullptr);
  EXPECT_EQ(check_relationship(rel, model_of("PumpStation"), &model_of("Pump"), errors), nullptr);
}

TEST(Declarations, ExampleLoads) {
  auto r = check_declarations({{"plant.json", station_with_pumps(3)}}, pump_station());
  EXPECT_TRUE(r.ok()) << all(r);
  EXPECT_EQ(r.twins, 4u);
  EXPECT_EQ(r.relationships, 3u);
}

TEST(Declarations, MaxMultiplicity) {
  auto r = check_declarations({{"plant.json", station_with_pumps(21)}}, pump_station());
  EXPECT_TRUE(has(r, "$.relationships[20]", "more than 20 \"hasPump\" relationships")) << all(r);
  EXPECT_EQ(r.errors.size(), 1u) << all(r);
}

TEST(Declarations, AcrossFilesWithPaths) {
  json twins = json::array({json::parse(R"({"$dtId": "t", "$metadata": {"$model": "dtmi:doppel:example:Tank;1"},
                                          "capacity": "big"})")});
  json rels = {
      {"relationships", json::array({{{"$sourceId", "nobody"}, {"$relationshipName", "feeds"}, {"$targetId", "t"}}})}};
  auto r = check_declarations({{"a.json", twins}, {"b.json", rels}}, pump_station());
  EXPECT_TRUE(has(r, "$[0].capacity", "expected a number")) << all(r);
  EXPECT_TRUE(has(r, "$.relationships[0].$sourceId", "\"nobody\" is not declared")) << all(r);
  ASSERT_EQ(r.errors.size(), 2u) << all(r);
  EXPECT_EQ(r.errors[0].file, "a.json");
  EXPECT_EQ(r.errors[1].file, "b.json");
}

TEST(Declarations, DuplicatesAndShapes) {
  json doc = station_with_pumps(1);
  doc["twins"].push_back(doc["twins"][0]);
  doc["relationships"].push_back(doc["relationships"][0]);
  doc["relationships"][0]["$relationshipId"] = "r";
  doc["relationships"][1]["$relationshipId"] = "r";
  doc["extra"] = 1;
  auto r = check_declarations({{"f.json", doc}, {"g.json", json("text")}}, pump_station());
  EXPECT_TRUE(has(r, "$.twins[2].$dtId", "twin \"s\" is declared twice")) << all(r);
  EXPECT_TRUE(has(r, "$.relationships[1]", "relationship \"r\" of twin \"s\" is declared twice")) << all(r);
  EXPECT_TRUE(has(r, "$.extra", "unknown key \"extra\"")) << all(r);
  EXPECT_TRUE(has(r, "$", "a twin file holds")) << all(r);
  json no_id = {{"twins", json::array({json::object()})}};
  auto r2 = check_declarations({{"h.json", no_id}}, pump_station());
  EXPECT_TRUE(has(r2, "$.twins[0]", "needs \"$dtId\"")) << all(r2);
}

}  // namespace
}  // namespace doppel::twin
