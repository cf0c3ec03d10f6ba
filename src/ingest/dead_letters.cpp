#include "ingest/dead_letters.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>

#include "core/prometheus.h"
#include "core/time.h"

namespace doppel::ingest {

namespace {

// One prepared statement, finalized on scope exit.
class statement {
 public:
  statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~statement() { sqlite3_finalize(s_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  sqlite3_stmt* get() const { return s_; }
  explicit operator bool() const { return s_ != nullptr; }

 private:
  sqlite3_stmt* s_ = nullptr;
};

std::string column_text(sqlite3_stmt* s, int k) {
  const void* p = sqlite3_column_blob(s, k);
  int n = sqlite3_column_bytes(s, k);
  return p ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}

void bind_text(sqlite3_stmt* s, int k, const std::string& v) {
  sqlite3_bind_blob(s, k, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

status db_error(sqlite3* db, const std::string& what) {
  return status::io_error("dead letters: cannot " + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

}  // namespace

dead_letters::dead_letters(std::size_t capacity, std::size_t max_bytes)
    : capacity_(capacity ? capacity : 1), max_bytes_(max_bytes ? max_bytes : 1) {
  std::lock_guard lock(mu_);
  if (sqlite3_open(":memory:", &db_) != SQLITE_OK) {
    init_error_ = db_error(db_, "open an in-memory database").message();
    return;
  }
  if (status s = init_locked(); !s) init_error_ = s.message();
}

dead_letters::~dead_letters() { sqlite3_close(db_); }

status dead_letters::open(const std::filesystem::path& file) {
  std::lock_guard lock(mu_);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    status s = db_error(db, "open " + file.string());
    sqlite3_close(db);
    return s;
  }
  // Durable before add returns: an acknowledged MQTT message that was refused is still here after
  // a crash. WAL keeps the fsync to the log.
  if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", nullptr, nullptr, nullptr) != SQLITE_OK) {
    status s = db_error(db, "set up " + file.string());
    sqlite3_close(db);
    return s;
  }
  sqlite3_close(db_);
  db_ = db;
  kept_ = kept_bytes_ = dropped_ = 0;
  init_error_.clear();
  if (status s = init_locked(); !s) return s;
  // The bounds may have shrunk since the file was written.
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) return db_error(db_, "trim");
  status s = trim_locked();
  if (sqlite3_exec(db_, s ? "COMMIT" : "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK && s) {
    return db_error(db_, "trim " + file.string());
  }
  return s;
}

status dead_letters::init_locked() {
  // seq AUTOINCREMENT: never reused, even after the letters holding the highest were dropped.
  const char* schema =
      "CREATE TABLE IF NOT EXISTS letters(seq INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, "
      "source BLOB NOT NULL, twin BLOB NOT NULL, reason BLOB NOT NULL, message BLOB NOT NULL, raw BLOB NOT NULL, "
      "bytes INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
      "INSERT OR IGNORE INTO meta VALUES('dropped', 0);";
  if (sqlite3_exec(db_, schema, nullptr, nullptr, nullptr) != SQLITE_OK) return db_error(db_, "create its tables");
  statement totals(db_,
                   "SELECT count(*), coalesce(sum(bytes), 0), (SELECT value FROM meta WHERE key = 'dropped') "
                   "FROM letters");
  if (!totals || sqlite3_step(totals.get()) != SQLITE_ROW) return db_error(db_, "read its totals");
  kept_ = static_cast<std::uint64_t>(sqlite3_column_int64(totals.get(), 0));
  kept_bytes_ = static_cast<std::uint64_t>(sqlite3_column_int64(totals.get(), 1));
  dropped_ = static_cast<std::uint64_t>(sqlite3_column_int64(totals.get(), 2));
  return status::ok();
}

status dead_letters::trim_locked() {
  if (kept_ <= capacity_ && kept_bytes_ <= max_bytes_) return status::ok();
  // The oldest first, until both bounds hold; one DELETE for the lot.
  statement oldest(db_, "SELECT seq, bytes FROM letters ORDER BY seq");
  if (!oldest) return db_error(db_, "trim");
  std::int64_t last = -1;
  std::uint64_t n = 0, bytes = 0;
  while ((kept_ - n > capacity_ || kept_bytes_ - bytes > max_bytes_) && sqlite3_step(oldest.get()) == SQLITE_ROW) {
    last = sqlite3_column_int64(oldest.get(), 0);
    bytes += static_cast<std::uint64_t>(sqlite3_column_int64(oldest.get(), 1));
    ++n;
  }
  if (last < 0) return status::ok();
  statement del(db_, "DELETE FROM letters WHERE seq <= ?1");
  statement meta(db_, "UPDATE meta SET value = value + ?1 WHERE key = 'dropped'");
  if (!del || !meta) return db_error(db_, "trim");
  sqlite3_bind_int64(del.get(), 1, last);
  sqlite3_bind_int64(meta.get(), 1, static_cast<sqlite3_int64>(n));
  if (sqlite3_step(del.get()) != SQLITE_DONE || sqlite3_step(meta.get()) != SQLITE_DONE) return db_error(db_, "trim");
  kept_ -= n;
  kept_bytes_ -= bytes;
  dropped_ += n;
  return status::ok();
}

status dead_letters::add(const std::string& source, const std::string& twin, std::vector<rejection> batch) {
  return add(source, std::vector<std::string>(batch.size(), twin), std::move(batch));
}

status dead_letters::add(const std::string& source, const std::vector<std::string>& twins,
                         std::vector<rejection> batch) {
  if (batch.empty()) return status::ok();
  static const std::string none;
  std::int64_t now = unix_time_ms();
  std::lock_guard lock(mu_);
  for (const auto& r : batch) ++counts_[r.reason];
  if (!init_error_.empty()) return status::io_error(init_error_);
  // A letter larger than an eighth of the byte bound keeps the start of its raw text only, so one
  // huge message cannot push out every other letter.
  std::size_t max_raw = std::max<std::size_t>(max_bytes_ / 8, 256);
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return db_error(db_, "store a refused message");
  }
  statement insert(db_,
                   "INSERT INTO letters(at_ms, source, twin, reason, message, raw, bytes) "
                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  status s = insert ? status::ok() : db_error(db_, "store a refused message");
  for (std::size_t k = 0; k < batch.size() && s; ++k) {
    rejection& r = batch[k];
    if (r.raw.size() > max_raw) {
      std::size_t size = r.raw.size();
      r.raw.resize(max_raw);
      r.raw += "... (" + std::to_string(size) + " bytes, cut to ingest.dead_letter_bytes / 8)";
    }
    std::uint64_t bytes = r.raw.size() + r.message.size();
    sqlite3_reset(insert.get());
    sqlite3_bind_int64(insert.get(), 1, now);
    bind_text(insert.get(), 2, source);
    bind_text(insert.get(), 3, k < twins.size() ? twins[k] : none);
    bind_text(insert.get(), 4, r.reason);
    bind_text(insert.get(), 5, r.message);
    bind_text(insert.get(), 6, r.raw);
    sqlite3_bind_int64(insert.get(), 7, static_cast<sqlite3_int64>(bytes));
    if (sqlite3_step(insert.get()) != SQLITE_DONE) {
      s = db_error(db_, "store a refused message");
      break;
    }
    ++kept_;
    kept_bytes_ += bytes;
  }
  if (s) s = trim_locked();
  if (s && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    s = db_error(db_, "store a refused message");
  }
  if (!s) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    // The totals are those of the database again.
    (void)init_locked();
  }
  return s;
}

nlohmann::json dead_letters::list(std::uint64_t after, std::size_t limit, const std::string& reason) const {
  nlohmann::json value = nlohmann::json::array();
  std::lock_guard lock(mu_);
  if (init_error_.empty()) {
    statement q(db_,
                "SELECT seq, at_ms, source, twin, reason, message, raw FROM letters "
                "WHERE seq > ?1 AND (length(?2) = 0 OR reason = ?2) ORDER BY seq LIMIT ?3");
    if (q) {
      sqlite3_bind_int64(q.get(), 1, static_cast<sqlite3_int64>(std::min<std::uint64_t>(after, INT64_MAX)));
      bind_text(q.get(), 2, reason);  // a blob, as stored
      sqlite3_bind_int64(q.get(), 3, static_cast<sqlite3_int64>(limit));
      while (sqlite3_step(q.get()) == SQLITE_ROW) {
        nlohmann::json e = {{"seq", sqlite3_column_int64(q.get(), 0)}, {"at", sqlite3_column_int64(q.get(), 1)},
                            {"source", column_text(q.get(), 2)},       {"reason", column_text(q.get(), 4)},
                            {"message", column_text(q.get(), 5)},      {"raw", column_text(q.get(), 6)}};
        std::string twin = column_text(q.get(), 3);
        if (!twin.empty()) e["twin"] = std::move(twin);
        value.push_back(std::move(e));
      }
    }
  }
  return {{"value", std::move(value)}, {"dropped", dropped_}};
}

void dead_letters::render_metrics(std::string& out) const {
  std::lock_guard lock(mu_);
  prometheus::writer w(out);
  w.family("doppel_ingest_dead_letters_total", "Messages and readings refused, by reason.",
           prometheus::metric_type::counter);
  for (const auto& [reason, n] : counts_) w.sample("doppel_ingest_dead_letters_total", {{"reason", reason}}, n);
  w.gauge("doppel_ingest_dead_letters_kept", "Dead letters held for GET /deadletters.", kept_);
  w.gauge("doppel_ingest_dead_letters_kept_bytes", "Bytes (raw text and messages) of the dead letters held.",
          kept_bytes_);
  w.counter("doppel_ingest_dead_letters_dropped_total", "Dead letters dropped (oldest first) to stay in bounds.",
            dropped_);
}

}  // namespace doppel::ingest
