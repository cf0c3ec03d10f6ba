// The telemetry pipeline over a live twin graph, and the default payload forms it is fed.
#include "ingest/pipeline.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "twin/twin_test_util.h"

namespace doppel::ingest {
namespace {

using nlohmann::json;

constexpr std::int64_t k_now = 1764064800LL * 1000000000;  // 2025-11-25T10:00:00Z

class pipeline_fixture : public twin::testing::live_graph {
 protected:
  void SetUp() override {
    live_graph::SetUp();
    auto pump = json::parse(R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"}, "targetSpeed": 1450,
                                "motor": {"$metadata": {}}})");
    ASSERT_TRUE(graph_->put_twin("pump-1", pump, {}, {true}));
    ASSERT_TRUE(graph_->put_twin("pump-2", pump, {}, {true}));
    pipeline_ = std::make_unique<telemetry_pipeline>(*graph_, letters_, pipeline_options{2, 1000, nullptr, 0, {}});
  }
  void TearDown() override {
    pipeline_.reset();
    live_graph::TearDown();
  }
  std::vector<reading> json_readings(const std::string& payload, const std::string& twin) {
    std::vector<reading> out;
    std::vector<rejection> rejected;
    parse_json_readings(payload, twin, k_now, out, rejected);
    EXPECT_TRUE(rejected.empty()) << rejected[0].message;
    return out;
  }

  dead_letters letters_{100};
  std::unique_ptr<telemetry_pipeline> pipeline_;
};

TEST_F(pipeline_fixture, TelemetryBecomesLatestAndPropertiesReportedState) {
  auto r = pipeline_->submit(
      "http", json_readings(R"({"speed": 1450.5, "running": true, "mode": "manual", "$ts": "2025-11-25T10:00:01Z"})",
                            "pump-1"));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->accepted, 3u);
  EXPECT_TRUE(r->rejected.empty());
  auto latest = pipeline_->latest("pump-1");
  ASSERT_TRUE(latest);
  EXPECT_EQ((*latest)["speed"]["value"], 1450.5);
  EXPECT_EQ((*latest)["speed"]["time"], "2025-11-25T10:00:01.000Z");
  EXPECT_EQ((*latest)["running"]["value"], true);
  // A late reading with an older time does not replace the latest.
  ASSERT_TRUE(pipeline_->submit("http", json_readings(R"({"speed": 1, "$ts": "2025-11-25T09:00:00Z"})", "pump-1")));
  EXPECT_EQ((*pipeline_->latest("pump-1"))["speed"]["value"], 1450.5);
  // mode is writable: the device reports the value it applied, durable once answered.
  reopen();
  EXPECT_EQ((*graph_->get_twin("pump-1"))["mode"], "manual");
}

// Issue 19 item 5: whoever could publish telemetry could set any property (serialNumber, a
// component's ratedPower), which not even an admin may change through the API.
TEST_F(pipeline_fixture, ReadOnlyPropertiesAreRefusedUnlessDeclaredDeviceReported) {
  auto r = pipeline_->submit("http", json_readings(R"({"mode": "off", "serialNumber": "HACKED",
                                                       "motor.ratedPower": 1, "speed": 2})",
                                                   "pump-1"));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->accepted, 2u);  // mode (writable) and speed (telemetry)
  ASSERT_EQ(r->rejected.size(), 2u);
  for (const auto& x : r->rejected) {
    EXPECT_EQ(x.reason, "not_reportable");
    EXPECT_NE(x.message.find("ingest.device_reported"), std::string::npos) << x.message;
  }
  EXPECT_NE(r->rejected[0].message.find("serialNumber"), std::string::npos) << r->rejected[0].message;
  auto twin = *graph_->get_twin("pump-1");
  EXPECT_EQ(twin["mode"], "off");
  EXPECT_FALSE(twin.contains("serialNumber"));
  EXPECT_FALSE(twin["motor"].contains("ratedPower"));
  EXPECT_EQ(letters_.list(0, 10, "not_reportable")["value"].size(), 2u);

  // Declared on a base interface (Asset, which Pump extends) and as component.property.
  pipeline_.reset();
  pipeline_options o{2, 1000, nullptr, 0, {}};
  o.device_reported = {{"dtmi:doppel:example:Asset;1", "serialNumber"},
                       {"dtmi:doppel:example:Pump;1", "motor.ratedPower"}};
  pipeline_ = std::make_unique<telemetry_pipeline>(*graph_, letters_, o);
  r = pipeline_->submit(
      "http", json_readings(R"({"serialNumber": "KSB-1", "motor.ratedPower": 75, "ratedFlow": 3})", "pump-1"));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->accepted, 2u);
  ASSERT_EQ(r->rejected.size(), 1u);
  EXPECT_EQ(r->rejected[0].reason, "not_reportable");  // ratedFlow is not declared
  twin = *graph_->get_twin("pump-1");
  EXPECT_EQ(twin["serialNumber"], "KSB-1");
  EXPECT_EQ(twin["motor"]["ratedPower"], 75);
}

TEST_F(pipeline_fixture, ComponentContentsAreNamedComponentDotName) {
  // ratedPower is read-only: declared device-reported here on the component's interface.
  pipeline_.reset();
  pipeline_options o{2, 1000, nullptr, 0, {}};
  o.device_reported = {{"dtmi:doppel:example:Motor;1", "ratedPower"}};
  pipeline_ = std::make_unique<telemetry_pipeline>(*graph_, letters_, o);
  auto r = pipeline_->submit("http", json_readings(R"({"motor.power": 55.5, "motor.ratedPower": 75,
                                                       "motor.nope": 1, "speed.x": 2})",
                                                   "pump-1"));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->accepted, 2u);
  ASSERT_EQ(r->rejected.size(), 2u);
  EXPECT_EQ(r->rejected[0].reason, "unknown_name");
  EXPECT_EQ((*pipeline_->latest("pump-1"))["motor.power"]["value"], 55.5);
  EXPECT_EQ((*graph_->get_twin("pump-1"))["motor"]["ratedPower"], 75);  // a component's reported property
}

TEST_F(pipeline_fixture, RefusalsHaveReasonsAndGoToDeadLetters) {
  std::vector<reading> in = json_readings(R"({"speed": "fast", "nope": 1, "motor": 3, "flow": 7})", "pump-1");
  auto more = json_readings(R"({"speed": 1})", "ghost");
  in.insert(in.end(), more.begin(), more.end());
  auto r = pipeline_->submit("http", std::move(in));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->accepted, 1u);  // flow
  ASSERT_EQ(r->rejected.size(), 4u);
  std::multiset<std::string> reasons;
  for (const auto& x : r->rejected) reasons.insert(x.reason);
  EXPECT_EQ(reasons, (std::multiset<std::string>{"wrong_type", "unknown_name", "not_a_value", "unknown_twin"}));
  json dl = letters_.list(0, 10, "");
  ASSERT_EQ(dl["value"].size(), 4u);
  EXPECT_EQ(letters_.list(0, 10, "unknown_twin")["value"][0]["twin"], "ghost");
  std::string metrics;
  letters_.render_metrics(metrics);
  EXPECT_NE(metrics.find("doppel_ingest_dead_letters_total{reason=\"wrong_type\"} 1"), std::string::npos) << metrics;
}

TEST_F(pipeline_fixture, OrderIsKeptPerTwinUnderConcurrentSubmits) {
  // Two threads submit one reading at a time, each to its own twin, in order: each twin ends
  // with its thread's last value, and every reading is applied once.
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::vector<reading> one{{t ? "pump-1" : "pump-2", "speed", json(double(i)), k_now + i}};
        for (;;) {
          auto r = pipeline_->submit("http", one);
          if (r || r.error().code() != status_code::unavailable) {
            ASSERT_TRUE(r) << r.error().to_string();
            ASSERT_EQ(r->accepted, 1u);
            break;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ((*pipeline_->latest("pump-1"))["speed"]["value"], 199.0);
  EXPECT_EQ((*pipeline_->latest("pump-2"))["speed"]["value"], 199.0);
  EXPECT_EQ(pipeline_->latest("pump-3").error().code(), status_code::not_found);
}

// A batch larger than a shard's whole queue could never be queued: refused for good (the HTTP
// routes answer 413), not `unavailable`, which clients retry forever (issue 19, item 15).
TEST_F(pipeline_fixture, ABatchLargerThanAQueueIsRefusedForGoodAndKeepsNothing) {
  std::vector<reading> big;
  for (int i = 0; i < 2500; ++i) big.push_back({"pump-1", "speed", json(1.0), k_now});  // over 1000/shard
  EXPECT_EQ(pipeline_->max_readings(), 1000u);
  auto r = pipeline_->submit("http", big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), status_code::invalid_argument);
  EXPECT_NE(r.error().message().find("at most 1000"), std::string::npos) << r.error().message();
  EXPECT_EQ(pipeline_->latest("pump-1").error().code(), status_code::not_found);
  // One that fits an empty queue is taken.
  big.resize(1000);
  auto ok = pipeline_->submit("http", big);
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_EQ(ok->accepted, 1000u);
}

TEST_F(pipeline_fixture, EventsForTelemetry) {
  std::mutex mu;
  std::vector<twin::change_event> seen;
  pipeline_.reset();
  pipeline_ = std::make_unique<telemetry_pipeline>(*graph_, letters_);
  pipeline_->set_listener([&](const twin::change_event& e) {
    std::lock_guard lock(mu);
    seen.push_back(e);
  });
  ASSERT_TRUE(pipeline_->submit("http", json_readings(R"({"speed": 3, "flow": 4})", "pump-2")));
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, "twin.telemetry");
  EXPECT_EQ(seen[0].twin, "pump-2");
  EXPECT_EQ(seen[0].model, "dtmi:doppel:example:Pump;1");
  EXPECT_EQ(seen[0].data["flow"]["value"], 4);
}

// ---------------------------------------------------------------- payload forms

TEST(Readings, JsonForOneTwinAndBatches) {
  std::vector<reading> out;
  std::vector<rejection> rejected;
  parse_json_readings(R"({"speed": 1, "mode": "auto", "location": {"type": "Point", "coordinates": [1, 2]},
                          "$ts": 1764064800500})",
                      "pump-1", k_now, out, rejected);
  ASSERT_TRUE(rejected.empty());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].twin, "pump-1");
  EXPECT_EQ(out[0].value, 1);
  EXPECT_EQ(out[1].value, "auto");
  EXPECT_EQ(out[2].value["coordinates"][1], 2);
  EXPECT_EQ(out[0].time_ns, 1764064800500LL * 1000000);

  out.clear();
  parse_json_readings(
      R"([{"$dtId": "a", "x": 1}, {"x": 2}, {"$dtId": "b", "x": 3, "$ts": "2025-11-25T11:00:00+01:00"}])", "", k_now,
      out, rejected);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].twin, "a");
  EXPECT_EQ(out[0].time_ns, k_now);
  EXPECT_EQ(out[1].twin, "b");
  EXPECT_EQ(out[1].time_ns, k_now);  // 11:00 at +01:00 is 10:00Z
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_NE(rejected[0].message.find("entry 1"), std::string::npos) << rejected[0].message;
}

TEST(Readings, MalformedPayloadsAreRejectedWhole) {
  for (const char* bad : {"{", "[1, 2]", "\"text\"", "{\"a\": 1} trailing", "{\"$ts\": true, \"a\": 1}", ""}) {
    std::vector<reading> out;
    std::vector<rejection> rejected;
    parse_json_readings(bad, "pump-1", k_now, out, rejected);
    EXPECT_TRUE(out.empty()) << bad;
    ASSERT_EQ(rejected.size(), 1u) << bad;
    EXPECT_EQ(rejected[0].reason, "malformed_json");
    EXPECT_EQ(rejected[0].raw, bad);
  }
}

TEST(Readings, LineProtocolPointsNeedATwinTag) {
  std::string text = "pumps,twin=pump-1 speed=1450,running=t,count=3i 1764064800000000000\npumps,site=x speed=1";
  lp_batch batch;
  parse_line_protocol(text, precision::ns, batch);
  std::vector<reading> out;
  std::vector<rejection> rejected;
  readings_from_line_protocol(batch, k_now, out, rejected);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].twin, "pump-1");
  EXPECT_EQ(out[0].value, 1450.0);
  EXPECT_EQ(out[1].value, true);
  EXPECT_EQ(out[2].value, 3);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].reason, "unmapped");
  EXPECT_NE(rejected[0].message.find("twin=<twin id>"), std::string::npos);
}

TEST(Readings, Rfc3339) {
  std::int64_t ns = 0;
  ASSERT_TRUE(parse_rfc3339_ns("1970-01-01T00:00:01.25Z", ns));
  EXPECT_EQ(ns, 1250000000);
  ASSERT_TRUE(parse_rfc3339_ns("2000-03-01T00:00:00-00:30", ns));
  EXPECT_EQ(ns, (951868800LL + 1800) * 1000000000);
  EXPECT_FALSE(parse_rfc3339_ns("2025-02-30T00:00:00Z", ns));
  EXPECT_FALSE(parse_rfc3339_ns("yesterday", ns));
  EXPECT_FALSE(parse_rfc3339_ns("1013-01-01T00:00:00Z", ns));  // before nanoseconds reach (1677)
}

}  // namespace
}  // namespace doppel::ingest
