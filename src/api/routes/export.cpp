#include "api/routes.h"

#include <nlohmann/json.hpp>

#include <memory>

#include "api/export.h"
#include "api/routes/common.h"

namespace doppel::api {

using nlohmann::json;

namespace {

using detail::bind_route;

// GET /telemetry/export: pages of many twins' history (api/export.h).
class export_routes {
 public:
  export_routes(const twin::twin_graph& graph, const ts::history& history) : graph_(graph), history_(&history) {}
  void get_telemetry_export(route_context& c);

 private:
  const twin::twin_graph& graph_;
  const ts::history* history_;
};

void export_routes::get_telemetry_export(route_context& c) { c.send(export_history(graph_, *history_, c.query)); }

}  // namespace

void add_export_routes(router& r, const twin::twin_graph& graph, const ts::history& history) {
  auto h = std::make_shared<export_routes>(graph, history);
  r.add("GET", "/telemetry/export", role::viewer, false,
        "History of many twins as InfluxDB line protocol or CSV (?format=lp|csv, ?from=, ?to=, ?twin= repeatable, "
        "?limit= points per page); a Link header (rel=\"next\") pages on",
        bind_route(h, &export_routes::get_telemetry_export));
}

}  // namespace doppel::api
