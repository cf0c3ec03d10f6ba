// The telemetry pipeline over a live twin graph, and the default payload forms it is fed.
#include "ingest/pipeline.h"

#include <gtest/gtest.h>

#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/temp_dir.h"
#include "ingest/reading_counter.h"
#include "store/fault_files.h"
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
  auto latest = graph_->latest_telemetry("pump-1");
  ASSERT_TRUE(latest);
  EXPECT_EQ((*latest)["speed"]["value"], 1450.5);
  EXPECT_EQ((*latest)["speed"]["time"], "2025-11-25T10:00:01.000Z");
  EXPECT_EQ((*latest)["running"]["value"], true);
  // A late reading with an older time does not replace the latest.
  ASSERT_TRUE(pipeline_->submit("http", json_readings(R"({"speed": 1, "$ts": "2025-11-25T09:00:00Z"})", "pump-1")));
  EXPECT_EQ((*graph_->latest_telemetry("pump-1"))["speed"]["value"], 1450.5);
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

// Reported properties take the graph's typed report path: values checked by the pipeline are
// installed and stamped in $metadata without a JSON Patch; the graph refuses them when the twin's
// model changed since they were checked.
TEST_F(pipeline_fixture, ReportedPropertiesAreStampedThroughTheTypedReportPath) {
  std::string etag = (*graph_->get_twin("pump-1"))["$etag"];
  auto r = pipeline_->submit("http", json_readings(R"({"mode": "off", "targetSpeed": 1200})", "pump-1"));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->accepted, 2u);
  json twin = *graph_->get_twin("pump-1");
  EXPECT_NE(twin["$etag"], etag);
  EXPECT_EQ(twin["mode"], "off");
  EXPECT_EQ(twin["targetSpeed"], 1200);
  EXPECT_TRUE(twin["$metadata"]["mode"].contains("lastUpdateTime")) << twin.dump();

  const model::interface* pump = graph_->model_of("pump-1");
  ASSERT_NE(pump, nullptr);
  auto report = [&](const std::string& id, const model::interface& m, std::vector<twin::reported_value> values) {
    std::promise<result<json>> p;
    graph_->report(id, m, std::move(values), [&](result<json> x) { p.set_value(std::move(x)); });
    return p.get_future().get();
  };
  EXPECT_EQ(report("ghost", *pump, {{"", "mode", "auto"}}).error().code(), status_code::not_found);
  const model::interface* tank = registry_->find("dtmi:doppel:example:Tank;1");
  ASSERT_NE(tank, nullptr);
  auto changed = report("pump-1", *tank, {{"", "mode", "auto"}});
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().code(), status_code::invalid_argument);
  EXPECT_NE(changed.error().message().find("send them again"), std::string::npos) << changed.error().message();
  auto component = report("pump-1", *pump, {{"motor", "ratedPower", 75}});  // checked by the caller
  ASSERT_TRUE(component) << component.error().to_string();
  EXPECT_EQ((*graph_->get_twin("pump-1"))["motor"]["ratedPower"], 75);
  EXPECT_EQ((*graph_->get_twin("pump-1"))["mode"], "off");  // nothing of a refused report is kept
  // Durable: a restart reads the reported value back.
  pipeline_.reset();
  reopen();
  EXPECT_EQ((*graph_->get_twin("pump-1"))["targetSpeed"], 1200);
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
  EXPECT_EQ((*graph_->latest_telemetry("pump-1"))["motor.power"]["value"], 55.5);
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
  // Two threads submit one reading at a time, each to its own twin, in order: each twin sees its
  // thread's values in order, each applied exactly once (as events, and as the readings a stage
  // counts), and ends with its thread's last value.
  pipeline_.reset();
  auto counter = std::make_shared<reading_counter>();
  pipeline_options o{2, 1000, nullptr, 0, {}};
  o.stages = {{counter, ""}};
  pipeline_ = std::make_unique<telemetry_pipeline>(*graph_, letters_, o);
  std::mutex mu;
  std::map<std::string, std::vector<json>> applied;  // by twin, in the order of their events
  pipeline_->set_listener([&](const twin::change_event& e) {
    std::lock_guard lock(mu);
    applied[e.twin].push_back(e.data["speed"]["value"]);
  });
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
  std::vector<json> expected;
  for (int i = 0; i < 200; ++i) expected.push_back(double(i));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(applied["pump-1"], expected);
    EXPECT_EQ(applied["pump-2"], expected);
  }
  EXPECT_EQ(counter->count("pump-1"), 200u);
  EXPECT_EQ(counter->count("pump-2"), 200u);
  EXPECT_EQ(counter->total(), 400u);
  EXPECT_EQ((*graph_->latest_telemetry("pump-1"))["speed"]["value"], 199.0);
  EXPECT_EQ((*graph_->latest_telemetry("pump-2"))["speed"]["value"], 199.0);
  EXPECT_EQ(graph_->latest_telemetry("pump-3").error().code(), status_code::not_found);
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
  EXPECT_EQ(graph_->latest_telemetry("pump-1").error().code(), status_code::not_found);
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

// ---------------------------------------------------------------- with history

// A pipeline over a real history whose file I/O can fail on demand.
class history_pipeline : public pipeline_fixture {
 protected:
  void SetUp() override {
    pipeline_fixture::SetUp();
    pipeline_.reset();
    files_ = doppel::testing::fault_files::make();
    ts::history_options ho;
    ho.dir = history_dir_.path();
    ho.writers = 2;
    ho.io = files_;
    auto h = ts::history::open(ho);
    ASSERT_TRUE(h) << h.error().to_string();
    history_ = std::move(*h);
  }
  void TearDown() override {
    pipeline_.reset();
    history_.reset();
    pipeline_fixture::TearDown();
  }
  void start(pipeline_options o = {2, 1000, nullptr, 0, {}}) {
    o.history = history_.get();
    pipeline_ = std::make_unique<telemetry_pipeline>(*graph_, letters_, o);
  }
  // The values of a series' points, oldest first; empty when it has none.
  std::vector<double> points(const std::string& twin, const std::string& name) {
    auto b = history_->read(twin, name, INT64_MIN, INT64_MAX, 1000);
    return b ? b->f : std::vector<double>{};
  }

  doppel::testing::temp_dir history_dir_{"doppel-pipeline-history"};
  std::shared_ptr<doppel::testing::fault_files> files_;
  std::unique_ptr<ts::history> history_;
};

// Issue 20: the twin.telemetry event and the latest value were set before the pass's append was
// durable: a subscriber heard of (and GET .../telemetry showed) readings a failed sync then
// refused, which the sender sent again.
TEST_F(history_pipeline, EventsAndLatestOnlyOnceTheAppendIsDurable) {
  start();
  std::mutex mu;
  std::vector<double> events;       // speed of each event
  std::vector<bool> in_history;     // whether the history held it when its event came
  std::vector<bool> latest_had_it;  // whether latest() showed it when its event came
  pipeline_->set_listener([&](const twin::change_event& e) {
    double v = e.data["speed"]["value"].get<double>();
    std::vector<double> held = points("pump-1", "speed");
    auto latest = graph_->latest_telemetry("pump-1");
    std::lock_guard lock(mu);
    events.push_back(v);
    in_history.push_back(!held.empty() && held.back() == v);
    latest_had_it.push_back(latest && (*latest)["speed"]["value"] == v);
  });
  ASSERT_TRUE(pipeline_->submit("http", {{"pump-1", "speed", json(1.0), k_now}}));
  files_->fail_next_sync();
  auto failed = pipeline_->submit("http", {{"pump-1", "speed", json(2.0), k_now + 1}});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), status_code::io_error);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(events, std::vector<double>{1.0});  // nothing of the failed pass was sent
  }
  EXPECT_EQ((*graph_->latest_telemetry("pump-1"))["speed"]["value"], 1.0);
  EXPECT_EQ(points("pump-1", "speed"), std::vector<double>{1.0});
  // Sent again, as a sender does after an error: applied and sent once.
  ASSERT_TRUE(pipeline_->submit("http", {{"pump-1", "speed", json(2.0), k_now + 1}}));
  std::lock_guard lock(mu);
  EXPECT_EQ(events, (std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(in_history, (std::vector<bool>{true, true}));
  EXPECT_EQ(latest_had_it, (std::vector<bool>{true, true}));
  EXPECT_EQ((*graph_->latest_telemetry("pump-1"))["speed"]["value"], 2.0);
}

// Derives "sim.twice" (twice the speed) for each speed reading: a virtual sensor.
class doubling_stage final : public stage {
 public:
  std::string_view name() const override { return "doubling"; }
  void run(int, const twin_readings& r) override {
    for (const ts::sample& s : r.samples) {
      if (s.name == "speed") r.derived->add(k_name, s.time_ns, 2 * s.f);
    }
  }
  static constexpr std::string_view k_name = "sim.twice";
};

TEST_F(history_pipeline, TelemetryAStageDerivesIsStoredLatestAndInTheEvent) {
  pipeline_options o{2, 1000, nullptr, 0, {}};
  o.stages = {{std::make_shared<doubling_stage>(), ""}};
  start(o);
  std::mutex mu;
  std::vector<json> events;
  pipeline_->set_listener([&](const twin::change_event& e) {
    std::lock_guard lock(mu);
    events.push_back(e.data);
  });
  ASSERT_TRUE(pipeline_->submit("http", {{"pump-1", "speed", json(10.0), k_now},
                                         {"pump-2", "speed", json(7.0), k_now},
                                         {"pump-1", "speed", json(11.0), k_now + 1000}}));
  EXPECT_EQ(points("pump-1", "sim.twice"), (std::vector<double>{20.0, 22.0}));
  EXPECT_EQ(points("pump-2", "sim.twice"), std::vector<double>{14.0});
  auto latest = graph_->latest_telemetry("pump-1");
  ASSERT_TRUE(latest);
  EXPECT_EQ((*latest)["sim.twice"]["value"], 22.0);
  {
    std::lock_guard lock(mu);
    ASSERT_FALSE(events.empty());
    bool seen = false;
    for (const json& e : events) seen = seen || (e.contains("sim.twice") && e["sim.twice"]["value"] == 14.0);
    EXPECT_TRUE(seen) << json(events).dump();
  }
  // The derived append fails: the readings stay applied (they were durable), the derived
  // values are dropped and counted, and the next pass derives again.
  files_->fail_nth_sync(2);
  ASSERT_TRUE(pipeline_->submit("http", {{"pump-2", "speed", json(8.0), k_now + 2000}}));
  EXPECT_EQ(points("pump-2", "speed"), (std::vector<double>{7.0, 8.0}));
  EXPECT_EQ(points("pump-2", "sim.twice"), std::vector<double>{14.0});
  EXPECT_EQ((*graph_->latest_telemetry("pump-2"))["sim.twice"]["value"], 14.0);
  std::string metrics;
  pipeline_->render_metrics(metrics);
  EXPECT_NE(metrics.find("doppel_stage_derived_total{outcome=\"dropped\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("doppel_stage_derived_total{outcome=\"written\"} 3\n"), std::string::npos) << metrics;
  ASSERT_TRUE(pipeline_->submit("http", {{"pump-2", "speed", json(9.0), k_now + 3000}}));
  EXPECT_EQ(points("pump-2", "sim.twice"), (std::vector<double>{14.0, 18.0}));
}

// A model upload for the poison-message tests: speed is a string in it (a double in Pump).
const char* const k_pump_v2 = R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Pump;2", "@type": "Interface",
  "contents": [{"@type": "Telemetry", "name": "speed", "schema": "string"},
               {"@type": "Telemetry", "name": "flow", "schema": "double"}]})";

// Issue 20: a twin replaced with a model in which a telemetry has another type made the history
// refuse the whole shard pass, so every submit of it failed and MQTT redelivered the message
// forever. Now that one reading is a dead letter and its neighbours are applied.
TEST_F(history_pipeline, ATelemetryWhoseTypeChangedIsADeadLetterAndItsNeighboursApply) {
  start();
  ASSERT_TRUE(pipeline_->submit("http", {{"pump-1", "speed", json(1.5), k_now}}));
  ASSERT_TRUE(graph_->add_models({{"pump-v2.json", k_pump_v2}}));
  ASSERT_TRUE(graph_->put_twin("pump-1", json::parse(R"({"$metadata": {"$model": "dtmi:test:Pump;2"}})"), {}, {true}));
  // One submit: the poison reading between good ones of the same twin and of another twin.
  auto r = pipeline_->submit("http", {{"pump-1", "flow", json(2.0), k_now + 1},
                                      {"pump-1", "speed", json("fast"), k_now + 1},
                                      {"pump-1", "flow", json(3.0), k_now + 2},
                                      {"pump-2", "speed", json(7.0), k_now + 1}});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->accepted, 3u);
  ASSERT_EQ(r->rejected.size(), 1u);
  EXPECT_EQ(r->rejected[0].reason, "type_changed");
  const std::string& m = r->rejected[0].message;
  for (const char* part : {"\"speed\"", "pump-1", "string", "f64", "former schema"}) {
    EXPECT_NE(m.find(part), std::string::npos) << part << " not in: " << m;
  }
  EXPECT_EQ(points("pump-1", "flow"), (std::vector<double>{2.0, 3.0}));
  EXPECT_EQ(points("pump-1", "speed"), std::vector<double>{1.5});
  EXPECT_EQ(points("pump-2", "speed"), std::vector<double>{7.0});
  EXPECT_EQ((*graph_->latest_telemetry("pump-1"))["speed"]["value"], 1.5);  // the refused one is not latest
  EXPECT_EQ(letters_.list(0, 10, "type_changed")["value"].size(), 1u);
  // The shard goes on: the next readings apply.
  auto next = pipeline_->submit("http", {{"pump-1", "flow", json(4.0), k_now + 3}});
  ASSERT_TRUE(next) << next.error().to_string();
  EXPECT_EQ(next->accepted, 1u);
}

// ---------------------------------------------------------------- stages

// Records each run it is given: the shard and thread it ran on and the readings it saw.
class recording_stage final : public stage {
 public:
  struct seen {
    std::string stage;
    int shard = 0;
    std::thread::id thread;
    std::string twin;
    std::vector<std::string> names;
    std::vector<double> values;
  };
  recording_stage(std::string name, std::mutex& mu, std::vector<seen>& log) : name_(name), mu_(mu), log_(log) {}
  std::string_view name() const override { return name_; }
  void start(int shards) override { shards_ = shards; }
  void run(int shard, const twin_readings& r) override {
    seen s{name_, shard, std::this_thread::get_id(), std::string(r.twin), {}, {}};
    EXPECT_TRUE(r.model.is_a("dtmi:doppel:example:Pump;1"));
    for (const ts::sample& x : r.samples) {
      s.names.emplace_back(x.name);
      s.values.push_back(x.type == ts::value_type::f64 ? x.f : x.type == ts::value_type::boolean ? x.i : -1);
    }
    std::lock_guard lock(mu_);
    log_.push_back(std::move(s));
  }
  int shards_ = 0;

 private:
  std::string name_;
  std::mutex& mu_;
  std::vector<seen>& log_;
};

TEST_F(pipeline_fixture, StagesRunInOrderOnTheOwningShardWithValidatedReadingsOnly) {
  std::mutex mu;
  std::vector<recording_stage::seen> log;
  auto first = std::make_shared<recording_stage>("first", mu, log);
  auto second = std::make_shared<recording_stage>("second", mu, log);
  auto assets = std::make_shared<recording_stage>("assets", mu, log);  // Pump extends Asset
  auto tanks = std::make_shared<recording_stage>("tanks", mu, log);    // never a pump
  auto counter = std::make_shared<reading_counter>();
  pipeline_.reset();
  pipeline_options o{2, 1000, nullptr, 0, {}};
  o.stages = {{first, ""},
              {second, ""},
              {assets, "dtmi:doppel:example:Asset;1"},
              {tanks, "dtmi:doppel:example:Tank;1"},
              {counter, ""}};
  pipeline_ = std::make_unique<telemetry_pipeline>(*graph_, letters_, o);
  EXPECT_EQ(first->shards_, 2);
  EXPECT_EQ(tanks->shards_, 2);
  std::vector<reading> in = json_readings(R"({"speed": 1, "nope": 2, "flow": "fast", "mode": "off", "running": true,
                                             "motor.power": 3})",
                                          "pump-1");
  auto more = json_readings(R"({"speed": 5, "flow": 6})", "pump-2");
  in.insert(in.end(), more.begin(), more.end());
  more = json_readings(R"({"speed": 8})", "pump-1");
  in.insert(in.end(), more.begin(), more.end());
  auto r = pipeline_->submit("http", in);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->accepted, 7u);  // mode is a property: reported state, not a stage's input
  EXPECT_EQ(r->rejected.size(), 2u);

  std::lock_guard lock(mu);
  // Runs of one twin's readings, each through first, second, assets in that order: pump-1's
  // readings are one run, or two when pump-2's sit between them on the same shard.
  bool together = pipeline_->shard_of("pump-1") == pipeline_->shard_of("pump-2");
  std::vector<std::string> order_1, order_2, run = {"first", "second", "assets"};
  for (const auto& s : log) (s.twin == "pump-1" ? order_1 : order_2).push_back(s.stage);
  std::vector<std::string> twice = run;
  twice.insert(twice.end(), run.begin(), run.end());
  EXPECT_EQ(order_1, together ? twice : run);
  EXPECT_EQ(order_2, run);
  std::map<int, std::thread::id> thread_of_shard;
  for (const auto& s : log) {
    EXPECT_EQ(static_cast<std::size_t>(s.shard), pipeline_->shard_of(s.twin)) << s.twin;
    EXPECT_NE(s.thread, std::this_thread::get_id());
    auto [it, added] = thread_of_shard.emplace(s.shard, s.thread);
    EXPECT_EQ(it->second, s.thread) << "shard " << s.shard << " ran on two threads";
  }
  // Only the accepted telemetry, typed, in submit order.
  auto seen_by = [&](const std::string& stage_name, const std::string& twin) {
    recording_stage::seen all;
    for (const auto& s : log) {
      if (s.stage != stage_name || s.twin != twin) continue;
      all.names.insert(all.names.end(), s.names.begin(), s.names.end());
      all.values.insert(all.values.end(), s.values.begin(), s.values.end());
    }
    return all;
  };
  for (const char* name : {"first", "second", "assets"}) {
    auto p1 = seen_by(name, "pump-1");
    EXPECT_EQ(p1.names, (std::vector<std::string>{"speed", "running", "motor.power", "speed"})) << name;
    EXPECT_EQ(p1.values, (std::vector<double>{1, 1, 3, 8})) << name;
    EXPECT_EQ(seen_by(name, "pump-2").values, (std::vector<double>{5, 6})) << name;
  }
  EXPECT_EQ(counter->count("pump-1"), 4u);
  EXPECT_EQ(counter->count("pump-2"), 2u);
  EXPECT_EQ(counter->count("ghost"), 0u);

  std::string metrics;
  pipeline_->render_metrics(metrics);
  for (const char* line :
       {"doppel_stage_readings_total{stage=\"first\"} 6\n", "doppel_stage_readings_total{stage=\"assets\"} 6\n",
        "doppel_stage_readings_total{stage=\"tanks\"} 0\n",
        "doppel_stage_readings_total{stage=\"reading_counter\"} 6\n", "doppel_twin_readings_total 6\n",
        "doppel_twin_readings_twins 2\n", "doppel_stage_seconds_total{stage=\"first\"} "}) {
    EXPECT_NE(metrics.find(line), std::string::npos) << line << " not in:\n" << metrics;
  }
}

// Keeps a number per twin in the twin's stage state: how many runs it has seen of that twin.
class run_counting_stage final : public stage {
 public:
  struct runs final : twin::twin_attachment {
    int n = 0;
  };
  std::string_view name() const override { return "run_counting"; }
  void run(int, const twin_readings& r) override {
    ASSERT_NE(r.state, nullptr);
    if (!*r.state) *r.state = std::make_unique<runs>();
    int n = ++static_cast<runs&>(**r.state).n;
    std::lock_guard lock(mu);
    seen.emplace_back(r.twin, n);
  }
  std::mutex mu;
  std::vector<std::pair<std::string, int>> seen;  // (twin, its run number), in run order
};

TEST_F(pipeline_fixture, AStageKeepsStatePerTwinUntilTheTwinIsDeleted) {
  auto counting = std::make_shared<run_counting_stage>();
  auto counter = std::make_shared<reading_counter>();
  pipeline_.reset();
  pipeline_options o{2, 1000, nullptr, 0, {}};
  o.stages = {{counter, ""}, {counting, ""}};
  pipeline_ = std::make_unique<telemetry_pipeline>(*graph_, letters_, o);
  auto send = [&](const char* twin) {
    auto r = pipeline_->submit("http", {{twin, "speed", json(1.0), k_now}});
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_EQ(r->accepted, 1u);
  };
  send("pump-1");
  send("pump-2");
  send("pump-1");
  // Deleted and created again: the twin starts without state (the reading counter, which counts
  // by id since the start, goes on).
  json pump = *graph_->get_twin("pump-1");
  ASSERT_TRUE(graph_->delete_twin("pump-1", {}));
  pump.erase("$etag");
  ASSERT_TRUE(graph_->put_twin("pump-1", pump, {}, {true}));
  send("pump-1");
  send("pump-2");
  {
    std::lock_guard lock(counting->mu);
    EXPECT_EQ(counting->seen, (std::vector<std::pair<std::string, int>>{
                                  {"pump-1", 1}, {"pump-2", 1}, {"pump-1", 2}, {"pump-1", 1}, {"pump-2", 2}}));
  }
  EXPECT_EQ(counter->count("pump-1"), 3u);
  EXPECT_EQ(counter->count("pump-2"), 2u);

  // A new pipeline on the same twins does not find the state the last one's stages left.
  auto again = std::make_shared<run_counting_stage>();
  pipeline_.reset();
  o.stages = {{again, ""}};
  pipeline_ = std::make_unique<telemetry_pipeline>(*graph_, letters_, o);
  send("pump-2");
  std::lock_guard lock(again->mu);
  EXPECT_EQ(again->seen, (std::vector<std::pair<std::string, int>>{{"pump-2", 1}}));
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

TEST(Readings, AnEmptyMemberNameIsRefusedNotAReadingWithoutAName) {
  // Found by fuzz_mqtt: {"": 1} became a reading with an empty name.
  for (const char* bad : {R"({"": 1})", R"({"speed": 1, "": 2})", R"([{"$dtId": "a", "": 1}])"}) {
    std::vector<reading> out;
    std::vector<rejection> rejected;
    parse_json_readings(bad, bad[0] == '[' ? "" : "pump-1", k_now, out, rejected);
    EXPECT_TRUE(out.empty()) << bad;
    ASSERT_EQ(rejected.size(), 1u) << bad;
    EXPECT_NE(rejected[0].message.find("empty name"), std::string::npos) << rejected[0].message;
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
