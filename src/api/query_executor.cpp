#include "api/query_executor.h"

#include <algorithm>

#include "core/prometheus.h"

namespace doppel::api {

query_executor::query_executor(query_executor_options options) : options_(options) {
  if (options_.workers == 0) {
    unsigned cores = std::thread::hardware_concurrency();
    options_.workers = cores > 1 ? cores - 1 : 1;
  }
  for (std::size_t i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { work(); });
}

query_executor::~query_executor() { stop(); }

void query_executor::stop() {
  std::deque<job> dropped;  // destroyed outside the lock: they hold connections
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

query_executor::admission query_executor::submit(const std::string& token, std::function<void()> run) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return admission::queue_full;
    std::size_t& mine = by_token_[token];
    if (mine >= options_.per_token) {
      ++refused_token_;
      return admission::token_busy;
    }
    // Waiting counts only when no worker is free to take the query at once.
    std::size_t free = options_.workers > running_ ? options_.workers - running_ : 0;
    if (queue_.size() >= free + options_.queue) {
      if (mine == 0) by_token_.erase(token);
      ++refused_full_;
      return admission::queue_full;
    }
    ++mine;
    queue_.push_back({token, std::move(run)});
  }
  cv_.notify_one();
  return admission::accepted;
}

void query_executor::work() {
  for (;;) {
    job j;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      j = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    j.run();
    std::lock_guard lock(mu_);
    --running_;
    ++done_;
    auto it = by_token_.find(j.token);
    if (it != by_token_.end() && --it->second == 0) by_token_.erase(it);
  }
}

void query_executor::render_metrics(std::string& out) const {
  std::lock_guard lock(mu_);
  prometheus::writer w(out);
  w.gauge("doppel_queries_running", "Queries running on the query workers.", running_);
  w.gauge("doppel_queries_queued", "Queries waiting for a query worker.", queue_.size());
  w.gauge("doppel_query_workers", "Threads that run queries (api.query_workers).", options_.workers);
  w.counter("doppel_queries_total", "Queries the workers finished.", done_);
  w.family("doppel_queries_refused_total",
           "Queries refused: the wait queue was full (503) or the token ran its limit (429).",
           prometheus::metric_type::counter)
      .sample("doppel_queries_refused_total", {{"reason", "queue_full"}}, refused_full_)
      .sample("doppel_queries_refused_total", {{"reason", "token_busy"}}, refused_token_);
}

}  // namespace doppel::api
