// Telemetry history: durable appends, replay at open, torn log ends, order and duplicates.
#include "store/timeseries/history.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <thread>

#include <xxhash.h>

#include "common/temp_dir.h"

namespace doppel::ts {
namespace {

sample f64(std::string_view twin, std::string_view name, std::int64_t t, double v) {
  sample s;
  s.twin = twin;
  s.name = name;
  s.type = value_type::f64;
  s.time_ns = t;
  s.f = v;
  return s;
}

TEST(History, AppendsReadBackInTimeOrderWithDuplicatesKeptOnce) {
  testing::temp_dir dir{"doppel-history-test"};
  history_options crash_on_close{dir.path(), 2};
  crash_on_close.seal_on_close = false;  // each reset() below is a crash: only the logs remain
  auto h = history::open(crash_on_close);
  ASSERT_TRUE(h) << h.error().to_string();
  ASSERT_TRUE((*h)->append(0, {f64("p1", "speed", 30, 3), f64("p1", "speed", 10, 1), f64("p1", "speed", 20, 2)}));
  ASSERT_TRUE((*h)->append(1, {f64("p1", "speed", 20, 2.5), f64("p2", "speed", 5, 9)}));  // same time: replaces
  sample mode;
  mode.twin = "p1";
  mode.name = "mode";
  mode.type = value_type::string;
  mode.time_ns = 7;
  mode.s = "auto, \"fast\"";
  ASSERT_TRUE((*h)->append(0, {mode}));
  auto r = (*h)->read("p1", "speed", 0, 100, 10);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->t, (std::vector<std::int64_t>{10, 20, 30}));
  EXPECT_EQ(r->f, (std::vector<double>{1, 2.5, 3}));
  bool truncated = false;
  r = (*h)->read("p1", "speed", 15, 100, 1, &truncated);
  EXPECT_EQ(r->t, std::vector<std::int64_t>{20});
  EXPECT_TRUE(truncated);
  EXPECT_EQ((*h)->series_of("p1"), (std::vector<std::string>{"mode", "speed"}));
  EXPECT_FALSE((*h)->read("p1", "nope", 0, 100, 10));
  // A value of another type than the series' is refused, and nothing of that append is kept.
  sample wrong = f64("p1", "mode", 8, 1);
  auto st = (*h)->append(0, {f64("p1", "speed", 40, 4), wrong});
  EXPECT_EQ(st.code(), status_code::invalid_argument);
  EXPECT_EQ((*h)->read("p1", "speed", 0, 100, 10)->t.size(), 3u);

  // Reopened (as after a crash: nothing but the logs), everything is back.
  h->reset();
  crash_on_close.writers = 1;  // fewer writers than before: every log is still read
  h = history::open(crash_on_close);
  ASSERT_TRUE(h);
  EXPECT_EQ((*h)->stats().replayed, 6u);
  EXPECT_EQ((*h)->stats().points, 5u);
  r = (*h)->read("p1", "speed", 0, 100, 10);
  EXPECT_EQ(r->f, (std::vector<double>{1, 2.5, 3}));
  EXPECT_EQ((*h)->read("p1", "mode", 0, 100, 10)->s, std::vector<std::string>{"auto, \"fast\""});
  EXPECT_EQ((*h)->read("p2", "speed", 0, 100, 10)->f, std::vector<double>{9});
}

TEST(History, AnAppendThatLeavesOutMismatchedPointsKeepsTheRestAcrossAReopen) {
  testing::temp_dir dir{"doppel-history-test"};
  history_options crash_on_close{dir.path(), 1};
  crash_on_close.seal_on_close = false;
  auto h = history::open(crash_on_close);
  ASSERT_TRUE(h);
  sample mode;
  mode.twin = "p1";
  mode.name = "mode";
  mode.type = value_type::string;
  mode.time_ns = 1;
  mode.s = "auto";
  ASSERT_TRUE((*h)->append(0, {mode}));
  // "mode" holds strings; a new series ("level") takes its first sample's type, so its second,
  // of another type, is left out too.
  sample level_text = mode;
  level_text.name = "level";
  level_text.time_ns = 3;
  std::vector<sample> batch{f64("p1", "speed", 1, 1), f64("p1", "mode", 2, 2), f64("p1", "level", 2, 7), level_text,
                            f64("p1", "speed", 4, 4)};
  std::vector<std::pair<std::size_t, value_type>> mismatched;
  ASSERT_TRUE((*h)->append(0, batch, mismatched));
  EXPECT_EQ(mismatched,
            (std::vector<std::pair<std::size_t, value_type>>{{1, value_type::string}, {3, value_type::f64}}));
  // Only mismatches: nothing is written, and that is no error.
  mismatched.clear();
  ASSERT_TRUE((*h)->append(0, std::vector<sample>{f64("p1", "mode", 9, 9)}, mismatched));
  EXPECT_EQ(mismatched.size(), 1u);
  h->reset();  // a crash: the log alone holds what was kept
  h = history::open(crash_on_close);
  ASSERT_TRUE(h);
  EXPECT_EQ((*h)->read("p1", "speed", 0, 100, 10)->f, (std::vector<double>{1, 4}));
  EXPECT_EQ((*h)->read("p1", "level", 0, 100, 10)->f, std::vector<double>{7});
  EXPECT_EQ((*h)->read("p1", "mode", 0, 100, 10)->s, std::vector<std::string>{"auto"});
}

TEST(History, ATornLogEndIsCutOffAndTheRestKept) {
  testing::temp_dir dir{"doppel-history-test"};
  history_options crash_on_close{dir.path(), 1};
  crash_on_close.seal_on_close = false;
  {
    auto h = history::open(crash_on_close);
    ASSERT_TRUE(h);
    ASSERT_TRUE((*h)->append(0, {f64("p", "x", 1, 1)}));
    ASSERT_TRUE((*h)->append(0, {f64("p", "x", 2, 2)}));
  }
  auto log = dir.path() / "log-0.wal";
  auto size = std::filesystem::file_size(log);
  // A crash in mid-write: the second record lost its last bytes; then garbage after a record.
  std::filesystem::resize_file(log, size - 3);
  {
    auto h = history::open(crash_on_close);
    ASSERT_TRUE(h);
    EXPECT_EQ((*h)->read("p", "x", 0, 10, 10)->t, std::vector<std::int64_t>{1});
    EXPECT_GT((*h)->stats().torn_bytes, 0u);
    EXPECT_TRUE((*h)->recovery().clean());                // a torn end is not damage: it was never acknowledged
    ASSERT_TRUE((*h)->append(0, {f64("p", "x", 3, 3)}));  // appends after the cut
  }
  { std::ofstream(log, std::ios::app) << "garbage!garbage!garbage!"; }
  auto h = history::open(crash_on_close);
  ASSERT_TRUE(h);
  EXPECT_EQ((*h)->read("p", "x", 0, 10, 10)->t, (std::vector<std::int64_t>{1, 3}));
  EXPECT_EQ((*h)->recovery().torn_bytes, 24u);
  EXPECT_TRUE((*h)->recovery().clean());
}

// The offsets of a log's records (u32 payload length, u64 hash, payload), the file's size last.
std::vector<std::uint64_t> record_offsets(const std::filesystem::path& log) {
  std::ifstream in(log, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::uint64_t> at{0};
  while (at.back() + 12 <= data.size()) {
    std::uint32_t len = 0;
    std::memcpy(&len, data.data() + at.back(), 4);
    at.push_back(at.back() + 12 + len);
  }
  return at;
}

// Overwrites `bytes` at `offset` of `file`.
void overwrite(const std::filesystem::path& file, std::uint64_t offset, std::string_view bytes) {
  std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Five records of one point each (t = 1..5) in log-0.wal; their offsets, the file's size last.
std::vector<std::uint64_t> five_records(const history_options& o) {
  auto h = history::open(o);
  EXPECT_TRUE(h);
  for (int t = 1; t <= 5; ++t) EXPECT_TRUE((*h)->append(0, {f64("p", "x", t, t)}));
  h->reset();
  auto at = record_offsets(o.dir / "log-0.wal");
  EXPECT_EQ(at.size(), 6u);
  return at;
}

TEST(History, ADamagedRecordAmidTheLogIsSkippedAndTheRestKept) {
  testing::temp_dir dir{"doppel-history-test"};
  history_options crash_on_close{dir.path(), 1};
  crash_on_close.seal_on_close = false;
  auto at = five_records(crash_on_close);
  auto log = dir.path() / "log-0.wal";
  overwrite(log, at[2] + 14, "\xff\xfe");  // bytes in the third record's payload
  auto h = history::open(crash_on_close);
  ASSERT_TRUE(h) << h.error().to_string();
  auto r = (*h)->read("p", "x", 0, 10, 10);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->t, (std::vector<std::int64_t>{1, 2, 4, 5}));  // the records after it are kept
  const recovery_report& rep = (*h)->recovery();
  EXPECT_FALSE(rep.clean());
  EXPECT_EQ(rep.skipped_ranges, 1u);
  EXPECT_EQ(rep.skipped_bytes, at[3] - at[2]);
  ASSERT_EQ(rep.skipped.size(), 1u);
  EXPECT_EQ(rep.skipped[0].file, log);
  EXPECT_EQ(rep.skipped[0].offset, at[2]);
  EXPECT_EQ(rep.skipped[0].bytes, at[3] - at[2]);
  EXPECT_EQ(rep.torn_bytes, 0u);
  EXPECT_EQ(rep.replayed, 4u);
  EXPECT_EQ((*h)->stats().skipped_bytes, at[3] - at[2]);
  ASSERT_EQ(rep.describe().size(), 1u);
  EXPECT_NE(rep.describe()[0].find("at offset " + std::to_string(at[2]) + " of " + log.string()), std::string::npos)
      << rep.describe()[0];
  // The damaged log is left as it is (appends go on after it) and reported again at each open
  // until a checkpoint empties it.
  ASSERT_TRUE((*h)->append(0, {f64("p", "x", 6, 6)}));
  h->reset();
  h = history::open(crash_on_close);
  ASSERT_TRUE(h);
  EXPECT_EQ((*h)->read("p", "x", 0, 10, 10)->t, (std::vector<std::int64_t>{1, 2, 4, 5, 6}));
  EXPECT_EQ((*h)->recovery().skipped_ranges, 1u);
}

TEST(History, ADamagedLengthFieldIsSkippedUpToTheNextValidRecord) {
  for (std::uint32_t bad_len : {3u, 1000u, 0xfffffff0u, 0u}) {
    testing::temp_dir dir{"doppel-history-test"};
    history_options crash_on_close{dir.path(), 1};
    crash_on_close.seal_on_close = false;
    auto at = five_records(crash_on_close);
    auto log = dir.path() / "log-0.wal";
    overwrite(log, at[1], std::string_view(reinterpret_cast<const char*>(&bad_len), 4));  // the second record's
    auto h = history::open(crash_on_close);
    ASSERT_TRUE(h) << h.error().to_string();
    EXPECT_EQ((*h)->read("p", "x", 0, 10, 10)->t, (std::vector<std::int64_t>{1, 3, 4, 5})) << bad_len;
    const recovery_report& rep = (*h)->recovery();
    EXPECT_EQ(rep.skipped_ranges, 1u) << bad_len;
    ASSERT_EQ(rep.skipped.size(), 1u);
    EXPECT_EQ(rep.skipped[0].offset, at[1]);
    EXPECT_EQ(rep.skipped[0].bytes, at[2] - at[1]);
    EXPECT_EQ(rep.torn_bytes, 0u);
  }
}

TEST(History, PointsOfASeriesDefinedInADamagedRecordAreReportedLost) {
  testing::temp_dir dir{"doppel-history-test"};
  history_options crash_on_close{dir.path(), 1};
  crash_on_close.seal_on_close = false;
  {
    auto h = history::open(crash_on_close);
    ASSERT_TRUE(h);
    ASSERT_TRUE((*h)->append(0, {f64("p", "x", 1, 1)}));
    ASSERT_TRUE((*h)->append(0, {f64("q", "x", 1, 1)}));  // defines "q"
    ASSERT_TRUE((*h)->append(0, {f64("q", "x", 2, 2), f64("p", "x", 2, 2)}));
    ASSERT_TRUE((*h)->append(0, {f64("p", "x", 3, 3)}));
  }
  auto at = record_offsets(dir.path() / "log-0.wal");
  overwrite(dir.path() / "log-0.wal", at[1] + 13, "\xff");  // "q"'s definition
  auto h = history::open(crash_on_close);
  ASSERT_TRUE(h);
  // The third record's points after q's are lost with it; every other record is kept.
  EXPECT_EQ((*h)->read("p", "x", 0, 10, 10)->t, (std::vector<std::int64_t>{1, 3}));
  const recovery_report& rep = (*h)->recovery();
  EXPECT_EQ(rep.skipped_ranges, 2u);
  ASSERT_EQ(rep.skipped.size(), 2u);
  EXPECT_EQ(rep.skipped[0].offset, at[1]);
  EXPECT_EQ(rep.skipped[1].offset, at[2]);
  EXPECT_NE(rep.skipped[1].reason.find("undecodable"), std::string::npos);
}

TEST(History, ALostDefinitionCostsAtMostTheNext4MiBOfItsSeries) {
  testing::temp_dir dir{"doppel-history-test"};
  history_options o{dir.path(), 1};
  o.seal_on_close = false;
  o.sync = false;  // what is tested is the log's content, not its durability
  o.checkpoint_bytes = 1ull << 40;
  constexpr int appends = 800, per_append = 1000;  // ~10 bytes a point: ~8 MB of log
  {
    auto h = history::open(o);
    ASSERT_TRUE(h);
    std::vector<sample> batch(per_append);
    for (int a = 0; a < appends; ++a) {
      for (int k = 0; k < per_append; ++k) batch[k] = f64("p", "x", a * per_append + k, 1450.5 + k % 7);
      ASSERT_TRUE((*h)->append(0, batch));
    }
  }
  auto log = dir.path() / "log-0.wal";
  ASSERT_GT(std::filesystem::file_size(log), 6u << 20);
  overwrite(log, 13, "\xff");  // inside the first record's definition of p/x
  auto h = history::open(o);
  ASSERT_TRUE(h);
  auto r = (*h)->read("p", "x", 0, INT64_MAX, appends * per_append);
  ASSERT_TRUE(r);
  // The records up to the first past 4 MiB cannot be decoded (p/x's id is unknown there) and are
  // reported; from that one on, p/x is defined again and its points are back.
  EXPECT_GT(r->size(), static_cast<std::size_t>(per_append) * appends / 3);
  EXPECT_LT(r->size(), static_cast<std::size_t>(per_append) * appends);
  EXPECT_EQ(r->t.back(), appends * per_append - 1);
  const recovery_report& rep = (*h)->recovery();
  EXPECT_EQ(rep.skipped_ranges * per_append + r->size(), static_cast<std::size_t>(per_append) * appends);
  EXPECT_EQ(rep.skipped.size(), recovery_report::k_max_listed);
  auto lines = rep.describe();
  ASSERT_EQ(lines.size(), recovery_report::k_max_listed + 1);
  EXPECT_NE(lines.back().find("more damaged range(s)"), std::string::npos) << lines.back();
}

TEST(History, CheckpointsSealHeadsIntoChunksAndQueriesMergeThem) {
  testing::temp_dir dir{"doppel-history-test"};
  constexpr std::int64_t s1 = 1000000000;  // 1 s in ns
  history_options o{dir.path(), 1};
  {
    auto h = history::open(o);
    ASSERT_TRUE(h);
    std::vector<sample> batch;
    for (int k = 0; k < 3600; ++k) batch.push_back(f64("pump-1", "speed", k * s1, 1450 + (k % 7) * 0.5));
    ASSERT_TRUE((*h)->append(0, batch));
    ASSERT_TRUE((*h)->checkpoint());
    auto st = (*h)->stats();
    EXPECT_EQ(st.points, 0u);  // the head is empty, the log too
    EXPECT_EQ(st.log_bytes, 0u);
    EXPECT_EQ(st.sealed_points, 3600u);
    EXPECT_EQ(st.chunks, 1u);
    EXPECT_LT(static_cast<double>(st.chunk_bytes) / 3600, 1.0) << st.chunk_bytes;  // compressed
    EXPECT_EQ(std::filesystem::file_size(dir.path() / "log-0.wal"), 0u);
    // A late point inside the sealed range, and one replacing a sealed value, go to the head;
    // a query merges both sources, the newer value winning.
    ASSERT_TRUE((*h)->append(0, {f64("pump-1", "speed", 10 * s1 + 1, 7), f64("pump-1", "speed", 20 * s1, 9)}));
    auto r = (*h)->read("pump-1", "speed", 10 * s1, 21 * s1, 100);
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_EQ(r->size(), 12u);
    EXPECT_EQ(r->t[1], 10 * s1 + 1);
    EXPECT_EQ(r->f[1], 7);
    EXPECT_EQ(r->f[11], 9);
    bool truncated = false;
    r = (*h)->read("pump-1", "speed", 0, 3600 * s1, 3000, &truncated);
    EXPECT_EQ(r->size(), 3000u);
    EXPECT_TRUE(truncated);
  }  // a clean stop seals the head too
  auto h = history::open(o);
  ASSERT_TRUE(h);
  EXPECT_EQ((*h)->stats().replayed, 0u);
  EXPECT_EQ((*h)->stats().chunks, 2u);
  auto r = (*h)->read("pump-1", "speed", 0, 3600 * s1, 10000);
  ASSERT_EQ(r->size(), 3601u);
  EXPECT_EQ(r->f[20 * 1 + 1], 9);  // time 20 s is the 22nd point (10 s + 1 ns came in between)
}

// A crash after the chunks are committed but before the logs are emptied: the restart replays
// points that are also sealed, and every query still sees each time once.
TEST(History, ReplayedPointsThatAreAlsoSealedAreSeenOnce) {
  testing::temp_dir dir{"doppel-history-test"};
  history_options o{dir.path(), 1};
  o.seal_on_close = false;
  auto log = dir.path() / "log-0.wal";
  auto saved = dir.path() / "log-0.saved";
  {
    auto h = history::open(o);
    ASSERT_TRUE(h);
    ASSERT_TRUE((*h)->append(0, {f64("p", "x", 1, 1), f64("p", "x", 2, 2)}));
    std::filesystem::copy_file(log, saved);
    ASSERT_TRUE((*h)->checkpoint());
  }
  std::filesystem::copy_file(saved, log, std::filesystem::copy_options::overwrite_existing);
  auto h = history::open(o);
  ASSERT_TRUE(h);
  EXPECT_EQ((*h)->stats().replayed, 2u);
  auto r = (*h)->read("p", "x", 0, 10, 10);
  EXPECT_EQ(r->t, (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(r->f, (std::vector<double>{1, 2}));
  // The next checkpoint seals them again; still once each.
  ASSERT_TRUE((*h)->checkpoint());
  EXPECT_EQ((*h)->read("p", "x", 0, 10, 10)->t, (std::vector<std::int64_t>{1, 2}));
}

// A periodic checkpoint seals only heads with enough points; the others move to the carry log,
// which a crash replays like any log.
TEST(History, SmallHeadsAreCarriedOverNotSealed) {
  testing::temp_dir dir{"doppel-history-test"};
  history_options o{dir.path(), 1};
  o.seal_points = 10;
  o.seal_on_close = false;
  {
    auto h = history::open(o);
    ASSERT_TRUE(h);
    std::vector<sample> batch;
    for (int k = 0; k < 5; ++k) batch.push_back(f64("small", "x", k, k));
    for (int k = 0; k < 20; ++k) batch.push_back(f64("big", "x", k, k));
    ASSERT_TRUE((*h)->append(0, batch));
    ASSERT_TRUE((*h)->checkpoint(false));
    EXPECT_EQ((*h)->stats().sealed_points, 20u);
    EXPECT_EQ((*h)->stats().points, 5u);  // still in the head
    EXPECT_EQ(std::filesystem::file_size(dir.path() / "log-0.wal"), 0u);
    EXPECT_GT(std::filesystem::file_size(dir.path() / "carry.wal"), 0u);
    ASSERT_TRUE((*h)->append(0, {f64("small", "x", 5, 5)}));
    ASSERT_TRUE((*h)->checkpoint(false));  // the carry log is rewritten with all six
    EXPECT_EQ((*h)->stats().points, 6u);
  }  // crash
  auto h = history::open(o);
  ASSERT_TRUE(h);
  EXPECT_EQ((*h)->stats().replayed, 6u);
  EXPECT_EQ((*h)->read("small", "x", 0, 100, 100)->size(), 6u);
  EXPECT_EQ((*h)->read("big", "x", 0, 100, 100)->size(), 20u);
}

// Aggregates over sealed chunks come from their tiers, and equal what the raw points give: over
// ranges that cut chunks, with a bucket split between two chunks, and with the head.
TEST(History, AggregatesFromTiersEqualAggregatesOfRawPoints) {
  testing::temp_dir dir{"doppel-history-test"};
  constexpr std::int64_t s1 = 1000000000;
  auto h = history::open({dir.path(), 1});
  ASSERT_TRUE(h);
  auto value = [](int k) { return std::round((20 + std::sin(k / 300.0) * 5 + (k % 13) * 0.07) * 100) / 100; };
  // Three checkpoints: chunks end at 2h 0m 30s and 4h 10m 30s (mid-minute), then a head.
  int k = 0;
  for (int end : {7230, 15030, 18000}) {
    std::vector<sample> batch;
    for (; k < end; ++k) batch.push_back(f64("pump-1", "pressure", k * s1, value(k)));
    ASSERT_TRUE((*h)->append(0, batch));
    if (end != 18000) {
      ASSERT_TRUE((*h)->checkpoint());
    }
  }
  EXPECT_GT((*h)->stats().tier_bytes, 0u);

  struct ask {
    std::int64_t from, to, step;
  };
  for (ask a : {ask{0, 18000 * s1, 3600 * s1}, ask{0, 18000 * s1, 60 * s1}, ask{17 * s1, 16000 * s1, 300 * s1},
                ask{INT64_MIN, INT64_MAX, 7200 * s1}, ask{3600 * s1, 7200 * s1, 60 * s1}}) {
    SCOPED_TRACE(a.from);
    SCOPED_TRACE(a.step);
    auto before = (*h)->stats();
    auto tier = (*h)->aggregate("pump-1", "pressure", a.from, a.to, a.step, 100);
    ASSERT_TRUE(tier) << tier.error().to_string();
    if (a.from != 3600 * s1) {  // (that one lies inside the first chunk, which is decoded)
      EXPECT_GT((*h)->stats().rollups_read, before.rollups_read);  // read from the tiers
    }
    auto raw = aggregate(*(*h)->read("pump-1", "pressure", a.from, a.to, 1000000), a.step);
    ASSERT_EQ(tier->size(), raw->size());
    for (std::size_t b = 0; b < raw->size(); ++b) {
      EXPECT_EQ((*tier)[b].start, (*raw)[b].start);
      EXPECT_EQ((*tier)[b].count, (*raw)[b].count);
      EXPECT_EQ((*tier)[b].first, (*raw)[b].first);
      EXPECT_EQ((*tier)[b].last, (*raw)[b].last);
      EXPECT_EQ((*tier)[b].min, (*raw)[b].min);
      EXPECT_EQ((*tier)[b].max, (*raw)[b].max);
      EXPECT_NEAR((*tier)[b].mean, (*raw)[b].mean, 1e-9);
      EXPECT_NEAR((*tier)[b].value(aggregate_fn::stddev), (*raw)[b].value(aggregate_fn::stddev), 1e-9);
    }
  }
  // A step finer than a minute reads raw points, and says so past max_raw.
  EXPECT_TRUE((*h)->aggregate("pump-1", "pressure", 0, 18000 * s1, 30 * s1, 100000));
  auto refused = (*h)->aggregate("pump-1", "pressure", 0, 18000 * s1, 30 * s1, 100);
  EXPECT_EQ(refused.error().code(), status_code::invalid_argument);
  // A late point that replaces a sealed value: the overlap is merged point by point.
  ASSERT_TRUE((*h)->append(0, {f64("pump-1", "pressure", 100 * s1, 1000)}));
  auto late = (*h)->aggregate("pump-1", "pressure", 0, 3600 * s1, 3600 * s1, 100000);
  ASSERT_TRUE(late);
  EXPECT_EQ((*late)[0].count, 3600u);
  EXPECT_EQ((*late)[0].max, 1000);
  EXPECT_EQ((*h)->newest("pump-1", "pressure"), 17999 * s1);
  EXPECT_FALSE((*h)->newest("pump-1", "nope"));
  // What an open history counts is what the chunk store holds.
  ASSERT_TRUE((*h)->checkpoint());
  auto sealed = (*h)->stats();
  h->reset();
  h = history::open({dir.path(), 1});
  ASSERT_TRUE(h);
  EXPECT_EQ((*h)->stats().chunk_bytes, sealed.chunk_bytes);
  EXPECT_EQ((*h)->stats().tier_bytes, sealed.tier_bytes);
}

TEST(History, RetentionDropsOldChunksAndHeadPoints) {
  testing::temp_dir dir{"doppel-history-test"};
  constexpr std::int64_t s1 = 1000000000;
  history_options o{dir.path(), 1};
  o.retention = [](std::string_view twin) -> std::int64_t { return twin == "short" ? 3600 * s1 : 0; };
  o.retention_interval = std::chrono::hours(1);  // the test drives it
  o.seal_on_close = false;                       // reset() is a crash
  auto h = history::open(o);
  ASSERT_TRUE(h);
  for (int part = 0; part < 3; ++part) {  // two chunks of 2,000 s each, then a head of 2,000 s
    for (const char* twin : {"short", "long"}) {
      std::vector<sample> batch;
      for (int k = part * 2000; k < part * 2000 + 2000; ++k) batch.push_back(f64(twin, "v", k * s1, k));
      ASSERT_TRUE((*h)->append(0, batch));
    }
    if (part < 2) {
      ASSERT_TRUE((*h)->checkpoint());
    }
  }
  // Now = 7,000 s: "short" keeps one hour, from 3,400 s; the first chunk (0-1,999 s) goes, the
  // second (2,000-3,999 s) stays whole, and so does the head (4,000-5,999 s).
  auto dropped = (*h)->drop_expired(7000 * s1);
  ASSERT_TRUE(dropped);
  EXPECT_EQ(*dropped, 1u);
  EXPECT_EQ((*h)->read("short", "v", 0, 10000 * s1, 100000)->t.front(), 2000 * s1);
  EXPECT_EQ((*h)->read("long", "v", 0, 10000 * s1, 100000)->size(), 6000u);
  // Now = 9,500 s: the second chunk and the head points before 5,900 s go.
  EXPECT_EQ(*(*h)->drop_expired(9500 * s1), 1u);
  auto left = (*h)->read("short", "v", 0, 10000 * s1, 100000);
  EXPECT_EQ(left->size(), 100u);
  EXPECT_EQ(left->t.front(), 5900 * s1);
  EXPECT_EQ((*h)->stats().expired_chunks, 2u);
  // Chunks are dropped for good; head points trimmed in memory are still in the log, so a crash
  // brings them back until the next pass.
  h->reset();
  h = history::open(o);
  ASSERT_TRUE(h);
  EXPECT_EQ((*h)->read("short", "v", 0, 4000 * s1, 100000)->size(), 0u);
  EXPECT_EQ((*h)->read("short", "v", 0, 10000 * s1, 100000)->size(), 2000u);
  EXPECT_EQ(*(*h)->drop_expired(9500 * s1), 0u);
  EXPECT_EQ((*h)->read("short", "v", 0, 10000 * s1, 100000)->size(), 100u);
}

// Retention runs on the clock it is given: its interval on the monotonic reading, expiry against
// now(). The manual clock says 7,000 s after 1970 while the system's says 2026, which would
// expire every point; nothing runs until the clock has moved by an interval.
TEST(History, RetentionRunsOnTheGivenClock) {
  testing::temp_dir dir{"doppel-history-test"};
  constexpr std::int64_t s1 = 1000000000;
  auto clock = std::make_shared<manual_clock>(6999 * s1);
  history_options o{dir.path(), 1};
  o.retention = [](std::string_view) -> std::int64_t { return 3600 * s1; };
  o.retention_interval = std::chrono::hours(1);
  o.clock = clock;
  auto h = history::open(o);
  ASSERT_TRUE(h);
  for (int part = 0; part < 3; ++part) {  // chunks of 0-1,999 s and 2,000-3,999 s, a head of 4,000-5,999 s
    std::vector<sample> batch;
    for (int k = part * 2000; k < part * 2000 + 2000; ++k) batch.push_back(f64("pump-1", "v", k * s1, k));
    ASSERT_TRUE((*h)->append(0, batch));
    if (part < 2) {
      ASSERT_TRUE((*h)->checkpoint());
    }
  }
  clock->advance(3599 * s1);  // 10,598 s: due at 3,600 s on the monotonic reading
  clock->set(7000 * s1);      // a jump of the wall clock does not make the pass due
  EXPECT_EQ((*h)->stats().expired_chunks, 0u);
  clock->advance(s1);  // the interval is over: the pass expires against now() = 7,001 s
  for (int k = 0; k < 10000 && (*h)->stats().expired_chunks == 0; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the background thread's pass
  }
  EXPECT_EQ((*h)->stats().expired_chunks, 1u);
  EXPECT_EQ((*h)->read("pump-1", "v", 0, 10000 * s1, 100000)->t.front(), 2000 * s1);
}

// A data folder of the first log format (twin and name spelled out in every entry): replayed,
// then sealed away at open.
TEST(History, LogsOfTheFirstFormatAreReplayedAndSealed) {
  testing::temp_dir dir{"doppel-history-test"};
  std::filesystem::create_directories(dir.path());
  std::string payload;
  auto put = [&](const void* p, std::size_t n) { payload.append(static_cast<const char*>(p), n); };
  for (int k = 0; k < 3; ++k) {
    std::uint16_t tl = 6, nl = 5;
    std::uint8_t type = 0;
    std::int64_t t = 1000 + k;
    double v = 1.5 * k;
    put(&tl, 2);
    put("pump-1", 6);
    put(&nl, 2);
    put("speed", 5);
    put(&type, 1);
    put(&t, 8);
    put(&v, 8);
  }
  auto len = static_cast<std::uint32_t>(payload.size());
  std::uint64_t hash = XXH3_64bits(payload.data(), payload.size());
  {
    std::ofstream out(dir.path() / "wal-0.log", std::ios::binary);
    out.write(reinterpret_cast<const char*>(&len), 4);
    out.write(reinterpret_cast<const char*>(&hash), 8);
    out << payload;
  }
  auto h = history::open({dir.path(), 1});
  ASSERT_TRUE(h) << h.error().to_string();
  EXPECT_EQ((*h)->stats().replayed, 3u);
  EXPECT_EQ((*h)->stats().sealed_points, 3u);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "wal-0.log"));
  auto r = (*h)->read("pump-1", "speed", 0, 2000, 10);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->f, (std::vector<double>{0, 1.5, 3}));
}

}  // namespace
}  // namespace doppel::ts
