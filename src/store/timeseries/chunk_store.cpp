// The chunk store (DIR/chunks.db, SQLite): its schema and index at open, and loading a chunk
// or rollup for a query.
#include "store/timeseries/history_impl.h"

namespace doppel::ts {

status history::impl::sql(const char* text) {
  char* err = nullptr;
  if (sqlite3_exec(db, text, nullptr, nullptr, &err) == SQLITE_OK) return status::ok();
  std::string m = err ? err : "unknown error";
  sqlite3_free(err);
  return status::io_error("the history's chunk store: " + m);
}

status history::impl::open_store() {
  auto file = o.dir / "chunks.db";
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    return status::io_error("cannot open " + file.string() + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
  }
  if (auto st = sql("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                    "CREATE TABLE IF NOT EXISTS series(id INTEGER PRIMARY KEY, twin TEXT NOT NULL, name TEXT NOT NULL,"
                    "  type INTEGER NOT NULL, UNIQUE(twin, name));"
                    "CREATE TABLE IF NOT EXISTS chunks(id INTEGER PRIMARY KEY, series INTEGER NOT NULL,"
                    "  t_min INTEGER NOT NULL, t_max INTEGER NOT NULL, points INTEGER NOT NULL, data BLOB NOT NULL);"
                    "CREATE INDEX IF NOT EXISTS chunks_by_series ON chunks(series, t_max);"
                    "CREATE TABLE IF NOT EXISTS rollups(chunk INTEGER NOT NULL, step INTEGER NOT NULL,"
                    "  data BLOB NOT NULL, PRIMARY KEY(chunk, step)) WITHOUT ROWID;");
      !st) {
    return st;
  }
  // The series and the index of their chunks (the chunks' bytes stay on disk).
  std::unordered_map<std::int64_t, series*> by_id;
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db, "SELECT id, twin, name, type FROM series", -1, &q, nullptr);
  std::string key;
  while (q && sqlite3_step(q) == SQLITE_ROW) {
    auto type = sqlite3_column_int(q, 3);
    if (type < 0 || type > 3) continue;
    std::string twin(reinterpret_cast<const char*>(sqlite3_column_text(q, 1)));
    std::string name(reinterpret_cast<const char*>(sqlite3_column_text(q, 2)));
    series* se = find_or_add(twin, name, static_cast<value_type>(type), key);
    se->id = sqlite3_column_int64(q, 0);
    by_id[se->id] = se;
  }
  sqlite3_finalize(q);
  // Chunks sealed before tiers existed have none; aggregates decode those.
  std::unordered_map<std::int64_t, int> tiered;
  sqlite3_prepare_v2(db, "SELECT chunk, length(data) FROM rollups", -1, &q, nullptr);
  while (q && sqlite3_step(q) == SQLITE_ROW) {
    ++tiered[sqlite3_column_int64(q, 0)];
    tier_bytes.fetch_add(static_cast<std::uint64_t>(sqlite3_column_int64(q, 1)));
  }
  sqlite3_finalize(q);
  sqlite3_prepare_v2(db, "SELECT id, series, t_min, t_max, points, length(data) FROM chunks ORDER BY id", -1, &q,
                     nullptr);
  constexpr int k_tiers = static_cast<int>(std::size(tier_steps_ns));
  while (q && sqlite3_step(q) == SQLITE_ROW) {
    auto it = by_id.find(sqlite3_column_int64(q, 1));
    if (it == by_id.end()) continue;
    std::int64_t rowid = sqlite3_column_int64(q, 0);
    auto t = tiered.find(rowid);
    it->second->chunks.push_back(
        {rowid, sqlite3_column_int64(q, 2), sqlite3_column_int64(q, 3), t != tiered.end() && t->second == k_tiers});
    it->second->newest = std::max<std::int64_t>(it->second->newest.load(), sqlite3_column_int64(q, 3));
    chunk_count.fetch_add(1);
    sealed_points.fetch_add(static_cast<std::uint64_t>(sqlite3_column_int64(q, 4)));
    chunk_bytes.fetch_add(static_cast<std::uint64_t>(sqlite3_column_int64(q, 5)));
  }
  sqlite3_finalize(q);
  return status::ok();
}

template <class F>
status history::impl::load(const char* select, sqlite3_stmt*& cached, std::int64_t rowid, std::int64_t step,
                           bool& found, F&& use) const {
  std::lock_guard db_lock(db_mu);
  if (!cached && sqlite3_prepare_v2(db, select, -1, &cached, nullptr) != SQLITE_OK) {
    return status::io_error(std::string("the history's chunk store: ") + sqlite3_errmsg(db));
  }
  sqlite3_stmt* q = cached;
  sqlite3_bind_int64(q, 1, rowid);
  if (step) sqlite3_bind_int64(q, 2, step / 1000000000);
  found = sqlite3_step(q) == SQLITE_ROW;
  status st;
  if (found) {
    st = use(std::string_view(static_cast<const char*>(sqlite3_column_blob(q, 0)),
                              static_cast<std::size_t>(sqlite3_column_bytes(q, 0))));
  }
  sqlite3_reset(q);  // ends the read, so checkpoints and retention can write
  return st;
}

status history::impl::load_chunk(std::int64_t rowid, column_batch& out, bool& found) const {
  chunks_decoded.fetch_add(1, std::memory_order_relaxed);
  status st = load("SELECT data FROM chunks WHERE id = ?", select_chunk, rowid, 0, found,
                   [&](std::string_view bytes) { return decode_chunk(bytes, out); });
  if (!st) return status::io_error("the history's chunk " + std::to_string(rowid) + " is damaged: " + st.message());
  return st;
}

status history::impl::load_rollup(std::int64_t rowid, std::int64_t step, std::vector<bucket>& out, bool& found) const {
  rollups_read.fetch_add(1, std::memory_order_relaxed);
  status st = load("SELECT data FROM rollups WHERE chunk = ? AND step = ?", select_rollup, rowid, step, found,
                   [&](std::string_view bytes) { return decode_rollup(bytes, step, out); });
  if (!st)
    return status::io_error("the history's rollup of chunk " + std::to_string(rowid) + " is damaged: " + st.message());
  return st;
}

}  // namespace doppel::ts
