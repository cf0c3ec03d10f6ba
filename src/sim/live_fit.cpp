// fit_live (live.h): a live twin's tunable parameters fitted to its own history.
#include <algorithm>
#include <cmath>
#include <map>

#include "core/text.h"
#include "core/time.h"
#include "sim/estimate.h"
#include "sim/live.h"

namespace doppel::sim {

result<nlohmann::json> fit_live(const live_binding& b, const std::string& twin, std::span<const double> values,
                                const live_fit_request& request, const history_reader& read,
                                std::vector<std::pair<std::size_t, double>>& fitted) {
  const equation_model& eq = *b.equations;
  const auto& names = eq.slots().names();
  if (b.spec.tunable.empty()) {
    return status::invalid_argument("the binding of " + eq.spec().name +
                                    " declares no tunable parameters; list them in doppel.yaml under "
                                    "simulation.live[].tunable");
  }
  std::vector<std::string> tune = request.tune.empty() ? b.spec.tunable : request.tune;
  for (const std::string& n : tune) {
    if (std::find(b.spec.tunable.begin(), b.spec.tunable.end(), n) == b.spec.tunable.end()) {
      std::string list;
      for (const auto& k : b.spec.tunable) list += (list.empty() ? "" : ", ") + k;
      return status::invalid_argument("$.tune: " + quote(n) +
                                      " is not a tunable parameter of this binding; they are: " + list);
    }
  }
  if (b.measured.empty()) return status::invalid_argument("the binding measures nothing to fit to (measured:)");
  const std::int64_t to = request.to_ns, from = to - request.window_ns;
  auto value_of = [&](std::size_t slot) { return slot < values.size() ? values[slot] : std::nan(""); };

  // Rows at every time a bound telemetry or a measurement has a point in the window.
  fit_data d;
  struct column {
    std::vector<std::pair<std::int64_t, double>> points;
    double scale = 1, offset = 0;
  };
  std::vector<column> in_cols, y_cols;
  std::map<std::int64_t, int> times;
  for (const auto& in : b.inputs) {
    d.inputs.push_back(names[in.slot]);
    column c;
    if (in.source.from == live_source::kind::telemetry) {
      // From well before the window: the value held at its start.
      c.points = read(twin, in.source.name, from - request.window_ns, to + 1);
      c.scale = in.source.scale;
      c.offset = in.source.offset;
      for (const auto& [t, v] : c.points) {
        if (t >= from) times[t];
      }
    }
    in_cols.push_back(std::move(c));
  }
  for (const auto& m : b.measured) {
    d.measured.push_back(names[m.slot]);
    column c{read(twin, m.source.name, from, to + 1), m.source.scale, m.source.offset};
    for (const auto& [t, v] : c.points) times[t];
    y_cols.push_back(std::move(c));
  }
  if (times.empty()) {
    return status::invalid_argument("twin " + quote(twin) + " has no measurements from " + rfc3339_floor_ms(from) +
                                    " to " + rfc3339_floor_ms(to) + "; send telemetry first, or take a longer window");
  }
  std::vector<std::size_t> in_at(in_cols.size(), 0), y_at(y_cols.size(), 0);
  std::vector<double> held(in_cols.size());
  for (std::size_t i = 0; i < b.inputs.size(); ++i) {
    const auto& in = b.inputs[i];
    held[i] = in.source.from == live_source::kind::telemetry ? std::nan("") : value_of(in.slot);
    if (std::isnan(held[i])) held[i] = eq.spec().inputs[in.slot - eq.input_slot(0)].start;
  }
  const std::int64_t t0 = times.begin()->first;
  for (const auto& [t, unused] : times) {
    for (std::size_t i = 0; i < in_cols.size(); ++i) {
      auto& c = in_cols[i];
      while (in_at[i] < c.points.size() && c.points[in_at[i]].first <= t) {
        held[i] = c.points[in_at[i]++].second * c.scale + c.offset;
      }
    }
    d.time.push_back(static_cast<double>(t - t0) * 1e-9);
    d.u.insert(d.u.end(), held.begin(), held.end());
    for (std::size_t j = 0; j < y_cols.size(); ++j) {
      auto& c = y_cols[j];
      while (y_at[j] < c.points.size() && c.points[y_at[j]].first < t) ++y_at[j];
      bool here = y_at[j] < c.points.size() && c.points[y_at[j]].first == t;
      d.y.push_back(here ? c.points[y_at[j]].second * c.scale + c.offset : std::nan(""));
    }
  }
  // The states at the window's start, as the live run had them (its virtual sensors).
  for (std::size_t k = eq.state_slot(0); k < eq.output_slot(0); ++k) {
    auto p = read(twin, "sim." + names[k], t0 - request.window_ns, t0 + 1);
    if (!p.empty()) d.initial_states.emplace_back(names[k], p.back().second);
  }
  // Everything else as the run has it: the parameters, the tunables' starting values.
  std::vector<std::pair<std::string, double>> parameters;
  for (std::size_t k = eq.parameter_slot(0); k < eq.input_slot(0); ++k) {
    if (std::isfinite(value_of(k))) parameters.emplace_back(names[k], value_of(k));
  }
  fit_options options;
  options.max_iterations = request.max_iterations;
  auto report = fit_parameters(b.equations, d, tune, parameters, options);
  if (!report) return report.error();
  nlohmann::json params = nlohmann::json::object(), rms = nlohmann::json::object();
  for (std::size_t k = 0; k < report->after.size(); ++k) {
    params[report->after[k].first] = {{"before", report->before[k].second}, {"after", report->after[k].second}};
    fitted.emplace_back(*eq.slots().find(report->after[k].first), report->after[k].second);
  }
  for (std::size_t j = 0; j < b.measured.size(); ++j) {
    rms[b.measured[j].source.name] = {{"before", report->rms_before[j]}, {"after", report->rms_after[j]}};
  }
  return nlohmann::json{
      {"twin", twin},
      {"equations", b.spec.equations},
      {"window", {{"from", rfc3339_floor_ms(from)}, {"to", rfc3339_floor_ms(to)}, {"rows", d.time.size()}}},
      {"parameters", std::move(params)},
      {"rms", std::move(rms)},
      {"iterations", report->iterations},
      {"converged", report->converged},
      {"message", report->message}};
}

}  // namespace doppel::sim
