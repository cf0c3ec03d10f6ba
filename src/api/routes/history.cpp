#include "api/routes.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/routes/common.h"
#include "core/text.h"
#include "core/time.h"
#include "ingest/export_format.h"
#include "ingest/readings.h"
#include "store/timeseries/aggregate.h"

namespace doppel::api {

using nlohmann::json;

namespace {

using detail::bind_route;
using detail::error;
using detail::from_status;
using detail::json_response;

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

// History of one telemetry (raw points or per-step aggregates), and one telemetry aggregated
// across the twins a query selects (on a query worker).
class history_routes {
 public:
  history_routes(const twin::twin_graph& graph, const ts::history& history, std::uint64_t query_max_work)
      : graph_(graph), history_(&history), query_max_work_(query_max_work) {}
  void get_telemetry_history(route_context& c);
  void post_query_telemetry(route_context& c);

 private:
  void send_aggregates(route_context& c, const std::string& twin, const std::string& name, std::int64_t from,
                       std::int64_t to, std::size_t limit, const std::string& format, const std::string& step_text,
                       const std::string& agg_text);

  const twin::twin_graph& graph_;
  const ts::history* history_;
  std::uint64_t query_max_work_;
};

void history_routes::get_telemetry_history(route_context& c) {
  std::int64_t from = 0, to = 0;
  if (!parse_time_bound(c.query_param("from"), INT64_MIN, from) ||
      !parse_time_bound(c.query_param("to"), INT64_MAX, to)) {
    return c.send(error(400, "bad_request", k_bound_help));
  }
  if (std::string why = reversed_range(from, to, "the query parameters"); !why.empty()) {
    return c.send(error(400, "bad_request", std::move(why)));
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

void history_routes::send_aggregates(route_context& c, const std::string& twin, const std::string& name,
                                     std::int64_t from, std::int64_t to, std::size_t limit, const std::string& format,
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

void history_routes::post_query_telemetry(route_context& c) {
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
  if (!from_text || !to_text || !parse_time_bound(*from_text, INT64_MIN, from) ||
      !parse_time_bound(*to_text, INT64_MAX, to)) {
    return c.send(error(400, "bad_request", k_bound_help));
  }
  if (std::string why = reversed_range(from, to, "the body"); !why.empty()) {
    return c.send(error(400, "bad_request", std::move(why)));
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
  // Every twin the query selects (bounded: aggregating is per twin).
  std::vector<std::string> twins;
  if (auto refused = detail::twins_of_query(graph_, *query, query_max_work_, 10000, twins)) {
    return c.send(std::move(*refused));
  }
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

}  // namespace

void add_history_routes(router& r, const twin::twin_graph& graph, const ts::history& history) {
  auto h = std::make_shared<history_routes>(graph, history, r.options().query_max_work);
  r.add("GET", "/digitaltwins/{id}/telemetry/{name}", role::viewer, false,
        "History of one telemetry: raw points with from <= time < to (?from=, ?to= as RFC 3339 or Unix ms, "
        "?limit=, ?format=csv), or per-step aggregates (?step=1m&agg=mean,max,...); nextLink pages on",
        bind_route(h, &history_routes::get_telemetry_history));
  r.add("POST", "/query/telemetry", role::viewer, false,
        "One telemetry aggregated per step across the twins a query selects: {\"query\", \"name\", \"step\", "
        "\"agg\", \"from\", \"to\"}",
        bind_route(h, &history_routes::post_query_telemetry), execution::query_worker);
}

}  // namespace doppel::api
