#include "sim/fmi/values.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace doppel::sim::fmi {

namespace {

bool is_signed(var_type t) {
  return t == var_type::int8 || t == var_type::int16 || t == var_type::int32 || t == var_type::int64 ||
         t == var_type::enumeration;
}
bool is_unsigned(var_type t) {
  return t == var_type::uint8 || t == var_type::uint16 || t == var_type::uint32 || t == var_type::uint64;
}

void signed_range(var_type t, std::int64_t& lo, std::int64_t& hi) {
  switch (t) {
    case var_type::int8: lo = INT8_MIN, hi = INT8_MAX; return;
    case var_type::int16: lo = INT16_MIN, hi = INT16_MAX; return;
    case var_type::int32: lo = INT32_MIN, hi = INT32_MAX; return;
    default: lo = INT64_MIN, hi = INT64_MAX; return;
  }
}
std::uint64_t unsigned_max(var_type t) {
  switch (t) {
    case var_type::uint8: return UINT8_MAX;
    case var_type::uint16: return UINT16_MAX;
    case var_type::uint32: return UINT32_MAX;
    default: return UINT64_MAX;
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool parse_double(std::string_view text, double& out) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text == "INF" || text == "inf") return out = std::numeric_limits<double>::infinity(), true;
  if (text == "-INF" || text == "-inf") return out = -std::numeric_limits<double>::infinity(), true;
  if (text == "NaN" || text == "nan") return out = std::numeric_limits<double>::quiet_NaN(), true;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

bool parse_unsigned(std::string_view text, std::uint64_t& out) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

status parse_scalar(var_type t, std::string_view text, scalar& out) {
  auto bad = [&](std::string what) { return status::invalid_argument("\"" + std::string(text) + "\" is not " + what); };
  if (t == var_type::float32 || t == var_type::float64) {
    double v = 0;
    if (!parse_double(text, v)) return bad("a number (like 1.5, -2e-3, INF)");
    if (t == var_type::float32 && std::isfinite(v) && std::fabs(v) > std::numeric_limits<float>::max()) {
      return bad("within the range of a Float32");
    }
    out = v;
    return {};
  }
  if (is_signed(t)) {
    std::int64_t v = 0, lo = 0, hi = 0;
    signed_range(t, lo, hi);
    std::string_view digits = text;
    if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || v < lo || v > hi) {
      return bad("an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
    }
    out = v;
    return {};
  }
  if (is_unsigned(t)) {
    std::uint64_t v = 0;
    if (!parse_unsigned(text, v) || v > unsigned_max(t)) {
      return bad("an integer from 0 to " + std::to_string(unsigned_max(t)));
    }
    out = v;
    return {};
  }
  if (t == var_type::boolean || t == var_type::clock) {
    if (text == "true" || text == "1") return out = true, status{};
    if (text == "false" || text == "0") return out = false, status{};
    return bad("true or false");
  }
  if (t == var_type::string) {
    out = std::string(text);
    return {};
  }
  // binary: hex digits, two per byte (a 0x prefix is allowed)
  std::string_view hex = text;
  if (hex.starts_with("0x") || hex.starts_with("0X")) hex.remove_prefix(2);
  bytes b;
  if (hex.size() % 2) return bad("hex digits, two per byte (like 0a1b)");
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return bad("hex digits, two per byte (like 0a1b)");
    b.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  out = std::move(b);
  return {};
}

scalar zero_of(var_type t) {
  if (t == var_type::float32 || t == var_type::float64) return 0.0;
  if (is_signed(t)) return std::int64_t{0};
  if (is_unsigned(t)) return std::uint64_t{0};
  if (t == var_type::boolean || t == var_type::clock) return false;
  if (t == var_type::string) return std::string();
  return bytes();
}

void format_scalar(var_type t, const scalar& v, std::string& out) {
  char buf[64];
  if (const double* d = std::get_if<double>(&v)) {
    if (std::isnan(*d)) return out.append("NaN"), void();
    if (std::isinf(*d)) return out.append(*d > 0 ? "INF" : "-INF"), void();
    auto r = t == var_type::float32 ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(*d))
                                    : std::to_chars(buf, buf + sizeof buf, *d);
    out.append(buf, r.ptr);
  } else if (const std::int64_t* i = std::get_if<std::int64_t>(&v)) {
    out.append(buf, std::to_chars(buf, buf + sizeof buf, *i).ptr);
  } else if (const std::uint64_t* u = std::get_if<std::uint64_t>(&v)) {
    out.append(buf, std::to_chars(buf, buf + sizeof buf, *u).ptr);
  } else if (const bool* b = std::get_if<bool>(&v)) {
    out.append(*b ? "true" : "false");
  } else if (const std::string* s = std::get_if<std::string>(&v)) {
    out.append(*s);
  } else {
    static constexpr char digits[] = "0123456789abcdef";
    for (std::uint8_t byte : std::get<bytes>(v)) {
      out.push_back(digits[byte >> 4]);
      out.push_back(digits[byte & 15]);
    }
  }
}

}  // namespace doppel::sim::fmi
