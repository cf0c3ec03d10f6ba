#include <nlohmann/json.hpp>

#include <memory>

#include "api/routes.h"
#include "api/routes/common.h"
#include "core/text.h"
#include "sim/live.h"
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
  simulation_routes(const twin::twin_graph& graph, std::vector<std::shared_ptr<const sim::live_binding>> bindings,
                    std::shared_ptr<const sim::live_board> board)
      : graph_(graph), bindings_(std::move(bindings)), board_(std::move(board)) {}
  void get_simulation(route_context& c);

 private:
  const twin::twin_graph& graph_;
  std::vector<std::shared_ptr<const sim::live_binding>> bindings_;
  std::shared_ptr<const sim::live_board> board_;
};

void simulation_routes::get_simulation(route_context& c) {
  const std::string& id = c.params[0];
  const model::interface* m = graph_.model_of(id);
  if (!m) return c.send(from_status(twin::errors::twin_not_found(id)));
  const sim::live_binding* bound = nullptr;
  for (const auto& b : bindings_) {
    if (m->is_a(b->spec.model)) {
      bound = b.get();
      break;
    }
  }
  if (!bound) {
    return c.send(error(404, "not_found",
                        "twin " + quote(id) + " (model " + m->id +
                            ") has no live simulation; bind an equation model to its model in doppel.yaml under "
                            "simulation.live (docs/simulation.md)"));
  }
  if (auto run = board_->get(id)) return c.send(json_response(200, *run));
  // Bound, but no reading has started its run yet.
  c.send(json_response(200, json{{"equations", bound->spec.equations}, {"state", "waiting"}}));
}

}  // namespace

void add_simulation_routes(router& r, const twin::twin_graph& graph,
                           std::vector<std::shared_ptr<const sim::live_binding>> bindings,
                           std::shared_ptr<const sim::live_board> board) {
  auto h = std::make_shared<simulation_routes>(graph, std::move(bindings), std::move(board));
  r.add("GET", "/digitaltwins/{id}/simulation", role::viewer, false,
        "The twin's live simulation (simulation.live in doppel.yaml): its equation model, state (running, failed "
        "with the error, or waiting for the first reading), where it stands in the twin's time, and its values",
        bind_route(h, &simulation_routes::get_simulation));
}

}  // namespace doppel::api
