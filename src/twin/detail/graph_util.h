// Small helpers shared by the files that implement twin_graph (graph.cpp, graph_models.cpp).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <future>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "model/conformance.h"

namespace doppel::twin::detail {

// Validation problems as "path: message; path: message", the shape the API splits into details.
inline std::string join_errors(const std::vector<model::value_error>& errors) {
  std::string out;
  for (const auto& e : errors) out += (out.empty() ? "" : "; ") + e.path + ": " + e.message;
  return out;
}

inline std::string now_rfc3339() { return rfc3339_ms(unix_time_ms()); }

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
