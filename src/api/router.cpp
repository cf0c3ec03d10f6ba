#include "api/router.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "core/json_input.h"
#include "core/text.h"

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

std::string route_context::query_param(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return {};
}

bool route_context::body_json(json& out) {
  if (req.body.empty()) {
    send(router::error(400, "bad_request", "the request needs a JSON body"));
    return false;
  }
  // One policy for every JSON body (core/json_input.h): UTF-8, depth, numbers, syntax.
  auto parsed = parse_json(req.body);
  if (!parsed) {
    send(router::error(400, "bad_request", "the body: " + parsed.error().message()));
    return false;
  }
  out = std::move(*parsed);
  return true;
}

twin::condition route_context::condition() const {
  twin::condition c;
  c.if_match = std::string(req.header("if-match"));
  c.if_none_match_any = req.header("if-none-match") == "*";
  return c;
}

response router::error(unsigned status, std::string_view code, std::string message, const std::string& details_json) {
  response r;
  r.status = status;
  r.body = R"({"error":{"code":)" + json(code).dump() + R"(,"message":)" +
           json(message).dump(-1, ' ', false, json::error_handler_t::replace) + R"(,"details":)" + details_json + "}}";
  return r;
}

router::router(token_store& tokens, api_options options) : tokens_(tokens), options_(std::move(options)) {
  queries_ = std::make_unique<query_executor>(
      query_executor_options{options_.query_workers, options_.query_queue, options_.queries_per_token});
  metric_sources_.push_back([this](std::string& out) { queries_->render_metrics(out); });
}

void router::seal() {
  // Metrics are kept per path pattern.
  std::vector<std::string> patterns;
  for (auto& e : table_) {
    auto it = std::find(patterns.begin(), patterns.end(), e.info.pattern);
    e.pattern_index = static_cast<std::size_t>(it - patterns.begin());
    if (it == patterns.end()) patterns.push_back(e.info.pattern);
  }
  static_slot_ = patterns.size();
  if (static_files_) patterns.push_back("static");
  metrics_ = std::make_unique<metrics>(patterns);
  sealed_.store(true, std::memory_order_release);
}

void router::stop_queries() { queries_->stop(); }

void router::run_query(std::shared_ptr<route_context> ctx, const handler& fn) {
  std::string token = ctx->who.name;
  // The table is fixed once serving starts: the handler stays where it is.
  auto admitted = queries_->submit(token, [ctx, fn = &fn] { (*fn)(*ctx); });
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

void router::add(std::string method, std::string pattern, role needs, bool is_public, std::string summary, handler fn,
                 execution runs) {
  if (sealed_.load(std::memory_order_acquire)) {
    // A caller bug (the table feeds the metrics slots, fixed once serving starts), not input.
    std::fprintf(stderr, "doppel: route %s %s added after the router started serving\n", method.c_str(),
                 pattern.c_str());
    std::abort();
  }
  entry e{{std::move(method), std::move(pattern), needs, is_public, std::move(summary), runs}, {}, std::move(fn)};
  e.segments = split_path(e.info.pattern);
  if (!e.segments.empty() &&
      std::find(api_prefixes_.begin(), api_prefixes_.end(), e.segments.front()) == api_prefixes_.end()) {
    api_prefixes_.push_back(e.segments.front());
  }
  routes_.push_back(e.info);
  table_.push_back(std::move(e));
}

bool router::is_api_path(std::string_view path) const {
  std::vector<std::string> segments = split_path(path.substr(0, path.find('?')));
  if (segments.empty()) return false;
  std::string first;
  if (!percent_decode(segments.front(), first)) return true;  // malformed: the API's 400
  return std::find(api_prefixes_.begin(), api_prefixes_.end(), first) != api_prefixes_.end();
}

void router::add_metrics_source(std::function<void(std::string&)> source) {
  metric_sources_.push_back(std::move(source));
}

void router::add_health_source(std::function<nlohmann::json()> source) { health_sources_.push_back(std::move(source)); }

void router::render_request_metrics(std::string& out) const { metrics_->render(out); }

void router::render_metric_sources(std::string& out) const {
  for (const auto& source : metric_sources_) source(out);
}

json router::connector_health() const {
  json out = json::array();
  for (const auto& source : health_sources_) out.push_back(source());
  return out;
}

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
  std::call_once(sealed_once_, [this] { seal(); });
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
  // No route, and not below an API path: a file of the web app, if it is served.
  bool to_static = allowed.empty() && !bad_escape && static_files_ && (req.method == "GET" || req.method == "HEAD") &&
                   !is_api_path(target);
  auto ctx = std::make_shared<route_context>();
  ctx->done = [this, start, method = req.method, origin = std::string(req.header("origin")), done = std::move(done),
               route = to_static ? static_slot_ : pattern_index](response r) {
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
  if (to_static) return ctx->send(static_files_(req, target));
  if (req.method == "OPTIONS" && !allowed.empty() && !options_.cors_origins.empty()) {
    response r;  // a CORS preflight
    r.status = 204;
    r.content_type.clear();
    r.headers.push_back({"Access-Control-Allow-Methods", allowed + ", OPTIONS"});
    r.headers.push_back(
        {"Access-Control-Allow-Headers",
         "Authorization, Content-Type, If-Match, If-None-Match, Prefer, max-items-per-page, Message-Id, "
         "Telemetry-Source-Time"});
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
  if (match->info.runs == execution::query_worker) return run_query(std::move(ctx), match->fn);
  match->fn(*ctx);
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
    // ADT's publish telemetry: its headers, and 204 as ADT answers.
    bool adt_telemetry = r.method == "POST" && r.pattern.rfind("/digitaltwins/", 0) == 0 && r.pattern.size() >= 10 &&
                         r.pattern.compare(r.pattern.size() - 10, 10, "/telemetry") == 0;
    if (adt_telemetry) {
      json id = {{"name", "Message-Id"}, {"in", "header"}, {"required", true}};
      id["schema"]["type"] = "string";
      id["description"] = "required, as in ADT; Doppel does not de-duplicate by it";
      json at = {{"name", "Telemetry-Source-Time"}, {"in", "header"}, {"required", false}};
      at["schema"] = {{"type", "string"}, {"format", "date-time"}};
      at["description"] = "RFC 3339: the readings' time (default: arrival)";
      params.push_back(std::move(id));
      params.push_back(std::move(at));
    }
    if (!params.empty()) op["parameters"] = std::move(params);
    if (r.method == "PUT" || r.method == "PATCH" || r.method == "POST") {
      bool json_patch = r.method == "PATCH" && r.pattern.find("desired") == std::string::npos;
      op["requestBody"]["required"] = true;
      op["requestBody"]["content"]["application/json"]["schema"]["type"] = json_patch ? "array" : "object";
    }
    bool no_content = r.method == "DELETE" || adt_telemetry ||
                      (r.method == "PATCH" && r.pattern.find("desired") == std::string::npos);
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
