#include "api/routes.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>

#include "api/routes/common.h"
#include "core/prometheus.h"

namespace doppel::api {

using nlohmann::json;

namespace {

using detail::bind_route;
using detail::json_response;

// /healthz, /metrics and /openapi.json: what operators and tools read about the server itself.
class system_routes {
 public:
  system_routes(router& routes, const twin::twin_graph& graph, const ts::history& history)
      : routes_(routes), graph_(graph), history_(&history) {}
  void get_healthz(route_context& c);
  void get_metrics(route_context& c);
  void get_openapi(route_context& c);

 private:
  router& routes_;
  const twin::twin_graph& graph_;
  const ts::history* history_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

void system_routes::get_healthz(route_context& c) {
  status h = graph_.health();
  json body = {{"status", h ? "ok" : "failing"},
               {"twins", graph_.twin_count()},
               {"uptimeSeconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count()}};
  if (!h) body["reason"] = h.message();
  if (history_) {
    // What the last start could not replay from the telemetry logs (docs/formats/history-log.md).
    const ts::recovery_report& rr = history_->recovery();
    json skipped = json::array();
    for (const ts::skipped_range& s : rr.skipped) {
      skipped.push_back(
          {{"file", s.file.filename().string()}, {"offset", s.offset}, {"bytes", s.bytes}, {"reason", s.reason}});
    }
    body["history"] = {{"replayedPoints", rr.replayed},
                       {"tornBytes", rr.torn_bytes},
                       {"skippedRanges", rr.skipped_ranges},
                       {"skippedBytes", rr.skipped_bytes},
                       {"skipped", std::move(skipped)}};
  }
  if (json connectors = routes_.connector_health(); !connectors.empty()) body["connectors"] = std::move(connectors);
  c.send(json_response(h ? 200 : 503, body));
}

void system_routes::get_metrics(route_context& c) {
  response r;
  r.content_type = "text/plain; version=0.0.4";
  routes_.render_request_metrics(r.body);
  prometheus::writer(r.body)
      .gauge("doppel_twins", "Twins in the graph.", graph_.twin_count())
      .gauge("doppel_relationships", "Relationships in the graph.", graph_.relationship_count())
      .gauge("doppel_up", "1 while the server accepts writes, 0 after a storage failure.", graph_.health() ? 1 : 0);
  routes_.render_metric_sources(r.body);
  c.send(std::move(r));
}

void system_routes::get_openapi(route_context& c) {
  response r;
  r.body = routes_.openapi();
  c.send(std::move(r));
}

}  // namespace

void add_system_routes(router& r, const twin::twin_graph& graph, const ts::history& history) {
  auto h = std::make_shared<system_routes>(r, graph, history);
  r.add("GET", "/healthz", role::viewer, true, "Liveness and readiness: 200 while the server can write",
        bind_route(h, &system_routes::get_healthz));
  r.add("GET", "/metrics", role::viewer, false, "Prometheus metrics", bind_route(h, &system_routes::get_metrics));
  r.add("GET", "/openapi.json", role::viewer, true, "This API as an OpenAPI 3 document",
        bind_route(h, &system_routes::get_openapi));
}

}  // namespace doppel::api
