#include "twin/query.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <limits>
#include <set>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "core/text.h"
#include "twin/graph.h"
#include "twin/index.h"
#include "twin/memory_source.h"
#include "twin_test_util.h"

namespace doppel::twin {
namespace {

using nlohmann::json;

// The pump-station models plus two test-only ones: a Site that has stations (for two-hop joins
// over the example's models) and a Node that links to Nodes (for chains as long as needed).
void load_test_models(model::model_registry& reg) {
  {
    EXPECT_TRUE(reg.load_paths({DOPPEL_SOURCE_DIR "/examples/pump-station/models"}).ok());
    auto report = reg.load({{"test.json", R"([
      {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:doppel:test:Site;1", "@type": "Interface",
       "contents": [{"@type": "Property", "name": "name", "schema": "string"},
                    {"@type": "Relationship", "name": "hasStation", "target": "dtmi:doppel:example:PumpStation;1"}]},
      {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:doppel:test:Node;1", "@type": "Interface",
       "contents": [{"@type": "Property", "name": "n", "schema": "long"},
                    {"@type": "Property", "name": "flag", "schema": "boolean"},
                    {"@type": "Relationship", "name": "next", "target": "dtmi:doppel:test:Node;1"}]}
    ])"}});
    EXPECT_TRUE(report.ok()) << (report.errors.empty() ? "" : report.errors[0].message);
  }
}

const model::model_registry& registry() {
  static const model::model_registry r = [] {
    model::model_registry reg;
    load_test_models(reg);
    return reg;
  }();
  return r;
}

// Loads the example plant's declared twins and relationships (relationship ids as `doppel
// serve` gives them when the file has none: name-target).
void load_plant(memory_source& src) {
  auto text = read_file(DOPPEL_SOURCE_DIR "/examples/pump-station/twins/plant.json");
  ASSERT_TRUE(text);
  json plant = json::parse(*text);
  for (const auto& t : plant["twins"]) {
    status s = src.put_twin(t["$dtId"].get<std::string>(), t);
    ASSERT_TRUE(s) << s.to_string();
  }
  for (json r : plant["relationships"]) {
    if (!r.contains("$relationshipId")) {
      r["$relationshipId"] = r["$relationshipName"].get<std::string>() + "-" + r["$targetId"].get<std::string>();
    }
    ASSERT_TRUE(src.put_relationship(r));
  }
}

json rel(const std::string& source, const std::string& id, const std::string& name, const std::string& target) {
  return {{"$sourceId", source}, {"$relationshipId", id}, {"$relationshipName", name}, {"$targetId", target}};
}

json pump_body(double speed, const std::string& mode, double power) {
  return {{"$metadata", {{"$model", "dtmi:doppel:example:Pump;1"}}},
          {"targetSpeed", speed},
          {"mode", mode},
          {"motor", {{"$metadata", json::object()}, {"ratedPower", power}}}};
}

// `stations` stations of `pumps` pumps each: station-NN -hasPump-> pump-NN-MM, with speeds,
// modes and powers that vary, plus a site that has every station.
void load_generated(memory_source& src, int stations, int pumps) {
  const char* modes[] = {"auto", "manual", "off"};
  ASSERT_TRUE(src.put_twin("site", {{"$metadata", {{"$model", "dtmi:doppel:test:Site;1"}}}, {"name", "Site"}}));
  for (int s = 0; s < stations; ++s) {
    char sid[32];
    std::snprintf(sid, sizeof sid, "station-%02d", s);
    ASSERT_TRUE(src.put_twin(sid, {{"$metadata", {{"$model", "dtmi:doppel:example:PumpStation;1"}}},
                                   {"name", "Station " + std::to_string(s)}}));
    ASSERT_TRUE(src.put_relationship(rel("site", std::string("s-") + sid, "hasStation", sid)));
    for (int p = 0; p < pumps; ++p) {
      char pid[32];
      std::snprintf(pid, sizeof pid, "pump-%02d-%02d", s, p);
      int i = s * pumps + p;
      ASSERT_TRUE(src.put_twin(pid, pump_body(1000 + 10 * (i % 50), modes[i % 3], 30 + i % 7)));
      json r = rel(sid, std::string("p-") + pid, "hasPump", pid);
      r["position"] = p;
      ASSERT_TRUE(src.put_relationship(r));
    }
  }
}

class query_fixture : public ::testing::Test {
 protected:
  void SetUp() override { load_plant(src_); }

  // Runs `text` with and without the index (results must agree) and returns the rows.
  json rows(const std::string& text, std::size_t page_size = 1000) {
    query_options o;
    o.page_size = page_size;
    auto r = run_query(text, src_, o);
    EXPECT_TRUE(r) << text << "\n" << r.error().to_string();
    if (!r) return json();
    o.use_indexes = false;
    auto scan = run_query(text, src_, o);
    EXPECT_TRUE(scan) << text << "\n" << scan.error().to_string();
    if (scan) {
      EXPECT_EQ((*r)["value"], (*scan)["value"]) << text;
    }
    return (*r)["value"];
  }

  // The $dtId of each row (whole twins, or rows with a $dtId column).
  std::vector<std::string> ids(const std::string& text) {
    std::vector<std::string> out;
    for (const auto& row : rows(text)) out.push_back(row.value("$dtId", "?"));
    return out;
  }

  std::string error(const std::string& text, query_options o = {}) {
    auto r = run_query(text, src_, o);
    EXPECT_FALSE(r) << text;
    if (r) return "";
    EXPECT_EQ(r.error().code(), status_code::invalid_argument);
    return r.error().message();
  }

  memory_source src_{registry()};
};

using strings = std::vector<std::string>;

// ---------------------------------------------------------------- parse errors

using QueryParse = query_fixture;

TEST_F(QueryParse, ErrorsSayLineColumnExpectedAndFound) {
  EXPECT_EQ(error("SELECT * FORM DIGITALTWINS"), "1:10: expected FROM but found \"FORM\"");
  EXPECT_EQ(error("SELECT * FROM DIGITALTWINS\nWHERE $dtId = "),
            "2:15: expected a property path, a value, a function or '(' but found the end of the query");
  EXPECT_EQ(error("SELECT FROM DIGITALTWINS"),
            "1:8: expected *, a collection, a property path or an aggregate (COUNT, SUM, AVG, MIN, MAX) but found "
            "\"FROM\"");
  EXPECT_EQ(error("SELECT * FROM TWINS"), "1:15: expected DIGITALTWINS or RELATIONSHIPS but found \"TWINS\"");
  EXPECT_EQ(error("SELECT * FROM DIGITALTWINS T WHERE T.a = 1 T.b = 2"),
            "1:44: expected AND, OR, a comparison, GROUP BY or the end of the query but found \"T\"");
  EXPECT_EQ(error("SELECT * FROM DIGITALTWINS WHERE name = 'open"),
            "1:41: expected a closing ' for this string but found the end of the query");
  EXPECT_EQ(error("SELECT * FROM DIGITALTWINS WHERE (name = 'a'"),
            "1:45: expected ')', AND, OR or a comparison but found the end of the query");
  EXPECT_EQ(error("SELECT * FROM DIGITALTWINS WHERE name # 'a'"),
            "1:39: expected a name, value or operator but found \"#\"");
  EXPECT_EQ(error("SELECT * FROM DIGITALTWINS WHERE name IN ('a')"),
            "1:42: expected '[' and a list of values but found \"(\"");
  EXPECT_EQ(error("SELECT * FROM DIGITALTWINS WHERE LENGTH(name) = 2"),
            "1:34: expected a function (IS_OF_MODEL, IS_DEFINED, IS_NULL, IS_BOOL, IS_NUMBER, IS_STRING, IS_OBJECT, "
            "IS_PRIMITIVE, STARTSWITH, ENDSWITH, CONTAINS) but found \"LENGTH\"");
  EXPECT_EQ(error("SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('Pump')"),
            "1:46: expected a model id (DTMI) but found \"Pump\": a DTMI starts with \"dtmi:\"");
  EXPECT_EQ(error("SELECT TOP(0) FROM DIGITALTWINS"),
            "1:12: expected a whole number of rows greater than 0 but found \"0\"");
  EXPECT_EQ(error("SELECT COUNT(*) FROM DIGITALTWINS"), "1:14: expected ')' (COUNT takes no argument) but found \"*\"");
  EXPECT_EQ(error(""), "1:1: expected SELECT but found the end of the query");
  // Columns count characters, not bytes.
  EXPECT_EQ(error("SELECT * FROM DIGITALTWINS WHERE name = 'Zürich' OR"),
            "1:52: expected a property path, a value, a function or '(' but found the end of the query");
}

TEST_F(QueryParse, SemanticErrorsHavePositions) {
  EXPECT_EQ(error("SELECT * FROM DIGITALTWINS T WHERE X.name = 'a'"),
            "1:36: unknown collection \"X\" in \"X.name\": the query names T; write T.X.name");
  EXPECT_EQ(error("SELECT T.mode, COUNT() FROM DIGITALTWINS T"),
            "1:8: \"T.mode\" is neither in GROUP BY nor inside an aggregate: with COUNT(), SUM(), ... and no GROUP BY "
            "each row is a group, so add it to GROUP BY or aggregate it");
  EXPECT_EQ(error("SELECT T.name, COUNT() FROM DIGITALTWINS T GROUP BY T.mode"),
            "1:8: \"T.name\" is neither in GROUP BY nor inside an aggregate: with GROUP BY each row is a group, so add "
            "it to GROUP BY or aggregate it");
  EXPECT_EQ(error("SELECT TOP(3) COUNT() FROM DIGITALTWINS"),
            "1:8: TOP cannot be combined with COUNT(), other aggregates or GROUP BY");
  EXPECT_EQ(error("SELECT * FROM DIGITALTWINS S JOIN P RELATED S.hasPump"),
            "1:8: SELECT * cannot be used with JOIN: name what each row should hold, e.g. SELECT S, P");
  EXPECT_EQ(error("SELECT P FROM DIGITALTWINS S JOIN P RELATED Q.hasPump"),
            "1:45: unknown collection \"Q\": JOIN can follow S");
  EXPECT_EQ(error("SELECT P FROM DIGITALTWINS S JOIN P RELATED S.hasPump R JOIN X RELATED R.feeds"),
            "1:72: \"R\" is a relationship collection; RELATED needs twins");
  EXPECT_EQ(error("SELECT S FROM DIGITALTWINS S JOIN S RELATED S.hasPump"),
            "1:35: the name \"S\" is already used for another collection (at 1:28); give each collection its own name");
  EXPECT_EQ(error("SELECT R FROM RELATIONSHIPS R JOIN T RELATED R.x"),
            "1:31: JOIN follows relationships from twins: use FROM DIGITALTWINS <name>");
  EXPECT_EQ(error("SELECT P FROM DIGITALTWINS S JOIN P RELATED S.hasPump WHERE IS_OF_MODEL('dtmi:a:B;1')"),
            "1:61: IS_OF_MODEL needs the twin collection when the query has JOINs: IS_OF_MODEL(S, 'dtmi:a:B;1')");
  EXPECT_EQ(error("SELECT R FROM RELATIONSHIPS R WHERE IS_OF_MODEL(R, 'dtmi:a:B;1')"),
            "1:37: IS_OF_MODEL tests twins, and \"R\" holds relationships");
  EXPECT_EQ(error("SELECT T.name, S.name FROM DIGITALTWINS T JOIN S RELATED T.x"),
            "1:16: two columns are named \"name\"; rename one with AS");
  EXPECT_EQ(error("SELECT SUM(T) FROM DIGITALTWINS T"),
            "1:12: expected a property path inside SUM() but found the collection \"T\"");
  EXPECT_EQ(error("SELECT * FROM DIGITALTWINS GROUP BY mode"),
            "1:8: SELECT * cannot be combined with GROUP BY; list the grouped paths and aggregates");
}

TEST_F(QueryParse, JoinHopsAreLimited) {
  std::string five = "SELECT N5 FROM DIGITALTWINS N0";
  for (int i = 1; i <= 5; ++i) {
    five += " JOIN N" + std::to_string(i) + " RELATED N" + std::to_string(i - 1) + ".next";
  }
  EXPECT_TRUE(check_query(five));
  std::string six = five + " JOIN N6 RELATED N5.next";
  EXPECT_EQ(error(six),
            "1:" + std::to_string(five.size() + 2) + ": a query may JOIN at most 5 times; this is JOIN number 6");
}

TEST_F(QueryParse, NestingTextLengthAndEncodingAreLimited) {
  std::string ok = "SELECT * FROM DIGITALTWINS WHERE " + std::string(31, '(') + "$dtId = 'a'" + std::string(31, ')');
  EXPECT_TRUE(check_query(ok));
  std::string deep = "SELECT * FROM DIGITALTWINS WHERE " + std::string(33, '(') + "$dtId = 'a'" + std::string(33, ')');
  EXPECT_EQ(error(deep), "1:66: the condition nests deeper than 32 levels of parentheses and NOT; simplify it");
  std::string nots = "SELECT * FROM DIGITALTWINS WHERE ";
  for (int i = 0; i < 1000; ++i) nots += "NOT ";
  nots += "$dtId = 'a'";
  EXPECT_NE(error(nots).find("nests deeper than 32 levels"), std::string::npos);
  std::string longer = "SELECT * FROM DIGITALTWINS WHERE $dtId IN [" + std::string(9000, ' ') + "]";
  EXPECT_EQ(error(longer), "the query is 9044 bytes long; at most 8192 are allowed");
  EXPECT_EQ(error("SELECT * FROM DIGITALTWINS WHERE name = '\xff'"), "1:42: the query is not valid UTF-8 here");
}

TEST_F(QueryParse, KeywordsAreCaseInsensitive) {
  EXPECT_EQ(ids("select * from digitaltwins t where t.$dtId in ['pump-1'] and not is_null(t.mode)"), strings{"pump-1"});
  EXPECT_EQ(
      ids("Select T From DigitalTwins As T Where T.mode Nin ['x'] And Is_Of_Model(T, 'dtmi:doppel:example:Pump;1', "
          "EXACT)")
          .size(),
      2u);
}

// ---------------------------------------------------------------- the pump-station plant

using QueryPlant = query_fixture;

TEST_F(QueryPlant, SelectStarReturnsTheTwinsThemselvesInIdOrder) {
  json r = rows("SELECT * FROM DIGITALTWINS");
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0]["$dtId"], "pump-1");
  EXPECT_EQ(r[0]["motor"]["ratedPower"], 55);
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS"), (strings{"pump-1", "pump-2", "station-north", "tank-1", "vib-1"}));
  EXPECT_EQ(ids("SELECT TOP(2) FROM DIGITALTWINS"), (strings{"pump-1", "pump-2"}));
  EXPECT_EQ(ids("SELECT TOP(2) * FROM DIGITALTWINS WHERE $dtId > 'pump-1'"), (strings{"pump-2", "station-north"}));
}

TEST_F(QueryPlant, ProjectionsAreKeyedByAliasOrName) {
  json r = rows("SELECT T FROM DIGITALTWINS T WHERE T.$dtId = 'tank-1'");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].size(), 1u);
  EXPECT_EQ(r[0]["T"]["capacity"], 2500);
  r = rows("SELECT T.$dtId, T.motor.ratedPower AS power, T.$metadata.$model FROM DIGITALTWINS T WHERE T.mode = 'auto'");
  EXPECT_EQ(r, json::parse(R"([{"$dtId": "pump-1", "power": 55, "$model": "dtmi:doppel:example:Pump;1"}])"));
  // A property a twin lacks is left out of its row, as ADT does.
  r = rows("SELECT T.$dtId, T.installedOn FROM DIGITALTWINS T WHERE IS_OF_MODEL('dtmi:doppel:example:Pump;1')");
  EXPECT_EQ(r, json::parse(R"([{"$dtId": "pump-1", "installedOn": "2021-06-14"}, {"$dtId": "pump-2"}])"));
  // Bare paths name the FROM collection's properties when it has no alias.
  EXPECT_EQ(rows("SELECT ratedFlow, maintenance.interval FROM DIGITALTWINS WHERE $dtId = 'pump-1'"),
            json::parse(R"([{"ratedFlow": 120, "interval": "P180D"}])"));
  EXPECT_EQ(rows("SELECT COUNT() FROM DIGITALTWINS"), json::parse(R"([{"COUNT": 5}])"));
  EXPECT_EQ(rows("SELECT COUNT() FROM RELATIONSHIPS"), json::parse(R"([{"COUNT": 4}])"));
  EXPECT_EQ(rows("SELECT COUNT() AS n FROM DIGITALTWINS WHERE IS_DEFINED(nothing)"), json::parse(R"([{"n": 0}])"));
}

TEST_F(QueryPlant, Comparisons) {
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE mode = 'manual'"), strings{"pump-2"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE mode != 'manual'"), strings{"pump-1"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE mode <> \"manual\""), strings{"pump-1"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE capacity > 2499.5"), strings{"tank-1"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE capacity > 2500"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE capacity >= 2500"), strings{"tank-1"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE 2500 <= capacity"), strings{"tank-1"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE samplingPeriod < 100"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE samplingPeriod <= 100.0"), strings{"vib-1"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE alarmLimits.low > -2"), strings{"tank-1"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE alarmLimits.low < -2"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE installedOn < '2022-01-01'"), strings{"pump-1"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE serialNumber >= 'KSB-4471-02'"), strings{"pump-2"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE location.coordinates = location.coordinates"), strings{"pump-1"});
  // Values of different types never compare: undefined, so neither = nor != holds.
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE targetSpeed = '1450'"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE targetSpeed != '1450'"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE location > 3"), strings{});
}

TEST_F(QueryPlant, LogicAndLiterals) {
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE mode = 'auto' OR capacity = 2500"), (strings{"pump-1", "tank-1"}));
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE mode = 'auto' AND capacity = 2500"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE targetSpeed = 1450 AND (mode = 'manual' OR mode = 'off')"),
            strings{"pump-2"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE NOT mode = 'auto'"), strings{"pump-2"});
  // NOT of undefined stays undefined: twins without a mode are not "not auto".
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE NOT (mode = 'auto' AND 1 = 1)"), strings{"pump-2"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE NOT NOT mode = 'auto'"), strings{"pump-1"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE true"),
            (strings{"pump-1", "pump-2", "station-north", "tank-1", "vib-1"}));
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE false OR null = null AND $dtId = 'vib-1'"), strings{"vib-1"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE name = 'North pumping station'"), strings{"station-north"});
  EXPECT_EQ(ids(R"(SELECT * FROM DIGITALTWINS WHERE name = "North pumping station")"), strings{"station-north"});
  EXPECT_EQ(ids(R"(SELECT * FROM DIGITALTWINS WHERE 'it\'s' = "it's" AND $dtId = 'tank-1')"), strings{"tank-1"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE alarmLimits.high = 9.2 AND alarmLimits.low = 1.5e0"),
            strings{"tank-1"});
}

TEST_F(QueryPlant, InAndNin) {
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE $dtId IN ['tank-1', 'pump-2', 'ghost']"),
            (strings{"pump-2", "tank-1"}));
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE $dtId IN []"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE mode IN ['auto', 'off']"), strings{"pump-1"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE mode NIN ['auto', 'off']"), strings{"pump-2"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE mode NOT IN ['auto', 'off']"), strings{"pump-2"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE capacity IN [1, 2500, 'x', true, null]"), strings{"tank-1"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE capacity NIN [1, 2]"), strings{"tank-1"});
}

TEST_F(QueryPlant, IsOfModelFollowsInheritance) {
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:doppel:example:Asset;1')"),
            (strings{"pump-1", "pump-2", "tank-1"}));
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:doppel:example:Asset;1', exact)"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:doppel:example:Tank;1', exact)"),
            strings{"tank-1"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE NOT IS_OF_MODEL('dtmi:doppel:example:Asset;1')"),
            (strings{"station-north", "vib-1"}));
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:doppel:example:Nothing;1')"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE $metadata.$model = 'dtmi:doppel:example:VibrationSensor;1'"),
            strings{"vib-1"});
}

TEST_F(QueryPlant, TypeFunctions) {
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE IS_DEFINED(maintenance)"), strings{"pump-1"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE IS_DEFINED(maintenance.notes)"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE IS_NUMBER(capacity)"), strings{"tank-1"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE IS_NUMBER(name)"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE IS_STRING(name)"), strings{"station-north"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE IS_STRING(capacity)"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE IS_OBJECT(alarmLimits)"), strings{"tank-1"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE IS_OBJECT(alarmLimits.high)"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE IS_PRIMITIVE(mode)"), (strings{"pump-1", "pump-2"}));
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE IS_PRIMITIVE(motor)"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE IS_BOOL(mode)"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE IS_NULL(mode)"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE NOT IS_DEFINED(mode) AND IS_OF_MODEL('dtmi:doppel:example:Asset;1')"),
            strings{"tank-1"});
}

TEST_F(QueryPlant, StringFunctions) {
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE STARTSWITH($dtId, 'pump-')"), (strings{"pump-1", "pump-2"}));
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE STARTSWITH($dtId, 'Pump-')"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE ENDSWITH(serialNumber, '-02')"), strings{"pump-2"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE ENDSWITH(serialNumber, 'KSB')"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE CONTAINS(name, 'pumping')"), strings{"station-north"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE CONTAINS(name, 'Pumping')"), strings{});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE STARTSWITH(serialNumber, 'KSB') AND STARTSWITH(manufacturer, 'K')"),
            (strings{"pump-1", "pump-2"}));
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE CONTAINS(capacity, '2')"), strings{});
}

TEST_F(QueryPlant, JoinFollowsNamedRelationships) {
  json r = rows(
      "SELECT P, R FROM DIGITALTWINS S JOIN P RELATED S.hasPump R WHERE S.$dtId = 'station-north' AND R.position > 1");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["P"]["$dtId"], "pump-2");
  EXPECT_EQ(r[0]["R"]["$relationshipId"], "p2");
  EXPECT_EQ(r[0]["R"]["position"], 2);
  EXPECT_EQ(rows("SELECT P.$dtId, R.$targetId AS target, R.$relationshipName AS rel FROM DIGITALTWINS S "
                 "JOIN P RELATED S.hasPump R WHERE S.$dtId = 'station-north'"),
            json::parse(R"([{"$dtId": "pump-1", "target": "pump-1", "rel": "hasPump"},
                            {"$dtId": "pump-2", "target": "pump-2", "rel": "hasPump"}])"));
  EXPECT_EQ(rows("SELECT T.capacity FROM DIGITALTWINS S JOIN T RELATED S.feeds"),
            json::parse(R"([{"capacity": 2500}])"));
  EXPECT_EQ(rows("SELECT S.name FROM DIGITALTWINS S JOIN P RELATED S.hasPump WHERE P.mode = 'manual'"),
            json::parse(R"([{"name": "North pumping station"}])"));
  EXPECT_EQ(rows("SELECT P FROM DIGITALTWINS S JOIN P RELATED S.noSuchRelationship"), json::array());
  EXPECT_EQ(rows("SELECT COUNT() FROM DIGITALTWINS S JOIN P RELATED S.hasPump WHERE IS_OF_MODEL(P, "
                 "'dtmi:doppel:example:Asset;1')"),
            json::parse(R"([{"COUNT": 2}])"));
}

TEST_F(QueryPlant, FromRelationships) {
  json r =
      rows("SELECT * FROM RELATIONSHIPS R WHERE R.$sourceId = 'station-north' AND R.$relationshipName = 'hasPump'");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0]["$relationshipId"], "p1");
  EXPECT_EQ(r[1]["$targetId"], "pump-2");
  EXPECT_EQ(rows("SELECT R.$targetId FROM RELATIONSHIPS R WHERE R.position IN [2]"),
            json::parse(R"([{"$targetId": "pump-2"}])"));
  EXPECT_EQ(rows("SELECT $relationshipId FROM RELATIONSHIPS WHERE $sourceId IN ['nobody']"), json::array());
  EXPECT_EQ(rows("SELECT $relationshipName, COUNT() FROM RELATIONSHIPS GROUP BY $relationshipName"),
            json::parse(R"([{"$relationshipName": "feeds", "COUNT": 1}, {"$relationshipName": "hasPump", "COUNT": 2},
                            {"$relationshipName": "monitoredBy", "COUNT": 1}])"));
}

// ---------------------------------------------------------------- aggregates

using QueryAggregate = query_fixture;

TEST_F(QueryAggregate, GroupByGivesOneRowPerGroupInKeyOrder) {
  load_generated(src_, 3, 4);  // 12 pumps: modes auto, manual, off by turns; speeds 1000..1110
  json r = rows(
      "SELECT T.mode, COUNT() AS n, SUM(T.targetSpeed) AS total, AVG(T.motor.ratedPower) AS power, "
      "MIN(T.targetSpeed), MAX(T.$dtId) FROM DIGITALTWINS T WHERE STARTSWITH(T.$dtId, 'pump-0') GROUP BY T.mode");
  EXPECT_EQ(r, json::parse(R"([
    {"mode": "auto", "n": 4, "total": 4180.0, "power": 32.75, "MIN": 1000.0, "MAX": "pump-02-01"},
    {"mode": "manual", "n": 4, "total": 4220.0, "power": 32.0, "MIN": 1010.0, "MAX": "pump-02-02"},
    {"mode": "off", "n": 4, "total": 4260.0, "power": 33.0, "MIN": 1020.0, "MAX": "pump-02-03"}])"));
  // Without GROUP BY: one row, even with no match. Twins without the value form the first group.
  EXPECT_EQ(rows("SELECT COUNT(), SUM(T.capacity) FROM DIGITALTWINS T WHERE T.$dtId = 'ghost'"),
            json::parse(R"([{"COUNT": 0}])"));
  EXPECT_EQ(rows("SELECT T.mode, COUNT() FROM DIGITALTWINS T WHERE NOT STARTSWITH(T.$dtId, 'pump-0') GROUP BY T.mode"),
            json::parse(R"([{"COUNT": 7}, {"mode": "auto", "COUNT": 1}, {"mode": "manual", "COUNT": 1}])"));
  EXPECT_EQ(rows("SELECT T.$metadata.$model AS model, COUNT() FROM DIGITALTWINS T GROUP BY T.$metadata.$model").size(),
            5u);
  EXPECT_EQ(rows("SELECT SUM(capacity), SUM(samplingPeriod) AS s, MIN(name), MAX(capacity) FROM DIGITALTWINS"),
            json::parse(R"([{"SUM": 2500, "s": 100, "MIN": "North pumping station", "MAX": 2500}])"));
  // GROUP BY two paths; a group key repeated without aggregates is like DISTINCT.
  EXPECT_EQ(rows("SELECT mode, motor.ratedPower FROM DIGITALTWINS WHERE targetSpeed < 1030 GROUP BY mode, "
                 "motor.ratedPower"),
            json::parse(R"([{"mode": "auto", "ratedPower": 30.0}, {"mode": "manual", "ratedPower": 31.0},
                            {"mode": "off", "ratedPower": 32.0}])"));
}

TEST_F(QueryAggregate, IntegerSumsStayExactAndOverflowToDouble) {
  ASSERT_TRUE(src_.put_twin(
      "n1", {{"$metadata", {{"$model", "dtmi:doppel:test:Node;1"}}}, {"n", std::numeric_limits<std::int64_t>::max()}}));
  ASSERT_TRUE(src_.put_twin("n2", {{"$metadata", {{"$model", "dtmi:doppel:test:Node;1"}}}, {"n", 2}}));
  json r = rows("SELECT SUM(n), AVG(n) FROM DIGITALTWINS WHERE $dtId = 'n2'");
  EXPECT_TRUE(r[0]["SUM"].is_number_integer());
  EXPECT_EQ(r[0]["SUM"], 2);
  r = rows("SELECT SUM(n) FROM DIGITALTWINS");
  EXPECT_TRUE(r[0]["SUM"].is_number_float());
  EXPECT_DOUBLE_EQ(r[0]["SUM"].get<double>(), 9223372036854775808.0);
}

// ---------------------------------------------------------------- paging

class QueryPaging : public query_fixture {
 protected:
  // Every page of a query, following the tokens; checks each page's size.
  std::vector<json> pages(const std::string& text, std::size_t page_size) {
    std::vector<json> out;
    query_options o;
    o.page_size = page_size;
    for (int guard = 0; guard < 1000; ++guard) {
      auto r = run_query(text, src_, o);
      EXPECT_TRUE(r) << r.error().to_string();
      if (!r) break;
      EXPECT_LE((*r)["value"].size(), page_size);
      out.push_back((*r)["value"]);
      if (!r->contains("continuationToken")) break;
      EXPECT_EQ((*r)["value"].size(), page_size);  // only a full page has a next one
      o.continuation_token = (*r)["continuationToken"].get<std::string>();
    }
    return out;
  }
  static json concat(const std::vector<json>& ps) {
    json all = json::array();
    for (const auto& p : ps) all.insert(all.end(), p.begin(), p.end());
    return all;
  }
};

TEST_F(QueryPaging, PagesCoverEveryRowOnceInOrder) {
  load_generated(src_, 10, 20);  // 211 more twins
  auto ps = pages("SELECT T.$dtId FROM DIGITALTWINS T", 100);
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_EQ(ps[2].size(), 16u);
  EXPECT_EQ(concat(ps), rows("SELECT T.$dtId FROM DIGITALTWINS T"));
  // Exactly a multiple of the page size: no empty last page.
  ps = pages("SELECT * FROM DIGITALTWINS WHERE STARTSWITH($dtId, 'pump-0')", 20);
  EXPECT_EQ(ps.size(), 10u);
  // JOIN rows page in the middle of one station's pumps, and across stations.
  std::string join =
      "SELECT P.$dtId, R.position FROM DIGITALTWINS S JOIN P RELATED S.hasPump R WHERE IS_OF_MODEL(S, "
      "'dtmi:doppel:example:PumpStation;1')";
  ps = pages(join, 7);
  EXPECT_EQ(ps.size(), 29u);
  EXPECT_EQ(concat(ps), rows(join));
  std::string two_hops =
      "SELECT P.$dtId FROM DIGITALTWINS X JOIN S RELATED X.hasStation JOIN P RELATED S.hasPump WHERE X.$dtId = 'site'";
  EXPECT_EQ(concat(pages(two_hops, 33)), rows(two_hops));
  EXPECT_EQ(rows(two_hops).size(), 200u);
  EXPECT_EQ(concat(pages("SELECT * FROM RELATIONSHIPS", 9)), rows("SELECT * FROM RELATIONSHIPS"));
  std::string by_source = "SELECT * FROM RELATIONSHIPS WHERE $sourceId IN ['station-03', 'station-01', 'site']";
  EXPECT_EQ(concat(pages(by_source, 6)), rows(by_source));
  EXPECT_EQ(rows(by_source).size(), 50u);
  // Groups page too.
  std::string groups = "SELECT targetSpeed, COUNT() FROM DIGITALTWINS GROUP BY targetSpeed";
  ps = pages(groups, 20);
  EXPECT_EQ(ps.size(), 3u);
  EXPECT_EQ(concat(ps), rows(groups));
}

TEST_F(QueryPaging, TopCountsAcrossPages) {
  load_generated(src_, 5, 20);
  auto ps = pages("SELECT TOP(45) T.$dtId FROM DIGITALTWINS T", 20);
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_EQ(ps[2].size(), 5u);
  ps = pages("SELECT TOP(40) T.$dtId FROM DIGITALTWINS T", 20);
  EXPECT_EQ(ps.size(), 2u);
}

TEST_F(QueryPaging, TheTokenAloneContinuesItsQuery) {
  load_generated(src_, 2, 5);
  query_options o;
  o.page_size = 4;
  auto first = run_query("SELECT T.$dtId FROM DIGITALTWINS T WHERE STARTSWITH(T.$dtId, 'pump')", src_, o);
  ASSERT_TRUE(first);
  o.continuation_token = (*first)["continuationToken"].get<std::string>();
  auto second = run_query("", src_, o);
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ((*second)["value"][0]["$dtId"], "pump-00-04");
  auto other = run_query("SELECT * FROM DIGITALTWINS", src_, o);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().message(),
            "the continuation token belongs to another query; send the same query text with it, or the token alone");
}

TEST_F(QueryPaging, MalformedTokensAndPageSizesAreRejected) {
  query_options o;
  auto with_token = [&](const std::string& token) {
    o.continuation_token = token;
    return error("", o);
  };
  const std::string tail = "); pass the token of the previous page unchanged, or start again without one";
  EXPECT_EQ(with_token("not a token!"), "the continuation token is malformed (not base64url" + tail);
  EXPECT_EQ(with_token("e30"), "the continuation token is malformed (unknown version" + tail);        // {}
  EXPECT_EQ(with_token("W10"), "the continuation token is malformed (not a token object" + tail);     // []
  EXPECT_EQ(with_token("eyJ2IjoxfQ"), "the continuation token is malformed (fields missing" + tail);  // {"v":1}
  EXPECT_EQ(with_token(std::string(70'000, 'A')),
            "the continuation token is malformed (longer than 65536 bytes" + tail);
  // Well-formed, but its key does not fit the query: {"v":1,"q":"SELECT * FROM DIGITALTWINS","k":[1],"n":0}
  EXPECT_EQ(with_token("eyJ2IjoxLCJxIjoiU0VMRUNUICogRlJPTSBESUdJVEFMVFdJTlMiLCJrIjpbMV0sIm4iOjB9"),
            "the continuation token does not fit this query; start again without it");
  o.continuation_token.clear();
  o.page_size = 0;
  EXPECT_EQ(error("SELECT * FROM DIGITALTWINS", o), "the page size must be between 1 and 1000, not 0");
  o.page_size = 1001;
  EXPECT_EQ(error("SELECT * FROM DIGITALTWINS", o), "the page size must be between 1 and 1000, not 1001");
}

TEST_F(QueryPaging, ChangesBetweenPagesResumeAfterTheLastKey) {
  load_generated(src_, 1, 10);  // pump-00-00 .. pump-00-09
  query_options o;
  o.page_size = 4;
  const std::string q = "SELECT T.$dtId FROM DIGITALTWINS T WHERE STARTSWITH(T.$dtId, 'pump-00')";
  auto first = run_query(q, src_, o);
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)["value"].back()["$dtId"], "pump-00-03");
  // Between pages: the last returned twin and a later one go, one appears before the key
  // (never seen by this reader) and one after it (seen on a later page).
  ASSERT_TRUE(src_.erase_twin("pump-00-03"));
  ASSERT_TRUE(src_.erase_twin("pump-00-05"));
  ASSERT_TRUE(src_.put_twin("pump-00-01a", pump_body(1, "auto", 1)));
  ASSERT_TRUE(src_.put_twin("pump-00-04a", pump_body(1, "auto", 1)));
  o.continuation_token = (*first)["continuationToken"].get<std::string>();
  auto second = run_query(q, src_, o);
  ASSERT_TRUE(second);
  EXPECT_EQ((*second)["value"], json::parse(R"([{"$dtId": "pump-00-04"}, {"$dtId": "pump-00-04a"},
                                                {"$dtId": "pump-00-06"}, {"$dtId": "pump-00-07"}])"));
}

// ---------------------------------------------------------------- limits

using QueryLimits = query_fixture;

TEST_F(QueryLimits, TheEvaluationBudgetStopsRunawayJoins) {
  // 30 nodes, each linked to every node: five hops from each would be 30^6 rows.
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(
        src_.put_twin("n" + std::to_string(i), {{"$metadata", {{"$model", "dtmi:doppel:test:Node;1"}}}, {"n", i}}));
  }
  for (int i = 0; i < 30; ++i) {
    for (int k = 0; k < 30; ++k) {
      std::string a = "n" + std::to_string(i), b = "n" + std::to_string(k);
      ASSERT_TRUE(src_.put_relationship(rel(a, a + "-" + b, "next", b)));
    }
  }
  std::string q =
      "SELECT COUNT() FROM DIGITALTWINS A JOIN B RELATED A.next JOIN C RELATED B.next JOIN D RELATED "
      "C.next JOIN E RELATED D.next JOIN F RELATED E.next";
  query_options o;
  o.limits.max_work = 1'000'000;
  EXPECT_EQ(error(q, o),
            "query too expensive: it was stopped after 1000000 evaluation steps (its budget, api.query_max_work): "
            "narrow it with WHERE on the FROM collection ($dtId, IS_OF_MODEL or a property condition), fewer JOIN "
            "hops, or a smaller page");
  // Narrowed to one start and three hops it fits: 30^3 rows.
  auto r = run_query(q.substr(0, q.find(" JOIN E")) + " WHERE A.$dtId = 'n0'", src_, o);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ((*r)["value"][0]["COUNT"], 27000);
}

TEST_F(QueryLimits, GroupsAreLimited) {
  load_generated(src_, 2, 30);
  query_options o;
  o.limits.max_groups = 10;
  EXPECT_EQ(error("SELECT $dtId, COUNT() FROM DIGITALTWINS GROUP BY $dtId", o),
            "the query makes more than 10 groups; group by fewer or coarser paths, or narrow the WHERE clause");
}

TEST_F(QueryLimits, IndexedQueriesStayWithinBudgetsThatScansExceed) {
  load_generated(src_, 20, 20);  // 421 more twins
  query_options o;
  o.limits.max_work = 200;
  for (const char* q : {"SELECT * FROM DIGITALTWINS WHERE $dtId IN ['pump-03-04', 'pump-07-01']",
                        "SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:doppel:example:Tank;1')",
                        "SELECT * FROM DIGITALTWINS T WHERE T.targetSpeed >= 1200 AND T.targetSpeed < 1210",
                        "SELECT * FROM DIGITALTWINS T WHERE T.motor.ratedPower = 36 AND T.targetSpeed = 1060",
                        "SELECT * FROM DIGITALTWINS T WHERE STARTSWITH(T.$dtId, 'pump-05-1')",
                        "SELECT * FROM DIGITALTWINS T WHERE STARTSWITH(T.name, 'Station 1')",
                        "SELECT * FROM RELATIONSHIPS WHERE $sourceId = 'station-02'"}) {
    o.use_indexes = true;
    auto indexed = run_query(q, src_, o);
    ASSERT_TRUE(indexed) << q << ": " << indexed.error().to_string();
    EXPECT_FALSE((*indexed)["value"].empty()) << q;
    o.use_indexes = false;
    EXPECT_FALSE(run_query(q, src_, o)) << q;
  }
}

// ---------------------------------------------------------------- the index itself

TEST(QueryIndex, FollowsEveryKindOfWrite) {
  const auto& models = registry();
  const model::interface* pump = models.find("dtmi:doppel:example:Pump;1");
  const model::interface* tank = models.find("dtmi:doppel:example:Tank;1");
  twin_index index;
  json a = pump_body(1450, "auto", 55);
  index.update("p1", nullptr, &a, pump);
  json b = pump_body(900, "manual", 55);
  index.update("p2", nullptr, &b, pump);
  auto numbers = [&](const char* path, std::optional<double> lo, std::optional<double> hi) {
    std::set<std::string> out;
    index.scan_numbers(path, lo, hi, [&](const std::string& id) {
      out.insert(id);
      return true;
    });
    return out;
  };
  auto strings_at = [&](const char* path, std::optional<std::string_view> lo, std::optional<std::string_view> hi) {
    std::set<std::string> out;
    index.scan_strings(path, lo, hi, [&](const std::string& id) {
      out.insert(id);
      return true;
    });
    return out;
  };
  EXPECT_EQ(numbers("targetSpeed", 1000, std::nullopt), std::set<std::string>{"p1"});
  EXPECT_EQ(numbers("motor.ratedPower", 55, 55), (std::set<std::string>{"p1", "p2"}));
  EXPECT_EQ(strings_at("mode", "a", "m"), std::set<std::string>{"p1"});
  EXPECT_EQ(index.entry_count(), 6u);
  // A patch-like change moves only what changed.
  json a2 = a;
  a2["targetSpeed"] = 700;
  a2["motor"]["ratedPower"] = 75.5;
  index.update("p1", &a, &a2, pump);
  EXPECT_EQ(numbers("targetSpeed", std::nullopt, 800), std::set<std::string>{"p1"});
  EXPECT_EQ(numbers("motor.ratedPower", 75.5, 75.5), std::set<std::string>{"p1"});
  EXPECT_EQ(index.entry_count(), 6u);
  // A replacement with another model moves the twin between model sets.
  json t = {{"$metadata", {{"$model", tank->id}}}, {"capacity", 10}, {"alarmLimits", {{"high", 3}}}};
  index.update("p2", &b, &t, tank);
  EXPECT_EQ(index.twins_of_model(pump->id, true).size(), 1u);
  EXPECT_EQ(index.twins_of_model(pump->id, true)[0]->size(), 1u);
  EXPECT_EQ(index.twins_of_model("dtmi:doppel:example:Asset;1", false).size(), 2u);
  EXPECT_TRUE(index.twins_of_model("dtmi:doppel:example:Asset;1", true).empty());
  EXPECT_EQ(numbers("alarmLimits.high", std::nullopt, std::nullopt), std::set<std::string>{"p2"});
  EXPECT_TRUE(strings_at("mode", std::nullopt, std::nullopt) == std::set<std::string>{"p1"});
  index.update("p1", &a2, nullptr, nullptr);
  index.update("p2", &t, nullptr, nullptr);
  EXPECT_EQ(index.twin_count(), 0u);
  EXPECT_EQ(index.entry_count(), 0u);
  EXPECT_TRUE(index.twins_of_model(pump->id, false).empty());
}

TEST(QueryIndex, CoversDepthOneAndTwoNamesAQueryCanWrite) {
  EXPECT_TRUE(twin_index::indexable({"targetSpeed"}));
  EXPECT_TRUE(twin_index::indexable({"motor", "ratedPower"}));
  EXPECT_FALSE(twin_index::indexable({"a", "b", "c"}));
  EXPECT_FALSE(twin_index::indexable({"$dtId"}));
  EXPECT_FALSE(twin_index::indexable({"$metadata", "$model"}));
  EXPECT_FALSE(twin_index::indexable({}));
}

TEST_F(QueryPlant, IndexAndScanAgreeOnGeneratedData) {
  load_generated(src_, 6, 15);
  // rows() checks every query both ways; these lean on the planner's choices.
  const char* queries[] = {
      "SELECT T.$dtId FROM DIGITALTWINS T WHERE T.targetSpeed > 1100 AND T.targetSpeed <= 1200 AND T.mode = 'off'",
      "SELECT T.$dtId FROM DIGITALTWINS T WHERE T.targetSpeed > 1100 OR T.mode = 'off'",
      "SELECT T.$dtId FROM DIGITALTWINS T WHERE T.targetSpeed = 1100.0 AND IS_OF_MODEL('dtmi:doppel:example:Asset;1')",
      "SELECT T.$dtId FROM DIGITALTWINS T WHERE 1100 > T.targetSpeed AND T.targetSpeed > 1080",
      "SELECT T.$dtId FROM DIGITALTWINS T WHERE T.mode < 'b' AND T.motor.ratedPower >= 35",
      "SELECT T.$dtId FROM DIGITALTWINS T WHERE STARTSWITH(T.$dtId, 'pump-03') AND STARTSWITH(T.$dtId, 'pump-03-1')",
      "SELECT T.$dtId FROM DIGITALTWINS T WHERE STARTSWITH(T.mode, 'ma') AND T.targetSpeed < 1050",
      "SELECT T.$dtId FROM DIGITALTWINS T WHERE T.name >= 'Station 3'",
      "SELECT COUNT() FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:doppel:example:Pump;1', exact) AND "
      "T.targetSpeed != 1000",
      "SELECT P.$dtId, S.$dtId AS station FROM DIGITALTWINS S JOIN P RELATED S.hasPump R WHERE "
      "S.$dtId IN ['station-02', 'station-04'] AND R.position < 4 AND P.targetSpeed > 1000",
  };
  for (const char* q : queries) {
    EXPECT_FALSE(rows(q).empty()) << q;
  }
  EXPECT_TRUE(rows("SELECT T.$dtId FROM DIGITALTWINS T WHERE T.mode = 'auto' AND T.mode = 'off'").empty());
  EXPECT_TRUE(
      rows("SELECT T.$dtId FROM DIGITALTWINS T WHERE T.targetSpeed > 'a' AND T.$dtId IN ['pump-01-01', 'pump-02-02']")
          .empty());
}

// ---------------------------------------------------------------- through the live graph

class QueryGraph : public testing::live_graph {
 protected:
  void load_models(model::model_registry& reg) override { load_test_models(reg); }
  strings ids(const std::string& text) {
    auto r = graph_->query(text, {});
    EXPECT_TRUE(r) << r.error().to_string();
    strings out;
    if (r) {
      for (const auto& row : (*r)["value"]) out.push_back(row.value("$dtId", "?"));
    }
    return out;
  }
};

TEST_F(QueryGraph, EveryWritePathKeepsTheIndexInStep) {
  const check_options device{true};
  ASSERT_TRUE(graph_->put_twin("s", {{"$metadata", {{"$model", "dtmi:doppel:example:PumpStation;1"}}}}, {}, device));
  for (int i = 0; i < 5; ++i) {
    std::string id = "p" + std::to_string(i);
    ASSERT_TRUE(graph_->put_twin(id, pump_body(1000 + 100 * i, "auto", 50), {}, device));
    ASSERT_TRUE(graph_->put_relationship("s", "r" + std::to_string(i),
                                         {{"$relationshipName", "hasPump"}, {"$targetId", id}, {"position", i}}, {}));
  }
  const std::string fast = "SELECT * FROM DIGITALTWINS T WHERE T.targetSpeed >= 1300";
  EXPECT_EQ(ids(fast), (strings{"p3", "p4"}));
  // Patch, replace, desired state, delete.
  ASSERT_TRUE(graph_->patch_twin("p0", json::parse(R"([{"op": "replace", "path": "/targetSpeed", "value": 1350}])"), {},
                                 device));
  ASSERT_TRUE(graph_->put_twin("p4", pump_body(10, "off", 50), {}, device));
  ASSERT_TRUE(graph_->set_desired("p1", {{"targetSpeed", 1500}}, {}));
  ASSERT_TRUE(graph_->delete_relationship("s", "r3", {}));
  ASSERT_TRUE(graph_->delete_twin("p3", {}));
  EXPECT_EQ(ids(fast), strings{"p0"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE mode = 'off'"), strings{"p4"});
  // A replacement with another model moves the twin between model sets.
  ASSERT_TRUE(graph_->delete_relationship("s", "r2", {}));
  ASSERT_TRUE(
      graph_->put_twin("p2", {{"$metadata", {{"$model", "dtmi:doppel:example:Tank;1"}}}, {"capacity", 7}}, {}, device));
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:doppel:example:Pump;1')"),
            (strings{"p0", "p1", "p4"}));
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:doppel:example:Asset;1')"),
            (strings{"p0", "p1", "p2", "p4"}));
  // JOINs see the relationships as they are now; the index is rebuilt when the graph opens.
  const std::string join = "SELECT P.$dtId FROM DIGITALTWINS S JOIN P RELATED S.hasPump WHERE S.$dtId = 's'";
  auto r = graph_->query(join, {});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["value"], json::parse(R"([{"$dtId": "p0"}, {"$dtId": "p1"}, {"$dtId": "p4"}])"));
  reopen();
  EXPECT_EQ(ids(fast), strings{"p0"});
  EXPECT_EQ(ids("SELECT * FROM DIGITALTWINS WHERE capacity = 7"), strings{"p2"});
  // Pages, as the API will return them.
  query_options o;
  o.page_size = 2;
  auto page = graph_->query("SELECT T.$dtId FROM DIGITALTWINS T", o);
  ASSERT_TRUE(page);
  EXPECT_EQ((*page)["value"].size(), 2u);
  o.continuation_token = (*page)["continuationToken"].get<std::string>();
  page = graph_->query("", o);
  ASSERT_TRUE(page);
  EXPECT_EQ((*page)["value"], json::parse(R"([{"$dtId": "p2"}, {"$dtId": "p4"}])"));
  o.continuation_token = (*page)["continuationToken"].get<std::string>();
  page = graph_->query("", o);
  ASSERT_TRUE(page);
  EXPECT_EQ((*page)["value"], json::parse(R"([{"$dtId": "s"}])"));
  EXPECT_FALSE(page->contains("continuationToken"));
}

}  // namespace
}  // namespace doppel::twin
