// FMU overhead: communication steps per second of one FMU run by `doppel fmu run` (the FMU in a
// child process, every output written as CSV at every step) against a bare C-style loop in this
// process calling the same FMU binary directly (dlopen; doStep, fmi2GetReal of the outputs and a
// CSV row per step formatted as doppel does, to a file as well). A cheap FMU (the bouncing ball) and a
// dearer one (Van der Pol, ten RK4 sub-steps per 1 ms step), both at 1 ms steps. Each run's file
// is checked afterwards: a header and one row per communication point.
//
// Usage: bench_fmu PATH/TO/doppel FMU_DIR [STEPS]   (FMU_DIR: the build's fmus/ folder)
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sim/fmi/fmi2_api.h"

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

void quiet_logger(fmi2ComponentEnvironment, fmi2String, fmi2Status, fmi2String, fmi2String, ...) {}

template <class F>
F* symbol(void* lib, const char* name) {
  auto* f = reinterpret_cast<F*>(dlsym(lib, name));
  if (!f) {
    std::fprintf(stderr, "bench_fmu: %s not exported\n", name);
    std::exit(1);
  }
  return f;
}

// The bare loop: seconds for `steps` steps of the unpacked FMU `dir` (its outputs at value
// references `outputs`), rows written to `out`.
double bare_loop(const fs::path& dir, const std::string& name, const std::string& guid,
                 const std::vector<fmi2ValueReference>& outputs, long steps, const fs::path& out) {
  fs::path so = dir / "binaries" / "linux64" / (name + ".so");
  void* lib = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "bench_fmu: %s\n", dlerror());
    std::exit(1);
  }
  auto instantiate = symbol<fmi2InstantiateTYPE>(lib, "fmi2Instantiate");
  auto setup = symbol<fmi2SetupExperimentTYPE>(lib, "fmi2SetupExperiment");
  auto enter = symbol<fmi2EnterInitializationModeTYPE>(lib, "fmi2EnterInitializationMode");
  auto exit_init = symbol<fmi2ExitInitializationModeTYPE>(lib, "fmi2ExitInitializationMode");
  auto do_step = symbol<fmi2DoStepTYPE>(lib, "fmi2DoStep");
  auto get_real = symbol<fmi2GetRealTYPE>(lib, "fmi2GetReal");
  auto terminate = symbol<fmi2TerminateTYPE>(lib, "fmi2Terminate");
  auto free_instance = symbol<fmi2FreeInstanceTYPE>(lib, "fmi2FreeInstance");
  fmi2CallbackFunctions cb{quiet_logger, std::calloc, std::free, nullptr, nullptr};
  std::string uri = "file://" + (dir / "resources").string();
  auto t0 = clock_type::now();
  fmi2Component c = instantiate(name.c_str(), fmi2CoSimulation, guid.c_str(), uri.c_str(), &cb, fmi2False, fmi2False);
  const double h = 1e-3, stop = static_cast<double>(steps) * h;
  if (!c || setup(c, fmi2False, 0, 0, fmi2True, stop) != fmi2OK || enter(c) != fmi2OK || exit_init(c) != fmi2OK) {
    std::fprintf(stderr, "bench_fmu: %s did not initialize\n", name.c_str());
    std::exit(1);
  }
  FILE* f = std::fopen(out.c_str(), "w");
  std::vector<fmi2Real> values(outputs.size());
  // Rows formatted as doppel formats them (shortest exact form), so both sides do the same work.
  char line[512];
  auto row = [&](double t) {
    get_real(c, outputs.data(), outputs.size(), values.data());
    char* p = std::to_chars(line, line + 64, t).ptr;
    for (double v : values) {
      *p++ = ',';
      p = std::to_chars(p, p + 64, v).ptr;
    }
    *p++ = '\n';
    std::fwrite(line, 1, static_cast<std::size_t>(p - line), f);
  };
  std::fputs("time\n", f);
  row(0);
  for (long k = 1; k <= steps; ++k) {
    double t = static_cast<double>(k - 1) * h;
    if (do_step(c, t, static_cast<double>(k) * h - t, fmi2True) != fmi2OK) {
      std::fprintf(stderr, "bench_fmu: doStep failed\n");
      std::exit(1);
    }
    row(static_cast<double>(k) * h);
  }
  terminate(c);
  free_instance(c);
  std::fclose(f);
  double s = std::chrono::duration<double>(clock_type::now() - t0).count();
  dlclose(lib);
  return s;
}

double doppel_run(const std::string& doppel, const fs::path& fmu, long steps, const fs::path& out) {
  std::string stop = std::to_string(static_cast<double>(steps) * 1e-3);
  auto t0 = clock_type::now();
  pid_t pid = fork();
  if (pid == 0) {
    execl(doppel.c_str(), doppel.c_str(), "fmu", "run", fmu.c_str(), "--stop-time", stop.c_str(), "--step-size",
          "0.001", "--output", out.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    std::fprintf(stderr, "bench_fmu: doppel fmu run failed\n");
    std::exit(1);
  }
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

long rows_in(const fs::path& file) {
  std::ifstream f(file);
  long n = -1;  // the header
  for (std::string line; std::getline(f, line);) ++n;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_fmu PATH/TO/doppel FMU_DIR [STEPS]\n");
    return 2;
  }
  std::string doppel = argv[1];
  fs::path fmus = argv[2];
  long steps = argc > 3 ? std::atol(argv[3]) : 1000000;
  fs::path tmp = fs::temp_directory_path() / ("doppel-bench-fmu-" + std::to_string(getpid()));
  fs::create_directories(tmp);
  struct fmu_case {
    const char* name;
    const char* guid;
    std::vector<fmi2ValueReference> outputs;
    const char* what;
  };
  std::vector<fmu_case> cases = {
      {"BouncingBall2", "{5c6d2a1e-8a4b-4d0e-9b1f-2b7d0c9e1a01}", {1, 2}, "cheap: bouncing ball"},
      {"VanDerPol2", "{5c6d2a1e-8a4b-4d0e-9b1f-2b7d0c9e1a02}", {1, 2}, "dearer: Van der Pol, 10 RK4 sub-steps"},
  };
  std::printf("\nFMU co-simulation, %ld steps of 1 ms; every output written as CSV at every step, both sides\n", steps);
  std::printf("| %-40s | %12s | %12s | %7s |\n", "FMU", "doppel st/s", "bare st/s", "ratio");
  std::printf("|------------------------------------------|--------------|--------------|---------|\n");
  int failures = 0;
  for (const fmu_case& c : cases) {
    fs::path bare_out = tmp / "bare.csv", doppel_out = tmp / "doppel.csv";
    double bare = bare_loop(fmus / c.name, c.name, c.guid, c.outputs, steps, bare_out);
    double ours = doppel_run(doppel, fmus / (std::string(c.name) + ".fmu"), steps, doppel_out);
    // Both hold a row per communication point (0 .. steps).
    if (rows_in(bare_out) != steps + 1 || rows_in(doppel_out) != steps + 1) {
      std::fprintf(stderr, "bench_fmu: %s: expected %ld rows, bare %ld, doppel %ld\n", c.name, steps + 1,
                   rows_in(bare_out), rows_in(doppel_out));
      ++failures;
    }
    double a = static_cast<double>(steps) / ours, b = static_cast<double>(steps) / bare;
    std::printf("| %-40s | %12.0f | %12.0f | %7.3f |\n", c.what, a, b, a / b);
  }
  // What a run costs before its first step: the process, unpacking the archive, the fork.
  double fixed = doppel_run(doppel, fmus / "BouncingBall2.fmu", 1, tmp / "one.csv");
  std::printf("| %-40s | %12.1f | %12s | %7s |\n", "start-up of doppel fmu run (ms, 1 step)", fixed * 1000, "", "");
  std::printf(
      "ratio = doppel / bare loop (doppel: the whole `doppel fmu run` process: start, unpacking, the FMU in a child\n"
      "process, rows through a pipe; bare: dlopen and the C API in this process); target >= 0.9 for the cheap FMU.\n");
  fs::remove_all(tmp);
  return failures ? 1 : 0;
}
