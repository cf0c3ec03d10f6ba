// Private to the history (history.h): the state behind history::impl and the helpers its files
// share. The history is split by concern: history.cpp (open, append, queries, stats), wal.cpp
// (log records and replay), heads.cpp (the in-memory series), chunk_store.cpp (the SQLite chunk
// store), checkpoint.cpp (sealing heads into chunks, the carry log, the background thread) and
// retention.cpp. Include only from those files.
#pragma once

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

#include "store/timeseries/history.h"
#include "store/timeseries/rollup.h"
#include "store/timeseries/varint.h"

namespace doppel::ts {

// Ranges are from <= t < to, except that to = INT64_MAX means "no end": a point at the last
// nanosecond of the int64 range could otherwise never be read.
inline bool before_end(std::int64_t t, std::int64_t to) { return t < to || to == INT64_MAX; }
// The first time in sorted `times` at or past the range's end.
template <class Times>
auto end_of_range(const Times& times, std::int64_t to) {
  return to == INT64_MAX ? times.end() : std::lower_bound(times.begin(), times.end(), to);
}

inline constexpr std::size_t k_record_header = 12;         // u32 length + u64 hash
inline constexpr std::uint32_t k_max_record = 256u << 20;  // a larger length is corruption
// A writer defines its series anew past each this many bytes of its log, so a damaged record's
// definitions cost at most this much of the points that use them (see replay()).
inline constexpr std::uint64_t k_redefine_bytes = 4u << 20;
inline constexpr const char* k_carry = "carry.wal";  // unsealed points a checkpoint kept
// Logs are log-N.wal (writer N); wal-N.log and wal-carry.log are the first format's, replayed at
// open and sealed away at once.
inline bool is_log(std::string_view name) { return name.starts_with("log-") && name.ends_with(".wal"); }
inline bool is_v1_log(std::string_view name) { return name.starts_with("wal-") && name.ends_with(".log"); }

inline bool get_bytes(std::string_view& in, std::size_t n, std::string_view& out) {
  if (in.size() < n) return false;
  out = in.substr(0, n);
  in.remove_prefix(n);
  return true;
}

inline std::string key_of(std::string_view twin, std::string_view name) {
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
inline void put_define(std::string& rec, const series& se) {
  detail::put_varint(rec, (static_cast<std::uint64_t>(se.index) << 1) | 1);
  detail::put_raw(rec, static_cast<std::uint8_t>(se.points.type));
  detail::put_varint(rec, se.twin.size());
  rec.append(se.twin);
  detail::put_varint(rec, se.name.size());
  rec.append(se.name);
}

inline void put_point(std::string& rec, std::uint32_t index, std::int64_t& prev_t, const sample& s) {
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
inline void seal_record(std::string& rec) {
  auto len = static_cast<std::uint32_t>(rec.size() - k_record_header);
  std::uint64_t hash = XXH3_64bits(rec.data() + k_record_header, len);
  std::memcpy(rec.data(), &len, 4);
  std::memcpy(rec.data() + 4, &hash, 8);
}

// Places one point in time order; an equal time replaces the value held.
inline void insert(column_batch& c, const sample& s) {
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
inline void slice(const column_batch& c, std::size_t at, std::size_t end, column_batch& out) {
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

  status sql(const char* text);

  status open_store();

  // Seals heads into chunks, durably: every head when `everything`, else those with at least
  // seal_points points. The points of the heads left unsealed are rewritten into the carry log,
  // then the writers' logs are emptied. Appends wait while it runs.
  status checkpoint(bool everything);

  // Writes the points of `carried` as the new carry log (tmp file, fdatasync, rename, directory
  // fsync); `bytes` is its size.
  status write_carry(const std::vector<series*>& carried, std::uint64_t& bytes);

  // The writers' logs have grown by checkpoint_bytes since the last checkpoint.
  bool due() const { return log_bytes.load() >= carry_bytes.load() + o.checkpoint_bytes; }

  void run_sealer();

  // The series of a sample appended by writer `w` (see scratch::twin_series).
  series* writer_series(scratch& w, const sample& s);

  // The series of (twin, name), created with `type` when new. `key` is scratch space.
  series* find_or_add(std::string_view twin, std::string_view name, value_type type, std::string& key);

  void apply(series* se, const sample& s);

  const series* find(std::string_view twin, std::string_view name) const;

  static status no_history(std::string_view twin, std::string_view name);

  // The chunks of `se` overlapping [from, to) and its head's points there.
  static void take(const series& se, std::int64_t from, std::int64_t to, snapshot& out);

  // The stored bytes of chunk `rowid` (column "data" of `table`, keyed as `where`), passed to
  // `use`; found = false when it is gone (retention dropped it after the query listed it).
  // Takes db_mu.
  // Statements are prepared once (a cross-twin aggregate loads thousands of rows) and kept in
  // `cached` (guarded by db_mu).
  template <class F>
  status load(const char* select, sqlite3_stmt*& cached, std::int64_t rowid, std::int64_t step, bool& found,
              F&& use) const;

  status load_chunk(std::int64_t rowid, column_batch& out, bool& found) const;

  status load_rollup(std::int64_t rowid, std::int64_t step, std::vector<bucket>& out, bool& found) const;

  // Drops what retention says is expired; see history::drop_expired.
  result<std::uint64_t> drop_expired(std::int64_t now);

  // Where a record at `at` of `data` would end by its length field: 0 when the length is not
  // plausible (0: writers never frame an empty payload, which also passes over zeroed stretches
  // at once; or above k_max_record), data.size() + 1 when it runs past the end (a torn end).
  static std::size_t record_end(std::string_view data, std::size_t at);

  // The length of the valid record at `at` of `data`, or 0 when there is none: its length is
  // plausible, it fits in the file, and its payload's XXH3 matches.
  static std::size_t record_at(std::string_view data, std::size_t at);

  // While looking for the next record after a damaged one: whether a record may start at `at`.
  // Before its payload is hashed (costly when a random length field says tens of MB), the
  // lengths of it and of the few records after it must chain up plausibly or reach the end.
  // A length damaged within those few records makes this one fail too; the stretch skipped is
  // then longer, and reported as such.
  static std::size_t resync_at(std::string_view data, std::size_t at);

  void skip(const std::filesystem::path& file, std::size_t offset, std::size_t bytes, std::string reason);

  // Replays one log. Records are checked one by one: a damaged one amid good ones is skipped
  // (reported in `report`), replay going on at the next offset where a valid record starts; a
  // damaged stretch that no valid record follows is a torn end (a crash in mid-write) and is cut
  // off. The next record boundary after a damaged length is unknown, hence the search byte by
  // byte; it hashes only where a length fits, so a zeroed or garbage stretch passes quickly.
  status replay(const std::filesystem::path& file);

  // One record of format 2: definitions and points (see the header).
  bool replay_record(std::string_view p);

  // One record of the first format (twin and name spelled out in every entry).
  bool replay_record_v1(std::string_view p);
};

}  // namespace doppel::ts
