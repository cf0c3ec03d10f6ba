// The time-series store's file I/O seam, and the history's durability promises tested through it:
// an acknowledged append was synced, a failed write or sync is never acknowledged and leaves no
// half record, a full disk is an error that passes once there is space again.
#include "store/timeseries/file_io.h"

#include <gtest/gtest.h>

#include "common/temp_dir.h"
#include "store/fault_files.h"
#include "store/timeseries/history.h"

namespace doppel::ts {
namespace {

using testing::fault_files;

sample f64(std::string_view twin, std::string_view name, std::int64_t t, double v) {
  sample s;
  s.twin = twin;
  s.name = name;
  s.type = value_type::f64;
  s.time_ns = t;
  s.f = v;
  return s;
}

// Each reset() of a history opened with these is a crash: only the logs remain.
history_options crashing(const std::filesystem::path& dir, std::shared_ptr<fault_files> io) {
  history_options o{dir, 1};
  o.seal_on_close = false;
  o.io = std::move(io);
  return o;
}

std::vector<std::int64_t> times(const history& h) {
  auto r = h.read("p", "x", 0, 1000, 1000);
  return r ? r->t : std::vector<std::int64_t>{};
}

TEST(FileIo, RealFilesAppendSyncTruncateAndRename) {
  testing::temp_dir dir{"doppel-file-io-test"};
  auto io = real_files();
  auto f = io->open(dir.path() / "a", false);
  ASSERT_TRUE(f) << f.error().to_string();
  ASSERT_TRUE((*f)->append("hello, world"));
  ASSERT_TRUE((*f)->sync());
  EXPECT_EQ((*f)->size(), 12u);
  ASSERT_TRUE((*f)->truncate(5));
  EXPECT_EQ((*f)->size(), 5u);
  f->reset();
  ASSERT_TRUE(io->rename(dir.path() / "a", dir.path() / "b"));
  ASSERT_TRUE(io->sync_dir(dir.path()));
  std::string text;
  ASSERT_TRUE(io->read(dir.path() / "b", text));
  EXPECT_EQ(text, "hello");
  f = io->open(dir.path() / "b", false);  // appends after what is there
  ASSERT_TRUE(f);
  EXPECT_EQ((*f)->size(), 5u);
  EXPECT_EQ(io->read(dir.path() / "missing", text).code(), status_code::io_error);
}

TEST(FileIo, AnAcknowledgedAppendWasSyncedAndSurvivesAPowerLoss) {
  testing::temp_dir dir{"doppel-file-io-test"};
  auto io = fault_files::make();
  auto h = history::open(crashing(dir.path(), io));
  ASSERT_TRUE(h) << h.error().to_string();
  for (int t = 1; t <= 5; ++t) {
    std::uint64_t syncs = io->syncs();
    ASSERT_TRUE((*h)->append(0, {f64("p", "x", t, t)}));
    // Before the append returned: the record was written and then synced, whole.
    EXPECT_EQ(io->syncs(), syncs + 1);
    auto ops = io->ops();
    ASSERT_GE(ops.size(), 2u);
    const auto& write = ops[ops.size() - 2];
    const auto& sync = ops.back();
    EXPECT_EQ(write.kind, fault_files::op::write);
    EXPECT_EQ(sync.kind, fault_files::op::sync);
    EXPECT_EQ(sync.file, "log-0.wal");
    EXPECT_EQ(sync.size, write.size);
    EXPECT_FALSE(sync.failed);
  }
  h->reset();
  io->lose_unsynced();  // the page cache is gone: only what was synced is on disk
  h = history::open(crashing(dir.path(), io));
  ASSERT_TRUE(h);
  EXPECT_EQ(times(**h), (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ((*h)->recovery().torn_bytes, 0u);
}

TEST(FileIo, AFailedSyncIsNeverAcknowledged) {
  testing::temp_dir dir{"doppel-file-io-test"};
  auto io = fault_files::make();
  auto h = history::open(crashing(dir.path(), io));
  ASSERT_TRUE(h);
  ASSERT_TRUE((*h)->append(0, {f64("p", "x", 1, 1)}));
  io->fail_next_sync();
  status st = (*h)->append(0, {f64("p", "x", 2, 2), f64("p", "y", 2, 2)});
  EXPECT_EQ(st.code(), status_code::io_error);
  EXPECT_NE(st.message().find("cannot sync the telemetry log"), std::string::npos) << st.message();
  EXPECT_EQ(times(**h), std::vector<std::int64_t>{1});  // not readable: it is not durable
  auto y = (*h)->read("p", "y", 0, 10, 10);
  EXPECT_TRUE(!y || y->size() == 0);
  ASSERT_TRUE((*h)->append(0, {f64("p", "x", 3, 3)}));  // the next append works, and is durable
  h->reset();
  io->lose_unsynced();
  h = history::open(crashing(dir.path(), io));
  ASSERT_TRUE(h);
  // The failed record was cut off: point 2 is gone (it was never acknowledged), the others are
  // there, and nothing counts as damaged.
  EXPECT_EQ(times(**h), (std::vector<std::int64_t>{1, 3}));
  EXPECT_TRUE((*h)->recovery().clean());
  EXPECT_EQ((*h)->recovery().torn_bytes, 0u);
}

TEST(FileIo, AFailedWriteLeavesNoHalfRecordBeforeLaterOnes) {
  testing::temp_dir dir{"doppel-file-io-test"};
  auto io = fault_files::make();
  auto h = history::open(crashing(dir.path(), io));
  ASSERT_TRUE(h);
  ASSERT_TRUE((*h)->append(0, {f64("p", "x", 1, 1)}));
  auto size = std::filesystem::file_size(dir.path() / "log-0.wal");
  io->fail_next_write(7);  // the header and a few payload bytes reach the file, then EIO
  EXPECT_EQ((*h)->append(0, {f64("p", "x", 2, 2)}).code(), status_code::io_error);
  EXPECT_EQ(std::filesystem::file_size(dir.path() / "log-0.wal"), size);  // cut off again
  ASSERT_TRUE((*h)->append(0, {f64("p", "x", 3, 3)}));
  h->reset();
  h = history::open(crashing(dir.path(), io));
  ASSERT_TRUE(h);
  EXPECT_EQ(times(**h), (std::vector<std::int64_t>{1, 3}));
  EXPECT_TRUE((*h)->recovery().clean());
  EXPECT_EQ((*h)->recovery().torn_bytes, 0u);
}

TEST(FileIo, AFullDiskIsAnErrorAndAppendsWorkOnceThereIsSpace) {
  testing::temp_dir dir{"doppel-file-io-test"};
  auto io = fault_files::make();
  auto h = history::open(crashing(dir.path(), io));
  ASSERT_TRUE(h);
  ASSERT_TRUE((*h)->append(0, {f64("p", "x", 1, 1)}));
  io->set_disk_full(true);
  for (int t = 2; t <= 3; ++t) {
    status st = (*h)->append(0, {f64("p", "x", t, t), f64("q", "x", t, t)});
    EXPECT_EQ(st.code(), status_code::io_error);
    EXPECT_NE(st.message().find("No space left on device"), std::string::npos) << st.message();
  }
  EXPECT_EQ(times(**h), std::vector<std::int64_t>{1});
  io->set_disk_full(false);
  // The series "q" was first defined in a failed record: the next one must define it again.
  ASSERT_TRUE((*h)->append(0, {f64("p", "x", 4, 4), f64("q", "x", 4, 4)}));
  EXPECT_EQ(times(**h), (std::vector<std::int64_t>{1, 4}));
  h->reset();
  io->lose_unsynced();
  h = history::open(crashing(dir.path(), io));
  ASSERT_TRUE(h);
  EXPECT_EQ(times(**h), (std::vector<std::int64_t>{1, 4}));
  EXPECT_EQ((*h)->read("q", "x", 0, 10, 10)->t, std::vector<std::int64_t>{4});
  EXPECT_TRUE((*h)->recovery().clean());
}

TEST(FileIo, ACheckpointEmptiesTheLogsOnlyAfterTheCarryLogIsDurable) {
  testing::temp_dir dir{"doppel-file-io-test"};
  auto io = fault_files::make();
  auto o = crashing(dir.path(), io);
  o.seal_points = 100;  // "p"'s few points are carried, not sealed
  auto h = history::open(o);
  ASSERT_TRUE(h);
  ASSERT_TRUE((*h)->append(0, {f64("p", "x", 1, 1), f64("p", "x", 2, 2)}));
  ASSERT_TRUE((*h)->checkpoint(false));
  // The carry log was synced before the writer's log was emptied.
  auto ops = io->ops();
  std::size_t carry_sync = ops.size(), log_cut = ops.size();
  for (std::size_t k = 0; k < ops.size(); ++k) {
    if (ops[k].file == "carry.tmp" && ops[k].kind == fault_files::op::sync) carry_sync = k;
    if (ops[k].file == "log-0.wal" && ops[k].kind == fault_files::op::truncate && ops[k].size == 0) log_cut = k;
  }
  ASSERT_LT(carry_sync, ops.size());
  ASSERT_LT(log_cut, ops.size());
  EXPECT_LT(carry_sync, log_cut);
  h->reset();
  io->lose_unsynced();
  h = history::open(o);
  ASSERT_TRUE(h);
  EXPECT_EQ(times(**h), (std::vector<std::int64_t>{1, 2}));
}

}  // namespace
}  // namespace doppel::ts
