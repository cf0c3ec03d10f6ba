// Stages: what the layers above ingestion (detectors, rules, simulation inputs) plug into the
// shard threads. After a pass's telemetry is validated and durable (in the history, when there
// is one), the pipeline hands each run of a twin's accepted telemetry (its readings that came
// together in one submit) to the stages registered for the twin's model, in registration order,
// on the shard thread that owns the twin: a twin's readings reach a stage in the order they were
// applied, never from two threads at once, and never a reading that was refused.
// Callers: the telemetry pipeline (pipeline.h) runs them; `doppel serve` registers them through
// pipeline_options::stages before the pipeline starts (the list is fixed from then on, so the
// shards read it without a lock).
// Threading: run(shard, ...) is called from shard `shard`'s thread only; render_metrics from any
// thread. A stage keeps per-twin state in the twin's slot (twin_readings::state) and per-shard
// state (start() says how many shards), so that run() needs neither a lock nor a lookup; it must
// be quick, must not block, and should not allocate per reading.
//
// A stage may also derive telemetry of the twin (a virtual sensor, a residual, a score) through
// twin_readings::derived: numbers the pipeline appends to the twin's history after the pass's
// stages ran (one more durable append for the pass, only when there are any), then records as
// the twin's latest telemetry and adds to the run's `twin.telemetry` event, as it does a
// device's. A derived value is never a reading to check: its name is the stage's to choose and
// must not be one the twin's model declares (prefix it, e.g. "sim.efficiency"). When that append
// fails the derived values are dropped and counted (doppel_stage_derived_total{outcome="dropped"}):
// they are recomputed from the readings, which were already durable and are not failed for it.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/model.h"
#include "store/timeseries/history.h"
#include "twin/telemetry_state.h"

namespace doppel::ingest {

// Where a stage puts the telemetry it derives for the twin it runs for (see above). `name` must
// stay valid until the pass ends (the stage's configuration holds it); no allocation once the
// shard's buffer has grown.
class derived_telemetry {
 public:
  derived_telemetry(std::string_view twin, std::vector<ts::sample>& out) : twin_(twin), out_(&out) {}
  void add(std::string_view name, std::int64_t time_ns, double value) {
    ts::sample s;
    s.twin = twin_;
    s.name = name;
    s.type = ts::value_type::f64;
    s.time_ns = time_ns;
    s.f = value;
    out_->push_back(s);
  }

 private:
  std::string_view twin_;
  std::vector<ts::sample>* out_;
};

// The accepted telemetry of one run of a twin's readings. Views: valid during run() only.
struct twin_readings {
  std::string_view twin;
  const model::interface& model;  // the twin's model when its readings were checked
  // Typed values, as history holds them (ts::sample): twin and telemetry name ("power" or
  // "motor.power" for a component's), time, and an f64, i64 or boolean; values of any other
  // schema (strings, enums, objects, dates) are `string`, as their text (a string's) or JSON text.
  // In the order they were submitted.
  std::span<const ts::sample> samples;
  // This stage's state for this twin: null until the stage sets it, then kept with the twin
  // until the twin is deleted (a twin created again under its id starts with null). The
  // stage's own type, derived from twin::twin_attachment; only run() may touch it.
  std::unique_ptr<twin::twin_attachment>* state = nullptr;
  // Telemetry this stage derives for the twin (never null when the pipeline calls run()).
  derived_telemetry* derived = nullptr;
};

class stage {
 public:
  virtual ~stage() = default;

  // Names the stage in /metrics (doppel_stage_seconds_total{stage="..."}); must not change.
  virtual std::string_view name() const = 0;
  // Called once, before any run(), with the number of shards (shard indexes 0..shards-1).
  virtual void start(int /*shards*/) {}
  // Called on shard `shard`'s thread with accepted, durable telemetry of one twin.
  virtual void run(int shard, const twin_readings& readings) = 0;
  // Appends the stage's own metric families (Prometheus text) to `out`; any thread.
  virtual void render_metrics(std::string& /*out*/) const {}
};

// A stage and the twins it runs for.
struct stage_entry {
  std::shared_ptr<ingest::stage> stage;
  // Empty: every twin. Else a model DTMI: the twins whose model is or extends it.
  std::string model{};
};

}  // namespace doppel::ingest
