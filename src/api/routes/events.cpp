#include "api/routes.h"

#include <nlohmann/json.hpp>

#include <memory>

#include "api/routes/common.h"

namespace doppel::api {

using nlohmann::json;

namespace {

using detail::bind_route;
using detail::error;

// GET /events is a WebSocket, which the server upgrades before routing (server.cpp); the route
// is listed so that /openapi.json shows it and a plain GET learns what to do.
class event_routes {
 public:
  void get_events(route_context& c);
};

void event_routes::get_events(route_context& c) {
  response r = error(426, "upgrade_required",
                     "/events is a WebSocket: connect with Upgrade: websocket (e.g. new WebSocket(\"ws://HOST/events"
                     "?token=TOKEN\") in a browser, or websocat)");
  r.headers.push_back({"Upgrade", "websocket"});
  c.send(std::move(r));
}

}  // namespace

void add_event_routes(router& r) {
  auto h = std::make_shared<event_routes>();
  r.add("GET", "/events", role::viewer, false,
        "Change events as a WebSocket (send Upgrade: websocket): ?twin=, ?model=, ?type= (each repeatable) "
        "filter them; ?token= carries the token for browsers, which cannot set Authorization on a WebSocket",
        bind_route(h, &event_routes::get_events));
}

}  // namespace doppel::api
