// Running an FMU where it cannot hurt the caller: in a child process of its own. A crash
// (a signal), a hang (no progress within a timeout: the child is killed) or an error the FMU
// reports becomes a status naming what happened and the last simulated time reached; the
// caller's process runs on. The child streams its output through a pipe as it goes, in blocks.
// Callers: `doppel fmu run`, `doppel sim system`. Forks: call it from a process that can fork
// safely (the CLI; the server will use a worker executable instead). One call at a time per
// thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string_view>

#include "core/status.h"
#include "sim/fmi/cosim.h"

namespace doppel::sim::fmi {

struct isolation {
  // How long the FMU may go without finishing a communication step before it counts as hung.
  std::chrono::milliseconds timeout{10000};
};

// Opens `fmu_file` and runs it (run_cosimulation) in a child process, handing its CSV to `emit`
// in this process, in pieces of whole lines. failed_precondition when the FMU reported an error, crashed or hung
// (killed); invalid_argument for a file that is not a usable FMU or bad options.
status run_isolated(const std::filesystem::path& fmu_file, const run_options& options, const isolation& limits,
                    const std::function<void(std::string_view)>& emit);

// What a child process does: its CSV lines go to the function it is handed.
using child_work = std::function<status(const std::function<void(std::string_view)>& emit)>;
// Runs `work` in a child process as run_isolated runs an FMU (the same streaming, timeout and
// messages; "the FMU crashed" for any crash): for whatever runs FMUs in this process, such as a
// system of them (system.h). `work` runs in the forked child only.
status run_in_child(const child_work& work, const isolation& limits, const std::function<void(std::string_view)>& emit);

}  // namespace doppel::sim::fmi
