// Live simulation: an equation model (equation_model.h) running beside each twin of a DTDL
// model, fed by the twin's telemetry and properties as they arrive, writing what no sensor
// measures (virtual sensors, "sim.<name>") and how far each measurement is from the model
// ("residual.<telemetry>" = measured - predicted) as telemetry of the twin: into its history,
// its latest telemetry and its twin.telemetry events (ingest/stage.h, derived telemetry).
//
// The model's clock is the telemetry's time: a run starts at a twin's first reading, and each
// run of readings advances it to their time with the inputs held since the last (zero-order
// hold), writing the virtual sensors at every multiple of the binding's interval on the way.
// A twin that stops sending stops advancing; after a gap longer than resync_after the run
// starts again from the model's start values rather than integrate hours of stale inputs.
// A run that fails (the solver gives up) is reported (status(), /metrics) and started again
// at the first reading retry_after later; it never stops the shard or another twin.
//
// Callers: `doppel serve` binds each `simulation.live` entry of doppel.yaml (bind()) and
// registers one live_simulation per binding as a pipeline stage for the binding's model; the
// API reads a twin's run through live_board; `doppel validate` checks bindings with bind().
// Threading: a stage's run() is called on the shard thread that owns the twin (stage.h) and
// keeps each twin's run in the twin's stage state, so runs need no lock. live_board is safe for
// concurrent use: runs post their state to it when they start or fail and at each interval.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"
#include "ingest/stage.h"
#include "model/model.h"
#include "sim/equation_model.h"
#include "sim/live_spec.h"
#include "twin/graph.h"

namespace doppel::sim {

// A spec checked against its equation model and DTDL interface, with its names resolved.
struct live_binding {
  live_spec spec;
  std::shared_ptr<const equation_model> equations;
  struct bound {
    std::size_t slot = 0;  // in equations->slots()
    live_source source;
    std::string series;  // what the run writes for it: "residual.<telemetry>" for a measured value
  };
  std::vector<bound> inputs, parameters, measured;
  struct output {
    std::size_t slot = 0;
    std::string series;  // "sim.<name>"
  };
  std::vector<output> outputs;
};

// Checks `spec` against the equation model and the interface its twins have: every name is an
// input, parameter, output or state of the equations as its key says; a telemetry source names a
// numeric or boolean telemetry of the interface, a property source a numeric property; the
// interface has no component named "sim" or "residual" (their series names would be ambiguous).
// invalid_argument "simulation.live[<i>].<key>.<name>: what is wrong; how to fix it" (the caller
// names the entry).
result<live_binding> bind(live_spec spec, std::shared_ptr<const equation_model> equations,
                          const model::interface& twins);

// What the live runs of one binding did, for /metrics.
struct live_counters {
  std::string equations, model;
  std::atomic<std::uint64_t> starts{0}, failures{0}, outputs{0}, residuals{0}, corrections{0};
};

// A run's inputs and parameters as a twin gives them when its run starts: constants, inputs bound
// to telemetry from the twin's latest values, and (with `properties`) property-bound values.
void seed_run(const twin::twin_graph& graph, const live_binding& b, const std::string& twin, equation_run& run,
              bool properties);
// The property-bound inputs and parameters from the twin's properties, where they are set.
void apply_properties(const twin::twin_graph& graph, const live_binding& b, const std::string& twin, equation_run& run);

// The state of each twin's live run, for the API, written by the runs; and every binding's
// counters, for /metrics.
class live_board {
 public:
  // One twin's run. Its run writes it through update(); readers go through get().
  struct entry {
    std::shared_ptr<const live_binding> binding;
    bool running = false;
    std::string error;                         // why it failed, while it is not running
    std::int64_t started_ns = 0, time_ns = 0;  // the run's start and where it stands (twin's time)
    std::int64_t failures = 0;
    std::vector<double> values;  // by the equations' slots (equation_model::slots())
    // Parameters to set on the run at its next reading (a fit's result): (slot, value). The flag
    // lets the run look without the lock.
    std::vector<std::pair<std::size_t, double>> pending;
    std::atomic<bool> has_pending{false};
  };
  // A new entry for `twin`'s run, in place of any other.
  std::shared_ptr<entry> enter(const std::string& twin, std::shared_ptr<const live_binding> binding);
  // Changes an entry under the board's lock (no allocation once its values have their size).
  void update(entry& e, bool running, std::string_view error, std::int64_t started_ns, std::int64_t time_ns,
              std::int64_t failures, std::span<const double> values);
  // Drops the twin's entry if it is `e` (a deleted twin's run going away must not drop the
  // entry of the twin created again under its id).
  void drop(const std::string& twin, const entry* e);

  // {"equations", "state": "running" | "failed", "error"?, "started", "time", "failures",
  // "parameters": {...}, "inputs": {...}, "states": {...}, "outputs": {...}}; nullopt when the
  // twin has no run.
  std::optional<nlohmann::json> get(const std::string& twin) const;

  // Where a twin's running run stands: its binding, time and every slot's value (for a
  // scenario's fork); nullopt when it has none running.
  struct snapshot {
    std::shared_ptr<const live_binding> binding;
    std::int64_t time_ns = 0;
    std::vector<double> values;
  };
  std::optional<snapshot> fork(const std::string& twin) const;
  // Hands parameters (slot, value) to the twin's running run, which sets them at its next
  // reading; false when it has none running.
  bool set_parameters(const std::string& twin, std::vector<std::pair<std::size_t, double>> values);
  // The parameters handed to a run, once (empty when none): for the run's shard thread.
  std::vector<std::pair<std::size_t, double>> take_parameters(entry& e);

  // New counters for a binding (live_simulation takes them when it is made).
  std::shared_ptr<live_counters> counters(std::string equations, std::string model);
  // doppel_sim_live_* families (Prometheus text): runs by state, and each binding's counters.
  void render_metrics(std::string& out) const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<entry>> twins_;  // guarded by mu_, as the entries are
  std::vector<std::shared_ptr<const live_counters>> counters_;     // guarded by mu_
};

// Points of a twin's telemetry with from <= t < to, as (time, value); empty when none.
using history_reader = std::function<std::vector<std::pair<std::int64_t, double>>(
    const std::string& twin, const std::string& name, std::int64_t from, std::int64_t to)>;

// A fit of a live twin's tunable parameters (spec.tunable) to its own history over a window.
struct live_fit_request {
  std::vector<std::string> tune;  // empty: every tunable of the binding
  std::int64_t window_ns = 3'600'000'000'000;
  std::int64_t to_ns = 0;  // the window's end (the run's time, or now)
  int max_iterations = 50;
};
// Reads the window from the twin's history: the inputs bound to telemetry (held between points),
// the others as the run has them, the measured telemetry (scaled as bound), the states at the
// window's start from the virtual sensors (sim.<state>) where there are any; starts from the
// run's parameters (`values`, its slots; empty: the equations' own) and fits. The answer:
// {"twin", "equations", "window": {"from", "to", "rows"}, "parameters": {name: {"before",
// "after"}}, "rms": {telemetry: {"before", "after"}}, "iterations", "converged", "message"}.
// invalid_argument naming what is wrong (no tunable declared, a name that is not one, no
// measurements in the window).
result<nlohmann::json> fit_live(const live_binding& b, const std::string& twin, std::span<const double> values,
                                const live_fit_request& request, const history_reader& read,
                                std::vector<std::pair<std::size_t, double>>& fitted);

class state_observer;

class live_simulation final : public ingest::stage {
 public:
  // `graph` is read for the twins' properties (a run's start and every refresh_ns).
  live_simulation(const twin::twin_graph& graph, std::shared_ptr<const live_binding> binding,
                  std::shared_ptr<live_board> board);
  std::string_view name() const override { return name_; }
  void run(int shard, const ingest::twin_readings& readings) override;
  const live_binding& binding() const { return *binding_; }

 private:
  struct twin_run;
  twin_run* start_run(const ingest::twin_readings& r, std::unique_ptr<twin::twin_attachment>& slot, std::int64_t t);
  // Reads the property-bound parameters and inputs from the twin (one lookup).
  void refresh(twin_run& run, std::string_view twin);
  // Advances the run to t, writing the virtual sensors due before it; false when it failed.
  bool advance(twin_run& run, std::int64_t t, const ingest::twin_readings& r);
  // With spec.observer: corrects the run's states from the values measured at its time (one per
  // binding.measured, NaN where absent) by an extended Kalman filter kept beside the run.
  void observe(twin_run& run, std::span<const double> measured);
  // The virtual sensors at run.next_output_ns (the run stands there), and the next is due.
  void emit(twin_run& run, const ingest::twin_readings& r);
  void fail(twin_run& run, std::int64_t t, const status& why);
  void post(twin_run& run);

  const twin::twin_graph& graph_;
  std::shared_ptr<const live_binding> binding_;
  std::shared_ptr<live_board> board_;
  std::string name_;
  std::shared_ptr<live_counters> counters_;
};

}  // namespace doppel::sim
