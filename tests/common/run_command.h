// Runs a program the way a user's shell would and keeps what it printed, for tests that check a
// command's output and exit code (the real `doppel` binary, as a user runs it).
// Blocking; safe from any test thread.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

namespace doppel::testing {

struct run_result {
  int code = -1;       // the exit code; -1 when the program did not exit normally
  std::string output;  // stdout and stderr, interleaved as printed
};

// `s` as one word for /bin/sh.
inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

inline run_result run_command(const std::string& program, const std::vector<std::string>& args) {
  std::string cmd = shell_quote(program);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " 2>&1";
  run_result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace doppel::testing
