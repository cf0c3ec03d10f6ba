#include "api/routes.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "api/routes/common.h"
#include "twin/errors.h"

namespace doppel::api {

using nlohmann::json;

namespace {

using detail::bind_route;
using detail::error;
using detail::from_status;
using detail::json_response;
using detail::respond_with;

constexpr std::size_t k_max_models_page = 1000;  // as POST /query's max-items-per-page

json model_summary(const model::interface& i) {
  json contents = json::array();
  for (const model::content* ct : i.contents) {
    json e = {{"name", ct->name}, {"kind", std::string(model::to_string(ct->kind))}};
    if (ct->writable) e["writable"] = true;
    if (!ct->unit.empty()) e["unit"] = ct->unit;
    if (!ct->semantic_type.empty()) e["semanticType"] = ct->semantic_type;
    if (ct->declared_in && ct->declared_in != &i) e["declaredIn"] = ct->declared_in->id;
    if (ct->component) e["schema"] = ct->component->id;
    if (!ct->target.empty()) e["target"] = ct->target;
    contents.push_back(std::move(e));
  }
  json extends = json::array();
  for (const auto* b : i.extends) extends.push_back(b->id);
  // displayName and description stay the language maps of ADT's model data (clients read
  // displayName.en), so they are not repeated here.
  json out = {{"id", i.id}, {"dtdlVersion", static_cast<int>(i.version)}, {"extends", extends}};
  out["contents"] = std::move(contents);
  return out;
}

// Models: upload, list, read, decommission, delete.
class model_routes {
 public:
  model_routes(twin::twin_graph& graph, const model::model_registry& models) : graph_(graph), models_(models) {}
  void list_models(route_context& c);
  void get_model(route_context& c);
  void post_models(route_context& c);
  void patch_model(route_context& c);
  void delete_model(route_context& c);

 private:
  twin::twin_graph& graph_;
  const model::model_registry& models_;
};

// ADT pages the list by the `max-items-per-page` header (absent: every model in one page) with a
// nextLink that goes on after the page's last DTMI. The list is sorted by DTMI, so models uploaded
// or deleted between two pages neither repeat nor shift the others.
void model_routes::list_models(route_context& c) {
  std::vector<std::string> wanted;
  std::string link_query;  // what the nextLink repeats
  for (const auto& [k, v] : c.query) {
    // The SDK's listModels([]) sends an empty `dependenciesFor=`: it means no narrowing, not model "".
    if (k == "dependenciesFor" && !v.empty()) {
      wanted.push_back(v);
      link_query += "&dependenciesFor=" + percent_encode(v);
    }
  }
  bool definition = c.query_param("includeModelDefinition") == "true";
  if (definition) link_query += "&includeModelDefinition=true";
  std::size_t page_size = 0;  // 0: no limit
  if (auto n = c.req.header("max-items-per-page"); !n.empty()) {
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), page_size);
    if (ec != std::errc() || end != n.data() + n.size() || page_size == 0 || page_size > k_max_models_page) {
      return c.send(error(400, "bad_request", "max-items-per-page must be 1-" + std::to_string(k_max_models_page)));
    }
  }
  std::string after = c.query_param("continuationToken");
  bool paged = page_size != 0 || !after.empty();
  // A paged list reads the definitions of its page only.
  auto r = graph_.list_models(wanted, definition && !paged);
  if (!r) return c.send(from_status(r.error()));
  if (!paged) return c.send(json_response(200, {{"value", std::move(*r)}}));

  json page = json::array();
  std::string next;
  for (json& m : *r) {
    std::string id = m["id"].get<std::string>();
    if (!after.empty() && id <= after) continue;
    if (page_size != 0 && page.size() == page_size) {
      next = "/models?continuationToken=" + percent_encode(page.back()["id"].get<std::string>()) + link_query;
      break;
    }
    if (definition) {
      auto d = graph_.model_data(id, true);
      if (!d) continue;  // deleted meanwhile
      m = std::move(*d);
    }
    page.push_back(std::move(m));
  }
  json out = {{"value", std::move(page)}};
  if (!next.empty()) out["nextLink"] = next;
  c.send(json_response(200, out));
}

void model_routes::get_model(route_context& c) {
  auto r = graph_.model_data(c.params[0], c.query_param("includeModelDefinition") == "true");
  if (!r) return c.send(from_status(r.error()));
  // The registry still has it: interfaces handed out stay valid even if it is deleted now.
  if (const model::interface* i = models_.find(c.params[0])) r->update(model_summary(*i));
  c.send(json_response(200, *r));
}

void model_routes::post_models(route_context& c) {
  json body;
  if (!c.body_json(body)) return;  // a syntax error is a 400 with its place, as for every body
  if (!body.is_array() && !body.is_object()) {
    return c.send(error(400, twin::errors::invalid_argument, "$: the body must be an array of DTDL interfaces"));
  }
  // The text as sent, so that the parser's line:column point into the request body.
  std::vector<model::source> sources{{"request body", std::move(c.req.body)}};
  auto send = c.done;
  graph_.add_models(std::move(sources), [send](result<json> r) {
    if (!r) return send(from_status(r.error()));
    send(json_response(201, *r));
  });
}

void model_routes::patch_model(route_context& c) {
  json patch;
  if (!c.body_json(patch)) return;
  // ADT accepts exactly one change here, and only in one direction.
  bool ok = patch.is_array() && patch.size() == 1 && patch[0].is_object() && patch[0].value("op", "") == "replace" &&
            patch[0].value("path", "") == "/decommissioned" && patch[0].contains("value") && patch[0]["value"] == true;
  if (!ok) {
    return c.send(error(400, twin::errors::json_patch_invalid,
                        "$: a model accepts one patch: [{\"op\": \"replace\", \"path\": \"/decommissioned\", "
                        "\"value\": true}]; decommissioning cannot be undone (delete and upload the model again)"));
  }
  graph_.decommission_model(c.params[0], respond_with(c.done, 204));
}

void model_routes::delete_model(route_context& c) { graph_.delete_model(c.params[0], respond_with(c.done, 204)); }

}  // namespace

void add_model_routes(router& r, twin::twin_graph& graph, const model::model_registry& models) {
  auto h = std::make_shared<model_routes>(graph, models);
  r.add("GET", "/models", role::viewer, false,
        "List the models (?includeModelDefinition=true, ?dependenciesFor=dtmi, repeatable); page size from the "
        "max-items-per-page header, nextLink pages on",
        bind_route(h, &model_routes::list_models));
  r.add("GET", "/models/{id}", role::viewer, false,
        "One model: its upload state and contents, flattened (?includeModelDefinition=true)",
        bind_route(h, &model_routes::get_model));
  r.add("POST", "/models", role::admin, false, "Upload DTDL models: a JSON array of interfaces, all or nothing",
        bind_route(h, &model_routes::post_models));
  r.add("PATCH", "/models/{id}", role::admin, false,
        "Decommission a model: [{\"op\": \"replace\", \"path\": \"/decommissioned\", \"value\": true}]",
        bind_route(h, &model_routes::patch_model));
  r.add("DELETE", "/models/{id}", role::admin, false, "Delete an uploaded model that no twin or model uses",
        bind_route(h, &model_routes::delete_model));
}

}  // namespace doppel::api
