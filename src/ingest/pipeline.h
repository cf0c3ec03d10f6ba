// The telemetry pipeline: readings from every connector go to the shard that owns their twin
// (a hash of the twin id), and the shard's thread applies them against the twin's model:
//   - a property's value becomes the twin's reported state (twin_graph::report, the typed path
//     that installs checked values without a JSON Patch, one write per run of a twin's readings,
//     durable before the submitter hears back), when the
//     property is writable (the device reports what it applied) or declared device-reported
//     (pipeline_options::device_reported); other properties are refused (not_reportable), so
//     whoever can publish telemetry cannot change what only an admin may;
//   - a telemetry value is appended to the twin's history, and once that is durable becomes the
//     twin's latest telemetry (twin_graph::telemetry(), which the graph owns beside the twin's
//     properties; GET /digitaltwins/{id}/telemetry reads it there), runs through the stages
//     registered for the twin's model (stage.h) and is sent as a `twin.telemetry` event,
//     together with the telemetry those stages derived from it (virtual sensors, residuals);
//   - anything else (unknown twin, name that is not a telemetry or property of the model, value
//     that does not fit the schema, a telemetry whose history holds another type than the model
//     now gives it) is refused with a reason and goes to the dead-letter store. A refusal touches
//     only its reading: the others of the same submit and pass are applied.
// Because one thread owns a twin's readings, they are applied in the order they were submitted.
//
// Backpressure: each shard's queue is bounded (in readings); a submit that does not fit is
// refused at once with `unavailable`, and the connector slows down (HTTP answers 503 with
// Retry-After) instead of the server growing without bound.
//
// Telemetry history: a shard appends the telemetry of everything it applied in one pass to the
// history's log (one fdatasync for the lot) before any of those submits is answered, so an
// acknowledged reading survives a crash. Reported properties are durable through the twin graph.
// Nothing of a pass is visible (latest, events, stages, counts) before its append succeeded; when
// it fails (io_error), every submit of the pass fails and nothing of it is visible, so a retry
// shows each reading once. Before the append, each telemetry is checked against its series' type
// (the shard is the only writer of its twins' series), so one reading can never fail the append.
//
// Callers: the connectors (submit), the API (metrics), `doppel serve` (wiring).
// Threading: submit and render_metrics are safe from any thread. The completion of a
// submit runs on a shard thread or on the metadata store's writer thread: it must be quick.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "ingest/dead_letters.h"
#include "ingest/readings.h"
#include "ingest/stage.h"
#include "store/timeseries/history.h"
#include "twin/graph.h"

namespace doppel::ingest {

struct pipeline_options {
  int shards = 0;                       // 0: half the cores, at least one
  std::size_t queue_readings = 100000;  // per shard
  // Telemetry history (one writer per shard); without it telemetry is live state only.
  ts::history* history = nullptr;
  // With history: a telemetry point older than its series' newest by more than this (ns) is
  // refused (dead letter too_late); 0 accepts any (late points are placed in time order).
  std::int64_t late_window_ns = 0;
  // What a reading may change besides telemetry: writable properties (the device reports the
  // value it applied) and the non-writable properties listed here as (interface id, name), a
  // name being "prop" or "component.prop"; an entry counts for the interfaces that extend its
  // interface, and an entry of a component's interface for that component's properties. Any
  // other property is refused (dead letter not_reportable): only an admin's PATCH sets it.
  std::vector<std::pair<std::string, std::string>> device_reported{};
  // Run on each run of a twin's accepted telemetry once it is durable, in this order, on the
  // twin's shard (stage.h). Fixed for the pipeline's life. Empty by default.
  std::vector<stage_entry> stages{};
};

struct ingest_result {
  std::size_t accepted = 0;
  std::vector<rejection> rejected;  // each also in the dead-letter store
};

class telemetry_pipeline {
 public:
  telemetry_pipeline(twin::twin_graph& graph, dead_letters& letters, pipeline_options options = {});
  ~telemetry_pipeline();  // applies what is queued, then stops the shards

  // The shards a pipeline with options.shards = `requested` runs (its history needs as many writers).
  static int shard_count(int requested);
  telemetry_pipeline(const telemetry_pipeline&) = delete;
  telemetry_pipeline& operator=(const telemetry_pipeline&) = delete;

  // Queues readings from `source` ("http", "line-protocol", ...) and calls `done` once each is
  // applied (durably) or refused; an io_error when the history could not be written. `unavailable` (nothing queued)
  // when a shard's queue is full. More readings than max_readings() can never fit a shard's
  // queue: they are refused at once with invalid_argument (nothing queued), never `unavailable`.
  void submit(const std::string& source, std::vector<reading> readings,
              std::function<void(result<ingest_result>)> done);
  // The same, but when the queues are full it returns false and leaves `readings` and `done` as
  // they were (for a connector that retries the same batch later).
  bool try_submit(const std::string& source, std::vector<reading>& readings,
                  std::function<void(result<ingest_result>)>& done);
  // The same, waiting for the result.
  result<ingest_result> submit(const std::string& source, std::vector<reading> readings);

  // The most readings one submit may hold (a shard's queue bound): a batch larger than this
  // could never be queued, so callers split it or refuse it (HTTP: 413).
  std::size_t max_readings() const { return options_.queue_readings; }

  // Called for each applied run of telemetry of one twin (on its shard's thread) once it is
  // durable in the history and is the twin's latest telemetry; `wanted`, when given, says
  // whether anyone listens. Set before the first submit.
  void set_listener(std::function<void(const twin::change_event&)> listener, std::function<bool()> wanted = nullptr);

  // doppel_ingest_* metric families: readings by outcome, queue depth per shard; with stages,
  // doppel_stage_seconds_total and doppel_stage_readings_total per stage, and the stages' own.
  void render_metrics(std::string& out) const;

  // The shard that owns a twin's readings (0 .. shard_count - 1).
  std::size_t shard_of(const std::string& twin) const;

 private:
  struct shard;
  struct request;
  void run(shard& s);
  void apply(shard& s, const std::shared_ptr<request>& req, std::vector<reading>& readings);
  // Refuses (type_changed) the pass's telemetry samples the history left out of its append
  // (s.mismatched: their series holds another type), and drops them from the pass.
  void drop_type_changes(shard& s);
  // Once the pass's telemetry is durable: latest values, stages, events and counts.
  void publish(shard& s);
  // Appends what the stages derived in this pass to the history (stage.h); what it could not
  // keep loses its name, so publish() skips it.
  void keep_derived(shard& s);
  // Whether a reading named `name` of a twin of model `m` may set property `c` (see options).
  bool reportable(const model::interface& m, const std::string& name, const model::content& c) const;

  twin::twin_graph& graph_;
  dead_letters& letters_;
  pipeline_options options_;
  std::uint64_t attachments_;  // this pipeline's key to its stages' state in the twins (telemetry_state)
  std::vector<std::unique_ptr<shard>> shards_;
  std::function<void(const twin::change_event&)> listener_;
  std::function<bool()> wanted_;
  std::atomic<std::uint64_t> accepted_{0}, rejected_{0}, refused_busy_{0};
  std::atomic<std::uint64_t> derived_written_{0}, derived_dropped_{0};
  std::mutex writes_mu_;
  std::condition_variable writes_cv_;
  std::size_t writes_ = 0;  // twin writes not completed yet; guarded by writes_mu_
};

}  // namespace doppel::ingest
