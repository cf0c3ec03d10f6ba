// Live change events for WebSocket subscribers: the twin graph's change events (durable, in
// commit order) serialized once and fanned out to every subscriber whose filter matches.
//
// Each subscriber has a queue bounded in events and in bytes (a big twin's events are
// megabytes each). A subscriber that falls behind by more than either bound is not waited for
// and does not make the server grow: it is marked overflowed, told so, and dropped by its
// connection. Callers: the graph's listener (publish, on the store's writer
// thread) and WebSocket sessions (subscribe, next). Threading: all members are thread-safe.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "model/registry.h"
#include "twin/graph.h"

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
  event_filter filter_;
  std::size_t bound_ = 0;
  std::function<void()> wake_;
  std::mutex mu_;
  std::size_t max_bytes_ = 0;
  std::deque<std::shared_ptr<const std::string>> queue_;  // guarded by mu_
  std::size_t queued_bytes_ = 0;                          // guarded by mu_: the texts in queue_
  std::atomic<std::size_t>* hub_bytes_ = nullptr;         // the hub's total, kept in step
  bool overflowed_ = false;                               // guarded by mu_
  bool woken_ = false;                                    // guarded by mu_: a wake is pending
};

class event_hub {
 public:
  // `bound`: events queued per subscriber; `max_bytes`: their bytes (api.events_queue_bytes).
  explicit event_hub(const model::model_registry& models, std::size_t bound = 1024,
                     std::size_t max_bytes = std::size_t(16) << 20);

  // `wake` is called (from the publishing thread) when events arrive for an idle subscriber.
  std::shared_ptr<subscription> subscribe(event_filter filter, std::function<void()> wake);
  void unsubscribe(const std::shared_ptr<subscription>& s);

  void publish(const twin::change_event& e);

  std::size_t subscribers() const;
  // Lock-free: whether anyone subscribes (the graph skips building events when not).
  bool wanted() const { return count_.load(std::memory_order_relaxed) > 0; }
  // doppel_events_* metric families.
  void render_metrics(std::string& out) const;

 private:
  bool matches(const event_filter& f, const twin::change_event& e) const;

  const model::model_registry& models_;
  std::size_t bound_, max_bytes_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<subscription>> subs_;  // guarded by mu_
  std::atomic<std::uint64_t> seq_{0};
  std::atomic<std::size_t> count_{0};
  std::atomic<std::uint64_t> delivered_{0}, dropped_subscribers_{0};
  std::atomic<std::size_t> queued_bytes_{0};  // over all subscribers' queues
  std::atomic<std::size_t> peak_bytes_{0};    // the most one subscriber's queue held
};

}  // namespace doppel::api
