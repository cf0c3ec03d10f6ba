#include "sim/estimate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "app/sim_files.h"

// Parameter fitting and the state observer (src/sim/estimate.h).
namespace doppel::sim {
namespace {

// A heated mass losing heat to the ambient through R: T' = (power - (T - ambient) / R) / C.
equation_spec thermal() {
  equation_spec s;
  s.name = "thermal";
  s.parameters = {{"R", 0.05, "K/W"}, {"C", 4000, "J/K"}, {"unused", 1, ""}};
  s.inputs = {{"power", 0, "W"}, {"ambient", 20, "degC"}};
  s.states = {{"T", "ambient", "(power - (T - ambient) / R) / C", "degC"}};
  s.outputs = {{"loss", "(T - ambient) / R", "W"}};
  return s;
}

std::shared_ptr<const equation_model> compiled(equation_spec s) {
  auto m = equation_model::compile(std::move(s));
  EXPECT_TRUE(m) << m.error().to_string();
  return *m;
}

// A window simulated with `truth`: the inputs of each row from `inputs(t)`, held to the next
// row, as fit_parameters holds them; then the measured columns (plus Gaussian noise of `sigma`).
fit_data simulate_window(const std::shared_ptr<const equation_model>& model,
                         std::vector<std::pair<std::string, double>> truth, std::vector<std::string> inputs,
                         std::vector<std::string> measured, double t0, double t1, double dt,
                         const std::function<std::vector<double>(double)>& input_at, double sigma = 0,
                         std::vector<std::pair<std::string, double>> initial = {}) {
  fit_data d;
  d.inputs = std::move(inputs);
  d.measured = std::move(measured);
  d.initial_states = std::move(initial);
  auto run = equation_run::start(model, t0, truth);
  EXPECT_TRUE(run) << run.error().to_string();
  std::vector<double> u0 = input_at(t0);
  for (std::size_t c = 0; c < d.inputs.size(); ++c) EXPECT_TRUE((*run)->set(d.inputs[c], u0[c]));
  if (!d.initial_states.empty()) {
    std::vector<double> x;
    for (const auto& st : model->spec().states) x.push_back((*run)->value(st.name));
    for (const auto& [name, value] : d.initial_states) {
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (model->spec().states[i].name == name) x[i] = value;
      }
    }
    EXPECT_TRUE((*run)->set_states(x));
  }
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 1.0);
  for (double t = t0; t <= t1 + 1e-9; t += dt) {
    EXPECT_TRUE((*run)->advance(t));
    std::vector<double> u = input_at(t);
    for (std::size_t c = 0; c < d.inputs.size(); ++c) EXPECT_TRUE((*run)->set(d.inputs[c], u[c]));
    d.time.push_back(t);
    d.u.insert(d.u.end(), u.begin(), u.end());
    for (const auto& name : d.measured) d.y.push_back((*run)->value(name) + sigma * noise(rng));
  }
  return d;
}

std::vector<double> power_steps(double t) {
  return {t < 400 ? 500.0 : t < 800 ? 1000.0 : 200.0, t < 600 ? 20.0 : 30.0};
}

double after(const fit_report& r, const std::string& name) {
  for (const auto& [n, v] : r.after) {
    if (n == name) return v;
  }
  return NAN;
}

TEST(FitParameters, RecoversTheParametersOfAFirstOrderThermalModel) {
  auto model = compiled(thermal());
  fit_data d = simulate_window(model, {}, {"power", "ambient"}, {"T"}, 0, 1200, 10, power_steps);
  std::vector<std::string> tune{"R", "C"};
  std::vector<std::pair<std::string, double>> wrong{{"R", 0.1}, {"C", 2000}};
  auto r = fit_parameters(model, d, tune, wrong);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(r->converged) << r->message;
  EXPECT_NEAR(after(*r, "R"), 0.05, 0.05 * 1e-4);
  EXPECT_NEAR(after(*r, "C"), 4000, 4000 * 1e-4);
  ASSERT_EQ(r->before.size(), 2u);
  EXPECT_EQ(r->before[0].second, 0.1);
  EXPECT_EQ(r->before[1].second, 2000);
  ASSERT_EQ(r->rms_before.size(), 1u);
  EXPECT_GT(r->rms_before[0], 5.0);  // kelvin: the wrong R doubles the temperature rise
  EXPECT_LT(r->rms_after[0], 1e-4 * r->rms_before[0]);
  EXPECT_GT(r->iterations, 0);
  EXPECT_LE(r->iterations, fit_options{}.max_iterations);
  EXPECT_GE(r->simulations, r->iterations * 3L);  // a Jacobian costs one simulation per tunable
  // The work is bounded: one iteration, then a report of where it got.
  fit_options once;
  once.max_iterations = 1;
  auto short_fit = fit_parameters(model, d, tune, wrong, once);
  ASSERT_TRUE(short_fit) << short_fit.error().to_string();
  EXPECT_EQ(short_fit->iterations, 1);
  EXPECT_FALSE(short_fit->converged);
  EXPECT_EQ(short_fit->message, "max_iterations reached");
  EXPECT_LT(short_fit->rms_after[0], r->rms_before[0]);
  EXPECT_LE(short_fit->simulations, 1 + 2 + 30L);
}

TEST(FitParameters, StartsFromGivenInitialStatesAndSkipsMissingValues) {
  auto model = compiled(thermal());
  std::vector<std::pair<std::string, double>> hot{{"T", 70}};
  fit_data d = simulate_window(model, {}, {"power", "ambient"}, {"T", "loss"}, 0, 1200, 10, power_steps, 0, hot);
  // Every other T and most losses missing: what is left still pins both parameters.
  for (std::size_t k = 0; k < d.time.size(); ++k) {
    if (k % 2) d.y[k * 2] = NAN;
    if (k % 5) d.y[k * 2 + 1] = NAN;
  }
  std::vector<std::string> tune{"R"};
  std::vector<std::pair<std::string, double>> wrong{{"R", 0.02}};
  auto r = fit_parameters(model, d, tune, wrong);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_NEAR(after(*r, "R"), 0.05, 1e-5);
  ASSERT_EQ(r->rms_after.size(), 2u);
  EXPECT_LT(r->rms_after[0], 1e-3);
  // Without the initial state the window starts at the ambient: the same data fits worse.
  d.initial_states.clear();
  auto cold = fit_parameters(model, d, tune, wrong);
  ASSERT_TRUE(cold);
  EXPECT_GT(cold->rms_after[0], 100 * r->rms_after[0]);
}

TEST(FitParameters, KeepsTheParametersWithinTheirBounds) {
  auto model = compiled(thermal());
  fit_data d = simulate_window(model, {}, {"power", "ambient"}, {"T"}, 0, 1200, 10, power_steps);
  std::vector<std::string> tune{"R"};
  std::vector<std::pair<std::string, double>> wrong{{"R", 0.1}};
  fit_options o;
  o.bounds = {{"R", {0.06, 0.2}}};
  auto r = fit_parameters(model, d, tune, wrong, o);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_DOUBLE_EQ(after(*r, "R"), 0.06);  // the best it may: the truth (0.05) is outside
  EXPECT_LT(r->rms_after[0], r->rms_before[0]);
}

std::shared_ptr<const equation_model> pump() {
  auto spec = app::load_equation_model(DOPPEL_SOURCE_DIR "/examples/pump-station/sim/pump.yaml");
  EXPECT_TRUE(spec) << spec.error().to_string();
  return compiled(*spec);
}

std::vector<double> pump_profile(double t) {
  return {t < 600 ? 1000.0 : t < 3000 ? 1450.0 : 1200.0, t < 1800 ? 25.0 : 35.0};
}

TEST(FitParameters, RecoversTwoPerturbedParametersOfTheExamplePump) {
  auto model = pump();
  fit_data d =
      simulate_window(model, {}, {"speed", "ambient"}, {"winding_temp", "bearing_temp"}, 0, 5400, 60, pump_profile);
  std::vector<std::string> tune{"R_winding", "friction_rated"};
  std::vector<std::pair<std::string, double>> wrong{{"R_winding", 0.018}, {"friction_rated", 100}};
  auto r = fit_parameters(model, d, tune, wrong);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(r->converged) << r->message;
  EXPECT_NEAR(after(*r, "R_winding"), 0.012, 0.012 * 1e-3);
  EXPECT_NEAR(after(*r, "friction_rated"), 150, 150 * 1e-3);
  for (std::size_t c = 0; c < 2; ++c) {
    EXPECT_GT(r->rms_before[c], 0.5) << c;
    EXPECT_LT(r->rms_after[c], 1e-3 * r->rms_before[c]) << c;
  }
}

TEST(FitParameters, RecoversThePumpsParametersFromNoisyMeasurements) {
  auto model = pump();
  const double sigma = 0.3;  // kelvin
  fit_data d = simulate_window(model, {}, {"speed", "ambient"}, {"winding_temp", "bearing_temp"}, 0, 5400, 30,
                               pump_profile, sigma);
  std::vector<std::string> tune{"R_winding", "friction_rated"};
  std::vector<std::pair<std::string, double>> wrong{{"R_winding", 0.008}, {"friction_rated", 220}};
  auto r = fit_parameters(model, d, tune, wrong);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_NEAR(after(*r, "R_winding"), 0.012, 0.012 * 0.02);
  EXPECT_NEAR(after(*r, "friction_rated"), 150, 150 * 0.02);
  for (std::size_t c = 0; c < 2; ++c) {
    EXPECT_GT(r->rms_before[c], 3 * sigma) << c;
    EXPECT_LT(r->rms_after[c], 1.2 * sigma) << c;  // down to the noise
    EXPECT_GT(r->rms_after[c], 0.8 * sigma) << c;  // and not below it: no overfitting with two parameters
  }
}

TEST(FitParameters, RefusesBadArgumentsSayingWhat) {
  auto model = compiled(thermal());
  const fit_data good = simulate_window(model, {}, {"power", "ambient"}, {"T"}, 0, 100, 10, power_steps);
  std::vector<std::string> tune{"R"};
  struct bad_case {
    std::string what;
    std::function<void(fit_data&, std::vector<std::string>&, fit_options&)> change;
    std::string expected;
  };
  std::vector<bad_case> cases = {
      {"unknown tunable", [](fit_data&, auto& t, auto&) { t = {"Rr"}; }, "cannot tune \"Rr\": it is not a name of"},
      {"tunable input", [](fit_data&, auto& t, auto&) { t = {"power"}; }, "cannot tune \"power\": it is an input"},
      {"tunable twice",
       [](fit_data&, auto& t, auto&) {
         t = {"R", "R"};
       },
       "the tunable R is given twice"},
      {"no tunable", [](fit_data&, auto& t, auto&) { t.clear(); }, "no tunable parameter"},
      {"empty window",
       [](fit_data& d, auto&, auto&) {
         d.time.clear();
         d.u.clear();
         d.y.clear();
       },
       "the window is empty"},
      {"all missing", [](fit_data& d, auto&, auto&) { d.y.assign(d.y.size(), NAN); }, "holds no measurement"},
      {"u size", [](fit_data& d, auto&, auto&) { d.u.pop_back(); }, "u has 21 values; 11 rows x 2 inputs need 22"},
      {"y size", [](fit_data& d, auto&, auto&) { d.y.push_back(1); }, "y has 12 values"},
      {"unknown input", [](fit_data& d, auto&, auto&) { d.inputs[0] = "heat"; }, "\"heat\" is not an input"},
      {"measured input", [](fit_data& d, auto&, auto&) { d.measured[0] = "power"; },
       "\"power\" cannot be measured: it is an input"},
      {"time back", [](fit_data& d, auto&, auto&) { d.time[3] = 0; }, "row 4: the time goes back"},
      {"input nan", [](fit_data& d, auto&, auto&) { d.u[5] = NAN; }, "row 3: input ambient is not a finite number"},
      {"initial not a state",
       [](fit_data& d, auto&, auto&) {
         d.initial_states = {{"loss", 1}};
       },
       "initial state \"loss\" is not a state"},
      {"bounds outside",
       [](fit_data&, auto&, fit_options& o) {
         o.bounds = {{"R", {1, 2}}};
       },
       "outside its bounds"},
      {"bounds untuned",
       [](fit_data&, auto&, fit_options& o) {
         o.bounds = {{"C", {1, 2}}};
       },
       "bounds for C, which is not tuned"},
      {"no effect", [](fit_data&, auto& t, auto&) { t = {"unused"}; }, "tuning unused changes none of the measured"},
  };
  for (const auto& c : cases) {
    fit_data d = good;
    std::vector<std::string> t = tune;
    fit_options o;
    c.change(d, t, o);
    auto r = fit_parameters(model, d, t, {}, o);
    ASSERT_FALSE(r) << c.what;
    EXPECT_EQ(r.error().code(), status_code::invalid_argument) << c.what;
    EXPECT_NE(r.error().message().find(c.expected), std::string::npos) << c.what << ": " << r.error().message();
  }
  std::vector<std::pair<std::string, double>> not_a_parameter{{"T", 1.0}};
  auto r = fit_parameters(model, good, tune, not_a_parameter);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("\"T\" is not a parameter"), std::string::npos);
}

TEST(FitParameters, AFailingSimulationIsAnErrorNotACrash) {
  // The derivative is not finite for k <= 0: the solver gives up at the start.
  equation_spec s;
  s.name = "fragile";
  s.parameters = {{"k", 1, ""}};
  s.states = {{"x", "1", "-log(k) * x", ""}};
  auto model = compiled(s);
  fit_data d;
  d.measured = {"x"};
  d.time = {0, 1, 2};
  d.y = {1, 0.5, 0.25};
  std::vector<std::string> tune{"k"};
  std::vector<std::pair<std::string, double>> bad{{"k", -1}};
  auto r = fit_parameters(model, d, tune, bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), status_code::failed_precondition);
  EXPECT_NE(r.error().message().find("at the starting values"), std::string::npos) << r.error().message();
  // From k = 1.5 the fit finds k = e^{ln 2} = 2 without stepping into k <= 0 for good.
  std::vector<std::pair<std::string, double>> start{{"k", 1.5}};
  auto ok = fit_parameters(model, d, tune, start);
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_NEAR(after(*ok, "k"), 2.0, 1e-4);
}

// Two thermal masses: a winding (measured) heats a housing (not measured), which loses heat to
// the ambient. The housing is slow: a wrong start stays wrong for a long time in an open-loop run.
equation_spec two_masses() {
  equation_spec s;
  s.name = "two_masses";
  s.parameters = {{"R1", 0.02, "K/W"}, {"R2", 0.05, "K/W"}, {"C1", 2000, "J/K"}, {"C2", 40000, "J/K"}};
  s.inputs = {{"power", 400, "W"}, {"ambient", 20, "degC"}};
  s.states = {{"winding", "ambient", "(power - (winding - housing) / R1) / C1", "degC"},
              {"housing", "ambient", "((winding - housing) / R1 - (housing - ambient) / R2) / C2", "degC"}};
  s.outputs = {{"rise", "winding - ambient", "K"}};
  return s;
}

TEST(StateObserver, TracksAnUnmeasuredStateTheOpenLoopModelGetsWrong) {
  auto model = compiled(two_masses());
  // The truth starts hot (a motor that ran before); model and observer start at the ambient.
  auto truth = equation_run::start(model, 0.0);
  ASSERT_TRUE(truth);
  std::vector<double> hot{70, 60};
  ASSERT_TRUE((*truth)->set_states(hot));
  auto open_loop = equation_run::start(model, 0.0);
  ASSERT_TRUE(open_loop);
  observer_options o;
  o.initial_variance = {{"winding", 400}, {"housing", 400}};
  o.process_noise = {{"winding", 1e-3}, {"housing", 1e-4}};
  o.measurement_noise = {{"rise", 0.25}};
  auto obs = state_observer::start(model, 0.0, {}, {"rise"}, o);
  ASSERT_TRUE(obs) << obs.error().to_string();
  state_observer& ob = **obs;
  EXPECT_EQ(ob.state_variance()[1], 400);

  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0.0, 0.5);
  double open_error = 0, observer_error = 0;
  int counted = 0;
  for (int k = 1; k <= 300; ++k) {
    const double t = 5.0 * k;
    const double power = k < 150 ? 400 : 800;
    for (equation_run* r : {(*truth).get(), (*open_loop).get()}) {
      ASSERT_TRUE(r->advance(t));
      ASSERT_TRUE(r->set("power", power));
    }
    ASSERT_TRUE(ob.predict(t));
    ASSERT_TRUE(ob.set_input("power", power));
    const double before_update = ob.state_variance()[1];
    std::vector<double> z{(*truth)->value("rise") + noise(rng)};
    ASSERT_TRUE(ob.update(z));
    EXPECT_LE(ob.state_variance()[1], before_update);   // a measurement only removes it
    EXPECT_EQ(ob.covariance()[1], ob.covariance()[2]);  // symmetric
    if (k > 200) {
      open_error += std::abs((*open_loop)->value("housing") - (*truth)->value("housing"));
      observer_error += std::abs(ob.value("housing") - (*truth)->value("housing"));
      ++counted;
    }
  }
  open_error /= counted;
  observer_error /= counted;
  EXPECT_GT(open_error, 10.0);  // kelvin: the open loop still remembers its wrong start
  EXPECT_LT(observer_error, 0.02 * open_error) << observer_error << " vs " << open_error;
  EXPECT_LT(ob.state_variance()[1], 400 * 1e-2);  // shrunk from the start
  EXPECT_LT(ob.state_variance()[0], 0.25);        // below the sensor's own variance
  EXPECT_EQ(ob.time(), 1500.0);
  EXPECT_EQ(ob.value("power"), 800.0);
}

TEST(StateObserver, CorrectsAModelWithAWrongParameterBetterThanTheOpenLoop) {
  // The observer believes R2 = 0.035 (the truth is 0.05): it sees the winding and keeps the
  // housing close anyway, where the open loop drifts to the wrong steady state.
  auto model = compiled(two_masses());
  auto truth = equation_run::start(model, 0.0);
  std::vector<std::pair<std::string, double>> believed{{"R2", 0.035}};
  auto open_loop = equation_run::start(model, 0.0, believed);
  ASSERT_TRUE(truth && open_loop);
  observer_options o;
  o.process_noise = {{"winding", 1e-2}, {"housing", 1e-2}};
  o.measurement_noise = {{"winding", 0.01}};
  auto obs = state_observer::start(model, 0.0, believed, {"winding"}, o);
  ASSERT_TRUE(obs) << obs.error().to_string();
  double open_error = 0, observer_error = 0;
  for (int k = 1; k <= 600; ++k) {
    const double t = 10.0 * k;
    ASSERT_TRUE((*truth)->advance(t));
    ASSERT_TRUE((*open_loop)->advance(t));
    ASSERT_TRUE((*obs)->predict(t));
    std::vector<double> z{(*truth)->value("winding")};
    ASSERT_TRUE((*obs)->update(z));
    if (k > 400) {
      open_error = std::max(open_error, std::abs((*open_loop)->value("winding") - (*truth)->value("winding")));
      observer_error = std::max(observer_error, std::abs((*obs)->value("winding") - (*truth)->value("winding")));
    }
  }
  EXPECT_GT(open_error, 3.0);
  EXPECT_LT(observer_error, 0.01 * open_error) << observer_error << " vs " << open_error;
}

TEST(StateObserver, MissingValuesAreSkippedAndMistakesRefused) {
  auto model = compiled(two_masses());
  std::vector<std::string> measured{"winding", "rise"};
  auto obs = state_observer::start(model, 0.0, {}, measured, {});
  ASSERT_TRUE(obs) << obs.error().to_string();
  state_observer& ob = **obs;
  ASSERT_TRUE(ob.predict(10));
  const std::vector<double> before(ob.state_variance().begin(), ob.state_variance().end());
  std::vector<double> none{NAN, NAN};
  ASSERT_TRUE(ob.update(none));  // nothing measured: nothing changes
  EXPECT_EQ(ob.state_variance()[0], before[0]);
  std::vector<double> one{NAN, 3.0};
  ASSERT_TRUE(ob.update(one));
  EXPECT_LT(ob.state_variance()[0], before[0]);
  std::vector<double> wrong_count{1.0};
  EXPECT_EQ(ob.update(wrong_count).code(), status_code::invalid_argument);
  EXPECT_EQ(ob.predict(5).code(), status_code::invalid_argument);  // back in time
  EXPECT_EQ(ob.set_input("R1", 1).code(), status_code::invalid_argument);
  EXPECT_EQ(ob.set_input("heat", 1).code(), status_code::invalid_argument);

  struct bad_case {
    std::vector<std::string> measured;
    observer_options options;
    std::string expected;
  };
  std::vector<bad_case> cases = {
      {{"power"}, {}, "\"power\" cannot be measured: it is an input"},
      {{"nothing"}, {}, "\"nothing\" cannot be measured: it is not a name of two_masses"},
      {{"rise", "rise"}, {}, "rise is measured twice"},
      {{}, {}, "nothing is measured"},
      {{"rise"}, {{{"rise", 1.0}}, {}, {}}, "process noise: \"rise\" is not a state"},
      {{"rise"}, {{{"housing", -1.0}}, {}, {}}, "process noise of housing must be a non-negative number"},
      {{"rise"}, {{}, {{"winding", 1.0}}, {}}, "measurement noise for winding, which is not measured"},
      {{"rise"}, {{}, {{"rise", 0.0}}, {}}, "measurement noise of rise must be a positive number"},
      {{"rise"}, {{}, {}, {{"housing", 0.0}}}, "initial variance of housing must be a positive number"},
  };
  for (const auto& c : cases) {
    auto r = state_observer::start(model, 0.0, {}, c.measured, c.options);
    ASSERT_FALSE(r) << c.expected;
    EXPECT_EQ(r.error().code(), status_code::invalid_argument);
    EXPECT_NE(r.error().message().find(c.expected), std::string::npos) << r.error().message();
  }
}

TEST(StateObserver, ASimulationThatFailsLeavesTheObserverFailedNotCrashed) {
  equation_spec s;
  s.name = "blowup";
  s.inputs = {{"k", 0, ""}};
  s.states = {{"x", "1", "log(k) * x", ""}};  // not finite while k <= 0
  auto model = compiled(s);
  auto obs = state_observer::start(model, 0.0, {}, {"x"}, {});
  ASSERT_TRUE(obs);
  status st = (*obs)->predict(1.0);
  EXPECT_EQ(st.code(), status_code::failed_precondition);
  status again = (*obs)->predict(2.0);
  EXPECT_EQ(again.code(), status_code::failed_precondition);
  EXPECT_NE(again.message().find("start a new one"), std::string::npos) << again.message();
}

}  // namespace
}  // namespace doppel::sim
