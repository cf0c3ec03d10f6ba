#include <nlohmann/json.hpp>

#include <memory>
#include <thread>

#include "api/routes.h"
#include "api/routes/common.h"
#include "core/text.h"
#include "core/time.h"
#include "sim/scenario.h"
#include "twin/errors.h"

namespace doppel::api {

using nlohmann::json;

namespace {

using detail::bind_route;
using detail::error;
using detail::from_status;
using detail::json_response;

// /scenarios: what-if runs forked from the twins' live runs (sim/scenario.h).
class scenario_routes {
 public:
  scenario_routes(const twin::twin_graph& graph, const ts::history& history, scenario_parts parts,
                  std::uint64_t query_max_work)
      : graph_(graph), history_(history), parts_(std::move(parts)), query_max_work_(query_max_work) {}
  void post_scenario(route_context& c);
  void list_scenarios(route_context& c);
  void get_scenario(route_context& c);
  void compare_scenario(route_context& c);
  void delete_scenario(route_context& c);

 private:
  const twin::twin_graph& graph_;
  const ts::history& history_;
  scenario_parts parts_;
  std::uint64_t query_max_work_;
};

void scenario_routes::post_scenario(route_context& c) {
  json body;
  if (!c.body_json(body)) return;
  auto spec = sim::parse_scenario_request(body);
  if (!spec) return c.send(error(400, "bad_request", spec.error().message()));
  if (parts_.store->get(spec->id)) {
    return c.send(error(409, "conflict",
                        "scenario " + quote(spec->id) + " exists; give the new one another id, or DELETE /scenarios/" +
                            spec->id + " first"));
  }
  // The twins: listed, selected by a query, or every twin a live binding covers.
  std::vector<std::string> twins;
  if (body.contains("twins") && body.contains("query")) {
    return c.send(error(400, "bad_request", "$: give twins or query, not both"));
  }
  if (body.contains("twins")) {
    const json& list = body["twins"];
    if (!list.is_array() || list.empty())
      return c.send(error(400, "bad_request", "$.twins: must be a list of twin ids"));
    for (const json& id : list) {
      if (!id.is_string()) return c.send(error(400, "bad_request", "$.twins: must be a list of twin ids"));
      if (!graph_.model_of(id.get<std::string>())) {
        return c.send(from_status(status::not_found("$.twins: twin " + quote(id.get<std::string>()) + " does not exist")
                                      .with_reason(twin::errors::digital_twin_not_found)));
      }
      twins.push_back(id.get<std::string>());
    }
  } else {
    std::string query = "SELECT T FROM DIGITALTWINS T";
    if (body.contains("query")) {
      if (!body["query"].is_string()) return c.send(error(400, "bad_request", "$.query: must be a query (a string)"));
      query = body["query"].get<std::string>();
    }
    if (auto refused = detail::twins_of_query(graph_, query, query_max_work_, 10000, twins)) {
      return c.send(std::move(*refused));
    }
  }
  const std::int64_t now = parts_.now();
  std::vector<std::string> skipped;
  auto forks = sim::fork_twins(graph_, *parts_.board, parts_.bindings, twins, now, skipped);
  if (forks.empty()) {
    return c.send(error(400, "bad_request",
                        "none of the " + std::to_string(twins.size()) +
                            " twin(s) selected has a live simulation binding (simulation.live in doppel.yaml)"));
  }
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto r = sim::run_scenario(std::move(*spec), std::move(forks), threads, now);
  if (!r) return c.send(error(400, "bad_request", r.error().message()));
  r->skipped = std::move(skipped);
  auto kept = std::make_shared<const sim::scenario_result>(std::move(*r));
  if (status st = parts_.store->put(kept); !st) {
    if (st.code() == status_code::already_exists) return c.send(error(409, "conflict", st.message()));
    return c.send(from_status(st));
  }
  response res = json_response(201, sim::to_json(*kept, false));
  res.headers.emplace_back("Location", "/scenarios/" + kept->spec.id);
  c.send(std::move(res));
}

void scenario_routes::list_scenarios(route_context& c) {
  json list = json::array();
  for (const auto& r : parts_.store->list()) {
    const sim::scenario_variant& best = sim::best_variant(*r);
    json item{{"id", r->spec.id},
              {"created", rfc3339_floor_ms(r->created_ns)},
              {"twins", r->twins.size()},
              {"variants", r->variants.size()}};
    if (!r->spec.description.empty()) item["description"] = r->spec.description;
    if (!r->spec.objective.empty() && best.error.empty()) item["objective"] = best.objective;
    list.push_back(std::move(item));
  }
  c.send(json_response(200, json{{"value", std::move(list)}}));
}

void scenario_routes::get_scenario(route_context& c) {
  auto r = parts_.store->get(c.params[0]);
  if (!r)
    return c.send(
        error(404, "not_found", "scenario " + quote(c.params[0]) + " does not exist; GET /scenarios lists them"));
  std::string series = c.query_param("series");
  if (!series.empty() && series != "true" && series != "false") {
    return c.send(error(400, "bad_request", "series must be true or false"));
  }
  c.send(json_response(200, sim::to_json(*r, series == "true")));
}

void scenario_routes::compare_scenario(route_context& c) {
  auto a = parts_.store->get(c.params[0]);
  if (!a)
    return c.send(
        error(404, "not_found", "scenario " + quote(c.params[0]) + " does not exist; GET /scenarios lists them"));
  std::string with = c.query_param("with");
  if (with.empty()) {
    return c.send(error(400, "bad_request", "?with= names the other scenario, or reality (the twins' history)"));
  }
  if (with == "reality") {
    auto read = [this](const std::string& twin, const std::string& name, std::int64_t from, std::int64_t to) {
      return detail::numeric_points(history_, twin, name, from, to);
    };
    return c.send(json_response(200, sim::compare_with_reality(*a, parts_.bindings, read, parts_.now())));
  }
  auto b = parts_.store->get(with);
  if (!b)
    return c.send(error(404, "not_found", "scenario " + quote(with) + " does not exist; GET /scenarios lists them"));
  c.send(json_response(200, sim::compare(*a, *b)));
}

void scenario_routes::delete_scenario(route_context& c) {
  if (status st = parts_.store->remove(c.params[0]); !st) return c.send(from_status(st));
  response res;
  res.status = 204;
  c.send(std::move(res));
}

}  // namespace

void add_scenario_routes(router& r, const twin::twin_graph& graph, const ts::history& history, scenario_parts parts) {
  auto h = std::make_shared<scenario_routes>(graph, history, std::move(parts), r.options().query_max_work);
  r.add("POST", "/scenarios", role::operator_, false,
        "Run a what-if scenario: fork the live runs of twins (twins, query, or every bound twin), apply parameters "
        "and a schedule, run for a horizon (a sweep over a grid in parallel, ranked by an objective); kept under "
        "its id",
        bind_route(h, &scenario_routes::post_scenario), execution::query_worker);
  r.add("GET", "/scenarios", role::viewer, false, "The scenarios kept",
        bind_route(h, &scenario_routes::list_scenarios));
  r.add("GET", "/scenarios/{id}", role::viewer, false,
        "A scenario: its spec, twins, variants with aggregates, objective and rank (?series=true: every series)",
        bind_route(h, &scenario_routes::get_scenario));
  r.add("GET", "/scenarios/{id}/compare", role::viewer, false,
        "A scenario against another (?with=ID) or against the twins' history (?with=reality), series by series",
        bind_route(h, &scenario_routes::compare_scenario), execution::query_worker);
  r.add("DELETE", "/scenarios/{id}", role::operator_, false, "Remove a scenario",
        bind_route(h, &scenario_routes::delete_scenario));
}

}  // namespace doppel::api
