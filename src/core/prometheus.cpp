#include "core/prometheus.h"

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace doppel::prometheus {

namespace {

bool name_char(char c, bool first, bool colon) {
  bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
  return letter || (!first && c >= '0' && c <= '9');
}

bool valid_name(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0, colon)) return false;
  }
  return true;
}

const char* type_name(metric_type t) {
  switch (t) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
    case metric_type::histogram: return "histogram";
    case metric_type::summary: return "summary";
    case metric_type::untyped: break;
  }
  return "untyped";
}

// HELP text escapes backslash and newline; label values also the double quote.
void put_escaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

}  // namespace

bool valid_metric_name(std::string_view name) { return valid_name(name, true); }
bool valid_label_name(std::string_view name) { return valid_name(name, false); }

std::string format_double(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[384];  // the widest %.6f of a double: 309 digits, the point and six decimals
  int n = std::snprintf(buf, sizeof buf, "%.6f", v);
  return std::string(buf, static_cast<std::size_t>(n));
}

writer& writer::family(std::string_view name, std::string_view help, metric_type type) {
  assert(valid_metric_name(name));
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  put_escaped(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type_name(type);
  out_ += '\n';
  return *this;
}

void writer::open_sample(std::string_view name, std::initializer_list<label> labels) {
  assert(valid_metric_name(name));
  out_ += name;
  if (labels.size() > 0) {
    char sep = '{';
    for (const label& l : labels) {
      assert(valid_label_name(l.name));
      out_ += sep;
      out_ += l.name;
      out_ += "=\"";
      put_escaped(out_, l.value, true);
      out_ += '"';
      sep = ',';
    }
    out_ += '}';
  }
  out_ += ' ';
}

void writer::put_int(std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
}

void writer::put_uint(std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
}

void writer::put_double(double v) { out_ += format_double(v); }

}  // namespace doppel::prometheus
