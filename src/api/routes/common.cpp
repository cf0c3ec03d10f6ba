#include "api/routes/common.h"

#include <algorithm>

#include "core/text.h"
#include "model/model.h"
#include "twin/errors.h"

namespace doppel::api::detail {

using nlohmann::json;

namespace {

// ADT's HTTP status of each error code the twin layer uses (twin/errors.h), from ADT's REST API
// reference (data plane, 2023-10-31).
constexpr std::pair<std::string_view, unsigned> k_adt_statuses[] = {
    {twin::errors::invalid_argument, 400},
    {twin::errors::validation_failed, 400},
    {twin::errors::json_patch_invalid, 400},
    {twin::errors::invalid_relationship, 400},
    {twin::errors::relationships_not_deleted, 400},
    {twin::errors::model_decommissioned, 400},
    {twin::errors::dtdl_parser_error, 400},
    {twin::errors::sql_query_error, 400},
    {twin::errors::bad_request, 400},
    {twin::errors::digital_twin_not_found, 404},
    {twin::errors::target_twin_not_found, 404},
    {twin::errors::relationship_not_found, 404},
    {twin::errors::model_not_found, 404},
    {twin::errors::component_not_found, 404},
    {twin::errors::model_already_exists, 409},
    {twin::errors::model_references_not_deleted, 409},
    {twin::errors::precondition_failed, 412},
};

}  // namespace

std::pair<unsigned, std::string_view> http_status(const status& s) {
  if (!s.reason().empty()) {
    for (const auto& [name, code] : k_adt_statuses) {
      if (name == s.reason()) return {code, name};
    }
  }
  switch (s.code()) {
    case status_code::ok: return {200, "ok"};
    case status_code::invalid_argument: return {400, twin::errors::validation_failed};
    case status_code::not_found: return {404, "not_found"};
    case status_code::already_exists: return {409, "conflict"};
    case status_code::failed_precondition: return {409, "conflict"};
    case status_code::precondition_mismatch: return {412, twin::errors::precondition_failed};
    case status_code::io_error: return {503, "unavailable"};
    case status_code::unavailable: return {503, "unavailable"};
    case status_code::internal: return {500, "internal"};
  }
  return {500, "internal"};
}

namespace {

// Validation messages from the twin layer are "path: message" joined by "; " (twin/graph.cpp);
// each becomes one entry of "details".
json details_of(const std::string& message) {
  json out = json::array();
  std::size_t start = 0;
  while (start < message.size()) {
    std::size_t next = message.find("; $", start);
    std::string part = message.substr(start, next == std::string::npos ? std::string::npos : next - start);
    std::size_t colon = part.find(": ");
    if (!part.empty() && part[0] == '$' && colon != std::string::npos) {
      out.push_back({{"path", part.substr(0, colon)}, {"message", part.substr(colon + 2)}});
    }
    if (next == std::string::npos) break;
    start = next + 2;
  }
  return out;
}

}  // namespace

response from_status(const status& s) {
  auto [code, name] = http_status(s);
  return error(code, name, s.message(), details_of(s.message()).dump(-1, ' ', false, json::error_handler_t::replace));
}

status find_component(const twin::twin_graph& graph, const std::string& id, const std::string& component) {
  const model::interface* m = graph.model_of(id);
  if (!m) return twin::errors::twin_not_found(id);
  if (component.empty()) return status::ok();
  const model::content* found = m->find(component);
  if (found && found->kind == model::content_kind::component) return status::ok();
  std::string names;
  for (const model::content* content : m->contents) {
    if (content->kind == model::content_kind::component) names += (names.empty() ? "" : ", ") + content->name;
  }
  return status::not_found("twin " + quote(id) + " has no component " + quote(component) + "; its model " + m->id +
                           (names.empty() ? " has none" : " has " + names))
      .with_reason(twin::errors::component_not_found);
}

response json_response(unsigned code, const json& body) {
  response r;
  r.status = code;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

// The completion of a write: the stored document with its ETag, or the error.
twin::completion<json> respond_with(std::function<void(response)> send, unsigned ok_status) {
  return [send = std::move(send), ok_status](result<json> r) {
    if (!r) return send(from_status(r.error()));
    if (r->is_null()) {
      response res;
      res.status = 204;
      res.content_type.clear();
      return send(std::move(res));
    }
    response res = json_response(ok_status, *r);
    if (r->contains("$etag")) res.headers.push_back({"ETag", (*r)["$etag"].get<std::string>()});
    send(std::move(res));
  };
}

// The completion of a PATCH, as ADT answers it: 204 with the new ETag.
twin::completion<json> etag_only(std::function<void(response)> send) {
  return [send = std::move(send)](result<json> r) {
    if (!r) return send(from_status(r.error()));
    response res;
    res.status = 204;
    res.content_type.clear();
    res.headers.push_back({"ETag", (*r)["$etag"].get<std::string>()});
    send(std::move(res));
  };
}

namespace {

// The twin id a query row stands for: the row itself ({"$dtId": ...}, SELECT * or SELECT T) or
// its only member (SELECT pump FROM ... JOIN ...); empty when it is neither.
std::string twin_of_row(const nlohmann::json& row) {
  if (!row.is_object()) return "";
  auto id = row.find("$dtId");
  if (id != row.end() && id->is_string()) return id->get<std::string>();
  if (row.size() == 1 && row.begin()->is_object()) {
    auto inner = row.begin()->find("$dtId");
    if (inner != row.begin()->end() && inner->is_string()) return inner->get<std::string>();
  }
  return "";
}

}  // namespace

std::optional<response> twins_of_query(const twin::twin_graph& graph, const std::string& query, std::uint64_t max_work,
                                       std::size_t max_twins, std::vector<std::string>& twins) {
  twin::query_options options;
  options.page_size = options.limits.max_page_size;
  options.limits.max_work = max_work;
  for (;;) {
    auto page = graph.query(query, options);
    if (!page) {
      if (page.error().code() == status_code::invalid_argument) return error(400, "bad_query", page.error().message());
      return from_status(page.error());
    }
    for (const nlohmann::json& row : (*page)["value"]) {
      std::string id = twin_of_row(row);
      if (id.empty()) {
        return error(400, "bad_query",
                     "the query must select twins: SELECT T FROM DIGITALTWINS T WHERE ..., or one twin of a "
                     "JOIN (SELECT pump FROM DIGITALTWINS station JOIN pump RELATED station.feeds ...)");
      }
      twins.push_back(std::move(id));
    }
    if (twins.size() > max_twins) {
      return error(400, "bad_request",
                   "the query selects more than " + std::to_string(max_twins) + " twins; narrow it (WHERE ...)");
    }
    auto token = page->find("continuationToken");
    if (token == page->end() || !token->is_string()) break;
    options.continuation_token = token->get<std::string>();
  }
  std::sort(twins.begin(), twins.end());
  twins.erase(std::unique(twins.begin(), twins.end()), twins.end());
  return std::nullopt;
}

std::vector<std::pair<std::int64_t, double>> numeric_points(const ts::history& history, const std::string& twin,
                                                            const std::string& name, std::int64_t from,
                                                            std::int64_t to) {
  std::vector<std::pair<std::int64_t, double>> out;
  auto b = history.read(twin, name, from, to, 1000000);
  if (!b || b->type == ts::value_type::string) return out;
  out.reserve(b->size());
  for (std::size_t k = 0; k < b->size(); ++k) {
    const double x = b->type == ts::value_type::f64   ? b->f[k]
                     : b->type == ts::value_type::i64 ? static_cast<double>(b->i[k])
                                                      : static_cast<double>(b->b[k]);  // boolean
    out.emplace_back(b->t[k], x);
  }
  return out;
}

}  // namespace doppel::api::detail
