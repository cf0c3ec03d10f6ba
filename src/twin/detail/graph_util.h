// Small helpers shared by the files that implement twin_graph (graph.cpp, graph_models.cpp).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <future>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/conformance.h"

namespace doppel::twin::detail {

// Validation problems as "path: message; path: message", the shape the API splits into details.
inline std::string join_errors(const std::vector<model::value_error>& errors) {
  std::string out;
  for (const auto& e : errors) out += (out.empty() ? "" : "; ") + e.path + ": " + e.message;
  return out;
}

// RFC 3339 UTC with milliseconds, as ADT writes lastUpdateTime and uploadTime.
inline std::string rfc3339(std::int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // sized for any int fields, so GCC can prove no truncation
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
  return buf;
}

inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::string now_rfc3339() { return rfc3339(now_ms()); }

// Runs an asynchronous write and waits for its completion.
template <typename F>
result<nlohmann::json> wait_for(F&& start) {
  std::promise<result<nlohmann::json>> promise;
  auto future = promise.get_future();
  start([&promise](result<nlohmann::json> r) { promise.set_value(std::move(r)); });
  return future.get();
}

inline status to_status(const result<nlohmann::json>& r) { return r ? status::ok() : r.error(); }

}  // namespace doppel::twin::detail
