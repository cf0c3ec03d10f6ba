// Running one FMU as a co-simulation from a start time to a stop time at a fixed communication
// step, as `doppel fmu run` does (a model-exchange FMU too, through its integrating instance,
// model_exchange.h): parameters and inputs set before initialization (--set),
// inputs read from a table and held between its rows, and every output written as CSV, one row
// per communication point (the layout of the FMI project's reference tools: a header
// `time,<outputs in modelDescription order>`, booleans true/false, binaries as hex, an array's
// elements separated by spaces in one cell).
// Callers: `doppel fmu run` through isolated.h (the FMU in a child process). Not thread-safe;
// one run per instance.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "sim/fmi/fmu.h"

namespace doppel::sim::fmi {

// Inputs over time: for each row, from its time on, the value of each column's variable.
struct input_table {
  std::vector<const variable*> columns;
  std::vector<double> times;                             // non-decreasing
  std::vector<std::vector<std::vector<scalar>>> values;  // [row][column] -> elements
};

// Parses CSV text (a header `time,<input names>`, then rows) against the FMU's variables.
// invalid_argument naming the file, line and column for an unknown name, a variable that is not
// an input or parameter, a cell that does not fit its type, or times that go back.
result<input_table> parse_input_csv(const model_description& md, std::string_view csv, std::string_view file);

struct run_options {
  std::optional<double> start_time, stop_time, step_size;  // else the default experiment's
  std::optional<double> tolerance;                         // relative; else the default experiment's
  fmu_kind kind = fmu_kind::automatic;                     // which part of the FMU runs (choose_kind)
  std::vector<std::pair<std::string, std::string>> sets;   // NAME=VALUE, before initialization
  const input_table* inputs = nullptr;
};

// The run's times after defaults: start, stop, step (checked: stop >= start, step > 0).
struct run_times {
  double start = 0, stop = 1, step = 0.01;
};
result<run_times> resolve_times(const model_description& md, const run_options& o);

// Runs `inst` and hands each CSV line (with its newline) to `emit`, the header first. Stops at
// the first error (the status says which call and what the FMU logged) or when the FMU asks to.
status run_cosimulation(instance& inst, const model_description& md, const run_options& o,
                        const std::function<void(std::string_view)>& emit);

// One CSV cell for a value (quoted when it holds a comma, quote or line break).
void append_csv_cell(var_type t, const std::vector<scalar>& v, std::string& out);

}  // namespace doppel::sim::fmi
