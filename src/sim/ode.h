// An initial value problem y' = f(t, y), with event functions g(t, y) whose zero crossings stop
// the integration, solved by SUNDIALS CVODE: BDF with a dense Newton solver for stiff systems,
// Adams with fixed-point iteration for non-stiff ones, error controlled by tolerances.
// Callers: equation models (equation_model.h), the model-exchange FMU driver
// (fmi/model_exchange.h). Not thread-safe: one solver per thread at a
// time; solvers on different threads are independent (each has its own SUNDIALS context).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "core/status.h"

namespace doppel::sim {

struct ode_system {
  std::size_t states = 0;
  // dy/dt at (t, y), into dydt. Must not throw; a non-finite result fails the step.
  std::function<void(double t, const double* y, double* dydt)> rhs;
  // Event functions at (t, y), `events` of them into g; an event is a sign change of one.
  std::size_t events = 0;
  std::function<void(double t, const double* y, double* g)> event_functions;
};

enum class ode_method { bdf, adams };

struct ode_options {
  ode_method method = ode_method::bdf;
  double rtol = 1e-6, atol = 1e-9;
  double max_step = 0;      // 0: no limit
  long max_steps = 100000;  // internal steps per advance() before it gives up
};

// Where advance() stopped: at the time asked for, or earlier at an event.
struct ode_stop {
  double t = 0;
  int event = -1;     // index of the event function that crossed zero, or -1
  int direction = 0;  // +1 rising, -1 falling (when event >= 0)
};

class ode_solver {
 public:
  // invalid_argument for a system without states or functions, or bad tolerances.
  static result<std::unique_ptr<ode_solver>> create(ode_system system, std::span<const double> y0, double t0,
                                                    const ode_options& options);
  ~ode_solver();
  ode_solver(const ode_solver&) = delete;
  ode_solver& operator=(const ode_solver&) = delete;

  // Integrates to `t_out` (>= time()), stopping at the first event on the way.
  // failed_precondition with CVODE's reason when the solver cannot go on (too much work, error
  // test failures, a right-hand side that is not finite). With `exact`, the solver never steps
  // (and never evaluates the right-hand side) beyond t_out: for a model whose equations change
  // there, such as an FMU with a time event or an input that changes; else it may step past
  // t_out and interpolate back, which is cheaper.
  result<ode_stop> advance(double t_out, bool exact = false);
  // Restarts from (t, y): after an event changed the state discontinuously.
  status reset(double t, std::span<const double> y);

  double time() const { return t_; }
  std::span<const double> state() const { return {y_.data(), y_.size()}; }
  long rhs_evaluations() const;
  long steps() const;

 private:
  ode_solver() = default;
  struct impl;
  std::unique_ptr<impl> impl_;
  double t_ = 0;
  std::vector<double> y_;
};

}  // namespace doppel::sim
