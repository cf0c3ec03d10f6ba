#include "api/events.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/prometheus.h"

namespace doppel::api {

namespace {

// The kinds `/events` streams: every kind on the bus today (docs/api.md lists them). A kind
// added to the bus later is streamed only once it is listed here and documented.
constexpr twin::kind_set k_streamed = twin::all_kinds;

// The kinds a subscriber's `type` filters take: "twin.update" that kind, "twin" every twin.*.
twin::kind_set kinds_of(const std::vector<std::string>& types) {
  if (types.empty()) return k_streamed;
  twin::kind_set kinds = 0;
  for (std::size_t i = 0; i < twin::event_kind_count; ++i) {
    auto k = static_cast<twin::event_kind>(i);
    std::string_view wire = twin::wire_name(k);
    for (const auto& t : types) {
      if (wire == t || (wire.size() > t.size() && wire.compare(0, t.size(), t) == 0 && wire[t.size()] == '.')) {
        kinds |= twin::kind_bit(k);
      }
    }
  }
  return kinds & k_streamed;
}

void append_json_string(std::string& out, const std::string& s) {
  out += nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The event as docs/api.md shows it: members in name order (as nlohmann writes an object), the
// data written straight from the event instead of copied into a new document first.
std::string event_text(const twin::event& e) {
  std::string out = R"({"data":)";
  out += e.data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += R"(,"model":)";
  append_json_string(out, e.model);
  if (!e.relationship.empty()) {
    out += R"(,"relationship":)";
    append_json_string(out, e.relationship);
  }
  out += R"(,"seq":)";
  out += std::to_string(e.seq);
  out += R"(,"timeMs":)";
  out += std::to_string(e.time_ms);
  out += R"(,"twin":)";
  append_json_string(out, e.twin);
  out += R"(,"type":")";
  out += twin::wire_name(e.kind);
  out += "\"}";
  return out;
}

}  // namespace

std::vector<std::shared_ptr<const std::string>> subscription::take(bool& overflowed) {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<const std::string>> out(std::make_move_iterator(queue_.begin()),
                                                      std::make_move_iterator(queue_.end()));
  queue_.clear();
  if (hub_bytes_) hub_bytes_->fetch_sub(queued_bytes_, std::memory_order_relaxed);
  queued_bytes_ = 0;
  woken_ = false;
  overflowed = overflowed_;
  return out;
}

event_hub::event_hub(twin::event_bus& bus, const model::model_registry& models, std::size_t bound,
                     std::size_t max_bytes)
    : bus_(bus), models_(models), bound_(bound), max_bytes_(max_bytes) {
  twin::subscriber_options o;
  o.name = "websocket";
  o.kinds = 0;  // none until a WebSocket subscribes: publishers build no events for nobody
  o.max_events = std::max<std::size_t>(std::size_t(64) << 10, 16 * bound);
  o.max_bytes = std::max<std::size_t>(std::size_t(64) << 20, 4 * max_bytes);
  bus_sub_ = bus_.subscribe(std::move(o), [this] {
    {
      std::lock_guard lock(wake_mu_);
      woken_ = true;
    }
    wake_cv_.notify_one();
  });
  thread_ = std::thread([this] { run(); });
}

event_hub::~event_hub() {
  bus_.unsubscribe(bus_sub_);  // no wake runs after this
  {
    std::lock_guard lock(wake_mu_);
    stop_ = true;
  }
  wake_cv_.notify_one();
  thread_.join();
}

void event_hub::run() {
  std::unique_lock lock(wake_mu_);
  for (;;) {
    wake_cv_.wait(lock, [this] { return woken_ || stop_; });
    if (stop_) return;
    woken_ = false;
    lock.unlock();
    twin::event_batch batch = bus_sub_->take();
    fan_out(batch);
    lock.lock();
  }
}

std::shared_ptr<subscription> event_hub::subscribe(event_filter filter, std::function<void()> wake) {
  auto s = std::make_shared<subscription>();
  s->twins_ = std::move(filter.twins);
  s->models_ = std::move(filter.models);
  s->kinds_ = kinds_of(filter.types);
  s->bound_ = bound_;
  s->max_bytes_ = max_bytes_;
  s->hub_bytes_ = &queued_bytes_;
  s->wake_ = std::move(wake);
  std::lock_guard lock(mu_);
  subs_.push_back(s);
  // Under mu_, so the hub's thread (which reads after_ under mu_) sees it set.
  s->after_ = bus_.set_kinds(bus_sub_, kinds_wanted());
  return s;
}

void event_hub::unsubscribe(const std::shared_ptr<subscription>& s) {
  {
    std::lock_guard lock(s->mu_);
    queued_bytes_.fetch_sub(s->queued_bytes_, std::memory_order_relaxed);
    s->queued_bytes_ = 0;
    s->queue_.clear();
    s->closed_ = true;
  }
  std::lock_guard lock(mu_);
  auto it = std::find(subs_.begin(), subs_.end(), s);
  if (it == subs_.end()) return;  // unsubscribed twice (a revoked token, then the close)
  subs_.erase(it);
  bus_.set_kinds(bus_sub_, kinds_wanted());
}

twin::kind_set event_hub::kinds_wanted() const {
  twin::kind_set kinds = 0;
  for (const auto& s : subs_) kinds |= s->kinds_;
  return kinds;
}

bool event_hub::matches(const subscription& s, const twin::event& e) const {
  if (e.seq <= s.after_ || (s.kinds_ & twin::kind_bit(e.kind)) == 0) return false;
  if (!s.twins_.empty() && std::find(s.twins_.begin(), s.twins_.end(), e.twin) == s.twins_.end()) return false;
  if (!s.models_.empty()) {
    const model::interface* m = models_.find(e.model);
    bool any = false;
    for (const auto& want : s.models_) any = any || (m ? m->is_a(want) : e.model == want);
    if (!any) return false;
  }
  return true;
}

bool event_hub::overflow(subscription& s) {
  if (s.overflowed_ || s.closed_) return false;
  s.overflowed_ = true;  // told and dropped by its session
  s.queue_.clear();
  queued_bytes_.fetch_sub(s.queued_bytes_, std::memory_order_relaxed);
  s.queued_bytes_ = 0;
  dropped_subscribers_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void event_hub::fan_out(twin::event_batch& batch) {
  std::vector<std::shared_ptr<subscription>> subs;
  {
    std::lock_guard lock(mu_);
    subs = subs_;
  }
  auto wake = [](subscription& s) {
    bool first = !s.woken_;
    s.woken_ = true;
    return first && s.wake_;
  };
  if (batch.overflowed) {
    // The hub fell behind the bus and events are lost: every WebSocket that may have wanted one
    // must learn it (one subscribed meanwhile is told too; it reconnects).
    for (const auto& s : subs) {
      bool call = false;
      {
        std::lock_guard lock(s->mu_);
        call = overflow(*s) && wake(*s);
      }
      if (call) s->wake_();
    }
  }
  received_.fetch_add(batch.events.size(), std::memory_order_relaxed);
  for (const twin::event_ptr& e : batch.events) {
    std::shared_ptr<const std::string> text;  // written once, for the first subscriber it matches
    for (const auto& s : subs) {
      if (!matches(*s, *e)) continue;
      if (!text) text = std::make_shared<const std::string>(event_text(*e));
      bool call = false;
      {
        std::lock_guard lock(s->mu_);
        if (s->overflowed_ || s->closed_) continue;
        if (s->queue_.size() >= s->bound_ || s->queued_bytes_ + text->size() > s->max_bytes_) {
          overflow(*s);
        } else {
          s->queue_.push_back(text);
          s->queued_bytes_ += text->size();
          queued_bytes_.fetch_add(text->size(), std::memory_order_relaxed);
          std::size_t peak = peak_bytes_.load(std::memory_order_relaxed);
          while (s->queued_bytes_ > peak && !peak_bytes_.compare_exchange_weak(peak, s->queued_bytes_)) {
          }
          delivered_.fetch_add(1, std::memory_order_relaxed);
        }
        call = wake(*s);
      }
      if (call) s->wake_();
    }
  }
}

std::size_t event_hub::subscribers() const {
  std::lock_guard lock(mu_);
  return subs_.size();
}

void event_hub::render_metrics(std::string& out) const {
  prometheus::writer w(out);
  w.counter("doppel_events_published_total",
            "Change events the WebSocket hub took from the event bus (none are built while nobody subscribes).",
            received_.load());
  w.counter("doppel_events_queued_total", "Events queued to WebSocket subscribers.", delivered_.load());
  w.counter("doppel_events_dropped_subscribers_total", "Subscribers dropped for falling behind.",
            dropped_subscribers_.load());
  w.gauge("doppel_events_subscribers", "WebSocket subscribers connected.", subscribers());
  w.gauge("doppel_events_queued_bytes", "Bytes of events waiting in subscribers' queues.", queued_bytes_.load());
  w.gauge("doppel_events_queue_peak_bytes", "The most one subscriber's queue has held.", peak_bytes_.load());
  w.gauge("doppel_events_queue_max_bytes", "The bound of each subscriber's queue (api.events_queue_bytes).",
          max_bytes_);
}

}  // namespace doppel::api
