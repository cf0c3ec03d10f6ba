// Live simulation against the real binary: the pump-station example binds sim/pump.yaml to its
// pumps (doppel.yaml simulation.live); telemetry sent over HTTP drives it, and its virtual
// sensors and residuals come back through the API like any telemetry.
#include <cmath>
#include <fstream>

#include "api/api_fixture.h"

namespace doppel::api {
namespace {

class simulation_api : public api_fixture {
 protected:
  // One reading a second of the pump's speed, flow (L/s) and motor power (kW) from 10:00:00Z.
  void send(const std::string& twin, int from, int seconds, double rpm, double flow_ls) {
    std::string batch = "[";
    for (int k = from; k < from + seconds; ++k) {
      batch += std::string(k > from ? "," : "") + R"({"$dtId": ")" + twin + R"(", "speed": )" + std::to_string(rpm) +
               R"(, "flow": )" + std::to_string(flow_ls) + R"(, "$ts": )" +
               std::to_string(1764064800000LL + k * 1000LL) + "}";
    }
    auto r = call("POST", "/telemetry", "operator", batch + "]");
    ASSERT_EQ(r.status, 204u) << r.body;
  }
};

TEST_F(simulation_api, ThePumpsPhysicsRunsBesideItsTelemetry) {
  start();
  // Not started before its first reading; a twin without a binding has no simulation.
  auto r = call("GET", "/digitaltwins/pump-1/simulation", "viewer");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(body(r)["state"], "waiting");
  expect_error(call("GET", "/digitaltwins/tank-1/simulation", "viewer"), 404, "not_found");
  expect_error(call("GET", "/digitaltwins/nope/simulation", "viewer"), 404, "DigitalTwinNotFound");

  send("pump-1", 0, 61, 1450, 20);
  r = call("GET", "/digitaltwins/pump-1/simulation", "viewer");
  ASSERT_EQ(r.status, 200u) << r.body;
  json run = body(r);
  EXPECT_EQ(run["equations"], "pump");
  EXPECT_EQ(run["state"], "running");
  EXPECT_EQ(run["time"], "2025-11-25T10:01:00.000Z");
  EXPECT_EQ(run["inputs"]["speed"], 1450.0);
  // At rated speed the operating point is where the pump curve meets the system curve:
  // H0 (1 - (Q/Qmax)^2) = lift + k Q^2.
  const double q = std::sqrt((32 - 12) / (32 / (120.0 * 120) + 0.0012));
  EXPECT_NEAR(run["outputs"]["flow"].get<double>(), q, 1e-9);
  // The winding warms from ambient (25 degC) towards ambient + loss * R.
  const double winding = run["states"]["winding_temp"].get<double>();
  EXPECT_GT(winding, 25.0);
  EXPECT_LT(winding, 25 + run["outputs"]["motor_loss"].get<double>() * 0.012);

  // Virtual sensors: one a second in the history, the latest beside the measured telemetry.
  r = call("GET", "/digitaltwins/pump-1/telemetry/sim.efficiency?limit=1000", "viewer");
  ASSERT_EQ(r.status, 200u) << r.body;
  json eff = body(r)["value"];
  ASSERT_EQ(eff.size(), 61u);
  EXPECT_EQ(eff[0]["time"], "2025-11-25T10:00:00.000Z");
  EXPECT_GT(eff[0]["value"].get<double>(), 0.7);  // the speed of 10:00:00 is in it already
  json latest = body(call("GET", "/digitaltwins/pump-1/telemetry", "viewer"));
  EXPECT_TRUE(latest.contains("sim.winding_temp")) << latest.dump();
  EXPECT_EQ(latest["speed"]["value"], 1450);
  // Residuals: the flow measured (20 L/s = 72 m3/h) minus the flow predicted, at each reading.
  r = call("GET", "/digitaltwins/pump-1/telemetry/residual.flow?limit=1000", "viewer");
  ASSERT_EQ(r.status, 200u) << r.body;
  json residual = body(r)["value"];
  ASSERT_EQ(residual.size(), 61u);
  EXPECT_NEAR(residual[30]["value"].get<double>(), 72 - q, 1e-6);
  // Aggregated like any series.
  r = call("GET", "/digitaltwins/pump-1/telemetry/residual.flow?step=1m&agg=mean", "viewer");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_NEAR(body(r)["value"][0]["mean"].get<double>(), 72 - q, 1e-6);

  // /metrics counts them.
  std::string metrics = call("GET", "/metrics", "viewer").body;
  EXPECT_NE(metrics.find("doppel_sim_live_runs{state=\"running\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("doppel_sim_live_residuals_total{equations=\"pump\",model=\"dtmi:doppel:example:Pump;1\"} 61"),
            std::string::npos)
      << metrics;
}

TEST_F(simulation_api, ABindingThatDoesNotFitIsAnErrorAtStart) {
  std::ofstream(project_ / "doppel.yaml", std::ios::app) << "      parameters: {nope: ratedFlow}\n";
  EXPECT_FALSE(server_.start(project_, data_, {}));
  EXPECT_NE(server_.output().find("simulation.live[0].parameters.nope: the equation model pump has no parameter "
                                  "\"nope\""),
            std::string::npos)
      << server_.output();
}

}  // namespace
}  // namespace doppel::api
