// What the route areas (routes/*.cpp) share: statuses of the lower layers as HTTP answers, JSON
// answers, the completions of durable writes, and binding an area's member functions as handlers.
// Internal to doppel_api. Threading: free functions without state.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/router.h"
#include "core/status.h"
#include "store/timeseries/history.h"
#include "twin/graph.h"

namespace doppel::api::detail {

// router::error under the short name the handlers use.
inline response error(unsigned status, std::string_view code, std::string message,
                      const std::string& details_json = "[]") {
  return router::error(status, code, std::move(message), details_json);
}

// The HTTP status and error code of a status from the lower layers: for a failure the twin layer
// names as Azure Digital Twins does (status::reason, twin/errors.h), ADT's status and that name;
// otherwise by its code (invalid_argument: 400 ValidationFailed, precondition_mismatch: 412
// PreconditionFailed, as ADT; the others Doppel's own: 404 not_found, 409 conflict, ...).
std::pair<unsigned, std::string_view> http_status(const status& s);
// A lower layer's failure as an error response (validation messages become "details").
response from_status(const status& s);
// ok when `component` is a component of twin `id`'s model (empty: when the twin exists); else
// not_found naming the twin (no such twin), or the component and the components the model has.
// ADT's component routes answer 404 for a property, a telemetry or an unknown name alike.
status find_component(const twin::twin_graph& graph, const std::string& id, const std::string& component);
// The twins a query selects (SELECT T FROM DIGITALTWINS T ..., or one twin of a JOIN), every
// page, sorted and without repeats, into `twins`; or the error answer: 400 bad_query for a query
// that does not parse or does not select twins, 400 bad_request beyond `max_twins`.
std::optional<response> twins_of_query(const twin::twin_graph& graph, const std::string& query, std::uint64_t max_work,
                                       std::size_t max_twins, std::vector<std::string>& twins);
// A numeric series' points with from <= t < to as (time, value), integers and booleans as
// numbers; empty for a series that does not exist or holds text. At most a million points.
std::vector<std::pair<std::int64_t, double>> numeric_points(const ts::history& history, const std::string& twin,
                                                            const std::string& name, std::int64_t from,
                                                            std::int64_t to);
// `body` as a JSON response (invalid UTF-8 replaced).
response json_response(unsigned code, const nlohmann::json& body);

// The completion of a write: the stored document with its ETag (status `ok_status`), 204 for
// null, or the error.
twin::completion<nlohmann::json> respond_with(std::function<void(response)> send, unsigned ok_status);
// The completion of a PATCH, as ADT answers it: 204 with the new ETag.
twin::completion<nlohmann::json> etag_only(std::function<void(response)> send);

// A member function of an area's handler object as a route handler; the handler shares the
// object, which lives as long as the router's table.
template <class Area>
router::handler bind_route(std::shared_ptr<Area> area, void (Area::*fn)(route_context&)) {
  return [area = std::move(area), fn](route_context& c) { ((*area).*fn)(c); };
}

}  // namespace doppel::api::detail
