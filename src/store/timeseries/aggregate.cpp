#include "store/timeseries/aggregate.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace doppel::ts {

namespace {

constexpr std::array<std::pair<std::string_view, aggregate_fn>, 12> k_names{{
    {"mean", aggregate_fn::mean},
    {"min", aggregate_fn::min},
    {"max", aggregate_fn::max},
    {"sum", aggregate_fn::sum},
    {"count", aggregate_fn::count},
    {"first", aggregate_fn::first},
    {"last", aggregate_fn::last},
    {"stddev", aggregate_fn::stddev},
    {"p50", aggregate_fn::p50},
    {"p90", aggregate_fn::p90},
    {"p95", aggregate_fn::p95},
    {"p99", aggregate_fn::p99},
}};

}  // namespace

double number_at(const column_batch& c, std::size_t k) {
  switch (c.type) {
    case value_type::f64: return c.f[k];
    case value_type::i64: return static_cast<double>(c.i[k]);
    case value_type::boolean: return c.b[k];
    case value_type::string: break;
  }
  return 0;
}

std::int64_t bucket_unit(std::int64_t t, std::int64_t step) {
  std::int64_t q = t / step;
  if (t % step != 0 && t < 0) --q;  // before 1970 too, the bucket starts at or below t
  return q;
}

std::int64_t bucket_start(std::int64_t t, std::int64_t step) {
  std::int64_t q = bucket_unit(t, step);
  // The first bucket of the int64 range would start before it (year 1677): it starts at its min.
  return q < INT64_MIN / step ? INT64_MIN : q * step;
}

void add(bucket& b, double v) {
  if (b.count == 0) b.min = b.max = b.first = v;
  ++b.count;
  add_compensated(b.sum, b.sum_error, v);
  b.min = std::min(b.min, v);
  b.max = std::max(b.max, v);
  b.last = v;
  double delta = v - b.mean;
  b.mean += delta / static_cast<double>(b.count);
  b.m2 += delta * (v - b.mean);
}

void merge(bucket& into, const bucket& later) {
  if (later.count == 0) return;
  if (into.count == 0) {
    std::int64_t start = into.start;
    into = later;
    into.start = start;
    return;
  }
  auto na = static_cast<double>(into.count), nb = static_cast<double>(later.count);
  double delta = later.mean - into.mean;
  double n = na + nb;
  into.mean += delta * nb / n;
  into.m2 += later.m2 + delta * delta * na * nb / n;
  into.count += later.count;
  add_compensated(into.sum, into.sum_error, later.sum);
  into.sum_error += later.sum_error;
  into.min = std::min(into.min, later.min);
  into.max = std::max(into.max, later.max);
  into.last = later.last;
}

std::vector<bucket> regroup(const std::vector<bucket>& fine, std::int64_t step) {
  std::vector<bucket> out;
  for (const bucket& f : fine) {
    std::int64_t start = bucket_start(f.start, step);
    if (out.empty() || out.back().start != start) {
      out.emplace_back();
      out.back().start = start;
    }
    merge(out.back(), f);
  }
  return out;
}

bool parse_aggregate(std::string_view name, aggregate_fn& out) {
  for (const auto& [n, fn] : k_names) {
    if (n == name) {
      out = fn;
      return true;
    }
  }
  return false;
}

std::string_view to_string(aggregate_fn fn) {
  for (const auto& [n, f] : k_names) {
    if (f == fn) return n;
  }
  return "?";
}

double bucket::total() const { return std::isfinite(sum) ? sum + sum_error : sum; }

double bucket::value(aggregate_fn fn) const {
  switch (fn) {
    case aggregate_fn::mean:
      if (count == 0) return 0;
      if (!std::isfinite(sum)) return sum / static_cast<double>(count);
      // The two parts added and divided in extended precision (x86: 64-bit mantissa), rounded
      // once to a double: the mean of decimals is then the decimal's double.
      return static_cast<double>((static_cast<long double>(sum) + sum_error) / static_cast<long double>(count));
    case aggregate_fn::min: return min;
    case aggregate_fn::max: return max;
    case aggregate_fn::sum: return total();
    case aggregate_fn::count: return static_cast<double>(count);
    case aggregate_fn::first: return first;
    case aggregate_fn::last: return last;
    case aggregate_fn::stddev: return count ? std::sqrt(m2 / static_cast<double>(count)) : 0;
    case aggregate_fn::p50: return p50;
    case aggregate_fn::p90: return p90;
    case aggregate_fn::p95: return p95;
    case aggregate_fn::p99: return p99;
  }
  return 0;
}

result<std::vector<bucket>> aggregate(const column_batch& points, std::int64_t step_ns) {
  if (step_ns <= 0) return status::invalid_argument("step must be positive");
  if (points.type == value_type::string) {
    return status::invalid_argument("mean, min, max, sum and stddev need a numeric or boolean telemetry");
  }
  std::vector<bucket> out;
  for (std::size_t k = 0; k < points.size(); ++k) {
    double v = number_at(points, k);
    std::int64_t start = bucket_start(points.t[k], step_ns);
    if (out.empty() || out.back().start != start) {
      out.emplace_back();
      out.back().start = start;
    }
    add(out.back(), v);
  }
  return out;
}

bool is_percentile(aggregate_fn fn) {
  return fn == aggregate_fn::p50 || fn == aggregate_fn::p90 || fn == aggregate_fn::p95 || fn == aggregate_fn::p99;
}

void add_percentiles(const column_batch& points, std::int64_t step_ns, std::vector<bucket>& buckets) {
  std::vector<double> values;
  std::size_t k = 0;
  for (bucket& b : buckets) {
    values.clear();
    while (k < points.size() && bucket_start(points.t[k], step_ns) < b.start) ++k;
    while (k < points.size() && bucket_start(points.t[k], step_ns) == b.start) values.push_back(number_at(points, k++));
    if (values.empty()) continue;
    std::sort(values.begin(), values.end());
    auto rank = [&](double q) {
      auto n = static_cast<double>(values.size());
      auto at = static_cast<std::size_t>(std::ceil(q / 100 * n));
      return values[at == 0 ? 0 : at - 1];
    };
    b.p50 = rank(50);
    b.p90 = rank(90);
    b.p95 = rank(95);
    b.p99 = rank(99);
  }
}

bool parse_step(std::string_view text, std::int64_t& ns) {
  constexpr std::int64_t s = 1000000000;
  std::int64_t scale = 0;
  std::string_view number = text;
  if (text.starts_with("PT") || text.starts_with("P")) {
    // ISO 8601: PnD, PTnH, PTnM, PTnS (one unit).
    bool time = text.starts_with("PT");
    number = text.substr(time ? 2 : 1);
    if (number.empty()) return false;
    char unit = number.back();
    number.remove_suffix(1);
    if (!time && unit == 'D') scale = 86400 * s;
    if (time && unit == 'H') scale = 3600 * s;
    if (time && unit == 'M') scale = 60 * s;
    if (time && unit == 'S') scale = s;
  } else if (text.ends_with("ms")) {
    number.remove_suffix(2);
    scale = 1000000;
  } else if (!text.empty()) {
    char unit = text.back();
    number.remove_suffix(1);
    if (unit == 's') scale = s;
    if (unit == 'm') scale = 60 * s;
    if (unit == 'h') scale = 3600 * s;
    if (unit == 'd') scale = 86400 * s;
  }
  if (!scale || number.empty() || number.size() > 9) return false;
  std::int64_t n = 0;
  for (char c : number) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  if (n <= 0 || n > INT64_MAX / scale) return false;
  ns = n * scale;
  return true;
}

}  // namespace doppel::ts
