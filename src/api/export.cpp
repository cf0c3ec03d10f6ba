#include "api/export.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <optional>

#include "api/router.h"
#include "core/text.h"
#include "core/time.h"
#include "ingest/export_format.h"
#include "ingest/readings.h"

namespace doppel::api {

namespace {

constexpr std::size_t k_default_limit = 100000;
constexpr std::size_t k_max_limit = 1000000;
constexpr std::size_t k_twins_per_scan = 1024;

response bad_request(std::string message) { return router::error(400, "bad_request", std::move(message)); }

// Where a page goes on: the series (twin, name), from `time` on; the series after it from `from`.
struct cursor {
  std::string twin, name;
  std::int64_t time = 0;
};

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

bool unhex(std::string_view text, std::string& out) {
  auto nibble = [](char ch) { return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1; };
  if (text.size() % 2) return false;
  out.clear();
  for (std::size_t k = 0; k < text.size(); k += 2) {
    int hi = nibble(text[k]), lo = nibble(text[k + 1]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
  }
  return true;
}

// "TIME.TWIN.NAME", the twin and name in hex (any bytes survive the URL and come back the same).
std::string write_cursor(const cursor& c) { return std::to_string(c.time) + "." + hex(c.twin) + "." + hex(c.name); }

bool parse_cursor(std::string_view text, cursor& c) {
  auto dot = text.find('.');
  auto dot2 = dot == std::string_view::npos ? dot : text.find('.', dot + 1);
  if (dot2 == std::string_view::npos) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + dot, c.time);
  return ec == std::errc() && ptr == text.data() + dot && unhex(text.substr(dot + 1, dot2 - dot - 1), c.twin) &&
         unhex(text.substr(dot2 + 1), c.name) && !c.twin.empty() && !c.name.empty();
}

struct params {
  bool csv = false;
  std::int64_t from = INT64_MIN, to = INT64_MAX;
  std::vector<std::string> twins;  // sorted, unique; empty: all
  std::size_t limit = k_default_limit;
  bool resume = false;
  cursor at;
};

// The request's parameters; an error response when one is wrong.
std::optional<response> read_params(const std::vector<std::pair<std::string, std::string>>& query, params& p) {
  std::string format, from, to, limit, at;
  for (const auto& [k, v] : query) {
    if (k == "format") format = v;
    if (k == "from") from = v;
    if (k == "to") to = v;
    if (k == "limit") limit = v;
    if (k == "cursor") at = v;
    if (k == "twin") p.twins.push_back(v);
  }
  if (format != "" && format != "lp" && format != "csv") {
    return bad_request("format " + quote(format) + " is not lp (InfluxDB line protocol) or csv");
  }
  p.csv = format == "csv";
  if (!parse_time_bound(from, INT64_MIN, p.from) || !parse_time_bound(to, INT64_MAX, p.to)) {
    return bad_request("from and to must be RFC 3339 date-times (2026-11-25T10:00:00Z) or Unix milliseconds");
  }
  if (std::string why = reversed_range(p.from, p.to, "the query parameters"); !why.empty()) {
    return bad_request(std::move(why));
  }
  if (!limit.empty()) {
    std::uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(limit.data(), limit.data() + limit.size(), n);
    if (ec != std::errc() || ptr != limit.data() + limit.size() || n == 0 || n > k_max_limit) {
      return bad_request("limit must be 1-1000000 (points per page; default 100000)");
    }
    p.limit = static_cast<std::size_t>(n);
  }
  for (const auto& t : p.twins) {
    if (t.empty()) return bad_request("twin= needs a twin id; leave twin out to export every twin");
  }
  std::sort(p.twins.begin(), p.twins.end());
  p.twins.erase(std::unique(p.twins.begin(), p.twins.end()), p.twins.end());
  if (!at.empty()) {
    if (!parse_cursor(at, p.at)) {
      return bad_request(
          "cursor is not one this server wrote: follow the Link header of the previous page, or start "
          "again without cursor");
    }
    p.resume = true;
  }
  return std::nullopt;
}

// The request for the page after `at`.
std::string next_link(const params& p, const cursor& at) {
  std::string link = std::string("/telemetry/export?format=") + (p.csv ? "csv" : "lp");
  if (p.from != INT64_MIN) link += "&from=" + percent_encode(rfc3339_ns(p.from));
  if (p.to != INT64_MAX) link += "&to=" + percent_encode(rfc3339_ns(p.to));
  for (const auto& t : p.twins) link += "&twin=" + percent_encode(t);
  link += "&limit=" + std::to_string(p.limit);
  link += "&cursor=" + write_cursor(at);
  return link;
}

}  // namespace

response export_history(const twin::twin_graph& graph, const ts::history& history,
                        const std::vector<std::pair<std::string, std::string>>& query) {
  params p;
  if (auto refused = read_params(query, p)) return std::move(*refused);
  for (const auto& t : p.twins) {
    if (!graph.model_of(t)) return router::error(404, "not_found", "twin " + quote(t) + " does not exist");
  }
  response out;
  out.status = 200;
  out.content_type = p.csv ? "text/csv; charset=utf-8" : "text/plain; charset=utf-8";
  if (p.csv) out.body = ingest::csv_header;
  std::size_t remaining = p.limit, points = 0, skipped = 0;
  std::optional<cursor> next;
  std::string first = p.resume ? p.at.twin : std::string();
  // Twins in id order, a scan's worth at a time; each twin's series in name order.
  while (!next) {
    std::vector<std::string> ids;
    if (p.twins.empty()) {
      ids = graph.twin_ids(first, k_twins_per_scan);
    } else {
      for (const auto& t : p.twins) {
        if (t >= first) ids.push_back(t);
      }
    }
    for (const auto& id : ids) {
      for (const auto& name : history.series_of(id)) {
        std::int64_t from = p.from;
        if (p.resume && id == p.at.twin) {
          if (name < p.at.name) continue;
          if (name == p.at.name) from = std::max(from, p.at.time);
        }
        if (from >= p.to) continue;
        bool truncated = false;
        // A full page only looks whether anything follows.
        auto r = history.read(id, name, from, p.to, remaining ? remaining : 1, &truncated);
        if (!r) {
          if (r.error().code() == status_code::not_found) continue;  // no points at all
          return router::error(503, "unavailable", "cannot read the history: " + r.error().message());
        }
        if (r->size() == 0) continue;
        if (remaining == 0) {
          next = cursor{id, name, from};
          break;
        }
        if (p.csv) {
          ingest::append_csv(out.body, id, name, *r);
        } else {
          skipped += ingest::append_line_protocol(out.body, id, name, *r);
        }
        points += r->size();
        remaining -= r->size();
        if (truncated) {
          next = cursor{id, name, r->t.back() + 1};
          break;
        }
      }
      if (next) break;
    }
    if (!p.twins.empty() || ids.size() < k_twins_per_scan || next) break;
    first = ids.back() + '\0';  // the first id after it
  }
  out.headers.emplace_back("X-Doppel-Points", std::to_string(points - skipped));
  if (skipped) out.headers.emplace_back("X-Doppel-Skipped", std::to_string(skipped));
  if (next) out.headers.emplace_back("Link", "<" + next_link(p, *next) + ">; rel=\"next\"");
  return out;
}

}  // namespace doppel::api
