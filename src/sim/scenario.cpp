#include "sim/scenario.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <thread>

#include "core/text.h"
#include "core/time.h"
#include "store/timeseries/aggregate.h"

namespace doppel::sim {

namespace {

using nlohmann::json;

constexpr std::size_t k_max_points = 100000;
constexpr std::size_t k_max_sweep = 1000;
constexpr std::size_t k_max_values = 20'000'000;  // kept in memory and on disk, over all variants

bool valid_id(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return s != "." && s != "..";
}

// Seconds from a number or a duration text ("90s", "1h", "PT5M").
bool seconds_of(const json& v, double& out) {
  if (v.is_number()) {
    out = v.get<double>();
    return std::isfinite(out);
  }
  std::int64_t ns = 0;
  if (v.is_string() && ts::parse_step(v.get<std::string>(), ns)) {
    out = static_cast<double>(ns) / 1e9;
    return true;
  }
  if (v.is_string() && v.get<std::string>() == "0") {
    out = 0;
    return true;
  }
  return false;
}

status bad(const std::string& where, const std::string& why) { return status::invalid_argument(where + ": " + why); }

result<std::vector<std::pair<std::string, double>>> number_map(const json& v, const std::string& where) {
  if (!v.is_object()) return bad(where, "must be an object of names and numbers, e.g. {\"speed\": 1200}");
  std::vector<std::pair<std::string, double>> out;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!it.value().is_number() || !std::isfinite(it.value().get<double>())) {
      return bad(where + "." + it.key(), "must be a number");
    }
    out.emplace_back(it.key(), it.value().get<double>());
  }
  return out;
}

// Every name a variant's aggregates have, for the objective and the constraints.
symbols aggregate_symbols(const std::vector<scenario_twin>& twins) {
  symbols s;
  std::set<std::string> names;
  for (const auto& t : twins) {
    for (const auto& o : t.binding->outputs) names.insert(o.series.substr(4));  // "sim.<name>"
  }
  for (const std::string& n : names) {
    for (const char* agg : {"mean_", "min_", "max_", "final_", "total_"}) (void)s.add(agg + n);
  }
  return s;
}

// Runs one variant: every twin from its fork, with the spec's changes and the sweep's value.
void run_variant(const scenario_spec& spec, const std::vector<scenario_twin>& twins, std::size_t points,
                 scenario_variant& v, bool sweeping) {
  for (const scenario_twin& tw : twins) {
    const live_binding& b = *tw.binding;
    const equation_model& eq = *b.equations;
    auto started = equation_run::restore(b.equations, 0, tw.values);
    if (!started) {
      v.error = tw.twin + ": " + started.error().message();
      return;
    }
    equation_run& run = **started;
    auto set = [&](const std::string& name, double value) {
      if (auto slot = eq.slots().find(name); slot && *slot >= 1 && *slot < eq.state_slot(0)) {
        (void)run.set_slot(*slot, value);
      }
    };
    for (const auto& [name, value] : spec.parameters) set(name, value);
    if (sweeping) set(spec.sweep, v.sweep_value);
    const std::size_t first = v.series.size();
    for (const auto& o : b.outputs) v.series.push_back({tw.twin, o.series.substr(4), {}});
    for (std::size_t k = first; k < v.series.size(); ++k) v.series[k].values.reserve(points);
    auto record = [&] {
      auto values = run.values();
      for (std::size_t k = 0; k < b.outputs.size(); ++k)
        v.series[first + k].values.push_back(values[b.outputs[k].slot]);
    };
    std::size_t next = 0;
    auto apply_until = [&](double t) -> status {
      for (; next < spec.schedule.size() && spec.schedule[next].at <= t; ++next) {
        const scenario_change& c = spec.schedule[next];
        if (!c.twin.empty() && c.twin != tw.twin) continue;
        if (c.at > run.time()) {
          if (status st = run.advance(c.at); !st) return st;
        }
        for (const auto& [name, value] : c.set) set(name, value);
      }
      return {};
    };
    status st = apply_until(0);
    if (st) record();
    for (std::size_t k = 1; st && k < points; ++k) {
      const double t = std::min(spec.horizon, static_cast<double>(k) * spec.step);
      st = apply_until(t);
      if (st) st = run.advance(t);
      if (st) record();
    }
    if (!st) {
      v.error = tw.twin + ": " + st.message();
      return;
    }
  }
}

void aggregate(scenario_variant& v, double step) {
  std::map<std::string, std::vector<const scenario_series*>> by_name;
  for (const auto& s : v.series) by_name[s.name].push_back(&s);
  for (const auto& [name, series] : by_name) {
    std::size_t n = series.front()->values.size();
    double mn = std::numeric_limits<double>::infinity(), mx = -mn, final = 0, total = 0, sum = 0;
    for (const scenario_series* s : series) {
      const auto& x = s->values;
      if (x.empty()) continue;
      n = std::min(n, x.size());
      final += x.back();
      for (std::size_t k = 0; k < x.size(); ++k) {
        mn = std::min(mn, x[k]);
        mx = std::max(mx, x[k]);
        if (k) total += 0.5 * (x[k] + x[k - 1]) * step;
      }
    }
    for (std::size_t k = 0; k < n; ++k) {
      for (const scenario_series* s : series) sum += s->values[k];
    }
    v.aggregates["mean_" + name] = n ? sum / static_cast<double>(n) : 0;
    v.aggregates["min_" + name] = mn;
    v.aggregates["max_" + name] = mx;
    v.aggregates["final_" + name] = final;
    v.aggregates["total_" + name] = total;
  }
}

double eval_over(const expression& e, const symbols& names, const scenario_variant& v) {
  std::vector<double> slots(names.size(), std::nan(""));
  for (std::size_t k = 0; k < names.size(); ++k) {
    auto it = v.aggregates.find(names.names()[k]);
    if (it != v.aggregates.end()) slots[k] = it->second;
  }
  return e.eval(slots.data());
}

json number_or_null(double x) { return std::isfinite(x) ? json(x) : json(); }

status write_file_durably(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return status::io_error("cannot write " + tmp.string());
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      return status::io_error("cannot write " + tmp.string());
    }
    done += static_cast<std::size_t>(n);
  }
  bool ok = ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok) return status::io_error("cannot sync " + tmp.string());
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return status::io_error("cannot rename " + tmp.string() + ": " + ec.message());
  int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
  return {};
}

}  // namespace

result<scenario_spec> parse_scenario_request(const json& body) {
  if (!body.is_object())
    return bad("$", "the body must be a JSON object such as {\"id\": \"slow\", \"horizon\": \"1h\"}");
  scenario_spec s;
  static const std::set<std::string> known{"id",         "description", "twins", "query",     "horizon",    "step",
                                           "parameters", "schedule",    "sweep", "objective", "constraints"};
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (!known.count(it.key())) {
      return bad("$." + it.key(),
                 "unknown key; known keys are id, description, twins, query, horizon, step, "
                 "parameters, schedule, sweep, objective, constraints");
    }
  }
  if (!body.contains("id") || !body["id"].is_string() || !valid_id(body["id"].get<std::string>())) {
    return bad("$.id", "required: 1-64 letters, digits, '.', '_' or '-', naming the scenario");
  }
  s.id = body["id"].get<std::string>();
  if (body.contains("description")) {
    if (!body["description"].is_string()) return bad("$.description", "must be a string");
    s.description = body["description"].get<std::string>();
  }
  if (!body.contains("horizon") || !seconds_of(body["horizon"], s.horizon) || s.horizon <= 0) {
    return bad("$.horizon", "required: how far to run, a duration such as \"1h\" or seconds (> 0)");
  }
  s.step = s.horizon / 100;
  if (body.contains("step") && (!seconds_of(body["step"], s.step) || s.step <= 0)) {
    return bad("$.step", "must be a duration such as \"1m\" or seconds (> 0)");
  }
  if (s.horizon / s.step + 1 > static_cast<double>(k_max_points)) {
    return bad("$.step", "horizon / step makes more than 100,000 points a series; take a longer step");
  }
  if (body.contains("parameters")) {
    auto p = number_map(body["parameters"], "$.parameters");
    if (!p) return p.error();
    s.parameters = std::move(*p);
  }
  if (body.contains("schedule")) {
    const json& sch = body["schedule"];
    if (!sch.is_array())
      return bad("$.schedule", "must be a list such as [{\"at\": \"10m\", \"set\": {\"speed\": 1200}}]");
    for (std::size_t i = 0; i < sch.size(); ++i) {
      const std::string where = "$.schedule[" + std::to_string(i) + "]";
      const json& e = sch[i];
      if (!e.is_object()) return bad(where, "must be an object {\"at\", \"twin\"?, \"set\"}");
      scenario_change c;
      for (auto it = e.begin(); it != e.end(); ++it) {
        if (it.key() != "at" && it.key() != "twin" && it.key() != "set") {
          return bad(where + "." + it.key(), "unknown key; known keys are at, twin, set");
        }
      }
      if (!e.contains("at") || !seconds_of(e["at"], c.at) || c.at < 0) {
        return bad(where + ".at", "required: when, after the fork, as a duration such as \"10m\" or seconds (>= 0)");
      }
      if (e.contains("twin")) {
        if (!e["twin"].is_string()) return bad(where + ".twin", "must be a twin id");
        c.twin = e["twin"].get<std::string>();
      }
      if (!e.contains("set"))
        return bad(where + ".set", "required: the inputs or parameters to set, e.g. {\"speed\": 0}");
      auto m = number_map(e["set"], where + ".set");
      if (!m) return m.error();
      c.set = std::move(*m);
      s.schedule.push_back(std::move(c));
    }
    std::stable_sort(s.schedule.begin(), s.schedule.end(),
                     [](const scenario_change& a, const scenario_change& b) { return a.at < b.at; });
  }
  if (body.contains("sweep")) {
    const json& sw = body["sweep"];
    if (!sw.is_object() || !sw.contains("name") || !sw["name"].is_string()) {
      return bad("$.sweep",
                 "must be {\"name\": INPUT_OR_PARAMETER, \"values\": [...]} or {\"name\", \"from\", \"to\", "
                 "\"count\"}");
    }
    s.sweep = sw["name"].get<std::string>();
    if (sw.contains("values")) {
      if (!sw["values"].is_array() || sw["values"].empty()) return bad("$.sweep.values", "must be a list of numbers");
      for (const json& x : sw["values"]) {
        if (!x.is_number() || !std::isfinite(x.get<double>()))
          return bad("$.sweep.values", "must be a list of numbers");
        s.sweep_values.push_back(x.get<double>());
      }
    } else {
      if (!sw.contains("from") || !sw["from"].is_number() || !sw.contains("to") || !sw["to"].is_number() ||
          !sw.contains("count") || !sw["count"].is_number_integer() || sw["count"].get<std::int64_t>() < 1 ||
          sw["count"].get<std::int64_t>() > static_cast<std::int64_t>(k_max_sweep)) {
        return bad("$.sweep", "needs values, or from and to (numbers) and count (1-1000)");
      }
      double from = sw["from"].get<double>(), to = sw["to"].get<double>();
      auto count = static_cast<std::size_t>(sw["count"].get<std::int64_t>());
      if (!std::isfinite(from) || !std::isfinite(to)) return bad("$.sweep", "from and to must be finite");
      for (std::size_t k = 0; k < count; ++k) {
        s.sweep_values.push_back(
            count == 1 ? from : from + (to - from) * static_cast<double>(k) / static_cast<double>(count - 1));
      }
    }
    if (s.sweep_values.size() > k_max_sweep) return bad("$.sweep.values", "at most 1,000 values");
  }
  if (body.contains("objective")) {
    const json& o = body["objective"];
    bool min = o.is_object() && o.contains("minimize") && o["minimize"].is_string();
    bool max = o.is_object() && o.contains("maximize") && o["maximize"].is_string();
    if (o.size() != 1 || min == max) {
      return bad("$.objective",
                 "must be {\"minimize\": EXPRESSION} or {\"maximize\": EXPRESSION} over the aggregates, "
                 "e.g. {\"minimize\": \"total_electrical_power / total_flow\"}");
    }
    s.maximize = max;
    s.objective = o[max ? "maximize" : "minimize"].get<std::string>();
  }
  if (body.contains("constraints")) {
    if (!body["constraints"].is_array())
      return bad("$.constraints", "must be a list of expressions such as [\"max_winding_temp < 90\"]");
    for (const json& c : body["constraints"]) {
      if (!c.is_string()) return bad("$.constraints", "must be a list of expressions (strings)");
      s.constraints.push_back(c.get<std::string>());
    }
  }
  return s;
}

std::vector<scenario_twin> fork_twins(const twin::twin_graph& graph, const live_board& board,
                                      const std::vector<std::shared_ptr<const live_binding>>& bindings,
                                      const std::vector<std::string>& twins, std::int64_t now_ns,
                                      std::vector<std::string>& skipped) {
  std::vector<scenario_twin> out;
  for (const std::string& id : twins) {
    if (auto snap = board.fork(id); snap && !snap->values.empty()) {
      out.push_back({id, snap->binding, snap->time_ns, std::move(snap->values), true});
      continue;
    }
    const model::interface* m = graph.model_of(id);
    std::shared_ptr<const live_binding> bound;
    for (const auto& b : bindings) {
      if (m && m->is_a(b->spec.model)) {
        bound = b;
        break;
      }
    }
    if (!bound) {
      skipped.push_back(id);
      continue;
    }
    auto run = equation_run::start(bound->equations, 0);
    if (!run) {
      skipped.push_back(id);
      continue;
    }
    seed_run(graph, *bound, id, **run, true);
    auto values = (*run)->values();
    out.push_back({id, bound, now_ns, std::vector<double>(values.begin(), values.end()), false});
  }
  return out;
}

result<scenario_result> run_scenario(scenario_spec spec, std::vector<scenario_twin> twins, int threads,
                                     std::int64_t now_ns) {
  if (twins.empty()) return bad("twins", "no twin of the scenario has a live simulation binding");
  // Every name the spec sets must be an input or parameter of some twin's equations.
  auto settable = [&](const std::string& name) {
    for (const auto& t : twins) {
      const equation_model& eq = *t.binding->equations;
      auto slot = eq.slots().find(name);
      if (slot && *slot >= 1 && *slot < eq.state_slot(0)) return true;
    }
    return false;
  };
  std::vector<std::pair<std::string, std::string>> names;  // (where, name)
  for (const auto& [n, v] : spec.parameters) names.emplace_back("$.parameters." + n, n);
  for (std::size_t i = 0; i < spec.schedule.size(); ++i) {
    for (const auto& [n, v] : spec.schedule[i].set)
      names.emplace_back("$.schedule[" + std::to_string(i) + "].set." + n, n);
  }
  if (!spec.sweep.empty()) names.emplace_back("$.sweep.name", spec.sweep);
  for (const auto& [where, n] : names) {
    if (!settable(n)) {
      const equation_model& eq = *twins.front().binding->equations;
      std::string list;
      for (std::size_t k = 1; k < eq.state_slot(0); ++k) list += (list.empty() ? "" : ", ") + eq.slots().names()[k];
      return bad(where, "no twin's equations have an input or parameter " + quote(n) + "; " + eq.spec().name +
                            " has: " + list);
    }
  }
  const symbols aggregates = aggregate_symbols(twins);
  std::string known;
  for (const auto& n : aggregates.names()) known += (known.empty() ? "" : ", ") + n;
  std::optional<expression> objective;
  if (!spec.objective.empty()) {
    auto e = expression::compile(spec.objective, aggregates);
    if (!e) return bad("$.objective", e.error().message());
    objective = std::move(*e);
  }
  std::vector<expression> constraints;
  for (std::size_t i = 0; i < spec.constraints.size(); ++i) {
    auto e = expression::compile(spec.constraints[i], aggregates);
    if (!e) return bad("$.constraints[" + std::to_string(i) + "]", e.error().message());
    constraints.push_back(std::move(*e));
  }
  const std::size_t points = static_cast<std::size_t>(std::ceil(spec.horizon / spec.step - 1e-9)) + 1;
  const bool sweeping = !spec.sweep.empty();
  const std::size_t variants = sweeping ? spec.sweep_values.size() : 1;
  std::size_t series = 0;
  for (const auto& t : twins) series += t.binding->outputs.size();
  if (static_cast<double>(points) * static_cast<double>(series) * static_cast<double>(variants) >
      static_cast<double>(k_max_values)) {
    return bad("$", "the scenario would keep " + std::to_string(points * series * variants) +
                        " values (points x series x sweep values); at most 20,000,000: take a longer step, fewer "
                        "twins or fewer sweep values");
  }

  scenario_result r;
  r.created_ns = now_ns;
  for (const auto& t : twins) r.twins.push_back({t.twin, t.binding->spec.equations, t.fork_ns, t.from_live});
  r.variants.resize(variants);
  for (std::size_t i = 0; i < variants; ++i) r.variants[i].sweep_value = sweeping ? spec.sweep_values[i] : 0;
  const auto began = std::chrono::steady_clock::now();
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < variants;) {
      scenario_variant& v = r.variants[i];
      run_variant(spec, twins, points, v, sweeping);
      if (!v.error.empty()) continue;
      aggregate(v, spec.step);
      if (objective) v.objective = eval_over(*objective, aggregates, v);
      for (std::size_t c = 0; c < constraints.size(); ++c) {
        double x = eval_over(constraints[c], aggregates, v);
        if (!(x != 0) || std::isnan(x)) v.violated.push_back(spec.constraints[c]);
      }
    }
  };
  const int n = static_cast<int>(std::min<std::size_t>(variants, static_cast<std::size_t>(std::max(1, threads))));
  std::vector<std::thread> pool;
  for (int k = 1; k < n; ++k) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();

  // Rank: runs that finished first, fewer violated constraints, then the objective.
  std::vector<std::size_t> order(variants);
  for (std::size_t i = 0; i < variants; ++i) order[i] = i;
  const bool maximize = spec.maximize;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const scenario_variant &x = r.variants[a], &y = r.variants[b];
    if (x.error.empty() != y.error.empty()) return x.error.empty();
    if (x.violated.size() != y.violated.size()) return x.violated.size() < y.violated.size();
    if (!objective) return false;
    double ox = x.objective, oy = y.objective;
    if (std::isnan(ox) != std::isnan(oy)) return !std::isnan(ox);
    return maximize ? ox > oy : ox < oy;
  });
  for (std::size_t k = 0; k < order.size(); ++k) r.variants[order[k]].rank = static_cast<int>(k + 1);
  r.spec = std::move(spec);
  return r;
}

const scenario_variant& best_variant(const scenario_result& r) {
  for (const auto& v : r.variants) {
    if (v.rank == 1) return v;
  }
  return r.variants.front();
}

json to_json(const scenario_result& r, bool series) {
  const scenario_spec& s = r.spec;
  json spec{{"horizon", s.horizon}, {"step", s.step}};
  json params = json::object();
  for (const auto& [n, v] : s.parameters) params[n] = v;
  spec["parameters"] = std::move(params);
  json schedule = json::array();
  for (const auto& c : s.schedule) {
    json set = json::object();
    for (const auto& [n, v] : c.set) set[n] = v;
    json e{{"at", c.at}, {"set", std::move(set)}};
    if (!c.twin.empty()) e["twin"] = c.twin;
    schedule.push_back(std::move(e));
  }
  spec["schedule"] = std::move(schedule);
  if (!s.sweep.empty()) spec["sweep"] = {{"name", s.sweep}, {"values", s.sweep_values}};
  if (!s.objective.empty()) spec["objective"] = {{s.maximize ? "maximize" : "minimize", s.objective}};
  if (!s.constraints.empty()) spec["constraints"] = s.constraints;
  json out{{"id", s.id},
           {"created", rfc3339_floor_ms(r.created_ns)},
           {"createdNs", r.created_ns},
           {"spec", std::move(spec)},
           {"seconds", r.seconds}};
  if (!s.description.empty()) out["description"] = s.description;
  json twins = json::array();
  for (const auto& t : r.twins) {
    twins.push_back({{"twin", t.twin},
                     {"equations", t.equations},
                     {"fork", rfc3339_floor_ms(t.fork_ns)},
                     {"forkNs", t.fork_ns},
                     {"fromLive", t.from_live}});
  }
  out["twins"] = std::move(twins);
  out["skipped"] = r.skipped;
  json variants = json::array();
  for (const auto& v : r.variants) {
    json j{{"rank", v.rank}};
    if (!s.sweep.empty()) j["value"] = v.sweep_value;
    if (!v.error.empty()) j["error"] = v.error;
    if (!s.objective.empty() && v.error.empty()) j["objective"] = number_or_null(v.objective);
    if (!s.constraints.empty() && v.error.empty()) j["violated"] = v.violated;
    json agg = json::object();
    for (const auto& [n, x] : v.aggregates) agg[n] = number_or_null(x);
    j["aggregates"] = std::move(agg);
    if (series) {
      json list = json::array();
      for (const auto& ser : v.series) {
        json values = json::array();
        for (double x : ser.values) values.push_back(number_or_null(x));
        list.push_back({{"twin", ser.twin}, {"name", ser.name}, {"values", std::move(values)}});
      }
      j["series"] = std::move(list);
    }
    variants.push_back(std::move(j));
  }
  out["variants"] = std::move(variants);
  return out;
}

result<scenario_result> from_json(const json& j) {
  try {
    scenario_result r;
    json body{{"id", j.at("id")}, {"horizon", j.at("spec").at("horizon")}, {"step", j.at("spec").at("step")}};
    for (const char* key : {"parameters", "schedule", "sweep", "objective", "constraints"}) {
      if (j.at("spec").contains(key)) body[key] = j["spec"][key];
    }
    if (j.contains("description")) body["description"] = j["description"];
    auto spec = parse_scenario_request(body);
    if (!spec) return spec.error();
    r.spec = std::move(*spec);
    r.seconds = j.value("seconds", 0.0);
    for (const json& t : j.at("twins")) {
      r.twins.push_back({t.at("twin").get<std::string>(), t.at("equations").get<std::string>(),
                         t.at("forkNs").get<std::int64_t>(), t.at("fromLive").get<bool>()});
    }
    r.created_ns = j.at("createdNs").get<std::int64_t>();
    r.skipped = j.value("skipped", std::vector<std::string>{});
    for (const json& vj : j.at("variants")) {
      scenario_variant v;
      v.rank = vj.at("rank").get<int>();
      v.sweep_value = vj.value("value", 0.0);
      v.error = vj.value("error", std::string());
      if (vj.contains("objective") && vj["objective"].is_number()) v.objective = vj["objective"].get<double>();
      v.violated = vj.value("violated", std::vector<std::string>{});
      for (auto it = vj.at("aggregates").begin(); it != vj["aggregates"].end(); ++it) {
        v.aggregates[it.key()] = it.value().is_number() ? it.value().get<double>() : std::nan("");
      }
      for (const json& sj : vj.at("series")) {
        scenario_series s{sj.at("twin").get<std::string>(), sj.at("name").get<std::string>(), {}};
        for (const json& x : sj.at("values")) s.values.push_back(x.is_number() ? x.get<double>() : std::nan(""));
        v.series.push_back(std::move(s));
      }
      r.variants.push_back(std::move(v));
    }
    if (r.variants.empty()) return status::invalid_argument("a scenario without variants");
    return r;
  } catch (const json::exception& e) {
    return status::invalid_argument(std::string("not a scenario: ") + e.what());
  }
}

json compare(const scenario_result& a, const scenario_result& b) {
  const scenario_variant& x = best_variant(a);
  const scenario_variant& y = best_variant(b);
  json series = json::array();
  for (const auto& s : x.series) {
    for (const auto& t : y.series) {
      if (s.twin != t.twin || s.name != t.name) continue;
      std::size_t n = std::min(s.values.size(), t.values.size());
      double sum = 0, sq = 0, mx = 0;
      for (std::size_t k = 0; k < n; ++k) {
        double d = s.values[k] - t.values[k];
        sum += d;
        sq += d * d;
        mx = std::max(mx, std::abs(d));
      }
      series.push_back({{"twin", s.twin},
                        {"name", s.name},
                        {"points", n},
                        {"meanDifference", number_or_null(n ? sum / double(n) : 0)},
                        {"rmsDifference", number_or_null(n ? std::sqrt(sq / double(n)) : 0)},
                        {"maxAbsDifference", number_or_null(mx)}});
    }
  }
  json aggregates = json::object();
  for (const auto& [name, v] : x.aggregates) {
    auto it = y.aggregates.find(name);
    if (it == y.aggregates.end()) continue;
    aggregates[name] = {{"scenario", number_or_null(v)},
                        {"with", number_or_null(it->second)},
                        {"difference", number_or_null(v - it->second)}};
  }
  json out{{"scenario", a.spec.id},
           {"with", b.spec.id},
           {"series", std::move(series)},
           {"aggregates", std::move(aggregates)}};
  if (!a.spec.objective.empty() && a.spec.objective == b.spec.objective) {
    out["objective"] = {{"scenario", number_or_null(x.objective)},
                        {"with", number_or_null(y.objective)},
                        {"difference", number_or_null(x.objective - y.objective)}};
  }
  return out;
}

json compare_with_reality(const scenario_result& a, const std::vector<std::shared_ptr<const live_binding>>& bindings,
                          const history_reader& read, std::int64_t now_ns) {
  const scenario_variant& x = best_variant(a);
  const auto step_ns = static_cast<std::int64_t>(std::llround(a.spec.step * 1e9));
  json series = json::array();
  for (const auto& s : x.series) {
    const scenario_result::twin_info* info = nullptr;
    for (const auto& t : a.twins) {
      if (t.twin == s.twin) info = &t;
    }
    if (!info) continue;
    const live_binding* b = nullptr;
    for (const auto& bb : bindings) {
      if (bb->spec.equations == info->equations) b = bb.get();
    }
    // What measures it: the binding's measured telemetry, else the live virtual sensor.
    std::string measured = "sim." + s.name;
    double scale = 1, offset = 0;
    if (b) {
      auto slot = b->equations->slots().find(s.name);
      for (const auto& m : b->measured) {
        if (slot && m.slot == *slot) {
          measured = m.source.name;
          scale = m.source.scale;
          offset = m.source.offset;
        }
      }
    }
    const std::int64_t from = info->fork_ns, to = info->fork_ns + step_ns * static_cast<std::int64_t>(s.values.size());
    // From a little before the fork: the last point at or before the first time counts.
    auto points = read(s.twin, measured, from - 3600LL * 1'000'000'000, to);
    std::size_t matched = 0, pending = 0, p = 0;
    double sum = 0, sq = 0, mx = 0;
    bool have = false;
    double last = 0;
    for (std::size_t k = 0; k < s.values.size(); ++k) {
      const std::int64_t t = from + step_ns * static_cast<std::int64_t>(k);
      if (t > now_ns) {
        ++pending;
        continue;
      }
      while (p < points.size() && points[p].first <= t) {
        last = points[p].second * scale + offset;
        have = true;
        ++p;
      }
      if (!have || !std::isfinite(s.values[k])) continue;
      double d = s.values[k] - last;
      sum += d;
      sq += d * d;
      mx = std::max(mx, std::abs(d));
      ++matched;
    }
    series.push_back({{"twin", s.twin},
                      {"name", s.name},
                      {"against", measured},
                      {"points", matched},
                      {"pending", pending},
                      {"meanDifference", matched ? number_or_null(sum / double(matched)) : json()},
                      {"rmsDifference", matched ? number_or_null(std::sqrt(sq / double(matched))) : json()},
                      {"maxAbsDifference", matched ? number_or_null(mx) : json()}});
  }
  return {{"scenario", a.spec.id}, {"with", "reality"}, {"series", std::move(series)}};
}

// ---------------------------------------------------------------------------------------------

result<std::unique_ptr<scenario_store>> scenario_store::open(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return status::io_error("cannot make " + dir.string() + ": " + ec.message());
  std::unique_ptr<scenario_store> s(new scenario_store(dir));
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    json j = json::parse(text.str(), nullptr, false);
    auto r = from_json(j);
    if (!r) {
      return status::io_error(entry.path().string() + " is not a scenario (" + r.error().message() +
                              "); move it out of the folder");
    }
    std::string id = r->spec.id;
    s->scenarios_[id] = std::make_shared<const scenario_result>(std::move(*r));
  }
  if (ec) return status::io_error("cannot read " + dir.string() + ": " + ec.message());
  return s;
}

status scenario_store::put(std::shared_ptr<const scenario_result> r) {
  std::lock_guard lock(mu_);
  if (scenarios_.count(r->spec.id)) {
    return status::already_exists("scenario " + quote(r->spec.id) +
                                  " exists; give the new one another id, or DELETE "
                                  "/scenarios/" +
                                  r->spec.id + " first");
  }
  if (status st = write_file_durably(dir_ / (r->spec.id + ".json"), to_json(*r, true).dump()); !st) return st;
  scenarios_[r->spec.id] = std::move(r);
  return {};
}

std::shared_ptr<const scenario_result> scenario_store::get(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = scenarios_.find(id);
  return it == scenarios_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const scenario_result>> scenario_store::list() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<const scenario_result>> out;
  for (const auto& [id, r] : scenarios_) out.push_back(r);
  return out;
}

status scenario_store::remove(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = scenarios_.find(id);
  if (it == scenarios_.end()) return status::not_found("scenario " + quote(id) + " does not exist");
  std::error_code ec;
  std::filesystem::remove(dir_ / (id + ".json"), ec);
  if (ec) return status::io_error("cannot remove the scenario's file: " + ec.message());
  scenarios_.erase(it);
  return {};
}

}  // namespace doppel::sim
