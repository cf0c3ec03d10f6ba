#include "api/events.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace doppel::api {

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

event_hub::event_hub(const model::model_registry& models, std::size_t bound, std::size_t max_bytes)
    : models_(models), bound_(bound), max_bytes_(max_bytes) {}

std::shared_ptr<subscription> event_hub::subscribe(event_filter filter, std::function<void()> wake) {
  auto s = std::make_shared<subscription>();
  s->filter_ = std::move(filter);
  s->bound_ = bound_;
  s->max_bytes_ = max_bytes_;
  s->hub_bytes_ = &queued_bytes_;
  s->wake_ = std::move(wake);
  std::lock_guard lock(mu_);
  subs_.push_back(s);
  count_.store(subs_.size(), std::memory_order_relaxed);
  return s;
}

void event_hub::unsubscribe(const std::shared_ptr<subscription>& s) {
  {
    std::lock_guard lock(s->mu_);
    queued_bytes_.fetch_sub(s->queued_bytes_, std::memory_order_relaxed);
    s->queued_bytes_ = 0;
    s->queue_.clear();
  }
  std::lock_guard lock(mu_);
  subs_.erase(std::remove(subs_.begin(), subs_.end(), s), subs_.end());
  count_.store(subs_.size(), std::memory_order_relaxed);
}

bool event_hub::matches(const event_filter& f, const twin::change_event& e) const {
  if (!f.twins.empty() && std::find(f.twins.begin(), f.twins.end(), e.twin) == f.twins.end()) return false;
  if (!f.types.empty()) {
    bool any = false;
    for (const auto& t : f.types) {
      any = any || t == e.kind ||
            (e.kind.size() > t.size() && e.kind.compare(0, t.size(), t) == 0 && e.kind[t.size()] == '.');
    }
    if (!any) return false;
  }
  if (!f.models.empty()) {
    const model::interface* m = models_.find(e.model);
    bool any = false;
    for (const auto& want : f.models) any = any || (m ? m->is_a(want) : e.model == want);
    if (!any) return false;
  }
  return true;
}

void event_hub::publish(const twin::change_event& e) {
  std::vector<std::shared_ptr<subscription>> targets;
  {
    std::lock_guard lock(mu_);
    for (const auto& s : subs_) {
      if (matches(s->filter_, e)) targets.push_back(s);
    }
  }
  std::uint64_t seq = ++seq_;  // also the count of events published
  if (targets.empty()) return;
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  nlohmann::json j = {{"seq", seq}, {"type", e.kind}, {"twin", e.twin}, {"model", e.model}, {"timeMs", now.count()}};
  if (!e.relationship.empty()) j["relationship"] = e.relationship;
  j["data"] = e.data;
  auto text = std::make_shared<const std::string>(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  for (const auto& s : targets) {
    bool wake = false;
    {
      std::lock_guard lock(s->mu_);
      if (s->overflowed_) continue;
      if (s->queue_.size() >= s->bound_ || s->queued_bytes_ + text->size() > s->max_bytes_) {
        s->overflowed_ = true;  // told and dropped by its session
        s->queue_.clear();
        queued_bytes_.fetch_sub(s->queued_bytes_, std::memory_order_relaxed);
        s->queued_bytes_ = 0;
        dropped_subscribers_.fetch_add(1, std::memory_order_relaxed);
      } else {
        s->queue_.push_back(text);
        s->queued_bytes_ += text->size();
        queued_bytes_.fetch_add(text->size(), std::memory_order_relaxed);
        std::size_t peak = peak_bytes_.load(std::memory_order_relaxed);
        while (s->queued_bytes_ > peak && !peak_bytes_.compare_exchange_weak(peak, s->queued_bytes_)) {
        }
        delivered_.fetch_add(1, std::memory_order_relaxed);
      }
      wake = !s->woken_;
      s->woken_ = true;
    }
    if (wake && s->wake_) s->wake_();
  }
}

std::size_t event_hub::subscribers() const {
  std::lock_guard lock(mu_);
  return subs_.size();
}

void event_hub::render_metrics(std::string& out) const {
  char buf[768];
  std::snprintf(
      buf, sizeof buf,
      "# HELP doppel_events_published_total Change events fanned out (none are built while nobody subscribes).\n"
      "# TYPE doppel_events_published_total counter\ndoppel_events_published_total %llu\n"
      "# HELP doppel_events_queued_total Events queued to WebSocket subscribers.\n"
      "# TYPE doppel_events_queued_total counter\ndoppel_events_queued_total %llu\n"
      "# HELP doppel_events_dropped_subscribers_total Subscribers dropped for falling behind.\n"
      "# TYPE doppel_events_dropped_subscribers_total counter\n"
      "doppel_events_dropped_subscribers_total %llu\n"
      "# HELP doppel_events_subscribers WebSocket subscribers connected.\n"
      "# TYPE doppel_events_subscribers gauge\ndoppel_events_subscribers %zu\n",
      static_cast<unsigned long long>(seq_.load()), static_cast<unsigned long long>(delivered_.load()),
      static_cast<unsigned long long>(dropped_subscribers_.load()), subscribers());
  out += buf;
  std::snprintf(buf, sizeof buf,
                "# HELP doppel_events_queued_bytes Bytes of events waiting in subscribers' queues.\n"
                "# TYPE doppel_events_queued_bytes gauge\ndoppel_events_queued_bytes %zu\n"
                "# HELP doppel_events_queue_peak_bytes The most one subscriber's queue has held.\n"
                "# TYPE doppel_events_queue_peak_bytes gauge\ndoppel_events_queue_peak_bytes %zu\n"
                "# HELP doppel_events_queue_max_bytes The bound of each subscriber's queue "
                "(api.events_queue_bytes).\n"
                "# TYPE doppel_events_queue_max_bytes gauge\ndoppel_events_queue_max_bytes %zu\n",
                queued_bytes_.load(), peak_bytes_.load(), max_bytes_);
  out += buf;
}

}  // namespace doppel::api
