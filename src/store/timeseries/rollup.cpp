#include "store/timeseries/rollup.h"

#include "store/timeseries/varint.h"

#include <xxhash.h>
#include <zstd.h>

#include <bit>
#include <cmath>
#include <cstring>

namespace doppel::ts {

namespace {

// Exact sums of squares of 63-bit integers need more than 64 bits (GCC and Clang have it).
__extension__ typedef __int128 i128;

constexpr std::size_t k_header = 20;
constexpr std::uint8_t k_flag_zstd = 1;
constexpr int k_max_digits = 9;
constexpr std::uint32_t k_max_buckets = max_chunk_points;  // a chunk's points each in a bucket at most
constexpr std::int64_t k_pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};
constexpr i128 k_limit63 = static_cast<i128>(1) << 62;

using detail::get_raw;
using detail::get_varint;
using detail::put_raw;
using detail::put_varint;
using detail::unzigzag;
using detail::zigzag;

// The fewest decimal digits k (0..9) with which every value is exactly n / 10^k, n an integer
// well inside 63 bits; -1 when there are none.
int decimal_digits(const column_batch& c) {
  if (c.type == value_type::boolean) return 0;
  if (c.type == value_type::i64) {
    for (std::int64_t v : c.i) {
      if (v >= k_limit63 || v <= -k_limit63) return -1;
    }
    return 0;
  }
  for (int k = 0; k <= k_max_digits; ++k) {
    auto p = static_cast<double>(k_pow10[k]);
    bool all = true;
    for (double v : c.f) {
      double scaled = v * p;
      if (!(std::fabs(scaled) < 9.0e15) || std::bit_cast<std::uint64_t>(static_cast<double>(std::llround(scaled)) /
                                                                        p) != std::bit_cast<std::uint64_t>(v)) {
        all = false;
        break;
      }
    }
    if (all) return k;
  }
  return -1;
}

std::int64_t scaled_at(const column_batch& c, std::size_t k, double p) {
  switch (c.type) {
    case value_type::f64: return std::llround(c.f[k] * p);
    case value_type::i64: return c.i[k];
    case value_type::boolean: return c.b[k];
    case value_type::string: break;
  }
  return 0;
}

struct exact_bucket {
  std::int64_t start = 0;
  std::uint64_t count = 0;
  std::int64_t min = 0, max = 0, first = 0, last = 0;
  i128 s1 = 0, s2 = 0;
};

status corrupt(const char* what) { return status::invalid_argument(std::string("rollup: ") + what); }

}  // namespace

status encode_rollup(const column_batch& points, std::int64_t step, std::string& out) {
  out.clear();
  if (points.type == value_type::string) return status::invalid_argument("rollups need numbers or booleans");
  if (points.size() == 0 || step <= 0) return status::invalid_argument("rollups need points and a positive step");
  int k = decimal_digits(points);
  std::vector<exact_bucket> exact;
  std::vector<bucket> approx;
  double p = k >= 0 ? static_cast<double>(k_pow10[k]) : 1;
  if (k >= 0) {
    for (std::size_t j = 0; j < points.size() && k >= 0; ++j) {
      std::int64_t start = bucket_start(points.t[j], step);
      std::int64_t n = scaled_at(points, j, p);
      if (exact.empty() || exact.back().start != start) {
        exact.push_back({start, 0, n, n, n, n, 0, 0});
      }
      exact_bucket& b = exact.back();
      ++b.count;
      b.min = std::min(b.min, n);
      b.max = std::max(b.max, n);
      b.last = n;
      b.s1 += n;
      b.s2 += static_cast<i128>(n) * n;
      if (b.s1 >= k_limit63 || b.s1 <= -k_limit63 || b.s2 >= k_limit63) k = -1;  // too large to keep exact
    }
  }
  if (k < 0) {
    for (std::size_t j = 0; j < points.size(); ++j) {
      std::int64_t start = bucket_start(points.t[j], step);
      if (approx.empty() || approx.back().start != start) {
        approx.emplace_back();
        approx.back().start = start;
      }
      add(approx.back(), number_at(points, j));
    }
  }
  std::string body;
  auto starts = [&](const auto& buckets) {
    put_varint(body, zigzag(bucket_unit(buckets.front().start, step)));
    for (std::size_t j = 1; j < buckets.size(); ++j) {
      put_varint(body, static_cast<std::uint64_t>(bucket_unit(buckets[j].start, step) -
                                                  bucket_unit(buckets[j - 1].start, step)));
    }
    for (const auto& b : buckets) put_varint(body, b.count);
  };
  std::size_t n = 0;
  if (k >= 0) {
    n = exact.size();
    starts(exact);
    for (auto field : {&exact_bucket::min, &exact_bucket::max, &exact_bucket::first, &exact_bucket::last}) {
      std::int64_t prev = 0;
      for (const exact_bucket& b : exact) {
        put_varint(body, zigzag(b.*field - prev));
        prev = b.*field;
      }
    }
    for (const exact_bucket& b : exact) {
      put_varint(body, zigzag(static_cast<std::int64_t>(b.s1)));
      put_varint(body, static_cast<std::uint64_t>(b.s2));
    }
  } else {
    n = approx.size();
    starts(approx);
    for (const bucket& b : approx) {
      for (double v : {b.min, b.max, b.first, b.last, b.total(), b.m2}) put_raw(body, v);
    }
  }
  out.assign(k_header, '\0');
  std::memcpy(out.data(), "DTSR", 4);
  out[4] = 1;
  out[5] = static_cast<char>(k >= 0 ? 1 : 0);
  out[6] = static_cast<char>(k >= 0 ? k : 0);
  auto count = static_cast<std::uint32_t>(n);
  auto raw = static_cast<std::uint32_t>(body.size());
  std::uint32_t stored = raw;
  out.resize(k_header + ZSTD_compressBound(body.size()));
  std::size_t z =
      body.size() >= 64 ? ZSTD_compress(out.data() + k_header, out.size() - k_header, body.data(), body.size(), 3) : 0;
  if (z > 0 && !ZSTD_isError(z) && z < body.size()) {
    out[7] = static_cast<char>(k_flag_zstd);
    stored = static_cast<std::uint32_t>(z);
    out.resize(k_header + z);
  } else {
    out.resize(k_header);
    out += body;
  }
  std::memcpy(out.data() + 8, &count, 4);
  std::memcpy(out.data() + 12, &stored, 4);
  std::memcpy(out.data() + 16, &raw, 4);
  put_raw(out, static_cast<std::uint64_t>(XXH3_64bits(out.data(), out.size())));
  return status::ok();
}

status decode_rollup(std::string_view bytes, std::int64_t step, std::vector<bucket>& out) {
  if (bytes.size() < k_header + 8) return corrupt("shorter than its header");
  if (std::memcmp(bytes.data(), "DTSR", 4) != 0) return corrupt("bad magic");
  std::uint64_t hash = 0;
  std::memcpy(&hash, bytes.data() + bytes.size() - 8, 8);
  if (XXH3_64bits(bytes.data(), bytes.size() - 8) != hash) return corrupt("checksum mismatch");
  auto version = static_cast<std::uint8_t>(bytes[4]);
  auto mode = static_cast<std::uint8_t>(bytes[5]);
  auto k = static_cast<std::uint8_t>(bytes[6]);
  auto flags = static_cast<std::uint8_t>(bytes[7]);
  std::uint32_t n = 0, stored = 0, raw = 0;
  std::memcpy(&n, bytes.data() + 8, 4);
  std::memcpy(&stored, bytes.data() + 12, 4);
  std::memcpy(&raw, bytes.data() + 16, 4);
  if (version != 1) return corrupt("unknown version");
  if (mode > 1 || k > k_max_digits || (mode == 0 && k != 0) || (flags & ~k_flag_zstd) != 0) {
    return corrupt("unknown mode or flags");
  }
  if (n == 0 || n > k_max_buckets) return corrupt("bucket count out of range");
  if (stored != bytes.size() - k_header - 8) return corrupt("body length does not match");
  // A bucket takes 2 to 80 bytes of body (varints of at most 10 bytes; 8-byte doubles).
  if (raw < 2ull * n || raw > 80ull * n) return corrupt("raw body length out of range");
  std::string unpacked;
  std::string_view body = bytes.substr(k_header, stored);
  if (flags & k_flag_zstd) {
    unpacked.resize(raw);
    std::size_t got = ZSTD_decompress(unpacked.data(), raw, body.data(), body.size());
    if (ZSTD_isError(got) || got != raw) return corrupt("zstd frame is damaged");
    body = unpacked;
  } else if (stored != raw) {
    return corrupt("raw and stored lengths differ without compression");
  }
  std::size_t base = out.size();
  out.resize(base + n);
  auto fail = [&](const char* what) {
    out.resize(base);
    return corrupt(what);
  };
  std::uint64_t v = 0;
  // Buckets are counted in steps from the epoch (bucket_unit); the first one of the int64 range
  // starts at INT64_MIN (bucket_start).
  i128 unit = 0;
  for (std::uint32_t j = 0; j < n; ++j) {
    if (!get_varint(body, v)) return fail("truncated starts");
    if (j == 0) {
      unit = unzigzag(v);
    } else if (v == 0) {
      return fail("bucket starts do not increase");
    } else {
      unit += v;
    }
    i128 start = unit * step;
    if (start > INT64_MAX || start <= static_cast<i128>(INT64_MIN) - step) return fail("start out of range");
    out[base + j].start = start < INT64_MIN ? INT64_MIN : static_cast<std::int64_t>(start);
  }
  for (std::uint32_t j = 0; j < n; ++j) {
    if (!get_varint(body, v) || v == 0 || v > max_chunk_points) return fail("bad bucket count");
    out[base + j].count = v;
  }
  if (mode == 1) {
    long double p = static_cast<long double>(k_pow10[k]);
    for (double bucket::*field : {&bucket::min, &bucket::max, &bucket::first, &bucket::last}) {
      std::int64_t prev = 0;
      for (std::uint32_t j = 0; j < n; ++j) {
        if (!get_varint(body, v)) return fail("truncated statistics");
        prev = static_cast<std::int64_t>(static_cast<std::uint64_t>(prev) + static_cast<std::uint64_t>(unzigzag(v)));
        out[base + j].*field = static_cast<double>(prev) / static_cast<double>(k_pow10[k]);
      }
    }
    for (std::uint32_t j = 0; j < n; ++j) {
      std::uint64_t a = 0, b = 0;
      if (!get_varint(body, a) || !get_varint(body, b)) return fail("truncated sums");
      bucket& bk = out[base + j];
      i128 s1 = unzigzag(a), s2 = static_cast<i128>(b);
      auto count = static_cast<i128>(bk.count);
      i128 spread = count * s2 - s1 * s1;  // count^2 * 10^2k * variance, exact
      if (spread < 0) return fail("sums are inconsistent");
      long double sum = static_cast<long double>(s1) / p;
      bk.sum = static_cast<double>(sum);
      bk.sum_error = static_cast<double>(sum - bk.sum);  // so value(mean) divides `sum`, as the raw points do
      bk.mean = static_cast<double>(sum / static_cast<long double>(bk.count));
      bk.m2 = static_cast<double>(static_cast<long double>(spread) / (p * p * static_cast<long double>(bk.count)));
    }
  } else {
    for (std::uint32_t j = 0; j < n; ++j) {
      bucket& bk = out[base + j];
      if (!get_raw(body, bk.min) || !get_raw(body, bk.max) || !get_raw(body, bk.first) || !get_raw(body, bk.last) ||
          !get_raw(body, bk.sum) || !get_raw(body, bk.m2)) {
        return fail("truncated statistics");
      }
      bk.mean = bk.sum / static_cast<double>(bk.count);
    }
  }
  if (!body.empty()) return fail("bytes after the statistics");
  return status::ok();
}

}  // namespace doppel::ts
