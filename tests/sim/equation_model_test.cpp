#include "sim/equation_model.h"

#include <gtest/gtest.h>

#include <cmath>

namespace doppel::sim {
namespace {

equation_spec decay() {
  equation_spec s;
  s.name = "decay";
  s.parameters = {{"k", 0.5, "1/s"}, {"x0", 4, ""}};
  s.states = {{"x", "x0", "-k * x", ""}};
  s.outputs = {{"half", "x / 2", ""}, {"quarter", "half / 2", ""}};
  s.solver.rtol = 1e-10;
  s.solver.atol = 1e-12;
  return s;
}

TEST(EquationModel, ADecayFollowsItsSolutionWithOutputsAlongside) {
  auto m = equation_model::compile(decay());
  ASSERT_TRUE(m) << m.error().to_string();
  auto run = equation_run::start(*m, 0.0);
  ASSERT_TRUE(run) << run.error().to_string();
  EXPECT_EQ((*run)->value("x"), 4.0);
  EXPECT_EQ((*run)->value("quarter"), 1.0);
  for (double t : {1.0, 2.0, 5.0}) {
    ASSERT_TRUE((*run)->advance(t));
    EXPECT_EQ((*run)->time(), t);
    EXPECT_NEAR((*run)->value("x"), 4 * std::exp(-0.5 * t), 1e-8) << t;
    EXPECT_NEAR((*run)->value("quarter"), std::exp(-0.5 * t), 1e-8) << t;
  }
  EXPECT_TRUE(std::isnan((*run)->value("nothing")));
}

TEST(EquationModel, ParametersCanBeGivenAtTheStartAndChangedOnTheWay) {
  auto m = equation_model::compile(decay());
  ASSERT_TRUE(m);
  std::vector<std::pair<std::string, double>> p{{"x0", 10.0}, {"k", 1.0}};
  auto run = equation_run::start(*m, 0.0, p);
  ASSERT_TRUE(run);
  ASSERT_TRUE((*run)->advance(1.0));
  EXPECT_NEAR((*run)->value("x"), 10 * std::exp(-1.0), 1e-8);
  ASSERT_TRUE((*run)->set("k", 0.0));  // from now on x stays
  ASSERT_TRUE((*run)->advance(3.0));
  EXPECT_NEAR((*run)->value("x"), 10 * std::exp(-1.0), 1e-8);
  EXPECT_FALSE((*run)->set("x", 1.0));  // a state is not set from outside
  EXPECT_FALSE((*run)->set("nope", 1.0));
  std::vector<std::pair<std::string, double>> bad{{"half", 1.0}};
  auto refused = equation_run::start(*m, 0.0, bad);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("has no parameter \"half\""), std::string::npos);
}

TEST(EquationModel, SetStatesRestartsFromTheGivenStatesWithOutputsRecomputed) {
  auto m = equation_model::compile(decay());
  ASSERT_TRUE(m);
  auto run = equation_run::start(*m, 0.0);
  ASSERT_TRUE(run);
  ASSERT_TRUE((*run)->advance(1.0));
  const double x1 = (*run)->value("x");
  std::vector<double> x{8.0};
  ASSERT_TRUE((*run)->set_states(x));
  EXPECT_EQ((*run)->time(), 1.0);
  EXPECT_EQ((*run)->value("x"), 8.0);
  EXPECT_EQ((*run)->value("quarter"), 2.0);
  ASSERT_TRUE((*run)->advance(3.0));  // from 8 at t=1, not from x1
  EXPECT_NEAR((*run)->value("x"), 8 * std::exp(-0.5 * 2.0), 1e-8);
  // Refused without a change: the wrong count, a value that is not finite.
  std::vector<double> two{1.0, 2.0}, inf{INFINITY};
  EXPECT_EQ((*run)->set_states(two).code(), status_code::invalid_argument);
  EXPECT_EQ((*run)->set_states(inf).code(), status_code::invalid_argument);
  EXPECT_NEAR((*run)->value("x"), 8 * std::exp(-1.0), 1e-8);
  EXPECT_NE(x1, 8.0);
}

// A tank filled by an input and drained through an orifice: level' = (inflow - c sqrt(level)) / area.
// Its steady state is level = (inflow / c)^2.
TEST(EquationModel, InputsDriveTheModelToItsSteadyState) {
  equation_spec s;
  s.name = "tank";
  s.parameters = {{"area", 2, "m2"}, {"c", 0.5, ""}};
  s.inputs = {{"inflow", 0, "m3/s"}};
  s.states = {{"level", "1", "(inflow - c * sqrt(max(level, 0))) / area", "m"}};
  s.outputs = {{"outflow", "c * sqrt(max(level, 0))", "m3/s"}};
  auto m = equation_model::compile(s);
  ASSERT_TRUE(m) << m.error().to_string();
  auto run = equation_run::start(*m, 0.0);
  ASSERT_TRUE(run);
  ASSERT_TRUE((*run)->set("inflow", 1.0));
  ASSERT_TRUE((*run)->advance(500.0));
  EXPECT_NEAR((*run)->value("level"), 4.0, 1e-4);
  EXPECT_NEAR((*run)->value("outflow"), 1.0, 1e-4);
}

TEST(EquationModel, EventsResetStatesAsABallBounces) {
  equation_spec s;
  s.name = "ball";
  s.parameters = {{"g", 9.81, "m/s2"}, {"restitution", 0.7, ""}};
  s.states = {{"h", "1", "v", "m"}, {"v", "0", "-g", "m/s"}};
  s.events = {{"h", -1, {{"v", "-restitution * v"}, {"h", "0"}}}};
  s.solver.rtol = 1e-10;
  s.solver.atol = 1e-12;
  auto m = equation_model::compile(s);
  ASSERT_TRUE(m) << m.error().to_string();
  auto run = equation_run::start(*m, 0.0);
  ASSERT_TRUE(run);
  const double t1 = std::sqrt(2 / 9.81), t2 = t1 + 2 * 0.7 * t1;  // the first two impacts
  ASSERT_TRUE((*run)->advance(t1 + 0.01));
  EXPECT_EQ((*run)->events_fired(), 1);
  EXPECT_GT((*run)->value("v"), 0);
  EXPECT_NEAR((*run)->value("v"), 0.7 * 9.81 * t1 - 9.81 * 0.01, 1e-6);
  ASSERT_TRUE((*run)->advance(t2 + 0.01));
  EXPECT_EQ((*run)->events_fired(), 2);
  double apex_time = t1 + 0.7 * t1;  // between the impacts, at e^2 h0
  auto again = equation_run::start(*m, 0.0);
  ASSERT_TRUE(again);
  ASSERT_TRUE((*again)->advance(apex_time));
  EXPECT_NEAR((*again)->value("h"), 0.49, 1e-6);
}

// Events without end in one advance (here a condition that crosses zero 31,831 times a second;
// a bouncing ball closing in on rest is another) end the run with an error instead of running on.
TEST(EquationModel, TooManyEventsInOneAdvanceEndTheRunWithAnError) {
  equation_spec s;
  s.name = "chatter";
  s.states = {{"x", "0", "1", ""}};
  s.events = {{"sin(100000 * time)", 0, {{"x", "x"}}}};
  s.solver.max_steps = 500;
  s.solver.max_step = 1e-5;
  auto m = equation_model::compile(s);
  ASSERT_TRUE(m);
  auto run = equation_run::start(*m, 0.0);
  ASSERT_TRUE(run);
  status st = (*run)->advance(1.0);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.code(), status_code::failed_precondition);
  EXPECT_NE(st.message().find("over 500 events between t=0"), std::string::npos) << st.message();
  EXPECT_EQ((*run)->events_fired(), 500);
}

TEST(EquationModel, MistakesNameThePartAndWhatIsWrong) {
  struct bad {
    std::function<void(equation_spec&)> change;
    const char* expected;
  };
  std::vector<bad> cases = {
      {[](equation_spec& s) { s.states.clear(); }, "has no states"},
      {[](equation_spec& s) { s.states[0].derivative = "-k * y"; },
       "states.x.derivative: column 6: unknown name \"y\""},
      {[](equation_spec& s) { s.states[0].derivative = ""; }, "states.x.derivative: missing"},
      {[](equation_spec& s) { s.states[0].start = "x / 2"; }, "states.x.start: column 1: unknown name \"x\""},
      {[](equation_spec& s) { s.outputs[0].expr = "quarter"; }, "outputs.half: column 1: unknown name \"quarter\""},
      {[](equation_spec& s) {
         s.parameters.push_back({"k", 1, ""});
       },
       "parameters.k: the name \"k\" is used twice"},
      {[](equation_spec& s) {
         s.parameters.push_back({"pi", 1, ""});
       },
       "parameters.pi: "},
      {[](equation_spec& s) {
         s.events = {{"x - 1", 0, {{"half", "0"}}}};
       },
       "events[0].set.half: only states can be set by an event"},
      {[](equation_spec& s) {
         s.events = {{"x -", 0, {}}};
       },
       "events[0].when: column"},
  };
  for (const bad& b : cases) {
    equation_spec s = decay();
    b.change(s);
    auto m = equation_model::compile(s);
    ASSERT_FALSE(m) << b.expected;
    EXPECT_EQ(m.error().code(), status_code::invalid_argument);
    EXPECT_NE(m.error().message().find(b.expected), std::string::npos)
        << "expected: " << b.expected << "\ngot: " << m.error().message();
  }
}

}  // namespace
}  // namespace doppel::sim
