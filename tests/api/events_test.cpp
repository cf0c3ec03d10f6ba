#include "api/events.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace doppel::api {
namespace {

using nlohmann::json;

twin::change_event change(std::string kind, std::string twin, json data = json::object()) {
  return {std::move(kind), std::move(twin), "", "dtmi:test:Thing;1", std::move(data)};
}

// A WebSocket session's side of a subscription: woken by the hub, takes on the test's thread.
struct socket_side {
  std::shared_ptr<subscription> sub;
  std::mutex mu;
  std::condition_variable cv;
  bool woken = false;
  std::vector<json> events;
  bool overflowed = false;

  std::function<void()> wake() {
    return [this] {
      {
        std::lock_guard lock(mu);
        woken = true;
      }
      cv.notify_one();
    };
  }
  // Takes until `n` events arrived or it overflowed.
  void take_until(std::size_t n) {
    while (events.size() < n && !overflowed) {
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [this] { return woken; });
        woken = false;
      }
      bool over = false;
      for (const auto& text : sub->take(over)) events.push_back(json::parse(*text));
      overflowed = overflowed || over;
    }
  }
};

class event_hub_test : public ::testing::Test {
 protected:
  model::model_registry models_;
  twin::event_bus bus_;
};

TEST_F(event_hub_test, AnEventIsTheDocumentedJsonWithTheBusSeq) {
  event_hub hub(bus_, models_);
  socket_side s;
  s.sub = hub.subscribe({}, s.wake());
  bus_.publish(change("twin.create", "pump-1", {{"$dtId", "pump-1"}, {"speed", 3}}));
  twin::change_event rel = change("relationship.delete", "pump-1", {{"$targetId", "tank-\"1\""}});
  rel.relationship = "feeds-1";
  bus_.publish(rel);
  s.take_until(2);
  ASSERT_EQ(s.events.size(), 2u);
  json first = s.events[0];
  EXPECT_EQ(first["seq"], 1);
  EXPECT_EQ(first["type"], "twin.create");
  EXPECT_EQ(first["twin"], "pump-1");
  EXPECT_EQ(first["model"], "dtmi:test:Thing;1");
  EXPECT_EQ(first["data"]["speed"], 3);
  EXPECT_TRUE(first["timeMs"].is_number_integer());
  EXPECT_FALSE(first.contains("relationship"));
  EXPECT_EQ(first.size(), 6u);
  json second = s.events[1];
  EXPECT_EQ(second["seq"], 2);
  EXPECT_EQ(second["type"], "relationship.delete");
  EXPECT_EQ(second["relationship"], "feeds-1");
  EXPECT_EQ(second["data"]["$targetId"], "tank-\"1\"");
  EXPECT_EQ(second.size(), 7u);
  hub.unsubscribe(s.sub);
}

TEST_F(event_hub_test, TheTextIsWhatNlohmannWritesForTheSameDocument) {
  // Clients and docs/api.md saw nlohmann's dump of the event object (members in name order);
  // the hub writes the text by hand and must match it byte for byte.
  event_hub hub(bus_, models_);
  socket_side s;
  s.sub = hub.subscribe({}, s.wake());
  twin::change_event rel = change("relationship.update", "p\xc3\xbcmp", {{"b", {1, 2.5, nullptr}}, {"a", "x"}});
  rel.relationship = "r/1";
  bus_.publish(rel);
  std::vector<std::shared_ptr<const std::string>> texts;
  while (texts.empty()) {
    std::unique_lock lock(s.mu);
    s.cv.wait(lock, [&] { return s.woken; });
    s.woken = false;
    lock.unlock();
    bool over = false;
    texts = s.sub->take(over);
  }
  json j = json::parse(*texts[0]);
  EXPECT_EQ(*texts[0], j.dump());
  hub.unsubscribe(s.sub);
}

TEST_F(event_hub_test, TheBusBuildsEventsOnlyForTypesAWebSocketWants) {
  event_hub hub(bus_, models_);
  EXPECT_FALSE(bus_.wanted());  // subscribed to the bus, but no WebSocket: nothing is built
  socket_side s;
  s.sub = hub.subscribe({{}, {}, {"twin"}}, s.wake());
  EXPECT_TRUE(bus_.wanted(twin::event_kind::twin_update));
  EXPECT_TRUE(bus_.wanted(twin::event_kind::twin_telemetry));  // "twin" takes twin.*
  EXPECT_FALSE(bus_.wanted(twin::event_kind::relationship_create));
  socket_side r;
  r.sub = hub.subscribe({{}, {}, {"relationship.create"}}, r.wake());
  EXPECT_TRUE(bus_.wanted(twin::event_kind::relationship_create));
  EXPECT_FALSE(bus_.wanted(twin::event_kind::relationship_delete));
  hub.unsubscribe(s.sub);
  EXPECT_FALSE(bus_.wanted(twin::event_kind::twin_update));
  hub.unsubscribe(r.sub);
  EXPECT_FALSE(bus_.wanted());
}

TEST_F(event_hub_test, AWebSocketGetsOnlyEventsPublishedAfterItSubscribed) {
  event_hub hub(bus_, models_);
  socket_side early;
  early.sub = hub.subscribe({}, early.wake());
  bus_.publish(change("twin.update", "a"));  // may still sit in the hub's bus queue
  socket_side late;
  late.sub = hub.subscribe({}, late.wake());
  bus_.publish(change("twin.update", "b"));
  early.take_until(2);
  late.take_until(1);
  ASSERT_EQ(late.events.size(), 1u);
  EXPECT_EQ(late.events[0]["twin"], "b");
  EXPECT_EQ(late.events[0]["seq"], 2);
  EXPECT_EQ(early.events.size(), 2u);
  hub.unsubscribe(early.sub);
  hub.unsubscribe(late.sub);
}

// The order promise end to end inside the server: concurrent publishers (the store's writer and
// the shards), every WebSocket's seq strictly increasing, an unfiltered one without gaps.
TEST_F(event_hub_test, EveryWebSocketGetsSeqInCommitOrderFromConcurrentPublishers) {
  constexpr int k_publishers = 6;
  constexpr int k_events = 3000;
  const std::size_t total = std::size_t(k_publishers) * k_events;
  event_hub hub(bus_, models_, total, std::size_t(1) << 30);  // no WebSocket overflows here
  socket_side all, telemetry, one_twin;
  all.sub = hub.subscribe({}, all.wake());
  telemetry.sub = hub.subscribe({{}, {}, {"twin.telemetry"}}, telemetry.wake());
  one_twin.sub = hub.subscribe({{"t2"}, {}, {}}, one_twin.wake());
  std::vector<std::thread> publishers;
  for (int p = 0; p < k_publishers; ++p) {
    publishers.emplace_back([this, p] {
      for (int i = 0; i < k_events; ++i) {
        bus_.publish(change(i % 2 ? "twin.telemetry" : "twin.update", "t" + std::to_string(p), {{"i", i}}));
      }
    });
  }
  for (auto& t : publishers) t.join();
  all.take_until(total);
  telemetry.take_until(total / 2);
  one_twin.take_until(k_events);
  ASSERT_FALSE(all.overflowed || telemetry.overflowed || one_twin.overflowed);
  ASSERT_EQ(all.events.size(), total);
  for (std::size_t k = 0; k < total; ++k) ASSERT_EQ(all.events[k]["seq"], k + 1) << "at " << k;
  for (socket_side* s : {&telemetry, &one_twin}) {
    std::vector<std::uint64_t> want, got;
    for (const auto& e : all.events) {
      bool match = s == &telemetry ? e["type"] == "twin.telemetry" : e["twin"] == "t2";
      if (match) want.push_back(e["seq"]);
    }
    for (const auto& e : s->events) got.push_back(e["seq"]);
    EXPECT_EQ(got, want);
  }
  for (socket_side* s : {&all, &telemetry, &one_twin}) hub.unsubscribe(s->sub);
}

// If the hub itself falls behind the bus, events are lost for every WebSocket: each is told.
TEST_F(event_hub_test, WhenTheHubFallsBehindTheBusEveryWebSocketIsToldItOverflowed) {
  event_hub hub(bus_, models_, 4);
  // `stuck`'s wake holds the hub's thread (which calls it) until released, as a hub that cannot
  // keep up would be, while the bus queue fills.
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false, release = false;
  auto stuck = hub.subscribe({{"first"}, {}, {}}, [&] {
    std::unique_lock lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  });
  socket_side other;
  other.sub = hub.subscribe({}, other.wake());
  bus_.publish(change("twin.update", "first"));
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return entered; });
  }
  // More than the hub's bus queue holds (at least 64 Ki events).
  for (int i = 0; i < 70000; ++i) bus_.publish(change("twin.update", "x"));
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  other.take_until(1u << 30);  // until it overflows
  EXPECT_TRUE(other.overflowed);
  bool overflowed = false;
  (void)stuck->take(overflowed);
  EXPECT_TRUE(overflowed);
  std::string metrics;
  bus_.render_metrics(metrics);
  EXPECT_NE(metrics.find("doppel_bus_subscriber_overflows_total{subscriber=\"websocket\"} 1\n"), std::string::npos)
      << metrics;
  hub.render_metrics(metrics);
  EXPECT_NE(metrics.find("doppel_events_dropped_subscribers_total 2\n"), std::string::npos) << metrics;
  hub.unsubscribe(stuck);
  hub.unsubscribe(other.sub);
}

}  // namespace
}  // namespace doppel::api
