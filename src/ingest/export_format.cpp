#include "ingest/export_format.h"

#include <charconv>
#include <cmath>

#include "core/json_input.h"
#include "core/text.h"
#include "core/time.h"
#include "ingest/readings.h"

namespace doppel::ingest {

namespace {

// A tag value or field key as line protocol escapes it; false when it cannot be carried: a
// newline (lines end there) or a final '\' (it would escape the separator after it).
bool append_lp_key(std::string& out, std::string_view text) {
  if (text.empty() || text.back() == '\\' || text.find('\n') != std::string_view::npos) return false;
  for (char c : text) {
    if (c == ',' || c == '=' || c == ' ' || c == '\t') out += '\\';
    out += c;
  }
  return true;
}

// The shortest text that reads back to the same double.
std::string_view shortest(double v, char (&buf)[32]) {
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string_view(buf, static_cast<std::size_t>(end - buf)) : std::string_view("0");
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(end - buf));
}

bool needs_csv_quotes(std::string_view text) { return text.find_first_of(",\"\r\n") != std::string_view::npos; }

void append_csv_quoted(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_csv_text(std::string& out, std::string_view text) {
  if (needs_csv_quotes(text)) {
    append_csv_quoted(out, text);
  } else {
    out += text;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k) {
    char x = a[k] >= 'A' && a[k] <= 'Z' ? static_cast<char>(a[k] - 'A' + 'a') : a[k];
    if (x != b[k]) return false;
  }
  return true;
}

constexpr std::string_view k_bom = "\xEF\xBB\xBF";
constexpr std::size_t k_max_row_bytes = 16u << 20;
constexpr std::string_view k_columns[4] = {"twin", "name", "time", "value"};

}  // namespace

bool line_protocol_line(std::string& out, std::string_view twin, std::string_view name, std::int64_t time_ns,
                        const history_value& v) {
  std::size_t before = out.size();
  auto refuse = [&] {
    out.resize(before);
    return false;
  };
  out += "doppel,twin=";
  if (!append_lp_key(out, twin)) return refuse();
  out += ' ';
  if (!append_lp_key(out, name)) return refuse();
  out += '=';
  switch (v.type) {
    case ts::value_type::f64: {
      if (!std::isfinite(v.f)) return refuse();
      char buf[32];
      out += shortest(v.f, buf);
      break;
    }
    case ts::value_type::i64:
      append_int(out, v.i);
      out += 'i';
      break;
    case ts::value_type::boolean: out += v.i ? "true" : "false"; break;
    case ts::value_type::string:
      if (v.s.find('\n') != std::string::npos) return refuse();
      out += '"';
      for (char c : v.s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
      break;
  }
  out += ' ';
  append_int(out, time_ns);
  out += '\n';
  return true;
}

std::size_t append_line_protocol(std::string& out, std::string_view twin, std::string_view name,
                                 const ts::column_batch& points) {
  std::size_t skipped = 0;
  for (std::size_t k = 0; k < points.size(); ++k) {
    if (line_protocol_line(out, twin, name, points.t[k], history_value_at(points, k))) continue;
    ++skipped;
    out += "# line protocol cannot carry the point of twin " + quote(twin, 200) + ", " + quote(name, 200) + " at " +
           rfc3339_ns(points.t[k]) + " (a newline, a final backslash or a value that is not finite): export as CSV\n";
  }
  return skipped;
}

history_value history_value_at(const ts::column_batch& p, std::size_t k) {
  history_value v;
  v.type = p.type;
  switch (p.type) {
    case ts::value_type::f64: v.f = p.f[k]; break;
    case ts::value_type::i64: v.i = p.i[k]; break;
    case ts::value_type::boolean: v.i = p.b[k] != 0; break;
    case ts::value_type::string: v.s = p.s[k]; break;
  }
  return v;
}

void append_csv_value(std::string& out, const history_value& v) {
  switch (v.type) {
    case ts::value_type::f64: {
      char buf[32];
      std::string_view text = shortest(v.f, buf);
      out += text;
      // A float keeps a fraction or an exponent, so it never reads back as an integer.
      if (std::isfinite(v.f) && text.find_first_of(".e") == std::string_view::npos) out += ".0";
      break;
    }
    case ts::value_type::i64: append_int(out, v.i); break;
    case ts::value_type::boolean: out += v.i ? "true" : "false"; break;
    case ts::value_type::string: append_csv_quoted(out, v.s); break;
  }
}

void append_csv(std::string& out, std::string_view twin, std::string_view name, const ts::column_batch& points) {
  for (std::size_t k = 0; k < points.size(); ++k) {
    append_csv_text(out, twin);
    out += ',';
    append_csv_text(out, name);
    out += ',';
    out += rfc3339_ns(points.t[k]);
    out += ',';
    append_csv_value(out, history_value_at(points, k));
    out += '\n';
  }
}

std::size_t csv_reader::read(std::string_view text, bool last, std::vector<csv_point>& points,
                             std::vector<csv_error>& errors) {
  if (skip_rest_) return text.size();
  std::size_t pos = 0;
  if (!started_) {
    if (!last && text.size() < k_bom.size() && k_bom.substr(0, text.size()) == text) return 0;  // wait and see
    if (text.substr(0, k_bom.size()) == k_bom) pos = k_bom.size();
    started_ = true;
  }
  const std::size_t n = text.size();
  while (pos < n && !skip_rest_) {
    // One record: fields up to an unquoted newline (a quoted field may hold newlines).
    std::size_t p = pos;
    std::uint32_t newlines = 0;
    std::size_t used = 0;
    std::string problem;
    bool incomplete = false;
    for (;;) {
      if (fields_.size() <= used) fields_.emplace_back();
      field& f = fields_[used++];
      f.text.clear();
      f.quoted = p < n && text[p] == '"';
      if (f.quoted) {
        ++p;
        for (;;) {
          if (p >= n) {
            incomplete = true;
            break;
          }
          char c = text[p];
          if (c == '"') {
            if (p + 1 >= n && !last) {  // an escaped quote or the closing one: the next byte says
              incomplete = true;
              break;
            }
            if (p + 1 < n && text[p + 1] == '"') {
              f.text += '"';
              p += 2;
              continue;
            }
            ++p;
            break;
          }
          if (c == '\n') ++newlines;
          f.text += c;
          ++p;
        }
        if (incomplete) break;
        if (p + 1 < n && text[p] == '\r' && text[p + 1] == '\n') ++p;
        if (p < n && text[p] != ',' && text[p] != '\n') {
          if (p + 1 >= n && text[p] == '\r' && !last) {
            incomplete = true;
            break;
          }
          problem = "unexpected text after the closing quote of field " + std::to_string(used) +
                    " (inside quotes, write a quote as \"\")";
          break;
        }
      } else {
        std::size_t e = p;
        while (e < n && text[e] != ',' && text[e] != '\n') ++e;
        f.text.assign(text.substr(p, e - p));
        if (!f.text.empty() && f.text.back() == '\r') f.text.pop_back();
        p = e;
      }
      if (p >= n) {
        if (!last) incomplete = true;
        break;
      }
      if (text[p] == '\n') {
        ++p;
        ++newlines;
        break;
      }
      ++p;  // ','
    }
    if (incomplete) {
      if (last) {
        problem = "a quoted field is not closed (a quote opens it; end it with another)";
      } else if (n - pos > k_max_row_bytes) {
        problem = "a row is longer than 16 MB (a quote that is never closed?)";
      } else {
        return pos;
      }
    }
    if (!problem.empty()) {
      std::size_t end = n;  // an unclosed quote: there is no telling where rows start again
      if (!incomplete) {    // else go on after the end of the line where the problem is
        std::size_t nl = text.find('\n', p);
        if (nl == std::string_view::npos && !last) return pos;  // once that end is here
        if (nl != std::string_view::npos) end = nl + 1;
      }
      errors.push_back({line_, problem});
      if (has_header_) ++rows_;
      if (incomplete) skip_rest_ = true;
      for (std::size_t k = pos; k < end; ++k) line_ += text[k] == '\n';
      pos = end;
      continue;
    }
    std::uint32_t line = line_;
    line_ += newlines;
    pos = p;
    fields_.resize(used);
    if (used == 1 && !fields_[0].quoted && trim(fields_[0].text).empty()) continue;  // a blank line
    if (!has_header_) {
      header(line, errors);
      skip_rest_ = !has_header_;
      continue;
    }
    ++rows_;
    row(line, points, errors);
  }
  return skip_rest_ ? n : pos;
}

void csv_reader::header(std::uint32_t line, std::vector<csv_error>& errors) {
  columns_ = fields_.size();
  for (std::size_t k = 0; k < fields_.size(); ++k) {
    std::string_view name = trim(fields_[k].text);
    int which = -1;
    for (int c = 0; c < 4; ++c) {
      if (iequals(name, k_columns[c])) which = c;
    }
    if (which < 0 || column_[which] >= 0) {
      errors.push_back({line, (which < 0 ? "unknown column " : "repeated column ") + quote(name) +
                                  "; the first line must name the columns twin,name,time,value"});
      return;
    }
    column_[which] = static_cast<int>(k);
  }
  for (int c = 0; c < 4; ++c) {
    if (column_[c] < 0) {
      errors.push_back({line, "the first line has no column " + std::string(k_columns[c]) +
                                  "; it must name the columns twin,name,time,value"});
      return;
    }
  }
  has_header_ = true;
}

void csv_reader::row(std::uint32_t line, std::vector<csv_point>& points, std::vector<csv_error>& errors) {
  std::vector<field>& fields = fields_;
  if (fields.size() != columns_) {
    errors.push_back({line, std::to_string(fields.size()) + " field(s), but the header names " +
                                std::to_string(columns_) + " (quote a field that holds a comma)"});
    return;
  }
  // Twins, names and string values become stored text: UTF-8 only, as everywhere (core/json_input.h).
  for (std::size_t k = 0; k < fields.size(); ++k) {
    if (!is_valid_utf8(fields[k].text)) {
      errors.push_back({line, "field " + std::to_string(k + 1) + " is not valid UTF-8; save the file as UTF-8"});
      return;
    }
  }
  csv_point pt;
  pt.line = line;
  pt.twin = std::move(fields[static_cast<std::size_t>(column_[0])].text);
  pt.name = std::move(fields[static_cast<std::size_t>(column_[1])].text);
  if (pt.twin.empty() || pt.name.empty()) {
    errors.push_back({line, std::string(pt.twin.empty() ? "the twin" : "the name") + " is empty"});
    return;
  }
  std::string_view time = trim(fields[static_cast<std::size_t>(column_[2])].text);
  if (!parse_rfc3339_ns(time, pt.time_ns)) {
    std::int64_t ms = 0;
    auto [ptr, ec] = std::from_chars(time.data(), time.data() + time.size(), ms);
    if (time.empty() || ec != std::errc() || ptr != time.data() + time.size() || ms < -9200000000000 ||
        ms > 9200000000000) {
      errors.push_back({line, "the time " + quote(time) +
                                  " is not an RFC 3339 date-time (2026-11-25T10:00:00Z) or Unix milliseconds"});
      return;
    }
    pt.time_ns = ms * 1000000;
  }
  field& value = fields[static_cast<std::size_t>(column_[3])];
  history_value& v = pt.value;
  if (value.quoted) {
    v.type = ts::value_type::string;
    v.s = std::move(value.text);
  } else {
    std::string_view t = trim(value.text);
    if (t.empty()) {
      errors.push_back({line, "the value is empty (an empty string is written \"\")"});
      return;
    }
    std::string_view number = t.front() == '+' ? t.substr(1) : t;
    const char* first = number.data();
    const char* end = number.data() + number.size();
    bool digits = !number.empty() && number.find_first_not_of("-0123456789") == std::string_view::npos;
    auto as_int = std::from_chars(first, end, v.i);
    auto as_float = std::from_chars(first, end, v.f);
    if (iequals(t, "true") || iequals(t, "false")) {
      v.type = ts::value_type::boolean;
      v.i = iequals(t, "true");
    } else if (digits && as_int.ec == std::errc() && as_int.ptr == end) {
      v.type = ts::value_type::i64;
    } else if (digits && as_int.ec == std::errc::result_out_of_range) {
      errors.push_back({line, "the value " + quote(t) + " does not fit a 64-bit integer"});
      return;
    } else if (as_float.ec == std::errc() && as_float.ptr == end && std::isfinite(v.f)) {
      v.type = ts::value_type::f64;
    } else {
      v.type = ts::value_type::string;  // a spreadsheet saved it without quotes
      v.s = std::string(t);
    }
  }
  points.push_back(std::move(pt));
}

}  // namespace doppel::ingest
