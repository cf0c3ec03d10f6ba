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

TEST_F(simulation_api, ScenariosForkTheLiveRunsAndNeverTouchTheTwins) {
  start();
  send("pump-1", 0, 61, 1450, 20);
  json live_before = body(call("GET", "/digitaltwins/pump-1/simulation", "viewer"));
  // Slower from the start: a lower flow, an hour on; the live twin is not touched.
  json slow = {{"id", "slow"},
               {"twins", {"pump-1"}},
               {"horizon", "1h"},
               {"step", "1m"},
               {"schedule", {{{"at", 0}, {"set", {{"speed", 1200}}}}}}};
  auto r = call("POST", "/scenarios", "operator", slow.dump());
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(header(r, "Location"), "/scenarios/slow");
  json made = body(r);
  ASSERT_EQ(made["twins"].size(), 1u);
  EXPECT_EQ(made["twins"][0]["fromLive"], true);
  EXPECT_EQ(made["twins"][0]["fork"], "2025-11-25T10:01:00.000Z");  // where the live run stood
  EXPECT_EQ(body(call("GET", "/digitaltwins/pump-1/simulation", "viewer")), live_before);
  // The winding starts where the live run had it, not from ambient.
  r = call("GET", "/scenarios/slow?series=true", "viewer");
  ASSERT_EQ(r.status, 200u) << r.body;
  json series = body(r)["variants"][0]["series"];
  json winding, flow;
  for (const json& s : series) {
    if (s["name"] == "winding_temp") winding = s["values"];
    if (s["name"] == "flow") flow = s["values"];
  }
  ASSERT_EQ(winding.size(), 61u);
  EXPECT_EQ(winding[0], live_before["states"]["winding_temp"]);
  const double q1200 = std::sqrt((32 * std::pow(1200 / 1450.0, 2) - 12) / (32 / (120.0 * 120) + 0.0012));
  EXPECT_NEAR(flow[30].get<double>(), q1200, 1e-9);

  // The same at full speed, and the difference.
  json full = slow;
  full["id"] = "full";
  full["schedule"] = json::array();
  ASSERT_EQ(call("POST", "/scenarios", "operator", full.dump()).status, 201u);
  r = call("GET", "/scenarios/slow/compare?with=full", "viewer");
  ASSERT_EQ(r.status, 200u) << r.body;
  json cmp = body(r);
  const double q1450 = std::sqrt((32 - 12) / (32 / (120.0 * 120) + 0.0012));
  bool seen = false;
  for (const json& s : cmp["series"]) {
    if (s["name"] != "flow") continue;
    seen = true;
    EXPECT_NEAR(s["meanDifference"].get<double>(), q1200 - q1450, 1e-6);
  }
  EXPECT_TRUE(seen) << cmp.dump();
  // Against reality: the flow measured before the fork time counts; the hour after is pending.
  r = call("GET", "/scenarios/full/compare?with=reality", "viewer");
  ASSERT_EQ(r.status, 200u) << r.body;
  json reality = body(r);
  for (const json& s : reality["series"]) {
    if (s["name"] != "flow") continue;
    EXPECT_EQ(s["against"], "flow");
    EXPECT_EQ(s["points"], 61);  // 2025: long past
    EXPECT_NEAR(s["meanDifference"].get<double>(), q1450 - 72, 1e-6);
  }

  // A sweep of the speed, ranked by energy per volume under a flow constraint.
  json sweep = {{"id", "sweep"},
                {"twins", {"pump-1"}},
                {"horizon", "30m"},
                {"step", "1m"},
                {"sweep", {{"name", "speed"}, {"from", 1000}, {"to", 1450}, {"count", 10}}},
                {"objective", {{"minimize", "total_electrical_power / total_flow"}}},
                {"constraints", {"min_flow > 50"}}};
  r = call("POST", "/scenarios", "operator", sweep.dump());
  ASSERT_EQ(r.status, 201u) << r.body;
  json variants = body(r)["variants"];
  ASSERT_EQ(variants.size(), 10u);
  const json* best = nullptr;
  for (const json& v : variants) {
    if (v["rank"] == 1) best = &v;
    const double q = std::sqrt(
        std::max(0.0, (32 * std::pow(v["value"].get<double>() / 1450, 2) - 12) / (32 / (120.0 * 120) + 0.0012)));
    EXPECT_EQ(v["violated"].empty(), q > 50) << v.dump();
  }
  // The best keeps the constraint and has the lowest objective of those that do.
  ASSERT_NE(best, nullptr);
  EXPECT_TRUE((*best)["violated"].empty());
  for (const json& v : variants) {
    if (v["violated"].empty()) {
      EXPECT_LE((*best)["objective"].get<double>(), v["objective"].get<double>()) << v.dump();
    }
  }
  json listed = body(call("GET", "/scenarios", "viewer"))["value"];
  EXPECT_EQ(listed.size(), 3u);

  // Mistakes: a taken id, an unknown name, a bad objective, a viewer's POST.
  expect_error(call("POST", "/scenarios", "operator", slow.dump()), 409, "conflict");
  json unknown = slow;
  unknown["id"] = "x";
  unknown["schedule"][0]["set"] = {{"sped", 1}};
  r = call("POST", "/scenarios", "operator", unknown.dump());
  expect_error(r, 400, "bad_request");
  EXPECT_NE(r.body.find("$.schedule[0].set.sped: no twin's equations have an input or parameter"), std::string::npos)
      << r.body;
  json wrong = sweep;
  wrong["id"] = "y";
  wrong["objective"] = {{"minimize", "total_power"}};
  r = call("POST", "/scenarios", "operator", wrong.dump());
  expect_error(r, 400, "bad_request");
  EXPECT_NE(r.body.find("unknown name"), std::string::npos) << r.body;
  expect_error(call("POST", "/scenarios", "viewer", full.dump()), 403, "forbidden");
  expect_error(call("GET", "/scenarios/nope", "viewer"), 404, "not_found");

  // Kept across a restart; removed by DELETE.
  server_.kill(SIGTERM);
  start();
  EXPECT_EQ(body(call("GET", "/scenarios", "viewer"))["value"].size(), 3u);
  EXPECT_EQ(call("DELETE", "/scenarios/slow", "operator").status, 204u);
  expect_error(call("GET", "/scenarios/slow", "viewer"), 404, "not_found");
}

// The pipes are rougher than the model says (k_pipe 0.002, not 0.0012): the measured flow
// drifts from the prediction; a fit over the twin's history finds k_pipe again, and the run
// takes it.
TEST_F(simulation_api, AFitOfTheLiveRunFindsTheParameterTheMeasurementsSay) {
  start();
  auto flow_ls = [](double rpm, double k) {
    return std::sqrt((32 * std::pow(rpm / 1450, 2) - 12) / (32 / (120.0 * 120) + k)) / 3.6;
  };
  for (int k = 0; k < 120; ++k) {
    const double rpm = k < 60 ? 1450 : 1300;
    std::string one = R"([{"$dtId": "pump-1", "speed": )" + std::to_string(rpm) + R"(, "flow": )" +
                      std::to_string(flow_ls(rpm, 0.002)) + R"(, "$ts": )" +
                      std::to_string(1764064800000LL + k * 1000LL) + "}]";
    ASSERT_EQ(call("POST", "/telemetry", "operator", one).status, 204u);
  }
  auto r = call("POST", "/digitaltwins/pump-1/simulation/fit", "operator",
                R"({"tune": ["k_pipe"], "window": "10m", "apply": true})");
  ASSERT_EQ(r.status, 200u) << r.body;
  json fit = body(r);
  EXPECT_EQ(fit["parameters"]["k_pipe"]["before"], 0.0012);
  EXPECT_NEAR(fit["parameters"]["k_pipe"]["after"].get<double>(), 0.002, 2e-5) << fit.dump();
  EXPECT_LT(fit["rms"]["flow"]["after"].get<double>(), 0.05 * fit["rms"]["flow"]["before"].get<double>()) << fit.dump();
  EXPECT_EQ(fit["window"]["rows"], 120);
  EXPECT_EQ(fit["applied"], true);
  // The run takes it at its next reading: the residual goes to about zero.
  ASSERT_EQ(call("POST", "/telemetry", "operator",
                 R"([{"$dtId": "pump-1", "speed": 1300, "flow": )" + std::to_string(flow_ls(1300, 0.002)) +
                     R"(, "$ts": )" + std::to_string(1764064800000LL + 120000) + "}]")
                .status,
            204u);
  json run = body(call("GET", "/digitaltwins/pump-1/simulation", "viewer"));
  EXPECT_NEAR(run["parameters"]["k_pipe"].get<double>(), fit["parameters"]["k_pipe"]["after"].get<double>(), 1e-15);
  json latest = body(call("GET", "/digitaltwins/pump-1/telemetry", "viewer"));
  EXPECT_LT(std::abs(latest["residual.flow"]["value"].get<double>()), 0.05) << latest.dump();

  // Only what the binding declares tunable; a twin without measurements in the window.
  r = call("POST", "/digitaltwins/pump-1/simulation/fit", "operator", R"({"tune": ["H0"]})");
  expect_error(r, 400, "bad_request");
  EXPECT_NE(body(r)["error"]["message"].get<std::string>().find(
                "\"H0\" is not a tunable parameter of this binding; they are: k_pipe, R_winding, friction_rated"),
            std::string::npos)
      << r.body;
  expect_error(call("POST", "/digitaltwins/pump-2/simulation/fit", "operator", "{}"), 400, "bad_request");
  expect_error(call("POST", "/digitaltwins/pump-1/simulation/fit", "viewer", "{}"), 403, "forbidden");
}

// `doppel scenario create|list|get|compare|delete` against the running server.
TEST_F(simulation_api, TheCliCreatesComparesAndRemovesScenarios) {
  start();
  send("pump-1", 0, 61, 1450, 20);
  auto run = [&](const std::string& args, const std::string& who = "operator") {
    return shell("DOPPEL_TOKEN=" + tokens_[who] + " " + DOPPEL_BINARY + " scenario " + args +
                 " --server http://127.0.0.1:" + std::to_string(server_.port()) + " 2>&1");
  };
  const fs::path file = dir_.path() / "slow.json";
  std::ofstream(file) << R"({"id": "slow-cli", "twins": ["pump-1"], "horizon": "1h",
                             "schedule": [{"at": "10m", "set": {"speed": 1200}}]})";
  auto [code, out] = run("create " + file.string());
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(json::parse(out)["id"], "slow-cli");
  std::tie(code, out) = run("list", "viewer");
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(json::parse(out)["value"][0]["id"], "slow-cli");
  std::tie(code, out) = run("get slow-cli --series", "viewer");
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(json::parse(out)["variants"][0]["series"][0]["values"].size(), 101u);  // step: horizon / 100
  std::tie(code, out) = run("compare slow-cli --with reality", "viewer");
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(json::parse(out)["with"], "reality");
  std::tie(code, out) = run("create " + file.string());  // the id is taken
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("409 conflict"), std::string::npos) << out;
  std::tie(code, out) = run("delete slow-cli");
  EXPECT_EQ(code, 0) << out;
  std::tie(code, out) = run("get slow-cli", "viewer");
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("404 not_found"), std::string::npos) << out;
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
