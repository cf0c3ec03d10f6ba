// Request metrics for /metrics (Prometheus text format 0.0.4): requests by route, method and
// status, latency histograms per route, and gauges the server reads when it is scraped.
//
// Callers: the router records every request (record) and renders the page (render). Threading:
// record() is lock-free (atomic counters in fixed slots) and may run on any thread; render()
// may run concurrently with it and sees each counter at some recent value.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace doppel::api {

class metrics {
 public:
  // `routes` are the route patterns (e.g. "/digitaltwins/{id}"); index = route id. One extra
  // slot counts requests that matched no route.
  explicit metrics(std::vector<std::string> routes);

  void record(std::size_t route, std::string_view method, unsigned status, double seconds);

  // Appends the request families; the caller adds its gauges.
  void render(std::string& out) const;

  static constexpr std::array<unsigned, 17> k_statuses{200, 201, 204, 400, 401, 403, 404, 405, 409,
                                                       412, 413, 415, 422, 429, 500, 503, 0};
  static constexpr std::array<const char*, 6> k_methods{"GET", "PUT", "PATCH", "POST", "DELETE", "OTHER"};
  static constexpr std::array<double, 12> k_buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                    0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

 private:
  struct route_slot {
    std::array<std::array<std::atomic<std::uint64_t>, k_statuses.size()>, k_methods.size()> count{};
    std::array<std::atomic<std::uint64_t>, k_buckets.size() + 1> bucket{};  // +Inf last
    std::atomic<std::uint64_t> micros{0};                                   // sum of latencies
  };
  std::vector<std::string> routes_;
  std::vector<route_slot> slots_;
};

}  // namespace doppel::api
