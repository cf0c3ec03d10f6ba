#include "ingest/line_protocol.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "core/json_input.h"

namespace doppel::ingest {

namespace {

constexpr std::size_t k_max_error_text = 200;

// One line being parsed: `r_` reads; a token with escapes is compacted within its own span (the
// unescaped bytes are written from its first byte on, never past what was read), so views stay
// valid and a line without backslashes is never changed. `start_` is where the line begins.
class line_parser {
 public:
  line_parser(std::string& text, std::size_t start, std::size_t end) : t_(text), start_(start), end_(end), r_(start) {}

  // Parses the line into `out`; false with `error` set when it is not valid.
  bool parse(precision unit, lp_batch& out, lp_point& p, std::string& error, std::size_t& error_at) {
    error_ = &error;
    error_at_ = &error_at;
    p.measurement = token(k_measurement);
    if (p.measurement.empty()) return fail("the line has no measurement name before its fields");
    p.first_tag = static_cast<std::uint32_t>(out.tags.size());
    while (peek() == ',') {
      ++r_;
      std::string_view key = token(k_key);
      if (key.empty()) return fail("empty tag key after ','");
      if (peek() != '=') return fail("expected '=' after the tag key \"" + std::string(key) + "\"");
      ++r_;
      std::string_view value = token(k_key);
      if (value.empty()) return fail("the tag \"" + std::string(key) + "\" has no value; write key=value");
      out.tags.push_back({key, value});
    }
    p.tag_count = static_cast<std::uint32_t>(out.tags.size()) - p.first_tag;
    if (!skip_spaces()) return fail("expected a space and the fields (key=value) after the measurement and tags");
    p.first_field = static_cast<std::uint32_t>(out.fields.size());
    for (;;) {
      std::string_view key = token(k_key);
      if (key.empty()) return fail("expected a field key (write key=value)");
      if (peek() != '=') return fail("expected '=' after the field key \"" + std::string(key) + "\"");
      ++r_;
      lp_field f;
      f.key = key;
      if (!field_value(f)) return false;
      out.fields.push_back(f);
      if (peek() != ',') break;
      ++r_;
    }
    p.field_count = static_cast<std::uint32_t>(out.fields.size()) - p.first_field;
    if (r_ < end_ && t_[r_] != ' ' && t_[r_] != '\t') {
      return fail("unexpected '" + std::string(1, t_[r_]) + "' after a field value; separate fields with ','");
    }
    skip_spaces();
    if (r_ < end_) {
      std::size_t begin = r_;
      while (r_ < end_ && t_[r_] != ' ' && t_[r_] != '\t') ++r_;
      std::int64_t ts = 0;
      auto [ptr, ec] = std::from_chars(t_.data() + begin, t_.data() + r_, ts);
      if (ec != std::errc() || ptr != t_.data() + r_) {
        r_ = begin;
        return fail("the timestamp must be an integer (" + std::string(unit_name(unit)) +
                    " since 1970-01-01T00:00:00Z)");
      }
      if (!scale(ts, unit, p.time_ns)) {
        r_ = begin;
        return fail("the timestamp is out of range for nanoseconds (about 1677-2262)");
      }
      p.has_time = true;
      skip_spaces();
      if (r_ < end_) return fail("unexpected text after the timestamp");
    }
    return true;
  }

 private:
  enum kind { k_measurement, k_key };

  char peek() const { return r_ < end_ ? t_[r_] : '\0'; }

  bool skip_spaces() {
    std::size_t before = r_;
    while (r_ < end_ && (t_[r_] == ' ' || t_[r_] == '\t')) ++r_;
    return r_ > before;
  }

  // Reads up to an unescaped stop character (measurement: ',' ' '; keys and tag values: ',' '='
  // ' '), removing the escapes; the result is a view of the written bytes.
  std::string_view token(kind k) {
    std::size_t w = r_;
    std::size_t begin = w;
    auto is_stop = [k](char c) { return c == ',' || c == ' ' || c == '\t' || (k == k_key && c == '='); };
    while (r_ < end_ && !is_stop(t_[r_])) {
      char c = t_[r_];
      if (c == '\\' && r_ + 1 < end_ && is_stop(t_[r_ + 1])) {
        c = t_[++r_];
      }
      t_[w++] = c;
      ++r_;
    }
    return {t_.data() + begin, w - begin};
  }

  bool field_value(lp_field& f) {
    if (peek() == '"') {
      ++r_;
      std::size_t w = r_;
      std::size_t begin = w;
      for (;;) {
        if (r_ >= end_) return fail("the string field \"" + std::string(f.key) + "\" has no closing '\"'");
        char c = t_[r_];
        if (c == '"') break;
        if (c == '\\' && r_ + 1 < end_ && (t_[r_ + 1] == '"' || t_[r_ + 1] == '\\')) c = t_[++r_];
        t_[w++] = c;
        ++r_;
      }
      ++r_;  // the closing quote
      f.type = field_type::string;
      f.s = {t_.data() + begin, w - begin};
      return true;
    }
    std::size_t begin = r_;
    while (r_ < end_ && t_[r_] != ',' && t_[r_] != ' ' && t_[r_] != '\t') ++r_;
    std::string_view v(t_.data() + begin, r_ - begin);
    auto bad = [&](const std::string& why) {
      r_ = begin;
      return fail("the value of field \"" + std::string(f.key) + "\" " + why);
    };
    if (v.empty()) return bad("is missing");
    if (v == "t" || v == "T" || v == "true" || v == "True" || v == "TRUE") {
      f.type = field_type::boolean, f.i = 1;
      return true;
    }
    if (v == "f" || v == "F" || v == "false" || v == "False" || v == "FALSE") {
      f.type = field_type::boolean, f.i = 0;
      return true;
    }
    const char* first = v.data();
    const char* last = v.data() + v.size();
    if (v.back() == 'i') {
      auto [ptr, ec] = std::from_chars(first, last - 1, f.i);
      if (ec == std::errc::result_out_of_range) return bad("does not fit a 64-bit integer");
      if (ec != std::errc() || ptr != last - 1) return bad("is not an integer (write e.g. 42i)");
      f.type = field_type::integer;
      return true;
    }
    if (v.back() == 'u') {
      auto [ptr, ec] = std::from_chars(first, last - 1, f.u);
      if (ec == std::errc::result_out_of_range) return bad("does not fit a 64-bit unsigned integer");
      if (ec != std::errc() || ptr != last - 1) return bad("is not an unsigned integer (write e.g. 42u)");
      f.type = field_type::unsigned_;
      return true;
    }
    // from_chars accepts no leading '+', as the line protocol; it does accept "inf" and "nan",
    // which InfluxDB refuses.
    if (*first == '+') ++first;
    auto [ptr, ec] = std::from_chars(first, last, f.f);
    if (ec != std::errc() || ptr != last || !std::isfinite(f.f)) {
      return bad("is not a number, integer (42i), unsigned (42u), boolean (true/false) or \"string\"");
    }
    f.type = field_type::float_;
    return true;
  }

  static std::string_view unit_name(precision u) {
    switch (u) {
      case precision::ns: return "nanoseconds";
      case precision::us: return "microseconds";
      case precision::ms: return "milliseconds";
      case precision::s: return "seconds";
      case precision::m: return "minutes";
      case precision::h: return "hours";
    }
    return "";
  }

  static bool scale(std::int64_t v, precision u, std::int64_t& ns) {
    std::int64_t factor = 1;
    switch (u) {
      case precision::ns: factor = 1; break;
      case precision::us: factor = 1000; break;
      case precision::ms: factor = 1000000; break;
      case precision::s: factor = 1000000000; break;
      case precision::m: factor = 60LL * 1000000000; break;
      case precision::h: factor = 3600LL * 1000000000; break;
    }
    return !__builtin_mul_overflow(v, factor, &ns);
  }

  bool fail(std::string message) {
    *error_ = std::move(message);
    *error_at_ = r_ - start_;
    return false;
  }

  std::string& t_;
  std::size_t start_, end_;
  std::size_t r_;
  std::string* error_ = nullptr;
  std::size_t* error_at_ = nullptr;
};

}  // namespace

bool parse_precision(std::string_view text, precision& out) {
  if (text == "n" || text == "ns" || text.empty()) return out = precision::ns, true;
  if (text == "u" || text == "us" || text == "\xc2\xb5s") return out = precision::us, true;
  if (text == "ms") return out = precision::ms, true;
  if (text == "s") return out = precision::s, true;
  if (text == "m") return out = precision::m, true;
  if (text == "h") return out = precision::h, true;
  return false;
}

void lp_batch::clear() {
  points.clear();
  tags.clear();
  fields.clear();
  errors.clear();
  lines = 0;
}

std::string_view lp_batch::tag(const lp_point& p, std::string_view key, bool* found) const {
  for (std::uint32_t k = 0; k < p.tag_count; ++k) {
    const lp_tag& t = tags[p.first_tag + k];
    if (t.key == key) {
      if (found) *found = true;
      return t.value;
    }
  }
  if (found) *found = false;
  return {};
}

void parse_line_protocol(std::string& text, precision unit, lp_batch& out) {
  std::string original;  // a line with escapes, kept for its error message (rewritten in place)
  std::string error;
  std::uint32_t line_no = 0;
  std::size_t pos = 0;
  // Names, tags and strings become twin ids and stored text: a line with bytes that are not
  // UTF-8 is malformed. Checked once for the whole body; line by line only when that fails.
  bool all_utf8 = is_valid_utf8(text);
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::size_t end = nl == std::string::npos ? text.size() : nl;
    std::size_t next = nl == std::string::npos ? text.size() : nl + 1;
    ++line_no;
    if (end > pos && text[end - 1] == '\r') --end;
    std::size_t first = pos;
    while (first < end && (text[first] == ' ' || text[first] == '\t')) ++first;
    if (first == end || text[first] == '#') {
      pos = next;
      continue;
    }
    ++out.lines;
    if (!all_utf8) {
      std::size_t bad = find_invalid_utf8(std::string_view(text).substr(first, end - first));
      if (bad != std::string_view::npos) {
        // The line as sent holds those bytes: its dead letter keeps a hex dump instead.
        std::string raw;
        static constexpr char hex[] = "0123456789ABCDEF";
        for (std::size_t k = first; k < end && raw.size() < k_max_error_text; ++k) {
          auto c = static_cast<unsigned char>(text[k]);
          if (c < 0x80) {
            raw += static_cast<char>(c);
          } else {
            raw += "\\x";
            raw += hex[c >> 4];
            raw += hex[c & 15];
          }
        }
        out.errors.push_back({line_no, static_cast<std::uint32_t>(first - pos + bad + 1),
                              "the line is not valid UTF-8 here; measurement, tags, field keys and string values "
                              "must be UTF-8 text",
                              std::move(raw)});
        pos = next;
        continue;
      }
    }
    bool escaped = std::memchr(text.data() + first, '\\', end - first) != nullptr;
    if (escaped) original.assign(text, first, end - first);
    lp_point p;
    p.line = line_no;
    std::size_t tags_before = out.tags.size(), fields_before = out.fields.size();
    std::size_t at = 0;
    line_parser lp(text, first, end);
    if (lp.parse(unit, out, p, error, at)) {
      out.points.push_back(p);
    } else {
      out.tags.resize(tags_before);
      out.fields.resize(fields_before);
      std::string_view raw = escaped ? std::string_view(original) : std::string_view(text).substr(first, end - first);
      out.errors.push_back({line_no, static_cast<std::uint32_t>(first - pos + at + 1), std::move(error),
                            std::string(raw.substr(0, k_max_error_text))});
      error.clear();
    }
    pos = next;
  }
}

}  // namespace doppel::ingest
