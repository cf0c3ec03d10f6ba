// libFuzzer target for the time-series chunk codec. The first byte picks what the rest is:
// 0: a chunk as stored, for read_chunk_header() and decode_chunk(); 1: a chunk whose framing
// (magic, version, body length) and checksum are made right first, so the body decoder sees the
// fuzzer's bytes instead of stopping at the checksum; 2: points to encode, which must decode to
// the same bits; 3: the history route's step and agg parameters; 4: a rollup (downsampling tier)
// with its framing and checksum made right; 5: points whose rollup must hold what aggregating the
// points gives. Never a crash; a batch that decodes meets the encoder's contract and survives
// encoding again unchanged.
#include <xxhash.h>

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "store/timeseries/aggregate.h"
#include "store/timeseries/chunk.h"
#include "store/timeseries/rollup.h"

namespace {

using namespace doppel::ts;

bool same(const column_batch& a, const column_batch& b) {
  if (a.type != b.type || a.t != b.t) return false;
  switch (a.type) {
    case value_type::f64:
      if (a.f.size() != b.f.size()) return false;
      for (std::size_t k = 0; k < a.f.size(); ++k) {
        if (std::bit_cast<std::uint64_t>(a.f[k]) != std::bit_cast<std::uint64_t>(b.f[k])) return false;
      }
      return true;
    case value_type::i64: return a.i == b.i;
    case value_type::boolean: return a.b == b.b;
    case value_type::string: return a.s == b.s;
  }
  return false;
}

// Encodes, checks the header, decodes, compares; traps on any difference.
void round_trip(const column_batch& in) {
  std::string bytes;
  if (!encode_chunk(in, bytes)) __builtin_trap();
  auto h = read_chunk_header(bytes);
  if (!h || h->count != in.size() || h->first_time != in.t.front() || h->last_time != in.t.back()) __builtin_trap();
  column_batch out;
  if (!decode_chunk(bytes, out) || !same(in, out)) __builtin_trap();
}

void check_decoded(std::string_view bytes) {
  auto h = read_chunk_header(bytes);
  column_batch out;
  auto s = decode_chunk(bytes, out);
  if (!s) {
    if (!out.t.empty() || s.message().empty()) __builtin_trap();
    return;
  }
  if (!h || out.type != h->type || out.size() != h->count) __builtin_trap();
  if (out.t.front() != h->first_time || out.t.back() != h->last_time) __builtin_trap();
  for (std::size_t k = 1; k < out.t.size(); ++k) {
    if (out.t[k] <= out.t[k - 1]) __builtin_trap();
  }
  round_trip(out);
}

// Reads the fuzzer's bytes as numbers; zeros once they run out.
class source {
 public:
  source(const std::uint8_t* p, std::size_t n) : p_(p), n_(n) {}
  bool empty() const { return n_ == 0; }
  std::uint64_t take(unsigned bytes) {
    std::uint64_t v = 0;
    for (unsigned k = 0; k < bytes && n_ > 0; ++k, ++p_, --n_) v = (v << 8) | *p_;
    return v;
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
};

// Points shaped like real series often enough (regular and jittered stamps, decimals, repeats,
// runs) to reach every encoding, and raw bits to reach the edges.
column_batch points(source& in) {
  column_batch b;
  b.type = static_cast<value_type>(in.take(1) % 4);
  std::int64_t now = static_cast<std::int64_t>(in.take(8));
  const char* words[] = {"", "auto", "manual", "off", "a much longer state name than the others"};
  do {
    b.t.push_back(now);
    std::uint64_t v = in.take(1);
    switch (b.type) {
      case value_type::f64: {
        double x;
        if (v < 128) {
          x = static_cast<double>(static_cast<std::int16_t>(in.take(2))) / std::pow(10.0, v % 5);
        } else if (v < 192 && !b.f.empty()) {
          x = b.f.back();
        } else {
          x = std::bit_cast<double>(in.take(8));
        }
        b.f.push_back(x);
        break;
      }
      case value_type::i64:
        if (v < 128) {
          std::uint64_t prev = b.i.empty() ? 0 : static_cast<std::uint64_t>(b.i.back());
          auto step = static_cast<std::uint64_t>(static_cast<std::int8_t>(in.take(1)));
          b.i.push_back(static_cast<std::int64_t>(prev + step));  // wraps, like the codec's deltas
        } else {
          b.i.push_back(static_cast<std::int64_t>(in.take(8)));
        }
        break;
      case value_type::boolean: b.b.push_back(static_cast<std::uint8_t>(v & 1)); break;
      case value_type::string:
        if (v < 200) {
          b.s.emplace_back(words[v % 5]);
        } else {
          std::uint64_t len = in.take(1) % 8;
          b.s.emplace_back(std::to_string(in.take(static_cast<unsigned>(len))));
        }
        break;
    }
    std::uint64_t g = in.take(1);
    std::uint64_t gap;
    switch (g >> 6) {
      case 0: gap = (g & 63) + 1; break;
      case 1: gap = 1'000'000'000; break;
      case 2:
        gap = static_cast<std::uint64_t>(1'000'000'000 + (static_cast<std::int64_t>(g & 63) - 32) * 1'000'000);
        break;
      default: gap = in.take(8) | 1; break;
    }
    // Unsigned: the room left can exceed int64 when now is negative.
    std::uint64_t room =
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) - static_cast<std::uint64_t>(now);
    if (gap > room) break;
    now = static_cast<std::int64_t>(static_cast<std::uint64_t>(now) + gap);
  } while (!in.empty() && b.t.size() < 20000);
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::uint8_t mode = data[0] % 6;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  constexpr std::int64_t minute = 60'000'000'000;
  if (mode == 4) {
    if (bytes.size() < 28) bytes.resize(28);
    auto* p = reinterpret_cast<unsigned char*>(bytes.data());
    std::memcpy(p, "DTSR\x01", 5);
    std::uint64_t body = bytes.size() - 28;
    for (unsigned k = 0; k < 4; ++k) p[12 + k] = static_cast<unsigned char>(body >> (8 * k));
    if ((p[7] & 1) == 0) std::memcpy(p + 16, p + 12, 4);
    std::uint64_t sum = XXH3_64bits(p, bytes.size() - 8);
    for (unsigned k = 0; k < 8; ++k) p[bytes.size() - 8 + k] = static_cast<unsigned char>(sum >> (8 * k));
    std::vector<bucket> out;
    if (decode_rollup(bytes, minute, out)) {
      for (std::size_t k = 0; k < out.size(); ++k) {
        if (out[k].count == 0 || (k && out[k].start <= out[k - 1].start) ||
            (out[k].start % minute != 0 && out[k].start != INT64_MIN)) {
          __builtin_trap();
        }
      }
    } else if (!out.empty()) {
      __builtin_trap();  // a refused rollup leaves nothing behind
    }
    return 0;
  }
  if (mode == 5) {
    source in(data + 1, size - 1);
    column_batch c = points(in);
    std::string enc;
    if (c.type == value_type::string || c.size() == 0) return 0;
    if (!encode_rollup(c, minute, enc)) __builtin_trap();
    std::vector<bucket> tier;
    if (!decode_rollup(enc, minute, tier)) __builtin_trap();
    auto raw = aggregate(c, minute);
    if (!raw || raw->size() != tier.size()) __builtin_trap();
    for (std::size_t k = 0; k < tier.size(); ++k) {
      const bucket &a = tier[k], &b = (*raw)[k];
      auto same_value = [](double x, double y) {
        return std::bit_cast<std::uint64_t>(x) == std::bit_cast<std::uint64_t>(y) || (std::isnan(x) && std::isnan(y));
      };
      if (a.start != b.start || a.count != b.count || !same_value(a.first, b.first) || !same_value(a.last, b.last)) {
        __builtin_trap();
      }
    }
    return 0;
  }
  if (mode == 3) {
    // The history route's step and agg parameters.
    std::int64_t ns = 0;
    if (parse_step(bytes, ns) && ns <= 0) __builtin_trap();
    aggregate_fn fn{};
    if (parse_aggregate(bytes, fn) && to_string(fn) != bytes) __builtin_trap();
    return 0;
  }
  if (mode == 0) {
    check_decoded(bytes);
  } else if (mode == 1) {
    if (bytes.size() < chunk_overhead_bytes) bytes.resize(chunk_overhead_bytes);
    auto* p = reinterpret_cast<unsigned char*>(bytes.data());
    std::memcpy(p, "DTSC\x01", 5);
    std::uint64_t body = bytes.size() - chunk_overhead_bytes;
    for (unsigned k = 0; k < 4; ++k) p[28 + k] = static_cast<unsigned char>(body >> (8 * k));
    if ((p[6] & 1) == 0) std::memcpy(p + 32, p + 28, 4);
    std::uint64_t sum = XXH3_64bits(p, bytes.size() - 8);
    for (unsigned k = 0; k < 8; ++k) p[bytes.size() - 8 + k] = static_cast<unsigned char>(sum >> (8 * k));
    check_decoded(bytes);
  } else {
    source in(data + 1, size - 1);
    round_trip(points(in));
  }
  return 0;
}
