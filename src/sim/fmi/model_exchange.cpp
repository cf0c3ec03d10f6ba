#include "sim/fmi/model_exchange.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace doppel::sim::fmi {

namespace {

class me_driver final : public instance {
 public:
  me_driver(std::unique_ptr<me_instance> me, const model_description& md, const me_options& o)
      : me_(std::move(me)), md_(md), o_(o), x_(md.continuous_states), dx_(md.continuous_states) {}

  status enter_initialization(double start, std::optional<double> stop, std::optional<double> tolerance) override {
    time_ = start;
    if (tolerance && *tolerance > 0) rtol_ = *tolerance;
    return me_->enter_initialization(start, stop, tolerance);
  }

  status exit_initialization() override {
    if (status s = me_->exit_initialization(); !s) return s;
    // The FMU is in Event Mode now: settle it, then integrate from what it computed.
    if (status s = event_iteration(); !s) return s;
    if (stopped_) return {};
    if (status s = me_->enter_continuous_time_mode(); !s) return s;
    continuous_ = true;
    std::vector<double> nominals(md_.continuous_states, 1.0);
    if (!nominals.empty()) {
      if (status s = me_->get_nominals(nominals); !s) return s;
    }
    double smallest = 1.0;
    for (std::size_t i = 0; i < nominals.size(); ++i) {
      if (std::isfinite(nominals[i]) && nominals[i] > 0)
        smallest = i == 0 ? nominals[i] : std::min(smallest, nominals[i]);
    }
    if (status s = read_states(); !s) return s;
    ode_system system;
    // An FMU without continuous states (only events in time) still needs the solver for its
    // event indicators: it integrates one state that stays 0.
    system.states = std::max<std::size_t>(1, md_.continuous_states);
    system.rhs = [this](double t, const double* y, double* dydt) { rhs(t, y, dydt); };
    system.events = md_.event_indicators;
    if (system.events > 0) {
      system.event_functions = [this](double t, const double* y, double* g) { indicators(t, y, g); };
    }
    ode_options opts;
    opts.method = o_.method;
    opts.rtol = rtol_;
    opts.atol = rtol_ * smallest;
    opts.max_steps = o_.max_solver_steps;
    auto solver = ode_solver::create(std::move(system), solver_state(), time_, opts);
    if (!solver) return solver.error();
    solver_ = std::move(*solver);
    return {};
  }

  status set(const variable& v, std::span<const scalar> values) override {
    if (!continuous_) return me_->set(v, values);
    // A continuous input may change in Continuous-Time Mode; the solver restarts, since its
    // history no longer fits the right-hand side. Anything else changes in Event Mode only.
    if (v.variability == variability::continuous && v.causality == causality::input) {
      if (status s = me_->set(v, values); !s) return s;
      restart_ = true;
      return {};
    }
    if (status s = me_->enter_event_mode(); !s) return s;
    if (status s = me_->set(v, values); !s) return s;
    return after_event();
  }
  status get(const variable& v, std::vector<scalar>& values) override { return me_->get(v, values); }
  status get_float64(std::span<const std::uint32_t> refs, double* values) override {
    return me_->get_float64(refs, values);
  }

  status step(double t, double h, bool& terminate) override {
    terminate = false;
    if (stopped_) {
      terminate = true;
      return {};
    }
    if (!solver_) return status::failed_precondition("step before exit_initialization");
    if (restart_) {
      if (status s = restart(); !s) return s;
      if (stopped_) {
        terminate = true;
        return {};
      }
    }
    const double target = t + h;
    int events_here = 0;
    double last_event = std::numeric_limits<double>::quiet_NaN();
    // A time event within rounding of the communication point belongs to this step, so that
    // the row written there shows it.
    const double rounding = 4 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::abs(target));
    while (target - solver_->time() > rounding) {
      double until = target;
      const bool time_event_due = next_event_ && *next_event_ <= target + rounding;
      if (time_event_due) until = std::max(*next_event_, solver_->time());
      auto stop = solver_->advance(until, true);
      // An FMU call that failed inside the solver's callbacks is the cause, whatever CVODE says.
      if (!error_.is_ok()) return error_;
      if (!stop) return stop.error();
      time_ = stop->t;
      if (status s = at_solver_point(); !s) return s;
      bool step_event = false, stop_requested = false;
      if (status s = me_->completed_integrator_step(step_event, stop_requested); !s) return s;
      if (stop_requested) {
        stopped_ = terminate = true;
        return {};
      }
      const bool time_event = time_event_due && stop->event < 0 && time_ >= until;
      if (stop->event < 0 && !time_event && !step_event) continue;
      if (time_ == last_event) {
        if (++events_here > o_.max_events_at_one_time) {
          return status::failed_precondition("over " + std::to_string(o_.max_events_at_one_time) + " events at t=" +
                                             std::to_string(time_) + " (the FMU's events close in on one instant)");
        }
      } else {
        last_event = time_;
        events_here = 0;
      }
      if (status s = me_->enter_event_mode(); !s) return s;
      if (status s = after_event(); !s) return s;
      if (stopped_) {
        terminate = true;
        return {};
      }
    }
    // The FMU at the communication point itself, for the outputs read there (the solver may
    // have stopped a rounding error short of it).
    time_ = std::max(time_, target);
    return at_solver_point();
  }

  status terminate() override { return me_->terminate(); }

 private:
  // The solver's state vector: the FMU's states, or the one placeholder state of an FMU without.
  std::span<const double> solver_state() const {
    static constexpr double k_placeholder = 0;
    return x_.empty() ? std::span<const double>(&k_placeholder, 1) : std::span<const double>(x_);
  }

  status read_states() {
    if (x_.empty()) return {};
    return me_->get_continuous_states(x_);
  }

  // Hands the FMU the solver's time and state.
  status at_solver_point() {
    if (status s = me_->set_time(time_); !s) return s;
    if (x_.empty()) return {};
    auto y = solver_->state();
    std::copy(y.begin(), y.begin() + static_cast<std::ptrdiff_t>(x_.size()), x_.begin());
    return me_->set_continuous_states(x_);
  }

  // In Event Mode: the event iteration, back to Continuous-Time Mode, the states read back and
  // the solver restarted from them.
  status after_event() {
    continuous_ = false;
    if (status s = event_iteration(); !s) return s;
    if (stopped_) return {};
    if (status s = me_->enter_continuous_time_mode(); !s) return s;
    continuous_ = true;
    return restart();
  }

  status restart() {
    restart_ = false;
    if (status s = read_states(); !s) return s;
    return solver_->reset(time_, solver_state());
  }

  // Updates the discrete states until the FMU needs no more; stopped_ when it asks to end.
  status event_iteration() {
    for (int i = 0; i < o_.max_events_at_one_time; ++i) {
      discrete_update u;
      if (status s = me_->update_discrete_states(u); !s) return s;
      if (u.terminate) {
        stopped_ = true;
        return {};
      }
      next_event_ = u.next_event_time;
      if (!u.again) return {};
    }
    return status::failed_precondition("the FMU's event iteration at t=" + std::to_string(time_) +
                                       " did not settle in " + std::to_string(o_.max_events_at_one_time) + " updates");
  }

  // The solver's callbacks cannot fail: the first FMU error is kept and a value that is not
  // finite stops the solver; step() then reports the error.
  void rhs(double t, const double* y, double* dydt) {
    const std::size_t n = std::max<std::size_t>(1, x_.size());
    if (error_.is_ok()) error_ = evaluate(t, y);
    if (error_.is_ok() && !dx_.empty()) error_ = me_->get_derivatives(dx_);
    if (!error_.is_ok()) {
      std::fill(dydt, dydt + n, std::numeric_limits<double>::quiet_NaN());
      return;
    }
    if (dx_.empty()) {
      dydt[0] = 0;
    } else {
      std::copy(dx_.begin(), dx_.end(), dydt);
    }
  }
  void indicators(double t, const double* y, double* g) {
    if (error_.is_ok()) error_ = evaluate(t, y);
    if (error_.is_ok()) error_ = me_->get_event_indicators(std::span<double>(g, md_.event_indicators));
    if (!error_.is_ok()) std::fill(g, g + md_.event_indicators, 1.0);
  }
  status evaluate(double t, const double* y) {
    if (status s = me_->set_time(t); !s) return s;
    if (x_.empty()) return {};
    return me_->set_continuous_states(std::span<const double>(y, x_.size()));
  }

  std::unique_ptr<me_instance> me_;
  const model_description& md_;
  me_options o_;
  double rtol_ = o_.default_tolerance;
  std::vector<double> x_, dx_;  // the FMU's continuous states and their derivatives
  std::unique_ptr<ode_solver> solver_;
  double time_ = 0;
  std::optional<double> next_event_;  // the time event the FMU announced
  status error_;                      // the first FMU error met in a solver callback
  bool continuous_ = false;           // in Continuous-Time Mode
  bool restart_ = false;              // a continuous input changed: restart the solver
  bool stopped_ = false;              // the FMU asked to terminate
};

}  // namespace

std::unique_ptr<instance> drive_model_exchange(std::unique_ptr<me_instance> me, const model_description& md,
                                               const me_options& options) {
  return std::make_unique<me_driver>(std::move(me), md, options);
}

}  // namespace doppel::sim::fmi
