#include "app/sim_files.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <ostream>
#include <set>
#include <sstream>

#include "sim/csv.h"
#include "sim/fmi/isolated.h"

namespace doppel::app {

namespace fs = std::filesystem;

namespace {

// The first mistake in a file, with where it is.
class reader {
 public:
  explicit reader(const fs::path& file) : file_(file.string()) {}

  status fail(const YAML::Node& n, const std::string& message) const {
    std::string where = file_;
    const YAML::Mark m = n.Mark();
    if (!m.is_null()) where += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
    return status::invalid_argument(where + ": " + message);
  }
  // Keys of `map` must be among `known`.
  status keys(const YAML::Node& map, const std::string& what, std::initializer_list<const char*> known) const {
    if (!map.IsMap()) return fail(map, what + " must be a mapping");
    std::set<std::string> seen;
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      bool ok = false;
      std::string list;
      for (const char* k : known) {
        ok = ok || key == k;
        list += (list.empty() ? "" : ", ") + std::string(k);
      }
      if (!ok) return fail(kv.first, "unknown key \"" + key + "\" in " + what + "; known: " + list);
      if (!seen.insert(key).second) return fail(kv.first, "\"" + key + "\" appears twice in " + what + "; keep one");
    }
    return {};
  }
  status number(const YAML::Node& n, const std::string& what, double& out) const {
    if (!n.IsScalar()) return fail(n, what + " must be a number");
    const std::string& text = n.Scalar();
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(out)) {
      return fail(n, what + " must be a number, not \"" + text + "\"");
    }
    return {};
  }
  status text(const YAML::Node& n, const std::string& what, std::string& out) const {
    if (!n.IsScalar()) return fail(n, what + " must be a string");
    out = n.Scalar();
    return {};
  }
  // An expression: a string, or a number written as one.
  status expression(const YAML::Node& n, const std::string& what, std::string& out) const {
    return text(n, what + " (an expression)", out);
  }

  const std::string file_;
};

result<std::string> read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return status::invalid_argument(file.string() + ": cannot read it");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

result<YAML::Node> parse_yaml(std::string_view text, const fs::path& file) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return status::invalid_argument(file.string() + ":" + std::to_string(e.mark.line + 1) + ":" +
                                    std::to_string(e.mark.column + 1) + ": not valid YAML (" + e.msg + ")");
  }
}

// The compile error of a model, pointed at the file: which part is wrong comes in the message.
status model_error(const fs::path& file, const status& s) {
  return status::invalid_argument(file.string() + ": " + s.message());
}

}  // namespace

result<sim::equation_spec> load_equation_model(const fs::path& file) {
  auto text = read_text(file);
  if (!text) return text.error();
  return parse_equation_model(*text, file);
}

result<sim::equation_spec> parse_equation_model(std::string_view text, const fs::path& file) {
  auto doc = parse_yaml(text, file);
  if (!doc) return doc.error();
  reader r(file);
  const YAML::Node& root = *doc;
  if (status s = r.keys(root, "an equation model",
                        {"name", "description", "parameters", "inputs", "states", "outputs", "events", "solver"});
      !s) {
    return s;
  }
  for (const char* section : {"parameters", "inputs", "states", "outputs"}) {
    if (root[section] && !root[section].IsMap()) {
      return r.fail(root[section], std::string(section) + " must be a mapping: {name: ..., ...}");
    }
  }
  sim::equation_spec spec;
  spec.name = file.stem().string();
  if (root["name"]) {
    if (status s = r.text(root["name"], "name", spec.name); !s) return s;
  }
  for (const auto& kv : root["parameters"]) {
    sim::equation_spec::parameter p{kv.first.Scalar(), 0, ""};
    std::string what = "parameters." + p.name;
    if (kv.second.IsMap()) {
      if (status s = r.keys(kv.second, what, {"value", "unit", "description"}); !s) return s;
      if (!kv.second["value"]) return r.fail(kv.second, what + " needs a value");
      if (status s = r.number(kv.second["value"], what + ".value", p.value); !s) return s;
      if (kv.second["unit"]) {
        if (status s = r.text(kv.second["unit"], what + ".unit", p.unit); !s) return s;
      }
    } else if (status s = r.number(kv.second, what, p.value); !s) {
      return s;
    }
    spec.parameters.push_back(std::move(p));
  }
  for (const auto& kv : root["inputs"]) {
    sim::equation_spec::input in{kv.first.Scalar(), 0, ""};
    std::string what = "inputs." + in.name;
    if (kv.second.IsMap()) {
      if (status s = r.keys(kv.second, what, {"start", "unit", "description"}); !s) return s;
      if (kv.second["start"]) {
        if (status s = r.number(kv.second["start"], what + ".start", in.start); !s) return s;
      }
      if (kv.second["unit"]) {
        if (status s = r.text(kv.second["unit"], what + ".unit", in.unit); !s) return s;
      }
    } else if (status s = r.number(kv.second, what, in.start); !s) {
      return s;
    }
    spec.inputs.push_back(std::move(in));
  }
  for (const auto& kv : root["states"]) {
    sim::equation_spec::state st{kv.first.Scalar(), "0", "", ""};
    std::string what = "states." + st.name;
    if (status s = r.keys(kv.second, what, {"start", "derivative", "unit", "description"}); !s) return s;
    if (!kv.second["derivative"]) return r.fail(kv.second, what + " needs a derivative (an expression)");
    if (status s = r.expression(kv.second["derivative"], what + ".derivative", st.derivative); !s) return s;
    if (kv.second["start"]) {
      if (status s = r.expression(kv.second["start"], what + ".start", st.start); !s) return s;
    }
    if (kv.second["unit"]) {
      if (status s = r.text(kv.second["unit"], what + ".unit", st.unit); !s) return s;
    }
    spec.states.push_back(std::move(st));
  }
  for (const auto& kv : root["outputs"]) {
    sim::equation_spec::output o{kv.first.Scalar(), "", ""};
    std::string what = "outputs." + o.name;
    if (kv.second.IsMap()) {
      if (status s = r.keys(kv.second, what, {"expr", "unit", "description"}); !s) return s;
      if (!kv.second["expr"]) return r.fail(kv.second, what + " needs expr (an expression)");
      if (status s = r.expression(kv.second["expr"], what + ".expr", o.expr); !s) return s;
      if (kv.second["unit"]) {
        if (status s = r.text(kv.second["unit"], what + ".unit", o.unit); !s) return s;
      }
    } else if (status s = r.expression(kv.second, what, o.expr); !s) {
      return s;
    }
    spec.outputs.push_back(std::move(o));
  }
  if (const YAML::Node events = root["events"]) {
    if (!events.IsSequence()) return r.fail(events, "events must be a list of {when, direction, set}");
    for (std::size_t k = 0; k < events.size(); ++k) {
      const YAML::Node& e = events[k];
      std::string what = "events[" + std::to_string(k) + "]";
      if (status s = r.keys(e, what, {"when", "direction", "set", "description"}); !s) return s;
      sim::equation_spec::event ev;
      if (!e["when"]) return r.fail(e, what + " needs when (an expression whose zero crossing is the event)");
      if (status s = r.expression(e["when"], what + ".when", ev.when); !s) return s;
      if (e["direction"]) {
        std::string d;
        if (status s = r.text(e["direction"], what + ".direction", d); !s) return s;
        if (d == "rising") {
          ev.direction = 1;
        } else if (d == "falling") {
          ev.direction = -1;
        } else if (d != "both") {
          return r.fail(e["direction"], what + ".direction must be rising, falling or both");
        }
      }
      if (e["set"]) {
        if (!e["set"].IsMap()) return r.fail(e["set"], what + ".set must be a mapping: {state: expression}");
        for (const auto& kv : e["set"]) {
          std::string value;
          if (status s = r.expression(kv.second, what + ".set." + kv.first.Scalar(), value); !s) return s;
          ev.set.emplace_back(kv.first.Scalar(), value);
        }
      }
      spec.events.push_back(std::move(ev));
    }
  }
  if (const YAML::Node solver = root["solver"]) {
    if (status s = r.keys(solver, "solver", {"method", "rtol", "atol", "max_step", "max_steps"}); !s) return s;
    if (solver["method"]) {
      std::string m;
      if (status s = r.text(solver["method"], "solver.method", m); !s) return s;
      if (m == "bdf") {
        spec.solver.method = sim::ode_method::bdf;
      } else if (m == "adams") {
        spec.solver.method = sim::ode_method::adams;
      } else {
        return r.fail(solver["method"], "solver.method must be bdf (stiff systems) or adams (non-stiff)");
      }
    }
    double v = 0;
    if (solver["rtol"]) {
      if (status s = r.number(solver["rtol"], "solver.rtol", spec.solver.rtol); !s) return s;
    }
    if (solver["atol"]) {
      if (status s = r.number(solver["atol"], "solver.atol", spec.solver.atol); !s) return s;
    }
    if (solver["max_step"]) {
      if (status s = r.number(solver["max_step"], "solver.max_step", spec.solver.max_step); !s) return s;
    }
    if (solver["max_steps"]) {
      if (status s = r.number(solver["max_steps"], "solver.max_steps", v); !s) return s;
      if (!(v >= 1 && v <= 1e9)) return r.fail(solver["max_steps"], "solver.max_steps must be from 1 to 1e9");
      spec.solver.max_steps = static_cast<long>(v);
    }
    if (!(spec.solver.rtol > 0) || !(spec.solver.atol > 0) || spec.solver.max_step < 0) {
      return r.fail(solver, "solver tolerances must be positive, and max_step positive or 0 (no limit)");
    }
  }
  // The expressions compile now, so that a mistake is reported when the file is read.
  auto model = sim::equation_model::compile(spec);
  if (!model) return model_error(file, model.error());
  return spec;
}

result<scenario> load_scenario(const fs::path& file) {
  auto text = read_text(file);
  if (!text) return text.error();
  return parse_scenario(*text, file);
}

result<scenario> parse_scenario(std::string_view text, const fs::path& file) {
  auto doc = parse_yaml(text, file);
  if (!doc) return doc.error();
  reader r(file);
  const YAML::Node& root = *doc;
  if (status s = r.keys(root, "a scenario",
                        {"model", "description", "start", "stop", "step", "parameters", "schedule", "output"});
      !s) {
    return s;
  }
  scenario sc;
  if (!root["model"]) return r.fail(root, "a scenario needs model: the name of an equation model in sim/");
  if (status s = r.text(root["model"], "model", sc.model); !s) return s;
  if (!root["stop"]) return r.fail(root, "a scenario needs stop: the time to run to, in seconds");
  if (root["start"]) {
    if (status s = r.number(root["start"], "start", sc.start); !s) return s;
  }
  if (status s = r.number(root["stop"], "stop", sc.stop); !s) return s;
  if (sc.stop < sc.start) return r.fail(root["stop"], "stop is before start");
  sc.step = (sc.stop - sc.start) / 500;
  if (root["step"]) {
    if (status s = r.number(root["step"], "step", sc.step); !s) return s;
  }
  if (!(sc.step > 0)) return r.fail(root["step"] ? root["step"] : root, "step must be a positive number of seconds");
  if ((sc.stop - sc.start) / sc.step > 1e8) return r.fail(root["step"], "the run would write over 100 million rows");
  if (root["parameters"] && !root["parameters"].IsMap()) {
    return r.fail(root["parameters"], "parameters must be a mapping: {name: value, ...}");
  }
  for (const auto& kv : root["parameters"]) {
    double v = 0;
    if (status s = r.number(kv.second, "parameters." + kv.first.Scalar(), v); !s) return s;
    sc.parameters.emplace_back(kv.first.Scalar(), v);
  }
  if (const YAML::Node schedule = root["schedule"]) {
    if (!schedule.IsSequence()) return r.fail(schedule, "schedule must be a list of {time: T, NAME: value, ...}");
    for (const auto& item : schedule) {
      if (!item.IsMap() || !item["time"]) return r.fail(item, "each schedule entry needs time: T");
      scenario::change c;
      if (status s = r.number(item["time"], "schedule time", c.time); !s) return s;
      if (!sc.schedule.empty() && c.time < sc.schedule.back().time) {
        return r.fail(item["time"], "the schedule goes back in time; list its entries in time order");
      }
      for (const auto& kv : item) {
        if (kv.first.Scalar() == "time") continue;
        double v = 0;
        if (status s = r.number(kv.second, kv.first.Scalar(), v); !s) return s;
        c.inputs.emplace_back(kv.first.Scalar(), v);
      }
      sc.schedule.push_back(std::move(c));
    }
  }
  if (root["output"]) {
    if (status s = r.text(root["output"], "output", sc.output); !s) return s;
  }
  return sc;
}

int cmd_sim_run(const fs::path& dir, const fs::path& scenario_file, std::ostream& out, std::ostream& err) {
  auto fail = [&](const std::string& message) {
    err << "doppel sim run: " << message << "\n";
    return 1;
  };
  auto sc = load_scenario(scenario_file);
  if (!sc) return fail(sc.error().message());
  fs::path model_file = dir / "sim" / (sc->model + ".yaml");
  if (!fs::exists(model_file)) {
    return fail(scenario_file.string() + ": model " + sc->model + ": there is no " + model_file.string());
  }
  auto spec = load_equation_model(model_file);
  if (!spec) return fail(spec.error().message());
  auto model = sim::equation_model::compile(*spec);
  if (!model) return fail(model.error().message());
  auto run = sim::equation_run::start(*model, sc->start, sc->parameters);
  if (!run) return fail(scenario_file.string() + ": " + run.error().message());
  std::ofstream file;
  std::ostream* sink = &out;
  if (!sc->output.empty()) {
    fs::path p = fs::path(sc->output).is_absolute() ? fs::path(sc->output) : scenario_file.parent_path() / sc->output;
    file.open(p, std::ios::binary | std::ios::trunc);
    if (!file) return fail("cannot write " + p.string());
    sink = &file;
  }
  // The columns: time, the states, the outputs, in the model's order.
  std::vector<std::size_t> columns;
  std::string line = "time";
  for (std::size_t i = 0; i < spec->states.size(); ++i) {
    columns.push_back((*model)->state_slot(i));
    line += "," + spec->states[i].name;
  }
  for (std::size_t i = 0; i < spec->outputs.size(); ++i) {
    columns.push_back((*model)->output_slot(i));
    line += "," + spec->outputs[i].name;
  }
  *sink << line << "\n";
  std::size_t next = 0;
  auto apply_until = [&](double t) -> status {
    for (; next < sc->schedule.size() && sc->schedule[next].time <= t; ++next) {
      const scenario::change& c = sc->schedule[next];
      if (c.time > (*run)->time()) {
        if (status s = (*run)->advance(c.time); !s) return s;
      }
      for (const auto& [name, value] : c.inputs) {
        if (status s = (*run)->set(name, value); !s) {
          return status::invalid_argument(scenario_file.string() + ": schedule at t=" + std::to_string(c.time) + ": " +
                                          s.message());
        }
      }
    }
    return {};
  };
  auto row = [&] {
    line.clear();
    char buf[64];
    line.append(buf, std::to_chars(buf, buf + sizeof buf, (*run)->time()).ptr);
    for (std::size_t slot : columns) {
      line.push_back(',');
      line.append(buf, std::to_chars(buf, buf + sizeof buf, (*run)->values()[slot]).ptr);
    }
    line.push_back('\n');
    sink->write(line.data(), static_cast<std::streamsize>(line.size()));
  };
  if (status s = apply_until(sc->start); !s) return fail(s.message());
  row();
  const auto steps = static_cast<long>(std::ceil((sc->stop - sc->start) / sc->step - 1e-9));
  for (long k = 1; k <= steps; ++k) {
    double t = k == steps ? sc->stop : sc->start + static_cast<double>(k) * sc->step;
    if (status s = apply_until(t); !s) return fail(s.message());
    if (status s = (*run)->advance(t); !s) return fail(s.message());
    row();
  }
  sink->flush();
  if (!*sink) return fail("writing the output failed");
  return 0;
}

namespace {

bool parse_number(std::string_view text, double& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size() && std::isfinite(out);
}

// %g with enough digits to tell a fitted value from its start.
std::string shown(double v) {
  if (std::isnan(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

result<sim::fit_data> parse_fit_csv(const sim::equation_model& model, std::string_view csv, const fs::path& file,
                                    const std::vector<std::string>& measured) {
  const std::string name = file.string();
  auto where = [&](std::size_t line, std::size_t column) {
    return name + ":" + std::to_string(line) + ": column " + std::to_string(column) + ": ";
  };
  const sim::equation_spec& spec = model.spec();
  std::size_t pos = csv.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  const std::vector<std::string> header = sim::csv_record(csv, pos);
  if (sim::csv_trim(header[0]) != "time") {
    return status::invalid_argument(where(1, 1) + "the first column must be \"time\" (a header time,NAME,...)");
  }
  // What each column is: an input (its index in fit_data::inputs), measured, or skipped.
  enum class role { input, measure, skip };
  std::vector<std::pair<role, std::size_t>> columns;
  std::vector<double> held;  // each input's value so far
  sim::fit_data d;
  std::set<std::string> seen;
  for (std::size_t c = 1; c < header.size(); ++c) {
    const std::string col = sim::csv_trim(header[c]);
    if (!seen.insert(col).second) return status::invalid_argument(where(1, c + 1) + "\"" + col + "\" appears twice");
    auto slot = model.slots().find(col);
    if (!slot || *slot == 0 || *slot < model.input_slot(0)) {
      std::string known;
      for (const auto& i : spec.inputs) known += (known.empty() ? "" : ", ") + i.name;
      for (const auto& st : spec.states) known += (known.empty() ? "" : ", ") + st.name;
      for (const auto& o : spec.outputs) known += (known.empty() ? "" : ", ") + o.name;
      if (slot && *slot != 0) {
        return status::invalid_argument(where(1, c + 1) + col + " is a parameter of " + spec.name +
                                        ", not a column: give its value with --set " + col + "=VALUE");
      }
      return status::invalid_argument(where(1, c + 1) + "\"" + col + "\" is not an input, state or output of " +
                                      spec.name + "; they are: " + known);
    }
    if (*slot < model.state_slot(0)) {
      columns.emplace_back(role::input, d.inputs.size());
      d.inputs.push_back(col);
      held.push_back(spec.inputs[*slot - model.input_slot(0)].start);
    } else if (measured.empty() || std::find(measured.begin(), measured.end(), col) != measured.end()) {
      columns.emplace_back(role::measure, d.measured.size());
      d.measured.push_back(col);
    } else {
      columns.emplace_back(role::skip, 0);
    }
  }
  for (const auto& m : measured) {
    if (std::find(d.measured.begin(), d.measured.end(), m) == d.measured.end()) {
      return status::invalid_argument(name + ": no column is named " + m + " (an output or state of " + spec.name +
                                      ")");
    }
  }
  if (d.measured.empty()) {
    return status::invalid_argument(name + ": no column is measured; name outputs or states of " + spec.name +
                                    " in the header");
  }
  std::size_t line = 1;
  std::vector<double> row_y(d.measured.size());
  while (pos < csv.size()) {
    ++line;
    const std::vector<std::string> cells = sim::csv_record(csv, pos);
    if (cells.size() == 1 && sim::csv_trim(cells[0]).empty()) continue;  // a blank line
    if (cells.size() != header.size()) {
      return status::invalid_argument(where(line, 1) + "the row has " + std::to_string(cells.size()) +
                                      " cells, the header " + std::to_string(header.size()));
    }
    double t = 0;
    if (!parse_number(sim::csv_trim(cells[0]), t)) {
      return status::invalid_argument(where(line, 1) + "\"" + cells[0] + "\" is not a time in seconds");
    }
    if (!d.time.empty() && t < d.time.back()) {
      return status::invalid_argument(where(line, 1) + "the time goes back; rows must be in time order");
    }
    std::fill(row_y.begin(), row_y.end(), std::numeric_limits<double>::quiet_NaN());
    for (std::size_t c = 1; c < cells.size(); ++c) {
      const auto [what, index] = columns[c - 1];
      if (what == role::skip) continue;
      const std::string cell = sim::csv_trim(cells[c]);
      if (cell.empty()) continue;  // input: held; measured: missing
      double v = 0;
      if (!parse_number(cell, v)) {
        return status::invalid_argument(where(line, c + 1) + sim::csv_trim(header[c]) + ": \"" + cells[c] +
                                        "\" is not a number");
      }
      (what == role::input ? held : row_y)[index] = v;
    }
    d.time.push_back(t);
    d.u.insert(d.u.end(), held.begin(), held.end());
    d.y.insert(d.y.end(), row_y.begin(), row_y.end());
  }
  if (d.time.empty()) return status::invalid_argument(name + ": there are no rows after the header");
  return d;
}

int cmd_sim_fit(const sim_fit_options& o, std::ostream& out, std::ostream& err) {
  auto fail = [&](const std::string& message) {
    err << "doppel sim fit: " << message << "\n";
    return 1;
  };
  fs::path model_file = fs::path(o.dir) / "sim" / (o.model + ".yaml");
  if (!fs::exists(model_file)) return fail("model " + o.model + ": there is no " + model_file.string());
  auto spec = load_equation_model(model_file);
  if (!spec) return fail(spec.error().message());
  auto model = sim::equation_model::compile(*spec);
  if (!model) return fail(model.error().message());
  std::vector<std::pair<std::string, double>> parameters;
  for (const auto& s : o.sets) {
    const auto eq = s.find('=');
    double v = 0;
    if (eq == std::string::npos || eq == 0 || !parse_number(std::string_view(s).substr(eq + 1), v)) {
      return fail("--set " + s + ": write NAME=VALUE, the value a number");
    }
    parameters.emplace_back(s.substr(0, eq), v);
  }
  auto text = read_text(o.data);
  if (!text) return fail(text.error().message());
  auto data = parse_fit_csv(**model, *text, o.data, o.measured);
  if (!data) return fail(data.error().message());
  sim::fit_options options;
  options.max_iterations = o.max_iterations;
  auto r = sim::fit_parameters(*model, *data, o.tune, parameters, options);
  if (!r) return fail(r.error().message());
  std::size_t width = 4;
  for (const auto& name : o.tune) width = std::max(width, name.size());
  for (const auto& name : data->measured) width = std::max(width, name.size() + 4);
  auto padded = [&](const std::string& s) { return s + std::string(width + 2 - s.size(), ' '); };
  out << "model " << spec->name << ": " << data->time.size() << " rows from t=" << shown(data->time.front())
      << " to t=" << shown(data->time.back()) << " s\n";
  for (std::size_t j = 0; j < r->after.size(); ++j) {
    out << padded(r->after[j].first) << shown(r->before[j].second) << " -> " << shown(r->after[j].second) << "\n";
  }
  for (std::size_t c = 0; c < data->measured.size(); ++c) {
    out << padded("rms " + data->measured[c]) << shown(r->rms_before[c]) << " -> " << shown(r->rms_after[c]) << "\n";
  }
  out << "iterations " << r->iterations << ", simulations " << r->simulations << ", "
      << (r->converged ? "converged" : "not converged") << " (" << r->message << ")\n";
  return 0;
}

result<system_file> load_system(const fs::path& file) {
  auto text = read_text(file);
  if (!text) return text.error();
  return parse_system(*text, file);
}

namespace {

std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

system_file::place place_of(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.is_null()) return {};
  return {static_cast<std::size_t>(m.line + 1), static_cast<std::size_t>(m.column + 1)};
}

}  // namespace

result<system_file> parse_system(std::string_view text, const fs::path& file) {
  auto doc = parse_yaml(text, file);
  if (!doc) return doc.error();
  reader r(file);
  const YAML::Node& root = *doc;
  if (status s =
          r.keys(root, "a system", {"description", "start", "stop", "step", "algorithm", "components", "connections"});
      !s) {
    return s;
  }
  system_file sys;
  if (!root["stop"]) return r.fail(root, "a system needs stop: the time to run to, in seconds");
  if (root["start"]) {
    if (status s = r.number(root["start"], "start", sys.start); !s) return s;
  }
  if (status s = r.number(root["stop"], "stop", sys.stop); !s) return s;
  if (sys.stop < sys.start) return r.fail(root["stop"], "stop is before start");
  sys.step = (sys.stop - sys.start) / 500;
  if (root["step"]) {
    if (status s = r.number(root["step"], "step", sys.step); !s) return s;
  }
  if (!(sys.step > 0)) return r.fail(root["step"] ? root["step"] : root, "step must be a positive number of seconds");
  if ((sys.stop - sys.start) / sys.step > 1e8) return r.fail(root["step"], "the run would write over 100 million rows");
  if (root["algorithm"]) {
    std::string a;
    if (status s = r.text(root["algorithm"], "algorithm", a); !s) return s;
    if (a == "gauss-seidel") {
      sys.algorithm = sim::master_algorithm::gauss_seidel;
    } else if (a == "jacobi") {
      sys.algorithm = sim::master_algorithm::jacobi;
    } else {
      return r.fail(root["algorithm"], "algorithm must be gauss-seidel (in the components' order) or jacobi");
    }
  }
  const YAML::Node components = root["components"];
  if (!components || !components.IsMap() || components.size() == 0) {
    return r.fail(components ? components : root,
                  "a system needs components: {NAME: {fmu: PATH} or {model: NAME}, ...}");
  }
  for (const auto& kv : components) {
    system_file::component c;
    if (status s = r.text(kv.first, "a component's name", c.name); !s) return s;
    if (c.name.empty() || c.name.find_first_of(". \t") != std::string::npos || c.name.find("->") != std::string::npos) {
      return r.fail(kv.first, "the component name \"" + c.name + "\" must not be empty or hold a dot or a space");
    }
    c.at = place_of(kv.first);
    const std::string what = "components." + c.name;
    const YAML::Node& v = kv.second;
    if (status s = r.keys(v, what, {"fmu", "model", "kind", "step", "parameters", "description"}); !s) return s;
    if (!v["fmu"] == !v["model"]) return r.fail(v, what + " needs one of fmu: PATH or model: NAME");
    if (v["fmu"]) {
      if (status s = r.text(v["fmu"], what + ".fmu", c.fmu); !s) return s;
      if (c.fmu.empty()) return r.fail(v["fmu"], what + ".fmu must be the path of an .fmu file");
    } else {
      if (status s = r.text(v["model"], what + ".model", c.model); !s) return s;
      if (c.model.empty() || c.model.find_first_of("/\\") != std::string::npos || c.model == "." || c.model == "..") {
        return r.fail(v["model"], what + ".model must be the name of an equation model in sim/ (no path)");
      }
    }
    if (v["kind"]) {
      std::string k;
      if (status s = r.text(v["kind"], what + ".kind", k); !s) return s;
      if (!v["fmu"]) return r.fail(v["kind"], what + ".kind is for FMUs only");
      if (k == "cs") {
        c.kind = sim::fmi::fmu_kind::co_simulation;
      } else if (k == "me") {
        c.kind = sim::fmi::fmu_kind::model_exchange;
      } else {
        return r.fail(v["kind"], what + ".kind must be cs (co-simulation) or me (model exchange)");
      }
    }
    if (v["step"]) {
      if (status s = r.number(v["step"], what + ".step", c.step); !s) return s;
      if (!(c.step > 0) || c.step > sys.step * (1 + 1e-12)) {
        return r.fail(v["step"], what + ".step must be positive and at most the system's step");
      }
    }
    if (const YAML::Node params = v["parameters"]) {
      if (!params.IsMap()) return r.fail(params, what + ".parameters must be a mapping: {NAME: VALUE, ...}");
      for (const auto& p : params) {
        std::string value;
        if (status s = r.text(p.second, what + ".parameters." + p.first.Scalar(), value); !s) return s;
        c.parameters.emplace_back(p.first.Scalar(), value);
      }
    }
    sys.components.push_back(std::move(c));
  }
  if (const YAML::Node connections = root["connections"]) {
    if (!connections.IsSequence()) return r.fail(connections, "connections must be a list of \"a.out -> b.in\"");
    for (const auto& item : connections) {
      std::string textual;
      if (status s = r.text(item, "a connection", textual); !s) return s;
      system_file::connection k;
      k.at = place_of(item);
      const auto arrow = textual.find("->");
      auto split = [](const std::string& side, std::string& comp, std::string& var) {
        const auto dot = side.find('.');
        if (dot == std::string::npos || dot == 0 || dot + 1 == side.size()) return false;
        comp = side.substr(0, dot);
        var = side.substr(dot + 1);
        return true;
      };
      if (arrow == std::string::npos || !split(trimmed(std::string_view(textual).substr(0, arrow)), k.from, k.output) ||
          !split(trimmed(std::string_view(textual).substr(arrow + 2)), k.to, k.input)) {
        return r.fail(item, "the connection \"" + textual + "\" must be written COMPONENT.OUTPUT -> COMPONENT.INPUT");
      }
      for (const std::string* name : {&k.from, &k.to}) {
        bool known = false;
        for (const auto& c : sys.components) known = known || c.name == *name;
        if (!known) return r.fail(item, "the connection \"" + textual + "\" names no component " + *name);
      }
      sys.connections.push_back(std::move(k));
    }
  }
  return sys;
}

namespace {

// The system's components and connections made from the file: FMUs opened, models compiled,
// names resolved. Runs in the child process (an FMU's binary is loaded here).
status build_system(const fs::path& dir, const fs::path& file, const system_file& sys,
                    std::vector<sim::system_component>& components, std::vector<sim::system_connection>& connections) {
  auto at = [&](const system_file::place& p) {
    return file.string() + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) + ": ";
  };
  for (const auto& c : sys.components) {
    sim::system_component sc;
    sc.name = c.name;
    sc.step = c.step;
    if (!c.fmu.empty()) {
      fs::path path = fs::path(c.fmu).is_absolute() ? fs::path(c.fmu) : dir / c.fmu;
      auto made = sim::fmu_component(path, c.kind, c.parameters);
      if (!made) return status::invalid_argument(at(c.at) + "components." + c.name + ": " + made.error().message());
      sc.c = std::move(*made);
    } else {
      fs::path model_file = dir / "sim" / (c.model + ".yaml");
      if (!fs::exists(model_file)) {
        return status::invalid_argument(at(c.at) + "components." + c.name + ": there is no " + model_file.string());
      }
      auto spec = load_equation_model(model_file);
      if (!spec) return spec.error();
      auto model = sim::equation_model::compile(*spec);
      if (!model) return status::invalid_argument(model_file.string() + ": " + model.error().message());
      std::vector<std::pair<std::string, double>> values;
      for (const auto& [name, text] : c.parameters) {
        double v = 0;
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(v)) {
          return status::invalid_argument(at(c.at) + "components." + c.name + ".parameters." + name +
                                          " must be a number, not \"" + text + "\"");
        }
        values.emplace_back(name, v);
      }
      auto made = sim::equation_component(*model, std::move(values));
      if (!made) return status::invalid_argument(at(c.at) + "components." + c.name + ": " + made.error().message());
      sc.c = std::move(*made);
    }
    components.push_back(std::move(sc));
  }
  auto index_of = [&](const std::string& name) {
    std::size_t i = 0;
    while (components[i].name != name) ++i;  // parse_system checked that it is there
    return i;
  };
  auto find = [](const std::vector<std::string>& names, const std::string& name) {
    std::size_t i = 0;
    while (i < names.size() && names[i] != name) ++i;
    return i;
  };
  auto list = [](const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? std::string("none") : out;
  };
  for (const auto& k : sys.connections) {
    sim::system_connection sc;
    sc.from = index_of(k.from);
    sc.to = index_of(k.to);
    const auto& outs = components[sc.from].c->output_names();
    const auto& ins = components[sc.to].c->input_names();
    sc.output = find(outs, k.output);
    sc.input = find(ins, k.input);
    if (sc.output == outs.size()) {
      return status::invalid_argument(at(k.at) + k.from + " has no Float64 output \"" + k.output +
                                      "\"; its outputs: " + list(outs));
    }
    if (sc.input == ins.size()) {
      return status::invalid_argument(at(k.at) + k.to + " has no Float64 input \"" + k.input +
                                      "\"; its inputs: " + list(ins));
    }
    for (const auto& other : connections) {
      if (other.to == sc.to && other.input == sc.input) {
        return status::invalid_argument(at(k.at) + k.to + "." + k.input + " is fed by two connections; keep one");
      }
    }
    connections.push_back(sc);
  }
  return {};
}

}  // namespace

int cmd_sim_system(const fs::path& dir, const std::string& name, const std::string& output, double timeout_s,
                   std::ostream& out, std::ostream& err) {
  auto fail = [&](const std::string& message) {
    err << "doppel sim system: " << message << "\n";
    return 1;
  };
  if (name.empty() || name.find_first_of("/\\") != std::string::npos || name == "." || name == "..") {
    return fail("--system " + name + ": the name of a file in DIR/sim/systems/ (without .yaml)");
  }
  const fs::path file = dir / "sim" / "systems" / (name + ".yaml");
  if (!fs::exists(file)) return fail("there is no " + file.string());
  auto sys = load_system(file);
  if (!sys) return fail(sys.error().message());
  std::ofstream out_file;
  std::ostream* sink = &out;
  if (!output.empty()) {
    out_file.open(output, std::ios::binary | std::ios::trunc);
    if (!out_file) return fail("--output " + output + ": cannot write it");
    sink = &out_file;
  }
  sim::fmi::isolation limits;
  limits.timeout = std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
  status s = sim::fmi::run_in_child(
      [&](const std::function<void(std::string_view)>& rows) -> status {
        std::vector<sim::system_component> components;
        std::vector<sim::system_connection> connections;
        if (status b = build_system(dir, file, *sys, components, connections); !b) return b;
        sim::system_options o;
        o.start = sys->start;
        o.stop = sys->stop;
        o.step = sys->step;
        o.algorithm = sys->algorithm;
        return sim::run_system(components, connections, o, rows);
      },
      limits, [&](std::string_view lines) { sink->write(lines.data(), static_cast<std::streamsize>(lines.size())); });
  sink->flush();
  if (!s) return fail(s.message());
  if (!*sink) return fail("writing the output failed");
  return 0;
}

}  // namespace doppel::app
