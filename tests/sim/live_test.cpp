#include "sim/live.h"

#include <gtest/gtest.h>

#include <cmath>

#include "app/sim_files.h"
#include "ingest/dead_letters.h"
#include "ingest/pipeline.h"
#include "store/timeseries/history.h"
#include "twin/twin_test_util.h"

namespace doppel::sim {
namespace {

using nlohmann::json;

constexpr std::int64_t k_s = 1'000'000'000;
constexpr std::int64_t k_t0 = 1764064800LL * k_s;  // 2025-11-25T10:00:00Z

// A first-order lag: x follows k * u with time constant tau; y = 2 x. Analytic for a step of u
// from x = 0: x(t) = k u (1 - exp(-t / tau)).
constexpr const char* k_lag = R"yaml(
parameters:
  k: 1
  tau: 4
inputs:
  u: 0
states:
  x: {start: 0, derivative: "(k * u - x) / tau"}
outputs:
  y: 2 * x
)yaml";

// x' = x^2 from x = 1 runs off to infinity at t = 1: the solver must give up there.
constexpr const char* k_blowup = R"yaml(
inputs:
  u: 0
states:
  x: {start: 1, derivative: "x * x + 0 * u"}
solver: {max_steps: 2000}
)yaml";

std::shared_ptr<const equation_model> compile(const char* text) {
  auto spec = app::parse_equation_model(text, "test.yaml");
  EXPECT_TRUE(spec) << spec.error().to_string();
  spec->name = "lag";
  auto m = equation_model::compile(std::move(*spec));
  EXPECT_TRUE(m) << m.error().to_string();
  return *m;
}

live_source telemetry(std::string name, double scale = 1) {
  live_source s;
  s.name = std::move(name);
  s.scale = scale;
  return s;
}

live_source property(std::string name) {
  live_source s;
  s.from = live_source::kind::property;
  s.name = std::move(name);
  return s;
}

// The lag bound to the example's pumps: u <- speed, k <- ratedFlow, y measured as flow.
live_spec lag_spec() {
  live_spec spec;
  spec.model = "dtmi:doppel:example:Pump;1";
  spec.equations = "lag";
  spec.inputs = {{"u", telemetry("speed")}};
  spec.parameters = {{"k", property("ratedFlow")}};
  spec.measured = {{"y", telemetry("flow")}};
  return spec;
}

class live_fixture : public twin::testing::live_graph {
 protected:
  void SetUp() override {
    live_graph::SetUp();
    for (const char* id : {"pump-1", "pump-2"}) {
      auto pump = json::parse(R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"}, "ratedFlow": 3,
                                  "motor": {"$metadata": {}}})");
      ASSERT_TRUE(graph_->put_twin(id, pump, {}, {true}));
    }
    ts::history_options ho;
    ho.dir = history_dir_.path();
    ho.writers = 1;
    auto h = ts::history::open(ho);
    ASSERT_TRUE(h) << h.error().to_string();
    history_ = std::move(*h);
  }
  void TearDown() override {
    pipeline_.reset();
    history_.reset();
    live_graph::TearDown();
  }
  void start(live_spec spec, const char* equations = k_lag) {
    auto bound = bind(std::move(spec), compile(equations), *graph_->model_of("pump-1"));
    ASSERT_TRUE(bound) << bound.error().to_string();
    binding_ = std::make_shared<const live_binding>(std::move(*bound));
    ingest::pipeline_options o{1, 1000, history_.get(), 0, {}};
    o.stages = {{std::make_shared<live_simulation>(*graph_, binding_, board_), binding_->spec.model}};
    pipeline_ = std::make_unique<ingest::telemetry_pipeline>(*graph_, letters_, o);
  }
  void send(std::vector<ingest::reading> readings) {
    auto r = pipeline_->submit("http", std::move(readings));
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_TRUE(r->rejected.empty()) << r->rejected[0].message;
  }
  // The series' points as (seconds since k_t0, value).
  std::vector<std::pair<double, double>> points(const std::string& twin, const std::string& name) {
    std::vector<std::pair<double, double>> out;
    auto b = history_->read(twin, name, INT64_MIN, INT64_MAX, 100000);
    if (!b) return out;
    for (std::size_t k = 0; k < b->size(); ++k) out.emplace_back(double(b->t[k] - k_t0) / k_s, b->f[k]);
    return out;
  }

  doppel::testing::temp_dir history_dir_{"doppel-live-history"};
  std::unique_ptr<ts::history> history_;
  ingest::dead_letters letters_{100};
  std::shared_ptr<live_board> board_ = std::make_shared<live_board>();
  std::shared_ptr<const live_binding> binding_;
  std::unique_ptr<ingest::telemetry_pipeline> pipeline_;
};

TEST_F(live_fixture, VirtualSensorsFollowTheAnalyticSolutionAtEachInterval) {
  start(lag_spec());
  // A step of the speed to 2 at t0, held until a reading 10 s later: x = 3 * 2 (1 - e^(-t/4)).
  send({{"pump-1", "speed", json(2.0), k_t0}});
  send({{"pump-1", "speed", json(2.0), k_t0 + 10 * k_s}});
  auto x = points("pump-1", "sim.x");
  ASSERT_EQ(x.size(), 11u);  // 0 s .. 10 s
  for (const auto& [t, v] : x) EXPECT_NEAR(v, 6 * (1 - std::exp(-t / 4)), 1e-4) << "at " << t << " s";
  auto y = points("pump-1", "sim.y");
  ASSERT_EQ(y.size(), 11u);
  EXPECT_NEAR(y.back().second, 2 * x.back().second, 1e-12);
  // The latest telemetry and the board show them too; the other pump never sent: no run.
  auto latest = graph_->latest_telemetry("pump-1");
  ASSERT_TRUE(latest);
  EXPECT_NEAR((*latest)["sim.x"]["value"].get<double>(), x.back().second, 1e-12);
  auto run = board_->get("pump-1");
  ASSERT_TRUE(run);
  EXPECT_EQ((*run)["state"], "running");
  EXPECT_EQ((*run)["equations"], "lag");
  EXPECT_EQ((*run)["time"], "2025-11-25T10:00:10.000Z");
  EXPECT_EQ((*run)["parameters"]["k"], 3.0);  // from the twin's ratedFlow
  EXPECT_EQ((*run)["inputs"]["u"], 2.0);
  EXPECT_NEAR((*run)["states"]["x"].get<double>(), x.back().second, 1e-12);
  EXPECT_FALSE(board_->get("pump-2"));
  EXPECT_TRUE(points("pump-2", "sim.x").empty());
}

TEST_F(live_fixture, TheResidualIsTheMeasurementMinusThePrediction) {
  live_spec spec = lag_spec();
  spec.measured = {{"y", telemetry("flow", 10)}};  // flow * 10 in the equations' units
  start(spec);
  send({{"pump-1", "speed", json(1.0), k_t0}});
  // At 4 s: y = 2 * 3 * (1 - e^-1); the flow sent says 0.5 (5 in the equations' units).
  send({{"pump-1", "speed", json(1.0), k_t0 + 4 * k_s}, {"pump-1", "flow", json(0.5), k_t0 + 4 * k_s}});
  auto residual = points("pump-1", "residual.flow");
  ASSERT_EQ(residual.size(), 1u);
  EXPECT_EQ(residual[0].first, 4.0);
  EXPECT_NEAR(residual[0].second, 5 - 6 * (1 - std::exp(-1.0)), 1e-4);
  // A measurement older than where the run stands gets no residual (it is of another time).
  send({{"pump-1", "flow", json(0.7), k_t0 + 2 * k_s}});
  EXPECT_EQ(points("pump-1", "residual.flow").size(), 1u);
}

TEST_F(live_fixture, ParametersFromPropertiesAreReadAgainAfterRefresh) {
  live_spec spec = lag_spec();
  spec.refresh_ns = 5 * k_s;
  start(spec);
  send({{"pump-1", "speed", json(1.0), k_t0}});
  ASSERT_TRUE(graph_->patch_twin("pump-1", json::parse(R"([{"op": "replace", "path": "/ratedFlow", "value": 7}])"), {},
                                 {true}));
  send({{"pump-1", "speed", json(1.0), k_t0 + 2 * k_s}});
  EXPECT_EQ((*board_->get("pump-1"))["parameters"]["k"], 3.0);  // not yet: refreshed every 5 s
  send({{"pump-1", "speed", json(1.0), k_t0 + 6 * k_s}});
  EXPECT_EQ((*board_->get("pump-1"))["parameters"]["k"], 7.0);
}

TEST_F(live_fixture, AGapLongerThanResyncAfterStartsTheRunAgain) {
  live_spec spec = lag_spec();
  spec.resync_after_ns = 60 * k_s;
  start(spec);
  send({{"pump-1", "speed", json(1.0), k_t0}});
  send({{"pump-1", "speed", json(1.0), k_t0 + 30 * k_s}});
  EXPECT_EQ(points("pump-1", "sim.x").size(), 31u);
  // Two hours later: no 7,200 values of a held input, a new run from x = 0 instead.
  send({{"pump-1", "speed", json(1.0), k_t0 + 7200 * k_s}});
  auto x = points("pump-1", "sim.x");
  ASSERT_EQ(x.size(), 32u);
  EXPECT_EQ(x.back().first, 7200.0);
  EXPECT_EQ(x.back().second, 0.0);
  EXPECT_EQ((*board_->get("pump-1"))["started"], "2025-11-25T12:00:00.000Z");
}

TEST_F(live_fixture, AFailingRunIsReportedAndStartsAgainLaterWhileOthersRunOn) {
  live_spec spec;
  spec.model = "dtmi:doppel:example:Pump;1";
  spec.equations = "blowup";
  spec.inputs = {{"u", telemetry("speed")}};
  spec.retry_after_ns = 60 * k_s;
  start(spec, k_blowup);
  send({{"pump-1", "speed", json(1.0), k_t0}, {"pump-2", "speed", json(1.0), k_t0}});
  send({{"pump-1", "speed", json(1.0), k_t0 + 2 * k_s}});  // past t = 1: the solver gives up
  auto run = board_->get("pump-1");
  ASSERT_TRUE(run);
  EXPECT_EQ((*run)["state"], "failed");
  EXPECT_EQ((*run)["failures"], 1);
  EXPECT_FALSE((*run)["error"].get<std::string>().empty());
  EXPECT_EQ((*board_->get("pump-2"))["state"], "running");  // untouched
  // Within retry_after nothing runs; after it a new run starts.
  send({{"pump-1", "speed", json(1.0), k_t0 + 30 * k_s}});
  EXPECT_EQ((*board_->get("pump-1"))["state"], "failed");
  send({{"pump-1", "speed", json(1.0), k_t0 + 90 * k_s}});
  EXPECT_EQ((*board_->get("pump-1"))["state"], "running");
  EXPECT_EQ((*board_->get("pump-1"))["failures"], 1);
  std::string metrics;
  board_->render_metrics(metrics);
  EXPECT_NE(
      metrics.find("doppel_sim_live_failures_total{equations=\"blowup\",model=\"dtmi:doppel:example:Pump;1\"} 1\n"),
      std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("doppel_sim_live_starts_total{equations=\"blowup\",model=\"dtmi:doppel:example:Pump;1\"} 3\n"),
            std::string::npos)
      << metrics;
}

// Readings may carry any time from 1677 to 2262: the ends of that range must neither hang the
// shard (a run writing virtual sensors across centuries) nor overflow.
TEST_F(live_fixture, ReadingsAtTheEndsOfTimeRestartTheRunWithoutWritingCenturies) {
  start(lag_spec());
  send({{"pump-1", "speed", json(1.0), INT64_MIN}});
  send({{"pump-1", "speed", json(2.0), 0}});
  send({{"pump-1", "speed", json(3.0), INT64_MAX}});
  send({{"pump-1", "speed", json(3.0), INT64_MAX}});
  auto run = board_->get("pump-1");
  ASSERT_TRUE(run);
  EXPECT_EQ((*run)["state"], "running");
  EXPECT_EQ((*run)["inputs"]["u"], 3.0);
  EXPECT_LE(points("pump-1", "sim.x").size(), 4u);  // one at each start, at most
}

// The model is wrong (k = 3 from ratedFlow; the pump behaves as k = 2): open loop, the prediction
// runs away from the measurements; with the observer, each measurement corrects the state, so
// the residuals (measured - predicted, before each correction) stay small.
TEST_F(live_fixture, AnObserverKeepsAWrongModelNearTheMeasurements) {
  auto last_residual = [&](bool observer) {
    live_spec spec = lag_spec();
    spec.observer = observer;
    if (observer) {
      spec.process_noise = {{"x", 1.0}};
      spec.measurement_noise = {{"y", 0.01}};
    }
    start(spec);
    for (int k = 0; k <= 30; ++k) {
      const double measured = 2 * 2 * (1 - std::exp(-k / 4.0));  // y = 2 x, x -> k_true * u, u = 1
      send({{"pump-1", "speed", json(1.0), k_t0 + k * k_s}, {"pump-1", "flow", json(measured), k_t0 + k * k_s}});
    }
    auto residual = points("pump-1", "residual.flow");
    EXPECT_EQ(residual.size(), 31u);
    double r = residual.empty() ? 0 : std::abs(residual.back().second);
    // Right after the last measurement the state is where the measurement says (x = y / 2 = 2),
    // or where the wrong model took it (3).
    const double x = (*board_->get("pump-1"))["states"]["x"].get<double>();
    if (observer) {
      EXPECT_NEAR(x, 2 * (1 - std::exp(-30 / 4.0)), 0.05);
    } else {
      EXPECT_NEAR(x, 3 * (1 - std::exp(-30 / 4.0)), 1e-3);
    }
    pipeline_.reset();
    return r;
  };
  const double open_loop = last_residual(false);
  EXPECT_NEAR(open_loop, 2.0, 0.05);  // 2 * (3 - 2) at the steady state
  TearDown();
  SetUp();
  const double observed = last_residual(true);
  EXPECT_LT(observed, 0.25 * open_loop) << observed;
  std::string metrics;
  board_->render_metrics(metrics);
  EXPECT_NE(
      metrics.find("doppel_sim_live_corrections_total{equations=\"lag\",model=\"dtmi:doppel:example:Pump;1\"} 31"),
      std::string::npos)
      << metrics;
  // Noise for a name the equations do not have is refused when bound.
  live_spec bad = lag_spec();
  bad.observer = true;
  bad.process_noise = {{"y", 1.0}};
  auto b = bind(bad, compile(k_lag), *graph_->model_of("pump-1"));
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message().find("observer: process noise: \"y\" is not a state"), std::string::npos)
      << b.error().message();
}

TEST_F(live_fixture, ADeletedTwinsRunGoesWithIt) {
  start(lag_spec());
  send({{"pump-1", "speed", json(1.0), k_t0}});
  ASSERT_TRUE(board_->get("pump-1"));
  ASSERT_TRUE(graph_->delete_twin("pump-1", {}));
  pipeline_.reset();  // lets go of the twin's entry, and with it the run
  EXPECT_FALSE(board_->get("pump-1"));
}

TEST_F(live_fixture, BindingsAreCheckedAgainstTheEquationsAndTheModel) {
  auto equations = compile(k_lag);
  const model::interface& pump = *graph_->model_of("pump-1");
  auto error_of = [&](live_spec spec) {
    auto b = bind(std::move(spec), equations, pump);
    return b ? std::string() : b.error().message();
  };
  EXPECT_EQ(error_of(lag_spec()), "");
  live_spec s = lag_spec();
  s.inputs = {{"v", telemetry("speed")}};
  EXPECT_EQ(error_of(s), "inputs.v: the equation model lag has no input \"v\"; its inputs can be: u");
  s = lag_spec();
  s.inputs = {{"u", telemetry("sped")}};
  EXPECT_NE(error_of(s).find("inputs.u: dtmi:doppel:example:Pump;1 has no telemetry \"sped\""), std::string::npos)
      << error_of(s);
  s = lag_spec();
  s.inputs = {{"u", property("mode")}};  // an enum of strings
  EXPECT_NE(error_of(s).find("the equations take numbers"), std::string::npos) << error_of(s);
  s = lag_spec();
  s.parameters = {{"k", telemetry("speed")}};
  EXPECT_NE(error_of(s).find("parameters.k: parameters come from properties or constants"), std::string::npos)
      << error_of(s);
  s = lag_spec();
  s.measured = {{"u", telemetry("flow")}};
  EXPECT_NE(error_of(s).find("measured.u: the equation model lag has no state or output \"u\""), std::string::npos)
      << error_of(s);
  s = lag_spec();
  s.measured = {{"y", property("ratedFlow")}};
  EXPECT_NE(error_of(s).find("measured.y: a measured value comes from a telemetry"), std::string::npos) << error_of(s);
  s = lag_spec();
  s.outputs = {"k"};
  EXPECT_NE(error_of(s).find("outputs.k: the equation model lag has no state or output \"k\"; its states and outputs "
                             "are: x, y"),
            std::string::npos)
      << error_of(s);
  s = lag_spec();
  s.inputs = {{"u", telemetry("motor.power")}};  // a component's telemetry is fine
  EXPECT_EQ(error_of(s), "");
}

}  // namespace
}  // namespace doppel::sim
