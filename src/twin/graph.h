// The live twin graph: models, twins and relationships in memory, every change checked against the
// models (document.h, relationship.h) and made durable in the metadata store before it is
// acknowledged, with optimistic concurrency through etags (If-Match / If-None-Match).
//
// Callers: the API layer (one call per request) and `doppel serve` at start (open()).
// Threading: safe for concurrent use. Reads share a lock. A write takes the lock exclusively
// only to check and apply itself in memory and to queue its store write (so the store sees
// writes in memory order), then releases it; its completion runs once the store has made it
// durable, on the store's writer thread. Many writes therefore share one fsync. A reader can
// see a write for the moment before it is durable; after a crash the store holds a prefix of
// the write order that contains every acknowledged write. If the store ever fails a write, the
// graph refuses all further writes (io_error) because memory may be ahead of disk.
// Models can be added, decommissioned and removed while twins are written (ADT's /models): a
// model becomes visible only together with its queued store write, so no twin of it can reach
// the disk before the model does. The registry and the store must outlive the graph.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/registry.h"
#include "store/metadata_store.h"
#include "twin/document.h"
#include "twin/index.h"
#include "twin/query.h"
#include "twin/telemetry_state.h"

namespace doppel::twin {

// The conditions of a conditional write, as HTTP states them.
struct condition {
  std::string if_match;            // empty: none; "*": the target must exist; else its etag
  bool if_none_match_any = false;  // "If-None-Match: *": the target must not exist (create only)
};

// What changed, delivered to the change listener once it is durable (serve.cpp publishes it
// on the event bus, twin/event_bus.h).
struct change_event {
  std::string kind;          // a wire name of event_bus.h's event_kind: twin.create, twin.update,
                             // twin.delete, relationship.create/update/delete, twin.telemetry
  std::string twin;          // the twin, or the relationship's source
  std::string relationship;  // the relationship id (relationship events)
  std::string model;         // the twin's (the source's) model DTMI
  nlohmann::json data;       // the new twin or relationship; for deletes the last one
};

template <typename T>
using completion = std::function<void(result<T>)>;

// A property value a device reported (twin_graph::report), already checked against the schema of
// the twin's model by whoever reports it (the telemetry pipeline).
struct reported_value {
  std::string component;  // empty: a property of the twin itself; else its component's name
  std::string name;
  nlohmann::json value;
};

// A twin's model and the handle of its live state (telemetry_state), as of one moment.
struct live_twin {
  const model::interface* model = nullptr;
  telemetry_state::handle state;
};

class twin_graph {
 public:
  // Loads the models uploaded earlier into `models` (next to the project's, already loaded),
  // then every twin and relationship the store holds. invalid_argument when stored models no
  // longer load or a stored twin no longer fits the models (the message names it).
  static result<std::unique_ptr<twin_graph>> open(model::model_registry& models, store::metadata_store& store);
  ~twin_graph();  // waits for queued writes to complete
  twin_graph(const twin_graph&) = delete;
  twin_graph& operator=(const twin_graph&) = delete;

  // The model of a twin, or nullptr when there is no such twin.
  const model::interface* model_of(const std::string& id) const;
  // The twin's latest telemetry (telemetry_state::latest); not_found when there is no such twin
  // or it has sent none.
  result<nlohmann::json> latest_telemetry(const std::string& id) const;
  // Its model and live state in one lookup (the telemetry pipeline's, once per run of a twin's
  // readings); model nullptr when there is no such twin.
  live_twin live(const std::string& id) const;
  // The twin with $dtId, $etag and $metadata.$model; not_found when there is none.
  result<nlohmann::json> get_twin(const std::string& id) const;
  // Every write below comes twice: with a completion, which it calls once the write is durable
  // or has failed (possibly before returning, on the caller's thread, when it is refused), and
  // without, which waits for that and returns the result. A refusal may run the completion with
  // the graph's lock held: completions must not call into the graph.

  // Creates or replaces a twin. invalid_argument with every problem (JSON paths) when the body
  // does not fit its model, precondition_mismatch when `c` does not hold, io_error when the
  // store fails. Returns the stored twin with its new $etag.
  result<nlohmann::json> put_twin(const std::string& id, nlohmann::json body, const condition& c,
                                  const check_options& options);
  void put_twin(const std::string& id, nlohmann::json body, const condition& c, const check_options& options,
                completion<nlohmann::json> done);
  // Applies a JSON Patch (document.h: patch_twin); not_found when the twin does not exist.
  result<nlohmann::json> patch_twin(const std::string& id, const nlohmann::json& patch, const condition& c,
                                    const check_options& options);
  void patch_twin(const std::string& id, const nlohmann::json& patch, const condition& c, const check_options& options,
                  completion<nlohmann::json> done);
  // Reported state, the typed path for devices: installs `values`, already checked against
  // `checked` (the twin's model when they were checked), and stamps their $metadata, without a
  // JSON Patch and without checking the whole twin again. not_found when the twin does not
  // exist; invalid_argument when its model is no longer `checked` (it was replaced meanwhile) or
  // a value's component is missing from the twin; io_error when the store fails. Replies with
  // $dtId and the new $etag once durable.
  void report(const std::string& id, const model::interface& checked, std::vector<reported_value> values,
              completion<nlohmann::json> done);
  // Deletes a twin; failed_precondition (naming them) while relationships start or end at it.
  status delete_twin(const std::string& id, const condition& c);
  void delete_twin(const std::string& id, const condition& c, completion<nlohmann::json> done);

  // Desired state (document.h: set_desired): merges desired values into the twin's $metadata.
  result<nlohmann::json> set_desired(const std::string& id, const nlohmann::json& desired, const condition& c);
  void set_desired(const std::string& id, const nlohmann::json& desired, const condition& c,
                   completion<nlohmann::json> done);
  // document.h: desired_view of the twin; not_found when there is none.
  result<nlohmann::json> desired_state(const std::string& id) const;

  // Creates or replaces relationship `rel_id` of twin `source` (body as in relationship.h; its
  // $sourceId and $relationshipId, when present, must match).
  result<nlohmann::json> put_relationship(const std::string& source, const std::string& rel_id, nlohmann::json body,
                                          const condition& c);
  void put_relationship(const std::string& source, const std::string& rel_id, nlohmann::json body, const condition& c,
                        completion<nlohmann::json> done);
  result<nlohmann::json> get_relationship(const std::string& source, const std::string& rel_id) const;
  status delete_relationship(const std::string& source, const std::string& rel_id, const condition& c);
  void delete_relationship(const std::string& source, const std::string& rel_id, const condition& c,
                           completion<nlohmann::json> done);
  // Relationships starting at / ending at a twin, ordered by source and id.
  std::vector<nlohmann::json> outgoing(const std::string& source) const;
  std::vector<nlohmann::json> incoming(const std::string& target) const;

  // ---- Models, shaped as ADT's DigitalTwinsModelData: id, displayName and description
  // (language maps), uploadTime, decommissioned, and with `definition` the DTDL document
  // ("model"). Models from the project folder have their file's time as uploadTime.

  // One model; not_found when it is not loaded.
  result<nlohmann::json> model_data(std::string_view dtmi, bool definition) const;
  // Every model (top-level interfaces), by DTMI. With `dependencies_for`, only those models and
  // every model they need (bases, components, relationship targets), transitively; not_found
  // when one of them is not loaded.
  result<nlohmann::json> list_models(const std::vector<std::string>& dependencies_for, bool definition) const;
  // Adds the interfaces of DTDL documents (each an interface or an array of them) as one batch,
  // all or nothing. invalid_argument with every problem ("$[i].path: message (line L, column
  // C)"), already_exists when a DTMI is loaded already. Replies with the new models' data, once
  // they are durable.
  result<nlohmann::json> add_models(std::vector<model::source> sources);
  void add_models(std::vector<model::source> sources, completion<nlohmann::json> done);
  // Decommissions a model, as ADT does: no new twins of it; existing ones keep working and can
  // be updated. Final (there is no way back but deleting and uploading it again). Replies null.
  result<nlohmann::json> decommission_model(const std::string& dtmi);
  void decommission_model(const std::string& dtmi, completion<nlohmann::json> done);
  // Removes an uploaded model, so its DTMI can be uploaded again. not_found; failed_precondition
  // (saying why) while twins of it exist, other models use it, or it is declared in the project
  // folder (remove the file instead). Stricter than ADT, which leaves such twins invalid.
  result<nlohmann::json> delete_model(const std::string& dtmi);
  void delete_model(const std::string& dtmi, completion<nlohmann::json> done);

  std::size_t twin_count() const;
  std::size_t relationship_count() const;
  // Up to `max` twin ids from `first` on (inclusive), in id order: a listing in pages (the
  // history export walks every twin with it).
  std::vector<std::string> twin_ids(std::string_view first, std::size_t max) const;

  // Runs a query (twin/query.h) over the twins and relationships as they are, holding the shared
  // lock for as long as the query's budget allows; returns one page: {"value": [...],
  // "continuationToken": ...} (no token on the last page).
  result<nlohmann::json> query(std::string_view text, const query_options& options) const;

  // Called for every change once it is durable, in commit order, on the store's writer thread:
  // it must be quick and must not write to the graph. Set it before the graph is shared.
  // `wanted`, when given, says whether anyone listens at the moment; events are not built
  // (copied) while it returns false.
  void set_listener(std::function<void(const change_event&)> listener, std::function<bool()> wanted = nullptr);

  // The latest telemetry of each twin, beside its properties. The graph gives a twin its entry
  // when it creates or loads it and drops it when it deletes it; the telemetry pipeline records
  // into it, the API reads it (telemetry_state.h: safe for concurrent use).
  telemetry_state& telemetry() { return telemetry_; }
  const telemetry_state& telemetry() const { return telemetry_; }

  // ok, or why writes are refused (the store failed a write, or could not checkpoint at open:
  // metadata_store::health()). Writes then answer io_error with this message.
  status health() const;

 private:
  twin_graph(model::model_registry& models, store::metadata_store& store);
  // What the store knows of a model beyond the registry.
  struct model_state {
    std::string source;  // the DTDL text of an uploaded model; empty: declared in the project
    std::int64_t uploaded_ms = 0;
    bool decommissioned = false;
  };
  nlohmann::json model_json(const model::interface& m, bool definition) const;  // mu_ held (shared)
  // ok when new twins of `m` may be created: it is still loaded and not decommissioned. mu_ held.
  status model_usable(const model::interface& m) const;
  std::string next_etag();
  status check_condition(const nlohmann::json* existing, const condition& c, const std::string& what) const;
  // not_found for a relationship that is not there, named as ADT does: DigitalTwinNotFound when
  // its source twin is missing too, else RelationshipNotFound. mu_ held.
  status relationship_not_found(const std::string& source, const std::string& rel_id) const;
  // Stamps, stores in memory and queues the store write of a twin; called with mu_ held.
  void store_twin(const std::string& id, nlohmann::json body, const model::interface& model,
                  const nlohmann::json* before, bool reply_with_body, completion<nlohmann::json>& done,
                  bool patched = false);
  bool listening() const { return listener_ && (!listener_wanted_ || listener_wanted_()); }
  // Queues `w`; `done` gets `reply` once it is durable and the listener gets `event`.
  void commit(store::write w, nlohmann::json reply, change_event event, completion<nlohmann::json>& done);
  void commit(std::vector<store::write> writes, nlohmann::json reply, change_event event,
              completion<nlohmann::json>& done);

  class query_reader;  // the maps below as a query_source, for query()

  struct twin_entry {
    nlohmann::json body;
    const model::interface* model = nullptr;
    telemetry_state::handle live;  // its entry in telemetry_
  };
  using rel_key = std::pair<std::string, std::string>;  // (source, relationship id)

  model::model_registry& models_;
  store::metadata_store& store_;
  std::mutex model_ops_;       // serializes add_models/delete_model (registry prepare..commit)
  std::uint64_t uploads_ = 0;  // guarded by model_ops_: numbers the uploaded documents
  mutable std::shared_mutex mu_;
  std::map<std::string, model_state, std::less<>> model_states_;  // guarded by mu_
  std::map<std::string, twin_entry, std::less<>> twins_;          // guarded by mu_
  std::map<rel_key, nlohmann::json> relationships_;               // guarded by mu_
  std::multimap<std::string, rel_key> incoming_;                  // target -> relationship; guarded by mu_
  twin_index index_;                                              // models and values of twins_; guarded by mu_
  // A twin's entry (twin_entry::live) is made with it and closed when it is deleted, under mu_
  // held exclusively (the graph's lock before a stripe's), so a reading checked before a delete
  // records nothing after it.
  telemetry_state telemetry_;
  std::atomic<std::uint64_t> etag_counter_{0};
  std::uint64_t etag_epoch_ = 0;  // differs between runs
  std::function<void(const change_event&)> listener_;
  std::function<bool()> listener_wanted_;  // false: nobody listens now, skip building events
  // Writes queued in the store and not completed yet: the destructor waits for them, as their
  // completions use the graph.
  mutable std::mutex pending_mu_;
  std::condition_variable pending_cv_;
  std::size_t pending_ = 0;  // guarded by pending_mu_
  std::string failure_;      // guarded by pending_mu_: set once, when the store fails a write
  std::atomic<bool> failed_{false};
};

}  // namespace doppel::twin
