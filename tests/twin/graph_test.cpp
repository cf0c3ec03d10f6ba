#include "twin/graph.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "common/temp_dir.h"
#include "store/sqlite_faults.h"

#include "twin_test_util.h"

namespace doppel::twin {
namespace {

using nlohmann::json;

using testing::pump_station;

class graph_fixture : public testing::live_graph {
 protected:
  graph_fixture() { store_options_.vfs = faults_.name(); }
  void TearDown() override {
    faults_.hold_syncs(false);
    live_graph::TearDown();
  }

  static json pump() {
    return json::parse(R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"}, "targetSpeed": 1450,
                           "motor": {"$metadata": {}}})");
  }
  static json station() { return json::parse(R"({"$metadata": {"$model": "dtmi:doppel:example:PumpStation;1"}})"); }
  static json speed(int v) { return json::array({{{"op", "replace"}, {"path", "/targetSpeed"}, {"value", v}}}); }

  store::sqlite_faults faults_;  // the store's I/O, with faults to arm; outlives the store (TearDown)
};

const check_options k_api{false};

TEST_F(graph_fixture, CreateGetReplaceWithEtags) {
  auto created = graph_->put_twin("pump-1", pump(), {}, k_api);
  ASSERT_TRUE(created) << created.error().to_string();
  std::string etag = (*created)["$etag"];
  EXPECT_EQ((*created)["$dtId"], "pump-1");
  auto got = graph_->get_twin("pump-1");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, *created);
  json changed = pump();
  changed["targetSpeed"] = 900;
  auto replaced = graph_->put_twin("pump-1", changed, {etag, false}, k_api);
  ASSERT_TRUE(replaced) << replaced.error().to_string();
  EXPECT_NE((*replaced)["$etag"], etag);  // every write changes the etag
  // The old etag no longer matches: a second writer that read before loses, and knows it.
  auto stale = graph_->put_twin("pump-1", pump(), {etag, false}, k_api);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), status_code::precondition_mismatch);
  EXPECT_EQ((*graph_->get_twin("pump-1"))["targetSpeed"], 900);
}

TEST_F(graph_fixture, IfNoneMatchCreatesOnlyOnce) {
  ASSERT_TRUE(graph_->put_twin("p", pump(), {"", true}, k_api));
  auto again = graph_->put_twin("p", pump(), {"", true}, k_api);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), status_code::precondition_mismatch);
  auto missing = graph_->put_twin("q", pump(), {"*", false}, k_api);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), status_code::precondition_mismatch);
}

TEST_F(graph_fixture, InvalidTwinsAreRejectedWithPaths) {
  json bad = pump();
  bad["mode"] = "turbo";
  bad["serialNumber"] = "x";  // not writable through the API
  auto r = graph_->put_twin("p", bad, {}, k_api);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), status_code::invalid_argument);
  EXPECT_NE(r.error().message().find("$.mode: not one of the enum's values"), std::string::npos);
  EXPECT_NE(r.error().message().find("$.serialNumber: property \"serialNumber\" is not writable"), std::string::npos);
  EXPECT_FALSE(graph_->get_twin("p"));
  EXPECT_EQ(graph_->get_twin("p").error().code(), status_code::not_found);
}

TEST_F(graph_fixture, PatchWithIfMatch) {
  auto created = graph_->put_twin("p", pump(), {}, k_api);
  ASSERT_TRUE(created);
  json patch = json::parse(R"([{"op": "replace", "path": "/targetSpeed", "value": 1200}])");
  auto wrong = graph_->patch_twin("p", patch, {"W/\"nope\"", false}, k_api);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), status_code::precondition_mismatch);
  auto patched = graph_->patch_twin("p", patch, {(*created)["$etag"], false}, k_api);
  ASSERT_TRUE(patched) << patched.error().to_string();
  EXPECT_EQ((*patched)["targetSpeed"], 1200);
  EXPECT_FALSE(graph_->patch_twin("nobody", patch, {}, k_api));
  auto invalid = graph_->patch_twin("p", json::parse(R"([{"op": "add", "path": "/colour", "value": 1}])"), {}, k_api);
  ASSERT_FALSE(invalid);
  EXPECT_NE(invalid.error().message().find("unknown property \"colour\""), std::string::npos);
}

TEST_F(graph_fixture, RelationshipsAndDeletes) {
  ASSERT_TRUE(graph_->put_twin("s", station(), {}, k_api));
  ASSERT_TRUE(graph_->put_twin("p1", pump(), {}, k_api));
  ASSERT_TRUE(graph_->put_twin("p2", pump(), {}, k_api));
  auto r1 = graph_->put_relationship("s", "r1", json::parse(R"({"$relationshipName": "hasPump", "$targetId": "p1",
                                                                 "position": 1})"),
                                     {});
  ASSERT_TRUE(r1) << r1.error().to_string();
  EXPECT_EQ((*r1)["$sourceId"], "s");
  // Wrong target model, unknown target, wrong relationship name.
  EXPECT_FALSE(
      graph_->put_relationship("s", "r2", json::parse(R"({"$relationshipName": "feeds", "$targetId": "p2"})"), {}));
  EXPECT_FALSE(graph_->put_relationship("s", "r2", json::parse(R"({"$relationshipName": "hasPump",
                                                                    "$targetId": "ghost"})"),
                                        {}));
  EXPECT_FALSE(graph_->put_relationship("nobody", "r2", json::parse(R"({"$relationshipName": "hasPump",
                                                                         "$targetId": "p2"})"),
                                        {}));
  ASSERT_TRUE(
      graph_->put_relationship("s", "r2", json::parse(R"({"$relationshipName": "hasPump", "$targetId": "p2"})"), {}));
  EXPECT_EQ(graph_->outgoing("s").size(), 2u);
  ASSERT_EQ(graph_->incoming("p1").size(), 1u);
  EXPECT_EQ(graph_->incoming("p1")[0]["$relationshipId"], "r1");
  // A twin with relationships is not deleted; the message says which.
  status refused = graph_->delete_twin("p1", {});
  EXPECT_EQ(refused.code(), status_code::failed_precondition);
  EXPECT_NE(refused.message().find("incoming r1 from s"), std::string::npos) << refused.message();
  status refused_source = graph_->delete_twin("s", {});
  EXPECT_NE(refused_source.message().find("outgoing r1, outgoing r2"), std::string::npos) << refused_source.message();
  ASSERT_TRUE(graph_->delete_relationship("s", "r1", {}));
  EXPECT_TRUE(graph_->incoming("p1").empty());
  EXPECT_TRUE(graph_->delete_twin("p1", {}));
  EXPECT_EQ(graph_->twin_count(), 2u);
  EXPECT_EQ(graph_->delete_twin("p1", {}).code(), status_code::not_found);
}

TEST_F(graph_fixture, MaxMultiplicity) {
  ASSERT_TRUE(graph_->put_twin("s", station(), {}, k_api));
  for (int i = 0; i < 21; ++i) {
    std::string id = "p" + std::to_string(i);
    ASSERT_TRUE(graph_->put_twin(id, pump(), {}, k_api));
    json rel = {{"$relationshipName", "hasPump"}, {"$targetId", id}};
    auto r = graph_->put_relationship("s", "r" + std::to_string(i), rel, {});
    if (i < 20) {
      EXPECT_TRUE(r) << i << ": " << r.error().to_string();
    } else {
      ASSERT_FALSE(r);
      EXPECT_NE(r.error().message().find("maxMultiplicity"), std::string::npos);
    }
  }
  // Replacing one of the 20 is not a 21st.
  EXPECT_TRUE(graph_->put_relationship("s", "r0", {{"$relationshipName", "hasPump"}, {"$targetId", "p20"}}, {}));
}

TEST_F(graph_fixture, EverythingSurvivesARestart) {
  ASSERT_TRUE(graph_->put_twin("s", station(), {}, k_api));
  auto p = graph_->put_twin("p", pump(), {}, k_api);
  ASSERT_TRUE(p);
  ASSERT_TRUE(graph_->put_relationship("s", "r", {{"$relationshipName", "hasPump"}, {"$targetId", "p"}}, {}));
  reopen();
  EXPECT_EQ(graph_->twin_count(), 2u);
  auto again = graph_->get_twin("p");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *p);  // same body and etag
  EXPECT_EQ(graph_->incoming("p").size(), 1u);
  // Etags made after a restart never repeat earlier ones.
  auto next = graph_->put_twin("p", pump(), {(*p)["$etag"], false}, k_api);
  ASSERT_TRUE(next);
  EXPECT_NE((*next)["$etag"], (*p)["$etag"]);
  EXPECT_EQ(store_->changes("p").size(), 2u);
}

TEST_F(graph_fixture, MetadataCarriesLastUpdateTimePerProperty) {
  auto created = graph_->put_twin("pump-1", pump(), {}, k_api);
  ASSERT_TRUE(created) << created.error().to_string();
  const json& meta = (*created)["$metadata"];
  EXPECT_EQ(meta["$model"], "dtmi:doppel:example:Pump;1");
  ASSERT_TRUE(meta.contains("$lastUpdateTime"));
  std::string speed_time = meta["targetSpeed"]["lastUpdateTime"];
  EXPECT_EQ(speed_time.size(), 24u) << speed_time;  // 2026-11-25T14:12:34.123Z
  EXPECT_EQ(speed_time.back(), 'Z');
  EXPECT_TRUE((*created)["motor"]["$metadata"].contains("$lastUpdateTime"));
  // A patch that changes mode leaves targetSpeed's time alone.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto patched =
      graph_->patch_twin("pump-1", json::parse(R"([{"op": "add", "path": "/mode", "value": "auto"}])"), {}, k_api);
  ASSERT_TRUE(patched) << patched.error().to_string();
  EXPECT_EQ((*patched)["$metadata"]["targetSpeed"]["lastUpdateTime"], speed_time);
  EXPECT_NE((*patched)["$metadata"]["mode"]["lastUpdateTime"], speed_time);
  // The motor component did not change: its time stays; the twin's moves.
  EXPECT_EQ((*patched)["motor"]["$metadata"]["$lastUpdateTime"], (*created)["motor"]["$metadata"]["$lastUpdateTime"]);
  EXPECT_NE((*patched)["$metadata"]["$lastUpdateTime"], (*created)["$metadata"]["$lastUpdateTime"]);
  // An empty patch is not a write.
  auto same = graph_->patch_twin("pump-1", json::array(), {}, k_api);
  ASSERT_TRUE(same);
  EXPECT_EQ((*same)["$etag"], (*patched)["$etag"]);
  // Clients cannot forge server metadata.
  json forged = pump();
  forged["$metadata"]["targetSpeed"] = {{"lastUpdateTime", "1999-01-01T00:00:00Z"}};
  auto replaced = graph_->put_twin("pump-1", forged, {}, k_api);
  ASSERT_TRUE(replaced);
  EXPECT_EQ((*replaced)["$metadata"]["targetSpeed"]["lastUpdateTime"], speed_time);
}

TEST_F(graph_fixture, DesiredStateDeltaAndAcknowledgement) {
  ASSERT_TRUE(graph_->put_twin("pump-1", pump(), {}, k_api));
  auto set = graph_->set_desired("pump-1", json::parse(R"({"targetSpeed": 1500, "mode": "manual"})"), {});
  ASSERT_TRUE(set) << set.error().to_string();
  EXPECT_EQ((*set)["$metadata"]["targetSpeed"]["desiredValue"], 1500);
  EXPECT_EQ((*set)["$metadata"]["targetSpeed"]["desiredVersion"], 1);
  EXPECT_EQ((*set)["targetSpeed"], 1450);  // reported stays what the device said
  auto view = graph_->desired_state("pump-1");
  ASSERT_TRUE(view);
  EXPECT_EQ((*view)["version"], 1);
  EXPECT_EQ((*view)["desired"], json::parse(R"({"targetSpeed": 1500, "mode": "manual"})"));
  EXPECT_EQ((*view)["delta"], json::parse(R"({"targetSpeed": 1500, "mode": "manual"})"));
  EXPECT_EQ((*view)["reported"]["targetSpeed"], 1450);
  // The device reports the new speed: acknowledged, out of the delta, desired kept.
  auto reported = graph_->patch_twin(
      "pump-1", json::parse(R"([{"op": "replace", "path": "/targetSpeed", "value": 1500}])"), {}, {true});
  ASSERT_TRUE(reported) << reported.error().to_string();
  EXPECT_EQ((*reported)["$metadata"]["targetSpeed"]["ackVersion"], 1);
  EXPECT_EQ((*reported)["$metadata"]["targetSpeed"]["ackCode"], 200);
  view = graph_->desired_state("pump-1");
  EXPECT_EQ((*view)["delta"], json::parse(R"({"mode": "manual"})"));
  // Clearing with null; version moves on.
  auto cleared = graph_->set_desired("pump-1", json::parse(R"({"mode": null})"), {});
  ASSERT_TRUE(cleared);
  view = graph_->desired_state("pump-1");
  EXPECT_EQ((*view)["version"], 2);
  EXPECT_EQ((*view)["delta"], json::object());
  // Desired state survives a restart.
  reopen();
  view = graph_->desired_state("pump-1");
  ASSERT_TRUE(view);
  EXPECT_EQ((*view)["desired"], json::parse(R"({"targetSpeed": 1500})"));
}

TEST_F(graph_fixture, DesiredStateIsChecked) {
  ASSERT_TRUE(graph_->put_twin("pump-1", pump(), {}, k_api));
  auto r = graph_->set_desired("pump-1", json::parse(R"({"ratedFlow": 3})"), {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("$.ratedFlow: property \"ratedFlow\" is not writable"), std::string::npos)
      << r.error().message();
  r = graph_->set_desired("pump-1", json::parse(R"({"mode": "sideways"})"), {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("$.mode"), std::string::npos) << r.error().message();
  r = graph_->set_desired("pump-1", json::parse(R"({"nope": 1})"), {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("has no property \"nope\""), std::string::npos) << r.error().message();
  r = graph_->set_desired("pump-1", json::parse(R"([1])"), {});
  EXPECT_FALSE(r);
  EXPECT_EQ(graph_->desired_state("pump-1")->at("version"), 0);
  EXPECT_EQ(graph_->set_desired("nobody", json::object(), {}).error().code(), status_code::not_found);
}

// The writer is held inside a commit (its sync waits) while every writer queues a write, so the
// next transaction holds them all: commits are strictly fewer than writes, with no timing
// involved. One transaction per write (no group commit) fails this.
TEST_F(graph_fixture, ConcurrentWritersShareCommitsAndEventsFollowCommitOrder) {
  std::vector<change_event> events;
  std::mutex events_mu;
  graph_->set_listener([&](const change_event& e) {
    std::lock_guard lock(events_mu);
    events.push_back(e);
  });
  constexpr int k_twins = 8, k_writes = 50;
  for (int t = 0; t < k_twins; ++t) ASSERT_TRUE(graph_->put_twin("p" + std::to_string(t), pump(), {}, k_api));
  std::uint64_t commits_before = store_->commits();
  // The gate: p0 goes to -1 (the writers then count 0, 1, ... on each twin) in a commit held in
  // its sync.
  faults_.hold_syncs(true);
  std::promise<void> gate_done;
  graph_->patch_twin("p0", speed(-1), {}, k_api, [&](result<json> r) {
    EXPECT_TRUE(r);
    gate_done.set_value();
  });
  faults_.wait_for_held_sync();
  std::vector<std::thread> writers;
  for (int t = 0; t < k_twins; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < k_writes; ++i) EXPECT_TRUE(graph_->patch_twin("p" + std::to_string(t), speed(i), {}, k_api));
    });
  }
  // Every writer's first write waits in the queue behind the held commit.
  while (store_->stats().queued < static_cast<std::size_t>(k_twins)) std::this_thread::yield();
  faults_.hold_syncs(false);
  for (auto& w : writers) w.join();
  gate_done.get_future().get();
  constexpr std::uint64_t k_all = 1 + k_twins * k_writes;
  std::uint64_t commits = store_->commits() - commits_before;
  // The gate's commit, one for the eight queued first writes, at most one per write after.
  EXPECT_LE(commits, k_all - (k_twins - 1));
  EXPECT_LT(commits, k_all);
  RecordProperty("commits", static_cast<int>(commits));
  std::lock_guard lock(events_mu);
  ASSERT_EQ(events.size(), static_cast<std::size_t>(k_twins + k_all));
  EXPECT_EQ(events[0].kind, "twin.create");
  EXPECT_EQ(events[0].model, "dtmi:doppel:example:Pump;1");
  // Per twin, the events arrive in write order.
  std::map<std::string, int> last;
  for (std::size_t i = k_twins; i < events.size(); ++i) {
    EXPECT_EQ(events[i].kind, "twin.update");
    int v = events[i].data["targetSpeed"];
    auto it = last.find(events[i].twin);
    if (it != last.end()) {
      EXPECT_EQ(v, it->second + 1);
    }
    last[events[i].twin] = v;
  }
  EXPECT_EQ(last["p0"], k_writes - 1);
  reopen();
  for (int t = 0; t < k_twins; ++t)
    EXPECT_EQ(graph_->get_twin("p" + std::to_string(t))->at("targetSpeed"), k_writes - 1);
}

// An acknowledged write was synced: the sync count rose before its completion ran.
// synchronous=NORMAL (no sync per commit in WAL mode) fails this.
TEST_F(graph_fixture, AnAcknowledgedWriteWasSynced) {
  ASSERT_TRUE(graph_->put_twin("pump-1", pump(), {}, k_api));
  for (int i = 0; i < 3; ++i) {
    std::uint64_t before = faults_.syncs();
    std::promise<std::uint64_t> seen;
    graph_->patch_twin("pump-1", speed(i), {}, k_api, [&](result<json> r) {
      EXPECT_TRUE(r);
      seen.set_value(faults_.syncs());
    });
    EXPECT_GT(seen.get_future().get(), before) << "write " << i << " was acknowledged before any sync";
  }
}

// A write whose sync failed answers io_error, and the graph refuses every write after it (its
// memory may be ahead of the disk) and says why in health().
TEST_F(graph_fixture, AFailedSyncIsNeverAcknowledgedAndStopsWrites) {
  ASSERT_TRUE(graph_->put_twin("pump-1", pump(), {}, k_api));
  ASSERT_TRUE(graph_->health());
  faults_.fail_next_sync();
  auto r = graph_->patch_twin("pump-1", speed(7), {}, k_api);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), status_code::io_error);
  status h = graph_->health();
  ASSERT_FALSE(h);
  EXPECT_EQ(h.code(), status_code::io_error);
  EXPECT_NE(h.message().find("the metadata store failed a write"), std::string::npos) << h.message();
  EXPECT_NE(h.message().find("restart doppel"), std::string::npos) << h.message();
  // Later writes are refused with that message, even ones the disk could take now.
  auto later = graph_->put_twin("pump-2", pump(), {}, k_api);
  ASSERT_FALSE(later);
  EXPECT_EQ(later.error().code(), status_code::io_error);
  EXPECT_EQ(later.error().message(), h.message());
  EXPECT_EQ(graph_->delete_twin("pump-1", {}).code(), status_code::io_error);
  // Reads go on.
  EXPECT_TRUE(graph_->get_twin("pump-1"));
  reopen();  // a restart writes again; the refused write is not there
  ASSERT_TRUE(graph_->health());
  EXPECT_FALSE(graph_->get_twin("pump-2"));
  EXPECT_TRUE(graph_->patch_twin("pump-1", speed(8), {}, k_api));
}

// A full disk is an error the caller sees (io_error, "database or disk is full"), not a crash.
TEST_F(graph_fixture, ADiskFullIsAnErrorNotACrash) {
  ASSERT_TRUE(graph_->put_twin("pump-1", pump(), {}, k_api));
  faults_.set_disk_full(true);
  auto r = graph_->put_twin("pump-2", pump(), {}, k_api);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), status_code::io_error);
  EXPECT_NE(r.error().message().find("database or disk is full"), std::string::npos) << r.error().message();
  EXPECT_FALSE(graph_->health());
  EXPECT_EQ(graph_->get_twin("pump-1")->at("targetSpeed"), 1450);
  faults_.set_disk_full(false);
  reopen();
  EXPECT_TRUE(graph_->health());
  EXPECT_TRUE(graph_->put_twin("pump-2", pump(), {}, k_api));
}

TEST_F(graph_fixture, AsyncWritesCompleteBeforeTheGraphGoes) {
  ASSERT_TRUE(graph_->put_twin("pump-1", pump(), {}, k_api));
  std::atomic<int> completed{0};
  for (int i = 0; i < 100; ++i) {
    json patch = json::array({{{"op", "replace"}, {"path", "/targetSpeed"}, {"value", i}}});
    graph_->patch_twin("pump-1", patch, {}, k_api, [&](result<json> r) {
      EXPECT_TRUE(r);
      ++completed;
    });
  }
  graph_.reset();  // waits for the queued writes
  EXPECT_EQ(completed.load(), 100);
  reopen();
  EXPECT_EQ(graph_->get_twin("pump-1")->at("targetSpeed"), 99);
}

}  // namespace
}  // namespace doppel::twin
