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
  auto h = history::open({dir.path(), 2, true});
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
  h = history::open({dir.path(), 1, true});  // fewer writers than before: every log is still read
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
  {
    auto h = history::open({dir.path(), 1, true});
    ASSERT_TRUE(h);
    ASSERT_TRUE((*h)->append(0, {f64("p", "x", 1, 1)}));
    ASSERT_TRUE((*h)->append(0, {f64("p", "x", 2, 2)}));
  }
  auto log = dir.path() / "wal-0.log";
  auto size = std::filesystem::file_size(log);
  // A crash in mid-write: the second record lost its last bytes; then garbage after a record.
  std::filesystem::resize_file(log, size - 3);
  {
    auto h = history::open({dir.path(), 1, true});
    ASSERT_TRUE(h);
    EXPECT_EQ((*h)->read("p", "x", 0, 10, 10)->t, std::vector<std::int64_t>{1});
    EXPECT_GT((*h)->stats().torn_bytes, 0u);
    ASSERT_TRUE((*h)->append(0, {f64("p", "x", 3, 3)}));  // appends after the cut
  }
  { std::ofstream(log, std::ios::app) << "garbage!garbage!garbage!"; }
  auto h = history::open({dir.path(), 1, true});
  ASSERT_TRUE(h);
  EXPECT_EQ((*h)->read("p", "x", 0, 10, 10)->t, (std::vector<std::int64_t>{1, 3}));
}

}  // namespace
}  // namespace doppel::ts
