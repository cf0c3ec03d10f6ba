// The embedded metadata store: models, twins, relationships and the per-twin change log (the start of
// the digital thread) in one SQLite database in WAL mode.
//
// A twin write appends one row to the change log and nothing else: appends are sequential
// pages, so a commit writes little. A new twin's row holds its whole state; an update's row
// holds what changed (an RFC 6902 JSON Patch against the previous state, `patch` set), so small
// changes to a big twin stay small on disk. The `twins` table catches up at checkpoints
// (store_options), and open() replays the log rows after the last checkpoint (each patch on
// the state before it), so a crash between checkpoints loses nothing that was committed.
// Reads see the latest state.
//
// Callers: the twin graph, at start (load everything) and on every write. Threading: every
// member function is safe to call from any thread. Writes are queued to one writer thread that
// commits whatever has queued up in a single transaction (group commit) and fsyncs it
// (synchronous=FULL); a write call returns only once its transaction is durable, so what a
// caller acknowledges survives a crash or kill -9, while concurrent writers share one fsync.
//
// Lifecycle: open() creates or migrates the database (schema versions in PRAGMA user_version;
// docs/formats/metadata-store.md); the destructor drains the queue and closes it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace doppel::store {

struct twin_record {
  std::string id;
  std::string model;  // DTMI
  std::string body;   // the twin's JSON
  std::string etag;
};

struct relationship_record {
  std::string source;  // source twin id
  std::string id;      // relationship id, unique per source
  std::string name;
  std::string target;  // target twin id
  std::string body;    // the relationship's JSON
  std::string etag;
};

struct change_record {
  std::int64_t seq = 0;  // strictly increasing across the store
  std::string twin;
  std::int64_t at_ms = 0;  // Unix time in milliseconds
  std::string kind;        // "twin.put", "twin.patch", "twin.delete", "relationship.put", "relationship.delete"
  std::string body;        // what was written (empty for twin deletes); see `patch`
  bool patch = false;      // body is a JSON Patch against the twin's previous state, not the state
};

// A model the server knows beyond what the project folder says: one uploaded over the API
// (with its DTDL text), or the state of a project model (empty source) once it has any.
struct model_record {
  std::string id;                // the interface's DTMI
  std::string source;            // the DTDL document (JSON); empty for project-declared models
  std::int64_t uploaded_ms = 0;  // Unix time in milliseconds (0 in a write: now)
  bool decommissioned = false;
};

// One change, applied atomically with its change-log entry.
struct write {
  enum class op { put_twin, delete_twin, put_relationship, delete_relationship, put_setting, put_model, delete_model };
  op kind = op::put_twin;
  twin_record twin;                  // put_twin; delete_twin uses twin.id; put_setting: id = key, body = value
  relationship_record relationship;  // put_relationship; delete uses source and id
  model_record model;                // put_model; delete_model uses model.id
  std::int64_t at_ms = 0;            // when it happened (0: now)
  // put_twin: the change-log kind when not "twin.put" (e.g. "twin.patch").
  std::string log_kind;
  // put_twin of a twin the store holds: when set, the change-log row holds this RFC 6902 JSON
  // Patch (from the stored state to twin.body) instead of the whole state; a replay applies it
  // to the state before. twin.body is still the new state (the `twins` table gets it).
  std::string patch;
};

struct store_stats {
  std::uint64_t commits = 0;   // transactions committed
  std::uint64_t requests = 0;  // write requests they held
  std::size_t queued = 0;      // requests waiting for the next transaction
  double commit_seconds = 0;   // time spent in transactions, fsync included
  std::uint64_t checkpoints = 0;
};

struct store_options {
  // Twin states reach the `twins` table at checkpoints: every this many ms while twins are
  // dirty, or sooner when this many twins are.
  std::int64_t checkpoint_interval_ms = 2000;
  std::size_t checkpoint_max_twins = 50000;
  // Change-log rows older than this are dropped at checkpoints; 0 keeps everything.
  std::int64_t change_log_retention_ms = 7LL * 24 * 3600 * 1000;
  // The most the database file may hold (SQLite's max_page_count); 0: no cap. A cap below the
  // file's size keeps it from growing at all (as a full disk would). Writes past it fail with
  // io_error ("database or disk is full").
  std::uint64_t max_bytes = 0;
  // The SQLite VFS to open the database with, by name; empty (the default): SQLite's own. Tests
  // name a sqlite_faults (sqlite_faults.h) here to count syncs and inject I/O faults.
  std::string vfs;
};

class metadata_store {
 public:
  // Opens (creating if needed) the database file and migrates it to the current schema.
  // io_error when the file cannot be opened, failed_precondition when its schema is newer
  // than this build knows. When the change log replays but the checkpoint after it cannot be
  // written (disk full), the store still opens, with everything readable, and health() says
  // why and how much space to free: the caller serves read-only instead of not starting.
  static result<std::unique_ptr<metadata_store>> open(const std::filesystem::path& file, store_options options = {});

  ~metadata_store();
  metadata_store(const metadata_store&) = delete;
  metadata_store& operator=(const metadata_store&) = delete;

  // Applies the writes atomically (all or none), each with its change-log entry, and returns
  // once they are durable. io_error when SQLite fails (nothing of the batch is applied).
  status apply(std::vector<write> writes);
  // The same without waiting: queues the writes and returns at once; `done` runs on the writer
  // thread once they are durable (ok) or have failed (nothing of them applied). Requests are
  // committed in the order submit() was called, so a caller that submits under its own lock
  // gets the store in the same order as its memory. `done` must not call back into the store's
  // write functions (it would wait on itself).
  void submit(std::vector<write> writes, std::function<void(status)> done);

  std::optional<twin_record> get_twin(const std::string& id) const;
  std::vector<twin_record> all_twins() const;
  std::vector<relationship_record> all_relationships() const;
  // Every model record, by id.
  std::vector<model_record> all_models() const;
  // The change log of one twin, oldest first, after sequence number `after`.
  std::vector<change_record> changes(const std::string& twin, std::int64_t after = 0) const;

  // A setting written with op::put_setting (no change-log entry), or nullopt.
  std::optional<std::string> setting(const std::string& key) const;

  // ok, or io_error when open() could not checkpoint (the message says how much space is
  // needed and where). Set once, at open.
  status health() const;

  int schema_version() const;
  // Transactions committed so far: with group commit, fewer than the apply() calls.
  std::uint64_t commits() const;
  store_stats stats() const;

 private:
  struct impl;
  explicit metadata_store(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace doppel::store
