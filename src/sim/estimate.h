// Estimation for equation models (equation_model.h): fitting parameters to a window of
// measurements (least squares, Levenberg-Marquardt, each residual a simulation of the window),
// and a state observer (an extended Kalman filter) that corrects a live run's states from
// measurements as they come.
// Callers: `doppel sim fit` (src/app/sim_files.h) and, for the observer, a live twin's
// simulation. Threading: fit_parameters is a pure function of its arguments (safe to call on
// any number of threads at once); one state_observer is used by one thread at a time.
// Both handle small models best: the Jacobians are finite differences, one simulation per
// tunable parameter per iteration (fit) and one per state per step (observer).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "sim/equation_model.h"

namespace doppel::sim {

// A window of observations, rows in time order.
struct fit_data {
  std::vector<std::string> inputs;    // input names of the model, held from one row to the next
  std::vector<std::string> measured;  // outputs or states of the model that were measured
  std::vector<double> time;           // seconds, non-decreasing
  std::vector<double> u;              // time.size() x inputs.size(), row-major
  std::vector<double> y;              // time.size() x measured.size(), row-major; NaN: not measured then
  // The states at time[0] (name, value); a state not named starts from its start expression.
  std::vector<std::pair<std::string, double>> initial_states;
};

struct fit_options {
  int max_iterations = 50;  // Jacobians computed (each costs one simulation per tunable)
  double tolerance = 1e-8;  // stop when a step changes the cost or the parameters relatively less
  // Optional (parameter, (low, high)) per tunable parameter; unbounded when not given.
  std::vector<std::pair<std::string, std::pair<double, double>>> bounds;
};

struct fit_report {
  std::vector<std::pair<std::string, double>> before, after;  // the tunable parameters
  std::vector<double> rms_before, rms_after;                  // per measured column, in its unit
  int iterations = 0;
  long simulations = 0;
  bool converged = false;  // false: max_iterations reached, or no step lowered the cost
  std::string message;     // why it stopped
};

// Fits the `tunable` parameters of `model` so that simulating the window reproduces the measured
// columns: each simulation starts at data.time[0] (the inputs of the first row, the states from
// data.initial_states or their start expressions, the parameters from `parameters` and
// otherwise the spec's), holds each row's inputs until the next row and compares the measured
// columns at every row. A column's residuals are divided by its spread, so columns in different
// units count alike. `parameters` gives the starting values of tunables and fixes the others.
// invalid_argument for an unknown name, a tunable that is not a parameter, an empty window, a
// window without a single measurement, sizes that do not match, bounds that do not hold the
// start, or a tunable that changes none of the measured columns; failed_precondition when the
// simulation fails at the starting values (a trial step whose simulation fails is just refused).
result<fit_report> fit_parameters(std::shared_ptr<const equation_model> model, const fit_data& data,
                                  std::span<const std::string> tunable,
                                  std::span<const std::pair<std::string, double>> parameters = {},
                                  const fit_options& options = {});

struct observer_options {
  // Per state: how fast its uncertainty grows, a variance per second (default 1e-4).
  std::vector<std::pair<std::string, double>> process_noise;
  // Per measured name: the sensor's variance (default 1e-2).
  std::vector<std::pair<std::string, double>> measurement_noise;
  // Per state: the variance of its value at the start (default 1).
  std::vector<std::pair<std::string, double>> initial_variance;
};

// An extended Kalman filter over the states of an equation model. The order of calls: start,
// then any number of (set_input*, predict, update) in time order. A failed update or a refused
// argument leaves the observer as it was; a simulation that fails in predict leaves it failed
// (every later call returns failed_precondition saying why): start a new one.
class state_observer {
 public:
  // Starts at t0 like equation_run::start; `measured` names outputs or states. invalid_argument
  // for an unknown or duplicate name, a noise that is not a positive number, a noise for a name
  // that is not a state (process, initial) or not measured (measurement).
  static result<std::unique_ptr<state_observer>> start(std::shared_ptr<const equation_model> model, double t0,
                                                       std::span<const std::pair<std::string, double>> parameters,
                                                       std::vector<std::string> measured,
                                                       observer_options options = {});

  // An input, held from now on. invalid_argument for a name that is not an input.
  status set_input(std::string_view name, double value);
  // Advances the states to t (>= time()) and grows their covariance. failed_precondition when
  // the simulation fails; invalid_argument for t < time().
  status predict(double t);
  // Corrects the states from one value per measured name (NaN: missing) at time(). invalid_argument
  // for the wrong count; failed_precondition when the innovation covariance is not invertible.
  status update(std::span<const double> measured);

  // Replaces the states (the model's order) at time(), keeping their covariance: for a caller
  // that integrates the same model beside the observer and hands over where it stands.
  // invalid_argument for the wrong count or a value that is not finite.
  status set_states(std::span<const double> states);

  double time() const;
  // As equation_run::value: time, parameter, input, state or output; NaN for an unknown name.
  double value(std::string_view name) const;
  // The variance of each state (the model's order).
  std::span<const double> state_variance() const { return variance_; }
  // The full covariance, row-major, states x states.
  std::span<const double> covariance() const { return p_; }

 private:
  state_observer() = default;
  status fail(std::string message);

  std::shared_ptr<const equation_model> model_;
  std::unique_ptr<equation_run> run_;
  // One run per state, for the finite-difference transition: each starts a step from the state
  // with that one component nudged.
  std::vector<std::unique_ptr<equation_run>> nudged_;
  std::vector<std::size_t> measured_slots_;
  std::vector<double> q_, r_;  // process noise per state (per second), measurement noise
  std::vector<double> p_;      // covariance, row-major
  std::vector<double> variance_;
  std::string failed_;  // why predict failed; empty while the observer works
};

}  // namespace doppel::sim
