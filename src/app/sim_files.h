// The simulation files of a project folder, and `doppel sim run`: equation models in
// DIR/sim/NAME.yaml (sim/equation_model.h), and scenario files that run one of them offline,
// without a server, from a start time to a stop time with parameter changes and a schedule of
// inputs, writing CSV. Callers: run_cli. Not thread-safe.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "sim/equation_model.h"

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

// `doppel sim run DIR --scenario FILE`: 0 when the run reached its stop time, 1 with a message.
int cmd_sim_run(const std::filesystem::path& dir, const std::filesystem::path& scenario_file, std::ostream& out,
                std::ostream& err);

}  // namespace doppel::app
