// Telemetry history: durable appends, replay at open, torn log ends, order and duplicates.
#include "store/timeseries/history.h"

#include <gtest/gtest.h>

#include <fstream>

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
  auto log = dir.path() / "wal-0.log";
  auto size = std::filesystem::file_size(log);
  // A crash in mid-write: the second record lost its last bytes; then garbage after a record.
  std::filesystem::resize_file(log, size - 3);
  {
    auto h = history::open(crash_on_close);
    ASSERT_TRUE(h);
    EXPECT_EQ((*h)->read("p", "x", 0, 10, 10)->t, std::vector<std::int64_t>{1});
    EXPECT_GT((*h)->stats().torn_bytes, 0u);
    ASSERT_TRUE((*h)->append(0, {f64("p", "x", 3, 3)}));  // appends after the cut
  }
  { std::ofstream(log, std::ios::app) << "garbage!garbage!garbage!"; }
  auto h = history::open(crash_on_close);
  ASSERT_TRUE(h);
  EXPECT_EQ((*h)->read("p", "x", 0, 10, 10)->t, (std::vector<std::int64_t>{1, 3}));
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
    EXPECT_EQ(std::filesystem::file_size(dir.path() / "wal-0.log"), 0u);
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
  auto log = dir.path() / "wal-0.log";
  auto saved = dir.path() / "wal-0.saved";
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
    EXPECT_EQ(std::filesystem::file_size(dir.path() / "wal-0.log"), 0u);
    EXPECT_GT(std::filesystem::file_size(dir.path() / "wal-carry.log"), 0u);
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

}  // namespace
}  // namespace doppel::ts
