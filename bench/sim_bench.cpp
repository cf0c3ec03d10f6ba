// Equation models at work: how many pump twins one core keeps in real time with an output every
// 0.1 s (10 Hz), each twin's speed reading changing its input every tick, and how many simulated
// hours of the pump per wall second an offline scenario runs. The model is the pump station's
// (examples/pump-station/sim/pump.yaml, read as `doppel sim run` reads it). Anchor, measured in
// the same run on the same work: the same equations written in C++ and solved by the same CVODE
// solver with the same tolerances, so the ratio is the cost of the expression language and the
// model's plumbing. Both sides' final winding temperatures are compared (they must agree to the
// solver's tolerance) and printed.
//
// A third row runs the same real-time work inside the server's path: the pump station's live
// binding (doppel.yaml simulation.live, virtual sensors every 0.1 s) as a stage of the real
// telemetry pipeline over the real twin graph and a durable history (fdatasync per pass, as
// `doppel serve`), one shard; its anchor is this run's own offline figure, so the ratio is what
// the pipeline, the history writes of the virtual sensors and the stage's plumbing cost. The
// history is checked to hold every virtual sensor value afterwards.
//
// Usage: bench_sim [TWINS] [SECONDS]   (simulated seconds of the real-time part; defaults 200, 60)
#include <unistd.h>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <vector>

#include "app/config.h"
#include "app/live_bindings.h"
#include "app/sim_files.h"
#include "ingest/dead_letters.h"
#include "ingest/pipeline.h"
#include "sim/equation_model.h"
#include "sim/ode.h"
#include "store/metadata_store.h"
#include "store/timeseries/history.h"
#include "twin/graph.h"

namespace {

using clock_type = std::chrono::steady_clock;
using namespace doppel;

// The pump of pump.yaml, by hand: the same parameters and equations.
struct native_pump {
  double speed = 0, ambient = 25;
  std::unique_ptr<sim::ode_solver> solver;
  double motor_loss = 0, bearing_loss = 0;

  void losses() {
    const double n0 = 1450, H0 = 32, Qmax = 120, Qbep = 80, eta_bep = 0.78, lift = 12, k_pipe = 0.0012, rho = 998,
                 g0 = 9.81, motor_eff = 0.92, friction = 150;
    double ratio = speed / n0;
    double flow = std::sqrt(std::max(0.0, (H0 * ratio * ratio - lift) / (H0 / (Qmax * Qmax) + k_pipe)));
    double head = lift + k_pipe * flow * flow;
    double hydraulic = rho * g0 * flow / 3600 * head;
    double d = (flow - Qbep * ratio) / (Qbep * ratio);
    double eff = ratio > 0.05 ? std::clamp(eta_bep * (1 - d * d), 0.05, eta_bep) : 0;
    double shaft = eff > 0 ? hydraulic / eff : 0;
    motor_loss = shaft / motor_eff - shaft;
    bearing_loss = friction * ratio * ratio;
  }
  void start(const sim::ode_options& o) {
    sim::ode_system sys;
    sys.states = 2;
    sys.rhs = [this](double, const double* y, double* dy) {
      dy[0] = (motor_loss - (y[0] - ambient) / 0.012) / 20000;
      dy[1] = (bearing_loss - (y[1] - ambient) / 0.05) / 8000;
    };
    losses();
    std::vector<double> y0{ambient, ambient};
    solver = sim::ode_solver::create(std::move(sys), y0, 0.0, o).value();
  }
  void set_speed(double s) {
    speed = s;
    losses();
    std::vector<double> y(solver->state().begin(), solver->state().end());
    (void)solver->reset(solver->time(), y);
  }
};

double speed_of(std::size_t twin, long tick) {
  // Each twin near rated speed, its reading wandering a little every tick.
  return 1300 + static_cast<double>(twin % 100) + 20 * std::sin(0.1 * static_cast<double>(tick + twin));
}

// Twins kept in real time at 10 Hz by the live stage in the pipeline (see the head comment); 0
// when something failed (said on stderr).
double live_in_pipeline(std::size_t twins, long seconds) {
  namespace fs = std::filesystem;
  auto fail = [](const std::string& why) {
    std::fprintf(stderr, "bench_sim: live: %s\n", why.c_str());
    return 0.0;
  };
  const fs::path project = DOPPEL_SOURCE_DIR "/examples/pump-station";
  const fs::path dir = fs::temp_directory_path() / ("doppel-bench-sim-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  struct cleanup {
    fs::path d;
    ~cleanup() { fs::remove_all(d); }
  } gone{dir};
  model::model_registry registry;
  if (!registry.load_paths({project / "models"}).ok()) return fail("models");
  auto cfg = app::load_config(project);
  if (!cfg.ok() || cfg.config.simulation.live.empty()) return fail("doppel.yaml");
  cfg.config.simulation.live[0].interval_ns = 100'000'000;  // virtual sensors at 10 Hz
  auto bound = app::bind_live_simulations(project, cfg.config.simulation, registry);
  if (!bound.errors.empty()) return fail(bound.errors[0].message);
  auto store = store::metadata_store::open(dir / "doppel.db");
  if (!store) return fail(store.error().message());
  auto graph = twin::twin_graph::open(registry, **store);
  if (!graph) return fail(graph.error().message());
  for (std::size_t i = 0; i < twins; ++i) {
    auto pump =
        nlohmann::json::parse(R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"}, "motor": {"$metadata": {}}})");
    if (!(*graph)->put_twin("pump-" + std::to_string(i), pump, {}, {true})) return fail("put_twin");
  }
  ts::history_options ho;
  ho.dir = dir / "history";
  auto history = ts::history::open(ho);
  if (!history) return fail(history.error().message());
  ingest::dead_letters letters(100);
  ingest::pipeline_options po{1, twins * 2 + 16, history->get(), 0, {}};
  auto board = std::make_shared<sim::live_board>();
  const auto& b = bound.bindings.front();
  po.stages.push_back({std::make_shared<sim::live_simulation>(**graph, b, board), b->spec.model});
  double wall = 0;
  {
    ingest::telemetry_pipeline pipeline(**graph, letters, po);
    const std::int64_t t0 = 1764064800LL * 1'000'000'000;
    std::vector<ingest::reading> batch;
    auto start = clock_type::now();
    for (long k = 0; k <= seconds * 10; ++k) {
      batch.clear();
      for (std::size_t i = 0; i < twins; ++i) {
        batch.push_back({"pump-" + std::to_string(i), "speed", speed_of(i, k), t0 + k * 100'000'000});
      }
      auto r = pipeline.submit("bench", std::move(batch));
      if (!r || r->accepted != twins) return fail(r ? "readings refused" : r.error().message());
    }
    wall = std::chrono::duration<double>(clock_type::now() - start).count();
  }
  // Every twin's virtual sensor at every tick is in the history.
  for (std::size_t i = 0; i < twins; i += std::max<std::size_t>(1, twins / 10)) {
    auto points = (*history)->read("pump-" + std::to_string(i), "sim.winding_temp", INT64_MIN, INT64_MAX, 1000000);
    if (!points || points->size() != static_cast<std::size_t>(seconds * 10 + 1)) {
      return fail("pump-" + std::to_string(i) + " holds " + std::to_string(points ? points->size() : 0) +
                  " virtual sensor points, not " + std::to_string(seconds * 10 + 1));
    }
  }
  return static_cast<double>(twins) * static_cast<double>(seconds) / wall;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t twins = argc > 1 ? static_cast<std::size_t>(std::atol(argv[1])) : 200;
  const long seconds = argc > 2 ? std::atol(argv[2]) : 60;
  const long ticks = seconds * 10;
  auto spec = app::load_equation_model(DOPPEL_SOURCE_DIR "/examples/pump-station/sim/pump.yaml");
  if (!spec) {
    std::fprintf(stderr, "bench_sim: %s\n", spec.error().message().c_str());
    return 1;
  }
  auto model = sim::equation_model::compile(*spec);
  if (!model) return 1;

  // Real time at 10 Hz: every twin gets its speed reading and is advanced 0.1 s, its outputs read.
  std::vector<std::unique_ptr<sim::equation_run>> runs;
  for (std::size_t i = 0; i < twins; ++i) runs.push_back(sim::equation_run::start(*model, 0.0).value());
  const auto winding = (*model)->slots().find("winding_temp").value();
  double sink = 0;
  auto t0 = clock_type::now();
  for (long k = 1; k <= ticks; ++k) {
    for (std::size_t i = 0; i < twins; ++i) {
      (void)runs[i]->set("speed", speed_of(i, k));
      if (!runs[i]->advance(static_cast<double>(k) * 0.1)) return 1;
      sink += runs[i]->values()[winding];
    }
  }
  double ours = std::chrono::duration<double>(clock_type::now() - t0).count();

  std::vector<native_pump> natives(twins);
  for (auto& p : natives) p.start(spec->solver);
  double native_sink = 0;
  t0 = clock_type::now();
  for (long k = 1; k <= ticks; ++k) {
    for (std::size_t i = 0; i < twins; ++i) {
      natives[i].set_speed(speed_of(i, k));
      if (!natives[i].solver->advance(static_cast<double>(k) * 0.1)) return 1;
      native_sink += natives[i].solver->state()[0];
    }
  }
  double native = std::chrono::duration<double>(clock_type::now() - t0).count();

  const double sim_seconds = static_cast<double>(seconds);
  const double ours_twins = static_cast<double>(twins) * sim_seconds / ours;
  const double native_twins = static_cast<double>(twins) * sim_seconds / native;
  std::printf("\nEquation models: the pump station's pump (2 states, 9 outputs), CVODE BDF, rtol 1e-6\n");
  std::printf("| %-52s | %12s | %12s | %7s |\n", "measure", "doppel", "C++ by hand", "ratio");
  std::printf("|------------------------------------------------------|--------------|--------------|---------|\n");
  std::printf("| %-52s | %12.0f | %12.0f | %7.3f |\n", "pump twins one core keeps in real time at 10 Hz", ours_twins,
              native_twins, ours_twins / native_twins);

  const double live = live_in_pipeline(twins, seconds);
  if (live == 0) return 1;
  std::printf("| %-52s | %12.0f | %12.0f | %7.3f |\n", "  the same inside the server (pipeline, history)", live,
              ours_twins, live / ours_twins);

  // Offline: the pump for a simulated day with an output a minute, speed changed every hour.
  auto day = sim::equation_run::start(*model, 0.0);
  native_pump hand;
  hand.start(spec->solver);
  const int days = 5;
  t0 = clock_type::now();
  for (int m = 1; m <= days * 24 * 60; ++m) {
    if (m % 60 == 1) (void)(*day)->set("speed", 1000 + 45.0 * (m / 60 % 10));
    if (!(*day)->advance(m * 60.0)) return 1;
  }
  double day_ours = std::chrono::duration<double>(clock_type::now() - t0).count();
  t0 = clock_type::now();
  for (int m = 1; m <= days * 24 * 60; ++m) {
    if (m % 60 == 1) hand.set_speed(1000 + 45.0 * (m / 60 % 10));
    if (!hand.solver->advance(m * 60.0)) return 1;
  }
  double day_native = std::chrono::duration<double>(clock_type::now() - t0).count();
  const double hours = days * 24.0;
  std::printf("| %-52s | %12.0f | %12.0f | %7.3f |\n", "scenario: simulated hours per wall second (1 min rows)",
              hours / day_ours, hours / day_native, day_native / day_ours);
  double a = (*day)->values()[winding], b = hand.solver->state()[0];
  std::printf(
      "ratio = doppel / the same equations in C++ with the same solver (inside the server: / doppel offline);\n"
      "target >= 10,000 twins in real time.\n"
      "checked: final winding temperature %.6f (doppel) vs %.6f (C++), sums %.3f vs %.3f\n",
      a, b, sink, native_sink);
  if (std::fabs(a - b) > 1e-3 || std::fabs(sink - native_sink) > 1e-4 * std::fabs(native_sink)) {
    std::fprintf(stderr, "bench_sim: doppel and the C++ pump disagree\n");
    return 1;
  }
  return 0;
}
