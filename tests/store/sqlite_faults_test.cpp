// The metadata store's SQLite fault seam, and the store's durability promises tested through it:
// an acknowledged write was synced before its completion ran, writes queued behind a commit in
// flight share the next transaction, a failed write or sync is never acknowledged, a full disk is
// an error (not a crash) that leaves what was acknowledged readable.
#include "store/sqlite_faults.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>
#include <vector>

#include "common/temp_dir.h"
#include "store/metadata_store.h"

namespace doppel::store {
namespace {

write put(const std::string& id, const std::string& body) {
  write w;
  w.kind = write::op::put_twin;
  w.twin = {id, "dtmi:doppel:example:Pump;1", body, "W/\"" + id + "\""};
  return w;
}

class sqlite_faults_fixture : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }
  void TearDown() override {
    faults_.hold_syncs(false);
    store_.reset();
  }
  void reopen() {
    store_.reset();
    store_options o;
    o.vfs = faults_.name();
    auto s = metadata_store::open(dir_.path() / "doppel.db", o);
    ASSERT_TRUE(s) << s.error().to_string();
    store_ = std::move(*s);
  }

  sqlite_faults faults_;  // declared first: outlives the store's connections
  doppel::testing::temp_dir dir_{"doppel-sqlite-faults-test"};
  std::unique_ptr<metadata_store> store_;
};

TEST_F(sqlite_faults_fixture, TheVfsDelegatesToSqlite) {
  ASSERT_TRUE(store_->apply({put("p", R"({"a":1})")}));
  reopen();
  auto t = store_->get_twin("p");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->body, R"({"a":1})");
  // The same file opens without the seam: it changes nothing on disk.
  store_.reset();
  auto plain = metadata_store::open(dir_.path() / "doppel.db");
  ASSERT_TRUE(plain) << plain.error().to_string();
  EXPECT_TRUE((*plain)->get_twin("p"));
}

// synchronous=NORMAL (no sync at commit in WAL mode) fails this.
TEST_F(sqlite_faults_fixture, AnAcknowledgedWriteWasSyncedBeforeItsCompletionRan) {
  for (int i = 0; i < 5; ++i) {
    std::uint64_t before = faults_.syncs();
    std::promise<std::uint64_t> seen;
    store_->submit({put("p" + std::to_string(i), R"({"a":1})")}, [&](status s) {
      EXPECT_TRUE(s) << s.to_string();
      seen.set_value(faults_.syncs());
    });
    EXPECT_GT(seen.get_future().get(), before) << "write " << i << " was acknowledged without a sync";
  }
}

// Writes queued while a commit waits on its sync go into one transaction: one commit (one
// sync) for all of them. One transaction per write fails this.
TEST_F(sqlite_faults_fixture, WritesQueuedBehindACommitShareTheNextOne) {
  constexpr int k_writes = 20;
  faults_.hold_syncs(true);
  std::promise<void> first_done;
  store_->submit({put("first", "{}")}, [&](status s) {
    EXPECT_TRUE(s);
    first_done.set_value();
  });
  faults_.wait_for_held_sync();  // the writer is inside the first commit
  std::uint64_t commits_before = store_->commits();
  std::vector<std::thread> writers;
  std::vector<status> results(k_writes);
  for (int i = 0; i < k_writes; ++i) {
    writers.emplace_back([&, i] { results[i] = store_->apply({put("t" + std::to_string(i), "{}")}); });
  }
  while (store_->stats().queued < static_cast<std::size_t>(k_writes)) std::this_thread::yield();
  faults_.hold_syncs(false);
  for (auto& w : writers) w.join();
  first_done.get_future().get();
  for (const status& s : results) EXPECT_TRUE(s) << s.to_string();
  // The first commit, then one for the twenty.
  EXPECT_EQ(store_->commits() - commits_before, 2u);
  EXPECT_EQ(store_->all_twins().size(), static_cast<std::size_t>(k_writes + 1));
}

TEST_F(sqlite_faults_fixture, AFailedSyncIsNeverAcknowledged) {
  ASSERT_TRUE(store_->apply({put("before", "{}")}));
  faults_.fail_next_sync();
  status s = store_->apply({put("lost", "{}")});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.code(), status_code::io_error);
  EXPECT_NE(s.message().find("cannot commit"), std::string::npos) << s.message();
  // Memory may now be ahead of disk: later writes are refused too, saying why.
  status later = store_->apply({put("later", "{}")});
  ASSERT_FALSE(later);
  EXPECT_EQ(later.code(), status_code::io_error);
  EXPECT_TRUE(store_->get_twin("before"));
  reopen();
  EXPECT_TRUE(store_->get_twin("before"));
  EXPECT_FALSE(store_->get_twin("later"));
}

TEST_F(sqlite_faults_fixture, AFailedWriteIsNeverAcknowledged) {
  ASSERT_TRUE(store_->apply({put("before", "{}")}));
  faults_.fail_next_write();
  status s = store_->apply({put("lost", "{}")});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.code(), status_code::io_error);
  EXPECT_FALSE(store_->get_twin("lost"));
  reopen();
  EXPECT_TRUE(store_->get_twin("before"));
  EXPECT_FALSE(store_->get_twin("lost"));
}

TEST_F(sqlite_faults_fixture, ADiskFullIsAnErrorNotACrash) {
  ASSERT_TRUE(store_->apply({put("before", R"({"a":1})")}));
  faults_.set_disk_full(true);
  status s = store_->apply({put("big", std::string(200000, ' ') + "{}")});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.code(), status_code::io_error);
  EXPECT_NE(s.message().find("database or disk is full"), std::string::npos) << s.message();
  // What was acknowledged stays readable while the disk is full.
  auto t = store_->get_twin("before");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->body, R"({"a":1})");
  faults_.set_disk_full(false);
  reopen();  // with space again, a restart writes again
  ASSERT_TRUE(store_->health()) << store_->health().to_string();
  EXPECT_TRUE(store_->apply({put("after", "{}")}));
  EXPECT_TRUE(store_->get_twin("before"));
  EXPECT_FALSE(store_->get_twin("big"));
}

}  // namespace
}  // namespace doppel::store
