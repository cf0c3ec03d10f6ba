#include "sim/fmi/fmu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "app/cli.h"
#include "common/temp_dir.h"
#include "sim/fmi/cosim.h"
#include "sim/fmi/isolated.h"

// The test FMUs (tests/fmus), written in C and packaged as .fmu archives by the test build.
namespace doppel::sim::fmi {
namespace {

namespace fs = std::filesystem;

std::string fmu_path(const std::string& name) { return std::string(DOPPEL_TEST_FMU_DIR) + "/" + name + ".fmu"; }

// A run's CSV: the header's names and each row's cells.
struct table {
  std::vector<std::string> names;
  std::vector<std::vector<std::string>> rows;
  std::size_t column(const std::string& name) const {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) return i;
    }
    ADD_FAILURE() << "no column " << name;
    return 0;
  }
  double at(std::size_t row, const std::string& name) const { return std::stod(rows[row][column(name)]); }
};

table parse_csv(const std::string& text) {
  table t;
  std::istringstream in(text);
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    std::vector<std::string> cells(1);
    for (char c : line) {
      if (c == ',') {
        cells.emplace_back();
      } else {
        cells.back() += c;
      }
    }
    if (header) {
      t.names = cells;
      header = false;
    } else {
      t.rows.push_back(cells);
    }
  }
  return t;
}

struct run_result {
  status s;
  std::string csv;
};

run_result run(const std::string& name, run_options o = {},
               std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  run_result r;
  isolation limits;
  limits.timeout = timeout;
  r.s = run_isolated(fmu_path(name), o, limits, [&](std::string_view line) { r.csv.append(line); });
  return r;
}

// The bouncing ball exactly: falls from h0 at rest, bounces with restitution e.
double ball_height(double t, double h0, double g, double e) {
  double v_up = 0, t0 = std::sqrt(2 * h0 / g);  // first impact
  if (t <= t0) return h0 - g * t * t / 2;
  v_up = e * g * t0;
  for (;;) {
    double flight = 2 * v_up / g;
    if (t <= t0 + flight || flight < 1e-9) {
      double s = t - t0;
      return std::max(0.0, v_up * s - g * s * s / 2);
    }
    t0 += flight;
    v_up *= e;
  }
}

class fmus : public ::testing::TestWithParam<const char*> {};

TEST_P(fmus, TheBouncingBallMatchesTheAnalyticSolution) {
  const std::string name = GetParam();
  run_options o;
  o.stop_time = 2.0;
  o.step_size = 0.01;
  run_result r = run(name, o);
  ASSERT_TRUE(r.s) << r.s.to_string();
  table t = parse_csv(r.csv);
  ASSERT_EQ(t.names, (std::vector<std::string>{"time", "h", "v"}));
  ASSERT_EQ(t.rows.size(), 201u);  // 0, 0.01, ..., 2
  EXPECT_EQ(t.rows.front()[0], "0");
  EXPECT_EQ(t.rows.back()[0], "2");
  for (std::size_t k = 0; k < t.rows.size(); ++k) {
    double time = t.at(k, "time");
    EXPECT_NEAR(t.at(k, "h"), ball_height(time, 1.0, 9.81, 0.7), 1e-9) << "at t=" << time;
  }
  // The first impact at sqrt(2 h0 / g), then up with e * sqrt(2 g h0); the apex at e^2 h0.
  double t1 = std::sqrt(2 / 9.81), apex = 0;
  for (std::size_t k = 0; k < t.rows.size(); ++k) {
    if (t.at(k, "time") > t1 && t.at(k, "time") < t1 + 2 * 0.7 * std::sqrt(2 * 9.81) / 9.81) {
      apex = std::max(apex, t.at(k, "h"));
    }
  }
  EXPECT_NEAR(apex, 0.49, 1e-3);
}

TEST_P(fmus, ParametersSetBeforeInitializationTakeEffect) {
  run_options o;
  o.stop_time = 0.3;
  o.step_size = 0.1;
  o.sets = {{"g", "1"}};
  run_result r = run(GetParam(), o);
  ASSERT_TRUE(r.s) << r.s.to_string();
  table t = parse_csv(r.csv);
  ASSERT_EQ(t.rows.size(), 4u);
  EXPECT_NEAR(t.at(3, "h"), 1 - 0.3 * 0.3 / 2, 1e-12);
  EXPECT_NEAR(t.at(3, "v"), -0.3, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(BothVersions, fmus, ::testing::Values("BouncingBall2", "BouncingBall3"));

// Van der Pol, x0' = x1, x1' = mu (1 - x0^2) x1 - x0, against a fine RK4 reference.
TEST(Fmu, VanDerPolFollowsAFineReference) {
  auto reference = [](double until) {
    double x0 = 2, x1 = 0, h = 1e-5;
    auto f = [](double a, double b, double& da, double& db) {
      da = b;
      db = (1 - a * a) * b - a;
    };
    for (double t = 0; t < until - h / 2; t += h) {
      double k1a, k1b, k2a, k2b, k3a, k3b, k4a, k4b;
      f(x0, x1, k1a, k1b);
      f(x0 + h / 2 * k1a, x1 + h / 2 * k1b, k2a, k2b);
      f(x0 + h / 2 * k2a, x1 + h / 2 * k2b, k3a, k3b);
      f(x0 + h * k3a, x1 + h * k3b, k4a, k4b);
      x0 += h / 6 * (k1a + 2 * k2a + 2 * k3a + k4a);
      x1 += h / 6 * (k1b + 2 * k2b + 2 * k3b + k4b);
    }
    return std::pair{x0, x1};
  };
  auto [x0, x1] = reference(5.0);
  for (const char* name : {"VanDerPol2", "VanDerPol3"}) {
    run_options o;
    o.stop_time = 5.0;
    o.step_size = 0.1;
    run_result r = run(name, o);
    ASSERT_TRUE(r.s) << name << ": " << r.s.to_string();
    table t = parse_csv(r.csv);
    ASSERT_EQ(t.rows.size(), 51u) << name;
    EXPECT_NEAR(t.at(50, "x0"), x0, 1e-6) << name;
    EXPECT_NEAR(t.at(50, "x1"), x1, 1e-6) << name;
  }
}

// x1' = -x1, x2' = -k (x2 - x1): x1 = e^-t, x2 = k/(k-1) (e^-t - e^-kt), with k = 1000.
TEST(Fmu, TheStiffSystemMatchesItsClosedForm) {
  run_options o;
  o.stop_time = 1.0;
  o.step_size = 0.05;
  run_result r = run("StiffLinear2", o);
  ASSERT_TRUE(r.s) << r.s.to_string();
  table t = parse_csv(r.csv);
  ASSERT_EQ(t.rows.size(), 21u);
  const double k = 1000;
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    double time = t.at(i, "time");
    EXPECT_NEAR(t.at(i, "x1"), std::exp(-time), 1e-9) << time;
    EXPECT_NEAR(t.at(i, "x2"), k / (k - 1) * (std::exp(-time) - std::exp(-k * time)), 1e-9) << time;
  }
}

TEST(Fmu, InputsFromATableAreHeldBetweenRows) {
  auto md = parse_model_description(*read_model_description(fmu_path("Pump2")));
  ASSERT_TRUE(md) << md.error().to_string();
  auto inputs = parse_input_csv(*md, "time,speed\n0,0\n1,1000\n2,500\n", "in.csv");
  ASSERT_TRUE(inputs) << inputs.error().to_string();
  run_options o;
  o.stop_time = 3.0;
  o.step_size = 0.5;
  o.inputs = &*inputs;
  run_result r = run("Pump2", o);
  ASSERT_TRUE(r.s) << r.s.to_string();
  table t = parse_csv(r.csv);
  ASSERT_EQ(t.rows.size(), 7u);
  // flow = 0.01 * speed (m3/h); volume integrates it over hours.
  EXPECT_DOUBLE_EQ(t.at(1, "flow"), 0);   // t = 0.5
  EXPECT_DOUBLE_EQ(t.at(2, "flow"), 10);  // t = 1: the second row applies from here
  EXPECT_DOUBLE_EQ(t.at(4, "flow"), 5);   // t = 2
  EXPECT_NEAR(t.at(6, "volume"), (10 * 1 + 5 * 1) / 3600.0, 1e-12);
}

TEST(Fmu, InputTablesWithMistakesAreRefusedWithLineAndColumn) {
  auto md = parse_model_description(*read_model_description(fmu_path("Pump2")));
  ASSERT_TRUE(md);
  struct bad {
    const char* csv;
    const char* expected;
  };
  for (const bad& b : std::vector<bad>{
           {"speed\n0\n", "in.csv:1: column 1: the first column must be \"time\""},
           {"time,sped\n0,1\n", "in.csv:1: column 2: the FMU has no variable \"sped\""},
           {"time,flow\n0,1\n", "in.csv:1: column 2: flow is output; only inputs and parameters can be set"},
           {"time,speed\n0,fast\n", "in.csv:2: column 2: speed: \"fast\" is not a number"},
           {"time,speed\n1,1\n0,1\n", "in.csv:3: column 1: the time goes back"},
           {"time,speed\n0\n", "in.csv:2: column 1: the row has 1 cells, the header 2"},
       }) {
    auto t = parse_input_csv(*md, b.csv, "in.csv");
    ASSERT_FALSE(t) << b.csv;
    EXPECT_NE(t.error().message().find(b.expected), std::string::npos) << t.error().message();
  }
}

TEST(Fmu, EveryFmi2TypeRoundTrips) {
  run_options o;
  o.stop_time = 0.1;
  o.step_size = 0.1;
  o.sets = {{"real_in", "-1.25"},
            {"int_in", "-7"},
            {"bool_in", "false"},
            {"string_in", "a, \"quoted\" text"},
            {"enum_in", "3"}};
  run_result r = run("AllTypes2", o);
  ASSERT_TRUE(r.s) << r.s.to_string();
  EXPECT_EQ(r.csv.substr(0, r.csv.find('\n')), "time,real_out,int_out,bool_out,string_out,enum_out");
  EXPECT_NE(r.csv.find("\n0.1,-1.25,-7,false,\"a, \"\"quoted\"\" text\",3\n"), std::string::npos) << r.csv;
}

TEST(Fmu, EveryFmi3TypeRoundTripsWithTheExtremes) {
  run_options o;
  o.stop_time = 0.1;
  o.step_size = 0.1;
  o.sets = {{"float32_in", "0.1"},
            {"float64_in", "1e-300"},
            {"int8_in", "-128"},
            {"uint8_in", "255"},
            {"int16_in", "-32768"},
            {"uint16_in", "65535"},
            {"int32_in", "-2147483648"},
            {"uint32_in", "4294967295"},
            {"int64_in", "-9223372036854775808"},
            {"uint64_in", "18446744073709551615"},
            {"bool_in", "true"},
            {"string_in", "caf\xc3\xa9"},
            {"binary_in", "00ff10"},
            {"enum_in", "2"},
            {"array_in", "4 5.5 -6"}};
  run_result r = run("AllTypes3", o);
  ASSERT_TRUE(r.s) << r.s.to_string();
  table t = parse_csv(r.csv);
  ASSERT_EQ(t.rows.size(), 2u) << r.csv;
  std::map<std::string, std::string> expected = {{"float32_out", "0.1"},
                                                 {"float64_out", "1e-300"},
                                                 {"int8_out", "-128"},
                                                 {"uint8_out", "255"},
                                                 {"int16_out", "-32768"},
                                                 {"uint16_out", "65535"},
                                                 {"int32_out", "-2147483648"},
                                                 {"uint32_out", "4294967295"},
                                                 {"int64_out", "-9223372036854775808"},
                                                 {"uint64_out", "18446744073709551615"},
                                                 {"bool_out", "true"},
                                                 {"string_out", "caf\xc3\xa9"},
                                                 {"binary_out", "00ff10"},
                                                 {"enum_out", "2"},
                                                 {"array_out", "4 5.5 -6"}};
  for (const auto& [name, value] : expected) EXPECT_EQ(t.rows[1][t.column(name)], value) << name;
}

TEST(Fmu, AnErrorTheFmuReportsStopsTheRunWithItsLog) {
  run_options o;
  o.stop_time = 1.0;
  o.step_size = 0.1;
  run_result r = run("Error2", o);
  ASSERT_FALSE(r.s);
  EXPECT_EQ(r.s.code(), status_code::failed_precondition);
  EXPECT_NE(r.s.message().find("fmi2DoStep at t="), std::string::npos) << r.s.message();
  EXPECT_NE(r.s.message().find("returned Error"), std::string::npos) << r.s.message();
  EXPECT_NE(r.s.message().find("simulated failure"), std::string::npos) << r.s.message();
  EXPECT_GE(parse_csv(r.csv).rows.size(), 5u);  // what came before the error was written
}

TEST(Fmu, ACrashingFmuDoesNotTakeTheCallerDown) {
  run_options o;
  o.stop_time = 1.0;
  o.step_size = 0.1;
  run_result r = run("Crash2", o);
  ASSERT_FALSE(r.s);
  EXPECT_NE(r.s.message().find("the FMU crashed "), std::string::npos) << r.s.message();
  EXPECT_NE(r.s.message().find("after t=0."), std::string::npos) << r.s.message();
  // And the caller goes on: the next run works.
  EXPECT_TRUE(run("BouncingBall2").s);
}

TEST(Fmu, AHangingFmuIsStoppedAfterTheTimeout) {
  run_options o;
  o.stop_time = 1.0;
  o.step_size = 0.1;
  auto t0 = std::chrono::steady_clock::now();
  run_result r = run("Hang2", o, std::chrono::milliseconds(500));
  ASSERT_FALSE(r.s);
  EXPECT_NE(r.s.message().find("did not finish a step within 500 ms after t=0."), std::string::npos) << r.s.message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
}

TEST(Fmu, TwoInstancesOfOneFmuKeepTheirOwnState) {
  auto f = fmu::open(fmu_path("BouncingBall2"));
  ASSERT_TRUE(f) << f.error().to_string();
  auto a = (*f)->instantiate("a");
  auto b = (*f)->instantiate("b");
  ASSERT_TRUE(a && b);
  const model_description& md = (*f)->description();
  std::vector<scalar> one{1.0};
  ASSERT_TRUE((*b)->set(*md.find("g"), one));  // before initialization, as a parameter
  ASSERT_TRUE((*a)->enter_initialization(0, 1.0, std::nullopt));
  ASSERT_TRUE((*b)->enter_initialization(0, 1.0, std::nullopt));
  ASSERT_TRUE((*a)->exit_initialization());
  ASSERT_TRUE((*b)->exit_initialization());
  bool stop = false;
  ASSERT_TRUE((*a)->step(0, 0.1, stop));
  ASSERT_TRUE((*b)->step(0, 0.1, stop));
  ASSERT_TRUE((*a)->step(0.1, 0.1, stop));  // a one step further than b
  std::vector<scalar> ha, hb;
  ASSERT_TRUE((*a)->get(*md.find("h"), ha));
  ASSERT_TRUE((*b)->get(*md.find("h"), hb));
  EXPECT_NEAR(std::get<double>(ha[0]), 1 - 9.81 * 0.04 / 2, 1e-12);
  EXPECT_NEAR(std::get<double>(hb[0]), 1 - 1.0 * 0.01 / 2, 1e-12);
  // An instance keeps its FMU (description, unpacked folder, binary) alive past the caller's handle.
  f->reset();
  ASSERT_TRUE((*a)->step(0.2, 0.1, stop));
  ASSERT_TRUE((*a)->get(*md.find("h"), ha));
  EXPECT_NEAR(std::get<double>(ha[0]), 1 - 9.81 * 0.09 / 2, 1e-12);
}

TEST(Fmu, FilesThatAreNotFmusAreRefusedClearly) {
  testing::temp_dir tmp("doppel-fmu-test");
  const fs::path& dir = tmp.path();
  std::ofstream(dir / "text.fmu") << "not a zip";
  auto f = fmu::open(dir / "text.fmu");
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message().find("not an FMU archive"), std::string::npos) << f.error().message();
  auto missing = fmu::open(dir / "missing.fmu");
  ASSERT_FALSE(missing);
}

// ---------------------------------------------------------------- the CLI

int cli(std::vector<std::string> args, std::string& out, std::string& err) {
  std::vector<const char*> argv{"doppel"};
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream o, e;
  int code = app::run_cli(static_cast<int>(argv.size()), argv.data(), o, e);
  out = o.str();
  err = e.str();
  return code;
}

TEST(FmuCli, InfoPrintsVersionKindsExperimentAndVariables) {
  std::string out, err;
  ASSERT_EQ(cli({"fmu", "info", fmu_path("BouncingBall3")}, out, err), 0) << err;
  EXPECT_NE(out.find("FMI version:  3.0"), std::string::npos) << out;
  EXPECT_NE(out.find("co-simulation (BouncingBall3)"), std::string::npos) << out;
  EXPECT_NE(out.find("experiment:   start 0"), std::string::npos) << out;
  EXPECT_NE(out.find(" h "), std::string::npos) << out;
  EXPECT_NE(out.find("output"), std::string::npos) << out;
  EXPECT_NE(out.find("Float64"), std::string::npos) << out;
  EXPECT_EQ(cli({"fmu", "info", "/nonexistent.fmu"}, out, err), 1);
  EXPECT_NE(err.find("doppel fmu info: /nonexistent.fmu: not an FMU archive"), std::string::npos) << err;
}

TEST(FmuCli, RunWritesCsvAndFailsWithExitOneAndAMessage) {
  testing::temp_dir tmp("doppel-fmu-cli");
  const fs::path& dir = tmp.path();
  std::string out, err;
  std::string csv = (dir / "out.csv").string();
  ASSERT_EQ(cli({"fmu", "run", fmu_path("BouncingBall2"), "--output", csv, "--stop-time", "1", "--step-size", "0.5"},
                out, err),
            0)
      << err;
  std::ifstream f(csv);
  std::stringstream text;
  text << f.rdbuf();
  table t = parse_csv(text.str());
  ASSERT_EQ(t.rows.size(), 3u) << text.str();
  EXPECT_EQ(t.names, (std::vector<std::string>{"time", "h", "v"}));
  // Without --output the CSV goes to standard output.
  ASSERT_EQ(cli({"fmu", "run", fmu_path("BouncingBall2"), "--stop-time", "0.1", "--step-size", "0.1"}, out, err), 0);
  EXPECT_EQ(out.substr(0, 9), "time,h,v\n");
  EXPECT_EQ(cli({"fmu", "run", fmu_path("Crash2"), "--stop-time", "1", "--step-size", "0.1"}, out, err), 1);
  EXPECT_NE(err.find("doppel fmu run: the FMU crashed "), std::string::npos) << err;
  EXPECT_EQ(cli({"fmu", "run", fmu_path("BouncingBall2"), "--set", "nope=1"}, out, err), 1);
  EXPECT_NE(err.find("--set nope: the FMU has no variable \"nope\""), std::string::npos) << err;
  EXPECT_EQ(cli({"fmu", "run", fmu_path("BouncingBall2"), "--stop-time", "-1"}, out, err), 1);
  EXPECT_NE(err.find("before the start time"), std::string::npos) << err;
}

}  // namespace
}  // namespace doppel::sim::fmi
