// The `doppel` command line: parses arguments with CLI11 and runs a subcommand.
// Called by main(); also by tests, which pass their own streams. Not thread-safe.
#pragma once

#include <iosfwd>

namespace doppel::app {

// Runs `doppel argv...`; returns the process exit code (0 ok, 1 the input has errors,
// 2 the command line is wrong).
int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace doppel::app
