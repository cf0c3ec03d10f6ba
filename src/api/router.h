// The API's routes: Azure-Digital-Twins-shaped twins, relationships, models and query, Doppel's
// desired state, /healthz, /metrics and /openapi.json; with bearer-token auth, roles, a
// per-token rate limit, CORS and the JSON error shape
//   {"error": {"code": "...", "message": "...", "details": [{"path": "...", "message": "..."}]}}
// Every route is listed in one table (routes()), which /openapi.json and /metrics are built from.
//
// Callers: the HTTP server, once per request, on its I/O threads. Threading: handle() is safe
// to call concurrently. Its completion runs once, on the calling thread or, for writes, on the
// metadata store's writer thread once the write is durable: it must only hand the response back
// to the connection's executor.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/auth.h"
#include "api/http.h"
#include "api/metrics.h"
#include "api/query_executor.h"
#include "ingest/dead_letters.h"
#include "ingest/pipeline.h"
#include "model/registry.h"
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
};

struct route_info {
  std::string method;
  std::string pattern;  // "/digitaltwins/{id}"
  role needs = role::viewer;
  bool public_ = false;  // no token needed
  std::string summary;
};

class router {
 public:
  router(twin::twin_graph& graph, const model::model_registry& models, token_store& tokens, api_options options);

  // Telemetry ingestion (POST /telemetry, /write, GET /deadletters, .../telemetry). Without it
  // those routes answer 503. Set before serving; both must outlive the router's use.
  void set_ingest(ingest::telemetry_pipeline* pipeline, ingest::dead_letters* letters,
                  const ts::history* history = nullptr) {
    pipeline_ = pipeline;
    letters_ = letters;
    history_ = history;
  }

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

  // Waits for the queries running on the query workers and drops those waiting. Call after
  // the server has stopped and before it is destroyed: their answers go to its connections.
  void stop_queries();

  // Extra metric families, appended to /metrics by whoever owns them (e.g. the event hub).
  void add_metrics_source(std::function<void(std::string&)> source);
  // Connectors' health, listed under "connectors" in GET /healthz (informational: a broker
  // that is down does not make the server unhealthy; it reconnects on its own).
  void add_health_source(std::function<nlohmann::json()> source);

  // Builds an error response in the API's shape.
  static response error(unsigned status, std::string_view code, std::string message,
                        const std::string& details_json = "[]");

 private:
  struct context;
  using handler = void (router::*)(context&);
  struct entry {
    route_info info;
    std::vector<std::string> segments;  // "{..}" matches one segment
    handler fn;
    std::size_t pattern_index = 0;  // the metrics slot of its pattern
  };

  void add(std::string method, std::string pattern, role needs, bool is_public, std::string summary, handler fn);
  bool rate_allows(const std::string& token);
  void add_cors(const std::string& origin, response& res) const;

  void get_healthz(context& c);
  void get_events(context& c);
  void get_metrics(context& c);
  void get_openapi(context& c);
  void list_models(context& c);
  void get_model(context& c);
  void post_models(context& c);
  void patch_model(context& c);
  void delete_model(context& c);
  void get_twin(context& c);
  void put_twin(context& c);
  void patch_twin(context& c);
  void delete_twin(context& c);
  void get_desired(context& c);
  void patch_desired(context& c);
  void list_relationships(context& c);
  void list_incoming(context& c);
  void get_relationship(context& c);
  void put_relationship(context& c);
  void patch_relationship(context& c);
  void delete_relationship(context& c);
  void post_query(context& c);
  void post_telemetry(context& c);
  void post_telemetry_batch(context& c);
  void post_write(context& c);
  void get_telemetry(context& c);
  void get_telemetry_history(context& c);
  void post_query_telemetry(context& c);
  void get_telemetry_export(context& c);
  void send_aggregates(context& c, const std::string& twin, const std::string& name, std::int64_t from, std::int64_t to,
                       std::size_t limit, const std::string& format, const std::string& step_text,
                       const std::string& agg_text);
  void get_deadletters(context& c);
  // Hands parsed readings to the pipeline and answers for them and for `refused` (parse errors).
  void ingest(context& c, const std::string& source, std::vector<ingest::reading> readings,
              std::vector<ingest::rejection> refused, bool malformed);

  twin::twin_graph& graph_;
  const model::model_registry& models_;
  token_store& tokens_;
  api_options options_;
  std::vector<entry> table_;
  std::vector<route_info> routes_;
  ingest::telemetry_pipeline* pipeline_ = nullptr;
  ingest::dead_letters* letters_ = nullptr;
  const ts::history* history_ = nullptr;
  std::unique_ptr<metrics> metrics_;  // built once the table is known
  // Runs a query route's handler on a query worker, or refuses (503 queue full, 429 token busy).
  void run_query(std::shared_ptr<context> ctx, handler fn);
  std::vector<std::function<void(std::string&)>> metric_sources_;
  std::vector<std::function<nlohmann::json()>> health_sources_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

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
