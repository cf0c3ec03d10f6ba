#include <nlohmann/json.hpp>

#include <cmath>
#include <memory>

#include "api/routes.h"
#include "api/routes/common.h"
#include "core/text.h"
#include "sim/live.h"
#include "store/timeseries/aggregate.h"
#include "twin/errors.h"

namespace doppel::api {

using nlohmann::json;

namespace {

using detail::bind_route;
using detail::error;
using detail::from_status;
using detail::json_response;

// GET /digitaltwins/{id}/simulation: the twin's live run (sim/live.h).
class simulation_routes {
 public:
  simulation_routes(const twin::twin_graph& graph, const ts::history& history,
                    std::vector<std::shared_ptr<const sim::live_binding>> bindings,
                    std::shared_ptr<sim::live_board> board, std::function<std::int64_t()> now)
      : graph_(graph),
        history_(history),
        bindings_(std::move(bindings)),
        board_(std::move(board)),
        now_(std::move(now)) {}
  void get_simulation(route_context& c);
  void post_fit(route_context& c);

 private:
  // The binding for the twin's model, or the error answer (no twin, no binding).
  const sim::live_binding* binding_of(route_context& c, const std::string& id);

  const twin::twin_graph& graph_;
  const ts::history& history_;
  std::vector<std::shared_ptr<const sim::live_binding>> bindings_;
  std::shared_ptr<sim::live_board> board_;
  std::function<std::int64_t()> now_;
};

const sim::live_binding* simulation_routes::binding_of(route_context& c, const std::string& id) {
  const model::interface* m = graph_.model_of(id);
  if (!m) {
    c.send(from_status(twin::errors::twin_not_found(id)));
    return nullptr;
  }
  for (const auto& b : bindings_) {
    if (m->is_a(b->spec.model)) return b.get();
  }
  c.send(error(404, "not_found",
               "twin " + quote(id) + " (model " + m->id +
                   ") has no live simulation; bind an equation model to its model in doppel.yaml under "
                   "simulation.live (docs/simulation.md)"));
  return nullptr;
}

void simulation_routes::post_fit(route_context& c) {
  json body;
  if (!c.body_json(body)) return;
  const std::string& id = c.params[0];
  const sim::live_binding* bound = binding_of(c, id);
  if (!bound) return;
  if (!body.is_object())
    return c.send(error(400, "bad_request", "$: the body must be an object such as {\"window\": \"1h\"}"));
  sim::live_fit_request request;
  bool apply = false;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "tune") {
      if (!v.is_array()) return c.send(error(400, "bad_request", "$.tune: must be a list of parameter names"));
      for (const json& n : v) {
        if (!n.is_string()) return c.send(error(400, "bad_request", "$.tune: must be a list of parameter names"));
        request.tune.push_back(n.get<std::string>());
      }
    } else if (key == "window") {
      std::int64_t ns = 0;
      if (!v.is_string() || !ts::parse_step(v.get<std::string>(), ns) || ns <= 0) {
        return c.send(error(400, "bad_request", "$.window: a duration such as \"1h\" or \"PT30M\""));
      }
      request.window_ns = ns;
    } else if (key == "apply") {
      if (!v.is_boolean()) return c.send(error(400, "bad_request", "$.apply: true or false"));
      apply = v.get<bool>();
    } else if (key == "maxIterations") {
      if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 1000) {
        return c.send(error(400, "bad_request", "$.maxIterations: 1-1000"));
      }
      request.max_iterations = static_cast<int>(v.get<std::int64_t>());
    } else {
      return c.send(
          error(400, "bad_request", "$." + key + ": unknown key; known keys are tune, window, apply, maxIterations"));
    }
  }
  // From where the live run stands (its time and parameters), else up to now.
  auto snap = board_->fork(id);
  request.to_ns = snap ? snap->time_ns : now_();
  std::vector<double> values = snap ? snap->values : std::vector<double>();
  auto read = [this](const std::string& twin, const std::string& name, std::int64_t from, std::int64_t to) {
    return detail::numeric_points(history_, twin, name, from, to);
  };
  std::vector<std::pair<std::size_t, double>> fitted;
  auto r = sim::fit_live(*bound, id, values, request, read, fitted);
  if (!r) {
    if (r.error().code() == status_code::invalid_argument)
      return c.send(error(400, "bad_request", r.error().message()));
    return c.send(error(422, "fit_failed", r.error().message()));
  }
  (*r)["applied"] = apply && board_->set_parameters(id, std::move(fitted));
  c.send(json_response(200, *r));
}

void simulation_routes::get_simulation(route_context& c) {
  const std::string& id = c.params[0];
  const sim::live_binding* bound = binding_of(c, id);
  if (!bound) return;
  if (auto run = board_->get(id)) return c.send(json_response(200, *run));
  // Bound, but no reading has started its run yet.
  c.send(json_response(200, json{{"equations", bound->spec.equations}, {"state", "waiting"}}));
}

}  // namespace

void add_simulation_routes(router& r, const twin::twin_graph& graph, const ts::history& history,
                           std::vector<std::shared_ptr<const sim::live_binding>> bindings,
                           std::shared_ptr<sim::live_board> board, std::function<std::int64_t()> now) {
  auto h = std::make_shared<simulation_routes>(graph, history, std::move(bindings), std::move(board), std::move(now));
  r.add("GET", "/digitaltwins/{id}/simulation", role::viewer, false,
        "The twin's live simulation (simulation.live in doppel.yaml): its equation model, state (running, failed "
        "with the error, or waiting for the first reading), where it stands in the twin's time, and its values",
        bind_route(h, &simulation_routes::get_simulation));
  r.add("POST", "/digitaltwins/{id}/simulation/fit", role::operator_, false,
        "Fit the live run's tunable parameters to the twin's history over a window ({\"tune\", \"window\": \"1h\", "
        "\"apply\": true}): parameters and RMS error before and after; with apply, the run takes the fitted values",
        bind_route(h, &simulation_routes::post_fit), execution::query_worker);
}

}  // namespace doppel::api
