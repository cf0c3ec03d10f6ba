// The simulation files of a project folder, and `doppel sim run|fit|system`: equation models in
// DIR/sim/NAME.yaml (sim/equation_model.h); scenario files that run one of them offline, without
// a server, from a start time to a stop time with parameter changes and a schedule of inputs,
// writing CSV; `doppel sim fit`, which fits a model's parameters to measurements in a CSV file
// (sim/estimate.h); and systems in DIR/sim/systems/NAME.yaml (FMUs and equation models
// connected outputs to inputs under a master algorithm, sim/system.h).
// Callers: run_cli. Not thread-safe.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "sim/equation_model.h"
#include "sim/estimate.h"
#include "sim/system.h"

namespace doppel::app {

// An equation model file. invalid_argument "FILE:LINE:COLUMN: what; how to fix" for the first
// mistake: YAML that does not parse, an unknown key, a value of the wrong shape, an expression
// that does not compile (its column within the expression is in the message).
result<sim::equation_spec> load_equation_model(const std::filesystem::path& file);
// The same for the text of `file` (named in messages only).
result<sim::equation_spec> parse_equation_model(std::string_view text, const std::filesystem::path& file);

struct scenario {
  std::string model;  // the equation model's name: DIR/sim/<model>.yaml
  double start = 0, stop = 0, step = 0;
  std::vector<std::pair<std::string, double>> parameters;
  struct change {
    double time = 0;
    std::vector<std::pair<std::string, double>> inputs;  // inputs or parameters, from `time` on
  };
  std::vector<change> schedule;  // in time order
  std::string output;            // CSV file, relative to the scenario file; empty: standard output
};

// A scenario file; invalid_argument "FILE:LINE:COLUMN: ..." for the first mistake.
result<scenario> load_scenario(const std::filesystem::path& file);
result<scenario> parse_scenario(std::string_view text, const std::filesystem::path& file);

// A system file (DIR/sim/systems/NAME.yaml), as written: names are resolved against the FMUs
// and models when it runs. Each part keeps where it is written, for messages.
struct system_file {
  struct place {
    std::size_t line = 0, column = 0;  // 1-based
  };
  struct component {
    std::string name;
    std::string fmu;                                              // a path, relative to DIR unless absolute; or
    std::string model;                                            // an equation model's name: DIR/sim/<model>.yaml
    sim::fmi::fmu_kind kind = sim::fmi::fmu_kind::automatic;      // kind: cs | me (FMUs)
    double step = 0;                                              // 0: the system's
    std::vector<std::pair<std::string, std::string>> parameters;  // NAME: VALUE, before the start
    place at;
  };
  struct connection {
    std::string from, output, to, input;  // "from.output -> to.input"
    place at;
  };
  std::vector<component> components;  // in the file's order: the Gauss-Seidel order
  std::vector<connection> connections;
  double start = 0, stop = 0, step = 0;
  sim::master_algorithm algorithm = sim::master_algorithm::gauss_seidel;
};

// A system file; invalid_argument "FILE:LINE:COLUMN: ..." for the first mistake (YAML, unknown
// keys, a component with both or neither of fmu and model, a connection not written
// "a.out -> b.in" or naming an unknown component, times and steps).
result<system_file> load_system(const std::filesystem::path& file);
result<system_file> parse_system(std::string_view text, const std::filesystem::path& file);

// `doppel sim run DIR --scenario FILE`: 0 when the run reached its stop time, 1 with a message.
int cmd_sim_run(const std::filesystem::path& dir, const std::filesystem::path& scenario_file, std::ostream& out,
                std::ostream& err);
// `doppel sim system DIR --system NAME [--output OUT.csv]`: the system runs in a child process
// (an FMU that crashes or hangs ends in a message); CSV to `output` or `out`. 0 when it reached
// its stop time (or a component asked to stop), 1 with a message (file:line:column for a
// mistake in a file, a connection naming an unknown output or input among them).
int cmd_sim_system(const std::filesystem::path& dir, const std::string& name, const std::string& output,
                   double timeout_s, std::ostream& out, std::ostream& err);

// Measurements of `model` over time, for fitting: a header `time,<names>`, then one row per
// time (in time order). A column named like an input is an input (an empty cell holds the value
// before; before the first value, the input's start), one named like an output or state is
// measured (an empty cell: not measured then). When `measured` is not empty, only those of the
// measured columns count and the others are skipped. invalid_argument "FILE:LINE: column C:
// what" for an unknown or repeated name, a parameter or the time as a column, a cell that is not
// a number, a row of the wrong length, times that go back; "FILE: ..." for a file without
// rows or without a measured column, or a name in `measured` that no column has.
result<sim::fit_data> parse_fit_csv(const sim::equation_model& model, std::string_view csv,
                                    const std::filesystem::path& file, const std::vector<std::string>& measured = {});

struct sim_fit_options {
  std::string dir;                    // the project folder
  std::string model;                  // DIR/sim/<model>.yaml
  std::string data;                   // the CSV file of measurements
  std::vector<std::string> tune;      // the parameters to fit
  std::vector<std::string> sets;      // NAME=VALUE: a parameter's value (a tunable's start)
  std::vector<std::string> measured;  // when given, only these columns count
  int max_iterations = 50;
};

// `doppel sim fit DIR --model NAME --data FILE --tune P,...`: prints each tunable before -> after,
// the RMS error of each measured column before -> after, the iterations and whether the fit
// converged. 0 when the fit ran (converged or not), 1 with a message.
int cmd_sim_fit(const sim_fit_options& options, std::ostream& out, std::ostream& err);

}  // namespace doppel::app
