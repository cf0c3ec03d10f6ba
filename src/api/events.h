// Live change events for WebSocket subscribers: one subscriber of the event bus
// (twin/event_bus.h) that serializes each event once and fans it out to every WebSocket whose
// filter matches, in the bus's order, with the bus's seq.
//
// Each WebSocket has a queue bounded in events and in bytes (a big twin's events are
// megabytes each). A subscriber that falls behind by more than either bound is not waited for
// and does not make the server grow: it is marked overflowed, told so, and dropped by its
// connection. If the hub itself falls behind the bus (its own bus queue overflows), every
// WebSocket subscribed then is treated the same way.
// Callers: serve.cpp (construction) and WebSocket sessions (subscribe, take, unsubscribe).
// Threading: all members are thread-safe. The hub runs one thread of its own that takes events
// from the bus and fills the WebSockets' queues; a WebSocket's `wake` is called from it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "model/registry.h"
#include "twin/event_bus.h"

namespace doppel::api {

struct event_filter {
  std::vector<std::string> twins;   // empty: any twin
  std::vector<std::string> models;  // empty: any; else the twin's model is or extends one
  std::vector<std::string> types;   // empty: any; "twin" matches twin.*, "twin.update" only that
};

class subscription {
 public:
  // Takes the queued events (JSON texts), oldest first. `overflowed` tells the caller the
  // subscriber fell behind and must be dropped.
  std::vector<std::shared_ptr<const std::string>> take(bool& overflowed);

 private:
  friend class event_hub;
  // The filter, fixed at subscribe: `kinds` holds the types.
  std::vector<std::string> twins_, models_;
  twin::kind_set kinds_ = 0;
  std::uint64_t after_ = 0;  // the bus's seq when it subscribed: earlier events are not its
  std::size_t bound_ = 0;
  std::function<void()> wake_;
  std::mutex mu_;
  std::size_t max_bytes_ = 0;
  std::deque<std::shared_ptr<const std::string>> queue_;  // guarded by mu_
  std::size_t queued_bytes_ = 0;                          // guarded by mu_: the texts in queue_
  std::atomic<std::size_t>* hub_bytes_ = nullptr;         // the hub's total, kept in step
  bool overflowed_ = false;                               // guarded by mu_
  bool woken_ = false;                                    // guarded by mu_: a wake is pending
  bool closed_ = false;                                   // guarded by mu_: unsubscribed
};

class event_hub {
 public:
  // `bound`: events queued per WebSocket; `max_bytes`: their bytes (api.events_queue_bytes).
  // The hub's own bus queue holds 16 times `bound` events and 4 times `max_bytes` (at least
  // 64 Ki events and 64 MiB). Subscribes to `bus`, which must outlive the hub.
  event_hub(twin::event_bus& bus, const model::model_registry& models, std::size_t bound = 1024,
            std::size_t max_bytes = std::size_t(16) << 20);
  ~event_hub();  // unsubscribes from the bus and stops the hub's thread
  event_hub(const event_hub&) = delete;
  event_hub& operator=(const event_hub&) = delete;

  // Events published on the bus after this returns and matching `filter` are queued. `wake` is
  // called (from the hub's thread) when events arrive for an idle subscriber.
  std::shared_ptr<subscription> subscribe(event_filter filter, std::function<void()> wake);
  void unsubscribe(const std::shared_ptr<subscription>& s);

  std::size_t subscribers() const;
  // doppel_events_* metric families.
  void render_metrics(std::string& out) const;

 private:
  void run();  // the hub's thread
  void fan_out(twin::event_batch& batch);
  bool matches(const subscription& s, const twin::event& e) const;
  twin::kind_set kinds_wanted() const;  // mu_ held: the union of the subscribers' kinds
  // Marks `s` overflowed and drops its queue; true when it was not already (then wake it).
  bool overflow(subscription& s);  // s.mu_ held

  twin::event_bus& bus_;
  const model::model_registry& models_;
  std::size_t bound_, max_bytes_;
  std::shared_ptr<twin::bus_subscription> bus_sub_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<subscription>> subs_;  // guarded by mu_
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool woken_ = false;  // guarded by wake_mu_: the bus has events for the hub
  bool stop_ = false;   // guarded by wake_mu_
  std::atomic<std::uint64_t> received_{0}, delivered_{0}, dropped_subscribers_{0};
  std::atomic<std::size_t> queued_bytes_{0};  // over all subscribers' queues
  std::atomic<std::size_t> peak_bytes_{0};    // the most one subscriber's queue held
  std::thread thread_;                        // last: starts once the members above exist
};

}  // namespace doppel::api
