#include "sim/fmi/model_exchange.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "app/cli.h"
#include "common/temp_dir.h"
#include "sim/fmi/cosim.h"
#include "sim/fmi/isolated.h"
#include "sim/fmu_csv_table.h"
#include "sim/ode.h"

// Model-exchange FMUs (tests/fmus: BouncingBallME2/3, VanDerPolME2/3) integrated by Doppel,
// against analytic solutions and against Doppel's own solver on the same equations.
namespace doppel::sim::fmi {
namespace {

using doppel::testing::fmu_path;
using doppel::testing::parse_csv;
using doppel::testing::table;

struct run_result {
  status s;
  table t;
  std::string csv;
};

run_result run(const std::string& name, run_options o) {
  run_result r;
  isolation limits;
  limits.timeout = std::chrono::seconds(20);
  r.s = run_isolated(fmu_path(name), o, limits, [&](std::string_view line) { r.csv.append(line); });
  r.t = parse_csv(r.csv);
  return r;
}

constexpr double g = 9.81, restitution = 0.7, h0 = 1.0;

// The k-th impact (k >= 1) of the ball dropped from h0 at rest: t1 (1 + 2 e + ... + 2 e^(k-1)).
double impact_time(int k) {
  const double t1 = std::sqrt(2 * h0 / g);
  double t = t1, flight = 2 * t1;
  for (int i = 1; i < k; ++i) {
    flight *= restitution;
    t += flight;
  }
  return t;
}

// The exact height at t (before the ball comes to rest).
double ball_height(double t) {
  const double t1 = std::sqrt(2 * h0 / g);
  if (t <= t1) return h0 - g * t * t / 2;
  double start = t1, up = restitution * g * t1;
  for (;;) {
    const double flight = 2 * up / g;
    if (t <= start + flight) {
      const double s = t - start;
      return up * s - g * s * s / 2;
    }
    start += flight;
    up *= restitution;
  }
}

class me_ball : public ::testing::TestWithParam<const char*> {};

// The impact times are recovered from the row after each impact: the ball left the floor at
// t - s with the speed v + g s, and rose to h, so h = v s + g s^2 / 2.
TEST_P(me_ball, BouncesAtTheAnalyticTimes) {
  run_options o;
  o.stop_time = 2.5;
  o.step_size = 0.01;
  run_result r = run(GetParam(), o);
  ASSERT_TRUE(r.s) << r.s.to_string();
  ASSERT_EQ(r.t.names, (std::vector<std::string>{"time", "h", "v", "bounces"}));
  ASSERT_EQ(r.t.rows.size(), 251u);
  const std::size_t H = r.t.column("h"), V = r.t.column("v"), B = r.t.column("bounces");
  int bounces = 0;
  for (const auto& row : r.t.rows) {
    const double t = row[0];
    EXPECT_NEAR(row[H], ball_height(t), 1e-6) << "at t=" << t;
    if (row[B] > bounces) {
      ASSERT_EQ(row[B], bounces + 1) << "two impacts in one step at t=" << t;
      ++bounces;
      const double s = (-row[V] + std::sqrt(row[V] * row[V] + 2 * g * row[H])) / g;
      EXPECT_NEAR(t - s, impact_time(bounces), 1e-6) << "impact " << bounces;
      EXPECT_NEAR(row[V] + g * s, std::pow(restitution, bounces) * std::sqrt(2 * g * h0), 1e-5) << "impact " << bounces;
    }
  }
  // Impacts up to t = 2.5: t1 = 0.4515, then 1.0836, 1.5261, 1.8358, 2.0526, 2.2044, ...
  int expected = 0;
  while (impact_time(expected + 1) <= 2.5) ++expected;
  EXPECT_EQ(bounces, expected);
  EXPECT_GE(bounces, 10);
}

TEST_P(me_ball, TheFmuCanAskToTerminate) {
  run_options o;
  o.stop_time = 3.0;
  o.step_size = 0.01;
  o.sets = {{"max_bounces", "2"}};
  run_result r = run(GetParam(), o);
  ASSERT_TRUE(r.s) << r.s.to_string();
  ASSERT_FALSE(r.t.rows.empty());
  // The run ends in the step of the second impact, whose values are the last row.
  const auto& last = r.t.rows.back();
  EXPECT_EQ(last[r.t.column("bounces")], 2);
  EXPECT_GE(last[0], impact_time(2) - 1e-9);
  EXPECT_LT(last[0], impact_time(2) + 0.01 + 1e-9);
}

TEST_P(me_ball, AnErrorOrACrashEndsTheRunWithAMessage) {
  run_options o;
  o.sets = {{"g", "-1"}};
  run_result r = run(GetParam(), o);
  ASSERT_FALSE(r.s);
  EXPECT_NE(r.s.message().find("ExitInitializationMode returned Error"), std::string::npos) << r.s.message();
  EXPECT_NE(r.s.message().find("g must be > 0"), std::string::npos) << r.s.message();

  o.sets = {{"crash_at", "1"}};
  o.stop_time = 1;
  o.step_size = 0.1;
  r = run(GetParam(), o);
  ASSERT_FALSE(r.s);
  EXPECT_NE(r.s.message().find("the FMU crashed with"), std::string::npos) << r.s.message();
  EXPECT_NE(r.s.message().find("after t=0.4"), std::string::npos) << r.s.message();
}

INSTANTIATE_TEST_SUITE_P(BothVersions, me_ball, ::testing::Values("BouncingBallME2", "BouncingBallME3"));

class me_vdp : public ::testing::TestWithParam<const char*> {};

TEST_P(me_vdp, WithMuZeroItIsTheHarmonicOscillator) {
  run_options o;
  o.stop_time = 10.0;
  o.step_size = 0.1;
  o.tolerance = 1e-10;
  o.sets = {{"mu", "0"}};
  run_result r = run(GetParam(), o);
  ASSERT_TRUE(r.s) << r.s.to_string();
  ASSERT_EQ(r.t.rows.size(), 101u);
  for (const auto& row : r.t.rows) {
    EXPECT_NEAR(row[r.t.column("x0")], 2 * std::cos(row[0]), 1e-6) << "at t=" << row[0];
    EXPECT_NEAR(row[r.t.column("x1")], -2 * std::sin(row[0]), 1e-6) << "at t=" << row[0];
  }
}

TEST_P(me_vdp, FollowsOurOwnSolverOnTheSameEquations) {
  ode_system sys;
  sys.states = 2;
  sys.rhs = [](double, const double* x, double* dx) {
    dx[0] = x[1];
    dx[1] = (1 - x[0] * x[0]) * x[1] - x[0];
  };
  ode_options tight;
  tight.rtol = 1e-12;
  tight.atol = 1e-14;
  tight.method = ode_method::adams;
  const double x0[] = {2, 0};
  auto reference = ode_solver::create(sys, x0, 0, tight);
  ASSERT_TRUE(reference) << reference.error().to_string();

  run_options o;
  o.stop_time = 8.0;
  o.step_size = 0.1;
  o.tolerance = 1e-9;
  run_result r = run(GetParam(), o);
  ASSERT_TRUE(r.s) << r.s.to_string();
  ASSERT_EQ(r.t.rows.size(), 81u);
  for (const auto& row : r.t.rows) {
    ASSERT_TRUE((*reference)->advance(row[0]));
    EXPECT_NEAR(row[r.t.column("x0")], (*reference)->state()[0], 1e-5) << "at t=" << row[0];
    EXPECT_NEAR(row[r.t.column("x1")], (*reference)->state()[1], 1e-5) << "at t=" << row[0];
  }
}

// The ticks are time events: the FMU refuses a time past the next one, so a driver that
// stepped over them would fail, and one that ignored them would never count.
TEST_P(me_vdp, TimeEventsFallOnTheirTimes) {
  for (const char* period : {"0.25", "0.3", "0.05"}) {
    run_options o;
    o.stop_time = 2.0;
    o.step_size = 0.1;
    o.sets = {{"period", period}};
    run_result r = run(GetParam(), o);
    ASSERT_TRUE(r.s) << r.s.to_string();
    ASSERT_EQ(r.t.rows.size(), 21u);
    const double p = std::stod(period);
    for (const auto& row : r.t.rows) {
      EXPECT_EQ(row[r.t.column("ticks")], std::floor(row[0] / p + 1e-9)) << "period " << p << " at t=" << row[0];
    }
  }
}

INSTANTIATE_TEST_SUITE_P(BothVersions, me_vdp, ::testing::Values("VanDerPolME2", "VanDerPolME3"));

// In this process, without isolation: the instance fmu::instantiate makes runs like a
// co-simulation one, and the low-level instance answers the model-exchange calls.
TEST(ModelExchange, TheDriverIsAnInstanceAndTheMeCallsWorkOneByOne) {
  auto f = fmu::open(fmu_path("BouncingBallME3"));
  ASSERT_TRUE(f) << f.error().to_string();
  EXPECT_EQ((*f)->kind(), fmu_kind::model_exchange);
  EXPECT_EQ((*f)->description().continuous_states, 2u);
  EXPECT_EQ((*f)->description().event_indicators, 1u);
  auto inst = (*f)->instantiate("ball");
  ASSERT_TRUE(inst) << inst.error().to_string();
  std::string csv;
  run_options o;
  o.stop_time = 0.5;
  o.step_size = 0.25;
  ASSERT_TRUE(run_cosimulation(**inst, (*f)->description(), o, [&](std::string_view l) { csv.append(l); }));
  table t = parse_csv(csv);
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_NEAR(t.rows[1][1], 1 - g * 0.25 * 0.25 / 2, 1e-7);
  EXPECT_EQ(t.rows[2][3], 1);  // the first impact at 0.4515

  auto me = (*f)->instantiate_model_exchange("low");
  ASSERT_TRUE(me) << me.error().to_string();
  me_instance& m = **me;
  ASSERT_TRUE(m.enter_initialization(0, std::nullopt, std::nullopt));
  ASSERT_TRUE(m.exit_initialization());
  discrete_update u;
  ASSERT_TRUE(m.update_discrete_states(u));
  EXPECT_FALSE(u.again);
  EXPECT_FALSE(u.next_event_time);
  ASSERT_TRUE(m.enter_continuous_time_mode());
  double x[2] = {0.5, -1}, dx[2] = {}, z[1] = {};
  ASSERT_TRUE(m.set_time(0.1));
  ASSERT_TRUE(m.set_continuous_states(x));
  ASSERT_TRUE(m.get_derivatives(dx));
  EXPECT_EQ(dx[0], -1);
  EXPECT_EQ(dx[1], -g);
  ASSERT_TRUE(m.get_event_indicators(z));
  EXPECT_EQ(z[0], 0.5);
  // A wrong size is the FMU's error, with its log.
  double three[3] = {};
  status s = m.get_derivatives(three);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("fmi3GetContinuousStateDerivatives returned Error"), std::string::npos) << s.message();
  EXPECT_TRUE(m.terminate());

  EXPECT_TRUE((*f)->instantiate_model_exchange("x"));
  auto cs = fmu::open(fmu_path("BouncingBall3"));
  ASSERT_TRUE(cs);
  EXPECT_EQ((*cs)->kind(), fmu_kind::co_simulation);
  EXPECT_FALSE((*cs)->instantiate_model_exchange("x"));
}

TEST(ModelExchange, TheKindIsChosenOrRefusedClearly) {
  auto me_only = parse_model_description(*read_model_description(fmu_path("VanDerPolME2")));
  auto cs_only = parse_model_description(*read_model_description(fmu_path("VanDerPol2")));
  ASSERT_TRUE(me_only && cs_only);
  EXPECT_EQ(*choose_kind(*me_only, fmu_kind::automatic), fmu_kind::model_exchange);
  EXPECT_EQ(*choose_kind(*cs_only, fmu_kind::automatic), fmu_kind::co_simulation);
  auto no = choose_kind(*me_only, fmu_kind::co_simulation);
  ASSERT_FALSE(no);
  EXPECT_NE(no.error().message().find("no co-simulation part"), std::string::npos);
  EXPECT_FALSE(choose_kind(*cs_only, fmu_kind::model_exchange));
  auto f = fmu::open(fmu_path("VanDerPolME2"), fmu_kind::co_simulation);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message().find("VanDerPolME2.fmu: the FMU has no co-simulation part"), std::string::npos)
      << f.error().message();
  run_options o;
  o.kind = fmu_kind::model_exchange;
  run_result r = run("VanDerPol2", o);
  ASSERT_FALSE(r.s);
  EXPECT_NE(r.s.message().find("no model-exchange part"), std::string::npos) << r.s.message();
}

int cli(std::vector<std::string> args, std::string& out, std::string& err) {
  std::vector<const char*> argv{"doppel"};
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream o, e;
  int code = app::run_cli(static_cast<int>(argv.size()), argv.data(), o, e);
  out = o.str();
  err = e.str();
  return code;
}

TEST(ModelExchangeCli, RunWritesTheCsvOfAnMeFmuAndInfoNamesTheKind) {
  testing::temp_dir tmp("doppel-me-cli");
  std::string out, err, csv = (tmp.path() / "out.csv").string();
  ASSERT_EQ(cli({"fmu", "run", fmu_path("BouncingBallME2"), "--output", csv, "--stop-time", "1", "--step-size", "0.5"},
                out, err),
            0)
      << err;
  std::ifstream f(csv);
  std::stringstream text;
  text << f.rdbuf();
  table t = parse_csv(text.str());
  EXPECT_EQ(text.str().substr(0, 17), "time,h,v,bounces\n") << text.str();
  ASSERT_EQ(t.rows.size(), 3u) << text.str();
  EXPECT_EQ(t.rows[0], (std::vector<double>{0, 1, 0, 0}));
  EXPECT_EQ(t.rows[1][0], 0.5);
  EXPECT_NEAR(t.rows[1][1], ball_height(0.5), 1e-6);
  EXPECT_EQ(t.rows[1][3], 1);
  EXPECT_EQ(t.rows[2][0], 1);
  EXPECT_NEAR(t.rows[2][1], ball_height(1), 1e-6);

  ASSERT_EQ(cli({"fmu", "run", fmu_path("VanDerPolME3"), "--kind", "me", "--stop-time", "0.2", "--step-size", "0.1",
                 "--tolerance", "1e-9", "--set", "mu=0"},
                out, err),
            0)
      << err;
  t = parse_csv(out);
  ASSERT_EQ(t.rows.size(), 3u) << out;
  EXPECT_NEAR(t.rows[2][1], 2 * std::cos(0.2), 1e-7);

  EXPECT_EQ(cli({"fmu", "run", fmu_path("VanDerPolME3"), "--kind", "cs"}, out, err), 1);
  EXPECT_NE(err.find("doppel fmu run: " + fmu_path("VanDerPolME3") + ": the FMU has no co-simulation part"),
            std::string::npos)
      << err;
  EXPECT_EQ(cli({"fmu", "run", fmu_path("VanDerPolME3"), "--tolerance", "2"}, out, err), 1);
  EXPECT_NE(err.find("--tolerance 2: a relative tolerance between 0 and 1"), std::string::npos) << err;
  EXPECT_EQ(cli({"fmu", "run", fmu_path("BouncingBallME3"), "--set", "crash_at=1"}, out, err), 1);
  EXPECT_NE(err.find("doppel fmu run: the FMU crashed with"), std::string::npos) << err;

  ASSERT_EQ(cli({"fmu", "info", fmu_path("BouncingBallME2")}, out, err), 0) << err;
  EXPECT_NE(out.find("kinds:        model exchange (BouncingBallME2; 2 continuous states, 1 event indicator)"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("co-simulation"), std::string::npos) << out;
}

}  // namespace
}  // namespace doppel::sim::fmi
