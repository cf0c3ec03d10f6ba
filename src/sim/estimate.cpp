#include "sim/estimate.h"

// Eigen only here: the header stays light for its callers (src/app, a live twin).
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

namespace doppel::sim {

namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();

using matrix = Eigen::MatrixXd;
using vector = Eigen::VectorXd;

// The model again with tighter solver tolerances. Finite differences divide the difference of
// two simulations by a small nudge, so the solver's own error has to be far below the change the
// nudge makes; `input_starts` (when given) replaces the inputs' start values, so that states
// starting from an expression of the inputs start from the window's first row.
result<std::shared_ptr<const equation_model>> tightened(const equation_model& m, double rtol,
                                                        std::span<const std::pair<std::size_t, double>> input_starts) {
  equation_spec s = m.spec();
  s.solver.rtol = std::min(s.solver.rtol, rtol);
  s.solver.atol = std::min(s.solver.atol, rtol * 1e-2);
  for (const auto& [index, value] : input_starts) s.inputs[index].start = value;
  auto r = equation_model::compile(std::move(s));
  if (!r) return status::internal("recompiling " + m.spec().name + ": " + r.error().message());
  return r;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

enum class slot_kind { time, parameter, input, state, output, unknown };

slot_kind kind_of(const equation_model& m, std::string_view name, std::size_t* slot = nullptr) {
  auto s = m.slots().find(name);
  if (!s) return slot_kind::unknown;
  if (slot) *slot = *s;
  if (*s == 0) return slot_kind::time;
  if (*s < m.input_slot(0)) return slot_kind::parameter;
  if (*s < m.state_slot(0)) return slot_kind::input;
  if (*s < m.output_slot(0)) return slot_kind::state;
  return slot_kind::output;
}

const char* kind_name(slot_kind k) {
  switch (k) {
    case slot_kind::time: return "the time";
    case slot_kind::parameter: return "a parameter";
    case slot_kind::input: return "an input";
    case slot_kind::state: return "a state";
    case slot_kind::output: return "an output";
    case slot_kind::unknown: break;
  }
  return "unknown";
}

std::string known_names(const equation_model& m, slot_kind a, slot_kind b = slot_kind::unknown) {
  std::string list;
  for (std::size_t i = 0; i < m.slots().size(); ++i) {
    const std::string& name = m.slots().names()[i];
    slot_kind k = kind_of(m, name);
    if (k == a || k == b) list += (list.empty() ? "" : ", ") + name;
  }
  return list.empty() ? "(none)" : list;
}

// Simulates a window for a set of parameter values; what each residual evaluation of the fit runs.
class window {
 public:
  window(std::shared_ptr<const equation_model> model, const fit_data& data) : model_(std::move(model)), data_(data) {}

  void prepare(std::span<const std::pair<std::string, double>> parameters) {
    const equation_model& m = *model_;
    for (const auto& name : data_.inputs) input_slots_.push_back(*m.slots().find(name));
    for (const auto& name : data_.measured) measured_slots_.push_back(*m.slots().find(name));
    parameters_.assign(parameters.begin(), parameters.end());
    for (const auto& [name, value] : data_.initial_states) {
      std::size_t slot = 0;
      kind_of(m, name, &slot);
      initial_.emplace_back(slot - m.state_slot(0), value);
    }
  }

  std::vector<std::pair<std::string, double>>& parameters() { return parameters_; }
  long simulations() const { return simulations_; }

  // The measured columns predicted at every row (rows x measured), into `out`.
  // failed_precondition when the simulation fails or predicts a value that is not finite.
  status simulate(std::vector<double>& out) {
    ++simulations_;
    const std::size_t rows = data_.time.size(), ni = input_slots_.size(), nm = measured_slots_.size();
    out.assign(rows * nm, k_nan);
    auto run = equation_run::start(model_, data_.time[0], parameters_);
    if (!run) return status::failed_precondition(run.error().message());
    equation_run& r = **run;
    if (!initial_.empty()) {
      const std::size_t first = model_->state_slot(0);
      std::vector<double> x(r.values().begin() + static_cast<std::ptrdiff_t>(first),
                            r.values().begin() + static_cast<std::ptrdiff_t>(first + model_->spec().states.size()));
      for (const auto& [index, value] : initial_) x[index] = value;
      if (status s = r.set_states(x); !s) return s;
    }
    for (std::size_t k = 0; k < rows; ++k) {
      if (status s = r.advance(data_.time[k]); !s) {
        return status::failed_precondition("simulating the window: " + s.message());
      }
      for (std::size_t c = 0; c < ni; ++c) {
        const double v = data_.u[k * ni + c];
        // Only a change restarts the solver (set() does): a held input costs nothing.
        if (r.values()[input_slots_[c]] == v) continue;
        if (status s = r.set(data_.inputs[c], v); !s) return s;
      }
      for (std::size_t c = 0; c < nm; ++c) {
        const double v = r.values()[measured_slots_[c]];
        if (!std::isfinite(v) && std::isfinite(data_.y[k * nm + c])) {
          return status::failed_precondition("simulating the window: " + data_.measured[c] +
                                             " is not finite at t=" + std::to_string(data_.time[k]));
        }
        out[k * nm + c] = v;
      }
    }
    return {};
  }

 private:
  std::shared_ptr<const equation_model> model_;
  const fit_data& data_;
  std::vector<std::size_t> input_slots_, measured_slots_;
  std::vector<std::pair<std::string, double>> parameters_;
  std::vector<std::pair<std::size_t, double>> initial_;  // (state index, value)
  long simulations_ = 0;
};

status check_data(const equation_model& m, const fit_data& d) {
  const std::size_t rows = d.time.size();
  if (rows == 0) return status::invalid_argument("the window is empty: it needs at least one row");
  if (d.measured.empty()) return status::invalid_argument("nothing is measured: name at least one output or state");
  if (d.u.size() != rows * d.inputs.size()) {
    return status::invalid_argument("u has " + std::to_string(d.u.size()) + " values; " + std::to_string(rows) +
                                    " rows x " + std::to_string(d.inputs.size()) + " inputs need " +
                                    std::to_string(rows * d.inputs.size()));
  }
  if (d.y.size() != rows * d.measured.size()) {
    return status::invalid_argument("y has " + std::to_string(d.y.size()) + " values; " + std::to_string(rows) +
                                    " rows x " + std::to_string(d.measured.size()) + " measured need " +
                                    std::to_string(rows * d.measured.size()));
  }
  std::set<std::string> seen;
  for (const auto& name : d.inputs) {
    if (kind_of(m, name) != slot_kind::input) {
      return status::invalid_argument("\"" + name + "\" is not an input of " + m.spec().name +
                                      "; its inputs: " + known_names(m, slot_kind::input));
    }
    if (!seen.insert(name).second) return status::invalid_argument("the input " + name + " is given twice");
  }
  for (const auto& name : d.measured) {
    slot_kind k = kind_of(m, name);
    if (k != slot_kind::state && k != slot_kind::output) {
      return status::invalid_argument(
          "\"" + name + "\" cannot be measured: it is " +
          (k == slot_kind::unknown ? std::string("not a name of ") + m.spec().name : std::string(kind_name(k))) +
          "; outputs and states can: " + known_names(m, slot_kind::state, slot_kind::output));
    }
    if (!seen.insert(name).second) return status::invalid_argument(name + " is given twice");
  }
  for (const auto& [name, value] : d.initial_states) {
    if (kind_of(m, name) != slot_kind::state) {
      return status::invalid_argument("initial state \"" + name + "\" is not a state of " + m.spec().name +
                                      "; its states: " + known_names(m, slot_kind::state));
    }
    if (!std::isfinite(value)) return status::invalid_argument("initial state " + name + " is not a finite number");
  }
  for (std::size_t k = 0; k < rows; ++k) {
    if (!std::isfinite(d.time[k]))
      return status::invalid_argument("row " + std::to_string(k + 1) + ": the time is not finite");
    if (k && d.time[k] < d.time[k - 1]) {
      return status::invalid_argument("row " + std::to_string(k + 1) +
                                      ": the time goes back; rows must be in time order");
    }
  }
  for (std::size_t i = 0; i < d.u.size(); ++i) {
    if (!std::isfinite(d.u[i])) {
      return status::invalid_argument("row " + std::to_string(i / d.inputs.size() + 1) + ": input " +
                                      d.inputs[i % d.inputs.size()] + " is not a finite number");
    }
  }
  if (std::none_of(d.y.begin(), d.y.end(), [](double v) { return std::isfinite(v); })) {
    return status::invalid_argument("the window holds no measurement: every measured value is missing (NaN)");
  }
  return {};
}

}  // namespace

// The least-squares loop is our own Levenberg-Marquardt on Eigen's dense algebra rather than
// Eigen's unsupported LevenbergMarquardt module: that module has no bounds, throws nothing but
// also reports nothing when a residual evaluation fails (a simulation that does not finish must
// refuse the step, not end the fit), and its numerical Jacobian uses a step the solver's error
// would swamp. The loop is Marquardt's scaled damping with Nielsen's update of the damping.
result<fit_report> fit_parameters(std::shared_ptr<const equation_model> model, const fit_data& data,
                                  std::span<const std::string> tunable,
                                  std::span<const std::pair<std::string, double>> parameters,
                                  const fit_options& options) {
  if (!model) return status::invalid_argument("no model");
  const equation_model& m = *model;
  if (status s = check_data(m, data); !s) return s;
  if (tunable.empty()) return status::invalid_argument("no tunable parameter: name at least one");
  if (options.max_iterations < 1) return status::invalid_argument("max_iterations must be at least 1");
  if (!(options.tolerance > 0)) return status::invalid_argument("the tolerance must be positive");

  // Every parameter's value: the spec's, then `parameters`; the tunables' are the start.
  std::vector<std::pair<std::string, double>> values;
  for (const auto& p : m.spec().parameters) values.emplace_back(p.name, p.value);
  for (const auto& [name, value] : parameters) {
    if (kind_of(m, name) != slot_kind::parameter) {
      return status::invalid_argument("\"" + name + "\" is not a parameter of " + m.spec().name +
                                      "; its parameters: " + known_names(m, slot_kind::parameter));
    }
    if (!std::isfinite(value)) return status::invalid_argument("parameter " + name + " is not a finite number");
    for (auto& v : values) {
      if (v.first == name) v.second = value;
    }
  }
  const std::size_t n = tunable.size();
  std::vector<std::size_t> index(n);  // into `values`
  for (std::size_t j = 0; j < n; ++j) {
    slot_kind k = kind_of(m, tunable[j]);
    if (k != slot_kind::parameter) {
      return status::invalid_argument(
          "cannot tune \"" + tunable[j] + "\": it is " +
          (k == slot_kind::unknown ? std::string("not a name of ") + m.spec().name : std::string(kind_name(k))) +
          "; only parameters can be tuned: " + known_names(m, slot_kind::parameter));
    }
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (values[i].first == tunable[j]) index[j] = i;
    }
    for (std::size_t i = 0; i < j; ++i) {
      if (tunable[i] == tunable[j]) return status::invalid_argument("the tunable " + tunable[j] + " is given twice");
    }
  }
  vector lo = vector::Constant(static_cast<Eigen::Index>(n), -std::numeric_limits<double>::infinity());
  vector hi = vector::Constant(static_cast<Eigen::Index>(n), std::numeric_limits<double>::infinity());
  vector p(static_cast<Eigen::Index>(n));
  for (std::size_t j = 0; j < n; ++j) p[static_cast<Eigen::Index>(j)] = values[index[j]].second;
  for (const auto& [name, bound] : options.bounds) {
    auto it = std::find(tunable.begin(), tunable.end(), name);
    if (it == tunable.end()) return status::invalid_argument("bounds for " + name + ", which is not tuned");
    const auto j = static_cast<Eigen::Index>(it - tunable.begin());
    if (std::isnan(bound.first) || std::isnan(bound.second) || bound.first > bound.second) {
      return status::invalid_argument("the bounds of " + name + " are not an interval (low <= high)");
    }
    if (p[j] < bound.first || p[j] > bound.second) {
      return status::invalid_argument("the start of " + name + " (" + std::to_string(p[j]) +
                                      ") is outside its bounds [" + std::to_string(bound.first) + ", " +
                                      std::to_string(bound.second) + "]");
    }
    lo[j] = bound.first;
    hi[j] = bound.second;
  }

  std::vector<std::pair<std::size_t, double>> starts;
  for (std::size_t c = 0; c < data.inputs.size(); ++c) {
    for (std::size_t i = 0; i < m.spec().inputs.size(); ++i) {
      if (m.spec().inputs[i].name == data.inputs[c]) starts.emplace_back(i, data.u[c]);
    }
  }
  auto fine = tightened(m, 1e-9, starts);
  if (!fine) return fine.error();
  window w(*fine, data);
  w.prepare(values);

  // The residuals: the measured entries only, each column divided by its spread (its standard
  // deviation; a flat column by a thousandth of its size, so that it still counts).
  const std::size_t rows = data.time.size(), nm = data.measured.size();
  std::vector<std::size_t> entries;  // indices into y of the measured values
  std::vector<double> scale(nm, 1.0);
  for (std::size_t c = 0; c < nm; ++c) {
    double sum = 0, big = 0;
    std::size_t count = 0;
    for (std::size_t k = 0; k < rows; ++k) {
      const double v = data.y[k * nm + c];
      if (!std::isfinite(v)) continue;
      entries.push_back(k * nm + c);
      sum += v;
      big = std::max(big, std::abs(v));
      ++count;
    }
    if (count == 0) continue;
    // Two passes: a temperature of 300 K that moves by millikelvins keeps its spread.
    const double mean = sum / static_cast<double>(count);
    double sq = 0;
    for (std::size_t k = 0; k < rows; ++k) {
      const double v = data.y[k * nm + c];
      if (std::isfinite(v)) sq += (v - mean) * (v - mean);
    }
    const double spread = std::sqrt(sq / static_cast<double>(count));
    scale[c] = std::max(spread, 1e-3 * big);
    if (!(scale[c] > 0)) scale[c] = 1.0;
  }
  std::sort(entries.begin(), entries.end());
  const auto rcount = static_cast<Eigen::Index>(entries.size());

  std::vector<double> predicted;
  auto set_tunables = [&](const vector& at) {
    for (std::size_t j = 0; j < n; ++j) w.parameters()[index[j]].second = at[static_cast<Eigen::Index>(j)];
  };
  auto residuals = [&](const vector& at, vector& r) -> status {
    set_tunables(at);
    if (status s = w.simulate(predicted); !s) return s;
    r.resize(rcount);
    for (Eigen::Index e = 0; e < rcount; ++e) {
      const std::size_t i = entries[static_cast<std::size_t>(e)];
      r[e] = (predicted[i] - data.y[i]) / scale[i % nm];
    }
    return {};
  };
  auto rms = [&](const vector& r) {
    std::vector<double> sum(nm, 0.0), count(nm, 0.0);
    for (Eigen::Index e = 0; e < rcount; ++e) {
      const std::size_t c = entries[static_cast<std::size_t>(e)] % nm;
      const double d = r[e] * scale[c];
      sum[c] += d * d;
      count[c] += 1;
    }
    std::vector<double> out(nm, k_nan);
    for (std::size_t c = 0; c < nm; ++c) {
      if (count[c] > 0) out[c] = std::sqrt(sum[c] / count[c]);
    }
    return out;
  };

  fit_report rep;
  for (std::size_t j = 0; j < n; ++j) rep.before.emplace_back(tunable[j], p[static_cast<Eigen::Index>(j)]);
  vector r;
  if (status s = residuals(p, r); !s) {
    return status::failed_precondition("at the starting values: " + s.message());
  }
  rep.rms_before = rms(r);
  double cost = 0.5 * r.squaredNorm();
  const vector start = p;

  matrix jac(rcount, static_cast<Eigen::Index>(n));
  vector d = vector::Zero(static_cast<Eigen::Index>(n));  // Marquardt's scaling: the largest diag(J'J) seen
  vector r_trial, r_nudged;
  double lambda = 1e-3, grow = 2;
  rep.message = "max_iterations reached";
  for (int iter = 0; iter < options.max_iterations; ++iter) {
    ++rep.iterations;
    // Forward differences with a nudge relative to the parameter's size; the simulations run
    // at rtol 1e-9, so the solver's error stays well under the change a 1e-5 nudge makes.
    for (std::size_t j = 0; j < n; ++j) {
      const auto jj = static_cast<Eigen::Index>(j);
      double h = 1e-5 * std::max({std::abs(p[jj]), std::abs(start[jj]), 1e-8});
      if (p[jj] + h > hi[jj]) h = -h;
      vector nudged = p;
      nudged[jj] += h;
      if (status s = residuals(nudged, r_nudged); !s) {
        // The other side, when one side of the parameter does not simulate.
        h = -h;
        nudged[jj] = p[jj] + h;
        if (nudged[jj] < lo[jj] || !residuals(nudged, r_nudged)) {
          return status::failed_precondition("nudging " + tunable[j] + " from " + number(p[jj]) + ": " + s.message());
        }
      }
      jac.col(jj) = (r_nudged - r) / h;
    }
    if (iter == 0) {
      for (std::size_t j = 0; j < n; ++j) {
        if (jac.col(static_cast<Eigen::Index>(j)).cwiseAbs().maxCoeff() == 0) {
          std::string held;  // inputs the data does not give: a common reason
          for (const auto& in : m.spec().inputs) {
            if (std::find(data.inputs.begin(), data.inputs.end(), in.name) == data.inputs.end()) {
              held += (held.empty() ? "" : ", ") + in.name + "=" + number(in.start);
            }
          }
          return status::invalid_argument(
              "tuning " + tunable[j] + " changes none of the measured columns (" + std::to_string(nm) +
              " of them); it cannot be fitted from this data" +
              (held.empty() ? "" : " (the inputs it has no column for stay at their start: " + held + ")"));
        }
      }
    }
    const matrix a = jac.transpose() * jac;
    const vector g = jac.transpose() * r;
    d = d.cwiseMax(a.diagonal());
    const double floor = 1e-12 * d.maxCoeff();
    const vector damping = d.cwiseMax(floor);
    // MINPACK's gradient test: the residuals are orthogonal to every direction a parameter
    // moves them (the cosine of each angle below the tolerance), which no step can improve.
    double cosine = 0;
    for (Eigen::Index j = 0; j < a.rows(); ++j) {
      if (a(j, j) > 0) cosine = std::max(cosine, std::abs(g[j]) / std::sqrt(a(j, j) * 2 * cost));
    }
    if (cost == 0 || cosine <= options.tolerance) {
      rep.converged = true;
      rep.message = cost == 0 ? "the residuals are zero" : "the gradient vanished";
      break;
    }
    bool accepted = false, done = false;
    for (int attempt = 0; attempt < 30 && !accepted && !done; ++attempt) {
      matrix damped = a;
      damped.diagonal() += lambda * damping;
      const vector step = damped.ldlt().solve(-g);
      const vector trial = (p + step).cwiseMax(lo).cwiseMin(hi);
      const vector taken = trial - p;
      // Each parameter relative to its own size: they come in different units.
      if (((taken.array().abs() - options.tolerance * (p.array().abs() + options.tolerance)) <= 0).all()) {
        rep.converged = true;
        rep.message = "the step became smaller than the tolerance";
        done = true;
        break;
      }
      if (status s = residuals(trial, r_trial); !s) {  // a failed simulation refuses the step
        lambda *= grow;
        grow *= 2;
        continue;
      }
      const double trial_cost = 0.5 * r_trial.squaredNorm();
      const double predicted_gain = -(g.dot(taken) + 0.5 * taken.dot(a * taken));
      if (trial_cost < cost) {
        const double rho = predicted_gain > 0 ? (cost - trial_cost) / predicted_gain : 0.5;
        lambda *= std::max(1.0 / 3, 1 - std::pow(2 * rho - 1, 3));
        grow = 2;
        const double gain = (cost - trial_cost) / cost;
        p = trial;
        r = r_trial;
        cost = trial_cost;
        accepted = true;
        if (gain <= options.tolerance) {
          rep.converged = true;
          rep.message = "the cost changed less than the tolerance";
          done = true;
        }
      } else {
        lambda *= grow;
        grow *= 2;
      }
    }
    if (done) break;
    if (!accepted) {
      rep.message = "no step lowered the cost (30 tries with growing damping)";
      break;
    }
  }
  for (std::size_t j = 0; j < n; ++j) rep.after.emplace_back(tunable[j], p[static_cast<Eigen::Index>(j)]);
  rep.rms_after = rms(r);
  rep.simulations = w.simulations();
  return rep;
}

// The observer -----------------------------------------------------------------------------------

result<std::unique_ptr<state_observer>> state_observer::start(
    std::shared_ptr<const equation_model> model, double t0, std::span<const std::pair<std::string, double>> parameters,
    std::vector<std::string> measured, observer_options options) {
  if (!model) return status::invalid_argument("no model");
  const equation_model& m = *model;
  const std::size_t n = m.spec().states.size();
  std::unique_ptr<state_observer> o(new state_observer());
  // Tighter tolerances, for the same reason as the fit: the transition is differenced.
  auto fine = tightened(m, 1e-8, {});
  if (!fine) return fine.error();
  o->model_ = *fine;
  if (measured.empty()) return status::invalid_argument("nothing is measured: name at least one output or state");
  std::set<std::string> seen;
  for (const auto& name : measured) {
    std::size_t slot = 0;
    slot_kind k = kind_of(m, name, &slot);
    if (k != slot_kind::state && k != slot_kind::output) {
      return status::invalid_argument(
          "\"" + name + "\" cannot be measured: it is " +
          (k == slot_kind::unknown ? std::string("not a name of ") + m.spec().name : std::string(kind_name(k))) +
          "; outputs and states can: " + known_names(m, slot_kind::state, slot_kind::output));
    }
    if (!seen.insert(name).second) return status::invalid_argument(name + " is measured twice");
    o->measured_slots_.push_back(slot);
  }
  o->q_.assign(n, 1e-4);
  o->r_.assign(measured.size(), 1e-2);
  std::vector<double> p0(n, 1.0);
  auto per_state = [&](const std::vector<std::pair<std::string, double>>& list, const char* what, bool zero_ok,
                       std::vector<double>& out) -> status {
    for (const auto& [name, value] : list) {
      std::size_t slot = 0;
      if (kind_of(m, name, &slot) != slot_kind::state) {
        return status::invalid_argument(std::string(what) + ": \"" + name + "\" is not a state of " + m.spec().name +
                                        "; its states: " + known_names(m, slot_kind::state));
      }
      if (!std::isfinite(value) || value < 0 || (!zero_ok && value == 0)) {
        return status::invalid_argument(std::string(what) + " of " + name + " must be a " +
                                        (zero_ok ? "non-negative" : "positive") + " number");
      }
      out[slot - m.state_slot(0)] = value;
    }
    return {};
  };
  if (status s = per_state(options.process_noise, "process noise", true, o->q_); !s) return s;
  if (status s = per_state(options.initial_variance, "initial variance", false, p0); !s) return s;
  for (const auto& [name, value] : options.measurement_noise) {
    auto it = std::find(measured.begin(), measured.end(), name);
    if (it == measured.end())
      return status::invalid_argument("measurement noise for " + name + ", which is not measured");
    if (!std::isfinite(value) || !(value > 0)) {
      return status::invalid_argument("measurement noise of " + name + " must be a positive number");
    }
    o->r_[static_cast<std::size_t>(it - measured.begin())] = value;
  }
  auto run = equation_run::start(o->model_, t0, parameters);
  if (!run) return run.error();
  o->run_ = std::move(*run);
  for (std::size_t j = 0; j < n; ++j) {
    auto nudged = equation_run::start(o->model_, t0, parameters);
    if (!nudged) return nudged.error();
    o->nudged_.push_back(std::move(*nudged));
  }
  o->p_.assign(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) o->p_[i * n + i] = p0[i];
  o->variance_ = p0;
  return o;
}

double state_observer::time() const { return run_->time(); }

status state_observer::set_states(std::span<const double> states) {
  if (!failed_.empty()) return status::failed_precondition(failed_);
  return run_->set_states(states);
}

double state_observer::value(std::string_view name) const { return run_->value(name); }

status state_observer::set_input(std::string_view name, double value) {
  if (kind_of(*model_, name) != slot_kind::input) {
    return status::invalid_argument("\"" + std::string(name) + "\" is not an input of " + model_->spec().name +
                                    "; its inputs: " + known_names(*model_, slot_kind::input));
  }
  if (!std::isfinite(value)) return status::invalid_argument("input " + std::string(name) + " must be finite");
  if (!failed_.empty()) return status::failed_precondition(failed_);
  if (status s = run_->set(name, value); !s) return s;
  for (auto& r : nudged_) {
    if (status s = r->set(name, value); !s) return s;
  }
  return {};
}

namespace {

// The nudge of state j for finite differences: relative to its size or its uncertainty.
double nudge(double x, double variance) { return 1e-4 * std::max({std::abs(x), std::sqrt(variance), 1e-6}); }

std::vector<double> states_of(const equation_run& r, const equation_model& m) {
  const auto first = static_cast<std::ptrdiff_t>(m.state_slot(0));
  return {r.values().begin() + first, r.values().begin() + first + static_cast<std::ptrdiff_t>(m.spec().states.size())};
}

}  // namespace

status state_observer::fail(std::string message) {
  failed_ = "the observer failed earlier (" + message + "); start a new one";
  return status::failed_precondition(std::move(message));
}

status state_observer::predict(double t) {
  if (!(t >= time())) {
    return status::invalid_argument("predict to t=" + std::to_string(t) + ", before the observer's time " +
                                    std::to_string(time()));
  }
  if (!failed_.empty()) return status::failed_precondition(failed_);
  if (t == time()) return {};
  const std::size_t n = q_.size();
  const double dt = t - time();
  const std::vector<double> x0 = states_of(*run_, *model_);
  std::vector<double> h(n);
  // The nudged runs first: when one fails, the observer's own run has not moved yet.
  for (std::size_t j = 0; j < n; ++j) {
    std::vector<double> x = x0;
    h[j] = nudge(x0[j], variance_[j]);
    x[j] += h[j];
    if (status s = nudged_[j]->set_states(x); !s) return s;
    if (status s = nudged_[j]->advance(t); !s) return fail("predict to t=" + std::to_string(t) + ": " + s.message());
  }
  if (status s = run_->advance(t); !s) return fail("predict to t=" + std::to_string(t) + ": " + s.message());
  const std::vector<double> x1 = states_of(*run_, *model_);
  matrix f(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
  for (std::size_t j = 0; j < n; ++j) {
    const std::vector<double> xj = states_of(*nudged_[j], *model_);
    for (std::size_t i = 0; i < n; ++i) {
      f(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = (xj[i] - x1[i]) / h[j];
    }
  }
  const auto ni = static_cast<Eigen::Index>(n);
  Eigen::Map<matrix> p(p_.data(), ni, ni);  // symmetric: row- or column-major alike
  matrix next = f * p * f.transpose();
  for (Eigen::Index i = 0; i < ni; ++i) next(i, i) += q_[static_cast<std::size_t>(i)] * dt;
  p = 0.5 * (next + next.transpose());
  for (std::size_t i = 0; i < n; ++i) variance_[i] = p_[i * n + i];
  return {};
}

status state_observer::update(std::span<const double> measured) {
  if (measured.size() != measured_slots_.size()) {
    return status::invalid_argument("update with " + std::to_string(measured.size()) + " values for " +
                                    std::to_string(measured_slots_.size()) + " measured names");
  }
  if (!failed_.empty()) return status::failed_precondition(failed_);
  std::vector<std::size_t> present;
  for (std::size_t k = 0; k < measured.size(); ++k) {
    if (std::isfinite(measured[k])) present.push_back(k);
  }
  if (present.empty()) return {};
  const std::size_t n = q_.size();
  const auto ni = static_cast<Eigen::Index>(n), mi = static_cast<Eigen::Index>(present.size());
  const std::vector<double> x0 = states_of(*run_, *model_);
  vector innovation(mi);
  for (Eigen::Index k = 0; k < mi; ++k) {
    const std::size_t c = present[static_cast<std::size_t>(k)];
    innovation[k] = measured[c] - run_->values()[measured_slots_[c]];
  }
  // The measurement Jacobian: the nudged runs stand at time() too, so each evaluates the outputs
  // with one state nudged (set_states recomputes them).
  matrix h(mi, ni);
  for (std::size_t j = 0; j < n; ++j) {
    std::vector<double> x = x0;
    const double step = nudge(x0[j], variance_[j]);
    x[j] += step;
    if (status s = nudged_[j]->set_states(x); !s) return s;
    for (Eigen::Index k = 0; k < mi; ++k) {
      const std::size_t slot = measured_slots_[present[static_cast<std::size_t>(k)]];
      h(k, static_cast<Eigen::Index>(j)) = (nudged_[j]->values()[slot] - run_->values()[slot]) / step;
    }
  }
  matrix r = matrix::Zero(mi, mi);
  for (Eigen::Index k = 0; k < mi; ++k) r(k, k) = r_[present[static_cast<std::size_t>(k)]];
  const matrix p = Eigen::Map<const matrix>(p_.data(), ni, ni);
  const matrix s = h * p * h.transpose() + r;
  Eigen::LLT<matrix> llt(s);
  if (llt.info() != Eigen::Success) {
    return status::failed_precondition("update: the innovation covariance is not positive definite");
  }
  // K = P H' S^-1, from S K' = H P (P and S symmetric).
  const matrix k = llt.solve(h * p).transpose();
  const vector dx = k * innovation;
  std::vector<double> x1 = x0;
  for (std::size_t i = 0; i < n; ++i) x1[i] += dx[static_cast<Eigen::Index>(i)];
  if (status st = run_->set_states(x1); !st) return status::failed_precondition("update: " + st.message());
  // Joseph's form keeps P symmetric and positive where the short form (I - KH) P may not.
  const matrix a = matrix::Identity(ni, ni) - k * h;
  matrix next = a * p * a.transpose() + k * r * k.transpose();
  Eigen::Map<matrix>(p_.data(), ni, ni) = 0.5 * (next + next.transpose());
  for (std::size_t i = 0; i < n; ++i) variance_[i] = p_[i * n + i];
  return {};
}

}  // namespace doppel::sim
