// The InfluxDB line protocol (1.x and 2.x write format), so that collectors that speak it
// (Telegraf, the influx CLI, Node-RED nodes) can write to Doppel unchanged:
//
//   measurement[,tag=value...] field=value[,field=value...] [timestamp]
//
// with its escaping rules (backslash before comma and space in measurements; before comma,
// equals sign and space in tag keys, tag values and field keys; before double quote and backslash
// in string fields), field types (float, integer `12i`, unsigned `12u`, string "...", boolean
// t/T/true/True/TRUE and f/...), optional timestamps in a chosen precision, comments (#) and
// blank lines. Each line parses on its own: a bad line is reported (line, column, what) and the
// others still count, as InfluxDB's partial writes do.
//
// Callers: the /write endpoint and the line-protocol bench. The parser works in place: escapes
// are removed by moving bytes within the caller's buffer, and the points hold views into it, so a
// request parses with no allocation per point once the batch's vectors have grown (reuse a batch
// across requests). Threading: no shared state; one batch per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace doppel::ingest {

enum class field_type : std::uint8_t { float_, integer, unsigned_, string, boolean };

struct lp_tag {
  std::string_view key, value;
};

struct lp_field {
  std::string_view key;
  field_type type = field_type::float_;
  double f = 0;         // float_
  std::int64_t i = 0;   // integer; boolean (0/1)
  std::uint64_t u = 0;  // unsigned_
  std::string_view s;   // string
};

struct lp_point {
  std::string_view measurement;
  std::uint32_t first_tag = 0, tag_count = 0;      // into lp_batch::tags (sorted by key as written)
  std::uint32_t first_field = 0, field_count = 0;  // into lp_batch::fields
  std::int64_t time_ns = 0;                        // when has_time
  bool has_time = false;
  std::uint32_t line = 0;  // 1-based, for messages
};

struct lp_error {
  std::uint32_t line = 0;    // 1-based
  std::uint32_t column = 0;  // 1-based byte column in the line as sent
  std::string message;
  std::string text;  // the line (cut to 200 bytes), for dead letters
};

enum class precision : std::uint8_t { ns, us, ms, s, m, h };
// "n"/"ns", "u"/"us"/"µs", "ms", "s", "m", "h" (the /write `precision` parameter); false else.
bool parse_precision(std::string_view text, precision& out);

struct lp_batch {
  std::vector<lp_point> points;
  std::vector<lp_tag> tags;
  std::vector<lp_field> fields;
  std::vector<lp_error> errors;
  std::size_t lines = 0;  // non-blank, non-comment lines seen

  void clear();
  const lp_tag* tags_of(const lp_point& p) const { return tags.data() + p.first_tag; }
  const lp_field* fields_of(const lp_point& p) const { return fields.data() + p.first_field; }
  // The value of tag `key` of `p`, or an empty view with found = false.
  std::string_view tag(const lp_point& p, std::string_view key, bool* found = nullptr) const;
};

// Parses every line of `text` (which it rewrites in place; the views in `out` point into it)
// and appends points and errors to `out`. Timestamps are scaled from `unit` to nanoseconds;
// one that overflows is an error on its line.
void parse_line_protocol(std::string& text, precision unit, lp_batch& out);

}  // namespace doppel::ingest
