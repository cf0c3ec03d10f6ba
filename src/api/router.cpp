#include "api/router.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>

#include "api/export.h"
#include "core/json_input.h"
#include "core/text.h"
#include "ingest/export_format.h"
#include "store/timeseries/aggregate.h"

namespace doppel::api {

using nlohmann::json;

namespace {

using clock = std::chrono::steady_clock;

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

// The HTTP status and error code of a status from the lower layers.
std::pair<unsigned, std::string_view> http_status(status_code code) {
  switch (code) {
    case status_code::ok: return {200, "ok"};
    case status_code::invalid_argument: return {422, "validation_failed"};
    case status_code::not_found: return {404, "not_found"};
    case status_code::already_exists: return {409, "conflict"};
    case status_code::failed_precondition: return {409, "conflict"};
    case status_code::precondition_mismatch: return {412, "precondition_failed"};
    case status_code::io_error: return {503, "unavailable"};
    case status_code::unavailable: return {503, "unavailable"};
    case status_code::internal: return {500, "internal"};
  }
  return {500, "internal"};
}

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

response from_status(const status& s) {
  auto [code, name] = http_status(s.code());
  return router::error(code, name, s.message(),
                       details_of(s.message()).dump(-1, ' ', false, json::error_handler_t::replace));
}

// The next page of a history query: from `from_ns` on, with the request's other parameters
// (`extra`: "&step=...&agg=..." for aggregates).
std::string history_link(const std::string& twin, const std::string& name, std::int64_t from_ns, std::int64_t to,
                         std::size_t limit, const std::string& format, const std::string& extra) {
  return "/digitaltwins/" + percent_encode(twin) + "/telemetry/" + percent_encode(name) +
         "?from=" + percent_encode(rfc3339_ns(from_ns)) +
         (to == INT64_MAX ? "" : "&to=" + percent_encode(rfc3339_ns(to))) + extra + "&limit=" + std::to_string(limit) +
         (format.empty() ? "" : "&format=" + format);
}

// CSV for people who open it in a spreadsheet; the next page, if any, in a Link header.
response csv_response(std::string body, const std::string& next) {
  response out;
  out.status = 200;
  out.content_type = "text/csv; charset=utf-8";
  out.body = std::move(body);
  if (!next.empty()) out.headers.emplace_back("Link", "<" + next + ">; rel=\"next\"");
  return out;
}

response json_response(unsigned code, const json& body) {
  response r;
  r.status = code;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

}  // namespace

namespace {

// The secret in "Token T" (InfluxDB 2.x clients) or "Basic base64(user:T)" (1.x clients).
std::optional<std::string> other_scheme_secret(std::string_view auth) {
  constexpr std::string_view token = "Token ", basic = "Basic ";
  if (auth.size() > token.size() && auth.substr(0, token.size()) == token)
    return std::string(auth.substr(token.size()));
  if (auth.size() <= basic.size() || auth.substr(0, basic.size()) != basic) return std::nullopt;
  std::string decoded = base64_decode(auth.substr(basic.size()));
  auto colon = decoded.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return decoded.substr(colon + 1);
}

}  // namespace

struct router::context {
  request req;
  std::vector<std::string> params;  // the "{..}" segments, decoded
  std::vector<std::pair<std::string, std::string>> query;
  token_info who;
  reply done;

  std::string query_param(std::string_view name) const {
    for (const auto& [k, v] : query) {
      if (k == name) return v;
    }
    return {};
  }
  void send(response r) { done(std::move(r)); }
  // Parses the body as JSON; on failure answers 400 and returns false.
  bool body_json(json& out) {
    if (req.body.empty()) {
      send(error(400, "bad_request", "the request needs a JSON body"));
      return false;
    }
    // One policy for every JSON body (core/json_input.h): UTF-8, depth, numbers, syntax.
    auto parsed = parse_json(req.body);
    if (!parsed) {
      send(error(400, "bad_request", "the body: " + parsed.error().message()));
      return false;
    }
    out = std::move(*parsed);
    return true;
  }
  twin::condition condition() const {
    twin::condition c;
    c.if_match = std::string(req.header("if-match"));
    c.if_none_match_any = req.header("if-none-match") == "*";
    return c;
  }
};

response router::error(unsigned status, std::string_view code, std::string message, const std::string& details_json) {
  response r;
  r.status = status;
  r.body = R"({"error":{"code":)" + json(code).dump() + R"(,"message":)" +
           json(message).dump(-1, ' ', false, json::error_handler_t::replace) + R"(,"details":)" + details_json + "}}";
  return r;
}

router::router(twin::twin_graph& graph, const model::model_registry& models, token_store& tokens, api_options options)
    : graph_(graph), models_(models), tokens_(tokens), options_(std::move(options)) {
  add("GET", "/healthz", role::viewer, true, "Liveness and readiness: 200 while the server can write",
      &router::get_healthz);
  add("GET", "/metrics", role::viewer, false, "Prometheus metrics", &router::get_metrics);
  add("GET", "/openapi.json", role::viewer, true, "This API as an OpenAPI 3 document", &router::get_openapi);
  add("GET", "/models", role::viewer, false,
      "List the models (?includeModelDefinition=true, ?dependenciesFor=dtmi, repeatable)", &router::list_models);
  add("POST", "/models", role::admin, false, "Upload DTDL models: a JSON array of interfaces, all or nothing",
      &router::post_models);
  add("GET", "/models/{id}", role::viewer, false,
      "One model: its upload state and contents, flattened (?includeModelDefinition=true)", &router::get_model);
  add("PATCH", "/models/{id}", role::admin, false,
      "Decommission a model: [{\"op\": \"replace\", \"path\": \"/decommissioned\", \"value\": true}]",
      &router::patch_model);
  add("DELETE", "/models/{id}", role::admin, false, "Delete an uploaded model that no twin or model uses",
      &router::delete_model);
  add("POST", "/query", role::viewer, false,
      "Query twins and relationships: {\"query\": \"SELECT ...\", \"continuationToken\": ...}; "
      "page size from the max-items-per-page header",
      &router::post_query);
  add("GET", "/digitaltwins/{id}", role::viewer, false, "Get a twin", &router::get_twin);
  add("PUT", "/digitaltwins/{id}", role::admin, false, "Create or replace a twin (If-Match, If-None-Match: *)",
      &router::put_twin);
  add("PATCH", "/digitaltwins/{id}", role::admin, false, "Update a twin with a JSON Patch (If-Match)",
      &router::patch_twin);
  add("DELETE", "/digitaltwins/{id}", role::admin, false, "Delete a twin without relationships (If-Match)",
      &router::delete_twin);
  add("GET", "/digitaltwins/{id}/desired", role::viewer, false, "Desired and reported state and their delta",
      &router::get_desired);
  add("GET", "/digitaltwins/{id}/telemetry", role::viewer, false,
      "The latest value and time of each telemetry the twin sent", &router::get_telemetry);
  add("GET", "/digitaltwins/{id}/telemetry/{name}", role::viewer, false,
      "History of one telemetry: raw points with from <= time < to (?from=, ?to= as RFC 3339 or Unix ms, "
      "?limit=, ?format=csv), or per-step aggregates (?step=1m&agg=mean,max,...); nextLink pages on",
      &router::get_telemetry_history);
  add("POST", "/query/telemetry", role::viewer, false,
      "One telemetry aggregated per step across the twins a query selects: {\"query\", \"name\", \"step\", "
      "\"agg\", \"from\", \"to\"}",
      &router::post_query_telemetry);
  add("GET", "/telemetry/export", role::viewer, false,
      "History of many twins as InfluxDB line protocol or CSV (?format=lp|csv, ?from=, ?to=, ?twin= repeatable, "
      "?limit= points per page); a Link header (rel=\"next\") pages on",
      &router::get_telemetry_export);
  add("POST", "/telemetry/{id}", role::operator_, false,
      "Telemetry and reported properties of one twin: {\"name\": value, ..., \"$ts\": time}", &router::post_telemetry);
  add("POST", "/telemetry", role::operator_, false,
      "Telemetry of many twins: [{\"$dtId\": id, \"name\": value, ..., \"$ts\": time}, ...]",
      &router::post_telemetry_batch);
  add("POST", "/write", role::operator_, false,
      "InfluxDB line protocol (1.x /write): measurement,twin=ID field=value,... [time] (?precision=ns|us|ms|s)",
      &router::post_write);
  add("GET", "/deadletters", role::operator_, false,
      "Refused messages with reason and raw payload (?after=seq, ?limit=n, ?reason=...)", &router::get_deadletters);
  add("PATCH", "/digitaltwins/{id}/desired", role::operator_, false,
      "Set desired values of writable properties (JSON merge; null clears)", &router::patch_desired);
  add("GET", "/digitaltwins/{id}/relationships", role::viewer, false, "Relationships from a twin (?relationshipName=)",
      &router::list_relationships);
  add("GET", "/digitaltwins/{id}/incomingrelationships", role::viewer, false, "Relationships to a twin",
      &router::list_incoming);
  add("GET", "/digitaltwins/{id}/relationships/{relId}", role::viewer, false, "Get a relationship",
      &router::get_relationship);
  add("PUT", "/digitaltwins/{id}/relationships/{relId}", role::admin, false,
      "Create or replace a relationship (If-Match, If-None-Match: *)", &router::put_relationship);
  add("PATCH", "/digitaltwins/{id}/relationships/{relId}", role::admin, false,
      "Update a relationship's properties with a JSON Patch (If-Match)", &router::patch_relationship);
  add("DELETE", "/digitaltwins/{id}/relationships/{relId}", role::admin, false, "Delete a relationship (If-Match)",
      &router::delete_relationship);
  // The server upgrades GET /events to a WebSocket before routing (server.cpp); listed here so
  // /openapi.json shows it and a plain GET learns what to do.
  add("GET", "/events", role::viewer, false,
      "Change events as a WebSocket (send Upgrade: websocket): ?twin=, ?model=, ?type= (each repeatable) "
      "filter them; ?token= carries the token for browsers, which cannot set Authorization on a WebSocket",
      &router::get_events);
  // Metrics are kept per path pattern.
  std::vector<std::string> patterns;
  for (auto& e : table_) {
    auto it = std::find(patterns.begin(), patterns.end(), e.info.pattern);
    e.pattern_index = static_cast<std::size_t>(it - patterns.begin());
    if (it == patterns.end()) patterns.push_back(e.info.pattern);
  }
  metrics_ = std::make_unique<metrics>(patterns);
  queries_ = std::make_unique<query_executor>(
      query_executor_options{options_.query_workers, options_.query_queue, options_.queries_per_token});
  metric_sources_.push_back([this](std::string& out) { queries_->render_metrics(out); });
}

void router::stop_queries() { queries_->stop(); }

void router::run_query(std::shared_ptr<context> ctx, handler fn) {
  std::string token = ctx->who.name;
  auto admitted = queries_->submit(token, [this, ctx, fn] { (this->*fn)(*ctx); });
  if (admitted == query_executor::admission::accepted) return;
  response r = admitted == query_executor::admission::token_busy
                   ? error(429, "too_many_queries",
                           "token " + quote(token) + " already runs " + std::to_string(queries_->options().per_token) +
                               " queries (api.queries_per_token); wait for their answers, then send more")
                   : error(503, "unavailable",
                           "every query worker is busy and " + std::to_string(queries_->options().queue) +
                               " queries wait (api.query_queue); retry shortly");
  r.headers.push_back({"Retry-After", "1"});
  ctx->send(std::move(r));
}

void router::add(std::string method, std::string pattern, role needs, bool is_public, std::string summary, handler fn) {
  entry e{{std::move(method), std::move(pattern), needs, is_public, std::move(summary)}, {}, fn};
  e.segments = split_path(e.info.pattern);
  routes_.push_back(e.info);
  table_.push_back(std::move(e));
}

void router::add_metrics_source(std::function<void(std::string&)> source) {
  metric_sources_.push_back(std::move(source));
}

void router::add_health_source(std::function<nlohmann::json()> source) { health_sources_.push_back(std::move(source)); }

std::optional<response> router::authorize(const request& req, role needs, token_info* who_out) {
  std::string_view auth = req.header("authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (auth.empty()) {
    response r = error(401, "unauthorized",
                       "this route needs a token: send `Authorization: Bearer TOKEN` (create one with "
                       "`doppel token create DIR --role viewer --name NAME`)");
    r.headers.push_back({"WWW-Authenticate", "Bearer"});
    return r;
  }
  std::optional<token_info> who;
  if (auth.size() > bearer.size() && auth.substr(0, bearer.size()) == bearer) {
    who = tokens_.find(auth.substr(bearer.size()));
  } else if (auto secret = other_scheme_secret(auth)) {
    who = tokens_.find(*secret);  // InfluxDB clients: "Token T", or Basic with the token as password
  }
  if (!who) {
    response r = error(401, "unauthorized", "the bearer token is not valid; check DOPPEL_TOKEN or create a new one");
    r.headers.push_back({"WWW-Authenticate", "Bearer error=\"invalid_token\""});
    return r;
  }
  if (static_cast<int>(who->level) < static_cast<int>(needs)) {
    return error(403, "forbidden",
                 "token " + quote(who->name) + " has role " + std::string(to_string(who->level)) + "; this needs " +
                     std::string(to_string(needs)) + " or higher");
  }
  if (!rate_allows(who->name)) {
    response r = error(429, "rate_limited",
                       "token " + quote(who->name) + " is over its rate limit of " +
                           std::to_string(static_cast<long long>(options_.rate_per_second)) +
                           " requests/s; slow down and retry");
    r.headers.push_back({"Retry-After", "1"});
    return r;
  }
  if (who_out) *who_out = *who;
  return std::nullopt;
}

std::string router::token_name(const request& req) {
  std::string_view auth = req.header("authorization");
  std::string secret;
  if (auth.size() > 7 && auth.substr(0, 7) == "Bearer ") {
    secret = auth.substr(7);
  } else if (auto other = other_scheme_secret(auth)) {
    secret = *other;
  } else if (auth.empty()) {
    // InfluxDB 1.x clients: ?p=TOKEN (as handle() reads it).
    std::string_view target = req.target;
    for (std::size_t pos = target.find('?'); pos != std::string_view::npos; pos = target.find('&', pos + 1)) {
      std::string_view rest = target.substr(pos + 1);
      if (rest.substr(0, 2) == "p=" && percent_decode(rest.substr(2, rest.find('&') - 2), secret)) break;
      secret.clear();
    }
  }
  if (secret.empty()) return {};
  auto who = tokens_.find(secret);
  return who ? who->name : std::string();
}

bool router::rate_allows(const std::string& token) {
  if (options_.rate_per_second <= 0) return true;
  double burst = options_.rate_burst > 0 ? options_.rate_burst : options_.rate_per_second;
  auto now = clock::now();
  std::lock_guard lock(rate_mu_);
  auto [it, fresh] = buckets_.try_emplace(token, bucket{burst, now});
  bucket& b = it->second;
  if (!fresh) {
    double elapsed = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(burst, b.tokens + elapsed * options_.rate_per_second);
    b.at = now;
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

void router::add_cors(const std::string& origin, response& res) const {
  if (options_.cors_origins.empty() || origin.empty()) return;
  for (const auto& o : options_.cors_origins) {
    if (o == "*" || o == origin) {
      res.headers.push_back({"Access-Control-Allow-Origin", o == "*" ? "*" : std::string(origin)});
      res.headers.push_back({"Vary", "Origin"});
      res.headers.push_back({"Access-Control-Expose-Headers", "ETag, Link, X-Doppel-Points, X-Doppel-Skipped"});
      return;
    }
  }
}

void router::handle(request req, reply done) {
  auto start = clock::now();
  std::string target = req.target;
  std::string query_string;
  if (auto q = target.find('?'); q != std::string::npos) {
    query_string = target.substr(q + 1);
    target.resize(q);
  }
  // Find the route: the entry with this path and method; other methods on the same path make
  // a 405 with Allow.
  std::vector<std::string> segments;
  bool bad_escape = false;
  for (const auto& s : split_path(target)) {
    std::string decoded;  // "%2F" inside an id stays part of the id
    bad_escape = bad_escape || !percent_decode(s, decoded);
    segments.push_back(std::move(decoded));
  }
  const entry* match = nullptr;
  std::size_t pattern_index = std::size_t(-1);
  std::string allowed;
  for (const auto& e : table_) {
    if (bad_escape || e.segments.size() != segments.size()) continue;
    bool ok = true;
    for (std::size_t i = 0; i < segments.size() && ok; ++i) {
      ok = e.segments[i].front() == '{' ? !segments[i].empty() : e.segments[i] == segments[i];
    }
    if (!ok) continue;
    if (pattern_index == std::size_t(-1)) pattern_index = e.pattern_index;
    allowed += (allowed.empty() ? "" : ", ") + e.info.method;
    if (e.info.method == req.method) match = &e;
  }
  auto ctx = std::make_shared<context>();
  ctx->done = [this, start, method = req.method, origin = std::string(req.header("origin")), done = std::move(done),
               route = pattern_index](response r) {
    add_cors(origin, r);
    metrics_->record(route, method, r.status, std::chrono::duration<double>(clock::now() - start).count());
    done(std::move(r));
  };
  if (bad_escape) return ctx->send(error(400, "bad_request", "malformed %-escape in the path " + quote(target)));
  // Ids become stored data and JSON text: bytes that are not UTF-8 are refused at the door.
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (!is_valid_utf8(segments[i])) {
      return ctx->send(error(400, "bad_request",
                             "path segment " + std::to_string(i + 1) + " of " + quote(target) +
                                 " is not valid UTF-8 once %-decoded; ids must be UTF-8 text (percent-encode its "
                                 "UTF-8 bytes, e.g. %C3%BC for \u00fc)"));
    }
  }
  if (req.method == "OPTIONS" && !allowed.empty() && !options_.cors_origins.empty()) {
    response r;  // a CORS preflight
    r.status = 204;
    r.content_type.clear();
    r.headers.push_back({"Access-Control-Allow-Methods", allowed + ", OPTIONS"});
    r.headers.push_back({"Access-Control-Allow-Headers",
                         "Authorization, Content-Type, If-Match, If-None-Match, Prefer, max-items-per-page"});
    r.headers.push_back({"Access-Control-Max-Age", "600"});
    return ctx->send(std::move(r));
  }
  if (allowed.empty()) {
    return ctx->send(error(404, "not_found", "no route " + quote(target) + "; GET /openapi.json lists them all"));
  }
  if (!match) {
    response r =
        error(405, "method_not_allowed", req.method + " is not allowed on " + quote(target) + "; use " + allowed);
    r.headers.push_back({"Allow", allowed});
    return ctx->send(std::move(r));
  }
  std::size_t pos = 0;
  while (pos < query_string.size()) {
    std::size_t amp = query_string.find('&', pos);
    if (amp == std::string::npos) amp = query_string.size();
    std::string_view kv(query_string.data() + pos, amp - pos);
    std::size_t eq = kv.find('=');
    std::string k, v;
    std::string value(kv.substr(eq == std::string_view::npos ? kv.size() : eq + 1));
    std::replace(value.begin(), value.end(), '+', ' ');
    if (!percent_decode(kv.substr(0, eq), k) || !percent_decode(value, v)) {
      return ctx->send(error(400, "bad_request", "malformed %-escape in the query string"));
    }
    if (!is_valid_utf8(k) || !is_valid_utf8(v)) {
      return ctx->send(error(400, "bad_request",
                             "query parameter " + quote(k) +
                                 " is not valid UTF-8 once %-decoded; percent-encode the UTF-8 bytes of its text"));
    }
    if (!k.empty()) ctx->query.emplace_back(std::move(k), std::move(v));
    pos = amp + 1;
  }
  // A credential in a URL ends up in proxy logs, browser history and Referer headers: it is taken
  // only where a client cannot send a header, InfluxDB 1.x's ?u=NAME&p=TOKEN on POST /write (the
  // token is what counts). /events takes ?token= in server.cpp (browsers' WebSockets).
  bool influx_write = req.method == "POST" && target == "/write";
  for (const auto& [k, v] : ctx->query) {
    if (k == "p" && influx_write) {
      if (req.header("authorization").empty() && !v.empty()) req.headers.emplace_back("authorization", "Bearer " + v);
    } else if (k == "p" || k == "token" || k == "access_token") {
      response r = error(401, "unauthorized",
                         "credentials in the URL (?" + k +
                             "=) are taken only by POST /write (?u=&p=, InfluxDB 1.x) "
                             "and the /events WebSocket (?token=); send `Authorization: Bearer TOKEN` instead, and "
                             "consider the token exposed if this URL was logged");
      r.headers.push_back({"WWW-Authenticate", "Bearer"});
      return ctx->send(std::move(r));
    }
  }
  if (!match->info.public_) {
    if (auto refused = authorize(req, match->info.needs, &ctx->who)) return ctx->send(std::move(*refused));
  }
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (match->segments[i].front() == '{') ctx->params.push_back(std::move(segments[i]));
  }
  ctx->req = std::move(req);
  // Queries may run for seconds: off the I/O thread, so that simple requests stay fast.
  if (match->fn == &router::post_query || match->fn == &router::post_query_telemetry) {
    return run_query(std::move(ctx), match->fn);
  }
  (this->*(match->fn))(*ctx);
}

// --- Routes -------------------------------------------------------------------------------

void router::get_events(context& c) {
  response r = error(426, "upgrade_required",
                     "/events is a WebSocket: connect with Upgrade: websocket (e.g. new WebSocket(\"ws://HOST/events"
                     "?token=TOKEN\") in a browser, or websocat)");
  r.headers.push_back({"Upgrade", "websocket"});
  c.send(std::move(r));
}

void router::get_healthz(context& c) {
  status h = graph_.health();
  json body = {{"status", h ? "ok" : "failing"},
               {"twins", graph_.twin_count()},
               {"uptimeSeconds", std::chrono::duration<double>(clock::now() - started_).count()}};
  if (!h) body["reason"] = h.message();
  if (history_) {
    // What the last start could not replay from the telemetry logs (docs/formats/history-log.md).
    const ts::recovery_report& rr = history_->recovery();
    json skipped = json::array();
    for (const ts::skipped_range& s : rr.skipped) {
      skipped.push_back(
          {{"file", s.file.filename().string()}, {"offset", s.offset}, {"bytes", s.bytes}, {"reason", s.reason}});
    }
    body["history"] = {{"replayedPoints", rr.replayed},
                       {"tornBytes", rr.torn_bytes},
                       {"skippedRanges", rr.skipped_ranges},
                       {"skippedBytes", rr.skipped_bytes},
                       {"skipped", std::move(skipped)}};
  }
  if (!health_sources_.empty()) {
    body["connectors"] = json::array();
    for (const auto& source : health_sources_) body["connectors"].push_back(source());
  }
  c.send(json_response(h ? 200 : 503, body));
}

void router::get_metrics(context& c) {
  response r;
  r.content_type = "text/plain; version=0.0.4";
  metrics_->render(r.body);
  char line[256];
  std::snprintf(line, sizeof line,
                "# HELP doppel_twins Twins in the graph.\n# TYPE doppel_twins gauge\ndoppel_twins %zu\n"
                "# HELP doppel_relationships Relationships in the graph.\n# TYPE doppel_relationships gauge\n"
                "doppel_relationships %zu\n",
                graph_.twin_count(), graph_.relationship_count());
  r.body += line;
  std::snprintf(line, sizeof line,
                "# HELP doppel_up 1 while the server accepts writes, 0 after a storage failure.\n"
                "# TYPE doppel_up gauge\ndoppel_up %d\n",
                graph_.health() ? 1 : 0);
  r.body += line;
  for (const auto& source : metric_sources_) source(r.body);
  c.send(std::move(r));
}

void router::get_openapi(context& c) {
  response r;
  r.body = openapi();
  c.send(std::move(r));
}

namespace {

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
  json out = {{"id", i.id}, {"dtdlVersion", static_cast<int>(i.version)}, {"extends", extends}};
  if (!i.display_name.empty()) out["displayName"] = std::string(i.display_name.text());
  out["contents"] = std::move(contents);
  return out;
}

}  // namespace

namespace {

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

}  // namespace

void router::list_models(context& c) {
  std::vector<std::string> wanted;
  for (const auto& [k, v] : c.query) {
    if (k == "dependenciesFor") wanted.push_back(v);
  }
  auto r = graph_.list_models(wanted, c.query_param("includeModelDefinition") == "true");
  if (!r) return c.send(from_status(r.error()));
  c.send(json_response(200, {{"value", std::move(*r)}}));
}

void router::get_model(context& c) {
  auto r = graph_.model_data(c.params[0], c.query_param("includeModelDefinition") == "true");
  if (!r) return c.send(from_status(r.error()));
  // The registry still has it: interfaces handed out stay valid even if it is deleted now.
  if (const model::interface* i = models_.find(c.params[0])) r->update(model_summary(*i));
  c.send(json_response(200, *r));
}

void router::post_models(context& c) {
  json body;
  if (!c.body_json(body)) return;  // a syntax error is a 400 with its place, as for every body
  if (!body.is_array() && !body.is_object()) {
    return c.send(error(422, "validation_failed", "$: the body must be an array of DTDL interfaces"));
  }
  // The text as sent, so that the parser's line:column point into the request body.
  std::vector<model::source> sources{{"request body", std::move(c.req.body)}};
  auto send = c.done;
  graph_.add_models(std::move(sources), [send](result<json> r) {
    if (!r) return send(from_status(r.error()));
    send(json_response(201, *r));
  });
}

void router::patch_model(context& c) {
  json patch;
  if (!c.body_json(patch)) return;
  // ADT accepts exactly one change here, and only in one direction.
  bool ok = patch.is_array() && patch.size() == 1 && patch[0].is_object() && patch[0].value("op", "") == "replace" &&
            patch[0].value("path", "") == "/decommissioned" && patch[0].contains("value") && patch[0]["value"] == true;
  if (!ok) {
    return c.send(error(422, "validation_failed",
                        "$: a model accepts one patch: [{\"op\": \"replace\", \"path\": \"/decommissioned\", "
                        "\"value\": true}]; decommissioning cannot be undone (delete and upload the model again)"));
  }
  graph_.decommission_model(c.params[0], respond_with(c.done, 204));
}

void router::delete_model(context& c) { graph_.delete_model(c.params[0], respond_with(c.done, 204)); }

namespace {

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

}  // namespace

void router::get_twin(context& c) {
  auto t = graph_.get_twin(c.params[0]);
  if (!t) return c.send(from_status(t.error()));
  response r = json_response(200, *t);
  r.headers.push_back({"ETag", (*t)["$etag"].get<std::string>()});
  c.send(std::move(r));
}

void router::put_twin(context& c) {
  json body;
  if (!c.body_json(body)) return;
  graph_.put_twin(c.params[0], std::move(body), c.condition(), {false}, respond_with(c.done, 200));
}

void router::patch_twin(context& c) {
  json patch;
  if (!c.body_json(patch)) return;
  // As in Azure Digital Twins: 204 with the new ETag, unless the client asks for the twin.
  twin::check_options options;
  options.reply_with_body = c.req.header("prefer").find("return=representation") != std::string_view::npos;
  if (options.reply_with_body) {
    return graph_.patch_twin(c.params[0], patch, c.condition(), options, respond_with(c.done, 200));
  }
  graph_.patch_twin(c.params[0], patch, c.condition(), options, etag_only(c.done));
}

void router::delete_twin(context& c) { graph_.delete_twin(c.params[0], c.condition(), respond_with(c.done, 204)); }

void router::get_desired(context& c) {
  auto d = graph_.desired_state(c.params[0]);
  if (!d) return c.send(from_status(d.error()));
  c.send(json_response(200, *d));
}

void router::patch_desired(context& c) {
  json desired;
  if (!c.body_json(desired)) return;
  graph_.set_desired(c.params[0], desired, c.condition(), respond_with(c.done, 200));
}

void router::list_relationships(context& c) {
  if (!graph_.get_twin(c.params[0])) {
    return c.send(error(404, "not_found", "twin " + quote(c.params[0]) + " does not exist"));
  }
  std::string name = c.query_param("relationshipName");
  json value = json::array();
  for (auto& r : graph_.outgoing(c.params[0])) {
    if (name.empty() || r.value("$relationshipName", "") == name) value.push_back(std::move(r));
  }
  c.send(json_response(200, {{"value", std::move(value)}}));
}

void router::list_incoming(context& c) {
  if (!graph_.get_twin(c.params[0])) {
    return c.send(error(404, "not_found", "twin " + quote(c.params[0]) + " does not exist"));
  }
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

void router::get_relationship(context& c) {
  auto r = graph_.get_relationship(c.params[0], c.params[1]);
  if (!r) return c.send(from_status(r.error()));
  response res = json_response(200, *r);
  res.headers.push_back({"ETag", (*r)["$etag"].get<std::string>()});
  c.send(std::move(res));
}

void router::put_relationship(context& c) {
  json body;
  if (!c.body_json(body)) return;
  graph_.put_relationship(c.params[0], c.params[1], std::move(body), c.condition(), respond_with(c.done, 200));
}

void router::patch_relationship(context& c) {
  json patch;
  if (!c.body_json(patch)) return;
  auto current = graph_.get_relationship(c.params[0], c.params[1]);
  if (!current) return c.send(from_status(current.error()));
  if (!patch.is_array()) {
    return c.send(error(422, "validation_failed", "a JSON Patch is an array of operations", "[]"));
  }
  for (std::size_t i = 0; i < patch.size(); ++i) {
    const auto& op = patch[i];
    std::string path = op.is_object() ? op.value("path", "") : "";
    if (path.rfind("/$", 0) == 0) {
      return c.send(error(422, "validation_failed",
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
        error(422, "validation_failed",
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

void router::delete_relationship(context& c) {
  graph_.delete_relationship(c.params[0], c.params[1], c.condition(), respond_with(c.done, 204));
}

namespace {

response ingest_off() { return router::error(503, "unavailable", "telemetry ingestion is not running in this server"); }

// An aggregate over more raw points than this (a step finer than a minute, late points that
// overlap sealed ones) is refused with how to narrow it.
constexpr std::size_t k_max_raw_aggregate = 10000000;

constexpr const char* k_bound_help =
    "from and to must be RFC 3339 date-times (2026-11-25T10:00:00Z) or Unix milliseconds within 1677-09-21 to "
    "2262-04-11; leave to out to read to the end";
constexpr const char* k_step_help =
    "step must be a duration such as 30s, 5m, 1h, 1d, 500ms or PT5M (and agg needs a step)";

// "mean,max" -> the functions; false with `bad` set to the unknown name.
bool parse_aggregates(std::string_view text, std::vector<ts::aggregate_fn>& fns, std::string& bad) {
  std::string_view rest = text.empty() ? std::string_view("mean") : text;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view one = rest.substr(0, comma);
    ts::aggregate_fn fn{};
    if (!ts::parse_aggregate(one, fn)) return bad = std::string(one), false;
    fns.push_back(fn);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return true;
}

std::string unknown_aggregate(std::string_view bad) {
  return "agg " + quote(bad) + " is not one of mean, min, max, sum, count, first, last, stddev, p50, p90, p95, p99";
}

// Point k of `p` as JSON or as a CSV field: numbers, booleans and quoted strings as the export's
// CSV spells them (a double keeps a fraction or exponent); NaN and infinities as null; strings
// JSON-escaped in JSON.
void append_point_value(std::string& out, const ts::column_batch& p, std::size_t k, bool csv) {
  if (p.type == ts::value_type::f64 && !std::isfinite(p.f[k])) {
    out += "null";
  } else if (p.type == ts::value_type::string && !csv) {
    out += json(p.s[k]).dump(-1, ' ', false, json::error_handler_t::replace);
  } else {
    ingest::append_csv_value(out, ingest::history_value_at(p, k));
  }
}

// Buckets as CSV (time, then a column per function) or as JSON rows.
std::string buckets_csv(const std::vector<ts::bucket>& b, const std::vector<ts::aggregate_fn>& fns) {
  std::string csv = "time";
  for (auto fn : fns) csv += "," + std::string(ts::to_string(fn));
  csv += "\n";
  for (const ts::bucket& k : b) {
    csv += rfc3339_ns(k.start);
    for (auto fn : fns) csv += "," + json(k.value(fn)).dump();
    csv += "\n";
  }
  return csv;
}

json buckets_json(const std::vector<ts::bucket>& b, const std::vector<ts::aggregate_fn>& fns) {
  json values = json::array();
  for (const ts::bucket& k : b) {
    json row{{"time", rfc3339_ns(k.start)}};
    for (auto fn : fns) {
      row[std::string(ts::to_string(fn))] = fn == ts::aggregate_fn::count ? json(k.count) : json(k.value(fn));
    }
    values.push_back(std::move(row));
  }
  return values;
}

json aggregate_names(const std::vector<ts::aggregate_fn>& fns) {
  json aggs = json::array();
  for (auto fn : fns) aggs.push_back(std::string(ts::to_string(fn)));
  return aggs;
}

// The twin id a query row stands for: the row itself ({"$dtId": ...}, SELECT * or SELECT T) or
// its only member (SELECT pump FROM ... JOIN ...); empty when it is neither.
std::string twin_of_row(const json& row) {
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

void router::ingest(context& c, const std::string& source, std::vector<ingest::reading> readings,
                    std::vector<ingest::rejection> refused, bool malformed) {
  auto answer = [send = c.done, malformed](std::size_t accepted, const std::vector<ingest::rejection>& all) {
    if (all.empty()) {
      response res;
      res.status = 204;
      res.content_type.clear();
      return send(std::move(res));
    }
    // A batch of 100,000 bad lines must not make a 100,000-entry answer: the first 100 are in
    // details, all of them in the dead-letter store.
    json details = json::array();
    for (std::size_t k = 0; k < all.size() && k < 100; ++k) {
      details.push_back({{"reason", all[k].reason}, {"message", all[k].message}});
    }
    std::string message = std::to_string(accepted) + " reading(s) applied, " + std::to_string(all.size()) +
                          " refused: " + all.front().message +
                          (all.size() > 1 ? " (the first 100 are in details)" : "") + "; GET /deadletters keeps them";
    // As InfluxDB: a malformed line or payload is a 400 (a partial write), a reading the model
    // refuses a 422.
    send(error(malformed ? 400 : 422, malformed ? "bad_request" : "validation_failed", message,
               details.dump(-1, ' ', false, json::error_handler_t::replace)));
  };
  if (readings.empty()) {
    (void)letters_->add(source, "", refused);  // the client is told of each refusal anyway
    return answer(0, refused);
  }
  if (readings.size() > pipeline_->max_readings()) {
    // Larger than an empty shard queue: a 503 would be retried forever.
    return c.send(error(413, "payload_too_large",
                        "the request holds " + std::to_string(readings.size()) + " readings; at most " +
                            std::to_string(pipeline_->max_readings()) +
                            " fit in one request (ingest.queue_readings): send smaller batches (Telegraf: "
                            "metric_batch_size, e.g. 5000)"));
  }
  // The parse refusals become dead letters only once the request is taken: a 503 is sent again
  // by the client, and its bad lines must not count twice.
  pipeline_->submit(source, std::move(readings),
                    [answer, source, letters = letters_, refused = std::move(refused),
                     send = c.done](result<ingest::ingest_result> r) mutable {
                      if (!r) {
                        response res = from_status(r.error());
                        if (r.error().code() == status_code::unavailable) res.headers.push_back({"Retry-After", "1"});
                        return send(std::move(res));
                      }
                      (void)letters->add(source, "", refused);  // the client is told of each anyway
                      refused.insert(refused.end(), r->rejected.begin(), r->rejected.end());
                      answer(r->accepted, refused);
                    });
}

void router::post_telemetry(context& c) {
  if (!pipeline_) return c.send(ingest_off());
  std::vector<ingest::reading> readings;
  std::vector<ingest::rejection> refused;
  ingest::parse_json_readings(c.req.body, c.params[0], unix_time_ns(), readings, refused);
  bool malformed = !refused.empty();  // before the move below
  ingest(c, "http", std::move(readings), std::move(refused), malformed);
}

void router::post_telemetry_batch(context& c) {
  if (!pipeline_) return c.send(ingest_off());
  std::vector<ingest::reading> readings;
  std::vector<ingest::rejection> refused;
  ingest::parse_json_readings(c.req.body, "", unix_time_ns(), readings, refused);
  bool malformed = !refused.empty();  // before the move below
  ingest(c, "http", std::move(readings), std::move(refused), malformed);
}

void router::post_write(context& c) {
  if (!pipeline_) return c.send(ingest_off());
  ingest::precision unit = ingest::precision::ns;
  if (!ingest::parse_precision(c.query_param("precision"), unit)) {
    return c.send(error(400, "bad_request", "precision must be ns, us, ms, s, m or h"));
  }
  ingest::lp_batch batch;
  ingest::parse_line_protocol(c.req.body, unit, batch);
  std::vector<ingest::reading> readings;
  std::vector<ingest::rejection> refused;
  bool malformed = !batch.errors.empty();
  ingest::readings_from_line_protocol(batch, unix_time_ns(), readings, refused);
  ingest(c, "line-protocol", std::move(readings), std::move(refused), malformed);
}

void router::get_telemetry(context& c) {
  if (!pipeline_) return c.send(ingest_off());
  auto r = pipeline_->latest(c.params[0]);
  if (!r) return c.send(from_status(r.error()));
  c.send(json_response(200, *r));
}

void router::get_telemetry_history(context& c) {
  if (!history_) return c.send(ingest_off());
  std::int64_t from = 0, to = 0;
  if (!ingest::parse_time_bound(c.query_param("from"), INT64_MIN, from) ||
      !ingest::parse_time_bound(c.query_param("to"), INT64_MAX, to)) {
    return c.send(error(400, "bad_request", k_bound_help));
  }
  std::uint64_t limit = 10000;
  if (std::string v = c.query_param("limit"); !v.empty()) {
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), limit);
    if (ec != std::errc() || ptr != v.data() + v.size() || limit == 0 || limit > 100000) {
      return c.send(error(400, "bad_request", "limit must be 1-100000"));
    }
  }
  std::string format = c.query_param("format");
  if (!format.empty() && format != "json" && format != "csv") {
    return c.send(error(400, "bad_request", "format must be json or csv"));
  }
  const std::string& twin = c.params[0];
  const std::string& name = c.params[1];
  if (!graph_.model_of(twin)) return c.send(error(404, "not_found", "twin " + quote(twin) + " does not exist"));
  std::string step_text = c.query_param("step"), agg_text = c.query_param("agg");
  if (!step_text.empty() || !agg_text.empty()) {
    return send_aggregates(c, twin, name, from, to, static_cast<std::size_t>(limit), format, step_text, agg_text);
  }
  bool truncated = false;
  auto r = history_->read(twin, name, from, to, limit, &truncated);
  if (!r) return c.send(from_status(r.error()));
  const ts::column_batch& p = *r;
  std::string next;
  if (truncated && !p.t.empty()) next = history_link(twin, name, p.t.back() + 1, to, limit, format, "");
  // Written directly, not through JSON values: a page holds up to 100,000 points.
  std::string out;
  out.reserve(p.size() * 48 + 256);
  if (format == "csv") {
    out = "time," + name + "\n";
    for (std::size_t k = 0; k < p.size(); ++k) {
      append_rfc3339_ns(out, p.t[k]);
      out += ',';
      append_point_value(out, p, k, true);
      out += '\n';
    }
    return c.send(csv_response(std::move(out), next));
  }
  auto text = [](const std::string& v) { return json(v).dump(-1, ' ', false, json::error_handler_t::replace); };
  out += "{\"twin\":" + text(twin) + ",\"name\":" + text(name) + ",\"type\":\"" + std::string(ts::to_string(p.type)) +
         "\",\"value\":[";
  for (std::size_t k = 0; k < p.size(); ++k) {
    out += k ? ",{\"time\":\"" : "{\"time\":\"";
    append_rfc3339_ns(out, p.t[k]);
    out += "\",\"value\":";
    append_point_value(out, p, k, false);
    out += '}';
  }
  out += ']';
  if (!next.empty()) out += ",\"nextLink\":" + text(next);
  out += '}';
  response res;
  res.status = 200;
  res.body = std::move(out);
  c.send(std::move(res));
}

void router::get_telemetry_export(context& c) {
  if (!history_) return c.send(ingest_off());
  c.send(export_history(graph_, *history_, c.query));
}

void router::send_aggregates(context& c, const std::string& twin, const std::string& name, std::int64_t from,
                             std::int64_t to, std::size_t limit, const std::string& format,
                             const std::string& step_text, const std::string& agg_text) {
  std::int64_t step = 0;
  if (!ts::parse_step(step_text, step)) return c.send(error(400, "bad_request", k_step_help));
  std::vector<ts::aggregate_fn> fns;
  if (std::string bad; !parse_aggregates(agg_text, fns, bad)) {
    return c.send(error(400, "bad_request", unknown_aggregate(bad)));
  }
  // Steps of whole minutes are answered from the downsampling tiers; others, and percentiles
  // (which need every value), from raw points.
  auto buckets = history_->aggregate(twin, name, from, to, step, k_max_raw_aggregate,
                                     std::any_of(fns.begin(), fns.end(), ts::is_percentile));
  if (!buckets) {
    if (buckets.error().code() == status_code::invalid_argument) {
      return c.send(error(400, "bad_request", buckets.error().message()));
    }
    return c.send(from_status(buckets.error()));
  }
  std::vector<ts::bucket>& b = *buckets;
  std::string next;
  if (b.size() > limit) {
    b.resize(limit);
    next = history_link(
        twin, name, b.back().start + step, to, limit, format,
        "&step=" + percent_encode(step_text) + "&agg=" + percent_encode(agg_text.empty() ? "mean" : agg_text));
  }
  if (format == "csv") return c.send(csv_response(buckets_csv(b, fns), next));
  json body{{"twin", twin},
            {"name", name},
            {"step", step_text},
            {"agg", aggregate_names(fns)},
            {"value", buckets_json(b, fns)}};
  if (!next.empty()) body["nextLink"] = next;
  c.send(json_response(200, body));
}

void router::post_query_telemetry(context& c) {
  if (!history_) return c.send(ingest_off());
  json body;
  if (!c.body_json(body)) return;
  auto text = [&](const char* key) -> std::optional<std::string> {
    if (!body.is_object() || !body.contains(key)) return std::string();
    const json& v = body[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
    return std::nullopt;
  };
  auto query = text("query"), name = text("name"), from_text = text("from"), to_text = text("to"),
       step_text = text("step"), agg_text = text("agg"), format = text("format");
  if (!query || !name || query->empty() || name->empty() || !step_text || !agg_text || !format) {
    return c.send(error(400, "bad_request",
                        "the body must be {\"query\": \"SELECT T FROM DIGITALTWINS T WHERE ...\", \"name\": "
                        "\"telemetry\", \"step\": \"5m\", \"agg\": \"mean,max\", \"from\": ..., \"to\": ...}"));
  }
  std::int64_t from = 0, to = 0, step = 0;
  if (!from_text || !to_text || !ingest::parse_time_bound(*from_text, INT64_MIN, from) ||
      !ingest::parse_time_bound(*to_text, INT64_MAX, to)) {
    return c.send(error(400, "bad_request", k_bound_help));
  }
  if (!ts::parse_step(*step_text, step)) return c.send(error(400, "bad_request", k_step_help));
  std::vector<ts::aggregate_fn> fns;
  if (std::string bad; !parse_aggregates(*agg_text, fns, bad)) {
    return c.send(error(400, "bad_request", unknown_aggregate(bad)));
  }
  for (auto fn : fns) {
    if (fn == ts::aggregate_fn::first || fn == ts::aggregate_fn::last || ts::is_percentile(fn)) {
      return c.send(error(400, "bad_request",
                          "first, last and percentiles are per twin; across twins use mean, min, max, sum, count or "
                          "stddev"));
    }
  }
  if (!format->empty() && *format != "json" && *format != "csv") {
    return c.send(error(400, "bad_request", "format must be json or csv"));
  }
  // Every twin the query selects, page after page (bounded: aggregating is per twin).
  constexpr std::size_t k_max_twins = 10000;
  std::vector<std::string> twins;
  twin::query_options options;
  options.page_size = options.limits.max_page_size;
  options.limits.max_work = options_.query_max_work;
  for (;;) {
    auto page = graph_.query(*query, options);
    if (!page) {
      if (page.error().code() == status_code::invalid_argument) {
        return c.send(error(400, "bad_query", page.error().message()));
      }
      return c.send(from_status(page.error()));
    }
    for (const json& row : (*page)["value"]) {
      std::string id = twin_of_row(row);
      if (id.empty()) {
        return c.send(error(400, "bad_query",
                            "the query must select twins: SELECT T FROM DIGITALTWINS T WHERE ..., or one twin of a "
                            "JOIN (SELECT pump FROM DIGITALTWINS station JOIN pump RELATED station.feeds ...)"));
      }
      twins.push_back(std::move(id));
    }
    if (twins.size() > k_max_twins) {
      return c.send(error(400, "bad_request",
                          "the query selects more than 10,000 twins; narrow it (WHERE ...) or aggregate in parts"));
    }
    auto token = page->find("continuationToken");
    if (token == page->end() || !token->is_string()) break;
    options.continuation_token = token->get<std::string>();
  }
  std::sort(twins.begin(), twins.end());
  twins.erase(std::unique(twins.begin(), twins.end()), twins.end());
  std::map<std::int64_t, ts::bucket> merged;
  std::size_t with_history = 0;
  for (const std::string& twin : twins) {
    auto buckets = history_->aggregate(twin, *name, from, to, step, k_max_raw_aggregate);
    if (!buckets) {
      if (buckets.error().code() == status_code::not_found) continue;  // this twin has no such history
      if (buckets.error().code() == status_code::invalid_argument) {
        return c.send(error(400, "bad_request", "twin " + quote(twin) + ": " + buckets.error().message()));
      }
      return c.send(from_status(buckets.error()));
    }
    ++with_history;
    for (const ts::bucket& b : *buckets) {
      ts::bucket& into = merged[b.start];
      into.start = b.start;
      ts::merge(into, b);
    }
  }
  std::vector<ts::bucket> b;
  b.reserve(merged.size());
  for (auto& [start, k] : merged) b.push_back(k);
  if (*format == "csv") return c.send(csv_response(buckets_csv(b, fns), ""));
  c.send(json_response(200, json{{"name", *name},
                                 {"twins", twins.size()},
                                 {"twinsWithHistory", with_history},
                                 {"step", *step_text},
                                 {"agg", aggregate_names(fns)},
                                 {"value", buckets_json(b, fns)}}));
}

void router::get_deadletters(context& c) {
  if (!letters_) return c.send(ingest_off());
  auto number = [&](std::string_view name, std::uint64_t fallback, std::uint64_t& out) {
    std::string v = c.query_param(name);
    if (v.empty()) return out = fallback, true;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc() && ptr == v.data() + v.size();
  };
  std::uint64_t after = 0, limit = 100;
  if (!number("after", 0, after) || !number("limit", 100, limit) || limit == 0 || limit > 1000) {
    return c.send(error(400, "bad_request", "after must be a sequence number and limit 1-1000"));
  }
  c.send(json_response(200, letters_->list(after, limit, c.query_param("reason"))));
}

void router::post_query(context& c) {
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
  options.limits.max_work = options_.query_max_work;
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
      return c.send(error(400, "invalid_query", page.error().message()));
    }
    return c.send(from_status(page.error()));
  }
  c.send(json_response(200, *page));
}

// --- OpenAPI ------------------------------------------------------------------------------

std::string router::openapi() const {
  json error_schema = json::parse(R"({"type": "object", "required": ["error"], "properties": {"error": {
      "type": "object", "required": ["code", "message", "details"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object", "properties": {
          "path": {"type": "string"}, "message": {"type": "string"}}}}}}}})");
  json error_response = {{"description", "error"}};
  error_response["content"]["application/json"]["schema"]["$ref"] = "#/components/schemas/Error";
  json paths = json::object();
  for (const auto& r : routes_) {
    json op = {{"summary", r.summary}, {"operationId", r.method + " " + r.pattern}};
    json params = json::array();
    for (const auto& seg : split_path(r.pattern)) {
      if (seg.front() != '{') continue;
      json p = {{"name", seg.substr(1, seg.size() - 2)}, {"in", "path"}, {"required", true}};
      p["schema"]["type"] = "string";
      params.push_back(std::move(p));
    }
    if (r.pattern == "/events") {
      for (const char* name : {"twin", "model", "type", "token"}) {
        json p = {{"name", name}, {"in", "query"}, {"required", false}};
        p["schema"]["type"] = "string";
        p["description"] = std::string(name) == "token" ? "the bearer token, for browsers (a WebSocket has no headers)"
                                                        : std::string("only events of this ") + name + " (repeatable)";
        params.push_back(std::move(p));
      }
    }
    if (r.method == "PUT" || r.method == "PATCH" || r.method == "DELETE") {
      json p = {{"name", "If-Match"}, {"in", "header"}};
      p["schema"]["type"] = "string";
      params.push_back(std::move(p));
    }
    if (r.method == "PUT") {
      json p = {{"name", "If-None-Match"}, {"in", "header"}};
      p["schema"] = {{"type", "string"}, {"enum", json::array({"*"})}};
      params.push_back(std::move(p));
    }
    if (!params.empty()) op["parameters"] = std::move(params);
    if (r.method == "PUT" || r.method == "PATCH" || r.method == "POST") {
      bool json_patch = r.method == "PATCH" && r.pattern.find("desired") == std::string::npos;
      op["requestBody"]["required"] = true;
      op["requestBody"]["content"]["application/json"]["schema"]["type"] = json_patch ? "array" : "object";
    }
    bool no_content = r.method == "DELETE" || (r.method == "PATCH" && r.pattern.find("desired") == std::string::npos);
    op["responses"][no_content ? "204" : "200"]["description"] =
        no_content && r.method == "PATCH" ? "success; 200 with the document when sent Prefer: return=representation"
                                          : "success";
    if (r.pattern == "/events") {
      op["responses"].erase("200");
      op["responses"]["101"]["description"] = "switched to WebSocket: one JSON change event per message";
    }
    op["responses"]["default"] = error_response;
    if (r.public_) {
      op["security"] = json::array();
    } else {
      op["x-doppel-role"] = std::string(to_string(r.needs));
    }
    std::string method = r.method;
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    paths[r.pattern][method] = std::move(op);
  }
  json doc = {{"openapi", "3.0.3"}, {"paths", std::move(paths)}};
  doc["info"] = {{"title", "Doppel twin API"}, {"version", DOPPEL_VERSION}};
  doc["security"] = json::array({json::object({{"bearer", json::array()}})});
  doc["components"]["securitySchemes"]["bearer"] = {{"type", "http"}, {"scheme", "bearer"}};
  doc["components"]["schemas"]["Error"] = std::move(error_schema);
  return doc.dump(2);
}

}  // namespace doppel::api
