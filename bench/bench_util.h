// What the benchmarks that run the real `doppel serve` (and the anchors they compare it with)
// share: a pump-station project with many pump twins, starting a process that prints the port it
// listens on or one on a port picked here, waiting until it answers, loading it with line protocol
// and stopping it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api/client.h"

namespace doppel::bench {

// PROJECT/models (the pump-station models), PROJECT/twins/pumps.json declaring pump-0 ..
// pump-(twins-1), and doppel.yaml with `yaml` (which must hold the name).
inline void write_pump_project(const std::filesystem::path& project, long twins, const std::string& yaml) {
  namespace fs = std::filesystem;
  fs::create_directories(project / "models");
  fs::create_directories(project / "twins");
  for (const auto& e : fs::directory_iterator(fs::path(DOPPEL_SOURCE_DIR) / "examples/pump-station/models")) {
    fs::copy(e.path(), project / "models" / e.path().filename(), fs::copy_options::overwrite_existing);
  }
  std::ofstream out(project / "twins/pumps.json");
  out << "[";
  for (long i = 0; i < twins; ++i) {
    out << (i ? "," : "") << "{\"$dtId\": \"pump-" << i
        << "\", \"$metadata\": {\"$model\": \"dtmi:doppel:example:Pump;1\"}, \"motor\": {\"$metadata\": {}}}";
  }
  out << "]";
  std::ofstream(project / "doppel.yaml") << yaml;
}

// PROJECT/models/MODEL-FILE for each (file name, DTDL JSON), PROJECT/twins/twins.json declaring
// each (twin id, model id), and doppel.yaml with `yaml` (which must hold the name).
inline void write_project(const std::filesystem::path& project,
                          const std::vector<std::pair<std::string, std::string>>& models,
                          const std::vector<std::pair<std::string, std::string>>& twins, const std::string& yaml) {
  namespace fs = std::filesystem;
  fs::create_directories(project / "models");
  fs::create_directories(project / "twins");
  for (const auto& [file, json] : models) std::ofstream(project / "models" / file) << json;
  std::ofstream out(project / "twins/twins.json");
  out << "[";
  for (std::size_t i = 0; i < twins.size(); ++i) {
    out << (i ? "," : "") << "{\"$dtId\": \"" << twins[i].first << "\", \"$metadata\": {\"$model\": \""
        << twins[i].second << "\"}}";
  }
  out << "]";
  std::ofstream(project / "doppel.yaml") << yaml;
}

struct child {
  pid_t pid = -1;
  unsigned short port = 0;
  std::string output;  // what it printed before the port
};

// Starts a process whose stdout's first "listening on http://127.0.0.1:PORT" (or bare number)
// line names its port. The pipe stays open: the child may print a last line when it stops.
inline child spawn_listening(std::vector<std::string> args) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  child c;
  c.pid = fork();
  if (c.pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  FILE* in = fdopen(fds[0], "r");
  char line[1024];
  while (fgets(line, sizeof line, in)) {
    std::string l = line;
    auto at = l.find("listening on http://127.0.0.1:");
    if (at == std::string::npos) c.output += l;
    if (at != std::string::npos) {
      c.port = static_cast<unsigned short>(std::stoi(l.substr(at + 30)));
      break;
    }
    if (!l.empty() && std::isdigit(static_cast<unsigned char>(l[0]))) {
      c.port = static_cast<unsigned short>(std::stoi(l));
      break;
    }
  }
  return c;
}

// A loopback port free right now (for servers that cannot pick their own and print it).
inline unsigned short free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  socklen_t len = sizeof a;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Starts `args` (searched on PATH) with stdout and stderr going to `log`.
inline pid_t spawn(std::vector<std::string> args, const std::filesystem::path& log) {
  pid_t pid = fork();
  if (pid == 0) {
    FILE* out = std::fopen(log.c_str(), "w");
    if (out) {
      dup2(fileno(out), 1);
      dup2(fileno(out), 2);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// SIGTERM, then waits for it to exit.
inline void stop(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
}

inline double rss_mib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

// Waits (up to `seconds`) until GET `path` answers 2xx.
inline bool wait_ready(unsigned short port, const std::string& path, int seconds = 30) {
  for (int k = 0; k < seconds * 10; ++k) {
    auto c = api::http_client::connect("127.0.0.1", port);
    if (c) {
      auto r = (*c)->send({"GET", path, {}, ""});
      if (r && r->status / 100 == 2) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Posts every batch to `target` (`connections` keep-alive connections share them); `points` (what
// the batches hold) per second acknowledged, 0 when a request failed (the first failure is
// printed on stderr with `name`).
inline double load(unsigned short port, const std::string& target, const std::vector<std::string>& batches,
                   const std::vector<std::pair<std::string, std::string>>& headers, std::int64_t points,
                   const char* name, int connections = 2) {
  std::atomic<std::size_t> next{0};
  std::atomic<long> failed{0};
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&] {
      auto client = api::http_client::connect("127.0.0.1", port);
      if (!client) return void(failed += 1);
      for (std::size_t k; (k = next++) < batches.size();) {
        auto r = (*client)->send({"POST", target, headers, batches[k]});
        if (!r || r->status / 100 != 2) {
          if (failed++ == 0) {
            std::fprintf(stderr, "%s: %s\n", name, r ? r->body.substr(0, 200).c_str() : r.error().message().c_str());
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (failed) std::fprintf(stderr, "%s: %ld failed requests\n", name, failed.load());
  return failed ? 0 : static_cast<double>(points) / s;
}

}  // namespace doppel::bench
