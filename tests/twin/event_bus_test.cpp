#include "twin/event_bus.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace doppel::twin {
namespace {

static_assert(std::atomic<kind_set>::is_always_lock_free, "wanted() must not take a lock");

change_event change(event_kind kind, std::string twin, nlohmann::json data = nlohmann::json::object()) {
  return {std::string(wire_name(kind)), std::move(twin), "", "dtmi:test:Thing;1", std::move(data)};
}

subscriber_options opts(std::string name, kind_set kinds = all_kinds) {
  subscriber_options o;
  o.name = std::move(name);
  o.kinds = kinds;
  return o;
}

TEST(EventBus, WireNamesRoundTrip) {
  for (std::size_t i = 0; i < event_kind_count; ++i) {
    auto k = static_cast<event_kind>(i);
    ASSERT_FALSE(wire_name(k).empty());
    EXPECT_EQ(parse_event_kind(wire_name(k)), k) << wire_name(k);
  }
  EXPECT_EQ(wire_name(event_kind::twin_telemetry), "twin.telemetry");
  EXPECT_EQ(wire_name(event_kind::relationship_delete), "relationship.delete");
  EXPECT_FALSE(parse_event_kind("twin"));
  EXPECT_FALSE(parse_event_kind(""));
}

TEST(EventBus, WantedFollowsTheKindsSubscribersWant) {
  event_bus bus;
  EXPECT_FALSE(bus.wanted());
  auto telemetry = bus.subscribe(opts("telemetry", kind_bit(event_kind::twin_telemetry)), nullptr);
  EXPECT_TRUE(bus.wanted());
  EXPECT_TRUE(bus.wanted(event_kind::twin_telemetry));
  EXPECT_FALSE(bus.wanted(event_kind::twin_update));
  auto idle = bus.subscribe(opts("idle", 0), nullptr);
  EXPECT_FALSE(bus.wanted(event_kind::twin_update));
  bus.set_kinds(idle, kind_bit(event_kind::twin_update));
  EXPECT_TRUE(bus.wanted(event_kind::twin_update));
  bus.set_kinds(telemetry, 0);
  EXPECT_FALSE(bus.wanted(event_kind::twin_telemetry));
  bus.unsubscribe(idle);
  EXPECT_FALSE(bus.wanted());
  EXPECT_EQ(bus.subscribers(), 1u);  // `telemetry`, which wants nothing now
  bus.unsubscribe(telemetry);
  EXPECT_EQ(bus.subscribers(), 0u);
}

TEST(EventBus, AnEventNobodyWantsIsNeitherQueuedNorNumbered) {
  event_bus bus;
  bus.publish(change(event_kind::twin_create, "a"));
  EXPECT_EQ(bus.published(), 0u);
  auto twins = bus.subscribe(opts("twins", kind_bit(event_kind::twin_create)), nullptr);
  bus.publish(change(event_kind::twin_telemetry, "a"));  // a kind it does not want
  bus.publish(change(event_kind::twin_create, "b"));
  event_batch b = twins->take();
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0]->seq, 1u);
  EXPECT_EQ(b.events[0]->twin, "b");
  EXPECT_EQ(bus.published(), 1u);
  EXPECT_EQ(bus.set_kinds(twins, all_kinds), 1u);  // the seq of the last event published
}

TEST(EventBus, EverySubscriberGetsTheSameEventWithoutFilters) {
  event_bus bus;
  std::vector<std::shared_ptr<bus_subscription>> subs;
  for (int i = 0; i < 3; ++i) subs.push_back(bus.subscribe(opts("s" + std::to_string(i)), nullptr));
  change_event e = change(event_kind::relationship_create, "pump-1", {{"$targetId", "tank-1"}});
  e.relationship = "r1";
  bus.publish(e);
  bus.publish(change(event_kind::twin_delete, "pump-2"));
  const event* first = nullptr;
  for (const auto& s : subs) {
    event_batch b = s->take();
    ASSERT_EQ(b.events.size(), 2u);
    EXPECT_FALSE(b.overflowed);
    EXPECT_EQ(b.events[0]->seq, 1u);
    EXPECT_EQ(b.events[0]->kind, event_kind::relationship_create);
    EXPECT_EQ(b.events[0]->relationship, "r1");
    EXPECT_EQ(b.events[0]->data["$targetId"], "tank-1");
    EXPECT_EQ(b.events[1]->seq, 2u);
    EXPECT_EQ(b.events[1]->kind, event_kind::twin_delete);
    // One event shared by all, not a copy per subscriber.
    if (!first) first = b.events[0].get();
    EXPECT_EQ(b.events[0].get(), first);
    EXPECT_TRUE(s->take().events.empty());
  }
}

TEST(EventBus, WakeRunsOnlyWhenEventsArriveForAnIdleSubscriber) {
  event_bus bus;
  int wakes = 0;
  auto s = bus.subscribe(opts("s"), [&] { ++wakes; });
  bus.publish(change(event_kind::twin_update, "a"));
  bus.publish(change(event_kind::twin_update, "a"));
  EXPECT_EQ(wakes, 1);  // the second found a wake pending
  EXPECT_EQ(s->take().events.size(), 2u);
  bus.publish(change(event_kind::twin_update, "a"));
  EXPECT_EQ(wakes, 2);
  bus.unsubscribe(s);
}

TEST(EventBus, AFullQueueOverflowsDropsItsEventsAndSaysSoOnce) {
  event_bus bus;
  subscriber_options small = opts("slow");
  small.max_events = 3;
  auto slow = bus.subscribe(small, nullptr);
  auto fast = bus.subscribe(opts("fast"), nullptr);
  for (int i = 0; i < 5; ++i) bus.publish(change(event_kind::twin_update, "a"));
  event_batch b = slow->take();
  EXPECT_TRUE(b.overflowed);
  EXPECT_EQ(b.dropped, 5u);  // three queued and cleared at the fourth, the fourth and the fifth
  EXPECT_TRUE(b.events.empty());
  // The overflow was said once; what is published after the take is queued again.
  bus.publish(change(event_kind::twin_update, "a"));
  b = slow->take();
  EXPECT_FALSE(b.overflowed);
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0]->seq, 6u);  // the gap shows what was lost
  // Another subscriber is not affected.
  EXPECT_EQ(fast->take().events.size(), 6u);
  std::string metrics;
  bus.render_metrics(metrics);
  EXPECT_NE(metrics.find("doppel_bus_subscriber_dropped_total{subscriber=\"slow\"} 5\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("doppel_bus_subscriber_overflows_total{subscriber=\"slow\"} 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("doppel_bus_subscriber_dropped_total{subscriber=\"fast\"} 0\n"), std::string::npos);
  EXPECT_NE(metrics.find("doppel_bus_events_published_total 6\n"), std::string::npos);
  EXPECT_NE(metrics.find("doppel_bus_subscribers 2\n"), std::string::npos);
}

TEST(EventBus, TheByteBoundOverflowsAQueueOfBigEvents) {
  event_bus bus;
  subscriber_options small = opts("small");
  small.max_bytes = 10000;
  auto s = bus.subscribe(small, nullptr);
  nlohmann::json big = {{"text", std::string(4000, 'x')}};
  bus.publish(change(event_kind::twin_update, "a", big));
  bus.publish(change(event_kind::twin_update, "a", big));
  event_batch b = s->take();
  EXPECT_FALSE(b.overflowed);
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_GT(b.events[0]->bytes, 4000u);  // what the bound counts: about the JSON text's length
  for (int i = 0; i < 3; ++i) bus.publish(change(event_kind::twin_update, "a", big));
  b = s->take();
  EXPECT_TRUE(b.overflowed);  // 3 x 4 KB > 10,000 bytes although 3 events are far below max_events
  EXPECT_EQ(b.dropped, 3u);
}

// The order promise: many publishers at once (the store's writer and every shard), several
// subscribers taking on their own threads; each sees seq strictly increasing, an unfiltered one
// every seq from 1 with no gap, a filtered one exactly the events of its kinds.
TEST(EventBus, EverySubscriberSeesSeqInPublicationOrderUnderConcurrentPublishers) {
  constexpr int k_publishers = 8;
  constexpr int k_events = 5000;  // per publisher
  event_bus bus;
  struct consumer {
    std::shared_ptr<bus_subscription> sub;
    std::mutex mu;
    std::condition_variable cv;
    bool woken = false;
    std::vector<event_ptr> seen;
  };
  const kind_set telemetry = kind_bit(event_kind::twin_telemetry);
  const kind_set twins = kind_bit(event_kind::twin_create) | kind_bit(event_kind::twin_update);
  std::vector<kind_set> filters = {all_kinds, all_kinds, telemetry, twins};
  std::vector<std::unique_ptr<consumer>> consumers;
  for (std::size_t i = 0; i < filters.size(); ++i) {
    auto c = std::make_unique<consumer>();
    subscriber_options o = opts("c" + std::to_string(i), filters[i]);
    o.max_events = std::size_t(k_publishers) * k_events;  // never overflows: order is what is tested
    o.max_bytes = std::size_t(1) << 30;
    consumer* raw = c.get();
    c->sub = bus.subscribe(o, [raw] {
      {
        std::lock_guard lock(raw->mu);
        raw->woken = true;
      }
      raw->cv.notify_one();
    });
    consumers.push_back(std::move(c));
  }
  std::atomic<bool> done{false};
  std::vector<std::thread> takers;
  for (auto& c : consumers) {
    takers.emplace_back([&done, c = c.get()] {
      for (;;) {
        bool last = false;
        {
          std::unique_lock lock(c->mu);
          c->cv.wait_for(lock, std::chrono::milliseconds(50), [c] { return c->woken; });
          c->woken = false;
          last = done.load();
        }
        event_batch b = c->sub->take();
        EXPECT_FALSE(b.overflowed);
        for (auto& e : b.events) c->seen.push_back(std::move(e));
        if (last) return;  // `done` was set before this take: it took everything
      }
    });
  }
  std::vector<std::thread> publishers;
  for (int p = 0; p < k_publishers; ++p) {
    publishers.emplace_back([&bus, p] {
      for (int i = 0; i < k_events; ++i) {
        event_kind kind = i % 3 == 0   ? event_kind::twin_telemetry
                          : i % 3 == 1 ? event_kind::twin_update
                                       : event_kind::relationship_update;
        bus.publish(change(kind, "t" + std::to_string(p), {{"i", i}}));
      }
    });
  }
  for (auto& t : publishers) t.join();
  done.store(true);
  for (auto& c : consumers) {
    {
      std::lock_guard lock(c->mu);
      c->woken = true;
    }
    c->cv.notify_one();
  }
  for (auto& t : takers) t.join();

  const std::uint64_t total = std::uint64_t(k_publishers) * k_events;
  ASSERT_EQ(bus.published(), total);
  for (std::size_t i = 0; i < consumers.size(); ++i) {
    const auto& seen = consumers[i]->seen;
    std::size_t out_of_order = 0;
    for (std::size_t k = 1; k < seen.size(); ++k) out_of_order += seen[k]->seq <= seen[k - 1]->seq;
    EXPECT_EQ(out_of_order, 0u) << "subscriber " << i << " received seq out of order";
  }
  // Unfiltered: every seq, 1..total, in order; each publisher's events in the order it sent them.
  const auto& all = consumers[0]->seen;
  ASSERT_EQ(all.size(), total);
  std::map<std::string, int> next;
  for (std::size_t k = 0; k < all.size(); ++k) {
    ASSERT_EQ(all[k]->seq, k + 1) << "a gap or a reordering at position " << k;
    EXPECT_EQ(all[k]->data["i"], next[all[k]->twin]++);
  }
  EXPECT_EQ(consumers[1]->seen.size(), total);
  for (std::size_t k = 0; k < consumers[1]->seen.size(); ++k) EXPECT_EQ(consumers[1]->seen[k]->seq, k + 1);
  // Filtered: exactly the unfiltered sequence's events of its kinds, in the same order.
  for (std::size_t i = 2; i < consumers.size(); ++i) {
    std::vector<std::uint64_t> want, got;
    for (const auto& e : all) {
      if (filters[i] & kind_bit(e->kind)) want.push_back(e->seq);
    }
    for (const auto& e : consumers[i]->seen) got.push_back(e->seq);
    EXPECT_EQ(got, want) << "subscriber " << i;
  }
}

TEST(EventBus, AfterUnsubscribeReturnsNothingIsQueuedAndWakeNeverRuns) {
  event_bus bus;
  std::atomic<bool> stop{false};
  std::vector<std::thread> publishers;
  auto keep = bus.subscribe(opts("keep"), nullptr);  // keeps the kinds wanted throughout
  for (int p = 0; p < 4; ++p) {
    publishers.emplace_back([&] {
      while (!stop.load()) bus.publish(change(event_kind::twin_update, "a"));
    });
  }
  for (int round = 0; round < 200; ++round) {
    std::atomic<bool> unsubscribed{false};
    std::atomic<int> late_wakes{0};
    auto s = bus.subscribe(opts("churn"), [&] {
      if (unsubscribed.load()) late_wakes.fetch_add(1);
    });
    while (s->take().events.empty()) std::this_thread::yield();  // publishing reaches it
    bus.unsubscribe(s);
    unsubscribed.store(true);
    std::uint64_t at = bus.published();
    while (bus.published() < at + 50) std::this_thread::yield();  // more events go by
    EXPECT_TRUE(s->take().events.empty()) << "round " << round;
    EXPECT_EQ(late_wakes.load(), 0) << "round " << round;
    (void)keep->take();  // keep its queue from overflowing
  }
  stop.store(true);
  for (auto& t : publishers) t.join();
  EXPECT_EQ(bus.subscribers(), 1u);
}

}  // namespace
}  // namespace doppel::twin
