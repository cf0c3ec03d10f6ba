// The API's routes, by area: each area's file (src/api/routes/*.cpp) adds its routes to the
// router with the parts it needs, passed in here. The composition root (src/app/serve.cpp) calls
// them in the order below, which is the route table's order (/openapi.json sorts it anyway; it
// decides the Allow header's order and which pattern labels the metrics of a path two patterns
// match, e.g. /telemetry/export before POST /telemetry/{id}).
//
// A new layer (simulation, control, ...) adds its routes the same way: a file
// src/api/routes/<area>.cpp with its add_<area>_routes, declared here, and one call in serve.cpp;
// the router core does not change. Handlers use route_context (api/router.h) and answer through
// it; errors in the API's shape (router::error).
//
// Callers: the composition root, before serving (router.h's order of calls). Every referenced
// part must outlive the router's use; the handlers are safe for concurrent use as far as the
// parts they call are (the graph, pipeline, dead letters and history all are).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "api/router.h"
#include "ingest/dead_letters.h"
#include "ingest/pipeline.h"
#include "model/registry.h"
#include "store/timeseries/history.h"
#include "twin/graph.h"

namespace doppel::sim {
struct live_binding;
class live_board;
class scenario_store;
}  // namespace doppel::sim

namespace doppel::api {

// GET /healthz (public), /metrics, /openapi.json (public): the server itself. /healthz reports
// the graph's health, the history's recovery and the router's health sources; /metrics the
// router's request metrics, the graph's gauges and the router's metrics sources.
void add_system_routes(router& r, const twin::twin_graph& graph, const ts::history& history);

// /models and /models/{id}: upload (all or nothing), list, read, decommission, delete.
void add_model_routes(router& r, twin::twin_graph& graph, const model::model_registry& models);

// POST /query, on a query worker, within r.options().query_max_work steps a page.
void add_query_routes(router& r, twin::twin_graph& graph);

// /digitaltwins/{id} (with If-Match), .../desired, .../relationships, .../incomingrelationships,
// .../components/{component} (ADT's getComponent, updateComponent).
void add_twin_routes(router& r, twin::twin_graph& graph);

// GET /digitaltwins/{id}/telemetry/{name} (raw or aggregated history) and POST /query/telemetry
// (aggregated across the twins a query selects, on a query worker).
void add_history_routes(router& r, const twin::twin_graph& graph, const ts::history& history);

// GET /telemetry/export (api/export.h).
void add_export_routes(router& r, const twin::twin_graph& graph, const ts::history& history);

// POST /telemetry/{id}, /telemetry, /write (InfluxDB line protocol), ADT's POST
// /digitaltwins/{id}/telemetry and /digitaltwins/{id}/components/{component}/telemetry,
// GET /deadletters and GET /digitaltwins/{id}/telemetry (the latest values, from the graph's
// telemetry state).
void add_telemetry_routes(router& r, ingest::telemetry_pipeline& pipeline, ingest::dead_letters& letters,
                          const twin::twin_graph& graph);

// GET /digitaltwins/{id}/simulation: the twin's live run of the binding for its model (the first
// of `bindings` its model is or extends), as `board` has it; POST .../simulation/fit (on a query
// worker): its tunable parameters fitted to its history (sim::fit_live), handed to the run on
// request. `now` is the clock (Unix ns).
void add_simulation_routes(router& r, const twin::twin_graph& graph, const ts::history& history,
                           std::vector<std::shared_ptr<const sim::live_binding>> bindings,
                           std::shared_ptr<sim::live_board> board, std::function<std::int64_t()> now);

// What the scenario routes take from the simulation layer: the live bindings and the board of
// live runs (to fork from), where scenarios are kept, and the clock (Unix ns).
struct scenario_parts {
  std::vector<std::shared_ptr<const sim::live_binding>> bindings;
  std::shared_ptr<const sim::live_board> board;
  std::shared_ptr<sim::scenario_store> store;
  std::function<std::int64_t()> now;
};

// POST /scenarios (on a query worker), GET /scenarios, GET and DELETE /scenarios/{id}, GET
// /scenarios/{id}/compare?with=ID|reality (sim/scenario.h).
void add_scenario_routes(router& r, const twin::twin_graph& graph, const ts::history& history, scenario_parts parts);

// GET /events: listed for /openapi.json; a plain GET is told to upgrade (server.cpp serves the
// WebSocket, api/events.h).
void add_event_routes(router& r);

}  // namespace doppel::api
