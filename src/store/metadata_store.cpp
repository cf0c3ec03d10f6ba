#include "store/metadata_store.h"

#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "core/text.h"
#include "core/time.h"

namespace doppel::store {

namespace {

// Schema migrations, in order: migration i takes the database from version i to i + 1.
// Never edit a released entry; append a new one (docs/formats/metadata-store.md).
constexpr const char* k_migrations[] = {
    R"sql(
CREATE TABLE twins (
  id TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  body TEXT NOT NULL,
  etag TEXT NOT NULL,
  updated_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX twins_by_model ON twins(model);
CREATE TABLE relationships (
  source TEXT NOT NULL,
  id TEXT NOT NULL,
  name TEXT NOT NULL,
  target TEXT NOT NULL,
  body TEXT NOT NULL,
  etag TEXT NOT NULL,
  PRIMARY KEY (source, id)
) WITHOUT ROWID;
CREATE INDEX relationships_by_target ON relationships(target);
CREATE TABLE changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  twin TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX changes_by_twin ON changes(twin, seq);
)sql",
    // 2: settings the server keeps about itself (e.g. which twin declarations it has applied).
    R"sql(
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
)sql",
    // 3: twin writes go to the change log only (sequential appends) and reach `twins` at
    // checkpoints; the log row carries what a replay needs. The per-twin index made every
    // append a random write; history by twin is read by scanning instead.
    R"sql(
ALTER TABLE changes ADD COLUMN model TEXT NOT NULL DEFAULT '';
ALTER TABLE changes ADD COLUMN etag TEXT NOT NULL DEFAULT '';
DROP INDEX changes_by_twin;
INSERT INTO settings(key, value) SELECT 'checkpoint.seq', COALESCE(MAX(seq), 0) FROM changes
  WHERE true ON CONFLICT(key) DO NOTHING;
)sql",
    // 4: models uploaded over the API (their DTDL text) and the state of every model the server
    // knows, project-declared ones included (source NULL): upload time, decommissioned.
    R"sql(
CREATE TABLE models (
  id TEXT PRIMARY KEY,
  source TEXT,
  uploaded_ms INTEGER NOT NULL,
  decommissioned INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
)sql",
    // 5: a twin update's change-log row may hold a JSON Patch against the previous state instead
    // of the whole state (patch = 1): 1,000 small patches of a 3 MB twin were 3 GB of log.
    R"sql(
ALTER TABLE changes ADD COLUMN patch INTEGER NOT NULL DEFAULT 0;
)sql",
};
constexpr int k_schema_version = static_cast<int>(std::size(k_migrations));

// A prepared statement, finalized on destruction.
class statement {
 public:
  statement() = default;
  statement(sqlite3* db, const char* sql) { sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr); }
  ~statement() { sqlite3_finalize(s_); }
  statement(statement&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  statement& operator=(statement&& o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  explicit operator bool() const { return s_ != nullptr; }
  sqlite3_stmt* get() const { return s_; }

  statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  // Runs a statement that returns no rows; resets it for the next use.
  int run() {
    int rc = sqlite3_step(s_);
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
  }
  std::string text(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

int exec(sqlite3* db, const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }

status sqlite_error(sqlite3* db, const std::string& what) { return status::io_error(what + ": " + sqlite3_errmsg(db)); }

// The error of a statement that failed as `rc`: statement::run() resets the statement, after which
// the connection's message may already read "not an error".
status sqlite_error(int rc, const std::string& what) { return status::io_error(what + ": " + sqlite3_errstr(rc)); }

result<sqlite3*> open_connection(const std::filesystem::path& file, const std::string& vfs) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return status::io_error("cannot open " + file.string() + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  // WAL lets readers run beside the writer; FULL makes each commit durable before it returns.
  if (exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536;") !=
      SQLITE_OK) {
    status s = sqlite_error(db, "cannot configure " + file.string());
    sqlite3_close(db);
    return s;
  }
  return db;
}

}  // namespace

struct metadata_store::impl {
  struct request {
    std::vector<write> writes;
    std::function<void(status)> done;
  };

  sqlite3* writer = nullptr;
  sqlite3* reader = nullptr;
  mutable std::mutex reader_mu;  // the reader connection is used by one thread at a time

  std::mutex mu;
  std::condition_variable cv;
  std::deque<request> queue;  // guarded by mu
  bool stopping = false;      // guarded by mu
  std::thread thread;
  std::uint64_t commits = 0;        // guarded by mu
  std::uint64_t requests = 0;       // guarded by mu: apply/submit calls committed
  std::uint64_t commit_micros = 0;  // guarded by mu: time spent in transactions

  statement put_twin, delete_twin, put_rel, delete_rel, add_change, put_setting, put_model,
      delete_model;  // the writer's

  // Twins written since the last checkpoint, newest state each: the writer thread keeps them
  // and readers consult them (the `twins` table lags behind until the next checkpoint).
  mutable std::mutex dirty_mu;
  std::map<std::string, twin_record, std::less<>> dirty;  // guarded by dirty_mu
  std::chrono::steady_clock::time_point last_checkpoint = std::chrono::steady_clock::now();
  store_options options;
  std::uint64_t checkpoints = 0;  // guarded by mu
  status open_failure;            // set by open() only
  // Set by the writer thread at the first failed write: every later write fails too, since an
  // update's change-log row patches the state the failed write would have left.
  status write_failure;

  ~impl() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    cv.notify_all();
    if (thread.joinable()) thread.join();
    (void)checkpoint();  // so that the next open has little to replay; a failure loses nothing
    // Statements must be finalized before their connection closes.
    for (statement* st :
         {&put_twin, &delete_twin, &put_rel, &delete_rel, &add_change, &put_setting, &put_model, &delete_model}) {
      *st = statement();
    }
    sqlite3_close(writer);
    sqlite3_close(reader);
  }

  // Applies one write inside the open transaction. A twin write only appends to the change
  // log; its new state goes to `pending` and, once committed, to `dirty`.
  int apply_one(write& w, std::vector<std::pair<std::string, std::optional<twin_record>>>& pending) {
    std::int64_t at = w.at_ms ? w.at_ms : unix_time_ms();
    int rc = SQLITE_OK;
    std::string twin, kind, body, model, etag;
    switch (w.kind) {
      case write::op::put_twin:
        twin = w.twin.id, kind = w.log_kind.empty() ? "twin.put" : w.log_kind, model = w.twin.model, etag = w.twin.etag;
        rc = add_change.bind(1, twin)
                 .bind(2, at)
                 .bind(3, kind)
                 .bind(4, w.patch.empty() ? w.twin.body : w.patch)
                 .bind(5, model)
                 .bind(6, etag)
                 .bind(7, static_cast<std::int64_t>(!w.patch.empty()))
                 .run();
        if (rc == SQLITE_OK) pending.emplace_back(w.twin.id, std::move(w.twin));
        return rc;
      case write::op::delete_twin:
        rc = delete_twin.bind(1, w.twin.id).run();
        twin = w.twin.id, kind = "twin.delete";
        if (rc == SQLITE_OK) pending.emplace_back(w.twin.id, std::nullopt);
        break;
      case write::op::put_relationship: {
        const auto& r = w.relationship;
        rc = put_rel.bind(1, r.source)
                 .bind(2, r.id)
                 .bind(3, r.name)
                 .bind(4, r.target)
                 .bind(5, r.body)
                 .bind(6, r.etag)
                 .run();
        twin = r.source, kind = "relationship.put", body = r.body;
        break;
      }
      case write::op::put_setting:
        return put_setting.bind(1, w.twin.id).bind(2, w.twin.body).run();  // not a twin change
      case write::op::put_model: {
        const model_record& m = w.model;
        put_model.bind(1, m.id);
        if (!m.source.empty()) put_model.bind(2, m.source);  // else NULL: declared in the project
        return put_model.bind(3, m.uploaded_ms ? m.uploaded_ms : at)
            .bind(4, static_cast<std::int64_t>(m.decommissioned))
            .run();
      }
      case write::op::delete_model: return delete_model.bind(1, w.model.id).run();
      case write::op::delete_relationship:
        rc = delete_rel.bind(1, w.relationship.source).bind(2, w.relationship.id).run();
        twin = w.relationship.source, kind = "relationship.delete", body = w.relationship.id;
        break;
    }
    if (rc != SQLITE_OK) return rc;
    return add_change.bind(1, twin)
        .bind(2, at)
        .bind(3, kind)
        .bind(4, body)
        .bind(5, model)
        .bind(6, etag)
        .bind(7, std::int64_t{0})
        .run();
  }

  // Writes the dirty twins into `twins` (sorted by id, so neighbours share pages), records the
  // log position they reflect, and drops log rows older than the retention. Writer thread (or
  // open/close, when it does not run).
  status checkpoint() {
    if (!put_twin || !put_setting) return status::ok();  // open() failed before preparing
    std::map<std::string, twin_record, std::less<>> flush;
    {
      std::lock_guard lock(dirty_mu);
      if (dirty.empty()) return status::ok();  // a replay of older rows would be harmless
      flush = dirty;                           // kept visible to readers until committed
    }
    if (exec(writer, "BEGIN IMMEDIATE") != SQLITE_OK) return sqlite_error(writer, "cannot begin a checkpoint");
    std::int64_t at = unix_time_ms();
    int rc = SQLITE_OK;
    for (const auto& [id, t] : flush) {
      rc = put_twin.bind(1, id).bind(2, t.model).bind(3, t.body).bind(4, t.etag).bind(5, at).run();
      if (rc != SQLITE_OK) break;
    }
    std::int64_t seq = 0;
    {
      statement q(writer, "SELECT COALESCE(MAX(seq), 0) FROM changes");
      if (q && sqlite3_step(q.get()) == SQLITE_ROW) seq = sqlite3_column_int64(q.get(), 0);
    }
    if (rc == SQLITE_OK) rc = put_setting.bind(1, std::string("checkpoint.seq")).bind(2, std::to_string(seq)).run();
    if (rc == SQLITE_OK && options.change_log_retention_ms > 0) {
      // Rows are in time order, so the first row young enough bounds what may go.
      statement first(writer, "SELECT seq FROM changes WHERE at_ms >= ?1 ORDER BY seq LIMIT 1");
      first.bind(1, at - options.change_log_retention_ms);
      std::int64_t keep_from = seq + 1;
      if (first && sqlite3_step(first.get()) == SQLITE_ROW) keep_from = sqlite3_column_int64(first.get(), 0);
      first = statement();
      statement prune(writer, "DELETE FROM changes WHERE seq < ?1 AND seq <= ?2");
      rc = prune.bind(1, keep_from).bind(2, seq).run();
    }
    if (rc == SQLITE_OK) rc = exec(writer, "COMMIT");
    if (rc != SQLITE_OK) {
      status s = sqlite_error(rc, "cannot checkpoint");
      exec(writer, "ROLLBACK");
      return s;
    }
    {
      std::lock_guard lock(dirty_mu);
      // Drop what was flushed, unless it was written again meanwhile (cannot happen on the
      // writer thread, but open/close call this too).
      for (const auto& [id, t] : flush) {
        auto it = dirty.find(id);
        if (it != dirty.end() && it->second.etag == t.etag) dirty.erase(it);
      }
    }
    last_checkpoint = std::chrono::steady_clock::now();
    std::lock_guard lock(mu);
    ++checkpoints;
    return status::ok();
  }

  // At open: the log rows after the last checkpoint hold twin states `twins` does not have yet.
  status replay() {
    std::int64_t from = 0;
    {
      statement q(writer, "SELECT value FROM settings WHERE key = 'checkpoint.seq'");
      if (q && sqlite3_step(q.get()) == SQLITE_ROW) from = std::stoll(q.text(0));
    }
    statement q(writer,
                "SELECT twin, kind, body, model, etag, patch, seq FROM changes WHERE seq > ?1 AND kind IN "
                "('twin.put', 'twin.patch', 'twin.delete') ORDER BY seq");
    q.bind(1, from);
    statement checkpointed(writer, "SELECT body FROM twins WHERE id = ?1");
    std::lock_guard lock(dirty_mu);
    int rc;
    while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
      std::string id = q.text(0), kind = q.text(1);
      if (kind == "twin.delete") {
        dirty.erase(id);
      } else if (sqlite3_column_int64(q.get(), 5) == 0) {
        dirty[id] = twin_record{id, q.text(3), q.text(2), q.text(4)};
      } else {
        // A patch applies to the state before it: replayed already, or as of the checkpoint.
        std::string base;
        if (auto it = dirty.find(id); it != dirty.end()) {
          base = std::move(it->second.body);
        } else {
          checkpointed.bind(1, id);
          if (sqlite3_step(checkpointed.get()) == SQLITE_ROW) base = checkpointed.text(0);
          sqlite3_reset(checkpointed.get());
        }
        std::string seq = std::to_string(sqlite3_column_int64(q.get(), 6));
        auto doc = nlohmann::json::parse(base, nullptr, false);
        auto patch = nlohmann::json::parse(q.text(2), nullptr, false);
        if (base.empty() || doc.is_discarded() || patch.is_discarded()) {
          return status::io_error("cannot replay change " + seq + " of twin " + quote(id) +
                                  ": the state it patches is missing or corrupt");
        }
        try {
          dirty[id] = twin_record{id, q.text(3), doc.patch(patch).dump(), q.text(4)};
        } catch (const nlohmann::json::exception& e) {
          return status::io_error("cannot replay change " + seq + " of twin " + quote(id) + ": " + e.what());
        }
      }
    }
    if (rc != SQLITE_DONE) return sqlite_error(writer, "cannot replay the change log");
    return status::ok();
  }

  // The writer thread: everything queued since the last commit goes into one transaction; each
  // request in its own savepoint, so one failing request does not undo the others.
  void run() {
    for (;;) {
      std::deque<request> batch;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;  // stopping and drained
        batch.swap(queue);
      }
      std::vector<status> results(batch.size());
      auto started = std::chrono::steady_clock::now();
      if (exec(writer, "BEGIN IMMEDIATE") != SQLITE_OK) {
        status s = sqlite_error(writer, "cannot begin a transaction");
        write_failure = s;
        for (auto& r : batch) r.done(s);
        continue;
      }
      std::vector<std::pair<std::string, std::optional<twin_record>>> committed, pending;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!write_failure.is_ok()) {
          // A later twin write may be a patch on the state the failed one would have left.
          results[i] = write_failure;
          continue;
        }
        exec(writer, "SAVEPOINT request");
        int rc = SQLITE_OK;
        pending.clear();
        for (auto& w : batch[i].writes) {
          rc = apply_one(w, pending);
          if (rc != SQLITE_OK) break;
        }
        if (rc != SQLITE_OK) {
          results[i] = sqlite_error(rc, "cannot write");
          write_failure = status::io_error("an earlier write failed (" + results[i].message() +
                                           "); later writes would not apply to what is stored: restart doppel");
          exec(writer, "ROLLBACK TO request");
        } else {
          for (auto& p : pending) committed.push_back(std::move(p));
        }
        exec(writer, "RELEASE request");
      }
      if (exec(writer, "COMMIT") != SQLITE_OK) {
        status s = sqlite_error(writer, "cannot commit");
        write_failure = s;
        exec(writer, "ROLLBACK");
        for (auto& r : results) r = s;
      } else {
        {
          std::lock_guard lock(dirty_mu);
          for (auto& [id, t] : committed) {
            if (t) {
              dirty[id] = std::move(*t);
            } else {
              dirty.erase(id);
            }
          }
        }
        std::lock_guard lock(mu);
        ++commits;
        requests += batch.size();
        commit_micros += static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
      }
      for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(results[i]);
      std::size_t dirty_count;
      {
        std::lock_guard lock(dirty_mu);
        dirty_count = dirty.size();
      }
      if (dirty_count >= options.checkpoint_max_twins ||
          (dirty_count > 0 && std::chrono::steady_clock::now() - last_checkpoint >=
                                  std::chrono::milliseconds(options.checkpoint_interval_ms))) {
        // A failed checkpoint loses nothing: the log still holds every state.
        (void)checkpoint();
      }
    }
  }
};

metadata_store::metadata_store(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
metadata_store::~metadata_store() = default;

result<std::unique_ptr<metadata_store>> metadata_store::open(const std::filesystem::path& file, store_options options) {
  auto i = std::make_unique<impl>();
  i->options = options;
  auto w = open_connection(file, options.vfs);
  if (!w) return w.error();
  i->writer = *w;
  // Migrate under an exclusive transaction so that two processes cannot both apply a step.
  if (exec(i->writer, "BEGIN EXCLUSIVE") != SQLITE_OK) return sqlite_error(i->writer, "cannot lock " + file.string());
  int version = 0;
  {
    statement v(i->writer, "PRAGMA user_version");
    if (v && sqlite3_step(v.get()) == SQLITE_ROW) version = sqlite3_column_int(v.get(), 0);
  }
  if (version > k_schema_version) {
    exec(i->writer, "ROLLBACK");
    return status::failed_precondition(file.string() + " has schema version " + std::to_string(version) +
                                       ", newer than this build of Doppel knows (" + std::to_string(k_schema_version) +
                                       "); upgrade Doppel");
  }
  for (int v = version; v < k_schema_version; ++v) {
    if (exec(i->writer, k_migrations[v]) != SQLITE_OK) {
      status s = sqlite_error(i->writer, "cannot migrate " + file.string() + " to version " + std::to_string(v + 1));
      exec(i->writer, "ROLLBACK");
      return s;
    }
  }
  std::string set_version = "PRAGMA user_version = " + std::to_string(k_schema_version);
  if (exec(i->writer, set_version.c_str()) != SQLITE_OK || exec(i->writer, "COMMIT") != SQLITE_OK) {
    status s = sqlite_error(i->writer, "cannot migrate " + file.string());
    exec(i->writer, "ROLLBACK");
    return s;
  }
  auto r = open_connection(file, options.vfs);
  if (!r) return r.error();
  i->reader = *r;
  i->put_twin = statement(i->writer,
                          "INSERT INTO twins(id, model, body, etag, updated_ms) VALUES(?1, ?2, ?3, ?4, ?5) "
                          "ON CONFLICT(id) DO UPDATE SET model = ?2, body = ?3, etag = ?4, updated_ms = ?5");
  i->delete_twin = statement(i->writer, "DELETE FROM twins WHERE id = ?1");
  i->put_rel =
      statement(i->writer,
                "INSERT INTO relationships(source, id, name, target, body, etag) VALUES(?1, ?2, ?3, ?4, ?5, ?6) "
                "ON CONFLICT(source, id) DO UPDATE SET name = ?3, target = ?4, body = ?5, etag = ?6");
  i->delete_rel = statement(i->writer, "DELETE FROM relationships WHERE source = ?1 AND id = ?2");
  i->add_change = statement(
      i->writer, "INSERT INTO changes(twin, at_ms, kind, body, model, etag, patch) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  i->put_setting = statement(i->writer,
                             "INSERT INTO settings(key, value) VALUES(?1, ?2) "
                             "ON CONFLICT(key) DO UPDATE SET value = ?2");
  i->put_model = statement(i->writer,
                           "INSERT INTO models(id, source, uploaded_ms, decommissioned) VALUES(?1, ?2, ?3, ?4) "
                           "ON CONFLICT(id) DO UPDATE SET source = ?2, uploaded_ms = ?3, decommissioned = ?4");
  i->delete_model = statement(i->writer, "DELETE FROM models WHERE id = ?1");
  if (!i->put_twin || !i->delete_twin || !i->put_rel || !i->delete_rel || !i->add_change || !i->put_setting ||
      !i->put_model || !i->delete_model) {
    return sqlite_error(i->writer, "cannot prepare statements");
  }
  if (options.max_bytes > 0) {
    // Below the current size SQLite keeps the current size: the file cannot grow at all.
    std::string cap = "PRAGMA max_page_count = " + std::to_string(std::max<std::uint64_t>(1, options.max_bytes / 4096));
    if (exec(i->writer, cap.c_str()) != SQLITE_OK) return sqlite_error(i->writer, "cannot cap " + file.string());
  }
  // What a crash left in the log only: replayed, then checkpointed, so `twins` is whole again.
  if (status st = i->replay(); !st) return st;
  if (status st = i->checkpoint(); !st) {
    // Typically a full disk. Nothing is lost (the log still holds it, and the replayed states
    // are served from memory); refusing to start would only make the data unreachable. The
    // checkpoint needs about the replayed twins' size, twice (table pages and the WAL).
    std::size_t bytes = 0;
    {
      std::lock_guard lock(i->dirty_mu);
      for (const auto& [id, t] : i->dirty) bytes += id.size() + t.body.size() + t.model.size() + 64;
    }
    std::uint64_t mb = (2 * bytes + (1 << 20) - 1) >> 20;
    std::filesystem::path folder = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    i->open_failure =
        status::io_error(st.message() + " at start: free about " + std::to_string(std::max<std::uint64_t>(mb, 1)) +
                         " MB in " + folder.string() + (options.max_bytes > 0 ? " (or raise store.max_bytes)" : "") +
                         " and restart; until then the server is read-only");
  }
  impl* raw = i.get();
  i->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<metadata_store>(new metadata_store(std::move(i)));
}

void metadata_store::submit(std::vector<write> writes, std::function<void(status)> done) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->queue.push_back({std::move(writes), std::move(done)});
  }
  impl_->cv.notify_one();
}

status metadata_store::apply(std::vector<write> writes) {
  std::promise<status> promise;
  auto done = promise.get_future();
  submit(std::move(writes), [&promise](status s) { promise.set_value(std::move(s)); });
  return done.get();
}

std::optional<twin_record> metadata_store::get_twin(const std::string& id) const {
  {
    std::lock_guard lock(impl_->dirty_mu);
    auto it = impl_->dirty.find(id);
    if (it != impl_->dirty.end()) return it->second;
  }
  std::lock_guard lock(impl_->reader_mu);
  statement s(impl_->reader, "SELECT id, model, body, etag FROM twins WHERE id = ?1");
  s.bind(1, id);
  if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
  return twin_record{s.text(0), s.text(1), s.text(2), s.text(3)};
}

std::vector<twin_record> metadata_store::all_twins() const {
  std::lock_guard lock(impl_->reader_mu);
  std::vector<twin_record> out;
  statement s(impl_->reader, "SELECT id, model, body, etag FROM twins ORDER BY id");
  std::lock_guard dirty_lock(impl_->dirty_mu);
  auto d = impl_->dirty.begin();
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    std::string id = s.text(0);
    for (; d != impl_->dirty.end() && d->first < id; ++d) out.push_back(d->second);
    if (d != impl_->dirty.end() && d->first == id) {
      out.push_back(d->second);
      ++d;
    } else {
      out.push_back({std::move(id), s.text(1), s.text(2), s.text(3)});
    }
  }
  for (; d != impl_->dirty.end(); ++d) out.push_back(d->second);
  return out;
}

std::vector<relationship_record> metadata_store::all_relationships() const {
  std::lock_guard lock(impl_->reader_mu);
  std::vector<relationship_record> out;
  statement s(impl_->reader, "SELECT source, id, name, target, body, etag FROM relationships ORDER BY source, id");
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    out.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5)});
  }
  return out;
}

std::vector<model_record> metadata_store::all_models() const {
  std::lock_guard lock(impl_->reader_mu);
  std::vector<model_record> out;
  statement s(impl_->reader, "SELECT id, source, uploaded_ms, decommissioned FROM models ORDER BY id");
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    out.push_back({s.text(0), s.text(1), sqlite3_column_int64(s.get(), 2), sqlite3_column_int64(s.get(), 3) != 0});
  }
  return out;
}

std::vector<change_record> metadata_store::changes(const std::string& twin, std::int64_t after) const {
  std::lock_guard lock(impl_->reader_mu);
  std::vector<change_record> out;
  statement s(impl_->reader,
              "SELECT seq, twin, at_ms, kind, body, patch FROM changes WHERE twin = ?1 AND seq > ?2 ORDER BY seq");
  s.bind(1, twin).bind(2, after);
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    out.push_back({sqlite3_column_int64(s.get(), 0), s.text(1), sqlite3_column_int64(s.get(), 2), s.text(3), s.text(4),
                   sqlite3_column_int64(s.get(), 5) != 0});
  }
  return out;
}

std::optional<std::string> metadata_store::setting(const std::string& key) const {
  std::lock_guard lock(impl_->reader_mu);
  statement s(impl_->reader, "SELECT value FROM settings WHERE key = ?1");
  s.bind(1, key);
  if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
  return s.text(0);
}

status metadata_store::health() const { return impl_->open_failure; }

int metadata_store::schema_version() const {
  std::lock_guard lock(impl_->reader_mu);
  statement v(impl_->reader, "PRAGMA user_version");
  return v && sqlite3_step(v.get()) == SQLITE_ROW ? sqlite3_column_int(v.get(), 0) : -1;
}

store_stats metadata_store::stats() const {
  std::lock_guard lock(impl_->mu);
  return {impl_->commits, impl_->requests, impl_->queue.size(), static_cast<double>(impl_->commit_micros) / 1e6,
          impl_->checkpoints};
}

std::uint64_t metadata_store::commits() const {
  std::lock_guard lock(impl_->mu);
  return impl_->commits;
}

}  // namespace doppel::store
