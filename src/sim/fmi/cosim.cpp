#include "sim/fmi/cosim.h"

#include <charconv>
#include <cmath>

#include "sim/csv.h"

namespace doppel::sim::fmi {

namespace {

// A cell's elements: one for a scalar; an array's separated by spaces.
status parse_cell(const variable& v, const std::string& cell, std::vector<scalar>& out) {
  out.clear();
  if (v.elements() == 1 && v.shape.empty()) {
    scalar x;
    if (status s = parse_scalar(v.type, v.type == var_type::string ? cell : csv_trim(cell), x); !s) return s;
    out.push_back(std::move(x));
    return {};
  }
  std::size_t i = 0;
  while (i < cell.size()) {
    while (i < cell.size() && cell[i] == ' ') ++i;
    std::size_t j = i;
    while (j < cell.size() && cell[j] != ' ') ++j;
    if (j > i) {
      scalar x;
      if (status s = parse_scalar(v.type, std::string_view(cell).substr(i, j - i), x); !s) return s;
      out.push_back(std::move(x));
    }
    i = j;
  }
  if (out.size() != v.elements()) {
    return status::invalid_argument(v.name + " has " + std::to_string(v.elements()) + " elements, the cell " +
                                    std::to_string(out.size()) + " (separate them by spaces)");
  }
  return {};
}

bool settable(const variable& v) {
  return v.causality == causality::input || v.causality == causality::parameter ||
         v.causality == causality::structural_parameter ||
         (v.causality != causality::independent && v.causality != causality::calculated_parameter &&
          (v.initial == "exact" || v.initial == "approx"));
}

}  // namespace

void append_csv_cell(var_type t, const std::vector<scalar>& v, std::string& out) {
  // Written in place (this runs for every output at every step); quoted afterwards in the rare
  // case that the cell holds a comma, quote or line break.
  const std::size_t start = out.size();
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out.push_back(' ');
    format_scalar(t, v[i], out);
  }
  if (out.find_first_of(",\"\n\r", start) == std::string::npos) return;
  std::string cell = out.substr(start);
  out.resize(start);
  out.push_back('"');
  for (char c : cell) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

result<input_table> parse_input_csv(const model_description& md, std::string_view csv, std::string_view file) {
  input_table t;
  std::size_t pos = 0, line = 1;
  if (csv.starts_with("\xEF\xBB\xBF")) pos = 3;
  auto where = [&](std::size_t l, std::size_t col) {
    return std::string(file) + ":" + std::to_string(l) + ": column " + std::to_string(col) + ": ";
  };
  std::vector<std::string> header = csv_record(csv, pos);
  if (header.empty() || csv_trim(header[0]) != "time") {
    return status::invalid_argument(where(1, 1) + "the first column must be \"time\" (a header time,NAME,...)");
  }
  for (std::size_t c = 1; c < header.size(); ++c) {
    std::string name = csv_trim(header[c]);
    const variable* v = md.find(name);
    if (!v) return status::invalid_argument(where(1, c + 1) + "the FMU has no variable \"" + name + "\"");
    if (!settable(*v)) {
      return status::invalid_argument(where(1, c + 1) + name + " is " + std::string(to_string(v->causality)) +
                                      "; only inputs and parameters can be set");
    }
    t.columns.push_back(v);
  }
  while (pos < csv.size()) {
    ++line;
    std::vector<std::string> cells = csv_record(csv, pos);
    if (cells.size() == 1 && csv_trim(cells[0]).empty()) continue;  // a blank line
    if (cells.size() != header.size()) {
      return status::invalid_argument(where(line, 1) + "the row has " + std::to_string(cells.size()) +
                                      " cells, the header " + std::to_string(header.size()));
    }
    double time = 0;
    if (!parse_double(csv_trim(cells[0]), time) || !std::isfinite(time)) {
      return status::invalid_argument(where(line, 1) + "\"" + cells[0] + "\" is not a time in seconds");
    }
    if (!t.times.empty() && time < t.times.back()) {
      return status::invalid_argument(where(line, 1) + "the time goes back; rows must be in time order");
    }
    t.times.push_back(time);
    auto& row = t.values.emplace_back(t.columns.size());
    for (std::size_t c = 0; c < t.columns.size(); ++c) {
      if (status s = parse_cell(*t.columns[c], cells[c + 1], row[c]); !s) {
        return status::invalid_argument(where(line, c + 2) + t.columns[c]->name + ": " + s.message());
      }
    }
  }
  return t;
}

result<run_times> resolve_times(const model_description& md, const run_options& o) {
  run_times t;
  t.start = o.start_time.value_or(md.experiment.start_time.value_or(0.0));
  t.stop = o.stop_time.value_or(md.experiment.stop_time.value_or(t.start + 1.0));
  double span = t.stop - t.start;
  t.step = o.step_size.value_or(md.experiment.step_size.value_or(span > 0 ? span / 500 : 1e-3));
  if (!std::isfinite(t.start) || !std::isfinite(t.stop) || t.stop < t.start) {
    return status::invalid_argument("the stop time (" + std::to_string(t.stop) + ") is before the start time (" +
                                    std::to_string(t.start) + ")");
  }
  if (!(t.step > 0) || !std::isfinite(t.step)) {
    return status::invalid_argument("the step size must be a positive number of seconds");
  }
  if (span / t.step > 1e9) return status::invalid_argument("the run would take over a billion steps");
  return t;
}

status run_cosimulation(instance& inst, const model_description& md, const run_options& o,
                        const std::function<void(std::string_view)>& emit) {
  auto times = resolve_times(md, o);
  if (!times) return times.error();
  if (o.tolerance && !(*o.tolerance > 0 && *o.tolerance < 1)) {
    return status::invalid_argument("the tolerance must be a number between 0 and 1 (relative), like 1e-6");
  }
  // Parameters and inputs from --set, checked before the FMU is touched.
  std::vector<std::pair<const variable*, std::vector<scalar>>> sets;
  for (const auto& [name, text] : o.sets) {
    const variable* v = md.find(name);
    if (!v) return status::invalid_argument("--set " + name + ": the FMU has no variable \"" + name + "\"");
    if (!settable(*v)) {
      return status::invalid_argument("--set " + name + ": it is " + std::string(to_string(v->causality)) +
                                      "; only inputs and parameters can be set");
    }
    std::vector<scalar> values;
    if (status s = parse_cell(*v, text, values); !s)
      return status::invalid_argument("--set " + name + ": " + s.message());
    sets.emplace_back(v, std::move(values));
  }
  // Start values before initialization (the state in which both standards let parameters be
  // set), inputs' first row during it.
  for (const auto& [v, values] : sets) {
    if (status s = inst.set(*v, values); !s) return s;
  }
  std::optional<double> stop = times->stop;
  std::optional<double> tolerance = o.tolerance ? o.tolerance : md.experiment.tolerance;
  if (status s = inst.enter_initialization(times->start, stop, tolerance); !s) return s;
  // Inputs: the row in force at time t (the last with a time <= t), applied when it changes.
  std::size_t row = 0;
  bool applied_any = false;
  auto apply_inputs = [&](double t) -> status {
    if (!o.inputs || o.inputs->times.empty()) return {};
    std::size_t next = row;
    while (next + 1 < o.inputs->times.size() && o.inputs->times[next + 1] <= t + 1e-12) ++next;
    if (o.inputs->times[next] > t + 1e-12) return {};  // before the first row: the start values
    if (applied_any && next == row) return {};
    row = next;
    applied_any = true;
    for (std::size_t c = 0; c < o.inputs->columns.size(); ++c) {
      if (status s = inst.set(*o.inputs->columns[c], o.inputs->values[row][c]); !s) return s;
    }
    return {};
  };
  if (status s = apply_inputs(times->start); !s) return s;
  if (status s = inst.exit_initialization(); !s) return s;

  std::string line = "time";
  for (std::size_t i : md.outputs) line += "," + md.variables[i].name;
  line += "\n";
  emit(line);
  std::vector<scalar> values;
  // When every output is a scalar Float64 (the common case), one call reads them all.
  std::vector<std::uint32_t> float_refs;
  for (std::size_t i : md.outputs) {
    const variable& v = md.variables[i];
    if (v.type != var_type::float64 || !v.shape.empty()) {
      float_refs.clear();
      break;
    }
    float_refs.push_back(v.value_reference);
  }
  const bool all_float = !float_refs.empty() && float_refs.size() == md.outputs.size();
  std::vector<double> floats(float_refs.size());
  auto write_row = [&](double t) -> status {
    line.clear();
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, t);
    line.append(buf, r.ptr);
    if (all_float) {
      if (status s = inst.get_float64(float_refs, floats.data()); !s) return s;
      for (double x : floats) {
        line.push_back(',');
        format_scalar(var_type::float64, x, line);
      }
      line.push_back('\n');
      emit(line);
      return {};
    }
    for (std::size_t i : md.outputs) {
      const variable& v = md.variables[i];
      if (v.type == var_type::clock) {
        line += ",";
        continue;
      }
      if (status s = inst.get(v, values); !s) return s;
      line.push_back(',');
      append_csv_cell(v.type, values, line);
    }
    line.push_back('\n');
    emit(line);
    return {};
  };
  if (status s = write_row(times->start); !s) return s;
  // Communication points t0 + k*h (no drift from adding h), the last one at the stop time.
  const double span = times->stop - times->start;
  // An FMU that cannot change its step size ends at the last whole step before the stop time;
  // a model-exchange FMU's steps are the integrator's, any size.
  auto kind = choose_kind(md, o.kind);
  if (!kind) return kind.error();
  const bool variable_step = *kind == fmu_kind::model_exchange || md.co_simulation.can_handle_variable_step;
  const double whole = span / times->step;
  const auto steps = static_cast<std::uint64_t>(variable_step ? std::ceil(whole - 1e-9) : std::floor(whole + 1e-9));
  double t = times->start;
  for (std::uint64_t k = 1; k <= steps; ++k) {
    double next = k == steps && variable_step ? times->stop : times->start + static_cast<double>(k) * times->step;
    bool terminate = false;
    if (status s = inst.step(t, next - t, terminate); !s) return s;
    t = next;
    // The inputs in force at t go in before the row is read, so that an output that depends on
    // an input directly shows it at once (as the reference tools record).
    if (!terminate) {
      if (status s = apply_inputs(t); !s) return s;
    }
    if (status s = write_row(t); !s) return s;
    if (terminate) break;  // the FMU asked to stop: its values at t are the last
  }
  return inst.terminate();
}

}  // namespace doppel::sim::fmi
