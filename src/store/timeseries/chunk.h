// The compressed chunk codec of the embedded time-series store: turns the points of one series
// (timestamps plus one column of values of one type) into a self-checking byte string and back.
//
// Callers: the store's head encodes a chunk when it seals one; the query path reads headers to
// prune by time and decodes the chunks it needs. Threading: pure functions without shared state
// (each thread keeps its own zstd context); safe to call from any thread.
//
// Contract: encode_chunk() accepts 1..max_chunk_points points with strictly increasing
// timestamps (int64 Unix nanoseconds) and refuses anything else with invalid_argument; every
// chunk it produces decodes to bit-identical columns (NaN payloads and -0.0 included).
// The decoder trusts nothing: on truncated, corrupt or hostile bytes it returns invalid_argument
// saying what is wrong, never reads outside the input, and allocates no more than the point
// count a body of that size can hold and the limits below allow.
//
// Byte format, version 1 (integers in the header are little-endian):
//
//   offset size
//        0    4  magic "DTSC"
//        4    1  format version (1)
//        5    1  value type: 0 f64, 1 i64, 2 boolean, 3 string
//        6    1  flags: bit 0 = body is one zstd frame; other bits are zero
//        7    1  reserved, zero
//        8    4  point count n, 1..max_chunk_points
//       12    8  first timestamp (int64)
//       20    8  last timestamp (int64); equal to the first when n == 1, greater otherwise
//       28    4  stored body length B (bytes between header and checksum)
//       32    4  raw body length R (decompressed; B when bit 0 is clear), <= max_chunk_body_bytes
//       36    B  body
//     36+B    8  XXH3_64bits of bytes [0, 36+B)
//
// The raw body is one bit stream, written most significant bit first. "u(w)" is w bits unsigned;
// "sized" is u(7) = w (0..64), then u(w); zigzag maps a signed s to (s << 1) ^ (s >> 63); all
// arithmetic on timestamps and integers wraps modulo 2^64, which keeps extreme values exact.
// Padding bits (to the next byte) are zero, and the body ends exactly after the values.
//
//   timestamps  u(8) e (0..18): every gap t[i] - t[i-1] is a multiple of 10^e, so gaps g[i] are
//               counted in units of 10^e ns (1 s steps stamped to the millisecond give e = 6).
//               Then u(8) form, and by form:
//     0 dod     for i = 1..n-1 the delta-of-delta D = g[i] - g[i-1] (g[0] = 0), Gorilla style:
//               '0' D = 0; '10' u(7); '110' u(10); '1110' u(14); '11110' u(20); '111110' u(32);
//               '111111' u(64), each holding zigzag(D): a bit per regular point, cheap outliers.
//     1 offsets sized G (the mean gap), then zigzag(g[i] - G) for i = 1..n-1 in blocks as for
//               integers below (7 bits per 32 regular points; jitter costs its width per point).
//     2 line    zigzag(S[i] - floor(i * S[n-1] / (n-1))) for i = 1..n-1 in blocks, where
//               S[i] = (t[i] - t[0]) / 10^e: the distance from the straight line between the
//               header's first and last time, half the width of offsets for a jittered clock.
//               Padding.
//   values      u(8) encoding, then by encoding:
//     0 xor     (f64) Gorilla: u(64) the first value's bits; then per value x = bits ^ previous
//               bits: '0' x = 0; '10' x >> T in the previous window's 64-L-T bits; '11' u(5) L,
//               u(6) M-1, u(M) x >> T with T = 64-L-M (a new window of L leading zero bits, M
//               meaningful bits).
//     1 delta   integers v (i64, or f64 as double(v) / 10^k): [f64: u(8) k, 0..15] sized zigzag(v[0]),
//               then the n-1 differences v[i] - v[i-1] as zigzag in blocks of 32 (the last may be
//               shorter), each block u(7) w (0..64) then u(w) per value.
//     2 dod     as delta, but after v[0] comes sized zigzag(v[1] - v[0]) (when n > 1) and the
//               blocks hold the n-2 delta-of-deltas.
//     3 runs    (boolean) u(1) the first value, then Elias-gamma run lengths (N zero bits, then
//               the length in N+1 bits) of alternating values, until they cover n points.
//     4 dict    (string) sized D (1..n distinct strings), sized length of each, padding, their
//               bytes back to back, then runs: u(ceil(log2 D)) index, Elias-gamma run length,
//               until they cover n points.
//   Padding.
//
// The encoder picks per chunk: e (the largest that divides every gap), the smaller timestamp
// form, f64 as xor or as decimal integers (only when every value is exactly v / 10^k for the
// smallest such k, and only when smaller), delta or dod (the smaller); then zstd (level 1) on
// the raw body, kept only when smaller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace doppel::ts {

enum class value_type : std::uint8_t { f64 = 0, i64 = 1, boolean = 2, string = 3 };

// "f64", "i64", "boolean", "string".
std::string_view to_string(value_type type);

inline constexpr std::uint32_t max_chunk_points = 1u << 20;
// The sum of the sizes of a chunk's string values (one copy per point), bounding what a decode
// may allocate; a head sealing long strings seals sooner.
inline constexpr std::uint64_t max_chunk_string_bytes = 64ull << 20;
// The raw body a decoder accepts; anything encode_chunk() writes within the limits above fits.
inline constexpr std::uint32_t max_chunk_body_bytes = 128u << 20;
inline constexpr std::size_t chunk_header_bytes = 36;
inline constexpr std::size_t chunk_overhead_bytes = chunk_header_bytes + 8;  // header + checksum

// The points of one series as columns: t and the column of `type` have one entry per point;
// the other columns are ignored by encode_chunk() and left empty by decode_chunk().
struct column_batch {
  value_type type = value_type::f64;
  std::vector<std::int64_t> t;  // Unix nanoseconds, strictly increasing
  std::vector<double> f;        // f64
  std::vector<std::int64_t> i;  // i64
  std::vector<std::uint8_t> b;  // boolean: 0 or 1
  std::vector<std::string> s;   // string

  std::size_t size() const { return t.size(); }
  void clear();  // empties every column, keeping their capacity
};

struct chunk_header {
  value_type type = value_type::f64;
  std::uint32_t count = 0;
  std::int64_t first_time = 0;
  std::int64_t last_time = 0;
  bool compressed = false;       // the body is a zstd frame
  std::uint32_t body_bytes = 0;  // as stored
  std::uint32_t raw_body_bytes = 0;
};

// Encodes `in` into `out`, replacing its contents. invalid_argument (leaving `out` empty) when
// there are no points or more than max_chunk_points, the value column's size differs from
// t's, a timestamp is not greater than the one before, a boolean is not 0 or 1, or the strings
// exceed max_chunk_string_bytes.
status encode_chunk(const column_batch& in, std::string& out);

// Checks the framing and the checksum of a whole chunk (`bytes` is exactly one chunk) and returns
// its header, without decoding the body. invalid_argument says what is wrong.
result<chunk_header> read_chunk_header(std::string_view bytes);

// Decodes a whole chunk into `out` (reusing its capacity). On invalid_argument, saying what is
// wrong, `out` is left cleared. A decoded batch meets encode_chunk()'s contract.
status decode_chunk(std::string_view bytes, column_batch& out);

}  // namespace doppel::ts
