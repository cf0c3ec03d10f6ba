#include "twin/telemetry_state.h"

#include <gtest/gtest.h>

#include "twin_test_util.h"

namespace doppel::twin {
namespace {

using nlohmann::json;

constexpr std::int64_t k_t0 = 1714557600123456789;  // 2024-05-01T10:00:00.123456789Z

TEST(TelemetryState, ValuesKeepTheFormTheyWereSentIn) {
  telemetry_state state(4);
  state.add_twin("t");
  json whole = json::parse("3"), fraction = json::parse("3.0"), negative = json::parse("-7"),
       huge = json::parse("18446744073709551615"), on = true, text = "caf\u00e9",
       object = json::parse(R"({"b": 1, "a": 2.5})");
  std::vector<telemetry_update> values{{"whole", k_t0, &whole, {}},
                                       {"fraction", k_t0, &fraction, {}},
                                       {"negative", k_t0, &negative, {}},
                                       {"huge", k_t0, &huge, {}},
                                       {"on", k_t0, &on, {}},
                                       {"text", k_t0, &text, {}},
                                       {"object", k_t0, &object, {}},
                                       {"c.power", k_t0, &fraction, {}}};
  ASSERT_TRUE(state.record("t", values));
  auto latest = state.latest("t");
  ASSERT_TRUE(latest) << latest.error().to_string();
  const std::string t = R"("time":"2024-05-01T10:00:00.123Z")";
  EXPECT_EQ(latest->dump(), R"({"c.power":{)" + t + R"(,"value":3.0},"fraction":{)" + t + R"(,"value":3.0},"huge":{)" +
                                t + R"(,"value":18446744073709551615},"negative":{)" + t +
                                R"(,"value":-7},"object":{)" + t + R"(,"value":{"a":2.5,"b":1}},"on":{)" + t +
                                R"(,"value":true},"text":{)" + t + R"(,"value":"café"},"whole":{)" + t +
                                R"(,"value":3}})");
}

TEST(TelemetryState, AnOlderValueDoesNotReplaceANewerOne) {
  telemetry_state state;
  state.add_twin("t");
  json one = 1, two = "two", three = json::parse("[3]");
  ASSERT_TRUE(state.record("t", std::vector<telemetry_update>{{"x", k_t0, &one, {}}}));
  ASSERT_TRUE(state.record("t", std::vector<telemetry_update>{{"x", k_t0 - 1, &two, {}}}));
  EXPECT_EQ((*state.latest("t"))["x"]["value"], 1);
  // The same time replaces (a replay of the newest sets the same value again); the kind may change.
  ASSERT_TRUE(state.record("t", std::vector<telemetry_update>{{"x", k_t0, &two, {}}}));
  EXPECT_EQ((*state.latest("t"))["x"]["value"], "two");
  // The caller's JSON text of an array is taken as it is.
  ASSERT_TRUE(state.record("t", std::vector<telemetry_update>{{"x", k_t0 + 1, &three, "[3]"}}));
  EXPECT_EQ((*state.latest("t"))["x"].dump(), R"({"time":"2024-05-01T10:00:00.123Z","value":[3]})");
  // Before 1970 times are floored to the millisecond.
  ASSERT_TRUE(state.record("t", std::vector<telemetry_update>{{"old", -1, &one, {}}}));
  EXPECT_EQ((*state.latest("t"))["old"]["time"], "1969-12-31T23:59:59.999Z");
}

TEST(TelemetryState, ATwinWithoutAnEntryRecordsNothing) {
  telemetry_state state;
  json v = 1;
  EXPECT_FALSE(state.record("ghost", std::vector<telemetry_update>{{"x", k_t0, &v, {}}}));
  EXPECT_EQ(state.latest("ghost").error().code(), status_code::not_found);
  state.add_twin("t");
  EXPECT_EQ(state.latest("t").error().message(), "twin \"t\" has sent no telemetry");
  ASSERT_TRUE(state.record("t", std::vector<telemetry_update>{{"x", k_t0, &v, {}}}));
  state.add_twin("t");  // nothing: the values stay
  EXPECT_TRUE(state.latest("t"));
  state.remove_twin("t");
  EXPECT_FALSE(state.record("t", std::vector<telemetry_update>{{"x", k_t0, &v, {}}}));
  EXPECT_EQ(state.latest("t").error().code(), status_code::not_found);
}

class graph_telemetry : public testing::live_graph {
 protected:
  bool record(const std::string& twin, double v) {
    json value = v;
    return graph_->telemetry().record(twin, std::vector<telemetry_update>{{"speed", k_t0, &value, {}}});
  }
  json pump_ = json::parse(R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"}, "motor": {"$metadata": {}}})");
};

TEST_F(graph_telemetry, ATwinsLatestTelemetryComesAndGoesWithTheTwin) {
  EXPECT_FALSE(record("pump-1", 1));  // no such twin
  ASSERT_TRUE(graph_->put_twin("pump-1", pump_, {}, {true}));
  EXPECT_TRUE(record("pump-1", 1));
  ASSERT_TRUE(graph_->put_twin("pump-1", pump_, {}, {true}));  // a replace keeps the values
  EXPECT_EQ((*graph_->telemetry().latest("pump-1"))["speed"]["value"], 1.0);
  ASSERT_TRUE(graph_->delete_twin("pump-1", {}));
  EXPECT_EQ(graph_->telemetry().latest("pump-1").error().code(), status_code::not_found);
  // A reading checked before the delete and recorded after it does not bring the values back.
  EXPECT_FALSE(record("pump-1", 2));
  ASSERT_TRUE(graph_->put_twin("pump-1", pump_, {}, {true}));
  EXPECT_EQ(graph_->telemetry().latest("pump-1").error().code(), status_code::not_found);
}

TEST_F(graph_telemetry, TwinsLoadedAtOpenTakeTelemetry) {
  ASSERT_TRUE(graph_->put_twin("pump-1", pump_, {}, {true}));
  reopen();
  EXPECT_TRUE(record("pump-1", 1));
  EXPECT_FALSE(record("pump-2", 1));
}

}  // namespace
}  // namespace doppel::twin
