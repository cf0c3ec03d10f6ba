#include "store/timeseries/chunk.h"

#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <utility>

namespace doppel::ts {
namespace {

constexpr unsigned char magic[4] = {'D', 'T', 'S', 'C'};
constexpr std::uint8_t format_version = 1;
constexpr std::uint8_t flag_zstd = 1;
// Level 1 gets nearly all of what zstd finds in bit-packed bodies, at the highest speed.
constexpr int zstd_level = 1;
// Below this a zstd frame's own overhead leaves nothing to gain.
constexpr std::size_t zstd_min_body = 32;

enum class time_form : std::uint8_t { dod = 0, offsets = 1, line = 2 };
enum class encoding : std::uint8_t { xor_f64 = 0, delta = 1, dod = 2, runs = 3, dict = 4 };

constexpr unsigned max_time_scale = 18;
constexpr unsigned max_decimals = 15;
constexpr unsigned block_len = 32;
// Run lengths never exceed max_chunk_points, so a longer Elias-gamma prefix is corrupt.
constexpr unsigned max_gamma_zeros = 20;
static_assert(max_chunk_points <= (1u << (max_gamma_zeros + 1)) - 1);

constexpr auto pow10_u64 = [] {
  std::array<std::uint64_t, max_time_scale + 1> p{};
  p[0] = 1;
  for (std::size_t k = 1; k < p.size(); ++k) p[k] = p[k - 1] * 10;
  return p;
}();
// Exact in binary64 up to 1e22; the decimal form stops at 1e15 so v * 10^k keeps 53 bits.
constexpr double pow10_f64[max_decimals + 1] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
constexpr double max_exact_integer = 9007199254740992.0;  // 2^53

// Delta-of-delta buckets for timestamps: after j one bits (and a zero unless j == 6), zigzag in
// time_bucket_bits[j] bits.
constexpr unsigned time_bucket_bits[7] = {0, 7, 10, 14, 20, 32, 64};

std::uint64_t zigzag(std::uint64_t s) { return (s << 1) ^ (0 - (s >> 63)); }
std::uint64_t unzigzag(std::uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }
unsigned width_of(std::uint64_t v) { return static_cast<unsigned>(std::bit_width(v)); }

std::uint64_t bits_of(double v) { return std::bit_cast<std::uint64_t>(v); }
double double_of(std::uint64_t b) { return std::bit_cast<double>(b); }

void put_le(unsigned char* p, std::uint64_t v, unsigned bytes) {
  for (unsigned k = 0; k < bytes; ++k) p[k] = static_cast<unsigned char>(v >> (8 * k));
}
std::uint64_t get_le(const unsigned char* p, unsigned bytes) {
  std::uint64_t v = 0;
  for (unsigned k = 0; k < bytes; ++k) v |= std::uint64_t{p[k]} << (8 * k);
  return v;
}

std::uint64_t load_be64(const unsigned char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

// Bits are appended most significant first into a 64-bit accumulator that goes out whole.
class bit_writer {
 public:
  explicit bit_writer(std::string& out) : out_(out) {}

  // n in 0..64; v has no bits at or above n.
  void put(std::uint64_t v, unsigned n) {
    assert(n <= 64 && (n == 64 || v >> n == 0));
    if (used_ + n < 64) {
      acc_ = (acc_ << n) | v;
      used_ += n;
      return;
    }
    unsigned rest = used_ + n - 64;
    std::uint64_t word = used_ == 0 ? v : (acc_ << (64 - used_)) | (v >> rest);
    char buf[8];
    for (unsigned k = 0; k < 8; ++k) buf[k] = static_cast<char>(word >> (56 - 8 * k));
    out_.append(buf, 8);
    acc_ = v;  // bits above `rest` are shifted out before they are written
    used_ = rest;
  }
  void put_many(const std::uint64_t* v, std::size_t count, unsigned n) {
    if (n == 0) return;
    for (std::size_t k = 0; k < count; ++k) put(v[k], n);
  }
  // Zero bits up to the next byte boundary, and everything buffered goes out.
  void align() {
    put(0, (8 - used_ % 8) % 8);
    if (used_ == 0) return;
    std::uint64_t word = acc_ << (64 - used_);
    for (unsigned k = 0; k < used_ / 8; ++k) out_.push_back(static_cast<char>(word >> (56 - 8 * k)));
    used_ = 0;
  }
  void bytes(std::string_view b) {
    assert(used_ == 0);
    out_.append(b);
  }

 private:
  std::string& out_;
  std::uint64_t acc_ = 0;
  unsigned used_ = 0;
};

// Stands in for bit_writer to price an encoding without writing it.
struct bit_counter {
  std::uint64_t bits = 0;
  void put(std::uint64_t, unsigned n) { bits += n; }
  void put_many(const std::uint64_t*, std::size_t count, unsigned n) { bits += count * n; }
};

// Every read is checked against the end: past it, reads return zeros and failed() turns true,
// so loops bounded by the point count end and the caller reports the truncation once.
class bit_reader {
 public:
  bit_reader(const unsigned char* p, std::size_t size) : p_(p), size_(size), total_(size * 8) {}

  std::uint64_t get(unsigned n) {
    if (n > total_ - pos_) {
      failed_ = true;
      pos_ = total_;
      return 0;
    }
    if (n == 0) return 0;
    if (n > 56) {
      std::uint64_t hi = get(n - 32);
      return (hi << 32) | get(32);
    }
    std::size_t byte = pos_ >> 3;
    unsigned off = static_cast<unsigned>(pos_ & 7);
    std::uint64_t w;
    if (byte + 8 <= size_) {
      w = load_be64(p_ + byte);
    } else {
      w = 0;
      for (std::size_t k = byte; k < size_; ++k) w |= std::uint64_t{p_[k]} << (56 - 8 * (k - byte));
    }
    pos_ += n;
    return (w << off) >> (64 - n);
  }
  bool bit() { return get(1) != 0; }
  // u(7) width then the value; widths above 64 are corrupt.
  std::uint64_t get_sized() {
    auto w = static_cast<unsigned>(get(7));
    if (w > 64) {
      failed_ = true;
      return 0;
    }
    return get(w);
  }
  // An Elias-gamma number (>= 1), or 0 when corrupt.
  std::uint64_t get_gamma() {
    unsigned zeros = 0;
    while (!bit()) {
      if (++zeros > max_gamma_zeros || failed_) {
        failed_ = true;
        return 0;
      }
    }
    return (std::uint64_t{1} << zeros) | get(zeros);
  }
  // Skips to the next byte; the padding must be zero. False when it is not.
  bool align() {
    auto pad = static_cast<unsigned>((8 - pos_ % 8) % 8);
    return get(pad) == 0 && !failed_;
  }
  std::size_t bytes_left() const { return (total_ - pos_) / 8; }
  // After align(): the next n bytes (n <= bytes_left()).
  std::string_view bytes(std::size_t n) {
    assert(pos_ % 8 == 0 && n <= bytes_left());
    std::string_view v(reinterpret_cast<const char*>(p_) + pos_ / 8, n);
    pos_ += n * 8;
    return v;
  }
  std::size_t bits_left() const { return total_ - pos_; }
  bool failed() const { return failed_; }

 private:
  const unsigned char* p_;
  std::size_t size_;
  std::size_t total_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

template <class Sink>
void put_sized(Sink& w, std::uint64_t v) {
  unsigned n = width_of(v);
  w.put(n, 7);
  w.put(v, n);
}

template <class Sink>
void put_gamma(Sink& w, std::uint64_t v) {
  assert(v >= 1);
  unsigned zeros = width_of(v) - 1;
  w.put(0, zeros);
  w.put(v, zeros + 1);
}

status corrupt(std::string what) { return status::invalid_argument("corrupt time-series chunk: " + what); }

// ---- block packing, shared by timestamps and integers

// Residuals go out in blocks that share one bit width, so noise costs its own width per block
// and a constant stretch costs 7 bits per 32 points.
template <class Sink>
class block_packer {
 public:
  explicit block_packer(Sink& w) : w_(w) {}
  void push(std::uint64_t z) {
    buf_[k_++] = z;
    if (k_ == block_len) flush();
  }
  void flush() {
    if (k_ == 0) return;
    std::uint64_t any = 0;
    for (unsigned j = 0; j < k_; ++j) any |= buf_[j];
    unsigned n = width_of(any);
    w_.put(n, 7);
    w_.put_many(buf_, k_, n);
    k_ = 0;
  }

 private:
  Sink& w_;
  std::uint64_t buf_[block_len];
  unsigned k_ = 0;
};

// ---- timestamps

// The largest e with every gap a multiple of 10^e; checks the order on the way.
status time_scale(const std::vector<std::int64_t>& t, unsigned& e) {
  e = t.size() > 1 ? max_time_scale : 0;
  std::uint64_t prev_gap = 0;
  for (std::size_t i = 1; i < t.size(); ++i) {
    if (t[i] <= t[i - 1]) {
      return status::invalid_argument("timestamps must be strictly increasing: point " + std::to_string(i) + " has " +
                                      std::to_string(t[i]) + " after " + std::to_string(t[i - 1]));
    }
    // Gaps repeat in regular series; only a new one costs a division.
    std::uint64_t gap = static_cast<std::uint64_t>(t[i]) - static_cast<std::uint64_t>(t[i - 1]);
    if (gap == prev_gap) continue;
    prev_gap = gap;
    while (e > 0 && gap % pow10_u64[e] != 0) --e;
  }
  return status::ok();
}

// Scaled gaps g[1..n-1] in order.
template <class F>
void for_each_gap(const std::vector<std::int64_t>& t, unsigned e, const F& f) {
  const std::uint64_t scale = pow10_u64[e];
  std::uint64_t prev_gap = 0, g = 0;
  for (std::size_t i = 1; i < t.size(); ++i) {
    std::uint64_t gap = static_cast<std::uint64_t>(t[i]) - static_cast<std::uint64_t>(t[i - 1]);
    if (gap != prev_gap) {
      g = gap / scale;
      prev_gap = gap;
    }
    f(g);
  }
}

template <class Sink>
void put_time_dods(Sink& w, const std::vector<std::int64_t>& t, unsigned e) {
  std::uint64_t prev_g = 0;
  for_each_gap(t, e, [&](std::uint64_t g) {
    std::uint64_t dod = g - prev_g;
    prev_g = g;
    if (dod == 0) {
      w.put(0, 1);
      return;
    }
    std::uint64_t z = zigzag(dod);
    unsigned width = width_of(z);
    unsigned j = 1;
    while (time_bucket_bits[j] < width) ++j;
    if (j < 6) {
      w.put(((std::uint64_t{1} << j) - 1) << 1, j + 1);
    } else {
      w.put(63, 6);
    }
    w.put(z, time_bucket_bits[j]);
  });
}

template <class Sink>
void put_time_offsets(Sink& w, const std::vector<std::int64_t>& t, unsigned e, std::uint64_t mean) {
  put_sized(w, mean);
  block_packer<Sink> blocks(w);
  for_each_gap(t, e, [&](std::uint64_t g) { blocks.push(zigzag(g - mean)); });
  blocks.flush();
}

// floor(i * span / (n - 1)) for i = 1, 2, ... without overflow: the straight line from the first
// timestamp to the last, which a jittered clock stays near however long the chunk.
class time_line {
 public:
  time_line(std::uint64_t span, std::size_t n) : d_(n > 1 ? n - 1 : 1), q_(span / d_), r_(span % d_) {}
  std::uint64_t next() {
    at_ += q_;
    err_ += r_;
    if (err_ >= d_) {
      ++at_;
      err_ -= d_;
    }
    return at_;
  }

 private:
  std::uint64_t d_, q_, r_, at_ = 0, err_ = 0;
};

std::uint64_t span_of(std::int64_t first, std::int64_t last, unsigned e) {
  return (static_cast<std::uint64_t>(last) - static_cast<std::uint64_t>(first)) / pow10_u64[e];
}

template <class Sink>
void put_time_line(Sink& w, const std::vector<std::int64_t>& t, unsigned e) {
  time_line line(span_of(t.front(), t.back(), e), t.size());
  std::uint64_t at = 0;
  block_packer<Sink> blocks(w);
  for_each_gap(t, e, [&](std::uint64_t g) {
    at += g;
    blocks.push(zigzag(at - line.next()));
  });
  blocks.flush();
}

void put_times(bit_writer& w, const std::vector<std::int64_t>& t, unsigned e) {
  w.put(e, 8);
  const std::size_t gaps = t.size() - 1;
  std::uint64_t mean = 0;
  if (gaps > 0) {
    std::uint64_t span = span_of(t.front(), t.back(), e);
    mean = span / gaps + (2 * (span % gaps) >= gaps ? 1 : 0);
  }
  // Gorilla's bit per regular timestamp and cheap outliers; or block widths that fit jitter
  // around the mean gap (robust to a missed sample) or around the line (half the width).
  bit_counter dods, offsets, line;
  put_time_dods(dods, t, e);
  put_time_offsets(offsets, t, e, mean);
  put_time_line(line, t, e);
  if (dods.bits <= offsets.bits && dods.bits <= line.bits) {
    w.put(static_cast<unsigned>(time_form::dod), 8);
    put_time_dods(w, t, e);
  } else if (offsets.bits <= line.bits) {
    w.put(static_cast<unsigned>(time_form::offsets), 8);
    put_time_offsets(w, t, e, mean);
  } else {
    w.put(static_cast<unsigned>(time_form::line), 8);
    put_time_line(w, t, e);
  }
  w.align();
}

status get_times(bit_reader& r, const chunk_header& h, std::vector<std::int64_t>& t) {
  auto e = static_cast<unsigned>(r.get(8));
  if (e > max_time_scale) return corrupt("time scale 10^" + std::to_string(e) + " is above 10^18");
  auto form = static_cast<time_form>(r.get(8));
  if (form != time_form::dod && form != time_form::offsets && form != time_form::line) {
    return corrupt("timestamp form " + std::to_string(static_cast<unsigned>(form)) + " is unknown");
  }
  const std::uint64_t scale = pow10_u64[e];
  const std::size_t n = h.count;
  t.resize(n);
  t[0] = h.first_time;
  std::uint64_t now = static_cast<std::uint64_t>(h.first_time);
  std::size_t i = 1;
  // False when the point does not come after the one before (truncation reads as zeros).
  auto next = [&](std::uint64_t g) {
    now += g * scale;
    auto ti = static_cast<std::int64_t>(now);
    if (ti <= t[i - 1]) return false;
    t[i++] = ti;
    return true;
  };
  bool ordered = true;
  if (form == time_form::dod) {
    std::uint64_t g = 0;
    while (ordered && i < n) {
      if (r.bit()) {
        unsigned j = 1;
        while (j < 6 && r.bit()) ++j;
        g += unzigzag(r.get(time_bucket_bits[j]));
      }
      ordered = next(g);
    }
  } else {
    const bool offsets = form == time_form::offsets;
    std::uint64_t mean = offsets ? r.get_sized() : 0;
    time_line line(span_of(h.first_time, h.last_time, e), n);
    std::uint64_t at = 0;
    while (ordered && i < n && !r.failed()) {
      auto w = static_cast<unsigned>(r.get(7));
      if (w > 64) return corrupt("a block of " + std::to_string(w) + "-bit timestamps");
      std::size_t end = std::min(n, i + block_len);
      while (ordered && i < end) {
        std::uint64_t z = unzigzag(r.get(w));
        if (offsets) {
          ordered = next(mean + z);
        } else {
          std::uint64_t to = line.next() + z;
          ordered = next(to - at);
          at = to;
        }
      }
    }
  }
  if (r.failed()) return corrupt("the body ends inside the timestamps");
  if (!ordered) return corrupt("timestamp " + std::to_string(i) + " is not after the one before");
  if (t.back() != h.last_time) return corrupt("the timestamps do not end at the header's last time");
  if (!r.align()) return corrupt("nonzero padding after the timestamps");
  return status::ok();
}

// ---- f64 as Gorilla XOR

template <class Sink>
void put_xor(Sink& w, const std::vector<double>& v) {
  std::uint64_t prev = bits_of(v[0]);
  w.put(prev, 64);
  unsigned pl = 64, pt = 0;  // no window yet: pl above any real leading count
  for (std::size_t i = 1; i < v.size(); ++i) {
    std::uint64_t cur = bits_of(v[i]);
    std::uint64_t x = cur ^ prev;
    prev = cur;
    if (x == 0) {
      w.put(0, 1);
      continue;
    }
    auto l = static_cast<unsigned>(std::countl_zero(x));
    if (l > 31) l = 31;
    auto tz = static_cast<unsigned>(std::countr_zero(x));
    unsigned m = 64 - l - tz;
    if (pl <= l && pt <= tz) {
      unsigned pm = 64 - pl - pt;
      // Gorilla always reuses a fitting window; a much wider one costs more than a new header.
      if (pm <= m + 11) {
        w.put(2, 2);
        w.put(x >> pt, pm);
        continue;
      }
    }
    w.put(3, 2);
    w.put(l, 5);
    w.put(m - 1, 6);
    w.put(x >> tz, m);
    pl = l;
    pt = tz;
  }
}

status get_xor(bit_reader& r, std::size_t n, std::vector<double>& out) {
  out.resize(n);
  std::uint64_t prev = r.get(64);
  out[0] = double_of(prev);
  unsigned pl = 64, pt = 0;
  for (std::size_t i = 1; i < n; ++i) {
    if (r.bit()) {
      if (r.bit()) {
        auto l = static_cast<unsigned>(r.get(5));
        auto m = static_cast<unsigned>(r.get(6)) + 1;
        if (l + m > 64) return corrupt("an XOR window of " + std::to_string(m) + " bits after " + std::to_string(l));
        pl = l;
        pt = 64 - l - m;
        prev ^= r.get(m) << pt;
      } else {
        if (pl == 64) return corrupt("an XOR value reuses a window before there is one");
        prev ^= r.get(64 - pl - pt) << pt;
      }
    }
    out[i] = double_of(prev);
  }
  if (r.failed()) return corrupt("the body ends inside the values");
  return status::ok();
}

// ---- integers (i64, and f64 as decimal integers)

// value(i) gives the i-th integer as two's complement bits.
template <class Sink, class Value>
void put_ints(Sink& w, std::size_t n, bool dod, const Value& value) {
  std::uint64_t prev = value(0);
  put_sized(w, zigzag(prev));
  if (n == 1) return;
  std::size_t start = 1;
  std::uint64_t prev_d = 0;
  if (dod) {
    std::uint64_t v1 = value(1);
    prev_d = v1 - prev;
    put_sized(w, zigzag(prev_d));
    prev = v1;
    start = 2;
  }
  block_packer<Sink> blocks(w);
  for (std::size_t i = start; i < n; ++i) {
    std::uint64_t cur = value(i);
    std::uint64_t d = cur - prev;
    prev = cur;
    blocks.push(zigzag(dod ? d - prev_d : d));
    prev_d = d;
  }
  blocks.flush();
}

struct int_choice {
  bool dod = false;
  std::uint64_t bits = 0;
};

template <class Value>
int_choice choose_ints(std::size_t n, const Value& value) {
  bit_counter delta, dod;
  put_ints(delta, n, false, value);
  put_ints(dod, n, true, value);
  return dod.bits < delta.bits ? int_choice{true, dod.bits} : int_choice{false, delta.bits};
}

// Calls sink(i, v) for each decoded integer; false and the reader failed when corrupt.
template <class Sink>
bool get_ints(bit_reader& r, std::size_t n, bool dod, const Sink& sink) {
  std::uint64_t prev = unzigzag(r.get_sized());
  sink(0, prev);
  if (n == 1) return !r.failed();
  std::size_t i = 1;
  std::uint64_t d = 0;
  if (dod) {
    d = unzigzag(r.get_sized());
    prev += d;
    sink(1, prev);
    i = 2;
  }
  while (i < n) {
    auto w = static_cast<unsigned>(r.get(7));
    if (w > 64 || r.failed()) return false;
    std::size_t end = std::min<std::size_t>(n, i + block_len);
    if (w == 0) {
      for (; i < end; ++i) {
        if (!dod) d = 0;
        prev += d;
        sink(i, prev);
      }
      continue;
    }
    for (; i < end; ++i) {
      std::uint64_t z = unzigzag(r.get(w));
      d = dod ? d + z : z;
      prev += d;
      sink(i, prev);
    }
  }
  return !r.failed();
}

// v * 10^k rounded, when that integer / 10^k gives back exactly v's bits (so -0.0, NaN and
// infinities never qualify).
bool to_decimal(double v, unsigned k, std::int64_t& out) {
  double a = v * pow10_f64[k];
  if (!(std::fabs(a) <= max_exact_integer)) return false;
  auto r = static_cast<std::int64_t>(a < 0 ? a - 0.5 : a + 0.5);
  if (bits_of(static_cast<double>(r) / pow10_f64[k]) != bits_of(v)) return false;
  out = r;
  return true;
}

// The smallest k for which every value is an exact decimal with k digits after the point.
bool decimal_digits(const std::vector<double>& v, unsigned& k) {
  k = 0;
  std::size_t checked_from = 0;  // values before this passed at a smaller k; check them again
  std::int64_t r;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (to_decimal(v[i], k, r)) continue;
    do {
      if (++k > max_decimals) return false;
    } while (!to_decimal(v[i], k, r));
    checked_from = i;
  }
  for (std::size_t i = 0; i < checked_from; ++i) {
    if (!to_decimal(v[i], k, r)) return false;
  }
  return true;
}

void put_f64(bit_writer& w, const std::vector<double>& v) {
  unsigned k;
  if (decimal_digits(v, k)) {
    const double p = pow10_f64[k];
    auto value = [&](std::size_t i) {
      double a = v[i] * p;
      return static_cast<std::uint64_t>(static_cast<std::int64_t>(a < 0 ? a - 0.5 : a + 0.5));
    };
    int_choice ints = choose_ints(v.size(), value);
    bit_counter xor_cost;
    put_xor(xor_cost, v);
    if (ints.bits + 8 < xor_cost.bits) {
      w.put(static_cast<unsigned>(ints.dod ? encoding::dod : encoding::delta), 8);
      w.put(k, 8);
      put_ints(w, v.size(), ints.dod, value);
      return;
    }
  }
  w.put(static_cast<unsigned>(encoding::xor_f64), 8);
  put_xor(w, v);
}

status get_f64(bit_reader& r, std::size_t n, std::vector<double>& out) {
  auto enc = static_cast<encoding>(r.get(8));
  if (enc == encoding::xor_f64) return get_xor(r, n, out);
  if (enc != encoding::delta && enc != encoding::dod) {
    return corrupt("value encoding " + std::to_string(static_cast<unsigned>(enc)) + " is not one for f64");
  }
  auto k = static_cast<unsigned>(r.get(8));
  if (k > max_decimals) return corrupt(std::to_string(k) + " decimal digits, more than 15");
  const double p = pow10_f64[k];
  out.resize(n);
  double* f = out.data();
  bool ok = get_ints(r, n, enc == encoding::dod, [&](std::size_t i, std::uint64_t v) {
    f[i] = static_cast<double>(static_cast<std::int64_t>(v)) / p;
  });
  if (!ok) return corrupt("the body ends inside the values");
  return status::ok();
}

void put_i64(bit_writer& w, const std::vector<std::int64_t>& v) {
  auto value = [&](std::size_t i) { return static_cast<std::uint64_t>(v[i]); };
  int_choice ints = choose_ints(v.size(), value);
  w.put(static_cast<unsigned>(ints.dod ? encoding::dod : encoding::delta), 8);
  put_ints(w, v.size(), ints.dod, value);
}

status get_i64(bit_reader& r, std::size_t n, std::vector<std::int64_t>& out) {
  auto enc = static_cast<encoding>(r.get(8));
  if (enc != encoding::delta && enc != encoding::dod) {
    return corrupt("value encoding " + std::to_string(static_cast<unsigned>(enc)) + " is not one for i64");
  }
  out.resize(n);
  std::int64_t* d = out.data();
  bool ok = get_ints(r, n, enc == encoding::dod,
                     [&](std::size_t i, std::uint64_t v) { d[i] = static_cast<std::int64_t>(v); });
  if (!ok) return corrupt("the body ends inside the values");
  return status::ok();
}

// ---- booleans as runs

void put_bool(bit_writer& w, const std::vector<std::uint8_t>& b) {
  w.put(static_cast<unsigned>(encoding::runs), 8);
  w.put(b[0], 1);
  std::uint64_t run = 1;
  for (std::size_t i = 1; i < b.size(); ++i) {
    if (b[i] == b[i - 1]) {
      ++run;
    } else {
      put_gamma(w, run);
      run = 1;
    }
  }
  put_gamma(w, run);
}

status get_bool(bit_reader& r, std::size_t n, std::vector<std::uint8_t>& out) {
  auto enc = static_cast<encoding>(r.get(8));
  if (enc != encoding::runs) {
    return corrupt("value encoding " + std::to_string(static_cast<unsigned>(enc)) + " is not one for boolean");
  }
  out.resize(n);
  auto value = static_cast<std::uint8_t>(r.get(1));
  std::size_t at = 0;
  while (at < n) {
    std::uint64_t run = r.get_gamma();
    if (r.failed()) return corrupt("the body ends inside the boolean runs");
    if (run > n - at) return corrupt("a boolean run goes past the point count");
    std::memset(out.data() + at, value, run);
    at += run;
    value ^= 1;
  }
  return status::ok();
}

// ---- strings as a dictionary and runs of indexes

void put_string(bit_writer& w, const std::vector<std::string>& s) {
  std::unordered_map<std::string_view, std::uint32_t> ids;
  std::vector<std::string_view> dict;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> runs;  // (index, length)
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && s[i] == s[i - 1]) {
      ++runs.back().second;
      continue;
    }
    auto [it, added] = ids.try_emplace(s[i], static_cast<std::uint32_t>(dict.size()));
    if (added) dict.push_back(s[i]);
    runs.emplace_back(it->second, 1);
  }
  w.put(static_cast<unsigned>(encoding::dict), 8);
  put_sized(w, dict.size());
  for (auto d : dict) put_sized(w, d.size());
  w.align();
  for (auto d : dict) w.bytes(d);
  unsigned index_bits = width_of(dict.size() - 1);
  for (auto [index, len] : runs) {
    w.put(index, index_bits);
    put_gamma(w, len);
  }
}

status get_string(bit_reader& r, std::size_t n, std::vector<std::string>& out) {
  auto enc = static_cast<encoding>(r.get(8));
  if (enc != encoding::dict) {
    return corrupt("value encoding " + std::to_string(static_cast<unsigned>(enc)) + " is not one for string");
  }
  std::uint64_t distinct = r.get_sized();
  // Each length takes at least 7 bits, which bounds the dictionary by the body's size.
  if (r.failed() || distinct == 0 || distinct > n || distinct > r.bits_left() / 7) {
    return corrupt("a dictionary of " + std::to_string(distinct) + " strings for " + std::to_string(n) + " points");
  }
  std::vector<std::string_view> dict(distinct);
  std::vector<std::uint64_t> sizes(distinct);
  std::uint64_t total = 0;
  for (auto& size : sizes) {
    size = r.get_sized();
    total += size;
    if (r.failed() || size > r.bits_left() / 8 || total > r.bits_left() / 8) {
      return corrupt("the dictionary's strings are longer than the body");
    }
  }
  if (!r.align()) return corrupt("nonzero padding before the dictionary");
  if (total > r.bytes_left()) return corrupt("the dictionary's strings are longer than the body");
  for (std::size_t k = 0; k < distinct; ++k) dict[k] = r.bytes(sizes[k]);
  unsigned index_bits = width_of(distinct - 1);
  out.resize(n);
  std::uint64_t budget = max_chunk_string_bytes;
  std::size_t at = 0;
  while (at < n) {
    std::uint64_t index = r.get(index_bits);
    std::uint64_t run = r.get_gamma();
    if (r.failed()) return corrupt("the body ends inside the string runs");
    if (index >= distinct) return corrupt("a string index past the dictionary");
    if (run > n - at) return corrupt("a string run goes past the point count");
    std::string_view v = dict[index];
    if (v.size() * run > budget) return corrupt("the strings exceed the limit of 64 MiB per chunk");
    budget -= v.size() * run;
    for (std::size_t end = at + run; at < end; ++at) out[at].assign(v);
  }
  return status::ok();
}

// ---- zstd contexts, one pair per thread so no call allocates them or shares them

struct zstd_contexts {
  ZSTD_CCtx* c = nullptr;
  ZSTD_DCtx* d = nullptr;
  zstd_contexts() = default;
  zstd_contexts(const zstd_contexts&) = delete;
  zstd_contexts& operator=(const zstd_contexts&) = delete;
  ~zstd_contexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};
thread_local zstd_contexts zstd_tls;

ZSTD_CCtx* cctx() {
  if (!zstd_tls.c) zstd_tls.c = ZSTD_createCCtx();
  return zstd_tls.c;
}
ZSTD_DCtx* dctx() {
  if (!zstd_tls.d) zstd_tls.d = ZSTD_createDCtx();
  return zstd_tls.d;
}

const unsigned char* bytes_of(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* bytes_of(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

}  // namespace

std::string_view to_string(value_type type) {
  switch (type) {
    case value_type::f64: return "f64";
    case value_type::i64: return "i64";
    case value_type::boolean: return "boolean";
    case value_type::string: return "string";
  }
  return "unknown";
}

void column_batch::clear() {
  t.clear();
  f.clear();
  i.clear();
  b.clear();
  s.clear();
}

status encode_chunk(const column_batch& in, std::string& out) {
  out.clear();
  const std::size_t n = in.t.size();
  if (n == 0) return status::invalid_argument("a chunk needs at least one point");
  if (n > max_chunk_points) {
    return status::invalid_argument("a chunk holds at most " + std::to_string(max_chunk_points) + " points, not " +
                                    std::to_string(n));
  }
  std::size_t values = 0;
  switch (in.type) {
    case value_type::f64: values = in.f.size(); break;
    case value_type::i64: values = in.i.size(); break;
    case value_type::boolean: values = in.b.size(); break;
    case value_type::string: values = in.s.size(); break;
    default: return status::invalid_argument("unknown value type " + std::to_string(static_cast<unsigned>(in.type)));
  }
  if (values != n) {
    return status::invalid_argument(std::to_string(n) + " timestamps but " + std::to_string(values) + " " +
                                    std::string(to_string(in.type)) + " values");
  }
  if (in.type == value_type::boolean) {
    for (std::size_t k = 0; k < n; ++k) {
      if (in.b[k] > 1) return status::invalid_argument("boolean " + std::to_string(k) + " is neither 0 nor 1");
    }
  }
  if (in.type == value_type::string) {
    std::uint64_t total = 0;
    for (const auto& v : in.s) total += v.size();
    if (total > max_chunk_string_bytes) {
      return status::invalid_argument("the strings hold " + std::to_string(total) +
                                      " bytes, more than a chunk's limit of 64 MiB");
    }
  }
  unsigned e;
  if (status s = time_scale(in.t, e); !s) return s;

  out.reserve(chunk_overhead_bytes + 16 + n * (in.type == value_type::string ? 4 : 3));
  out.resize(chunk_header_bytes);
  bit_writer w(out);
  put_times(w, in.t, e);
  switch (in.type) {
    case value_type::f64: put_f64(w, in.f); break;
    case value_type::i64: put_i64(w, in.i); break;
    case value_type::boolean: put_bool(w, in.b); break;
    case value_type::string: put_string(w, in.s); break;
  }
  w.align();

  const std::size_t raw = out.size() - chunk_header_bytes;
  if (raw > max_chunk_body_bytes) {
    out.clear();
    return status::invalid_argument("the chunk's body would exceed " + std::to_string(max_chunk_body_bytes) +
                                    " bytes; seal it with fewer points");
  }
  std::size_t stored = raw;
  std::uint8_t flags = 0;
  if (raw >= zstd_min_body && cctx()) {
    // Capacity raw - 1: a frame that is not smaller fails early and the raw body stays.
    auto packed = std::make_unique_for_overwrite<char[]>(raw - 1);
    std::size_t z = ZSTD_compressCCtx(cctx(), packed.get(), raw - 1, out.data() + chunk_header_bytes, raw, zstd_level);
    if (!ZSTD_isError(z) && z < raw) {
      std::memcpy(out.data() + chunk_header_bytes, packed.get(), z);
      out.resize(chunk_header_bytes + z);
      stored = z;
      flags |= flag_zstd;
    }
  }

  unsigned char* h = bytes_of(out);
  std::memcpy(h, magic, 4);
  h[4] = format_version;
  h[5] = static_cast<unsigned char>(in.type);
  h[6] = flags;
  h[7] = 0;
  put_le(h + 8, n, 4);
  put_le(h + 12, static_cast<std::uint64_t>(in.t.front()), 8);
  put_le(h + 20, static_cast<std::uint64_t>(in.t.back()), 8);
  put_le(h + 28, stored, 4);
  put_le(h + 32, raw, 4);
  unsigned char sum[8];
  put_le(sum, XXH3_64bits(out.data(), out.size()), 8);
  out.append(reinterpret_cast<const char*>(sum), 8);
  return status::ok();
}

result<chunk_header> read_chunk_header(std::string_view bytes) {
  if (bytes.size() < chunk_overhead_bytes) {
    return corrupt("truncated to " + std::to_string(bytes.size()) + " bytes, less than the " +
                   std::to_string(chunk_overhead_bytes) + " of an empty chunk");
  }
  const unsigned char* p = bytes_of(bytes);
  if (std::memcmp(p, magic, 4) != 0) return corrupt("no \"DTSC\" magic; not a time-series chunk");
  if (p[4] != format_version) {
    return corrupt("format version " + std::to_string(p[4]) + "; this build reads version " +
                   std::to_string(format_version));
  }
  chunk_header h;
  h.body_bytes = static_cast<std::uint32_t>(get_le(p + 28, 4));
  if (bytes.size() != chunk_overhead_bytes + h.body_bytes) {
    return corrupt(std::string(bytes.size() < chunk_overhead_bytes + h.body_bytes ? "truncated: " : "too long: ") +
                   std::to_string(bytes.size()) + " bytes for a body of " + std::to_string(h.body_bytes) +
                   " (a chunk is 44 bytes more than its body)");
  }
  std::uint64_t stored_sum = get_le(p + chunk_header_bytes + h.body_bytes, 8);
  std::uint64_t sum = XXH3_64bits(p, chunk_header_bytes + h.body_bytes);
  if (sum != stored_sum) return corrupt("checksum mismatch");
  if (p[5] > static_cast<unsigned>(value_type::string)) return corrupt("unknown value type " + std::to_string(p[5]));
  if ((p[6] & ~flag_zstd) != 0 || p[7] != 0) return corrupt("unknown flags");
  h.type = static_cast<value_type>(p[5]);
  h.compressed = (p[6] & flag_zstd) != 0;
  h.count = static_cast<std::uint32_t>(get_le(p + 8, 4));
  h.first_time = static_cast<std::int64_t>(get_le(p + 12, 8));
  h.last_time = static_cast<std::int64_t>(get_le(p + 20, 8));
  h.raw_body_bytes = static_cast<std::uint32_t>(get_le(p + 32, 4));
  if (h.count == 0 || h.count > max_chunk_points) {
    return corrupt("point count " + std::to_string(h.count) + " is outside 1.." + std::to_string(max_chunk_points));
  }
  if (h.count == 1 ? h.first_time != h.last_time : h.first_time >= h.last_time) {
    return corrupt("first time " + std::to_string(h.first_time) + " and last time " + std::to_string(h.last_time) +
                   " do not fit " + std::to_string(h.count) + " points");
  }
  if (h.raw_body_bytes > max_chunk_body_bytes || (!h.compressed && h.raw_body_bytes != h.body_bytes)) {
    return corrupt("raw body length " + std::to_string(h.raw_body_bytes) + " for a stored body of " +
                   std::to_string(h.body_bytes));
  }
  // The cheapest timestamps still take 7 bits per block of 32, so a count the body cannot hold is
  // refused before a decoder allocates for it.
  if (h.count - 1 > std::uint64_t{block_len} * (std::uint64_t{h.raw_body_bytes} * 8 / 7)) {
    return corrupt("point count " + std::to_string(h.count) + " cannot fit a body of " +
                   std::to_string(h.raw_body_bytes) + " bytes");
  }
  return h;
}

status decode_chunk(std::string_view bytes, column_batch& out) {
  out.clear();
  auto header = read_chunk_header(bytes);
  if (!header) return header.error();
  const chunk_header& h = *header;
  std::string_view body = bytes.substr(chunk_header_bytes, h.body_bytes);
  std::unique_ptr<char[]> raw;
  if (h.compressed) {
    if (!dctx()) return status::internal("out of memory for a zstd context");
    // The encoder's frames state their size; checking it first keeps a forged header from
    // making us allocate what the frame cannot fill.
    unsigned long long declared = ZSTD_getFrameContentSize(body.data(), body.size());
    if (declared != h.raw_body_bytes) {
      return corrupt("the zstd frame does not declare the header's raw body length " +
                     std::to_string(h.raw_body_bytes));
    }
    raw = std::make_unique_for_overwrite<char[]>(h.raw_body_bytes);
    std::size_t z = ZSTD_decompressDCtx(dctx(), raw.get(), h.raw_body_bytes, body.data(), body.size());
    if (ZSTD_isError(z)) return corrupt(std::string("zstd: ") + ZSTD_getErrorName(z));
    if (z != h.raw_body_bytes) return corrupt("the zstd frame holds fewer bytes than the header says");
    body = std::string_view(raw.get(), h.raw_body_bytes);
  }

  bit_reader r(bytes_of(body), body.size());
  out.type = h.type;
  status s = get_times(r, h, out.t);
  if (s) {
    switch (h.type) {
      case value_type::f64: s = get_f64(r, h.count, out.f); break;
      case value_type::i64: s = get_i64(r, h.count, out.i); break;
      case value_type::boolean: s = get_bool(r, h.count, out.b); break;
      case value_type::string: s = get_string(r, h.count, out.s); break;
    }
  }
  if (s && !r.align()) s = corrupt("nonzero padding after the values");
  if (s && r.bits_left() != 0) s = corrupt(std::to_string(r.bytes_left()) + " unused bytes after the values");
  if (!s) out.clear();
  return s;
}

}  // namespace doppel::ts
