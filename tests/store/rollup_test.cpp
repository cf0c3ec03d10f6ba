// Downsampling tiers: rollups hold the statistics the raw points give, exactly for decimal and
// integer sensors, and every corruption of their bytes is refused.
#include "store/timeseries/rollup.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace doppel::ts {
namespace {

constexpr std::int64_t s1 = 1000000000;
constexpr std::int64_t minute = 60 * s1;

void expect_same(const std::vector<bucket>& tier, const std::vector<bucket>& raw, double tolerance) {
  ASSERT_EQ(tier.size(), raw.size());
  for (std::size_t k = 0; k < raw.size(); ++k) {
    SCOPED_TRACE(k);
    EXPECT_EQ(tier[k].start, raw[k].start);
    EXPECT_EQ(tier[k].count, raw[k].count);
    EXPECT_EQ(tier[k].min, raw[k].min);  // min, max, first and last are values: bit-exact
    EXPECT_EQ(tier[k].max, raw[k].max);
    EXPECT_EQ(tier[k].first, raw[k].first);
    EXPECT_EQ(tier[k].last, raw[k].last);
    for (auto fn : {aggregate_fn::mean, aggregate_fn::sum, aggregate_fn::stddev}) {
      double a = tier[k].value(fn), b = raw[k].value(fn);
      EXPECT_NEAR(a, b, tolerance * std::max(1.0, std::fabs(b))) << to_string(fn);
    }
  }
}

column_batch sensor(int n, std::int64_t t0, double scale) {
  column_batch c;
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 0.4);
  double level = 1013.2;
  for (int k = 0; k < n; ++k) {
    level += noise(rng);
    c.t.push_back(t0 + k * s1);
    c.f.push_back(std::round(level * scale) / scale);  // as a sensor reports: 2 decimals
  }
  return c;
}

TEST(Rollup, DecimalSensorsKeepExactSums) {
  column_batch c = sensor(7200 + 17, 13 * s1, 100);
  std::string bytes;
  ASSERT_TRUE(encode_rollup(c, minute, bytes));
  EXPECT_EQ(bytes[5], 1);  // scaled integers
  EXPECT_EQ(bytes[6], 2);  // two decimals
  std::vector<bucket> tier;
  ASSERT_TRUE(decode_rollup(bytes, minute, tier));
  expect_same(tier, *aggregate(c, minute), 1e-12);
  // 121 minute buckets in a few bytes each: far below the points' own size.
  EXPECT_LT(bytes.size(), 121u * 20) << bytes.size();
  // Hours, and decoding appends after what `out` holds.
  ASSERT_TRUE(encode_rollup(c, 60 * minute, bytes));
  ASSERT_TRUE(decode_rollup(bytes, 60 * minute, tier));
  EXPECT_EQ(tier.size(), 121u + 3u);
}

TEST(Rollup, IntegersBooleansAndFullPrecisionFloats) {
  column_batch i;
  i.type = value_type::i64;
  column_batch b;
  b.type = value_type::boolean;
  column_batch f;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> any(-1e6, 1e6);
  for (int k = 0; k < 5000; ++k) {
    i.t.push_back(-3000 * s1 + k * s1);  // before 1970 too
    i.i.push_back(1000000 + k * 37 - (k % 11) * 5);
    b.t.push_back(k * s1);
    b.b.push_back(k % 90 < 60);
    f.t.push_back(k * s1);
    f.f.push_back(any(rng));
  }
  for (column_batch* c : {&i, &b, &f}) {
    std::string bytes;
    ASSERT_TRUE(encode_rollup(*c, minute, bytes));
    EXPECT_EQ(bytes[5], c == &f ? 0 : 1);  // random floats keep doubles
    std::vector<bucket> tier;
    ASSERT_TRUE(decode_rollup(bytes, minute, tier));
    expect_same(tier, *aggregate(*c, minute), 1e-9);
  }
  // Values too large to keep exact sums fall back to doubles.
  column_batch big;
  big.type = value_type::i64;
  big.t = {1, 2, 3};
  big.i = {INT64_MAX / 2, INT64_MAX / 2, -5};
  std::string bytes;
  ASSERT_TRUE(encode_rollup(big, minute, bytes));
  EXPECT_EQ(bytes[5], 0);
  column_batch text;
  text.type = value_type::string;
  text.t = {1};
  text.s = {"x"};
  EXPECT_FALSE(encode_rollup(text, minute, bytes));
}

TEST(Rollup, EveryBitFlipAndTruncationIsRefused) {
  column_batch c = sensor(600, 0, 10);
  std::string bytes;
  ASSERT_TRUE(encode_rollup(c, minute, bytes));
  std::vector<bucket> out;
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = bytes;
      bad[at] = static_cast<char>(bad[at] ^ (1 << bit));
      out.clear();
      EXPECT_FALSE(decode_rollup(bad, minute, out)) << at << ":" << bit;
      EXPECT_TRUE(out.empty());
    }
  }
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_rollup(std::string_view(bytes).substr(0, n), minute, out)) << n;
  }
}

}  // namespace
}  // namespace doppel::ts
