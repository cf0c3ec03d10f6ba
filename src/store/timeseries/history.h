// Telemetry history, first stage of the embedded time-series store: a write-ahead log per writer
// and an in-memory head per series (twin, telemetry name). An append is durable (written and
// fdatasync'd) before it returns, so whoever acknowledges after it (the MQTT connector's PUBACK, an
// HTTP 204) never acknowledges a point a crash could lose; a failed write or sync returns io_error
// and nothing of that append is kept. At open, the logs are replayed into the heads: a torn record
// at a log's end (a crash in mid-write) is cut off; a damaged record amid good ones is skipped and
// replay goes on at the next record whose checksum holds (recovery() says what was skipped).
// The logs' file I/O goes through file_io.h, so tests can inject faults.
//
// Points of a series are kept in time order; a late point is placed where it belongs, and a point
// with the time of one already held replaces it (a QoS 1 redelivery of the same message is stored
// once).
//
// Checkpoints seal the heads into compressed chunks (chunk.h, one per series and checkpoint) in a
// SQLite chunk store and empty the logs, so memory and logs stay bounded; a query merges a
// series' chunks and head. A crash between the chunks' commit and the logs' truncation replays
// points that are also in chunks: the merge keeps one point per time.
//
// Each sealed chunk of numbers or booleans carries its downsampling tiers (rollup.h: 1-minute
// and 1-hour buckets), written in the same transaction; aggregate() answers from them when the
// step allows. Retention (options.retention) drops chunks older than a twin's retention.
//
// Logs: DIR/log-N.wal per writer N, DIR/carry.wal (points a checkpoint kept). A record is u32
// payload bytes, u64 XXH3 of the payload, then the payload: entries, each opening with a varint
// h (LEB128). h odd: a series is defined as id h >> 1 for the rest of the file: u8 value type,
// varint twin bytes, twin, varint name bytes, name. h even: a point of series h >> 1: varint
// zigzag(time - the previous point's time in this record, the first's from 0; wrapping), then
// f64 (8 bytes) | zigzag varint | u8 | varint bytes + bytes for f64 | i64 | boolean | string.
// A writer defines a series before its first point in a log, again after the log is emptied or
// a write failed, and again in its first record past each 4 MiB of log (so a damaged definition
// costs at most that much of its series). Replay reads records in order; where a length or hash
// does not hold, it looks byte by byte for the next offset where a valid record starts (its
// length and the next few records' chain up, its payload's XXH3 matches) and skips what lies
// between; when none follows, the rest is a torn end and is cut off. Fixed-size integers are
// little-endian (the machine's order; the logs do not move between machines). Logs of the first
// format (wal-N.log, twin and name in every entry) are replayed and sealed away at open.
// The whole format: docs/formats/history-log.md.
//
// Callers: the telemetry pipeline (append, one writer per shard thread), the API (read), the
// server at start (recovery(), for its log and /healthz).
// Threading: append(w, ...) from one thread per writer w; read from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "store/timeseries/aggregate.h"
#include "store/timeseries/chunk.h"
#include "store/timeseries/file_io.h"

namespace doppel::ts {

// One point to append. Views: valid during the append call.
struct sample {
  std::string_view twin, name;
  value_type type = value_type::f64;
  std::int64_t time_ns = 0;
  double f = 0;        // f64
  std::int64_t i = 0;  // i64, and boolean (0 or 1)
  std::string_view s;  // string
};

struct history_options {
  std::filesystem::path dir;
  int writers = 1;
  bool sync = true;  // fdatasync each append (off only for benchmarks of the rest)
  // When the logs hold this many bytes, a checkpoint seals the heads into chunks and empties them.
  std::uint64_t checkpoint_bytes = 64 << 20;
  std::size_t seal_points = 1024;  // a head is sealed by a periodic checkpoint from this many points
  bool seal_on_close = true;       // false: close as a crash would (tests of recovery)
  // How long a twin's history is kept (ns; 0 or less: forever), asked from the background thread
  // every retention_interval of the clock's monotonic reading (the first time one interval after
  // open), expiring against the clock's now(); empty: everything is kept.
  std::function<std::int64_t(std::string_view twin)> retention{};
  std::chrono::milliseconds retention_interval{60000};
  // The clock retention runs on; empty: real_clock(). Tests pass a manual_clock.
  std::shared_ptr<doppel::clock> clock{};
  // The logs' file I/O; empty: real_files(). Tests pass one that injects faults.
  std::shared_ptr<file_io> io{};
};

// A stretch of a log that open() skipped because it did not hold a valid record.
struct skipped_range {
  std::filesystem::path file;
  std::uint64_t offset = 0, bytes = 0;  // where in the file, and how many bytes
  std::string reason;                   // "no valid record (length or checksum mismatch)", "undecodable record ..."
};

// What open() recovered from the logs, and what it had to leave out. Fixed once open() returns.
struct recovery_report {
  std::uint64_t replayed = 0;          // points replayed
  std::uint64_t torn_bytes = 0;        // cut off torn log ends (a crash in mid-write: never acknowledged)
  std::uint64_t skipped_ranges = 0;    // damaged stretches amid good records, skipped
  std::uint64_t skipped_bytes = 0;     // their bytes: the points in them are lost
  std::vector<skipped_range> skipped;  // the first k_max_listed of them, in replay order
  static constexpr std::size_t k_max_listed = 16;

  // Nothing was skipped (a torn end is not damage: its append was never acknowledged).
  bool clean() const { return skipped_ranges == 0; }
  // One line per skipped range (at most k_max_listed, then "... and N more"), for the server log:
  // "history: skipped 40 damaged bytes at offset 112 of DIR/log-0.wal (checksum mismatch)".
  std::vector<std::string> describe() const;
};

struct history_stats {
  std::size_t series = 0;
  std::uint64_t points = 0;     // held in the heads
  std::uint64_t appended = 0;   // points appended since open
  std::uint64_t syncs = 0;      // fdatasync calls
  std::uint64_t log_bytes = 0;  // bytes in the logs
  std::uint64_t replayed = 0;   // points replayed at open
  double replay_seconds = 0;
  std::uint64_t torn_bytes = 0;                                  // bytes cut off torn log ends at open
  std::uint64_t skipped_ranges = 0, skipped_bytes = 0;           // damaged log stretches skipped at open
  std::uint64_t chunks = 0, chunk_bytes = 0, sealed_points = 0;  // in the chunk store
  std::uint64_t tier_bytes = 0;                                  // rollups of the downsampling tiers
  std::uint64_t checkpoints = 0;                                 // since open
  std::uint64_t chunks_decoded = 0, rollups_read = 0;            // by queries since open
  std::uint64_t expired_chunks = 0;                              // dropped by retention since open
};

class history {
 public:
  // Replays the logs in options.dir (created when missing) into the heads and opens one log per
  // writer. A damaged record amid a log is skipped, not fatal (recovery() says where); io_error
  // when a log or the chunk store cannot be read or written.
  static result<std::unique_ptr<history>> open(history_options options);
  ~history();

  // Appends durably, then makes the points readable. A point whose type differs from its
  // series' is refused (invalid_argument) before anything is written. io_error when the log
  // cannot be written or synced (a full disk, a failing device): the record is cut off again, the
  // points are not kept, and a later append may succeed (e.g. once there is space).
  status append(int writer, const std::vector<sample>& samples);

  // As append(), but a point whose series holds another type is left out instead of failing the
  // whole append: its index in `samples` and the type its series holds go to `mismatched`, in
  // order (the rest is appended). A series that does not exist yet takes its first sample's type,
  // so two samples of one new series with different types are caught too. For a writer (the
  // telemetry pipeline's shard) that must not let one changed schema fail a whole batch; one
  // series lookup per sample, as append().
  status append(int writer, std::span<const sample> samples,
                std::vector<std::pair<std::size_t, value_type>>& mismatched);

  // Points of a series with from <= t < to (to = INT64_MAX: no end, the point at INT64_MAX
  // included), oldest first, at most `limit` (`truncated` says whether more were left).
  // not_found when the series has no points at all.
  result<column_batch> read(std::string_view twin, std::string_view name, std::int64_t from, std::int64_t to,
                            std::size_t limit, bool* truncated = nullptr) const;

  // Buckets of `step_ns` (aligned to the epoch, aggregate.h) over the points with from <= t < to
  // (to = INT64_MAX as for read()).
  // Read from the downsampling tiers where the step is a multiple of a tier's and no late point
  // overlaps sealed ones; else from the raw points, at most `max_raw` of them (invalid_argument
  // beyond, saying how to narrow the query). not_found as read(); invalid_argument for strings.
  // With `percentiles`, always from the raw points, and the buckets' p50-p99 are set too.
  result<std::vector<bucket>> aggregate(std::string_view twin, std::string_view name, std::int64_t from,
                                        std::int64_t to, std::int64_t step_ns, std::size_t max_raw,
                                        bool percentiles = false) const;

  // The time of the series' newest point; nullopt when it has none.
  std::optional<std::int64_t> newest(std::string_view twin, std::string_view name) const;

  // Drops the chunks (and their tiers) whose newest point is older than now_ns minus the twin's
  // retention, and the head points older than that; the number of chunks dropped. Runs by itself
  // every retention_interval when options.retention is set.
  result<std::uint64_t> drop_expired(std::int64_t now_ns);

  // Names of the series a twin has, sorted.
  std::vector<std::string> series_of(std::string_view twin) const;

  history_stats stats() const;

  // What open() replayed and skipped (for /healthz and the server's log).
  const recovery_report& recovery() const;

  // Seals heads into compressed chunks (chunk.h) in the chunk store (DIR/chunks.db, SQLite),
  // durably: every head when `everything`, else those holding at least `seal_points` points (a
  // chunk of a few points compresses badly); the others' points are rewritten into the carry log
  // (wal-carry.log). Then the writers' logs are emptied. Runs by itself each time the logs grow
  // by `checkpoint_bytes`, and (everything) at a clean stop; appends wait while it runs.
  status checkpoint(bool everything = true);

 private:
  struct impl;
  explicit history(std::unique_ptr<impl> i);
  // Both append()s; `mismatched` null: a point of another type refuses the whole append.
  status append_impl(int writer, std::span<const sample> samples,
                     std::vector<std::pair<std::size_t, value_type>>* mismatched);
  std::unique_ptr<impl> impl_;
};

}  // namespace doppel::ts
