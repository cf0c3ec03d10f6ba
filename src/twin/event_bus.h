// The event bus: the changes the twin layer commits (twin and relationship writes from the
// graph, readings from the telemetry pipeline; later alarms, commands and rule firings), in one
// order, to any number of subscribers (the WebSocket hub today; rules, detectors, event routes
// and the dashboard later).
//
// Publishers call publish() once their change is durable: the graph on the metadata store's
// writer thread, the pipeline on its shard threads after the history append. publish() numbers
// the event (`seq`: 1, 2, 3, ... over the bus) and queues it to every subscriber that wants its
// kind as one step under the bus's lock, so each subscriber receives events in the order they
// were published, with strictly increasing seq (no gaps among the kinds it wants). An event is
// built once and shared by every subscriber (shared_ptr<const event>).
//
// Each subscription has a queue bounded in events and in bytes (an estimate of the event's JSON
// size). A subscriber that falls further behind than that overflows: its queue is cleared, events
// are dropped for it until its next take() says so, and publishers never wait for it.
// Subscribers pull on their own thread: the bus calls `wake` (outside its lock, on the
// publishing thread) when events arrive for a subscription with no wake pending, and the
// subscriber take()s everything queued.
//
// Threading: every member is safe for concurrent use; wanted() is lock-free, so a publisher asks
// it before building an event. The bus must outlive its publishers and subscriptions.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "twin/graph.h"

namespace doppel::twin {

// What an event says happened. Its wire name ("twin.create") is what change_event::kind holds
// and what /events sends as "type". New kinds (alarms, commands, rule firings) go at the end,
// with their wire names in event_bus.cpp.
enum class event_kind : std::uint8_t {
  twin_create,
  twin_update,
  twin_delete,
  relationship_create,
  relationship_update,
  relationship_delete,
  twin_telemetry,
};
inline constexpr std::size_t event_kind_count = 7;

// "twin.create", ...; never empty.
std::string_view wire_name(event_kind k);
// The kind of a wire name; nullopt when it names none.
std::optional<event_kind> parse_event_kind(std::string_view wire);

// A set of kinds, one bit per kind.
using kind_set = std::uint32_t;
constexpr kind_set kind_bit(event_kind k) { return kind_set(1) << static_cast<unsigned>(k); }
inline constexpr kind_set all_kinds = (kind_set(1) << event_kind_count) - 1;

// One published event. Immutable once published; shared by all subscribers.
struct event {
  std::uint64_t seq = 0;     // 1, 2, 3, ... in publication order, over all kinds
  std::int64_t time_ms = 0;  // when it was published, Unix milliseconds
  event_kind kind = event_kind::twin_update;
  std::string twin;          // the twin, or the relationship's source
  std::string relationship;  // the relationship id (relationship events); else empty
  std::string model;         // the twin's (the source's) model DTMI
  nlohmann::json data;       // the twin or relationship after the change (for deletes, before); readings
  std::size_t bytes = 0;     // about the size of the event as JSON text: what queue bounds count
};
using event_ptr = std::shared_ptr<const event>;

struct subscriber_options {
  std::string name;                               // the metrics label (doppel_bus_*{subscriber="NAME"})
  kind_set kinds = all_kinds;                     // kinds queued to it; 0: none for now (set_kinds)
  std::size_t max_events = 65536;                 // queue bound in events
  std::size_t max_bytes = std::size_t(64) << 20;  // queue bound in bytes (event::bytes)
};

// What take() hands over.
struct event_batch {
  std::vector<event_ptr> events;  // oldest first, seq increasing
  // The queue overflowed since the last take(): `dropped` events were lost before `events`
  // (whose seq shows where the gap was). The overflow state ends with this take().
  bool overflowed = false;
  std::uint64_t dropped = 0;
};

class event_bus;

// One subscriber's queue. Made by event_bus::subscribe(); shared by the bus and the subscriber.
class bus_subscription {
 public:
  // Takes everything queued. Runs on the subscriber's thread; never blocks on publishers for
  // longer than one publish's queue push.
  event_batch take();
  const std::string& name() const { return name_; }

 private:
  friend class event_bus;
  std::string name_;
  std::size_t max_events_ = 0, max_bytes_ = 0;
  std::function<void()> wake_;
  kind_set kinds_ = 0;                       // guarded by the bus's mutex
  std::mutex mu_;                            // below the bus's mutex
  std::vector<event_ptr> queue_;             // guarded by mu_
  std::size_t queued_bytes_ = 0;             // guarded by mu_
  bool overflowed_ = false;                  // guarded by mu_
  bool wake_pending_ = false;                // guarded by mu_: woken and not taken since
  std::uint64_t dropped_since_take_ = 0;     // guarded by mu_
  std::mutex wake_mu_;                       // held while wake_ runs, so unsubscribe can wait for it
  bool closed_ = false;                      // guarded by wake_mu_: unsubscribed, wake no more
  std::atomic<std::size_t> queued_{0};       // metrics: events in queue_
  std::atomic<std::uint64_t> received_{0};   // metrics: events queued, ever
  std::atomic<std::uint64_t> dropped_{0};    // metrics: events lost to overflows
  std::atomic<std::uint64_t> overflows_{0};  // metrics: times it overflowed
};

class event_bus {
 public:
  event_bus() = default;
  event_bus(const event_bus&) = delete;
  event_bus& operator=(const event_bus&) = delete;

  // Whether any subscriber wants events (of kind `k`) now. Lock-free: publishers ask it before
  // building an event; an event published while nobody wants its kind is dropped unnumbered.
  bool wanted() const { return wanted_.load(std::memory_order_relaxed) != 0; }
  bool wanted(event_kind k) const { return (wanted_.load(std::memory_order_relaxed) & kind_bit(k)) != 0; }

  // Publishes a durable change (its kind one of the wire names above; anything else is a bug).
  // Copies it once (or moves it); then numbers it and queues it to every subscriber wanting its
  // kind in one step, and wakes those with no wake pending after releasing the lock. Any thread.
  void publish(const change_event& e);
  void publish(change_event&& e);

  // Adds a subscriber. Events published after this returns and of the kinds in `o.kinds` are
  // queued to it. `wake` runs on a publishing thread, outside the bus's lock, when events arrive
  // and no wake is pending since the last take(); it must be quick, and must not call
  // unsubscribe() of its own subscription.
  std::shared_ptr<bus_subscription> subscribe(subscriber_options o, std::function<void()> wake);
  // Changes the kinds queued to `s` (0: none; wanted() stops counting it). Returns the seq of
  // the last event published before the change, so the subscriber knows which events queued
  // from now on were published after the change (seq greater than that).
  std::uint64_t set_kinds(const std::shared_ptr<bus_subscription>& s, kind_set kinds);
  // Removes a subscriber and drops its queue. Once it returns, nothing is queued to it and its
  // wake is not running and will not run again.
  void unsubscribe(const std::shared_ptr<bus_subscription>& s);

  std::size_t subscribers() const;
  std::uint64_t published() const { return published_.load(std::memory_order_relaxed); }
  // doppel_bus_* metric families (Prometheus text).
  void render_metrics(std::string& out) const;

 private:
  void publish(std::shared_ptr<event> e);
  void update_wanted();  // mu_ held

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<bus_subscription>> subs_;  // guarded by mu_
  std::uint64_t seq_ = 0;                                // guarded by mu_
  std::atomic<kind_set> wanted_{0};                      // the union of subs_' kinds
  std::atomic<std::uint64_t> published_{0};
};

}  // namespace doppel::twin
