#include "api/routes.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "api/routes/common.h"
#include "twin/errors.h"

namespace doppel::api {

using nlohmann::json;

namespace {

using detail::bind_route;
using detail::error;
using detail::from_status;
using detail::json_response;

// POST /query: the ADT-style query language over twins and relationships (twin/query.h), a page
// at a time; it runs on a query worker.
class query_routes {
 public:
  query_routes(twin::twin_graph& graph, std::uint64_t query_max_work)
      : graph_(graph), query_max_work_(query_max_work) {}
  void post_query(route_context& c);

 private:
  twin::twin_graph& graph_;
  std::uint64_t query_max_work_;
};

void query_routes::post_query(route_context& c) {
  json body;
  if (!c.body_json(body)) return;
  bool has_token = body.is_object() && body.contains("continuationToken") && body["continuationToken"].is_string();
  if (has_token && !body.contains("query")) body["query"] = "";  // the token carries the query
  if (!body.is_object() || !body.contains("query") || !body["query"].is_string()) {
    return c.send(error(400, "bad_request",
                        "the body must be {\"query\": \"SELECT * FROM DIGITALTWINS\"} (with an optional "
                        "\"continuationToken\")"));
  }
  twin::query_options options;
  options.limits.max_work = query_max_work_;
  if (body.contains("continuationToken") && !body["continuationToken"].is_null()) {
    if (!body["continuationToken"].is_string()) {
      return c.send(error(400, "bad_request", "continuationToken must be the string the previous page returned"));
    }
    options.continuation_token = body["continuationToken"].get<std::string>();
  }
  if (auto n = c.req.header("max-items-per-page"); !n.empty()) {
    std::size_t v = 0;
    for (char ch : n) v = (ch >= '0' && ch <= '9' && v < 100000) ? v * 10 + static_cast<std::size_t>(ch - '0') : 0;
    if (v == 0 || v > options.limits.max_page_size) {
      return c.send(
          error(400, "bad_request", "max-items-per-page must be 1-" + std::to_string(options.limits.max_page_size)));
    }
    options.page_size = v;
  }
  auto page = graph_.query(body["query"].get<std::string>(), options);
  if (!page) {
    if (page.error().code() == status_code::invalid_argument) {
      // ADT's codes: SqlQueryError for the query, BadRequest for its continuation token.
      std::string_view code = page.error().reason().empty() ? twin::errors::sql_query_error : page.error().reason();
      return c.send(error(400, code, page.error().message()));
    }
    return c.send(from_status(page.error()));
  }
  c.send(json_response(200, *page));
}

}  // namespace

void add_query_routes(router& r, twin::twin_graph& graph) {
  auto h = std::make_shared<query_routes>(graph, r.options().query_max_work);
  r.add("POST", "/query", role::viewer, false,
        "Query twins and relationships: {\"query\": \"SELECT ...\", \"continuationToken\": ...}; "
        "page size from the max-items-per-page header",
        bind_route(h, &query_routes::post_query), execution::query_worker);
}

}  // namespace doppel::api
