#include "twin/event_bus.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <chrono>

#include "core/prometheus.h"

namespace doppel::twin {

namespace {

constexpr std::array<std::string_view, event_kind_count> k_wire_names = {
    "twin.create",         "twin.update",         "twin.delete",    "relationship.create",
    "relationship.update", "relationship.delete", "twin.telemetry",
};

// About the length of `j` as JSON text, without writing it: a walk is much cheaper than dump(),
// and a queue bound needs the order of magnitude, not the byte.
std::size_t json_bytes(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::object: {
      std::size_t n = 2;
      for (const auto& [key, value] : j.get_ref<const nlohmann::json::object_t&>())
        n += key.size() + 4 + json_bytes(value);
      return n;
    }
    case nlohmann::json::value_t::array: {
      std::size_t n = 2;
      for (const auto& value : j.get_ref<const nlohmann::json::array_t&>()) n += 1 + json_bytes(value);
      return n;
    }
    case nlohmann::json::value_t::string: return j.get_ref<const std::string&>().size() + 2;
    case nlohmann::json::value_t::binary: return j.get_binary().size() * 4;
    default: return 8;  // numbers, booleans, null
  }
}

std::shared_ptr<event> make_event(event_kind kind, std::string twin, std::string relationship, std::string model,
                                  nlohmann::json data) {
  auto e = std::make_shared<event>();
  e->kind = kind;
  e->twin = std::move(twin);
  e->relationship = std::move(relationship);
  e->model = std::move(model);
  e->data = std::move(data);
  // The envelope: seq, time, type and the names (see docs/api.md, "Live events").
  e->bytes = 100 + e->twin.size() + e->relationship.size() + e->model.size() + json_bytes(e->data);
  return e;
}

}  // namespace

std::string_view wire_name(event_kind k) { return k_wire_names[static_cast<std::size_t>(k)]; }

std::optional<event_kind> parse_event_kind(std::string_view wire) {
  for (std::size_t i = 0; i < k_wire_names.size(); ++i) {
    if (k_wire_names[i] == wire) return static_cast<event_kind>(i);
  }
  return std::nullopt;
}

event_batch bus_subscription::take() {
  event_batch b;
  std::lock_guard lock(mu_);
  b.events.swap(queue_);
  queued_bytes_ = 0;
  queued_.store(0, std::memory_order_relaxed);
  b.overflowed = overflowed_;
  b.dropped = dropped_since_take_;
  overflowed_ = false;
  dropped_since_take_ = 0;
  wake_pending_ = false;
  return b;
}

void event_bus::publish(const change_event& e) {
  std::optional<event_kind> kind = parse_event_kind(e.kind);
  assert(kind && "change_event::kind must be a wire name of event_bus.h");
  if (!kind || !wanted(*kind)) return;
  publish(make_event(*kind, e.twin, e.relationship, e.model, e.data));
}

void event_bus::publish(change_event&& e) {
  std::optional<event_kind> kind = parse_event_kind(e.kind);
  assert(kind && "change_event::kind must be a wire name of event_bus.h");
  if (!kind || !wanted(*kind)) return;
  publish(make_event(*kind, std::move(e.twin), std::move(e.relationship), std::move(e.model), std::move(e.data)));
}

void event_bus::publish(std::shared_ptr<event> e) {
  const kind_set bit = kind_bit(e->kind);
  std::vector<std::shared_ptr<bus_subscription>> to_wake;  // usually stays empty (no allocation)
  {
    // Numbering and queuing are one step: a publisher that took a seq cannot be overtaken by
    // another before its event is in every queue, so every queue is in seq order.
    std::lock_guard lock(mu_);
    if ((wanted_.load(std::memory_order_relaxed) & bit) == 0) return;  // unsubscribed meanwhile
    e->seq = ++seq_;
    e->time_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    event_ptr shared = std::move(e);
    for (const auto& s : subs_) {
      if ((s->kinds_ & bit) == 0) continue;
      std::lock_guard sl(s->mu_);
      if (s->overflowed_) {
        ++s->dropped_since_take_;
        s->dropped_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (s->queue_.size() >= s->max_events_ || s->queued_bytes_ + shared->bytes > s->max_bytes_) {
        // Fell behind: drop what it holds rather than grow or wait; it hears so on take().
        std::size_t lost = s->queue_.size() + 1;
        s->queue_.clear();
        s->queued_bytes_ = 0;
        s->queued_.store(0, std::memory_order_relaxed);
        s->overflowed_ = true;
        s->dropped_since_take_ += lost;
        s->dropped_.fetch_add(lost, std::memory_order_relaxed);
        s->overflows_.fetch_add(1, std::memory_order_relaxed);
      } else {
        s->queue_.push_back(shared);
        s->queued_bytes_ += shared->bytes;
        s->queued_.store(s->queue_.size(), std::memory_order_relaxed);
        s->received_.fetch_add(1, std::memory_order_relaxed);
      }
      if (!s->wake_pending_) {
        s->wake_pending_ = true;
        to_wake.push_back(s);
      }
    }
    published_.fetch_add(1, std::memory_order_relaxed);
  }
  // Outside the bus's lock: a wake may take its time without holding up other publishers.
  for (const auto& s : to_wake) {
    std::lock_guard wl(s->wake_mu_);
    if (!s->closed_ && s->wake_) s->wake_();
  }
}

std::shared_ptr<bus_subscription> event_bus::subscribe(subscriber_options o, std::function<void()> wake) {
  auto s = std::make_shared<bus_subscription>();
  s->name_ = std::move(o.name);
  s->max_events_ = std::max<std::size_t>(1, o.max_events);
  s->max_bytes_ = o.max_bytes;
  s->wake_ = std::move(wake);
  s->kinds_ = o.kinds & all_kinds;
  std::lock_guard lock(mu_);
  subs_.push_back(s);
  update_wanted();
  return s;
}

std::uint64_t event_bus::set_kinds(const std::shared_ptr<bus_subscription>& s, kind_set kinds) {
  std::lock_guard lock(mu_);
  s->kinds_ = kinds & all_kinds;
  update_wanted();
  return seq_;
}

void event_bus::unsubscribe(const std::shared_ptr<bus_subscription>& s) {
  {
    std::lock_guard lock(mu_);
    subs_.erase(std::remove(subs_.begin(), subs_.end(), s), subs_.end());
    update_wanted();
    std::lock_guard sl(s->mu_);
    s->queue_.clear();
    s->queued_bytes_ = 0;
    s->queued_.store(0, std::memory_order_relaxed);
  }
  // Waits for a wake a publisher may be running right now.
  std::lock_guard wl(s->wake_mu_);
  s->closed_ = true;
}

void event_bus::update_wanted() {
  kind_set any = 0;
  for (const auto& s : subs_) any |= s->kinds_;
  wanted_.store(any, std::memory_order_relaxed);
}

std::size_t event_bus::subscribers() const {
  std::lock_guard lock(mu_);
  return subs_.size();
}

void event_bus::render_metrics(std::string& out) const {
  std::vector<std::shared_ptr<bus_subscription>> subs;
  {
    std::lock_guard lock(mu_);
    subs = subs_;
  }
  prometheus::writer w(out);
  w.counter("doppel_bus_events_published_total", "Events published on the event bus.", published());
  w.gauge("doppel_bus_subscribers", "Subscribers of the event bus.", subs.size());
  auto family = [&](std::string_view name, prometheus::metric_type type, std::string_view help, auto value) {
    w.family(name, help, type);
    for (const auto& s : subs) w.sample(name, {{"subscriber", s->name_}}, value(*s));
  };
  using prometheus::metric_type;
  family("doppel_bus_subscriber_events_total", metric_type::counter, "Events queued to a bus subscriber.",
         [](const bus_subscription& s) { return s.received_.load(std::memory_order_relaxed); });
  family("doppel_bus_subscriber_queued", metric_type::gauge, "Events waiting in a bus subscriber's queue.",
         [](const bus_subscription& s) { return s.queued_.load(std::memory_order_relaxed); });
  family("doppel_bus_subscriber_dropped_total", metric_type::counter,
         "Events a bus subscriber lost because its queue overflowed.",
         [](const bus_subscription& s) { return s.dropped_.load(std::memory_order_relaxed); });
  family("doppel_bus_subscriber_overflows_total", metric_type::counter, "Times a bus subscriber's queue overflowed.",
         [](const bus_subscription& s) { return s.overflows_.load(std::memory_order_relaxed); });
}

}  // namespace doppel::twin
