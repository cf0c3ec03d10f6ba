// The API's router: one table of routes (method, path pattern, role, summary, handler) and what
// every request goes through before its handler: routing (404, 405 with Allow), %-decoding and
// UTF-8 checks, bearer-token auth and roles (401, 403), a per-token rate limit (429), CORS, and
// the JSON error shape
//   {"error": {"code": "...", "message": "...", "details": [{"path": "...", "message": "..."}]}}
// /openapi.json and the request metrics are built from the same table. The routes themselves are
// added by each area from its own file (api/routes.h); a request no route matches may go to the
// static files (api/static_files.h), so API routes always win.
//
// Order of calls: construct; add() every route and set_static_files() (the composition root,
// src/app/serve.cpp, calls the areas' add_*_routes); then handle() from any thread. The table is
// fixed by the first handle(): add() after it is a caller bug and aborts.
//
// Callers: the HTTP server, once per request, on its I/O threads. Threading: handle() is safe
// to call concurrently. Its completion runs once, on the calling thread or, for writes, on the
// metadata store's writer thread once the write is durable: it must only hand the response back
// to the connection's executor.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "api/http.h"
#include "api/metrics.h"
#include "api/query_executor.h"
#include "twin/graph.h"

namespace doppel::api {

struct api_options {
  std::vector<std::string> cors_origins;  // empty: no CORS headers (browsers refuse cross-origin calls)
  double rate_per_second = 0;             // per token; 0: unlimited
  double rate_burst = 0;                  // bucket size; 0: one second's worth
  std::size_t max_body_bytes = 4 << 20;
  // Queries (POST /query, /query/telemetry) run on their own workers (query_executor.h).
  std::size_t query_workers = 0;              // 0: cores - 1, at least one
  std::size_t query_queue = 64;               // waiting for a worker; past it: 503 with Retry-After
  std::size_t queries_per_token = 2;          // running or waiting at once; past it: 429
  std::uint64_t query_max_work = 20'000'000;  // evaluation steps per page; past it: 400
  // PUT and PATCH /digitaltwins/{id} refuse properties the model does not mark writable (400
  // ValidationFailed). False (the default): any property may be written, as in Azure Digital Twins.
  bool enforce_writable = false;
};

// Where a route's handler runs.
enum class execution {
  io_thread,     // at once, on the I/O thread that read the request: for work of microseconds
  query_worker,  // on a query worker (query_executor.h), admitted per token: for work of seconds
};

struct route_info {
  std::string method;
  std::string pattern;  // "/digitaltwins/{id}"
  role needs = role::viewer;
  bool public_ = false;  // no token needed
  std::string summary;
  execution runs = execution::io_thread;
};

// One request as its handler sees it. The handler answers exactly once, through send() (or a
// copy of `done` handed to a completion, e.g. a durable write's), on any thread.
struct route_context {
  request req;
  std::vector<std::string> params;                         // the "{..}" segments, %-decoded, in pattern order
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in request order
  token_info who;                                          // the caller's token; empty for public routes
  std::function<void(response)> done;

  // The first value of a query parameter, or "".
  std::string query_param(std::string_view name) const;
  void send(response r) { done(std::move(r)); }
  // Parses the body as JSON (core/json_input.h's policy); on failure answers 400 and returns false.
  bool body_json(nlohmann::json& out);
  // If-Match / If-None-Match: * of the request.
  twin::condition condition() const;
};

class router {
 public:
  router(token_store& tokens, api_options options);

  const api_options& options() const { return options_; }

  // Adds a route. Patterns are matched segment by segment ("{..}" matches one non-empty
  // segment); when several match a path, the first added decides its metrics label and the
  // order of Allow, so add areas in a fixed order. `fn` must stay callable, and what it
  // references alive, while the router serves. Precondition: before the first handle().
  using handler = std::function<void(route_context&)>;
  void add(std::string method, std::string pattern, role needs, bool is_public, std::string summary, handler fn,
           execution runs = execution::io_thread);

  // Answers the GET and HEAD requests that no route matches, outside the API paths
  // (is_api_path), e.g. with api/static_files.h: public, never rate-limited, counted under the
  // metrics label "static". Without it they are 404s. Set before serving.
  // `path` is the request's path as sent (%-encoded, no query string).
  using fallback = std::function<response(const request& req, std::string_view path)>;
  void set_static_files(fallback files) { static_files_ = std::move(files); }

  using reply = std::function<void(response)>;
  void handle(request req, reply done);

  // Checks a request's token against a role without routing it (the WebSocket upgrade uses
  // this). nullopt when allowed (and `who`, when given, is the token); else the error response.
  std::optional<response> authorize(const request& req, role needs, token_info* who = nullptr);
  // Whether the token with this digest (token_info::digest) is still valid (not revoked).
  bool token_holds(const std::string& digest) { return tokens_.holds(digest); }

  // The name of the valid token a request carries (as authorize() reads it), or empty; counts
  // nothing against the rate limit (the server uses it to cap connections per token).
  std::string token_name(const request& req);

  const std::vector<route_info>& routes() const { return routes_; }
  std::string openapi() const;
  // Whether `path`'s first segment is one that a route starts with ("/digitaltwins/x/y" is an
  // API path even where no route matches it): such paths never fall back to the web app.
  bool is_api_path(std::string_view path) const;

  // Waits for the queries running on the query workers and drops those waiting. Call after
  // the server has stopped and before it is destroyed: their answers go to its connections.
  void stop_queries();

  // Extra metric families, appended to /metrics by whoever owns them (e.g. the event hub).
  void add_metrics_source(std::function<void(std::string&)> source);
  // Connectors' health, listed under "connectors" in GET /healthz (informational: a broker
  // that is down does not make the server unhealthy; it reconnects on its own).
  void add_health_source(std::function<nlohmann::json()> source);

  // For GET /metrics (routes/system.cpp): the request families, then the added sources.
  void render_request_metrics(std::string& out) const;
  void render_metric_sources(std::string& out) const;
  // For GET /healthz: one entry per health source; an empty array when there are none.
  nlohmann::json connector_health() const;

  // Builds an error response in the API's shape.
  static response error(unsigned status, std::string_view code, std::string message,
                        const std::string& details_json = "[]");

 private:
  struct entry {
    route_info info;
    std::vector<std::string> segments;  // "{..}" matches one segment
    handler fn;
    std::size_t pattern_index = 0;  // the metrics slot of its pattern
  };

  bool rate_allows(const std::string& token);
  void add_cors(const std::string& origin, response& res) const;
  // Fixes the table: metrics slots per pattern. Runs once, at the first handle().
  void seal();

  token_store& tokens_;
  api_options options_;
  std::vector<entry> table_;
  std::vector<route_info> routes_;
  std::vector<std::string> api_prefixes_;  // first segments of the patterns
  fallback static_files_;
  std::once_flag sealed_once_;
  std::atomic<bool> sealed_{false};
  std::size_t static_slot_ = 0;       // the metrics slot of the static files
  std::unique_ptr<metrics> metrics_;  // built once the table is known
  // Runs a query route's handler on a query worker, or refuses (503 queue full, 429 token busy).
  void run_query(std::shared_ptr<route_context> ctx, const handler& fn);
  std::vector<std::function<void(std::string&)>> metric_sources_;
  std::vector<std::function<nlohmann::json()>> health_sources_;

  struct bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex rate_mu_;
  std::unordered_map<std::string, bucket> buckets_;  // by token name; guarded by rate_mu_
  // Last: destroyed first, so that the queries it still runs find the router whole.
  std::unique_ptr<query_executor> queries_;
};

}  // namespace doppel::api
