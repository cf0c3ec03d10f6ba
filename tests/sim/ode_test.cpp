#include "sim/ode.h"

#include <gtest/gtest.h>

#include <cmath>

namespace doppel::sim {
namespace {

TEST(Ode, ExponentialDecayMatchesItsSolution) {
  ode_system sys{1, [](double, const double* y, double* dy) { dy[0] = -y[0]; }, 0, {}};
  ode_options o;
  o.rtol = 1e-10;
  o.atol = 1e-12;
  for (ode_method m : {ode_method::bdf, ode_method::adams}) {
    o.method = m;
    auto s = ode_solver::create(sys, std::vector<double>{1.0}, 0.0, o);
    ASSERT_TRUE(s) << s.error().to_string();
    for (double t : {0.5, 1.0, 3.0}) {
      auto stop = (*s)->advance(t);
      ASSERT_TRUE(stop) << stop.error().to_string();
      EXPECT_EQ(stop->t, t);
      EXPECT_EQ(stop->event, -1);
      EXPECT_NEAR((*s)->state()[0], std::exp(-t), 1e-8) << t;
    }
    EXPECT_GT((*s)->rhs_evaluations(), 0);
  }
}

TEST(Ode, AdamsFollowsTheHarmonicOscillatorForTenPeriods) {
  ode_system sys{2,
                 [](double, const double* y, double* dy) {
                   dy[0] = y[1];
                   dy[1] = -y[0];
                 },
                 0,
                 {}};
  ode_options o;
  o.method = ode_method::adams;
  o.rtol = 1e-10;
  o.atol = 1e-12;
  auto s = ode_solver::create(sys, std::vector<double>{1.0, 0.0}, 0.0, o);
  ASSERT_TRUE(s);
  const double t = 20 * M_PI;
  ASSERT_TRUE((*s)->advance(t));
  EXPECT_NEAR((*s)->state()[0], 1.0, 1e-6);
  EXPECT_NEAR((*s)->state()[1], 0.0, 1e-6);
}

// Robertson's stiff chemical kinetics; the reference values at t = 40 are the classic ones.
TEST(Ode, BdfSolvesTheStiffRobertsonProblem) {
  ode_system sys{3,
                 [](double, const double* y, double* dy) {
                   dy[0] = -0.04 * y[0] + 1e4 * y[1] * y[2];
                   dy[2] = 3e7 * y[1] * y[1];
                   dy[1] = -dy[0] - dy[2];
                 },
                 0,
                 {}};
  ode_options o;
  o.rtol = 1e-8;
  o.atol = 1e-14;
  auto s = ode_solver::create(sys, std::vector<double>{1, 0, 0}, 0.0, o);
  ASSERT_TRUE(s);
  auto stop = (*s)->advance(40.0);
  ASSERT_TRUE(stop) << stop.error().to_string();
  EXPECT_NEAR((*s)->state()[0], 0.7158270687, 1e-6);
  EXPECT_NEAR((*s)->state()[1], 9.185534764e-6, 1e-10);
  EXPECT_NEAR((*s)->state()[2], 0.2841637457, 1e-6);
  EXPECT_LT((*s)->steps(), 2000);  // a stiff solver's step count, not an explicit one's
}

TEST(Ode, EventsStopAtTheZeroCrossingAndTheStateCanBeReset) {
  const double g = 9.81, e = 0.7;
  ode_system sys{2,
                 [&](double, const double* y, double* dy) {
                   dy[0] = y[1];
                   dy[1] = -g;
                 },
                 1, [](double, const double* y, double* out) { out[0] = y[0]; }};
  ode_options o;
  o.rtol = 1e-10;
  o.atol = 1e-12;
  auto s = ode_solver::create(sys, std::vector<double>{1.0, 0.0}, 0.0, o);
  ASSERT_TRUE(s);
  auto stop = (*s)->advance(2.0);
  ASSERT_TRUE(stop);
  ASSERT_EQ(stop->event, 0);
  EXPECT_EQ(stop->direction, -1);
  const double t1 = std::sqrt(2 / g);
  EXPECT_NEAR(stop->t, t1, 1e-8);
  double v = (*s)->state()[1];
  EXPECT_NEAR(v, -g * t1, 1e-6);
  ASSERT_TRUE((*s)->reset(stop->t, std::vector<double>{0.0, -e * v}));
  // Up and down again: the next impact after 2 e v1 / g.
  auto next = (*s)->advance(3.0);
  ASSERT_TRUE(next);
  ASSERT_EQ(next->event, 0);
  EXPECT_NEAR(next->t, t1 + 2 * e * g * t1 / g, 1e-7);
}

TEST(Ode, ARightHandSideThatIsNotFiniteFailsClearly) {
  ode_system sys{1, [](double t, const double*, double* dy) { dy[0] = t > 0.5 ? NAN : 1; }, 0, {}};
  auto s = ode_solver::create(sys, std::vector<double>{0.0}, 0.0, {});
  ASSERT_TRUE(s);
  auto stop = (*s)->advance(1.0);
  ASSERT_FALSE(stop);
  EXPECT_EQ(stop.error().code(), status_code::failed_precondition);
  EXPECT_NE(stop.error().message().find("the ODE solver stopped at t="), std::string::npos) << stop.error().message();
}

TEST(Ode, BadSystemsAreRefused) {
  EXPECT_FALSE(ode_solver::create({}, {}, 0, {}));
  ode_system sys{2, [](double, const double*, double*) {}, 0, {}};
  auto wrong = ode_solver::create(sys, std::vector<double>{1.0}, 0, {});
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message().find("1 values for 2 states"), std::string::npos);
  ode_options o;
  o.rtol = 0;
  EXPECT_FALSE(ode_solver::create(sys, std::vector<double>{1.0, 2.0}, 0, o));
}

}  // namespace
}  // namespace doppel::sim
