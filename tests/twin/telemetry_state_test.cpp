#include "twin/telemetry_state.h"

#include <gtest/gtest.h>

#include "twin_test_util.h"

namespace doppel::twin {
namespace {

using nlohmann::json;

constexpr std::int64_t k_t0 = 1714557600123456789;  // 2024-05-01T10:00:00.123456789Z

TEST(TelemetryState, ValuesKeepTheFormTheyWereSentIn) {
  telemetry_state state(4);
  auto t = state.make_entry("t");
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
  ASSERT_TRUE(state.record(*t, values));
  auto latest = state.latest(*t, "t");
  ASSERT_TRUE(latest) << latest.error().to_string();
  const std::string at = R"("time":"2024-05-01T10:00:00.123Z")";
  EXPECT_EQ(latest->dump(), R"({"c.power":{)" + at + R"(,"value":3.0},"fraction":{)" + at +
                                R"(,"value":3.0},"huge":{)" + at + R"(,"value":18446744073709551615},"negative":{)" +
                                at + R"(,"value":-7},"object":{)" + at + R"(,"value":{"a":2.5,"b":1}},"on":{)" + at +
                                R"(,"value":true},"text":{)" + at + R"(,"value":"café"},"whole":{)" + at +
                                R"(,"value":3}})");
}

TEST(TelemetryState, AnOlderValueDoesNotReplaceANewerOne) {
  telemetry_state state;
  auto t = state.make_entry("t");
  json one = 1, two = "two", three = json::parse("[3]");
  ASSERT_TRUE(state.record(*t, std::vector<telemetry_update>{{"x", k_t0, &one, {}}}));
  ASSERT_TRUE(state.record(*t, std::vector<telemetry_update>{{"x", k_t0 - 1, &two, {}}}));
  EXPECT_EQ((*state.latest(*t, "t"))["x"]["value"], 1);
  // The same time replaces (a replay of the newest sets the same value again); the kind may change.
  ASSERT_TRUE(state.record(*t, std::vector<telemetry_update>{{"x", k_t0, &two, {}}}));
  EXPECT_EQ((*state.latest(*t, "t"))["x"]["value"], "two");
  // The caller's JSON text of an array is taken as it is.
  ASSERT_TRUE(state.record(*t, std::vector<telemetry_update>{{"x", k_t0 + 1, &three, "[3]"}}));
  EXPECT_EQ((*state.latest(*t, "t"))["x"].dump(), R"({"time":"2024-05-01T10:00:00.123Z","value":[3]})");
  // Before 1970 times are floored to the millisecond.
  ASSERT_TRUE(state.record(*t, std::vector<telemetry_update>{{"old", -1, &one, {}}}));
  EXPECT_EQ((*state.latest(*t, "t"))["old"]["time"], "1969-12-31T23:59:59.999Z");
}

TEST(TelemetryState, AClosedEntryRecordsNothingAndAHandleOutlivesIt) {
  telemetry_state state;
  json v = 1, w = 2;
  telemetry_state::handle h = state.make_entry("t");
  EXPECT_EQ(state.latest(*h, "t").error().message(), "twin \"t\" has sent no telemetry");
  ASSERT_TRUE(state.record(*h, std::vector<telemetry_update>{{"x", k_t0, &v, {}}}));
  EXPECT_EQ((*state.latest(*h, "t"))["x"]["value"], 1);
  state.close(*h);
  EXPECT_FALSE(state.record(*h, std::vector<telemetry_update>{{"x", k_t0 + 1, &w, {}}}));
  EXPECT_EQ(state.latest(*h, "t").error().code(), status_code::not_found);
  // A twin created again gets a new entry, which the old handle does not reach.
  telemetry_state::handle again = state.make_entry("t");
  EXPECT_NE(again, h);
  EXPECT_FALSE(state.record(*h, std::vector<telemetry_update>{{"x", k_t0 + 1, &w, {}}}));
  EXPECT_EQ(state.latest(*again, "t").error().code(), status_code::not_found);
}

TEST(TelemetryState, ValuesSentInAnotherOrderLandInTheirOwnSlots) {
  telemetry_state state;
  auto h = state.make_entry("t");
  json a = 1, b = 2, c = 3;
  ASSERT_TRUE(state.record(*h, std::vector<telemetry_update>{{"a", k_t0, &a, {}}, {"b", k_t0, &b, {}}}));
  ASSERT_TRUE(state.record(
      *h, std::vector<telemetry_update>{{"c", k_t0, &c, {}}, {"b", k_t0 + 1, &a, {}}, {"a", k_t0 + 1, &b, {}}}));
  auto latest = *state.latest(*h, "t");
  EXPECT_EQ(latest["a"]["value"], 2);
  EXPECT_EQ(latest["b"]["value"], 1);
  EXPECT_EQ(latest["c"]["value"], 3);
  EXPECT_EQ(latest.size(), 3u);
}

// Counts live attachments, to see when they are destroyed.
struct counted_attachment final : twin_attachment {
  explicit counted_attachment(int& live) : live_(live) { ++live_; }
  ~counted_attachment() override { --live_; }
  int& live_;
};

TEST(TelemetryState, AttachmentsBelongToTheirOwnerAndGoWithTheTwin) {
  telemetry_state state;
  int live = 0;
  std::uint64_t owner = state.attachment_owner(), other = state.attachment_owner();
  EXPECT_NE(owner, other);
  auto h = state.make_entry("t");
  auto& slot = telemetry_state::attachment(*h, owner, 1, 2);
  EXPECT_EQ(slot, nullptr);
  slot = std::make_unique<counted_attachment>(live);
  EXPECT_EQ(telemetry_state::attachment(*h, owner, 1, 2).get(), slot.get());  // kept
  EXPECT_EQ(telemetry_state::attachment(*h, owner, 0, 2), nullptr);
  EXPECT_EQ(live, 1);
  // Another owner does not see it (and it goes).
  EXPECT_EQ(telemetry_state::attachment(*h, other, 1, 2), nullptr);
  EXPECT_EQ(live, 0);
  telemetry_state::attachment(*h, other, 0, 2) = std::make_unique<counted_attachment>(live);
  // Closing the entry (its twin was deleted) while a handle is held keeps it; the last handle
  // takes it along.
  state.close(*h);
  EXPECT_EQ(live, 1);
  h.reset();
  EXPECT_EQ(live, 0);
}

class graph_telemetry : public testing::live_graph {
 protected:
  bool record(const std::string& twin, double v) {
    json value = v;
    live_twin live = graph_->live(twin);
    return live.state &&
           graph_->telemetry().record(*live.state, std::vector<telemetry_update>{{"speed", k_t0, &value, {}}});
  }
  json pump_ = json::parse(R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"}, "motor": {"$metadata": {}}})");
};

TEST_F(graph_telemetry, ATwinsLatestTelemetryComesAndGoesWithTheTwin) {
  EXPECT_FALSE(record("pump-1", 1));  // no such twin
  ASSERT_TRUE(graph_->put_twin("pump-1", pump_, {}, {true}));
  EXPECT_TRUE(record("pump-1", 1));
  ASSERT_TRUE(graph_->put_twin("pump-1", pump_, {}, {true}));  // a replace keeps the values
  EXPECT_EQ((*graph_->latest_telemetry("pump-1"))["speed"]["value"], 1.0);
  ASSERT_TRUE(graph_->delete_twin("pump-1", {}));
  EXPECT_EQ(graph_->latest_telemetry("pump-1").error().code(), status_code::not_found);
  // A reading checked before the delete and recorded after it does not bring the values back.
  EXPECT_FALSE(record("pump-1", 2));
  ASSERT_TRUE(graph_->put_twin("pump-1", pump_, {}, {true}));
  EXPECT_EQ(graph_->latest_telemetry("pump-1").error().code(), status_code::not_found);
}

TEST_F(graph_telemetry, LiveGivesTheModelAndAHandleThatOutlivesNoDelete) {
  EXPECT_EQ(graph_->live("pump-1").model, nullptr);
  ASSERT_TRUE(graph_->put_twin("pump-1", pump_, {}, {true}));
  live_twin live = graph_->live("pump-1");
  ASSERT_NE(live.model, nullptr);
  EXPECT_EQ(live.model->id, "dtmi:doppel:example:Pump;1");
  ASSERT_TRUE(graph_->put_twin("pump-1", pump_, {}, {true}));  // a replace keeps the entry
  EXPECT_EQ(graph_->live("pump-1").state, live.state);
  json v = 1;
  EXPECT_TRUE(graph_->telemetry().record(*live.state, std::vector<telemetry_update>{{"speed", k_t0, &v, {}}}));
  // A handle taken before a delete records nothing after it, nor into the twin created again.
  ASSERT_TRUE(graph_->delete_twin("pump-1", {}));
  EXPECT_FALSE(graph_->telemetry().record(*live.state, std::vector<telemetry_update>{{"speed", k_t0, &v, {}}}));
  ASSERT_TRUE(graph_->put_twin("pump-1", pump_, {}, {true}));
  EXPECT_NE(graph_->live("pump-1").state, live.state);
  EXPECT_FALSE(graph_->telemetry().record(*live.state, std::vector<telemetry_update>{{"speed", k_t0, &v, {}}}));
  EXPECT_EQ(graph_->latest_telemetry("pump-1").error().code(), status_code::not_found);
}

TEST_F(graph_telemetry, TwinsLoadedAtOpenTakeTelemetry) {
  ASSERT_TRUE(graph_->put_twin("pump-1", pump_, {}, {true}));
  reopen();
  EXPECT_TRUE(record("pump-1", 1));
  EXPECT_FALSE(record("pump-2", 1));
}

}  // namespace
}  // namespace doppel::twin
