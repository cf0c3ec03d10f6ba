// Equation models: the physics of a twin written as equations (in the expression language,
// expr.h) and solved by the ODE solver (ode.h): states with their derivatives, parameters,
// inputs (what the twin's telemetry or desired properties will feed), outputs (virtual sensors:
// values no sensor measures), and events (a condition crossing zero resets states, as a ball
// bounces or a tank's valve closes).
// Callers: the project loader reads the spec from a model file; simulation runs (live beside a
// twin, scenarios, `doppel sim`) make an equation_run per twin.
// Threading: a compiled equation_model is immutable and shared by any number of runs on any
// threads; one equation_run is used by one thread at a time.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "sim/expr.h"
#include "sim/ode.h"

namespace doppel::sim {

struct equation_spec {
  struct parameter {
    std::string name;
    double value = 0;
    std::string unit;
  };
  struct input {
    std::string name;
    double start = 0;
    std::string unit;
  };
  struct state {
    std::string name;
    std::string start;       // an expression of time, parameters and inputs
    std::string derivative;  // an expression of everything
    std::string unit;
  };
  struct output {
    std::string name;
    std::string expr;  // of time, parameters, inputs, states and the outputs before it
    std::string unit;
  };
  struct event {
    std::string when;   // an event where this crosses zero
    int direction = 0;  // +1: only rising through zero, -1: only falling, 0: either
    // State = expression, all evaluated with the values just before the event, then set.
    std::vector<std::pair<std::string, std::string>> set;
  };
  std::string name;
  std::vector<parameter> parameters;
  std::vector<input> inputs;
  std::vector<state> states;
  std::vector<output> outputs;
  std::vector<event> events;
  ode_options solver;
};

class equation_model {
 public:
  // invalid_argument naming the part and what is wrong ("states.level.derivative: column 7:
  // unknown name \"inflw\"; known: ..."): duplicate or reserved names, an expression that does
  // not compile, an event that sets something that is not a state, a model without states.
  static result<std::shared_ptr<const equation_model>> compile(equation_spec spec);

  const equation_spec& spec() const { return spec_; }
  // The value slots, in order: time, parameters, inputs, states, outputs.
  const symbols& slots() const { return slots_; }
  std::size_t parameter_slot(std::size_t i) const { return 1 + i; }
  std::size_t input_slot(std::size_t i) const { return 1 + spec_.parameters.size() + i; }
  std::size_t state_slot(std::size_t i) const { return 1 + spec_.parameters.size() + spec_.inputs.size() + i; }
  std::size_t output_slot(std::size_t i) const { return state_slot(spec_.states.size()) + i; }

 private:
  friend class equation_run;
  equation_model() = default;
  equation_spec spec_;
  symbols slots_;
  std::vector<expression> starts_, derivatives_, outputs_, event_conditions_;
  std::vector<std::vector<std::pair<std::size_t, expression>>> event_sets_;  // (state index, value)
};

// One simulation of an equation model, from a start time.
class equation_run {
 public:
  // Starts at t0 with the parameters' and inputs' values from the spec, except `parameters`
  // (name, value); the states start from their start expressions. invalid_argument for an
  // unknown parameter name; failed_precondition when the solver cannot start.
  static result<std::unique_ptr<equation_run>> start(std::shared_ptr<const equation_model> model, double t0,
                                                     std::span<const std::pair<std::string, double>> parameters = {});

  // A run that goes on from where another stood: parameters, inputs and states from `values` (a
  // run's values(), in the model's slots() order), at time t0. invalid_argument when `values` is
  // not one value per slot; failed_precondition when the solver cannot start.
  static result<std::unique_ptr<equation_run>> restore(std::shared_ptr<const equation_model> model, double t0,
                                                       std::span<const double> values);

  // Sets an input (held until set again) or a parameter, from now on. invalid_argument for a
  // name that is neither.
  status set(std::string_view name, double value);
  // The same by slot (the model's slots()); invalid_argument for a slot that is not an input's
  // or a parameter's.
  status set_slot(std::size_t slot, double value);
  // Integrates to t (>= time()), firing the events on the way. failed_precondition when the
  // solver fails, events repeat without time passing (more than 1,000 at one instant), or more
  // events fire in one call than solver.max_steps (events closing in on one instant).
  status advance(double t);
  // Sets every state (the model's order) at the current time, recomputes the outputs and
  // restarts the solver from there: what an observer does when it corrects the states, or a
  // fit that starts a window from measured states. invalid_argument for the wrong number of
  // values or one that is not finite; the run is unchanged then.
  status set_states(std::span<const double> states);

  double time() const { return values_[0]; }
  // A value by name (time, parameter, input, state, output); NaN for an unknown name.
  double value(std::string_view name) const;
  // Every slot's value (the model's slots() order), outputs up to date.
  std::span<const double> values() const { return values_; }
  long events_fired() const { return events_fired_; }
  long rhs_evaluations() const { return solver_->rhs_evaluations(); }

 private:
  equation_run() = default;
  void compute_outputs();
  void load_states(double t, const double* y);

  std::shared_ptr<const equation_model> model_;
  std::vector<double> values_;  // the slots; also the scratch of the right-hand side
  std::unique_ptr<ode_solver> solver_;
  long events_fired_ = 0;
};

}  // namespace doppel::sim
