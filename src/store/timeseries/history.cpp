#include "store/timeseries/history.h"

#include "store/timeseries/rollup.h"
#include "store/timeseries/varint.h"

#include <sqlite3.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace doppel::ts {

namespace {

// Ranges are from <= t < to, except that to = INT64_MAX means "no end": a point at the last
// nanosecond of the int64 range could otherwise never be read.
bool before_end(std::int64_t t, std::int64_t to) { return t < to || to == INT64_MAX; }
// The first time in sorted `times` at or past the range's end.
template <class Times>
auto end_of_range(const Times& times, std::int64_t to) {
  return to == INT64_MAX ? times.end() : std::lower_bound(times.begin(), times.end(), to);
}

constexpr std::size_t k_record_header = 12;         // u32 length + u64 hash
constexpr std::uint32_t k_max_record = 256u << 20;  // a larger length is corruption
// A writer defines its series anew past each this many bytes of its log, so a damaged record's
// definitions cost at most this much of the points that use them (see replay()).
constexpr std::uint64_t k_redefine_bytes = 4u << 20;
constexpr const char* k_carry = "carry.wal";  // unsealed points a checkpoint kept
// Logs are log-N.wal (writer N); wal-N.log and wal-carry.log are the first format's, replayed at
// open and sealed away at once.
bool is_log(std::string_view name) { return name.starts_with("log-") && name.ends_with(".wal"); }
bool is_v1_log(std::string_view name) { return name.starts_with("wal-") && name.ends_with(".log"); }

bool get_bytes(std::string_view& in, std::size_t n, std::string_view& out) {
  if (in.size() < n) return false;
  out = in.substr(0, n);
  in.remove_prefix(n);
  return true;
}

std::string key_of(std::string_view twin, std::string_view name) {
  std::string k;
  k.reserve(twin.size() + 1 + name.size());
  k.append(twin);
  k.push_back('\0');  // twin ids hold no NUL
  k.append(name);
  return k;
}

// Lets unordered maps keyed by std::string be searched with a string_view.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// A sealed chunk of a series, as the chunk store holds it.
struct chunk_ref {
  std::int64_t rowid = 0;
  std::int64_t t_min = 0, t_max = 0;
  bool tiers = false;  // has rollups (rollup.h) of every tier
};

struct series {
  std::string twin, name;
  std::uint32_t index = 0;  // its id in the logs this process writes
  mutable std::mutex mu;
  column_batch points;                          // guarded by mu: the head; times strictly increasing
  std::int64_t id = 0;                          // in the chunk store; 0 until its first chunk; checkpoint only
  std::vector<chunk_ref> chunks;                // guarded by mu; in sealing order (later ones win on equal times)
  std::atomic<std::int64_t> newest{INT64_MIN};  // the latest time held (head or chunks)
};

// What a query of a series reads: the chunks overlapping its range and the head's points in it.
struct snapshot {
  std::vector<chunk_ref> chunks;
  column_batch head;
};

// Log format 2 (see the header): a series' definition, then its points by id.
void put_define(std::string& rec, const series& se) {
  detail::put_varint(rec, (static_cast<std::uint64_t>(se.index) << 1) | 1);
  detail::put_raw(rec, static_cast<std::uint8_t>(se.points.type));
  detail::put_varint(rec, se.twin.size());
  rec.append(se.twin);
  detail::put_varint(rec, se.name.size());
  rec.append(se.name);
}

void put_point(std::string& rec, std::uint32_t index, std::int64_t& prev_t, const sample& s) {
  detail::put_varint(rec, static_cast<std::uint64_t>(index) << 1);
  // Wrapping difference: exact for any two int64 times.
  detail::put_varint(rec, detail::zigzag(static_cast<std::int64_t>(static_cast<std::uint64_t>(s.time_ns) -
                                                                   static_cast<std::uint64_t>(prev_t))));
  prev_t = s.time_ns;
  switch (s.type) {
    case value_type::f64: detail::put_raw(rec, s.f); break;
    case value_type::i64: detail::put_varint(rec, detail::zigzag(s.i)); break;
    case value_type::boolean: detail::put_raw(rec, static_cast<std::uint8_t>(s.i != 0)); break;
    case value_type::string:
      detail::put_varint(rec, s.s.size());
      rec.append(s.s);
      break;
  }
}

// Frames `rec` (payload after a k_record_header-byte gap at its start) as a log record.
void seal_record(std::string& rec) {
  auto len = static_cast<std::uint32_t>(rec.size() - k_record_header);
  std::uint64_t hash = XXH3_64bits(rec.data() + k_record_header, len);
  std::memcpy(rec.data(), &len, 4);
  std::memcpy(rec.data() + 4, &hash, 8);
}

// Places one point in time order; an equal time replaces the value held.
void insert(column_batch& c, const sample& s) {
  if (c.t.empty() || s.time_ns > c.t.back()) {  // the usual case: the newest point
    c.t.push_back(s.time_ns);
    switch (c.type) {
      case value_type::f64: c.f.push_back(s.f); break;
      case value_type::i64: c.i.push_back(s.i); break;
      case value_type::boolean: c.b.push_back(static_cast<std::uint8_t>(s.i != 0)); break;
      case value_type::string: c.s.emplace_back(s.s); break;
    }
    return;
  }
  std::size_t at = c.t.size();
  bool replace = false;
  if (!c.t.empty() && s.time_ns <= c.t.back()) {
    auto it = std::lower_bound(c.t.begin(), c.t.end(), s.time_ns);
    at = static_cast<std::size_t>(it - c.t.begin());
    replace = it != c.t.end() && *it == s.time_ns;
  }
  auto pos = [at](auto& v) { return v.begin() + static_cast<std::ptrdiff_t>(at); };
  if (!replace) c.t.insert(pos(c.t), s.time_ns);
  switch (c.type) {
    case value_type::f64:
      if (replace)
        c.f[at] = s.f;
      else
        c.f.insert(pos(c.f), s.f);
      break;
    case value_type::i64:
      if (replace)
        c.i[at] = s.i;
      else
        c.i.insert(pos(c.i), s.i);
      break;
    case value_type::boolean: {
      auto v = static_cast<std::uint8_t>(s.i != 0);
      if (replace)
        c.b[at] = v;
      else
        c.b.insert(pos(c.b), v);
      break;
    }
    case value_type::string:
      if (replace)
        c.s[at] = std::string(s.s);
      else
        c.s.insert(pos(c.s), std::string(s.s));
      break;
  }
}

// Points [at, end) of `c` into `out`.
void slice(const column_batch& c, std::size_t at, std::size_t end, column_batch& out) {
  out.clear();
  out.type = c.type;
  auto part = [&](const auto& v, auto& dst) {
    if (!v.empty())
      dst.assign(v.begin() + static_cast<std::ptrdiff_t>(at), v.begin() + static_cast<std::ptrdiff_t>(end));
  };
  part(c.t, out.t);
  part(c.f, out.f);
  part(c.i, out.i);
  part(c.b, out.b);
  part(c.s, out.s);
}

}  // namespace

struct history::impl {
  history_options o;
  std::shared_ptr<file_io> io;
  std::vector<std::unique_ptr<log_file>> logs;  // one per writer
  // Per writer, reused by its appends: the log record, a key, the series of each sample.
  struct scratch {
    std::string record, key;
    std::vector<series*> series_of;
    // The series of the twin of the last sample: a twin's samples come in runs, so most samples
    // are found by comparing a few names instead of hashing twin and name.
    std::string twin;
    std::vector<series*> twin_series;
    // Series defined in this writer's log since it was last emptied: defined[index] == epoch.
    std::vector<std::uint32_t> defined;
    std::uint32_t epoch = 1;
    std::uint64_t redefine_at = 0;  // the log size past which series are defined anew
  };
  std::uint32_t next_index = 0;     // guarded by map_mu
  std::vector<series*> replay_ids;  // log ids of the file being replayed
  std::vector<scratch> scratches;
  mutable std::shared_mutex map_mu;
  std::unordered_map<std::string, std::unique_ptr<series>> heads;  // guarded by map_mu
  // twin -> its series; guarded by map_mu
  std::unordered_map<std::string, std::vector<series*>, string_hash, std::equal_to<>> twins;
  std::atomic<std::uint64_t> points{0}, appended{0}, syncs{0}, log_bytes{0};
  // The chunk store (SQLite): written by checkpoints, read by queries; one connection under db_mu.
  sqlite3* db = nullptr;
  mutable std::mutex db_mu;
  mutable sqlite3_stmt* select_chunk = nullptr;   // guarded by db_mu
  mutable sqlite3_stmt* select_rollup = nullptr;  // guarded by db_mu
  // Appends hold it shared; a checkpoint holds it exclusively while it seals the heads.
  std::shared_mutex checkpoint_mu;
  std::thread sealer;
  std::mutex sealer_mu;
  std::condition_variable sealer_cv;
  bool stopping = false;  // guarded by sealer_mu
  std::atomic<std::uint64_t> chunk_count{0}, chunk_bytes{0}, sealed_points{0}, checkpoints{0}, tier_bytes{0};
  mutable std::atomic<std::uint64_t> chunks_decoded{0}, rollups_read{0};
  std::atomic<std::uint64_t> expired{0};
  std::string last_checkpoint_error;          // guarded by checkpoint_mu (exclusive)
  std::atomic<std::uint64_t> carry_bytes{0};  // the carry log's size after the last checkpoint
  recovery_report report;                     // written by open() only
  std::uint64_t replayed = 0;
  std::string replay_key;
  double replay_seconds = 0;

  ~impl() {
    sqlite3_finalize(select_chunk);
    sqlite3_finalize(select_rollup);
    if (db) sqlite3_close(db);
  }

  status sql(const char* text) {
    char* err = nullptr;
    if (sqlite3_exec(db, text, nullptr, nullptr, &err) == SQLITE_OK) return status::ok();
    std::string m = err ? err : "unknown error";
    sqlite3_free(err);
    return status::io_error("the history's chunk store: " + m);
  }

  status open_store() {
    auto file = o.dir / "chunks.db";
    if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
        SQLITE_OK) {
      return status::io_error("cannot open " + file.string() + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
    }
    if (auto st =
            sql("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
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

  // Seals heads into chunks, durably: every head when `everything`, else those with at least
  // seal_points points. The points of the heads left unsealed are rewritten into the carry log,
  // then the writers' logs are emptied. Appends wait while it runs.
  status checkpoint(bool everything) {
    std::unique_lock cp(checkpoint_mu);
    if (log_bytes.load() == 0) return status::ok();
    std::vector<series*> all, carried;
    {
      std::shared_lock lock(map_mu);
      for (auto& [k, se] : heads) {
        if (se->points.size() == 0) continue;
        (everything || se->points.size() >= o.seal_points ? all : carried).push_back(se.get());
      }
    }
    std::lock_guard db_lock(db_mu);
    if (auto st = sql("BEGIN IMMEDIATE"); !st) return st;
    sqlite3_stmt* add_series = nullptr;
    sqlite3_stmt* add_chunk = nullptr;
    sqlite3_stmt* add_rollup = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO rollups(chunk, step, data) VALUES(?, ?, ?)", -1, &add_rollup, nullptr);
    sqlite3_prepare_v2(db, "INSERT INTO series(twin, name, type) VALUES(?, ?, ?)", -1, &add_series, nullptr);
    sqlite3_prepare_v2(db, "INSERT INTO chunks(series, t_min, t_max, points, data) VALUES(?, ?, ?, ?, ?)", -1,
                       &add_chunk, nullptr);
    struct sealed {
      series* se;
      chunk_ref ref;
    };
    std::vector<sealed> made;
    std::vector<series*> fresh;  // series given their id in this transaction
    std::string bytes;
    column_batch part;
    status failure;
    std::uint64_t new_points = 0, new_bytes = 0, new_tier_bytes = 0;
    for (series* se : all) {
      if (!se->id) {
        sqlite3_reset(add_series);
        sqlite3_bind_text(add_series, 1, se->twin.data(), static_cast<int>(se->twin.size()), SQLITE_STATIC);
        sqlite3_bind_text(add_series, 2, se->name.data(), static_cast<int>(se->name.size()), SQLITE_STATIC);
        sqlite3_bind_int(add_series, 3, static_cast<int>(se->points.type));
        if (sqlite3_step(add_series) != SQLITE_DONE) {
          failure = status::io_error(std::string("the history's chunk store: ") + sqlite3_errmsg(db));
          break;
        }
        se->id = sqlite3_last_insert_rowid(db);
        fresh.push_back(se);
      }
      const column_batch& h = se->points;  // no appends run: the head is stable
      for (std::size_t at = 0; at < h.size() && failure.is_ok(); at += max_chunk_points) {
        std::size_t end = std::min(h.size(), at + static_cast<std::size_t>(max_chunk_points));
        const column_batch* src = &h;
        if (at != 0 || end != h.size()) {
          slice(h, at, end, part);
          src = &part;
        }
        bytes.clear();
        if (auto st = encode_chunk(*src, bytes); !st) {
          failure = st;
          break;
        }
        chunk_ref ref{0, src->t.front(), src->t.back()};
        sqlite3_reset(add_chunk);
        sqlite3_bind_int64(add_chunk, 1, se->id);
        sqlite3_bind_int64(add_chunk, 2, ref.t_min);
        sqlite3_bind_int64(add_chunk, 3, ref.t_max);
        sqlite3_bind_int64(add_chunk, 4, static_cast<sqlite3_int64>(src->size()));
        sqlite3_bind_blob(add_chunk, 5, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
        if (sqlite3_step(add_chunk) != SQLITE_DONE) {
          failure = status::io_error(std::string("the history's chunk store: ") + sqlite3_errmsg(db));
          break;
        }
        ref.rowid = sqlite3_last_insert_rowid(db);
        new_bytes += bytes.size();  // before `bytes` holds the rollups
        if (src->type != value_type::string) {
          // The chunk's downsampling tiers, in the same transaction: a chunk never lacks them.
          for (std::int64_t step : tier_steps_ns) {
            if (auto st = encode_rollup(*src, step, bytes); !st) {
              failure = st;
              break;
            }
            sqlite3_reset(add_rollup);
            sqlite3_bind_int64(add_rollup, 1, ref.rowid);
            sqlite3_bind_int64(add_rollup, 2, step / 1000000000);
            sqlite3_bind_blob(add_rollup, 3, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
            if (sqlite3_step(add_rollup) != SQLITE_DONE) {
              failure = status::io_error(std::string("the history's chunk store: ") + sqlite3_errmsg(db));
              break;
            }
            new_tier_bytes += bytes.size();
          }
          if (!failure.is_ok()) break;
          ref.tiers = true;
        }
        made.push_back({se, ref});
        new_points += src->size();
      }
      if (!failure.is_ok()) break;
    }
    sqlite3_finalize(add_series);
    sqlite3_finalize(add_chunk);
    sqlite3_finalize(add_rollup);
    if (!failure.is_ok() || !(failure = sql("COMMIT")).is_ok()) {
      (void)sql("ROLLBACK");
      for (series* se : fresh) se->id = 0;  // given in the rolled-back transaction
      last_checkpoint_error = failure.message();
      return failure;
    }
    // The chunks are durable. What stays in the heads is written to a new carry log, which
    // replaces the old one at once (rename), so it is never missing; then the writers' logs go.
    std::uint64_t carry = 0;
    if (status st = write_carry(carried, carry); !st) {
      last_checkpoint_error = st.message();
      return st;
    }
    for (auto& log : logs) {
      status st = log->truncate(0);
      if (st) st = log->sync();
      if (!st) return status::io_error("cannot empty a history log: " + st.message());
    }
    for (scratch& w : scratches) {  // the emptied logs define no series now
      ++w.epoch;
      w.redefine_at = k_redefine_bytes;
    }
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(o.dir, ec)) {
      auto name = e.path().filename().string();
      // The first format's logs, and logs of writers this start has not: all sealed or carried.
      if (is_v1_log(name) || (is_log(name) && std::atoi(name.c_str() + 4) >= o.writers)) {
        std::filesystem::remove(e.path(), ec);
      }
    }
    for (const sealed& m : made) {
      std::lock_guard lock(m.se->mu);
      m.se->chunks.push_back(m.ref);
    }
    for (series* se : all) {
      std::lock_guard lock(se->mu);
      se->points.clear();
      se->points.t.shrink_to_fit();
      se->points.f.shrink_to_fit();
      se->points.i.shrink_to_fit();
      se->points.b.shrink_to_fit();
      se->points.s.shrink_to_fit();
    }
    std::uint64_t left = 0;
    for (series* se : carried) left += se->points.size();
    points.store(left);
    log_bytes.store(carry);
    carry_bytes = carry;
    chunk_count.fetch_add(made.size());
    chunk_bytes.fetch_add(new_bytes);
    tier_bytes.fetch_add(new_tier_bytes);
    sealed_points.fetch_add(new_points);
    checkpoints.fetch_add(1);
    last_checkpoint_error.clear();
    return status::ok();
  }

  // Writes the points of `carried` as the new carry log (tmp file, fdatasync, rename, directory
  // fsync); `bytes` is its size.
  status write_carry(const std::vector<series*>& carried, std::uint64_t& bytes) {
    auto tmp = o.dir / "carry.tmp";
    auto final_path = o.dir / k_carry;
    std::string rec;
    auto file = io->open(tmp, true);
    if (!file) return status::io_error("cannot write the history's carry log: " + file.error().message());
    status st;
    bytes = 0;
    auto flush = [&] {
      if (rec.size() <= k_record_header) return;
      seal_record(rec);
      if (st) st = (*file)->append(rec);
      bytes += rec.size();
      rec.assign(k_record_header, '\0');
    };
    rec.assign(k_record_header, '\0');
    std::int64_t prev_t = 0;
    for (series* se : carried) {
      const column_batch& h = se->points;
      put_define(rec, *se);  // definitions hold for the rest of the file
      for (std::size_t k = 0; k < h.size(); ++k) {
        sample smp;
        smp.type = h.type;
        smp.time_ns = h.t[k];
        switch (h.type) {
          case value_type::f64: smp.f = h.f[k]; break;
          case value_type::i64: smp.i = h.i[k]; break;
          case value_type::boolean: smp.i = h.b[k]; break;
          case value_type::string: smp.s = h.s[k]; break;
        }
        put_point(rec, se->index, prev_t, smp);
        if (rec.size() >= (1u << 20)) {
          flush();
          prev_t = 0;
        }
      }
    }
    flush();
    if (st) st = (*file)->sync();
    file->reset();
    if (st) st = io->rename(tmp, final_path);
    // The rename must be durable before the writers' logs are emptied, or a crash could bring
    // back the old carry log without the points the emptied logs held.
    if (st) st = io->sync_dir(o.dir);
    if (!st) return status::io_error("cannot write the history's carry log: " + st.message());
    return status::ok();
  }

  // The writers' logs have grown by checkpoint_bytes since the last checkpoint.
  bool due() const { return log_bytes.load() >= carry_bytes.load() + o.checkpoint_bytes; }

  void run_sealer() {
    std::unique_lock lock(sealer_mu);
    auto next_retention = std::chrono::steady_clock::now() + o.retention_interval;
    for (;;) {
      if (o.retention) {
        sealer_cv.wait_until(lock, next_retention, [&] { return stopping || due(); });
      } else {
        sealer_cv.wait(lock, [&] { return stopping || due(); });
      }
      if (stopping) return;
      lock.unlock();
      status st;
      if (due()) st = checkpoint(false);
      if (o.retention && std::chrono::steady_clock::now() >= next_retention) {
        // A failed pass is tried again at the next; nothing is lost by waiting.
        (void)drop_expired(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count());
        next_retention = std::chrono::steady_clock::now() + o.retention_interval;
      }
      lock.lock();
      // A failed checkpoint is retried later; the logs still hold everything.
      if (!st) sealer_cv.wait_for(lock, std::chrono::seconds(5), [&] { return stopping; });
    }
  }

  // The series of a sample appended by writer `w` (see scratch::twin_series).
  series* writer_series(scratch& w, const sample& s) {
    if (s.twin != w.twin) {
      w.twin.assign(s.twin);
      w.twin_series.clear();
      std::shared_lock lock(map_mu);
      auto it = twins.find(s.twin);
      if (it != twins.end()) w.twin_series = it->second;
    }
    for (series* se : w.twin_series) {
      if (se->name == s.name) return se;
    }
    series* se = find_or_add(s.twin, s.name, s.type, w.key);
    w.twin_series.push_back(se);
    return se;
  }

  // The series of (twin, name), created with `type` when new. `key` is scratch space.
  series* find_or_add(std::string_view twin, std::string_view name, value_type type, std::string& key) {
    key.assign(twin);
    key.push_back('\0');  // twin ids hold no NUL
    key.append(name);
    {
      std::shared_lock lock(map_mu);
      auto it = heads.find(key);
      if (it != heads.end()) return it->second.get();
    }
    std::unique_lock lock(map_mu);
    auto& slot = heads[key];
    if (!slot) {
      slot = std::make_unique<series>();
      slot->index = next_index++;
      slot->points.type = type;
      slot->twin = std::string(twin);
      slot->name = std::string(name);
      twins[std::string(twin)].push_back(slot.get());
    }
    return slot.get();
  }

  void apply(series* se, const sample& s) {
    std::lock_guard lock(se->mu);
    if (se->points.type != s.type) return;  // checked before logging; a replayed log was written so
    std::size_t before = se->points.size();
    insert(se->points, s);
    if (s.time_ns > se->newest.load(std::memory_order_relaxed)) se->newest.store(s.time_ns, std::memory_order_relaxed);
    if (se->points.size() > before) points.fetch_add(1, std::memory_order_relaxed);
  }

  const series* find(std::string_view twin, std::string_view name) const {
    std::shared_lock lock(map_mu);
    auto it = heads.find(key_of(twin, name));
    return it == heads.end() ? nullptr : it->second.get();  // series are never removed while open
  }

  static status no_history(std::string_view twin, std::string_view name) {
    return status::not_found("twin \"" + std::string(twin) + "\" has no history of \"" + std::string(name) + "\"");
  }

  // The chunks of `se` overlapping [from, to) and its head's points there.
  static void take(const series& se, std::int64_t from, std::int64_t to, snapshot& out) {
    std::lock_guard lock(se.mu);
    for (const chunk_ref& c : se.chunks) {
      if (c.t_max >= from && before_end(c.t_min, to)) out.chunks.push_back(c);
    }
    const column_batch& h = se.points;
    auto lo = static_cast<std::size_t>(std::lower_bound(h.t.begin(), h.t.end(), from) - h.t.begin());
    auto hi = static_cast<std::size_t>(end_of_range(h.t, to) - h.t.begin());
    if (hi > lo) slice(h, lo, hi, out.head);
    out.head.type = h.type;
  }

  // The stored bytes of chunk `rowid` (column "data" of `table`, keyed as `where`), passed to
  // `use`; found = false when it is gone (retention dropped it after the query listed it).
  // Takes db_mu.
  // Statements are prepared once (a cross-twin aggregate loads thousands of rows) and kept in
  // `cached` (guarded by db_mu).
  template <class F>
  status load(const char* select, sqlite3_stmt*& cached, std::int64_t rowid, std::int64_t step, bool& found,
              F&& use) const {
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

  status load_chunk(std::int64_t rowid, column_batch& out, bool& found) const {
    chunks_decoded.fetch_add(1, std::memory_order_relaxed);
    status st = load("SELECT data FROM chunks WHERE id = ?", select_chunk, rowid, 0, found,
                     [&](std::string_view bytes) { return decode_chunk(bytes, out); });
    if (!st) return status::io_error("the history's chunk " + std::to_string(rowid) + " is damaged: " + st.message());
    return st;
  }

  status load_rollup(std::int64_t rowid, std::int64_t step, std::vector<bucket>& out, bool& found) const {
    rollups_read.fetch_add(1, std::memory_order_relaxed);
    status st = load("SELECT data FROM rollups WHERE chunk = ? AND step = ?", select_rollup, rowid, step, found,
                     [&](std::string_view bytes) { return decode_rollup(bytes, step, out); });
    if (!st)
      return status::io_error("the history's rollup of chunk " + std::to_string(rowid) +
                              " is damaged: " + st.message());
    return st;
  }

  // Drops what retention says is expired; see history::drop_expired.
  result<std::uint64_t> drop_expired(std::int64_t now) {
    if (!o.retention) return std::uint64_t{0};
    struct victim {
      series* se;
      std::int64_t cutoff;
    };
    std::vector<victim> victims;
    {
      std::shared_lock lock(map_mu);
      for (auto& [k, se] : heads) {
        std::int64_t keep = o.retention(se->twin);
        if (keep <= 0) continue;
        victims.push_back({se.get(), now > INT64_MIN + keep ? now - keep : INT64_MIN});
      }
    }
    std::uint64_t dropped = 0;
    for (const victim& v : victims) {
      std::vector<std::int64_t> gone;
      {
        std::lock_guard lock(v.se->mu);
        for (const chunk_ref& c : v.se->chunks) {
          if (c.t_max < v.cutoff) gone.push_back(c.rowid);
        }
        // Head points past retention go too (a crash replays them; the next pass drops them again).
        column_batch& h = v.se->points;
        auto n = static_cast<std::size_t>(std::lower_bound(h.t.begin(), h.t.end(), v.cutoff) - h.t.begin());
        if (n) {
          column_batch rest;
          slice(h, n, h.size(), rest);
          h = std::move(rest);
          points.fetch_sub(n);
        }
      }
      if (gone.empty()) continue;
      {
        std::lock_guard db_lock(db_mu);
        if (auto st = sql("BEGIN IMMEDIATE"); !st) return st;
        sqlite3_stmt* del_chunk = nullptr;
        sqlite3_stmt* del_rollups = nullptr;
        sqlite3_prepare_v2(db, "DELETE FROM chunks WHERE id = ?", -1, &del_chunk, nullptr);
        sqlite3_prepare_v2(db, "DELETE FROM rollups WHERE chunk = ?", -1, &del_rollups, nullptr);
        bool ok = del_chunk && del_rollups;
        for (std::int64_t id : gone) {
          for (sqlite3_stmt* q : {del_chunk, del_rollups}) {
            if (!ok) break;
            sqlite3_reset(q);
            sqlite3_bind_int64(q, 1, id);
            ok = sqlite3_step(q) == SQLITE_DONE;
          }
        }
        sqlite3_finalize(del_chunk);
        sqlite3_finalize(del_rollups);
        if (!ok) {
          std::string m = sqlite3_errmsg(db);
          (void)sql("ROLLBACK");
          return status::io_error("the history's chunk store: " + m);
        }
        if (auto st = sql("COMMIT"); !st) {
          (void)sql("ROLLBACK");
          return st;
        }
      }
      std::lock_guard lock(v.se->mu);
      std::erase_if(v.se->chunks, [&](const chunk_ref& c) { return c.t_max < v.cutoff; });
      dropped += gone.size();
    }
    chunk_count.fetch_sub(std::min(chunk_count.load(), dropped));
    expired.fetch_add(dropped);
    return dropped;
  }

  // Where a record at `at` of `data` would end by its length field: 0 when the length is not
  // plausible (0: writers never frame an empty payload, which also passes over zeroed stretches
  // at once; or above k_max_record), data.size() + 1 when it runs past the end (a torn end).
  static std::size_t record_end(std::string_view data, std::size_t at) {
    if (data.size() - at < k_record_header) return data.size() + 1;
    std::uint32_t len = 0;
    std::memcpy(&len, data.data() + at, 4);
    if (len == 0 || len > k_max_record) return 0;
    if (data.size() - at - k_record_header < len) return data.size() + 1;
    return at + k_record_header + len;
  }

  // The length of the valid record at `at` of `data`, or 0 when there is none: its length is
  // plausible, it fits in the file, and its payload's XXH3 matches.
  static std::size_t record_at(std::string_view data, std::size_t at) {
    std::size_t end = record_end(data, at);
    if (end == 0 || end > data.size()) return 0;
    std::uint64_t hash = 0;
    std::memcpy(&hash, data.data() + at + 4, 8);
    std::size_t len = end - at - k_record_header;
    if (XXH3_64bits(data.data() + at + k_record_header, len) != hash) return 0;
    return end - at;
  }

  // While looking for the next record after a damaged one: whether a record may start at `at`.
  // Before its payload is hashed (costly when a random length field says tens of MB), the
  // lengths of it and of the few records after it must chain up plausibly or reach the end.
  // A length damaged within those few records makes this one fail too; the stretch skipped is
  // then longer, and reported as such.
  static std::size_t resync_at(std::string_view data, std::size_t at) {
    std::size_t p = at;
    for (int hop = 0; hop < 4 && p < data.size(); ++hop) {
      p = record_end(data, p);
      if (p == 0) return 0;
    }
    return record_at(data, at);
  }

  void skip(const std::filesystem::path& file, std::size_t offset, std::size_t bytes, std::string reason) {
    ++report.skipped_ranges;
    report.skipped_bytes += bytes;
    if (report.skipped.size() < recovery_report::k_max_listed) {
      report.skipped.push_back({file, offset, bytes, std::move(reason)});
    }
  }

  // Replays one log. Records are checked one by one: a damaged one amid good ones is skipped
  // (reported in `report`), replay going on at the next offset where a valid record starts; a
  // damaged stretch that no valid record follows is a torn end (a crash in mid-write) and is cut
  // off. The next record boundary after a damaged length is unknown, hence the search byte by
  // byte; it hashes only where a length fits, so a zeroed or garbage stretch passes quickly.
  status replay(const std::filesystem::path& file) {
    bool v1 = is_v1_log(file.filename().string());
    replay_ids.clear();
    std::string data;
    if (status st = io->read(file, data); !st) return st;
    std::string_view all = data;
    std::size_t at = 0;
    while (at < all.size()) {
      std::size_t n = record_at(all, at);
      std::size_t damaged = at;
      if (!n) {
        do {
          ++at;
        } while (at < all.size() && !(n = resync_at(all, at)));
        if (!n) {  // no valid record after it: a torn end
          at = damaged;
          break;
        }
        skip(file, damaged, at - damaged, "no valid record (length or checksum mismatch)");
      }
      std::string_view payload = all.substr(at + k_record_header, n - k_record_header);
      // A record whose checksum holds but which does not decode: written so (a bug), or its
      // points belong to a series defined in a skipped record. Its decoded points are kept.
      if (!(v1 ? replay_record_v1(payload) : replay_record(payload))) {
        skip(file, at, n, "undecodable record (a series defined in a skipped record?)");
      }
      at += n;
    }
    if (at < all.size()) {
      report.torn_bytes += all.size() - at;
      auto log = io->open(file, false);
      status st = log ? (*log)->truncate(at) : log.error();
      if (st) st = (*log)->sync();
      if (!st) return status::io_error("cannot cut the torn end of " + file.string() + ": " + st.message());
    }
    log_bytes.fetch_add(at);
    return status::ok();
  }

  // One record of format 2: definitions and points (see the header).
  bool replay_record(std::string_view p) {
    std::int64_t prev_t = 0;
    while (!p.empty()) {
      std::uint64_t head = 0;
      if (!detail::get_varint(p, head) || (head >> 1) > 0xffffffffu) return false;
      auto id = static_cast<std::size_t>(head >> 1);
      if (head & 1) {
        std::uint8_t type = 0;
        std::uint64_t tl = 0, nl = 0;
        std::string_view twin, name;
        if (!detail::get_raw(p, type) || type > 3 || !detail::get_varint(p, tl) || tl > 0xffff ||
            !get_bytes(p, tl, twin) || !detail::get_varint(p, nl) || nl > 0xffff || !get_bytes(p, nl, name)) {
          return false;
        }
        if (replay_ids.size() <= id) replay_ids.resize(id + 1, nullptr);
        replay_ids[id] = find_or_add(twin, name, static_cast<value_type>(type), replay_key);
        continue;
      }
      if (id >= replay_ids.size() || !replay_ids[id]) return false;  // a point of a series not defined
      series* se = replay_ids[id];
      sample s;
      s.type = se->points.type;
      std::uint64_t dt = 0, v = 0;
      if (!detail::get_varint(p, dt)) return false;
      s.time_ns = static_cast<std::int64_t>(static_cast<std::uint64_t>(prev_t) +
                                            static_cast<std::uint64_t>(detail::unzigzag(dt)));
      prev_t = s.time_ns;
      switch (s.type) {
        case value_type::f64:
          if (!detail::get_raw(p, s.f)) return false;
          break;
        case value_type::i64:
          if (!detail::get_varint(p, v)) return false;
          s.i = detail::unzigzag(v);
          break;
        case value_type::boolean: {
          std::uint8_t b = 0;
          if (!detail::get_raw(p, b)) return false;
          s.i = b;
          break;
        }
        case value_type::string:
          if (!detail::get_varint(p, v) || !get_bytes(p, v, s.s)) return false;
          break;
      }
      apply(se, s);
      ++replayed;
    }
    return true;
  }

  // One record of the first format (twin and name spelled out in every entry).
  bool replay_record_v1(std::string_view p) {
    while (!p.empty()) {
      sample s;
      std::uint16_t tl = 0, nl = 0;
      std::uint8_t type = 0;
      if (!detail::get_raw(p, tl) || !get_bytes(p, tl, s.twin) || !detail::get_raw(p, nl) ||
          !get_bytes(p, nl, s.name) || !detail::get_raw(p, type) || type > 3 || !detail::get_raw(p, s.time_ns)) {
        return false;
      }
      s.type = static_cast<value_type>(type);
      switch (s.type) {
        case value_type::f64:
          if (!detail::get_raw(p, s.f)) return false;
          break;
        case value_type::i64:
          if (!detail::get_raw(p, s.i)) return false;
          break;
        case value_type::boolean: {
          std::uint8_t b = 0;
          if (!detail::get_raw(p, b)) return false;
          s.i = b;
          break;
        }
        case value_type::string: {
          std::uint32_t sl = 0;
          if (!detail::get_raw(p, sl) || !get_bytes(p, sl, s.s)) return false;
          break;
        }
      }
      apply(find_or_add(s.twin, s.name, s.type, replay_key), s);
      ++replayed;
    }
    return true;
  }
};

history::history(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

history::~history() {
  {
    std::lock_guard lock(impl_->sealer_mu);
    impl_->stopping = true;
  }
  impl_->sealer_cv.notify_all();
  if (impl_->sealer.joinable()) impl_->sealer.join();
  // Sealed at a clean stop, the next start has nothing to replay. If it fails, the logs keep all.
  if (impl_->o.seal_on_close) (void)impl_->checkpoint(true);
}

status history::checkpoint(bool everything) { return impl_->checkpoint(everything); }

result<std::unique_ptr<history>> history::open(history_options options) {
  auto i = std::make_unique<impl>();
  i->o = std::move(options);
  if (i->o.writers < 1) i->o.writers = 1;
  i->io = i->o.io ? i->o.io : real_files();
  std::error_code ec;
  std::filesystem::create_directories(i->o.dir, ec);
  if (ec) return status::io_error("cannot create " + i->o.dir.string() + ": " + ec.message());
  auto started = std::chrono::steady_clock::now();
  if (status st = i->open_store(); !st) return st;
  // Every log, also those of writers a previous start had and this one has not: the first
  // format's (older), then the carry log, then the writers' logs (newer, so they win equal times).
  std::vector<std::filesystem::path> logs;
  bool v1 = false;
  for (const auto& e : std::filesystem::directory_iterator(i->o.dir, ec)) {
    auto name = e.path().filename().string();
    if (is_v1_log(name) || is_log(name) || name == k_carry) logs.push_back(e.path());
    v1 = v1 || is_v1_log(name);
  }
  auto rank = [](const std::filesystem::path& p) {
    auto name = p.filename().string();
    return std::pair(is_v1_log(name) ? 0 : name == k_carry ? 1 : 2, name);
  };
  std::sort(logs.begin(), logs.end(), [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  for (const auto& l : logs) {
    if (status s = i->replay(l); !s) return s;
  }
  i->replay_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  i->report.replayed = i->replayed;
  for (int w = 0; w < i->o.writers; ++w) {
    auto log = i->io->open(i->o.dir / ("log-" + std::to_string(w) + ".wal"), false);
    if (!log) return log.error();
    i->logs.push_back(std::move(*log));
  }
  i->scratches.resize(static_cast<std::size_t>(i->o.writers));
  // The directory entries of new logs must survive a crash too.
  if (status st = i->io->sync_dir(i->o.dir); !st) return st;
  // Logs of the first format are sealed (or carried into the new format) at once.
  if (v1) {
    if (status st = i->checkpoint(true); !st) return st;
  }
  impl* raw = i.get();
  i->sealer = std::thread([raw] { raw->run_sealer(); });
  return std::unique_ptr<history>(new history(std::move(i)));
}

status history::append(int writer, const std::vector<sample>& samples) {
  auto& i = *impl_;
  if (writer < 0 || writer >= i.o.writers) return status::internal("history writer out of range");
  if (samples.empty()) return status::ok();
  std::shared_lock cp(i.checkpoint_mu);  // a checkpoint does not see half an append
  auto& w = i.scratches[static_cast<std::size_t>(writer)];
  // Each sample's series (one lookup each), and types checked: a refused append writes nothing.
  w.series_of.clear();
  for (const sample& s : samples) {
    if (s.twin.size() > 0xffff || s.name.size() > 0xffff) {
      return status::invalid_argument("a twin id or telemetry name is longer than 65,535 bytes");
    }
    series* se = i.writer_series(w, s);
    if (se->points.type != s.type) {  // a series' type never changes once created
      return status::invalid_argument("telemetry \"" + std::string(s.name) + "\" of twin \"" + std::string(s.twin) +
                                      "\" has history of type " + std::string(to_string(se->points.type)) + ", not " +
                                      std::string(to_string(s.type)));
    }
    w.series_of.push_back(se);
  }
  log_file& log = *i.logs[static_cast<std::size_t>(writer)];
  std::uint64_t end = log.size();
  if (end >= w.redefine_at) {  // this record defines its series again (see k_redefine_bytes)
    ++w.epoch;
    w.redefine_at = end + k_redefine_bytes;
  }
  std::string& rec = w.record;
  rec.assign(k_record_header, '\0');
  std::int64_t prev_t = 0;
  for (std::size_t k = 0; k < samples.size(); ++k) {
    const series& se = *w.series_of[k];
    if (w.defined.size() <= se.index) w.defined.resize(se.index + 1, 0);
    if (w.defined[se.index] != w.epoch) {
      put_define(rec, se);
      w.defined[se.index] = w.epoch;
    }
    put_point(rec, se.index, prev_t, samples[k]);
  }
  seal_record(rec);
  // A failed write or sync: the record is cut off again (a later record must not follow half of
  // one; were the cut to fail too, replay skips the half record and reports it) and this writer
  // defines its series anew. The points are not applied: the caller acknowledges nothing.
  auto undo = [&](const char* what, const status& cause) {
    (void)log.truncate(end);
    ++w.epoch;
    return status::io_error(std::string(what) + cause.message());
  };
  if (status st = log.append(rec); !st) return undo("cannot write the telemetry log: ", st);
  if (i.o.sync) {
    if (status st = log.sync(); !st) return undo("cannot sync the telemetry log: ", st);
    i.syncs.fetch_add(1, std::memory_order_relaxed);
  }
  i.log_bytes.fetch_add(rec.size(), std::memory_order_relaxed);
  for (std::size_t k = 0; k < samples.size(); ++k) i.apply(w.series_of[k], samples[k]);
  i.appended.fetch_add(samples.size(), std::memory_order_relaxed);
  if (i.due()) i.sealer_cv.notify_one();
  return status::ok();
}

result<column_batch> history::read(std::string_view twin, std::string_view name, std::int64_t from, std::int64_t to,
                                   std::size_t limit, bool* truncated) const {
  const auto& i = *impl_;
  const series* se = i.find(twin, name);
  if (!se) return impl::no_history(twin, name);
  // Sources in rising precedence: the chunks in sealing order, then the head. A time held by
  // several (a late point sealed after its neighbours, a log replayed after a crash) keeps the
  // value of the latest source.
  snapshot snap;
  impl::take(*se, from, to, snap);
  column_batch& head = snap.head;
  std::vector<column_batch> chunks;
  chunks.reserve(snap.chunks.size());
  for (const chunk_ref& c : snap.chunks) {
    bool found = false;
    chunks.emplace_back();
    if (status st = i.load_chunk(c.rowid, chunks.back(), found); !st) return st;
    if (!found) chunks.pop_back();  // expired since it was listed
  }
  column_batch out;
  out.type = head.type;
  if (chunks.empty()) {
    out = std::move(head);
  } else {
    // (time, source, index), sorted by time then by precedence; the last of equal times wins.
    struct ref {
      std::int64_t t;
      std::uint32_t source, index;
    };
    std::vector<ref> all;
    auto add = [&](const column_batch& c, std::uint32_t source) {
      for (std::size_t k = 0; k < c.t.size(); ++k) {
        if (c.t[k] >= from && before_end(c.t[k], to)) all.push_back({c.t[k], source, static_cast<std::uint32_t>(k)});
      }
    };
    for (std::size_t k = 0; k < chunks.size(); ++k) add(chunks[k], static_cast<std::uint32_t>(k));
    add(head, static_cast<std::uint32_t>(chunks.size()));
    std::sort(all.begin(), all.end(),
              [](const ref& a, const ref& b) { return a.t != b.t ? a.t < b.t : a.source < b.source; });
    for (std::size_t k = 0; k < all.size(); ++k) {
      if (k + 1 < all.size() && all[k + 1].t == all[k].t) continue;  // a later source has this time
      const column_batch& c = all[k].source < chunks.size() ? chunks[all[k].source] : head;
      std::size_t at = all[k].index;
      out.t.push_back(c.t[at]);
      switch (c.type) {
        case value_type::f64: out.f.push_back(c.f[at]); break;
        case value_type::i64: out.i.push_back(c.i[at]); break;
        case value_type::boolean: out.b.push_back(c.b[at]); break;
        case value_type::string: out.s.push_back(c.s[at]); break;
      }
    }
  }
  if (truncated) *truncated = out.size() > limit;
  if (out.size() > limit) {
    column_batch cut;
    slice(out, 0, limit, cut);
    return cut;
  }
  return out;
}

result<std::vector<bucket>> history::aggregate(std::string_view twin, std::string_view name, std::int64_t from,
                                               std::int64_t to, std::int64_t step, std::size_t max_raw,
                                               bool percentiles) const {
  const auto& i = *impl_;
  if (step <= 0) return status::invalid_argument("step must be positive");
  const series* se = i.find(twin, name);
  if (!se) return impl::no_history(twin, name);
  std::int64_t tier = 0;  // the coarsest tier whose buckets fit whole in the step's
  for (std::int64_t t : tier_steps_ns) {
    if (step % t == 0) tier = t;
  }
  snapshot snap;
  impl::take(*se, from, to, snap);
  std::sort(snap.chunks.begin(), snap.chunks.end(),
            [](const chunk_ref& a, const chunk_ref& b) { return a.t_min < b.t_min; });
  // Buckets from rollups are exact only where no two sources hold the same time (a late point
  // sealed after its neighbours, a replayed log): those ranges are merged point by point.
  bool disjoint = snap.head.type != value_type::string;
  for (std::size_t k = 1; k < snap.chunks.size() && disjoint; ++k) {
    disjoint = snap.chunks[k].t_min > snap.chunks[k - 1].t_max;
  }
  if (disjoint && !snap.chunks.empty() && snap.head.size()) disjoint = snap.head.t.front() > snap.chunks.back().t_max;
  if (!tier || !disjoint || percentiles) {
    bool truncated = false;
    auto raw = read(twin, name, from, to, max_raw, &truncated);
    if (!raw) return raw.error();
    if (truncated && percentiles) {
      return status::invalid_argument("percentiles need every point, and the range holds more than " +
                                      std::to_string(max_raw) + "; narrow from and to");
    }
    if (truncated) {
      return status::invalid_argument("the range holds more than " + std::to_string(max_raw) +
                                      " points to aggregate one by one; narrow from and to, or use a step that is a "
                                      "multiple of 1m so the downsampled tiers answer");
    }
    auto buckets = ts::aggregate(*raw, step);
    if (buckets && percentiles) add_percentiles(*raw, step, *buckets);
    return buckets;
  }
  std::vector<bucket> fine;  // buckets of the tier, in time order; one split by chunks appears twice
  column_batch points;
  for (const chunk_ref& c : snap.chunks) {
    bool found = false;
    if (c.tiers && c.t_min >= from && before_end(c.t_max, to)) {
      if (status st = i.load_rollup(c.rowid, tier, fine, found); !st) return st;
      continue;
    }
    // A chunk cut by the range's ends (or sealed before tiers existed): its points in range.
    if (status st = i.load_chunk(c.rowid, points, found); !st) return st;
    if (!found) continue;
    auto lo = static_cast<std::size_t>(std::lower_bound(points.t.begin(), points.t.end(), from) - points.t.begin());
    auto hi = static_cast<std::size_t>(end_of_range(points.t, to) - points.t.begin());
    column_batch part;
    slice(points, lo, hi, part);
    auto b = ts::aggregate(part, tier);
    if (!b) return b.error();
    fine.insert(fine.end(), b->begin(), b->end());
  }
  auto b = ts::aggregate(snap.head, tier);
  if (!b) return b.error();
  fine.insert(fine.end(), b->begin(), b->end());
  return regroup(fine, step);
}

std::optional<std::int64_t> history::newest(std::string_view twin, std::string_view name) const {
  const series* se = impl_->find(twin, name);
  if (!se) return std::nullopt;
  std::int64_t t = se->newest.load(std::memory_order_relaxed);
  if (t == INT64_MIN) return std::nullopt;
  return t;
}

result<std::uint64_t> history::drop_expired(std::int64_t now_ns) { return impl_->drop_expired(now_ns); }

std::vector<std::string> history::series_of(std::string_view twin) const {
  const auto& i = *impl_;
  std::shared_lock lock(i.map_mu);
  auto it = i.twins.find(twin);
  if (it == i.twins.end()) return {};
  std::vector<std::string> out;
  for (const series* se : it->second) out.push_back(se->name);
  std::sort(out.begin(), out.end());
  return out;
}

const recovery_report& history::recovery() const { return impl_->report; }

std::vector<std::string> recovery_report::describe() const {
  std::vector<std::string> out;
  for (const skipped_range& r : skipped) {
    out.push_back("history: skipped " + std::to_string(r.bytes) + " damaged bytes at offset " +
                  std::to_string(r.offset) + " of " + r.file.string() + " (" + r.reason + ")");
  }
  if (skipped_ranges > skipped.size()) {
    out.push_back("history: ... and " + std::to_string(skipped_ranges - skipped.size()) + " more damaged range(s), " +
                  std::to_string(skipped_bytes) + " bytes skipped in all");
  }
  return out;
}

history_stats history::stats() const {
  const auto& i = *impl_;
  history_stats s;
  {
    std::shared_lock lock(i.map_mu);
    s.series = i.heads.size();
  }
  s.points = i.points.load();
  s.appended = i.appended.load();
  s.syncs = i.syncs.load();
  s.log_bytes = i.log_bytes.load();
  s.replayed = i.replayed;
  s.replay_seconds = i.replay_seconds;
  s.torn_bytes = i.report.torn_bytes;
  s.skipped_ranges = i.report.skipped_ranges;
  s.skipped_bytes = i.report.skipped_bytes;
  s.chunks = i.chunk_count.load();
  s.chunk_bytes = i.chunk_bytes.load();
  s.tier_bytes = i.tier_bytes.load();
  s.chunks_decoded = i.chunks_decoded.load();
  s.rollups_read = i.rollups_read.load();
  s.expired_chunks = i.expired.load();
  s.sealed_points = i.sealed_points.load();
  s.checkpoints = i.checkpoints.load();
  return s;
}

status history::check_types(int writer, std::span<const sample> samples,
                            std::vector<std::pair<std::size_t, value_type>>& mismatched) {
  auto& i = *impl_;
  if (writer < 0 || writer >= i.o.writers) return status::internal("history writer out of range");
  std::shared_lock cp(i.checkpoint_mu);  // as append(): the writer's scratch and series stay put
  auto& w = i.scratches[static_cast<std::size_t>(writer)];
  for (std::size_t k = 0; k < samples.size(); ++k) {
    const series* se = i.writer_series(w, samples[k]);
    if (se->points.type != samples[k].type) mismatched.emplace_back(k, se->points.type);
  }
  return status::ok();
}

}  // namespace doppel::ts
