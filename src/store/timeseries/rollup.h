// Downsampling tiers of the time-series store: per-bucket statistics of a sealed chunk's points
// (count, sum, min, max, first, last and the spread for stddev) at fixed steps of one minute and
// one hour, computed when the chunk is sealed and stored beside it. An aggregate over a long
// range then reads a few buckets per chunk instead of decoding every point (history.h decides
// when it may).
//
// Callers: history's checkpoint (encode_rollup) and aggregate queries (decode_rollup).
// Threading: pure functions, safe from any thread.
//
// Exactness: when every value of the chunk is a decimal with at most 9 digits after the point
// (what sensors send: 21.37, 1013.2) or an integer, sums are kept as exact scaled integers, so a
// tier's mean, sum and stddev equal what the raw points give up to the last bit of the final
// division. Other values (full-precision floats) keep sum and m2 as doubles, exact as computed
// over the chunk's points in time order; merging buckets across chunks may then differ from a
// single pass over the raw points in the last few bits.
//
// Byte format, version 1 (little-endian):
//   0  4  magic "DTSR"
//   4  1  version (1)
//   5  1  mode: 0 doubles, 1 scaled integers (value = n / 10^k)
//   6  1  k (0..9; 0 in mode 0)
//   7  1  flags: bit 0 = body is one zstd frame
//   8  4  bucket count n (>= 1)
//  12  4  stored body length B
//  16  4  raw body length R
//  20  B  body
//  20+B 8 XXH3_64bits of bytes [0, 20+B)
// Raw body, LEB128 varints ("zz" = zigzag of a signed value):
//   zz(first start / step), then per later bucket varint(start delta / step);
//   per bucket varint(count);
//   mode 1: per statistic in min, max, first, last: zz of the first n, then zz of each difference
//           to the previous bucket's; then per bucket zz(S1) (the sum of n) and varint(S2) (the sum
//           of n squared), each fitting 63 bits;
//   mode 0: per bucket the 8 bytes of min, max, first, last, sum, m2 (doubles).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/timeseries/aggregate.h"
#include "store/timeseries/chunk.h"

namespace doppel::ts {

// The tiers' steps, finest first.
inline constexpr std::int64_t tier_steps_ns[] = {60'000'000'000, 3'600'000'000'000};

// Encodes the buckets of `step_ns` over `points` (one chunk's points: numbers or booleans, in
// time order) into `out`. invalid_argument for a string series or no points.
status encode_rollup(const column_batch& points, std::int64_t step_ns, std::string& out);

// Decodes a rollup of `step_ns`, appending its buckets (in time order) to `out`.
// invalid_argument, saying what is wrong, on truncated or corrupt bytes.
status decode_rollup(std::string_view bytes, std::int64_t step_ns, std::vector<bucket>& out);

}  // namespace doppel::ts
