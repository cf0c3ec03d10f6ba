#include "sim/system.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "app/cli.h"
#include "app/sim_files.h"
#include "common/temp_dir.h"
#include "sim/fmu_csv_table.h"

// Systems of FMUs and equation models under the master algorithm, against known results.
namespace doppel::sim {
namespace {

namespace fs = std::filesystem;

using doppel::testing::fmu_path;
using doppel::testing::parse_csv;
using doppel::testing::table;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
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

constexpr const char* k_tank = R"(# A tank filled by an inflow (m3/h) and emptied by an outflow (m3/h).
parameters:
  area: 2
inputs:
  inflow: 0
  outflow: 0
states:
  level: {start: 1, derivative: "(inflow - outflow) / 3600 / area"}
outputs:
  volume: area * level
)";

// The Pump2 FMU (flow = 0.01 speed m3/h) fills the tank model at 10 m3/h while 4 m3/h leave:
// the level rises by 6 / 3600 / 2 m per second from 1 m; the pump's own volume is 10 t / 3600.
// A model-exchange ball rides along, unconnected, and comes to rest after its 24 impacts.
TEST(System, APumpFmuFillsATankModelAsTheFormulaSays) {
  testing::temp_dir tmp("doppel-system");
  const fs::path dir = tmp.path();
  write(dir / "sim" / "tank.yaml", k_tank);
  for (const char* algorithm : {"gauss-seidel", "jacobi"}) {
    write(dir / "sim" / "systems" / "filling.yaml", std::string(R"(description: a pump filling a tank
start: 0
stop: 3600
step: 60
algorithm: )") + algorithm + R"(
components:
  pump: {fmu: )" + fmu_path("Pump2") + R"(, step: 10, parameters: {speed: 1000}}
  tank: {model: tank, parameters: {outflow: 4}}
  ball: {fmu: )" + fmu_path("BouncingBallME2") + R"(, kind: me}
connections:
  - pump.flow -> tank.inflow
)");
    std::string out, err;
    ASSERT_EQ(cli({"sim", "system", dir.string(), "--system", "filling"}, out, err), 0) << err;
    table t = parse_csv(out);
    ASSERT_EQ(t.names, (std::vector<std::string>{"time", "pump.flow", "pump.volume", "tank.level", "tank.volume",
                                                 "ball.h", "ball.v", "ball.bounces"}))
        << out;
    ASSERT_EQ(t.rows.size(), 61u);
    for (const auto& row : t.rows) {
      const double time = row[0];
      EXPECT_NEAR(row[t.column("pump.flow")], 10, 1e-12) << algorithm << " t=" << time;
      EXPECT_NEAR(row[t.column("pump.volume")], 10 * time / 3600, 1e-9) << algorithm << " t=" << time;
      EXPECT_NEAR(row[t.column("tank.level")], 1 + 6 * time / 3600 / 2, 1e-7) << algorithm << " t=" << time;
      EXPECT_NEAR(row[t.column("tank.volume")], 2 * (1 + 6 * time / 3600 / 2), 2e-7) << algorithm << " t=" << time;
    }
    EXPECT_EQ(t.rows.back()[0], 3600);
    EXPECT_EQ(t.rows.back()[t.column("ball.h")], 0);
    EXPECT_EQ(t.rows.back()[t.column("ball.bounces")], 24);
  }
}

std::shared_ptr<const equation_model> compile(equation_spec spec) {
  auto m = equation_model::compile(std::move(spec));
  EXPECT_TRUE(m) << m.error().to_string();
  return *m;
}

// x' = -y in one model, y' = x in the other: cos and sin, to O(H) when each sees the other's
// value held over a step. Gauss-Seidel depends on the order (the later one sees the earlier
// one's new value); Jacobi does not.
TEST(System, AFeedbackLoopOfTwoModelsFollowsCosAndSinAndTheOrderMattersOnlyForGaussSeidel) {
  equation_spec a;
  a.name = "a";
  a.inputs = {{"y", 0, ""}};
  a.states = {{"x", "1", "-y", ""}};
  equation_spec b;
  b.name = "b";
  b.inputs = {{"x", 0, ""}};
  b.states = {{"y", "0", "x", ""}};
  auto ma = compile(a), mb = compile(b);
  auto run = [&](master_algorithm algorithm, bool a_first) {
    std::vector<system_component> cs;
    auto ca = equation_component(ma, {});
    auto cb = equation_component(mb, {});
    EXPECT_TRUE(ca && cb);
    cs.push_back({"a", std::move(*ca), 0});
    cs.push_back({"b", std::move(*cb), 0});
    if (!a_first) std::swap(cs[0], cs[1]);
    const std::size_t ia = a_first ? 0 : 1, ib = 1 - ia;
    std::vector<system_connection> links{{ia, 0, ib, 0}, {ib, 0, ia, 0}};
    system_options o;
    o.stop = 1;
    o.step = 1e-3;
    o.algorithm = algorithm;
    std::string csv;
    EXPECT_TRUE(run_system(cs, links, o, [&](std::string_view l) { csv.append(l); }));
    table t = parse_csv(csv);
    EXPECT_EQ(t.rows.size(), 1001u);
    return std::pair{t.rows.back()[t.column("a.x")], t.rows.back()[t.column("b.y")]};
  };
  auto gs_ab = run(master_algorithm::gauss_seidel, true), gs_ba = run(master_algorithm::gauss_seidel, false);
  auto j_ab = run(master_algorithm::jacobi, true), j_ba = run(master_algorithm::jacobi, false);
  for (auto [x, y] : {gs_ab, gs_ba, j_ab, j_ba}) {
    EXPECT_NEAR(x, std::cos(1.0), 2e-3);
    EXPECT_NEAR(y, std::sin(1.0), 2e-3);
  }
  EXPECT_EQ(j_ab, j_ba);
  EXPECT_GT(std::abs(gs_ab.first - gs_ba.first), 1e-4);
  // Gauss-Seidel here is the symplectic Euler method: it keeps x^2 + y^2 near 1; Jacobi, the
  // explicit one, lets it grow.
  EXPECT_NEAR(gs_ab.first * gs_ab.first + gs_ab.second * gs_ab.second, 1, 1e-3);
  EXPECT_GT(j_ab.first * j_ab.first + j_ab.second * j_ab.second, 1 + 5e-4);
}

TEST(System, SubStepsEndExactlyOnTheCommunicationPointsAndTheFmuCanStopTheRun) {
  testing::temp_dir tmp("doppel-system-stop");
  const fs::path dir = tmp.path();
  write(dir / "sim" / "systems" / "ball.yaml", R"(stop: 3
step: 0.5
components:
  ball: {fmu: )" + fmu_path("BouncingBall3") + R"(, step: 0.3}
  me: {fmu: )" + fmu_path("BouncingBallME3") + R"(, parameters: {max_bounces: 2}}
)");
  std::string out, err;
  ASSERT_EQ(cli({"sim", "system", dir.string(), "--system", "ball"}, out, err), 0) << err;
  table t = parse_csv(out);
  // The second impact is at 1.0836 s: the run ends with the row of the step that holds it.
  ASSERT_EQ(t.rows.size(), 4u) << out;
  EXPECT_EQ(t.rows.back()[0], 1.5);
  EXPECT_EQ(t.rows.back()[t.column("me.bounces")], 2);
  // The exact ball, in sub-steps of at most 0.3 s (two per step), is at its formula.
  // Both rows fall in the flight after the first impact (at t1 = 0.4515 s, up at 0.7 g t1).
  const double g = 9.81, t1 = std::sqrt(2 / g), up = 0.7 * g * t1;
  for (std::size_t row : {1, 2}) {
    const double s = t.rows[row][0] - t1;
    EXPECT_NEAR(t.rows[row][t.column("ball.h")], up * s - g * s * s / 2, 1e-9) << "t=" << t.rows[row][0];
  }
}

TEST(System, MistakesInTheFileAreReportedWithLineAndColumn) {
  struct broken {
    std::string yaml, expected;
  };
  const std::string head = "stop: 10\nstep: 1\ncomponents:\n  tank: {model: tank}\n";
  std::vector<broken> cases = {
      {"stop: [\n", "sys.yaml:2:1: not valid YAML"},
      {"stop: 1\ncomponent: {}\n", "sys.yaml:2:1: unknown key \"component\" in a system"},
      {"components: {a: {model: m}}\n", "sys.yaml:1:1: a system needs stop"},
      {"stop: 1\n", "a system needs components"},
      {"stop: 1\ncomponents:\n  a: {model: m, fmu: x.fmu}\n",
       "sys.yaml:3:6: components.a needs one of fmu: PATH or model: NAME"},
      {"stop: 1\ncomponents:\n  a: {}\n", "components.a needs one of fmu"},
      {"stop: 1\ncomponents:\n  a.b: {model: m}\n", "sys.yaml:3:3: the component name \"a.b\" must not"},
      {"stop: 1\ncomponents:\n  a: {model: m, kind: me}\n", "sys.yaml:3:23: components.a.kind is for FMUs only"},
      {"stop: 1\ncomponents:\n  a: {fmu: x.fmu, kind: both}\n", "components.a.kind must be cs (co-simulation) or me"},
      {head + "  pump: {model: tank, step: 2}\n", "sys.yaml:5:29: components.pump.step must be positive and at most"},
      {head + "algorithm: newton\n", "sys.yaml:5:12: algorithm must be gauss-seidel"},
      {head + "connections: [\"tank.level tank.inflow\"]\n",
       "sys.yaml:5:15: the connection \"tank.level tank.inflow\" must be written"},
      {head + "connections:\n  - tank -> tank.inflow\n",
       "sys.yaml:6:5: the connection \"tank -> tank.inflow\" must be written"},
      {head + "connections:\n  - pump.flow -> tank.inflow\n",
       "sys.yaml:6:5: the connection \"pump.flow -> tank.inflow\" names no component pump"},
      {head + "connections: {a: b}\n", "connections must be a list"},
      {"stop: 1\nstep: 0\ncomponents: {a: {model: m}}\n", "sys.yaml:2:7: step must be a positive number"},
      {"stop: 1\nstart: 2\ncomponents: {a: {model: m}}\n", "sys.yaml:1:7: stop is before start"},
  };
  for (const broken& c : cases) {
    auto sys = app::parse_system(c.yaml, "sys.yaml");
    ASSERT_FALSE(sys) << c.yaml;
    EXPECT_NE(sys.error().message().find(c.expected), std::string::npos)
        << "expected: " << c.expected << "\ngot: " << sys.error().message();
  }
  auto ok = app::parse_system(head +
                                  "  pump: {fmu: p.fmu, kind: cs, step: 0.5, parameters: {speed: 1450}}\n"
                                  "connections: [\"pump.flow -> tank.inflow\"]\nalgorithm: jacobi\n",
                              "sys.yaml");
  ASSERT_TRUE(ok) << ok.error().to_string();
  ASSERT_EQ(ok->components.size(), 2u);
  EXPECT_EQ(ok->components[1].fmu, "p.fmu");
  EXPECT_EQ(ok->components[1].kind, fmi::fmu_kind::co_simulation);
  EXPECT_EQ(ok->components[1].step, 0.5);
  EXPECT_EQ(ok->components[1].parameters, (std::vector<std::pair<std::string, std::string>>{{"speed", "1450"}}));
  ASSERT_EQ(ok->connections.size(), 1u);
  EXPECT_EQ(ok->connections[0].from, "pump");
  EXPECT_EQ(ok->connections[0].output, "flow");
  EXPECT_EQ(ok->connections[0].to, "tank");
  EXPECT_EQ(ok->connections[0].input, "inflow");
  EXPECT_EQ(ok->algorithm, master_algorithm::jacobi);
  EXPECT_EQ(ok->step, 1);
}

// Names resolved against the FMUs and models, and failures while running, from the CLI.
TEST(SystemCli, UnknownNamesAndFailingComponentsEndWithExitOneAndAMessage) {
  testing::temp_dir tmp("doppel-system-cli");
  const fs::path dir = tmp.path();
  write(dir / "sim" / "tank.yaml", k_tank);
  const std::string pump = "  pump: {fmu: " + fmu_path("Pump2") + "}\n";
  const fs::path file = dir / "sim" / "systems" / "s.yaml";
  struct broken {
    std::string yaml, expected;
  };
  std::vector<broken> cases = {
      {pump + "connections: [\"pump.flw -> tank.inflow\"]\n",
       file.string() + ":6:15: pump has no Float64 output \"flw\"; its outputs: flow, volume"},
      {pump + "connections: [\"pump.flow -> tank.level\"]\n",
       file.string() + ":6:15: tank has no Float64 input \"level\"; its inputs: inflow, outflow"},
      {pump + "connections: [\"pump.flow -> tank.inflow\", \"pump.volume -> tank.inflow\"]\n",
       "tank.inflow is fed by two connections"},
      {"  ball: {fmu: " + fmu_path("BouncingBallME3") + ", parameters: {g: -1}}\n",
       "component ball: fmi3ExitInitializationMode returned Error"},
      {"  ball: {fmu: " + fmu_path("BouncingBallME3") + ", parameters: {crash_at: 1}}\n", "the FMU crashed with"},
      {"  err: {fmu: " + fmu_path("Error2") + "}\n", "component err: fmi2DoStep at t=0.400000 returned Error"},
      {"  x: {model: nothere}\n", file.string() + ":5:3: components.x: there is no "},
      {"  x: {fmu: nothere.fmu}\n", file.string() + ":5:3: components.x: " + (dir / "nothere.fmu").string()},
      {"  x: {model: tank, parameters: {depth: 1}}\n",
       "components.x: the model tank has no parameter or input \"depth\""},
  };
  for (const broken& c : cases) {
    write(file, "stop: 1\nstep: 0.1\ncomponents:\n  tank: {model: tank}\n" + c.yaml);
    std::string out, err;
    EXPECT_EQ(cli({"sim", "system", dir.string(), "--system", "s"}, out, err), 1) << c.yaml;
    EXPECT_NE(err.find("doppel sim system: "), std::string::npos) << err;
    EXPECT_NE(err.find(c.expected), std::string::npos) << "expected: " << c.expected << "\ngot: " << err;
  }
  std::string out, err;
  EXPECT_EQ(cli({"sim", "system", dir.string(), "--system", "none"}, out, err), 1);
  EXPECT_NE(err.find("there is no " + (dir / "sim" / "systems" / "none.yaml").string()), std::string::npos) << err;
  // --output writes the CSV there.
  write(file, "stop: 1\nstep: 0.5\ncomponents:\n  tank: {model: tank, parameters: {inflow: 7200}}\n");
  const std::string csv = (dir / "out.csv").string();
  ASSERT_EQ(cli({"sim", "system", dir.string(), "--system", "s", "--output", csv}, out, err), 0) << err;
  std::ifstream f(csv);
  std::stringstream text;
  text << f.rdbuf();
  table t = parse_csv(text.str());
  ASSERT_EQ(t.names, (std::vector<std::string>{"time", "tank.level", "tank.volume"})) << text.str();
  ASSERT_EQ(t.rows.size(), 3u) << text.str();
  for (const auto& row : t.rows) {
    EXPECT_NEAR(row[1], 1 + row[0], 1e-7);  // 7200 m3/h into 2 m2: 1 m/s
    EXPECT_NEAR(row[2], 2 * (1 + row[0]), 2e-7);
  }
}

}  // namespace
}  // namespace doppel::sim
