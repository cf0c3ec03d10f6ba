#include "api/metrics.h"

#include <string>

#include "core/prometheus.h"

namespace doppel::api {

metrics::metrics(std::vector<std::string> routes) : routes_(std::move(routes)), slots_(routes_.size() + 1) {
  routes_.push_back("unmatched");
}

void metrics::record(std::size_t route, std::string_view method, unsigned status, double seconds) {
  if (route >= slots_.size()) route = slots_.size() - 1;
  std::size_t m = k_methods.size() - 1;
  for (std::size_t i = 0; i + 1 < k_methods.size(); ++i) {
    if (method == k_methods[i]) m = i;
  }
  std::size_t s = k_statuses.size() - 1;  // 0: any other status
  for (std::size_t i = 0; i + 1 < k_statuses.size(); ++i) {
    if (status == k_statuses[i]) s = i;
  }
  auto& slot = slots_[route];
  slot.count[m][s].fetch_add(1, std::memory_order_relaxed);
  std::size_t b = 0;
  while (b < k_buckets.size() && seconds > k_buckets[b]) ++b;
  slot.bucket[b].fetch_add(1, std::memory_order_relaxed);
  slot.micros.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void metrics::render(std::string& out) const {
  prometheus::writer w(out);
  w.family("doppel_http_requests_total", "HTTP requests answered, by route pattern, method and status.",
           prometheus::metric_type::counter);
  for (std::size_t r = 0; r < slots_.size(); ++r) {
    for (std::size_t m = 0; m < k_methods.size(); ++m) {
      for (std::size_t s = 0; s < k_statuses.size(); ++s) {
        std::uint64_t n = slots_[r].count[m][s].load(std::memory_order_relaxed);
        if (!n) continue;
        w.sample("doppel_http_requests_total",
                 {{"route", routes_[r]},
                  {"method", k_methods[m]},
                  {"status", k_statuses[s] ? std::to_string(k_statuses[s]) : "other"}},
                 n);
      }
    }
  }
  w.family("doppel_http_request_duration_seconds", "Time from a request's arrival to its response, by route.",
           prometheus::metric_type::histogram);
  for (std::size_t r = 0; r < slots_.size(); ++r) {
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= k_buckets.size(); ++b) cumulative += slots_[r].bucket[b].load();
    if (!cumulative) continue;
    cumulative = 0;
    for (std::size_t b = 0; b <= k_buckets.size(); ++b) {
      cumulative += slots_[r].bucket[b].load(std::memory_order_relaxed);
      std::string le = b < k_buckets.size() ? prometheus::format_double(k_buckets[b]) : "+Inf";
      w.sample("doppel_http_request_duration_seconds_bucket", {{"route", routes_[r]}, {"le", le}}, cumulative);
    }
    w.sample("doppel_http_request_duration_seconds_sum", {{"route", routes_[r]}},
             static_cast<double>(slots_[r].micros.load()) / 1e6);
    w.sample("doppel_http_request_duration_seconds_count", {{"route", routes_[r]}}, cumulative);
  }
}

}  // namespace doppel::api
