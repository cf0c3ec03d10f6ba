#include "core/time.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <system_error>

namespace doppel {

namespace {

// floor(a / b) and a - b * floor(a / b) for b > 0, without overflow at the ends of int64.
std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - (a % b < 0 ? 1 : 0); }
std::int64_t floor_mod(std::int64_t a, std::int64_t b) { return a % b < 0 ? a % b + b : a % b; }

void put_digits(std::string& out, std::int64_t v, int width) {
  char buf[20];
  for (int k = width - 1; k >= 0; --k, v /= 10) buf[k] = static_cast<char>('0' + v % 10);
  out.append(buf, static_cast<std::size_t>(width));
}

// "YYYY-MM-DDTHH:MM:SS.mmm" of a Unix millisecond, without gmtime and printf: history pages write
// one per point. The civil date from days since 1970 counts 400-year eras of 146,097 days from
// 0000-03-01, so leap days fall at the end of a year.
void put_date_time_ms(std::string& out, std::int64_t unix_ms) {
  std::int64_t secs = floor_div(unix_ms, 1000), days = floor_div(secs, 86400);
  std::int64_t ms = floor_mod(unix_ms, 1000), sod = floor_mod(secs, 86400);
  std::int64_t z = days + 719468;
  std::int64_t era = floor_div(z, 146097);
  std::int64_t doe = z - era * 146097;                                       // day of era, 0..146096
  std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // year of era, 0..399
  std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // from March 1st, 0..365
  std::int64_t mp = (5 * doy + 2) / 153;                                     // month from March, 0..11
  std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year >= 0 && year <= 9999) {
    put_digits(out, year, 4);
  } else {
    out += std::to_string(year);  // outside RFC 3339's years; written as it is
  }
  out += '-';
  put_digits(out, month, 2);
  out += '-';
  put_digits(out, day, 2);
  out += 'T';
  put_digits(out, sod / 3600, 2);
  out += ':';
  put_digits(out, sod / 60 % 60, 2);
  out += ':';
  put_digits(out, sod % 60, 2);
  out += '.';
  put_digits(out, ms, 3);
}

bool all_digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return false;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}
int num(std::string_view s, std::size_t pos, std::size_t n) {
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// hh:mm:ss[.fff](Z|+hh:mm|-hh:mm) starting at pos, to the end of s.
bool valid_time_at(std::string_view s, std::size_t pos) {
  if (!all_digits(s, pos, 2) || s.size() < pos + 8 || s[pos + 2] != ':' || !all_digits(s, pos + 3, 2) ||
      s[pos + 5] != ':' || !all_digits(s, pos + 6, 2)) {
    return false;
  }
  if (num(s, pos, 2) > 23 || num(s, pos + 3, 2) > 59 || num(s, pos + 6, 2) > 60) return false;
  std::size_t i = pos + 8;
  if (i < s.size() && s[i] == '.') {
    std::size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i == s.size()) return false;  // a zone is required
  if (s[i] == 'Z' || s[i] == 'z') return i + 1 == s.size();
  if (s[i] != '+' && s[i] != '-') return false;
  return s.size() == i + 6 && all_digits(s, i + 1, 2) && s[i + 3] == ':' && all_digits(s, i + 4, 2) &&
         num(s, i + 1, 2) <= 23 && num(s, i + 4, 2) <= 59;
}

bool valid_date_prefix(std::string_view s) {
  if (!all_digits(s, 0, 4) || s.size() < 10 || s[4] != '-' || !all_digits(s, 5, 2) || s[7] != '-' ||
      !all_digits(s, 8, 2)) {
    return false;
  }
  int y = num(s, 0, 4), m = num(s, 5, 2), d = num(s, 8, 2);
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  int max = days[m - 1] + (m == 2 && leap(y) ? 1 : 0);
  return d <= max;
}

}  // namespace

std::string rfc3339_ms(std::int64_t unix_ms) {
  std::string out;
  out.reserve(24);
  put_date_time_ms(out, unix_ms);
  out += 'Z';
  return out;
}

void append_rfc3339_ns(std::string& out, std::int64_t unix_ns) {
  std::int64_t ms = floor_div(unix_ns, 1000000), sub = floor_mod(unix_ns, 1000000);
  put_date_time_ms(out, ms);
  if (sub != 0) put_digits(out, sub, 6);
  out += 'Z';
}

std::string rfc3339_ns(std::int64_t unix_ns) {
  std::string out;
  out.reserve(32);
  append_rfc3339_ns(out, unix_ns);
  return out;
}

std::string rfc3339_floor_ms(std::int64_t unix_ns) { return rfc3339_ms(floor_div(unix_ns, k_ns_per_ms)); }

bool is_rfc3339_date(std::string_view s) { return s.size() == 10 && valid_date_prefix(s); }

bool is_rfc3339_date_time(std::string_view s) {
  return s.size() > 11 && valid_date_prefix(s) && (s[10] == 'T' || s[10] == 't') && valid_time_at(s, 11);
}

bool is_rfc3339_time(std::string_view s) { return valid_time_at(s, 0); }

bool parse_time_bound(std::string_view v, std::int64_t fallback, std::int64_t& ns) {
  if (v.empty()) return ns = fallback, true;
  if (parse_rfc3339_ns(v, ns)) return true;
  std::int64_t ms = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), ms);
  // Every millisecond the int64 nanosecond range holds, ends included.
  return ec == std::errc() && ptr == v.data() + v.size() && !__builtin_mul_overflow(ms, 1000000, &ns);
}

std::string reversed_range(std::int64_t from_ns, std::int64_t to_ns, std::string_view where) {
  if (from_ns <= to_ns) return "";
  return "from (" + rfc3339_ns(from_ns) + ") is later than to (" + rfc3339_ns(to_ns) + ") in " + std::string(where) +
         ": a range runs from `from` (inclusive) to `to` (exclusive), so this one holds nothing; swap the two, or "
         "leave to out to read up to the newest point";
}

bool parse_rfc3339_ns(std::string_view s, std::int64_t& ns) {
  if (!is_rfc3339_date_time(s)) return false;  // shape and calendar; below only reads it
  using namespace std::chrono;
  year_month_day date{year(num(s, 0, 4)), month(static_cast<unsigned>(num(s, 5, 2))),
                      day(static_cast<unsigned>(num(s, 8, 2)))};
  std::int64_t secs = duration_cast<seconds>(sys_days(date).time_since_epoch()).count() + num(s, 11, 2) * 3600 +
                      num(s, 14, 2) * 60 + std::min(num(s, 17, 2), 59);
  std::size_t at = 19;
  std::int64_t frac = 0;
  if (at < s.size() && s[at] == '.') {
    std::int64_t scale = 100000000;
    for (++at; at < s.size() && s[at] >= '0' && s[at] <= '9'; ++at) {
      frac += (s[at] - '0') * scale;
      scale /= 10;
    }
  }
  if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    std::int64_t offset = num(s, at + 1, 2) * 3600 + num(s, at + 4, 2) * 60;
    secs -= s[at] == '+' ? offset : -offset;
  }
  // Nanoseconds since 1970 reach only from 1677 to 2262. Before 1970 the fraction is borrowed
  // from the next second first, so the first nanosecond of the range (INT64_MIN) is reachable.
  if (secs < 0 && frac > 0) ++secs, frac -= 1000000000;
  return !__builtin_mul_overflow(secs, 1000000000, &ns) && !__builtin_add_overflow(ns, frac, &ns);
}

std::int64_t unix_time_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t unix_time_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace doppel
