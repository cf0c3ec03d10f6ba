// Mapping rules: topic templates, twin templates, field rules with scaling, payload forms.
#include "ingest/mapping.h"

#include <gtest/gtest.h>

namespace doppel::ingest {
namespace {

constexpr std::int64_t k_now = 1764064800LL * 1000000000;

struct mapped {
  std::vector<reading> readings;
  std::vector<rejection> rejected;
};

mapped run(const mapper& m, std::string_view topic, std::string_view payload) {
  mapped out;
  m.map(topic, payload, k_now, out.readings, out.rejected);
  return out;
}

TEST(Mapping, DefaultTopicNeedsNoRules) {
  auto m = mapper::compile({});
  ASSERT_TRUE(m) << m.error().to_string();
  ASSERT_EQ(m->filters(), std::vector<std::string>{"doppel/twins/+/telemetry"});
  auto r = run(*m, "doppel/twins/pump-1/telemetry", R"({"speed": 1450.5, "$ts": 1764064801000})");
  ASSERT_EQ(r.readings.size(), 1u);
  EXPECT_EQ(r.readings[0].twin, "pump-1");
  EXPECT_EQ(r.readings[0].name, "speed");
  EXPECT_EQ(r.readings[0].time_ns, k_now + 1000000000);
  r = run(*m, "somewhere/else", "{}");
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].reason, "unmapped");
  EXPECT_NE(r.rejected[0].message.find("somewhere/else"), std::string::npos);
  r = run(*m, "doppel/twins/pump-1/telemetry", "{nope");
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].reason, "malformed_json");
}

// Issue 19: twin ids come from topics and payloads; every payload form follows the one JSON
// policy (core/json_input.h), so nothing deeper than the limit reaches the recursive conversions.
TEST(Mapping, InvalidUtf8AndDeepPayloadsAreRejectionsOfEveryForm) {
  mapping_rule fields;
  fields.topic = "f/{id}";
  fields.twin = "{id}";
  fields.fields = {{"/p", "speed", 1, 0}};
  mapping_rule sp;
  sp.topic = "sp/{id}";
  sp.twin = "{id}";
  sp.payload = payload_form::sparkplug;
  mapping_rule lp;
  lp.topic = "lp/#";
  lp.twin = "";
  lp.payload = payload_form::line_protocol;
  auto m = mapper::compile({mapping_rule{}, fields, sp, lp});
  ASSERT_TRUE(m) << m.error().to_string();
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  for (const char* topic : {"doppel/twins/pump-1/telemetry", "f/pump-1", "sp/pump-1"}) {
    SCOPED_TRACE(topic);
    auto r = run(*m, topic, R"({"p": )" + deep + R"(, "metrics": []})");
    ASSERT_EQ(r.rejected.size(), 1u);
    EXPECT_EQ(r.rejected[0].reason, "too_deep");
    EXPECT_TRUE(r.readings.empty());
    r = run(*m, topic, "{\"p\": \"\xff\"}");
    ASSERT_EQ(r.rejected.size(), 1u);
    EXPECT_EQ(r.rejected[0].reason, "invalid_utf8");
  }
  auto r = run(*m, "doppel/twins/pump-\xff/telemetry", R"({"speed": 1})");
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].reason, "invalid_utf8");
  EXPECT_TRUE(r.readings.empty());
  r = run(*m, "lp/x", "m,twin=pump-\xff speed=1\nm,twin=pump-2 speed=2");
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].reason, "malformed_line");
  EXPECT_NE(r.rejected[0].message.find("line 1, column 13"), std::string::npos) << r.rejected[0].message;
  ASSERT_EQ(r.readings.size(), 1u);
  EXPECT_EQ(r.readings[0].twin, "pump-2");
}

TEST(Mapping, TemplatesCaptureLevelsAndFieldsScale) {
  mapping_rule rule;
  rule.topic = "plant/{site}/pump/{id}/telemetry";
  rule.twin = "{site}-pump-{id}";
  rule.fields = {
      {"/p/discharge", "dischargePressure", 0.001, 0}, {"/t", "temperature", 1, -273.15}, {"/state", "mode", 1, 0}};
  auto m = mapper::compile({rule});
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->filters(), std::vector<std::string>{"plant/+/pump/+/telemetry"});
  auto r = run(*m, "plant/north/pump/7/telemetry",
               R"({"p": {"discharge": 250000}, "t": 300, "state": "auto", "extra": 1, "$ts": "2025-11-25T10:00:00Z"})");
  ASSERT_TRUE(r.rejected.empty());
  ASSERT_EQ(r.readings.size(), 3u);
  EXPECT_EQ(r.readings[0].twin, "north-pump-7");
  EXPECT_EQ(r.readings[0].name, "dischargePressure");
  EXPECT_DOUBLE_EQ(r.readings[0].value.get<double>(), 250.0);
  EXPECT_NEAR(r.readings[1].value.get<double>(), 26.85, 1e-9);
  EXPECT_EQ(r.readings[2].value, "auto");
  EXPECT_EQ(r.readings[0].time_ns, k_now);
  // A field the message does not carry is skipped; a topic with a level more does not match.
  r = run(*m, "plant/north/pump/7/telemetry", R"({"t": 280})");
  EXPECT_EQ(r.readings.size(), 1u);
  r = run(*m, "plant/north/pump/7/telemetry/x", R"({"t": 280})");
  EXPECT_EQ(r.rejected.size(), 1u);
}

TEST(Mapping, SparkplugAndLineProtocolPayloads) {
  mapping_rule sp;
  sp.topic = "spBv1.0/{group}/DDATA/{node}/{device}";
  sp.twin = "{device}";
  sp.payload = payload_form::sparkplug;
  mapping_rule lp;
  lp.topic = "lp/#";
  lp.twin = "";
  lp.payload = payload_form::line_protocol;
  auto m = mapper::compile({sp, lp});
  ASSERT_TRUE(m) << m.error().to_string();
  auto r = run(*m, "spBv1.0/plant/DDATA/edge1/pump-3",
               R"({"timestamp": 1764064800000, "metrics": [{"name": "speed", "value": 1200},
                   {"name": "motor/power", "value": 40.5, "timestamp": 1764064802000}]})");
  ASSERT_TRUE(r.rejected.empty()) << r.rejected[0].message;
  ASSERT_EQ(r.readings.size(), 2u);
  EXPECT_EQ(r.readings[0].twin, "pump-3");
  EXPECT_EQ(r.readings[1].name, "motor.power");
  EXPECT_EQ(r.readings[1].time_ns, k_now + 2000000000);
  r = run(*m, "spBv1.0/plant/DDATA/edge1/pump-3", R"({"metrics": [{"value": 1}]})");
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_NE(r.rejected[0].message.find("name"), std::string::npos);

  r = run(*m, "lp/anything", "m,twin=pump-9 speed=3i 1764064800000000000\nbad line");
  ASSERT_EQ(r.readings.size(), 1u);
  EXPECT_EQ(r.readings[0].twin, "pump-9");
  EXPECT_EQ(r.readings[0].value, 3);
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].reason, "malformed_line");
}

TEST(Mapping, BadRulesSayWhichAndHow) {
  auto bad = [](mapping_rule r) {
    auto m = mapper::compile({mapping_rule{}, std::move(r)});
    EXPECT_FALSE(m);
    return m ? std::string() : m.error().message();
  };
  mapping_rule r;
  r.topic = "a/{id}/b";
  r.twin = "pump-{nope}";
  EXPECT_NE(bad(r).find("topics[1].twin: {nope} is not captured"), std::string::npos);
  r.topic = "a/x{id}/b";
  EXPECT_NE(bad(r).find("a capture takes a whole level"), std::string::npos);
  r.topic = "a/#/b";
  EXPECT_NE(bad(r).find("'#' must be the last level"), std::string::npos);
  r.topic = "a/{id}/{id}";
  EXPECT_NE(bad(r).find("appears twice"), std::string::npos);
  r.topic = "a/{id}";
  r.twin = "{id}";
  r.fields = {{"p", "x", 1, 0}};
  EXPECT_NE(bad(r).find("JSON Pointer starts with '/'"), std::string::npos);
  r.fields.clear();
  r.twin = "";
  EXPECT_NE(bad(r).find("needed for json"), std::string::npos);
}

}  // namespace
}  // namespace doppel::ingest
