#include "sim/equation_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace doppel::sim {

namespace {

status add_name(symbols& slots, const std::string& part, const std::string& name) {
  auto r = slots.add(name);
  if (r) return {};
  if (r.error().code() == status_code::already_exists) {
    return status::invalid_argument(part + ": the name \"" + name + "\" is used twice; each name must be unique");
  }
  return status::invalid_argument(part + ": " + r.error().message());
}

result<expression> compile_part(const std::string& part, const std::string& text, const symbols& slots) {
  auto e = expression::compile(text, slots);
  if (!e) return status::invalid_argument(part + ": " + e.error().message());
  return e;
}

}  // namespace

result<std::shared_ptr<const equation_model>> equation_model::compile(equation_spec spec) {
  std::shared_ptr<equation_model> m(new equation_model());
  if (spec.states.empty()) {
    return status::invalid_argument("the equation model " + spec.name +
                                    " has no states; give at least one (a name, its start and its derivative)");
  }
  // Slots grow as the parts are read, so each expression sees only what exists by then: starts
  // see time, parameters and inputs; an output sees the outputs before it.
  symbols& slots = m->slots_;
  if (status s = add_name(slots, "time", "time"); !s) return s;
  for (const auto& p : spec.parameters) {
    if (status s = add_name(slots, "parameters." + p.name, p.name); !s) return s;
  }
  for (const auto& i : spec.inputs) {
    if (status s = add_name(slots, "inputs." + i.name, i.name); !s) return s;
  }
  for (const auto& st : spec.states) {
    auto start = compile_part("states." + st.name + ".start", st.start.empty() ? "0" : st.start, slots);
    if (!start) return start.error();
    m->starts_.push_back(std::move(*start));
  }
  for (const auto& st : spec.states) {
    if (status s = add_name(slots, "states." + st.name, st.name); !s) return s;
  }
  for (const auto& o : spec.outputs) {
    auto e = compile_part("outputs." + o.name, o.expr, slots);
    if (!e) return e.error();
    m->outputs_.push_back(std::move(*e));
    if (status s = add_name(slots, "outputs." + o.name, o.name); !s) return s;
  }
  for (const auto& st : spec.states) {
    if (st.derivative.empty()) {
      return status::invalid_argument("states." + st.name + ".derivative: missing; write d" + st.name +
                                      "/dt as an expression (0 for a constant)");
    }
    auto d = compile_part("states." + st.name + ".derivative", st.derivative, slots);
    if (!d) return d.error();
    m->derivatives_.push_back(std::move(*d));
  }
  for (std::size_t k = 0; k < spec.events.size(); ++k) {
    const auto& ev = spec.events[k];
    std::string part = "events[" + std::to_string(k) + "]";
    auto when = compile_part(part + ".when", ev.when, slots);
    if (!when) return when.error();
    m->event_conditions_.push_back(std::move(*when));
    if (ev.direction < -1 || ev.direction > 1) return status::invalid_argument(part + ": direction must be -1, 0 or 1");
    auto& sets = m->event_sets_.emplace_back();
    for (const auto& [name, text] : ev.set) {
      std::size_t index = spec.states.size();
      for (std::size_t i = 0; i < spec.states.size(); ++i) {
        if (spec.states[i].name == name) index = i;
      }
      if (index == spec.states.size()) {
        return status::invalid_argument(part + ".set." + name + ": only states can be set by an event; \"" + name +
                                        "\" is not a state");
      }
      auto value = compile_part(part + ".set." + name, text, slots);
      if (!value) return value.error();
      sets.emplace_back(index, std::move(*value));
    }
  }
  m->spec_ = std::move(spec);
  return std::shared_ptr<const equation_model>(std::move(m));
}

result<std::unique_ptr<equation_run>> equation_run::start(std::shared_ptr<const equation_model> model, double t0,
                                                          std::span<const std::pair<std::string, double>> parameters) {
  std::unique_ptr<equation_run> r(new equation_run());
  const equation_model& m = *model;
  const equation_spec& spec = m.spec_;
  r->model_ = std::move(model);
  r->values_.assign(m.slots_.size(), 0.0);
  r->values_[0] = t0;
  for (std::size_t i = 0; i < spec.parameters.size(); ++i) r->values_[m.parameter_slot(i)] = spec.parameters[i].value;
  for (std::size_t i = 0; i < spec.inputs.size(); ++i) r->values_[m.input_slot(i)] = spec.inputs[i].start;
  for (const auto& [name, value] : parameters) {
    auto slot = m.slots_.find(name);
    if (!slot || *slot < 1 || *slot >= m.input_slot(0)) {
      return status::invalid_argument("the equation model " + spec.name + " has no parameter \"" + name + "\"");
    }
    r->values_[*slot] = value;
  }
  std::vector<double> y0(spec.states.size());
  for (std::size_t i = 0; i < y0.size(); ++i) {
    y0[i] = m.starts_[i].eval(r->values_.data());
    r->values_[m.state_slot(i)] = y0[i];
  }
  r->compute_outputs();
  equation_run* self = r.get();
  ode_system sys;
  sys.states = spec.states.size();
  sys.rhs = [self](double t, const double* y, double* dy) {
    const equation_model& em = *self->model_;
    self->load_states(t, y);
    self->compute_outputs();
    for (std::size_t i = 0; i < em.derivatives_.size(); ++i) dy[i] = em.derivatives_[i].eval(self->values_.data());
  };
  sys.events = spec.events.size();
  if (sys.events) {
    sys.event_functions = [self](double t, const double* y, double* g) {
      const equation_model& em = *self->model_;
      self->load_states(t, y);
      self->compute_outputs();
      for (std::size_t i = 0; i < em.event_conditions_.size(); ++i) {
        g[i] = em.event_conditions_[i].eval(self->values_.data());
      }
    };
  }
  auto solver = ode_solver::create(std::move(sys), y0, t0, spec.solver);
  if (!solver) return status::failed_precondition("the equation model " + spec.name + ": " + solver.error().message());
  r->solver_ = std::move(*solver);
  return r;
}

result<std::unique_ptr<equation_run>> equation_run::restore(std::shared_ptr<const equation_model> model, double t0,
                                                            std::span<const double> values) {
  if (values.size() != model->slots_.size()) {
    return status::invalid_argument("the equation model " + model->spec_.name + " has " +
                                    std::to_string(model->slots_.size()) + " values, not " +
                                    std::to_string(values.size()));
  }
  auto r = start(model, t0);
  if (!r) return r.error();
  equation_run& run = **r;
  const std::size_t states = model->state_slot(0), outputs = model->output_slot(0);
  std::copy(values.begin() + 1, values.begin() + static_cast<std::ptrdiff_t>(outputs), run.values_.begin() + 1);
  run.compute_outputs();
  if (status st = run.solver_->reset(t0, values.subspan(states, outputs - states)); !st) return st;
  return r;
}

void equation_run::load_states(double t, const double* y) {
  values_[0] = t;
  const std::size_t first = model_->state_slot(0);
  for (std::size_t i = 0; i < model_->spec_.states.size(); ++i) values_[first + i] = y[i];
}

void equation_run::compute_outputs() {
  for (std::size_t i = 0; i < model_->outputs_.size(); ++i) {
    values_[model_->output_slot(i)] = model_->outputs_[i].eval(values_.data());
  }
}

status equation_run::set(std::string_view name, double value) {
  auto slot = model_->slots_.find(name);
  if (!slot || *slot < 1 || *slot >= model_->state_slot(0)) {
    return status::invalid_argument("the equation model " + model_->spec_.name + " has no input or parameter \"" +
                                    std::string(name) + "\"");
  }
  return set_slot(*slot, value);
}

status equation_run::set_slot(std::size_t slot, double value) {
  if (slot < 1 || slot >= model_->state_slot(0)) {
    return status::invalid_argument("the equation model " + model_->spec_.name + ": slot " + std::to_string(slot) +
                                    " is not an input or parameter");
  }
  values_[slot] = value;
  compute_outputs();
  // The right-hand side changed: the solver restarts from here rather than extrapolating
  // across the jump.
  return solver_->reset(time(), solver_->state());
}

status equation_run::advance(double t) {
  const equation_model& m = *model_;
  int at_same_time = 0;
  long fired = 0;
  const double from = time();
  double last_event = -std::numeric_limits<double>::infinity();
  while (time() < t) {
    auto stop = solver_->advance(t);
    if (!stop) return stop.error();
    load_states(stop->t, solver_->state().data());
    compute_outputs();
    if (stop->event < 0) break;
    const auto& ev = m.spec_.events[static_cast<std::size_t>(stop->event)];
    if (ev.direction != 0 && ev.direction != stop->direction) continue;  // the other way: not this event
    at_same_time = stop->t == last_event ? at_same_time + 1 : 0;
    last_event = stop->t;
    if (at_same_time > 1000) {
      return status::failed_precondition(
          "the equation model " + m.spec_.name + ": event " + std::to_string(stop->event) +
          " fired over 1,000 times at t=" + std::to_string(stop->t) + " without time passing");
    }
    // Events closing in on a point in time (a ball coming to rest bounces ever faster) would
    // never let the run reach t: as many events as the solver may take steps is the limit.
    if (++fired > m.spec_.solver.max_steps) {
      return status::failed_precondition(
          "the equation model " + m.spec_.name + ": over " + std::to_string(m.spec_.solver.max_steps) +
          " events between t=" + std::to_string(from) + " and t=" + std::to_string(stop->t) +
          " (events that close in on one instant; end them with a condition)");
    }
    ++events_fired_;
    // Every assignment sees the values from before the event.
    std::vector<double> next(solver_->state().begin(), solver_->state().end());
    for (const auto& [index, value] : m.event_sets_[static_cast<std::size_t>(stop->event)]) {
      next[index] = value.eval(values_.data());
    }
    load_states(stop->t, next.data());
    compute_outputs();
    if (status s = solver_->reset(stop->t, next); !s) return s;
  }
  return {};
}

status equation_run::set_states(std::span<const double> states) {
  const equation_spec& spec = model_->spec_;
  if (states.size() != spec.states.size()) {
    return status::invalid_argument("the equation model " + spec.name + " has " + std::to_string(spec.states.size()) +
                                    " states; " + std::to_string(states.size()) + " values were given");
  }
  for (std::size_t i = 0; i < states.size(); ++i) {
    if (!std::isfinite(states[i])) {
      return status::invalid_argument("the equation model " + spec.name + ": state " + spec.states[i].name +
                                      " cannot be set to " + std::to_string(states[i]));
    }
  }
  load_states(time(), states.data());
  compute_outputs();
  return solver_->reset(time(), states);
}

double equation_run::value(std::string_view name) const {
  auto slot = model_->slots_.find(name);
  return slot ? values_[*slot] : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace doppel::sim
