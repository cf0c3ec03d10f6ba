// What the benchmarks that run the real `doppel serve` share: a pump-station project with many
// pump twins, and starting a process that prints the port it listens on.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

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

struct child {
  pid_t pid = -1;
  unsigned short port = 0;
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

}  // namespace doppel::bench
