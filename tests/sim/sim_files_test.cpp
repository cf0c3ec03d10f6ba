#include "app/sim_files.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/cli.h"
#include "common/temp_dir.h"

// Equation model files, scenario files and `doppel sim run` (src/app/sim_files.h).
namespace doppel::app {
namespace {

namespace fs = std::filesystem;

class sim_files : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(dir_ / "sim"); }
  fs::path write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p;
  }
  int cli(std::vector<std::string> args, std::string& out, std::string& err) {
    std::vector<const char*> argv{"doppel"};
    for (const auto& a : args) argv.push_back(a.c_str());
    std::ostringstream o, e;
    int code = run_cli(static_cast<int>(argv.size()), argv.data(), o, e);
    out = o.str();
    err = e.str();
    return code;
  }
  testing::temp_dir tmp_{"doppel-sim-files"};
  const fs::path& dir_ = tmp_.path();
};

// A tank filled by an input and drained through an orifice; steady state level = (inflow / c)^2.
constexpr const char* k_tank = R"yaml(description: a tank with an orifice
parameters:
  area: {value: 2, unit: m2}
  c: 0.5
inputs:
  inflow: {start: 0, unit: m3/s}
states:
  level: {start: 1, derivative: "(inflow - c * sqrt(max(level, 0))) / area", unit: m}
outputs:
  outflow: {expr: "c * sqrt(max(level, 0))", unit: m3/s}
  volume: area * level
events:
  - when: level - 5
    direction: rising
    set: {level: 5}
solver: {method: bdf, rtol: 1e-8, atol: 1e-10}
)yaml";

TEST_F(sim_files, AnEquationModelFileLoadsInOrder) {
  auto spec = load_equation_model(write("sim/tank.yaml", k_tank));
  ASSERT_TRUE(spec) << spec.error().to_string();
  EXPECT_EQ(spec->name, "tank");
  ASSERT_EQ(spec->parameters.size(), 2u);
  EXPECT_EQ(spec->parameters[0].name, "area");
  EXPECT_EQ(spec->parameters[0].unit, "m2");
  EXPECT_EQ(spec->parameters[1].value, 0.5);
  ASSERT_EQ(spec->outputs.size(), 2u);
  EXPECT_EQ(spec->outputs[1].expr, "area * level");
  ASSERT_EQ(spec->events.size(), 1u);
  EXPECT_EQ(spec->events[0].direction, 1);
  EXPECT_EQ(spec->solver.rtol, 1e-8);
}

TEST_F(sim_files, MistakesInFilesSayFileLineAndColumn) {
  struct bad {
    std::string text, expected;
  };
  std::vector<bad> cases = {
      {"states: {x: {derivative: 1}}\nsolvr: {}\n", "m.yaml:2:1: unknown key \"solvr\" in an equation model"},
      {"states: {x: {derivative: -y}}\n", "m.yaml: states.x.derivative: column 2: unknown name \"y\""},
      {"states: {x: {start: 1}}\n", "m.yaml:1:13: states.x needs a derivative"},
      {"parameters: {k: fast}\nstates: {x: {derivative: -k}}\n", "m.yaml:1:17: parameters.k must be a number"},
      {"states: [x]\n", "m.yaml:1:9: states must be a mapping"},
      {"states: {x: {derivative: 1}}\nevents: [{when: x, direction: up}]\n",
       "m.yaml:2:31: events[0].direction must be rising, falling or both"},
      {"states: {x: {derivative: 1}}\nsolver: {method: rk4}\n", "solver.method must be bdf"},
      {"states: {x: {derivative: 1}\n", "m.yaml:2:1: not valid YAML"},
  };
  for (const bad& b : cases) {
    auto spec = load_equation_model(write("m.yaml", b.text));
    ASSERT_FALSE(spec) << b.text;
    EXPECT_NE(spec.error().message().find(b.expected), std::string::npos)
        << "expected: " << b.expected << "\ngot: " << spec.error().message();
  }
}

TEST_F(sim_files, SimRunFollowsTheScheduleAndWritesCsv) {
  write("sim/tank.yaml", k_tank);
  fs::path scenario = write("fill.yaml", R"(model: tank
start: 0
stop: 400
step: 100
parameters: {area: 2}
schedule:
  - {time: 0, inflow: 1}
  - {time: 200, inflow: 0.5}
output: fill.csv
)");
  std::string out, err;
  ASSERT_EQ(cli({"sim", "run", dir_.string(), "--scenario", scenario.string()}, out, err), 0) << err;
  std::ifstream f(dir_ / "fill.csv");
  std::vector<std::string> lines;
  for (std::string l; std::getline(f, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 6u);  // header and t = 0, 100, 200, 300, 400
  EXPECT_EQ(lines[0], "time,level,outflow,volume");
  EXPECT_EQ(lines[1], "0,1,0.5,2");
  // With inflow 1 the level rises toward 4; with 0.5 from t = 200 it falls toward 1.
  auto level = [&](int row) {
    return std::stod(lines[static_cast<std::size_t>(row)].substr(lines[row].find(',') + 1));
  };
  EXPECT_GT(level(2), 3.0);
  EXPECT_LT(level(3), 4.0);
  EXPECT_LT(level(5), level(3));
  EXPECT_GT(level(5), 1.0);
  EXPECT_TRUE(out.empty());
}

TEST_F(sim_files, SimRunRefusesMistakesWithAMessage) {
  write("sim/tank.yaml", k_tank);
  std::string out, err;
  fs::path s1 = write("s1.yaml", "model: pond\nstop: 10\n");
  EXPECT_EQ(cli({"sim", "run", dir_.string(), "--scenario", s1.string()}, out, err), 1);
  EXPECT_NE(err.find("model pond: there is no"), std::string::npos) << err;
  fs::path s2 = write("s2.yaml", "model: tank\nstop: 10\nschedule: [{time: 1, outflow: 2}]\n");
  EXPECT_EQ(cli({"sim", "run", dir_.string(), "--scenario", s2.string()}, out, err), 1);
  EXPECT_NE(err.find("schedule at t=1"), std::string::npos) << err;
  EXPECT_NE(err.find("no input or parameter \"outflow\""), std::string::npos) << err;
  fs::path s3 = write("s3.yaml", "model: tank\nstop: 10\nparamters: {}\n");
  EXPECT_EQ(cli({"sim", "run", dir_.string(), "--scenario", s3.string()}, out, err), 1);
  EXPECT_NE(err.find("s3.yaml:3:1: unknown key \"paramters\" in a scenario"), std::string::npos) << err;
  fs::path s4 = write("s4.yaml", "model: tank\nstop: 10\nschedule: [{time: 5, inflow: 1}, {time: 2, inflow: 0}]\n");
  EXPECT_EQ(cli({"sim", "run", dir_.string(), "--scenario", s4.string()}, out, err), 1);
  EXPECT_NE(err.find("the schedule goes back in time"), std::string::npos) << err;
  // Without output: the CSV on standard output.
  fs::path s5 = write("s5.yaml", "model: tank\nstop: 1\nstep: 1\n");
  EXPECT_EQ(cli({"sim", "run", dir_.string(), "--scenario", s5.string()}, out, err), 0) << err;
  EXPECT_EQ(out.substr(0, 26), "time,level,outflow,volume\n");
}

TEST_F(sim_files, ValidateChecksTheEquationModelsOfAProject) {
  const fs::path example = fs::path(DOPPEL_SOURCE_DIR) / "examples" / "pump-station";
  fs::path project = dir_ / "project";
  fs::copy(example, project, fs::copy_options::recursive);
  std::string out, err;
  ASSERT_EQ(cli({"validate", project.string()}, out, err), 0) << out << err;
  EXPECT_NE(out.find("ok: 2 equation model(s) in sim/ are valid"), std::string::npos) << out;
  std::ofstream(project / "sim" / "bad.yaml") << "states:\n  x: {derivative: -y}\n";
  EXPECT_EQ(cli({"validate", project.string()}, out, err), 1);
  EXPECT_NE(out.find("sim/bad.yaml: error: states.x.derivative: column 2: unknown name \"y\""), std::string::npos)
      << out;
  std::ofstream(project / "sim" / "bad.yaml") << "states:\n  x: {derivativ: 1}\n";
  EXPECT_EQ(cli({"validate", project.string()}, out, err), 1);
  EXPECT_NE(out.find("sim/bad.yaml:2:7: error: unknown key \"derivativ\" in states.x"), std::string::npos) << out;
}

// The pump station's pump physics (examples/pump-station/sim/pump.yaml) with its start-up
// scenario: the operating point where the pump curve meets the system curve, and temperatures
// settling at ambient + loss x thermal resistance.
TEST_F(sim_files, ThePumpStationsStartUpScenarioSettlesWhereThePhysicsSays) {
  const std::string example = std::string(DOPPEL_SOURCE_DIR) + "/examples/pump-station";
  std::string out, err;
  ASSERT_EQ(cli({"sim", "run", example, "--scenario", example + "/scenarios/pump-startup.yaml"}, out, err), 0) << err;
  std::istringstream in(out);
  std::string header, line, last;
  std::getline(in, header);
  std::size_t rows = 0;
  while (std::getline(in, line)) {
    last = line;
    ++rows;
  }
  EXPECT_EQ(rows, 61u);  // 0, 60, ..., 3600
  std::vector<std::string> names, cells;
  for (auto* list : {&names, &cells}) {
    std::istringstream fields(list == &names ? header : last);
    for (std::string f; std::getline(fields, f, ',');) list->push_back(f);
  }
  ASSERT_EQ(names.size(), cells.size());
  auto at = [&](const std::string& name) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) return std::stod(cells[i]);
    }
    ADD_FAILURE() << "no column " << name;
    return 0.0;
  };
  // At rated speed: H0 - (H0 / Qmax^2) Q^2 = static_lift + k_pipe Q^2.
  EXPECT_NEAR(at("flow"), std::sqrt((32.0 - 12.0) / (32.0 / (120.0 * 120.0) + 0.0012)), 1e-9);
  EXPECT_NEAR(at("head"), 12 + 0.0012 * at("flow") * at("flow"), 1e-9);
  // Ambient 35 degC from t = 1800; the winding's time constant is 240 s, the bearing's 400 s.
  EXPECT_NEAR(at("winding_temp"), 35 + at("motor_loss") * 0.012, 0.01);
  EXPECT_NEAR(at("bearing_temp"), 35 + 150 * 0.05, 0.2);
}

// The reservoir (examples/pump-station/sim/tank.yaml): it fills at 100 m3/h net into 40 m2 (2.5 m
// an hour) until the overflow holds it at 6 m, then drains at 100 m3/h until it is empty, and
// stays there.
TEST_F(sim_files, TheTankFillsToItsOverflowAndDrainsToEmpty) {
  const std::string example = std::string(DOPPEL_SOURCE_DIR) + "/examples/pump-station";
  fs::path scenario = write("tank.yaml", R"(model: tank
stop: 36000
step: 3600
schedule:
  - {time: 0, inflow: 150, demand: 50}
  - {time: 18000, inflow: 0, demand: 100}
)");
  std::string out, err;
  ASSERT_EQ(cli({"sim", "run", example, "--scenario", scenario.string()}, out, err), 0) << err;
  std::vector<double> level;
  std::istringstream in(out);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "time,level,volume,fill");
  while (std::getline(in, line)) level.push_back(std::stod(line.substr(line.find(',') + 1)));
  ASSERT_EQ(level.size(), 11u);
  EXPECT_NEAR(level[1], 3 + 2.5, 1e-9);
  for (int h = 2; h <= 5; ++h) EXPECT_NEAR(level[static_cast<std::size_t>(h)], 6.0, 1e-9) << h;
  EXPECT_NEAR(level[6], 6 - 2.5, 1e-9);
  EXPECT_NEAR(level[7], 1.0, 1e-9);
  for (int h = 8; h <= 10; ++h) EXPECT_NEAR(level[static_cast<std::size_t>(h)], 0.0, 1e-9) << h;
}

// The measurements of `doppel sim fit` (parse_fit_csv): inputs held over empty cells, measured
// values missing in them, only the --measured columns when given.
TEST_F(sim_files, AFitCsvHoldsInputsAndMarksMissingMeasurements) {
  auto spec = parse_equation_model(k_tank, "tank.yaml");
  ASSERT_TRUE(spec);
  auto model = sim::equation_model::compile(*spec);
  ASSERT_TRUE(model);
  const std::string csv = "\xEF\xBB\xBFtime, \"inflow\" ,level,outflow\r\n0,1,1,\r\n10,,1.5,0.6\r\n\r\n20,2,,0.7\r\n";
  auto d = parse_fit_csv(**model, csv, "m.csv");
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(d->inputs, std::vector<std::string>{"inflow"});
  EXPECT_EQ(d->measured, (std::vector<std::string>{"level", "outflow"}));
  EXPECT_EQ(d->time, (std::vector<double>{0, 10, 20}));
  EXPECT_EQ(d->u, (std::vector<double>{1, 1, 2}));  // held over the empty cell
  ASSERT_EQ(d->y.size(), 6u);
  EXPECT_EQ(d->y[0], 1);
  EXPECT_TRUE(std::isnan(d->y[1]));
  EXPECT_EQ(d->y[3], 0.6);
  EXPECT_TRUE(std::isnan(d->y[4]));
  auto only = parse_fit_csv(**model, csv, "m.csv", {"outflow"});
  ASSERT_TRUE(only);
  EXPECT_EQ(only->measured, std::vector<std::string>{"outflow"});
  EXPECT_EQ(only->y.size(), 3u);
  // Before its first value an input holds its start from the model.
  auto late = parse_fit_csv(**model, "time,inflow,level\n0,,1\n5,3,2\n", "m.csv");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->u, (std::vector<double>{0, 3}));

  struct bad {
    std::string csv, expected;
    std::vector<std::string> measured = {};
  };
  std::vector<bad> cases = {
      {"level,time\n", "m.csv:1: column 1: the first column must be \"time\""},
      {"time,levl\n0,1\n", "m.csv:1: column 2: \"levl\" is not an input, state or output of tank; they are: inflow,"},
      {"time,c,level\n0,1,1\n",
       "m.csv:1: column 2: c is a parameter of tank, not a column: give its value with --set c=VALUE"},
      {"time,level,level\n", "m.csv:1: column 3: \"level\" appears twice"},
      {"time,inflow\n0,1\n", "m.csv: no column is measured"},
      {"time,level\n", "m.csv: there are no rows after the header"},
      {"time,level\n0,1\n1,2,3\n", "m.csv:3: column 1: the row has 3 cells, the header 2"},
      {"time,level\n0,1\nsoon,2\n", "m.csv:3: column 1: \"soon\" is not a time in seconds"},
      {"time,level\n5,1\n4,2\n", "m.csv:3: column 1: the time goes back"},
      {"time,inflow,level\n0,1,1\n1,2,1e999\n", "m.csv:3: column 3: level: \"1e999\" is not a number"},
      {"time,level\n0,1\n", "m.csv: no column is named outflow", {"outflow"}},
  };
  for (const auto& c : cases) {
    auto r = parse_fit_csv(**model, c.csv, "m.csv", c.measured);
    ASSERT_FALSE(r) << c.csv;
    EXPECT_EQ(r.error().code(), status_code::invalid_argument);
    EXPECT_NE(r.error().message().find(c.expected), std::string::npos) << r.error().message();
  }
}

// `doppel sim fit` on the example pump: measurements made by `doppel sim run` with the model's
// own parameters, a fit from wrong ones back to them.
TEST_F(sim_files, SimFitRecoversThePumpsParametersFromACsvOfASimRun) {
  const std::string example = std::string(DOPPEL_SOURCE_DIR) + "/examples/pump-station";
  fs::path scenario = write("run.yaml", R"(model: pump
stop: 5400
step: 60
schedule:
  - {time: 0, speed: 1000}
  - {time: 600, speed: 1450}
  - {time: 1800, ambient: 35}
  - {time: 3000, speed: 1200}
)");
  std::string out, err;
  ASSERT_EQ(cli({"sim", "run", example, "--scenario", scenario.string()}, out, err), 0) << err;
  // time,winding_temp,bearing_temp,... -> time,speed,ambient,winding_temp,bearing_temp, with the
  // inputs given only where they change and one bearing temperature missing.
  std::istringstream in(out);
  std::string line, csv = "time,speed,ambient,winding_temp,bearing_temp\n";
  std::getline(in, line);
  int row = 0;
  while (std::getline(in, line)) {
    std::istringstream cells(line);
    std::string t, winding, bearing;
    std::getline(cells, t, ',');
    std::getline(cells, winding, ',');
    std::getline(cells, bearing, ',');
    const double time = std::stod(t);
    std::string speed = time == 0 ? "1000" : time == 600 ? "1450" : time == 3000 ? "1200" : "";
    std::string ambient = time == 0 ? "25" : time == 1800 ? "35" : "";
    if (++row == 20) bearing.clear();
    csv += t + "," + speed + "," + ambient + "," + winding + "," + bearing + "\n";
  }
  fs::path data = write("pump.csv", csv);
  ASSERT_EQ(cli({"sim", "fit", example, "--model", "pump", "--data", data.string(), "--tune",
                 "R_winding,friction_rated", "--set", "R_winding=0.018", "--set", "friction_rated=100"},
                out, err),
            0)
      << err;
  // "R_winding         0.018 -> 0.0120001"
  auto fitted = [&](const std::string& name) {
    std::istringstream lines(out);
    std::string l;
    while (std::getline(lines, l)) {
      if (l.rfind(name + " ", 0) == 0) return std::stod(l.substr(l.find("->") + 2));
    }
    ADD_FAILURE() << name << " not in " << out;
    return 0.0;
  };
  EXPECT_NEAR(fitted("R_winding"), 0.012, 0.012 * 1e-3) << out;
  EXPECT_NEAR(fitted("friction_rated"), 150, 150 * 1e-3) << out;
  EXPECT_LT(fitted("rms winding_temp"), 1e-3) << out;
  EXPECT_LT(fitted("rms bearing_temp"), 1e-3) << out;
  EXPECT_NE(out.find("R_winding         0.018 -> "), std::string::npos) << out;
  EXPECT_NE(out.find(", converged ("), std::string::npos) << out;

  // Mistakes: exit 1 with a message; CSV mistakes name the file and line.
  fs::path bad = write("bad.csv", "time,speed,winding_temp\n0,1000,25\n60,fast,26\n");
  EXPECT_EQ(cli({"sim", "fit", example, "--model", "pump", "--data", bad.string(), "--tune", "R_winding"}, out, err),
            1);
  EXPECT_NE(err.find("bad.csv:3: column 2: speed: \"fast\" is not a number"), std::string::npos) << err;
  EXPECT_EQ(cli({"sim", "fit", example, "--model", "pump", "--data", data.string(), "--tune", "speed"}, out, err), 1);
  EXPECT_NE(err.find("doppel sim fit: cannot tune \"speed\": it is an input"), std::string::npos) << err;
  EXPECT_EQ(cli({"sim", "fit", example, "--model", "pumq", "--data", data.string(), "--tune", "R_winding"}, out, err),
            1);
  EXPECT_NE(err.find("model pumq: there is no"), std::string::npos) << err;
  EXPECT_EQ(cli({"sim", "fit", example, "--model", "pump", "--data", data.string(), "--tune", "R_winding", "--set",
                 "R_winding"},
                out, err),
            1);
  EXPECT_NE(err.find("--set R_winding: write NAME=VALUE"), std::string::npos) << err;
  EXPECT_EQ(
      cli({"sim", "fit", example, "--model", "pump", "--data", (dir_ / "none.csv").string(), "--tune", "R_winding"},
          out, err),
      1);
  EXPECT_NE(err.find("none.csv: cannot read it"), std::string::npos) << err;
}

}  // namespace
}  // namespace doppel::app
