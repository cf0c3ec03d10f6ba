#include "store/metadata_store.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>
#include <chrono>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include "common/temp_dir.h"

namespace doppel::store {
namespace {

namespace fs = std::filesystem;

// A database file in a fresh temp folder.
class temp_db {
 public:
  fs::path file() const { return dir_.path() / "doppel.db"; }

 private:
  doppel::testing::temp_dir dir_{"doppel-store-test"};
};

write put(const std::string& id, const std::string& body) {
  write w;
  w.kind = write::op::put_twin;
  w.twin = {id, "dtmi:doppel:example:Pump;1", body, "W/\"" + id + "\""};
  return w;
}

std::unique_ptr<metadata_store> open_or_die(const fs::path& file) {
  auto s = metadata_store::open(file);
  EXPECT_TRUE(s) << s.error().to_string();
  return s ? std::move(*s) : nullptr;
}

TEST(MetadataStore, CreatesMigratesAndReopens) {
  temp_db db;
  {
    auto s = open_or_die(db.file());
    ASSERT_TRUE(s);
    EXPECT_EQ(s->schema_version(), 5);
    ASSERT_TRUE(s->apply({put("pump-1", R"({"targetSpeed":1450})")}));
  }
  auto s = open_or_die(db.file());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->schema_version(), 5);
  auto t = s->get_twin("pump-1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->body, R"({"targetSpeed":1450})");
  EXPECT_EQ(t->model, "dtmi:doppel:example:Pump;1");
  EXPECT_FALSE(s->get_twin("pump-2"));
}

TEST(MetadataStore, MigratesAVersion1Database) {
  temp_db db;
  {
    // A database as version 1 left it: its tables and a twin, no settings table.
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.file().c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "CREATE TABLE twins (id TEXT PRIMARY KEY, model TEXT NOT NULL, body TEXT NOT NULL,"
                           " etag TEXT NOT NULL, updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
                           "CREATE INDEX twins_by_model ON twins(model);"
                           "CREATE TABLE relationships (source TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,"
                           " target TEXT NOT NULL, body TEXT NOT NULL, etag TEXT NOT NULL, PRIMARY KEY (source, id))"
                           " WITHOUT ROWID;"
                           "CREATE INDEX relationships_by_target ON relationships(target);"
                           "CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, twin TEXT NOT NULL,"
                           " at_ms INTEGER NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL);"
                           "CREATE INDEX changes_by_twin ON changes(twin, seq);"
                           "INSERT INTO twins VALUES('old', 'dtmi:x;1', '{}', 'e', 0);"
                           "PRAGMA user_version = 1;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  auto s = open_or_die(db.file());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->schema_version(), 5);
  EXPECT_TRUE(s->get_twin("old"));
  EXPECT_FALSE(s->setting("k"));
  write w;
  w.kind = write::op::put_setting;
  w.twin.id = "k";
  w.twin.body = "v1";
  ASSERT_TRUE(s->apply({w}));
  w.twin.body = "v2";
  ASSERT_TRUE(s->apply({w}));
  EXPECT_EQ(s->setting("k"), "v2");
  EXPECT_TRUE(s->changes("k").empty());  // settings are not twin changes
}

TEST(MetadataStore, RefusesANewerSchema) {
  temp_db db;
  { ASSERT_TRUE(open_or_die(db.file())); }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.file().c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  auto s = metadata_store::open(db.file());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), status_code::failed_precondition);
  EXPECT_NE(s.error().message().find("schema version 99"), std::string::npos) << s.error().message();
}

TEST(MetadataStore, UnopenablePathIsAnIoError) {
  auto s = metadata_store::open("/nonexistent/dir/doppel.db");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), status_code::io_error);
  EXPECT_NE(s.error().message().find("/nonexistent/dir/doppel.db"), std::string::npos);
}

TEST(MetadataStore, RelationshipsDeletesAndTheChangeLog) {
  temp_db db;
  auto s = open_or_die(db.file());
  ASSERT_TRUE(s);
  write rel;
  rel.kind = write::op::put_relationship;
  rel.relationship = {"station", "p1", "hasPump", "pump-1", R"({"position":1})", "W/\"1\""};
  ASSERT_TRUE(s->apply({put("station", "{}"), put("pump-1", "{}"), rel}));
  ASSERT_TRUE(s->apply({put("station", R"({"name":"North"})")}));
  auto rels = s->all_relationships();
  ASSERT_EQ(rels.size(), 1u);
  EXPECT_EQ(rels[0].target, "pump-1");
  write del_rel;
  del_rel.kind = write::op::delete_relationship;
  del_rel.relationship.source = "station";
  del_rel.relationship.id = "p1";
  write del_twin;
  del_twin.kind = write::op::delete_twin;
  del_twin.twin.id = "pump-1";
  ASSERT_TRUE(s->apply({del_rel, del_twin}));
  EXPECT_TRUE(s->all_relationships().empty());
  EXPECT_EQ(s->all_twins().size(), 1u);
  auto log = s->changes("station");
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[0].kind, "twin.put");
  EXPECT_EQ(log[1].kind, "relationship.put");
  EXPECT_EQ(log[2].kind, "twin.put");
  EXPECT_EQ(log[2].body, R"({"name":"North"})");
  EXPECT_EQ(log[3].kind, "relationship.delete");
  for (std::size_t i = 1; i < log.size(); ++i) EXPECT_GT(log[i].seq, log[i - 1].seq);
  EXPECT_EQ(s->changes("station", log[1].seq).size(), 2u);
  EXPECT_EQ(s->changes("pump-1").back().kind, "twin.delete");
}

TEST(MetadataStore, ConcurrentWritersShareCommits) {
  temp_db db;
  auto s = open_or_die(db.file());
  ASSERT_TRUE(s);
  constexpr int k_threads = 8, k_each = 150;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < k_each; ++i) {
        std::string id = "twin-" + std::to_string(t) + "-" + std::to_string(i);
        if (!s->apply({put(id, "{\"i\":" + std::to_string(i) + "}")})) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(s->all_twins().size(), static_cast<std::size_t>(k_threads * k_each));
  // Group commit: concurrent writers share transactions (and their fsyncs).
  EXPECT_LT(s->commits(), static_cast<std::uint64_t>(k_threads * k_each));
  RecordProperty("commits", static_cast<int>(s->commits()));
}

TEST(MetadataStore, CheckpointsMoveTwinsOutOfTheLogAndPruneIt) {
  temp_db db;
  store_options o;
  o.checkpoint_interval_ms = 0;  // after every commit
  o.change_log_retention_ms = 3600 * 1000;
  {
    auto s = metadata_store::open(db.file(), o);
    ASSERT_TRUE(s);
    write old = put("t1", R"({"v":1})");
    old.at_ms = 1000;  // 1970: older than the retention
    ASSERT_TRUE((*s)->apply({old}));
    ASSERT_TRUE((*s)->apply({put("t1", R"({"v":2})"), put("t2", R"({"v":1})")}));
    // The checkpoint follows the commit on the writer thread, after apply() has returned.
    for (int i = 0; i < 200 && ((*s)->stats().checkpoints < 2 || (*s)->changes("t1").size() > 1); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_GE((*s)->stats().checkpoints, 2u);
    auto log = (*s)->changes("t1");
    ASSERT_EQ(log.size(), 1u);  // v1 is older than the retention
    EXPECT_EQ(log[0].body, R"({"v":2})");
    write del;
    del.kind = write::op::delete_twin;
    del.twin.id = "t2";
    ASSERT_TRUE((*s)->apply({del}));
  }
  // Straight from the table, as the checkpoints left it.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.file().c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT id, body FROM twins ORDER BY id", -1, &q, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(q, 1)), R"({"v":2})");
  EXPECT_EQ(sqlite3_step(q), SQLITE_DONE);  // t2 is deleted
  sqlite3_finalize(q);
  sqlite3_close(raw);
}

TEST(MetadataStore, ReadsSeeTwinsBeforeTheirCheckpoint) {
  temp_db db;
  store_options o;
  o.checkpoint_interval_ms = 3600 * 1000;  // never, in this test
  auto s = metadata_store::open(db.file(), o);
  ASSERT_TRUE(s);
  ASSERT_TRUE((*s)->apply({put("b", "{}"), put("a", "{}")}));
  ASSERT_TRUE((*s)->apply({put("a", R"({"x":1})")}));
  EXPECT_EQ((*s)->get_twin("a")->body, R"({"x":1})");
  auto all = (*s)->all_twins();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "a");
  EXPECT_EQ(all[1].id, "b");
  EXPECT_EQ((*s)->stats().checkpoints, 0u);
}

// A child process writes twins as fast as it can and reports each acknowledged write on a pipe;
// it is killed with SIGKILL in the middle. Every acknowledged twin must be there afterwards, whole.
TEST(MetadataStore, AcknowledgedWritesSurviveKillDashNine) {
  temp_db db;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::string payload(2048, 'x');
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    auto s = metadata_store::open(db.file());
    if (!s) _exit(2);
    for (std::uint32_t i = 0;; ++i) {
      if (!(*s)->apply({put("t" + std::to_string(i), "{\"i\":" + std::to_string(i) + ",\"p\":\"" + payload + "\"}")})) {
        _exit(3);
      }
      if (::write(fds[1], &i, sizeof i) != sizeof i) _exit(4);
    }
  }
  close(fds[1]);
  std::set<std::uint32_t> acked;
  std::uint32_t i;
  while (acked.size() < 200 && read(fds[0], &i, sizeof i) == sizeof i) acked.insert(i);
  kill(child, SIGKILL);
  while (read(fds[0], &i, sizeof i) == sizeof i) acked.insert(i);  // acks sent before the kill
  close(fds[0]);
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  ASSERT_TRUE(WIFSIGNALED(wstatus)) << "the writer stopped by itself with status " << wstatus;
  ASSERT_GE(acked.size(), 200u);

  auto s = open_or_die(db.file());
  ASSERT_TRUE(s);
  for (std::uint32_t id : acked) {
    auto t = s->get_twin("t" + std::to_string(id));
    ASSERT_TRUE(t) << "acknowledged twin t" << id << " was lost";
    EXPECT_EQ(t->body, "{\"i\":" + std::to_string(id) + ",\"p\":\"" + payload + "\"}");
  }
  // Nothing half-applied: each stored twin has its change-log entry from the same transaction.
  for (const auto& t : s->all_twins()) EXPECT_EQ(s->changes(t.id).size(), 1u) << t.id;
  RecordProperty("acknowledged", static_cast<int>(acked.size()));
}

// Issue 19, item 13: an update's log row holds a JSON Patch, not the whole twin; recovery
// applies the rows after the checkpoint in order on the checkpointed state.
TEST(MetadataStore, PatchRowsReplayOnTheStateBeforeThemAfterKillDashNine) {
  temp_db db;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::string payload(100000, 'x');
  auto state = [&](std::uint32_t i) { return "{\"i\":" + std::to_string(i) + ",\"p\":\"" + payload + "\"}"; };
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    store_options o;
    o.checkpoint_interval_ms = 3'600'000;  // every row after the first checkpoint is replayed
    auto s = metadata_store::open(db.file(), o);
    if (!s) _exit(2);
    if (!(*s)->apply({put("big", state(0))})) _exit(3);
    for (std::uint32_t i = 1;; ++i) {
      write w = put("big", state(i));
      w.log_kind = "twin.patch";
      w.patch = "[{\"op\":\"replace\",\"path\":\"/i\",\"value\":" + std::to_string(i) + "}]";
      if (!(*s)->apply({std::move(w)})) _exit(3);
      if (::write(fds[1], &i, sizeof i) != sizeof i) _exit(4);
    }
  }
  close(fds[1]);
  std::uint32_t last = 0, i = 0;
  while (last < 300 && read(fds[0], &i, sizeof i) == sizeof i) last = i;
  kill(child, SIGKILL);
  while (read(fds[0], &i, sizeof i) == sizeof i) last = i;
  close(fds[0]);
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  ASSERT_TRUE(WIFSIGNALED(wstatus)) << "the writer stopped by itself with status " << wstatus;

  auto s = open_or_die(db.file());
  ASSERT_TRUE(s);
  auto t = s->get_twin("big");
  ASSERT_TRUE(t);
  // The last acknowledged state, or one written after it whose acknowledgement the kill cut off.
  std::uint32_t got = static_cast<std::uint32_t>(std::stoul(t->body.substr(5)));
  EXPECT_GE(got, last);
  EXPECT_EQ(t->body, state(got));
  auto log = s->changes("big");
  ASSERT_GE(log.size(), 301u);
  EXPECT_FALSE(log[0].patch);
  EXPECT_EQ(log[0].body.size(), state(0).size());
  for (std::size_t k = 1; k < log.size(); ++k) {
    EXPECT_TRUE(log[k].patch);
    EXPECT_LT(log[k].body.size(), 100u);
  }
  // 300 rows of patches, not 300 copies of 100 KB.
  EXPECT_LT(fs::file_size(db.file()), 4u << 20);
}

}  // namespace
}  // namespace doppel::store
