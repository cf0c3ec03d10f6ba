// Runs the real `doppel serve` binary for integration tests: starts it on a free loopback port
// (--listen 127.0.0.1:0; --mqtt off unless the test passes --mqtt), waits for its "listening on
// http://..." line, and stops it with SIGTERM or kills it with SIGKILL.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace doppel::testing {

class server_process {
 public:
  server_process() = default;
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;
  ~server_process() { kill(SIGKILL); }

  // Starts `doppel serve project --listen 127.0.0.1:0 --data data`. Returns false (with the
  // output so far in output()) if it exits or does not report its port.
  bool start(const std::filesystem::path& project, const std::filesystem::path& data,
             std::vector<std::string> extra = {}) {
    int fds[2];
    if (pipe(fds) != 0) return false;
    std::vector<std::string> args{DOPPEL_BINARY, "serve",  project.string(), "--listen",
                                  "127.0.0.1:0", "--data", data.string()};
    // Tests that are not about MQTT do not start a broker (each would need its own port).
    if (std::find(extra.begin(), extra.end(), "--mqtt") == extra.end()) extra.insert(extra.end(), {"--mqtt", "off"});
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      dup2(fds[1], 2);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    FILE* in = fdopen(fds[0], "r");
    char line[4096];
    output_.clear();
    while (fgets(line, sizeof line, in)) {
      output_ += line;
      std::string l = line;
      auto at = l.find("listening on http");
      auto colon = at == std::string::npos ? at : l.find("127.0.0.1:", at);
      if (colon != std::string::npos) {
        port_ = static_cast<unsigned short>(std::stoi(l.substr(colon + 10)));
        // The server writes little after start-up; the pipe stays open (and unread) until it
        // is stopped, so that a final line never meets a closed pipe.
        out_ = in;
        return true;
      }
    }
    fclose(in);
    kill(SIGKILL);
    return false;
  }

  unsigned short port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& output() const { return output_; }
  bool running() const { return pid_ > 0; }

  // Sends `sig` and waits for the process; returns its exit status (waitpid's).
  int kill(int sig) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    if (out_) {  // collect what it said while stopping
      char line[4096];
      while (fgets(line, sizeof line, out_)) output_ += line;
      fclose(out_);
      out_ = nullptr;
    }
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  unsigned short port_ = 0;
  std::string output_;
  FILE* out_ = nullptr;
};

}  // namespace doppel::testing
