// `doppel fmu info` and `doppel fmu run`: an FMU's description, and a run of it to CSV (a
// co-simulation, or model exchange integrated by Doppel), run in a child process (sim/fmi/isolated.h) so that a
// crashing or hanging FMU ends in a clear message and exit 1. Called by run_cli. Not thread-safe (forks).
#pragma once

#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

namespace doppel::app {

struct fmu_run_options {
  std::string file, output, input;
  std::string start_time, stop_time, step_size;  // empty: the default experiment's
  std::string tolerance;                         // empty: the default experiment's
  std::string kind;                              // "cs", "me" or empty (co-simulation when present)
  std::vector<std::string> sets;                 // NAME=VALUE
  double timeout_s = 10;
};

// Prints the FMI version, kinds, default experiment and variables; 1 when the file is not an FMU.
int cmd_fmu_info(const std::string& file, std::ostream& out, std::ostream& err);
// Writes the run's CSV to options.output (or `out`); 1 with a message when it fails.
int cmd_fmu_run(const fmu_run_options& options, std::ostream& out, std::ostream& err);

}  // namespace doppel::app
