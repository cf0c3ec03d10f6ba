#include "api/routes.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "api/routes/common.h"
#include "core/status.h"
#include "core/text.h"
#include "twin/errors.h"

namespace doppel::api {

using nlohmann::json;

namespace {

using detail::bind_route;
using detail::error;
using detail::etag_only;
using detail::from_status;
using detail::json_response;
using detail::respond_with;

// Twins, their desired state and their relationships, as Azure Digital Twins' data plane has them.
class twin_routes {
 public:
  // `enforce_writable` (api.enforce_writable): refuse API writes of properties the model does not
  // mark writable. Off by default, as in Azure Digital Twins, which lets any client allowed to
  // write set every property.
  twin_routes(twin::twin_graph& graph, bool enforce_writable) : graph_(graph), enforce_writable_(enforce_writable) {}
  void get_twin(route_context& c);
  void put_twin(route_context& c);
  void patch_twin(route_context& c);
  void delete_twin(route_context& c);
  void get_desired(route_context& c);
  void patch_desired(route_context& c);
  void list_relationships(route_context& c);
  void list_incoming(route_context& c);
  void get_relationship(route_context& c);
  void put_relationship(route_context& c);
  void patch_relationship(route_context& c);
  void delete_relationship(route_context& c);
  void get_component(route_context& c);
  void patch_component(route_context& c);

 private:
  twin::twin_graph& graph_;
  bool enforce_writable_;
};

void twin_routes::get_twin(route_context& c) {
  auto t = graph_.get_twin(c.params[0]);
  if (!t) return c.send(from_status(t.error()));
  response r = json_response(200, *t);
  r.headers.push_back({"ETag", (*t)["$etag"].get<std::string>()});
  c.send(std::move(r));
}

void twin_routes::put_twin(route_context& c) {
  json body;
  if (!c.body_json(body)) return;
  twin::check_options options;
  options.allow_read_only = !enforce_writable_;
  graph_.put_twin(c.params[0], std::move(body), c.condition(), options, respond_with(c.done, 200));
}

void twin_routes::patch_twin(route_context& c) {
  json patch;
  if (!c.body_json(patch)) return;
  // As in Azure Digital Twins: 204 with the new ETag, unless the client asks for the twin.
  twin::check_options options;
  options.allow_read_only = !enforce_writable_;
  options.reply_with_body = c.req.header("prefer").find("return=representation") != std::string_view::npos;
  if (options.reply_with_body) {
    return graph_.patch_twin(c.params[0], patch, c.condition(), options, respond_with(c.done, 200));
  }
  graph_.patch_twin(c.params[0], patch, c.condition(), options, etag_only(c.done));
}

void twin_routes::delete_twin(route_context& c) {
  graph_.delete_twin(c.params[0], c.condition(), respond_with(c.done, 204));
}

void twin_routes::get_desired(route_context& c) {
  auto d = graph_.desired_state(c.params[0]);
  if (!d) return c.send(from_status(d.error()));
  c.send(json_response(200, *d));
}

void twin_routes::patch_desired(route_context& c) {
  json desired;
  if (!c.body_json(desired)) return;
  graph_.set_desired(c.params[0], desired, c.condition(), respond_with(c.done, 200));
}

void twin_routes::list_relationships(route_context& c) {
  if (status s = detail::find_component(graph_, c.params[0], ""); !s.is_ok()) return c.send(from_status(s));
  std::string name = c.query_param("relationshipName");
  json value = json::array();
  for (auto& r : graph_.outgoing(c.params[0])) {
    if (name.empty() || r.value("$relationshipName", "") == name) value.push_back(std::move(r));
  }
  c.send(json_response(200, {{"value", std::move(value)}}));
}

void twin_routes::list_incoming(route_context& c) {
  if (status s = detail::find_component(graph_, c.params[0], ""); !s.is_ok()) return c.send(from_status(s));
  json value = json::array();
  for (const auto& r : graph_.incoming(c.params[0])) {
    value.push_back(
        {{"$relationshipId", r["$relationshipId"]},
         {"$sourceId", r["$sourceId"]},
         {"$relationshipName", r["$relationshipName"]},
         {"$relationshipLink", "/digitaltwins/" + percent_encode(r["$sourceId"].get<std::string>()) +
                                   "/relationships/" + percent_encode(r["$relationshipId"].get<std::string>())}});
  }
  c.send(json_response(200, {{"value", std::move(value)}}));
}

void twin_routes::get_relationship(route_context& c) {
  auto r = graph_.get_relationship(c.params[0], c.params[1]);
  if (!r) return c.send(from_status(r.error()));
  response res = json_response(200, *r);
  res.headers.push_back({"ETag", (*r)["$etag"].get<std::string>()});
  c.send(std::move(res));
}

void twin_routes::put_relationship(route_context& c) {
  json body;
  if (!c.body_json(body)) return;
  graph_.put_relationship(c.params[0], c.params[1], std::move(body), c.condition(), respond_with(c.done, 200));
}

void twin_routes::patch_relationship(route_context& c) {
  json patch;
  if (!c.body_json(patch)) return;
  auto current = graph_.get_relationship(c.params[0], c.params[1]);
  if (!current) return c.send(from_status(current.error()));
  if (!patch.is_array()) {
    return c.send(error(400, twin::errors::json_patch_invalid, "a JSON Patch is an array of operations", "[]"));
  }
  for (std::size_t i = 0; i < patch.size(); ++i) {
    const auto& op = patch[i];
    std::string path = op.is_object() ? op.value("path", "") : "";
    if (path.rfind("/$", 0) == 0) {
      return c.send(error(400, twin::errors::json_patch_invalid,
                          "$[" + std::to_string(i) + "].path: " + quote(path) +
                              " is managed by the server; patch the relationship's properties only"));
    }
  }
  json patched;
  try {
    patched = current->patch(patch);
  } catch (const json::exception& e) {
    // nlohmann names the failing operation and path after its "[json.exception...] " prefix.
    std::string what = e.what();
    auto bracket = what.find("] ");
    return c.send(
        error(400, twin::errors::json_patch_invalid,
              "$: the patch cannot be applied: " + (bracket == std::string::npos ? what : what.substr(bracket + 2))));
  }
  // The patch was computed from the version just read: without If-Match, still make sure
  // nobody wrote in between, so the patch never silently undoes another write.
  twin::condition cond = c.condition();
  if (cond.if_match.empty())
    cond.if_match = (*current)["$etag"].get<std::string>();
  else if (cond.if_match != "*" && cond.if_match != (*current)["$etag"]) {
    return c.send(from_status(status::precondition_mismatch("relationship " + quote(c.params[1]) + " has etag " +
                                                            (*current)["$etag"].get<std::string>() + ", not " +
                                                            cond.if_match + " (If-Match)")));
  }
  if (c.req.header("prefer").find("return=representation") != std::string_view::npos) {
    return graph_.put_relationship(c.params[0], c.params[1], std::move(patched), cond, respond_with(c.done, 200));
  }
  graph_.put_relationship(c.params[0], c.params[1], std::move(patched), cond, etag_only(c.done));
}

void twin_routes::delete_relationship(route_context& c) {
  graph_.delete_relationship(c.params[0], c.params[1], c.condition(), respond_with(c.done, 204));
}

void twin_routes::get_component(route_context& c) {
  // The twin first, then its model: one read of the twin, and its etag is the component's.
  auto t = graph_.get_twin(c.params[0]);
  if (!t) return c.send(from_status(t.error()));
  if (status s = detail::find_component(graph_, c.params[0], c.params[1]); !s.is_ok()) return c.send(from_status(s));
  auto it = t->find(c.params[1]);
  if (it == t->end()) {
    // Not reachable while twins must hold every component of their model; the model may have
    // been replaced between the two reads.
    return c.send(
        from_status(status::not_found("twin " + quote(c.params[0]) + " has no component " + quote(c.params[1]))
                        .with_reason(twin::errors::component_not_found)));
  }
  response r = json_response(200, *it);
  r.headers.push_back({"ETag", (*t)["$etag"].get<std::string>()});
  c.send(std::move(r));
}

// A JSON Pointer relative to the component, made relative to the twin: "/limit" -> "/motor/limit"
// and "" (the component itself) -> "/motor". Text that is no pointer stays as it is, for the
// twin's patch check to refuse with its own message.
std::string component_pointer(const std::string& component, const std::string& pointer) {
  if (!pointer.empty() && pointer[0] != '/') return pointer;
  std::string out = "/";
  for (char ch : component) {
    if (ch == '~') {
      out += "~0";
    } else if (ch == '/') {
      out += "~1";
    } else {
      out += ch;
    }
  }
  return out + pointer;
}

void twin_routes::patch_component(route_context& c) {
  json patch;
  if (!c.body_json(patch)) return;
  if (status s = detail::find_component(graph_, c.params[0], c.params[1]); !s.is_ok()) return c.send(from_status(s));
  // The component's patch becomes the twin's, so that it is checked (the whole twin against its
  // model) and made durable exactly as PATCH /digitaltwins/{id} is; a malformed patch is passed on
  // unchanged for that check to refuse.
  if (patch.is_array()) {
    for (auto& op : patch) {
      if (!op.is_object()) continue;
      for (const char* key : {"path", "from"}) {
        auto it = op.find(key);
        if (it != op.end() && it->is_string()) *it = component_pointer(c.params[1], it->get<std::string>());
      }
    }
  }
  twin::check_options options;
  options.allow_read_only = !enforce_writable_;
  options.reply_with_body = c.req.header("prefer").find("return=representation") != std::string_view::npos;
  if (!options.reply_with_body) return graph_.patch_twin(c.params[0], patch, c.condition(), options, etag_only(c.done));
  graph_.patch_twin(c.params[0], patch, c.condition(), options,
                    [send = c.done, component = c.params[1]](result<json> r) {
                      if (!r) return send(from_status(r.error()));
                      response res = json_response(200, (*r)[component]);
                      res.headers.push_back({"ETag", (*r)["$etag"].get<std::string>()});
                      send(std::move(res));
                    });
}

}  // namespace

void add_twin_routes(router& r, twin::twin_graph& graph) {
  auto h = std::make_shared<twin_routes>(graph, r.options().enforce_writable);
  r.add("GET", "/digitaltwins/{id}", role::viewer, false, "Get a twin", bind_route(h, &twin_routes::get_twin));
  r.add("PUT", "/digitaltwins/{id}", role::admin, false, "Create or replace a twin (If-Match, If-None-Match: *)",
        bind_route(h, &twin_routes::put_twin));
  r.add("PATCH", "/digitaltwins/{id}", role::admin, false, "Update a twin with a JSON Patch (If-Match)",
        bind_route(h, &twin_routes::patch_twin));
  r.add("DELETE", "/digitaltwins/{id}", role::admin, false, "Delete a twin without relationships (If-Match)",
        bind_route(h, &twin_routes::delete_twin));
  r.add("GET", "/digitaltwins/{id}/desired", role::viewer, false, "Desired and reported state and their delta",
        bind_route(h, &twin_routes::get_desired));
  r.add("PATCH", "/digitaltwins/{id}/desired", role::operator_, false,
        "Set desired values of writable properties (JSON merge; null clears)",
        bind_route(h, &twin_routes::patch_desired));
  r.add("GET", "/digitaltwins/{id}/relationships", role::viewer, false,
        "Relationships from a twin (?relationshipName=)", bind_route(h, &twin_routes::list_relationships));
  r.add("GET", "/digitaltwins/{id}/incomingrelationships", role::viewer, false, "Relationships to a twin",
        bind_route(h, &twin_routes::list_incoming));
  r.add("GET", "/digitaltwins/{id}/relationships/{relId}", role::viewer, false, "Get a relationship",
        bind_route(h, &twin_routes::get_relationship));
  r.add("PUT", "/digitaltwins/{id}/relationships/{relId}", role::admin, false,
        "Create or replace a relationship (If-Match, If-None-Match: *)", bind_route(h, &twin_routes::put_relationship));
  r.add("PATCH", "/digitaltwins/{id}/relationships/{relId}", role::admin, false,
        "Update a relationship's properties with a JSON Patch (If-Match)",
        bind_route(h, &twin_routes::patch_relationship));
  r.add("DELETE", "/digitaltwins/{id}/relationships/{relId}", role::admin, false, "Delete a relationship (If-Match)",
        bind_route(h, &twin_routes::delete_relationship));
  r.add("GET", "/digitaltwins/{id}/components/{component}", role::viewer, false,
        "Get a component of a twin, with its $metadata (ETag: the twin's)", bind_route(h, &twin_routes::get_component));
  r.add("PATCH", "/digitaltwins/{id}/components/{component}", role::admin, false,
        "Update a component with a JSON Patch whose paths are relative to it (If-Match)",
        bind_route(h, &twin_routes::patch_component));
}

}  // namespace doppel::api
