#include "sim/live.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/prometheus.h"
#include "core/text.h"
#include "core/time.h"
#include "sim/estimate.h"

namespace doppel::sim {

namespace {

// The content a twin's value is named by: "speed", or "motor.power" for a component's.
const model::content* find_value(const model::interface& m, std::string_view name) {
  if (const model::content* c = m.find(name)) return c;
  auto dot = name.find('.');
  if (dot == std::string_view::npos) return nullptr;
  const model::content* comp = m.find(name.substr(0, dot));
  if (!comp || comp->kind != model::content_kind::component || !comp->component) return nullptr;
  return comp->component->find(name.substr(dot + 1));
}

bool numeric_or_boolean(const model::content& c) {
  if (!c.type || c.type->type != model::schema::kind::primitive) return false;
  auto p = c.type->primitive;
  return p == model::primitive_kind::boolean || p == model::primitive_kind::double_ ||
         p == model::primitive_kind::float_ || p == model::primitive_kind::integer || p == model::primitive_kind::long_;
}

// Empty when `s` can feed the equations from twins of `m`; else what is wrong.
std::string check_source(const live_source& s, const model::interface& m, bool telemetry_allowed) {
  if (s.from == live_source::kind::constant) return {};
  if (!std::isfinite(s.scale) || !std::isfinite(s.offset)) return "scale and offset must be finite numbers";
  const model::content* c = find_value(m, s.name);
  const char* what = s.from == live_source::kind::telemetry ? "telemetry" : "property";
  if (!c) {
    return m.id + " has no " + what + " " + quote(s.name) + " (a component's is written component.name); GET /models/" +
           m.id + " lists its contents";
  }
  if (s.from == live_source::kind::telemetry) {
    if (!telemetry_allowed) return "parameters come from properties or constants ({property: NAME} or {value: 1.5})";
    if (c->kind != model::content_kind::telemetry) {
      return quote(s.name) + " of " + m.id + " is a " + std::string(model::to_string(c->kind)) +
             ", not a telemetry; write {property: " + s.name + "} for a property";
    }
  } else if (c->kind != model::content_kind::property) {
    return quote(s.name) + " of " + m.id + " is a " + std::string(model::to_string(c->kind)) +
           ", not a property; write {telemetry: " + s.name + "} for a telemetry";
  }
  if (!numeric_or_boolean(*c)) {
    return quote(s.name) + " of " + m.id + " is " + (c->type ? c->type->describe() : std::string("not a value")) +
           "; the equations take numbers (double, float, integer, long) or booleans";
  }
  return {};
}

// A value of the twin's document by name ("ratedFlow", "motor.ratedPower"); NaN when absent or
// not a number.
double property_value(const nlohmann::json& twin, std::string_view name) {
  const nlohmann::json* at = &twin;
  auto dot = name.find('.');
  if (dot != std::string_view::npos) {
    auto comp = at->find(std::string(name.substr(0, dot)));
    if (comp == at->end() || !comp->is_object()) return std::nan("");
    at = &*comp;
    name.remove_prefix(dot + 1);
  }
  auto v = at->find(std::string(name));
  if (v == at->end()) return std::nan("");
  if (v->is_number()) return v->get<double>();
  if (v->is_boolean()) return v->get<bool>() ? 1 : 0;
  return std::nan("");
}

double sample_value(const ts::sample& s) {
  switch (s.type) {
    case ts::value_type::f64: return s.f;
    case ts::value_type::i64:
    case ts::value_type::boolean: return static_cast<double>(s.i);
    default: return std::nan("");
  }
}

__extension__ using wide = __int128;  // for sums of times that may pass the ends of int64

// The first multiple of step at or after t; INT64_MAX when there is none (readings may carry
// any time from 1677 to 2262, and a run never writes past the end of time).
std::int64_t next_multiple(std::int64_t t, std::int64_t step) {
  wide q = static_cast<wide>(t) / step * step;
  if (q < t) q += step;
  return q > INT64_MAX ? INT64_MAX : static_cast<std::int64_t>(q);
}

// b - a without overflow (times at the ends of the range are far apart).
wide gap(std::int64_t a, std::int64_t b) { return static_cast<wide>(b) - a; }

// t + d, held at INT64_MAX.
std::int64_t later(std::int64_t t, std::int64_t d) { return gap(-d, t) > INT64_MAX ? INT64_MAX : t + d; }

}  // namespace

result<live_binding> bind(live_spec spec, std::shared_ptr<const equation_model> equations,
                          const model::interface& twins) {
  const equation_model& eq = *equations;
  const symbols& slots = eq.slots();
  const std::size_t params = eq.parameter_slot(0), inputs = eq.input_slot(0), states = eq.state_slot(0),
                    outputs = eq.output_slot(0), end = slots.size();
  live_binding b;
  auto known = [&](std::size_t from, std::size_t to) {
    std::string list;
    for (std::size_t k = from; k < to; ++k) list += (list.empty() ? "" : ", ") + slots.names()[k];
    return list.empty() ? std::string("none") : list;
  };
  auto fail = [](const std::string& where, const std::string& why) {
    return status::invalid_argument(where + ": " + why);
  };
  struct part {
    const char* key;
    std::vector<std::pair<std::string, live_source>>* specs;
    std::vector<live_binding::bound>* out;
    std::size_t from, to;  // the slots its names may take
    const char* what;
  };
  part parts[] = {
      {"inputs", &spec.inputs, &b.inputs, inputs, states, "input"},
      {"parameters", &spec.parameters, &b.parameters, params, inputs, "parameter"},
      {"measured", &spec.measured, &b.measured, states, end, "state or output"},
  };
  for (const part& p : parts) {
    for (const auto& [name, source] : *p.specs) {
      std::string where = std::string(p.key) + "." + name;
      auto slot = slots.find(name);
      if (!slot || *slot < p.from || *slot >= p.to) {
        return fail(where, "the equation model " + eq.spec().name + " has no " + p.what + " " + quote(name) + "; its " +
                               p.key + " can be: " + known(p.from, p.to));
      }
      if (std::string_view(p.key) == "measured" && source.from != live_source::kind::telemetry) {
        return fail(where, "a measured value comes from a telemetry: {telemetry: NAME}");
      }
      if (std::string why = check_source(source, twins, std::string_view(p.key) != "parameters"); !why.empty()) {
        return fail(where, why);
      }
      std::string series = std::string_view(p.key) == "measured" ? "residual." + source.name : std::string();
      p.out->push_back({*slot, source, std::move(series)});
    }
  }
  if (spec.outputs.empty()) {
    for (std::size_t k = states; k < end; ++k) b.outputs.push_back({k, "sim." + slots.names()[k]});
  }
  for (const std::string& name : spec.outputs) {
    auto slot = slots.find(name);
    if (!slot || *slot < states) {
      return fail("outputs." + name, "the equation model " + eq.spec().name + " has no state or output " + quote(name) +
                                         "; its states and outputs are: " + known(states, end));
    }
    b.outputs.push_back({*slot, "sim." + name});
  }
  (void)outputs;
  for (const std::string& name : spec.tunable) {
    auto slot = slots.find(name);
    if (!slot || *slot < params || *slot >= inputs) {
      return fail("tunable." + name, "the equation model " + eq.spec().name + " has no parameter " + quote(name) +
                                         "; its parameters are: " + known(params, inputs));
    }
    for (const auto& p : b.parameters) {
      if (p.slot == *slot && p.source.from == live_source::kind::property) {
        return fail("tunable." + name, "it is bound to the property " + quote(p.source.name) +
                                           ", which would set it back; a tunable parameter takes its value from the "
                                           "equations or a constant");
      }
    }
  }
  if (spec.observer) {
    std::vector<std::string> measured;
    for (const auto& m : b.measured) measured.push_back(slots.names()[m.slot]);
    if (measured.empty()) return fail("observer", "an observer needs measured values (measured:)");
    observer_options o{spec.process_noise, spec.measurement_noise, {}};
    auto probe = state_observer::start(equations, 0, {}, measured, o);
    if (!probe) return fail("observer", probe.error().message());
  } else if (!spec.process_noise.empty() || !spec.measurement_noise.empty()) {
    return fail("observer",
                "noise is given but no observer: write observer: {process_noise: ..., measurement_noise: ...}");
  }
  for (const char* reserved : {"sim", "residual"}) {
    if (const model::content* c = twins.find(reserved)) {
      return fail("model", twins.id + " has a " + std::string(model::to_string(c->kind)) + " named " + quote(reserved) +
                               ", which would read like the live run's " + reserved +
                               ".<name> series; rename it in the model");
    }
  }
  if (spec.interval_ns <= 0) return fail("interval", "must be a positive duration such as 1s");
  if (spec.resync_after_ns < spec.interval_ns) return fail("resync_after", "must be at least the interval");
  if (spec.refresh_ns <= 0 || spec.retry_after_ns <= 0) return fail("refresh", "durations must be positive");
  b.spec = std::move(spec);
  b.equations = std::move(equations);
  return b;
}

// ---------------------------------------------------------------------------------------------

std::shared_ptr<live_board::entry> live_board::enter(const std::string& twin,
                                                     std::shared_ptr<const live_binding> binding) {
  auto e = std::make_shared<entry>();
  e->binding = std::move(binding);
  std::lock_guard lock(mu_);
  twins_[twin] = e;
  return e;
}

void live_board::update(entry& e, bool running, std::string_view error, std::int64_t started_ns, std::int64_t time_ns,
                        std::int64_t failures, std::span<const double> values) {
  std::lock_guard lock(mu_);
  e.running = running;
  if (e.error != error) e.error = error;
  e.started_ns = started_ns;
  e.time_ns = time_ns;
  e.failures = failures;
  if (!values.empty()) e.values.assign(values.begin(), values.end());  // a failed run shows its last
}

void live_board::drop(const std::string& twin, const entry* e) {
  std::lock_guard lock(mu_);
  auto it = twins_.find(twin);
  if (it != twins_.end() && it->second.get() == e) twins_.erase(it);
}

std::optional<live_board::snapshot> live_board::fork(const std::string& twin) const {
  std::lock_guard lock(mu_);
  auto it = twins_.find(twin);
  if (it == twins_.end() || !it->second->running) return std::nullopt;
  return snapshot{it->second->binding, it->second->time_ns, it->second->values};
}

bool live_board::set_parameters(const std::string& twin, std::vector<std::pair<std::size_t, double>> values) {
  std::lock_guard lock(mu_);
  auto it = twins_.find(twin);
  if (it == twins_.end() || !it->second->running) return false;
  entry& e = *it->second;
  for (auto& v : values) e.pending.push_back(v);
  e.has_pending.store(true, std::memory_order_release);
  return true;
}

std::vector<std::pair<std::size_t, double>> live_board::take_parameters(entry& e) {
  std::vector<std::pair<std::size_t, double>> out;
  if (!e.has_pending.load(std::memory_order_acquire)) return out;
  std::lock_guard lock(mu_);
  out.swap(e.pending);
  e.has_pending.store(false, std::memory_order_relaxed);
  return out;
}

std::optional<nlohmann::json> live_board::get(const std::string& twin) const {
  std::lock_guard lock(mu_);
  auto it = twins_.find(twin);
  if (it == twins_.end()) return std::nullopt;
  const entry& e = *it->second;
  const equation_model& eq = *e.binding->equations;
  nlohmann::json out{{"equations", e.binding->spec.equations},
                     {"state", e.running ? "running" : "failed"},
                     {"started", rfc3339_floor_ms(e.started_ns)},
                     {"time", rfc3339_floor_ms(e.time_ns)},
                     {"failures", e.failures}};
  if (!e.running) out["error"] = e.error;
  const auto& names = eq.slots().names();
  const std::size_t bounds[] = {eq.parameter_slot(0), eq.input_slot(0), eq.state_slot(0), eq.output_slot(0),
                                names.size()};
  const char* groups[] = {"parameters", "inputs", "states", "outputs"};
  for (std::size_t g = 0; g < 4; ++g) {
    nlohmann::json values = nlohmann::json::object();
    for (std::size_t k = bounds[g]; k < bounds[g + 1] && k < e.values.size(); ++k) {
      values[names[k]] = std::isfinite(e.values[k]) ? nlohmann::json(e.values[k]) : nlohmann::json();
    }
    out[groups[g]] = std::move(values);
  }
  return out;
}

std::shared_ptr<live_counters> live_board::counters(std::string equations, std::string model) {
  auto c = std::make_shared<live_counters>();
  c->equations = std::move(equations);
  c->model = std::move(model);
  std::lock_guard lock(mu_);
  counters_.push_back(c);
  return c;
}

void live_board::render_metrics(std::string& out) const {
  std::lock_guard lock(mu_);
  if (counters_.empty()) return;
  std::size_t running = 0;
  for (const auto& [twin, e] : twins_) running += e->running;
  prometheus::writer w(out);
  w.family("doppel_sim_live_runs", "Twins' live runs by state.", prometheus::metric_type::gauge);
  w.sample("doppel_sim_live_runs", {{"state", "running"}}, running);
  w.sample("doppel_sim_live_runs", {{"state", "failed"}}, twins_.size() - running);
  struct family {
    const char* name;
    const char* help;
    std::atomic<std::uint64_t> live_counters::*field;
  };
  for (const family& f : {
           family{"doppel_sim_live_starts_total",
                  "Live runs started (a twin's first reading, a restart after a gap or a failure).",
                  &live_counters::starts},
           family{"doppel_sim_live_failures_total",
                  "Live runs that failed (the solver gave up); each starts again later.", &live_counters::failures},
           family{"doppel_sim_live_virtual_total", "Virtual sensor values the live runs wrote.",
                  &live_counters::outputs},
           family{"doppel_sim_live_residuals_total", "Residuals (measured - predicted) the live runs wrote.",
                  &live_counters::residuals},
           family{"doppel_sim_live_corrections_total", "States an observer corrected from measurements.",
                  &live_counters::corrections},
       }) {
    w.family(f.name, f.help, prometheus::metric_type::counter);
    for (const auto& c : counters_) {
      w.sample(f.name, {{"equations", c->equations}, {"model", c->model}}, ((*c).*f.field).load());
    }
  }
}

// ---------------------------------------------------------------------------------------------

void apply_properties(const twin::twin_graph& graph, const live_binding& b, const std::string& twin,
                      equation_run& run) {
  bool any = false;
  for (const auto* part : {&b.inputs, &b.parameters}) {
    for (const auto& p : *part) any = any || p.source.from == live_source::kind::property;
  }
  if (!any) return;
  auto doc = graph.get_twin(twin);
  if (!doc) return;
  for (const auto* part : {&b.inputs, &b.parameters}) {
    for (const auto& p : *part) {
      if (p.source.from != live_source::kind::property) continue;
      double x = property_value(*doc, p.source.name);
      if (!std::isfinite(x)) continue;  // not set on this twin: the equations' own value holds
      x = x * p.source.scale + p.source.offset;
      if (run.values()[p.slot] != x) (void)run.set_slot(p.slot, x);
    }
  }
}

void seed_run(const twin::twin_graph& graph, const live_binding& b, const std::string& twin, equation_run& run,
              bool properties) {
  for (const auto* part : {&b.inputs, &b.parameters}) {
    for (const auto& p : *part) {
      if (p.source.from == live_source::kind::constant) (void)run.set_slot(p.slot, p.source.value);
    }
  }
  // Inputs bound to telemetry start from the twin's latest values (a reading may set them anew).
  bool wanted = false;
  for (const auto& in : b.inputs) wanted = wanted || in.source.from == live_source::kind::telemetry;
  if (wanted) {
    if (auto latest = graph.latest_telemetry(twin)) {
      for (const auto& in : b.inputs) {
        if (in.source.from != live_source::kind::telemetry) continue;
        auto v = latest->find(in.source.name);
        if (v == latest->end() || !v->contains("value")) continue;
        const nlohmann::json& value = (*v)["value"];
        double x = value.is_number()    ? value.get<double>()
                   : value.is_boolean() ? (value.get<bool>() ? 1.0 : 0.0)
                                        : std::nan("");
        if (std::isfinite(x)) (void)run.set_slot(in.slot, x * in.source.scale + in.source.offset);
      }
    }
  }
  if (properties) apply_properties(graph, b, twin, run);
}

// One twin's run, kept in the twin's stage state (so it goes when the twin is deleted).
struct live_simulation::twin_run final : twin::twin_attachment {
  ~twin_run() override {
    if (board) board->drop(twin, shown.get());
  }
  std::shared_ptr<live_board> board;
  std::string twin;
  std::shared_ptr<live_board::entry> shown;  // on the board
  std::unique_ptr<state_observer> observer;  // with spec.observer, once a measurement came
  // Parameters a fit set (slot, value): kept when the run starts again.
  std::vector<std::pair<std::size_t, double>> tuned;
  std::unique_ptr<equation_run> run;  // null while failed
  std::int64_t origin_ns = 0;         // the model's time 0
  std::int64_t started_ns = 0, time_ns = 0, next_output_ns = 0, next_refresh_ns = 0;
  std::int64_t failed_ns = 0, failures = 0;
  std::string error;

  double seconds(std::int64_t t) const { return static_cast<double>(gap(origin_ns, t)) * 1e-9; }
};

live_simulation::live_simulation(const twin::twin_graph& graph, std::shared_ptr<const live_binding> binding,
                                 std::shared_ptr<live_board> board)
    : graph_(graph),
      binding_(std::move(binding)),
      board_(std::move(board)),
      name_("sim:" + binding_->spec.equations),
      counters_(board_->counters(binding_->spec.equations, binding_->spec.model)) {}

live_simulation::twin_run* live_simulation::start_run(const ingest::twin_readings& r,
                                                      std::unique_ptr<twin::twin_attachment>& slot, std::int64_t t) {
  auto* run = static_cast<twin_run*>(slot.get());
  if (!run) {
    auto fresh = std::make_unique<twin_run>();
    fresh->board = board_;
    fresh->twin = std::string(r.twin);
    fresh->shown = board_->enter(fresh->twin, binding_);
    run = fresh.get();
    slot = std::move(fresh);
  } else if (!run->run && gap(run->failed_ns, t) < binding_->spec.retry_after_ns) {
    return nullptr;  // failed, not time to try again yet
  }
  const live_binding& b = *binding_;
  auto started = equation_run::start(b.equations, 0);
  if (!started) {
    fail(*run, t, started.error());
    return nullptr;
  }
  run->run = std::move(*started);
  run->origin_ns = t;
  run->started_ns = t;
  run->time_ns = t;
  run->next_output_ns = next_multiple(t, b.spec.interval_ns);
  run->next_refresh_ns = t;  // properties now
  run->observer.reset();
  seed_run(graph_, b, run->twin, *run->run, false);
  for (const auto& [k, value] : run->tuned) (void)run->run->set_slot(k, value);
  counters_->starts.fetch_add(1, std::memory_order_relaxed);
  post(*run);
  return run;
}

void live_simulation::refresh(twin_run& run, std::string_view twin) {
  apply_properties(graph_, *binding_, std::string(twin), *run.run);
}

void live_simulation::fail(twin_run& run, std::int64_t t, const status& why) {
  run.run.reset();
  run.failed_ns = t;
  run.time_ns = t;
  ++run.failures;
  run.error = why.message();
  counters_->failures.fetch_add(1, std::memory_order_relaxed);
  post(run);
}

void live_simulation::post(twin_run& run) {
  board_->update(*run.shown, run.run != nullptr, run.run ? std::string_view() : std::string_view(run.error),
                 run.started_ns, run.time_ns, run.failures, run.run ? run.run->values() : std::span<const double>());
}

void live_simulation::emit(twin_run& run, const ingest::twin_readings& r) {
  auto values = run.run->values();
  for (const auto& o : binding_->outputs) {
    if (std::isfinite(values[o.slot])) r.derived->add(o.series, run.next_output_ns, values[o.slot]);
  }
  counters_->outputs.fetch_add(binding_->outputs.size(), std::memory_order_relaxed);
  run.time_ns = run.next_output_ns;
  run.next_output_ns =
      next_multiple(run.next_output_ns == INT64_MAX ? INT64_MAX : run.next_output_ns + 1, binding_->spec.interval_ns);
  post(run);
}

bool live_simulation::advance(twin_run& run, std::int64_t t, const ingest::twin_readings& r) {
  // The virtual sensors at each multiple of the interval before t (one at t waits for the
  // inputs of t).
  while (run.next_output_ns < t) {
    if (status st = run.run->advance(run.seconds(run.next_output_ns)); !st) {
      fail(run, run.next_output_ns, st);
      return false;
    }
    emit(run, r);
  }
  if (status st = run.run->advance(run.seconds(t)); !st) {
    fail(run, t, st);
    return false;
  }
  run.time_ns = t;
  return true;
}

void live_simulation::observe(twin_run& run, std::span<const double> measured) {
  const live_binding& b = *binding_;
  const equation_model& eq = *b.equations;
  const auto& names = eq.slots().names();
  auto values = run.run->values();
  const std::size_t states = eq.state_slot(0), outputs = eq.output_slot(0);
  // A new filter when there is none or the run's parameters moved (a fit, a property).
  bool fresh = !run.observer;
  for (std::size_t k = eq.parameter_slot(0); !fresh && k < eq.input_slot(0); ++k) {
    fresh = run.observer->value(names[k]) != values[k];
  }
  if (fresh) {
    std::vector<std::pair<std::string, double>> parameters;
    for (std::size_t k = eq.parameter_slot(0); k < eq.input_slot(0); ++k) parameters.emplace_back(names[k], values[k]);
    std::vector<std::string> measured_names;
    for (const auto& m : b.measured) measured_names.push_back(names[m.slot]);
    auto o = state_observer::start(b.equations, run.run->time(), parameters, std::move(measured_names),
                                   {b.spec.process_noise, b.spec.measurement_noise, {}});
    if (!o) return;  // bind() started one with these options: only a model that cannot start fails here
    run.observer = std::move(*o);
    for (std::size_t k = eq.input_slot(0); k < states; ++k) (void)run.observer->set_input(names[k], values[k]);
    (void)run.observer->set_states(values.subspan(states, outputs - states));
  } else if (!run.observer->predict(run.run->time())) {
    run.observer.reset();  // it failed; the next measurement starts another
    return;
  }
  if (run.observer->update(measured)) {
    std::vector<double> corrected(outputs - states);
    for (std::size_t k = states; k < outputs; ++k) corrected[k - states] = run.observer->value(names[k]);
    (void)run.run->set_states(corrected);
    counters_->corrections.fetch_add(1, std::memory_order_relaxed);
  }
  // The inputs of this time hold until the next measurement (the run has them already).
  values = run.run->values();
  for (std::size_t k = eq.input_slot(0); k < states; ++k) (void)run.observer->set_input(names[k], values[k]);
}

void live_simulation::run(int, const ingest::twin_readings& r) {
  const live_binding& b = *binding_;
  auto* run = static_cast<twin_run*>(r.state->get());
  const auto& samples = r.samples;
  std::vector<double> observed;  // measured values of one time, for the observer (allocated only with one)
  // Readings that came together, taken by their time in the order sent: the inputs of one
  // time are set together, then the measured values of that time are compared.
  for (std::size_t first = 0; first < samples.size();) {
    std::size_t last = first;
    while (last < samples.size() && samples[last].time_ns == samples[first].time_ns) ++last;
    const std::int64_t t = samples[first].time_ns;
    bool relevant = false;
    for (std::size_t k = first; k < last && !relevant; ++k) {
      for (const auto* part : {&b.inputs, &b.measured}) {
        for (const auto& p : *part)
          relevant = relevant || (p.source.from == live_source::kind::telemetry && p.source.name == samples[k].name);
      }
    }
    if (!relevant) {
      first = last;
      continue;
    }
    if (!run || !run->run || gap(run->time_ns, t) > b.spec.resync_after_ns) {
      run = start_run(r, *r.state, t);
      if (!run) {
        first = last;
        run = static_cast<twin_run*>(r.state->get());
        continue;
      }
    }
    const bool late = t < run->time_ns;  // applied at the run's time; no residual for another time
    if (!late && !advance(*run, t, r)) {
      first = last;
      continue;
    }
    for (const auto& given : board_->take_parameters(*run->shown)) {
      (void)run->run->set_slot(given.first, given.second);
      auto kept =
          std::find_if(run->tuned.begin(), run->tuned.end(), [&](const auto& p) { return p.first == given.first; });
      if (kept == run->tuned.end()) {
        run->tuned.push_back(given);
      } else {
        kept->second = given.second;
      }
    }
    if (t >= run->next_refresh_ns) {
      refresh(*run, r.twin);
      run->next_refresh_ns = later(t, b.spec.refresh_ns);
    }
    for (std::size_t k = first; k < last; ++k) {
      for (const auto& in : b.inputs) {
        if (in.source.from != live_source::kind::telemetry || in.source.name != samples[k].name) continue;
        double x = sample_value(samples[k]);
        if (!std::isfinite(x)) continue;
        x = x * in.source.scale + in.source.offset;
        if (run->run->values()[in.slot] != x) (void)run->run->set_slot(in.slot, x);
      }
    }
    if (!late) {
      for (std::size_t k = first; k < last; ++k) {
        for (const auto& m : b.measured) {
          if (m.source.name != samples[k].name) continue;
          double x = sample_value(samples[k]);
          if (!std::isfinite(x)) continue;
          r.derived->add(m.series, t, x * m.source.scale + m.source.offset - run->run->values()[m.slot]);
          counters_->residuals.fetch_add(1, std::memory_order_relaxed);
          if (b.spec.observer) {
            observed.resize(b.measured.size(), std::nan(""));
            observed[static_cast<std::size_t>(&m - b.measured.data())] = x * m.source.scale + m.source.offset;
          }
        }
      }
      if (!observed.empty()) {
        observe(*run, observed);
        observed.clear();
      }
      if (run->next_output_ns == t) emit(*run, r);
    }
    first = last;
  }
}

}  // namespace doppel::sim
