// Buckets of a series: alignment, every statistic, steps as text.
#include "store/timeseries/aggregate.h"

#include <gtest/gtest.h>

#include <cmath>

namespace doppel::ts {
namespace {

constexpr std::int64_t s1 = 1000000000;

TEST(Aggregate, BucketsAreAlignedToTheStepAndHoldEveryStatistic) {
  column_batch c;
  c.type = value_type::f64;
  // 10 s .. 69 s, value = the second; minute buckets start at 0 s and 60 s.
  for (int k = 10; k < 70; ++k) {
    c.t.push_back(k * s1);
    c.f.push_back(k);
  }
  auto r = aggregate(c, 60 * s1);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 2u);
  const bucket& a = (*r)[0];
  EXPECT_EQ(a.start, 0);
  EXPECT_EQ(a.count, 50u);
  EXPECT_DOUBLE_EQ(a.value(aggregate_fn::min), 10);
  EXPECT_DOUBLE_EQ(a.value(aggregate_fn::max), 59);
  EXPECT_DOUBLE_EQ(a.value(aggregate_fn::first), 10);
  EXPECT_DOUBLE_EQ(a.value(aggregate_fn::last), 59);
  EXPECT_DOUBLE_EQ(a.value(aggregate_fn::sum), (10 + 59) * 50 / 2.0);
  EXPECT_DOUBLE_EQ(a.value(aggregate_fn::mean), 34.5);
  EXPECT_NEAR(a.value(aggregate_fn::stddev), std::sqrt((50.0 * 50 - 1) / 12), 1e-9);  // uniform 10..59
  EXPECT_EQ((*r)[1].start, 60 * s1);
  EXPECT_EQ((*r)[1].count, 10u);
  // Before 1970 a bucket still starts at or below its points.
  column_batch old;
  old.type = value_type::i64;
  old.t = {-90 * s1};
  old.i = {5};
  EXPECT_EQ((*aggregate(old, 60 * s1))[0].start, -120 * s1);
  // Booleans count as 0 and 1; strings are refused.
  column_batch b;
  b.type = value_type::boolean;
  b.t = {1, 2, 3, 4};
  b.b = {1, 0, 1, 1};
  EXPECT_DOUBLE_EQ((*aggregate(b, s1))[0].value(aggregate_fn::mean), 0.75);
  column_batch s;
  s.type = value_type::string;
  s.t = {1};
  s.s = {"on"};
  EXPECT_FALSE(aggregate(s, s1));
  EXPECT_FALSE(aggregate(c, 0));
}

TEST(Aggregate, StepsAndNames) {
  std::int64_t ns = 0;
  ASSERT_TRUE(parse_step("30s", ns));
  EXPECT_EQ(ns, 30 * s1);
  ASSERT_TRUE(parse_step("5m", ns));
  EXPECT_EQ(ns, 300 * s1);
  ASSERT_TRUE(parse_step("1h", ns));
  EXPECT_EQ(ns, 3600 * s1);
  ASSERT_TRUE(parse_step("2d", ns));
  EXPECT_EQ(ns, 2 * 86400 * s1);
  ASSERT_TRUE(parse_step("500ms", ns));
  EXPECT_EQ(ns, 500000000);
  ASSERT_TRUE(parse_step("PT15M", ns));
  EXPECT_EQ(ns, 900 * s1);
  ASSERT_TRUE(parse_step("P1D", ns));
  EXPECT_EQ(ns, 86400 * s1);
  for (const char* bad : {"", "m", "0s", "-5m", "5x", "5", "PT", "P1H", "1.5m", "9999999999d"}) {
    EXPECT_FALSE(parse_step(bad, ns)) << bad;
  }
  aggregate_fn fn{};
  EXPECT_TRUE(parse_aggregate("stddev", fn));
  EXPECT_EQ(fn, aggregate_fn::stddev);
  EXPECT_EQ(to_string(fn), "stddev");
  EXPECT_FALSE(parse_aggregate("median", fn));
}

TEST(Aggregate, MergedAndRegroupedBucketsEqualOnePass) {
  column_batch c;
  for (int k = 0; k < 600; ++k) {
    c.t.push_back(k * s1);
    c.f.push_back(std::sin(k * 0.1) * 10 + k * 0.01);
  }
  auto fine = *aggregate(c, 60 * s1);
  auto coarse = regroup(fine, 300 * s1);
  auto direct = *aggregate(c, 300 * s1);
  ASSERT_EQ(coarse.size(), direct.size());
  for (std::size_t k = 0; k < direct.size(); ++k) {
    EXPECT_EQ(coarse[k].start, direct[k].start);
    EXPECT_EQ(coarse[k].count, direct[k].count);
    EXPECT_EQ(coarse[k].first, direct[k].first);
    EXPECT_EQ(coarse[k].last, direct[k].last);
    for (auto fn :
         {aggregate_fn::mean, aggregate_fn::sum, aggregate_fn::stddev, aggregate_fn::min, aggregate_fn::max}) {
      EXPECT_NEAR(coarse[k].value(fn), direct[k].value(fn), 1e-9) << to_string(fn);
    }
  }
  // Percentiles by nearest rank: of 1..100 in one bucket, p50 = 50, p99 = 99.
  column_batch hundred;
  hundred.type = value_type::i64;
  for (int k = 0; k < 100; ++k) {
    hundred.t.push_back(k);
    hundred.i.push_back(100 - k);
  }
  auto one = *aggregate(hundred, s1);
  add_percentiles(hundred, s1, one);
  EXPECT_EQ(one[0].value(aggregate_fn::p50), 50);
  EXPECT_EQ(one[0].value(aggregate_fn::p90), 90);
  EXPECT_EQ(one[0].value(aggregate_fn::p95), 95);
  EXPECT_EQ(one[0].value(aggregate_fn::p99), 99);
  EXPECT_TRUE(is_percentile(aggregate_fn::p95));
  EXPECT_FALSE(is_percentile(aggregate_fn::max));
  // Merging into an empty bucket keeps its start.
  bucket empty;
  empty.start = 42;
  merge(empty, fine[0]);
  EXPECT_EQ(empty.start, 42);
  EXPECT_EQ(empty.count, fine[0].count);
  EXPECT_EQ(bucket_start(-1, 60), -60);
  EXPECT_EQ(bucket_start(60, 60), 60);
}

// Issue 13: the mean of 50..59 was 54.49999999999999 (a running mean); InfluxDB says 54.5.
TEST(Aggregate, DecimalDataGivesDecimalMeansAndSums) {
  column_batch ints;
  ints.type = value_type::f64;  // line protocol's "speed=50" is a float field
  column_batch i64;
  i64.type = value_type::i64;
  for (int k = 0; k < 10; ++k) {
    ints.t.push_back(k * s1);
    ints.f.push_back(50 + k);
    i64.t.push_back(k * s1);
    i64.i.push_back(50 + k);
  }
  for (const column_batch* c : {&ints, &i64}) {
    auto r = aggregate(*c, 100 * s1);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].value(aggregate_fn::mean), 54.5);
    EXPECT_EQ((*r)[0].value(aggregate_fn::sum), 545);
  }
  // Decimals: 0.1 + 0.2 + 0.3 is 0.6000000000000001 added plainly.
  column_batch d;
  d.t = {1, 2, 3};
  d.f = {0.1, 0.2, 0.3};
  auto r = *aggregate(d, s1);
  EXPECT_EQ(r[0].value(aggregate_fn::mean), 0.2);
  EXPECT_EQ(r[0].value(aggregate_fn::sum), 0.6);
  // A thousand readings of 0.1: 99.9999999999986 added plainly.
  column_batch tenths;
  for (int k = 0; k < 1000; ++k) {
    tenths.t.push_back(k);
    tenths.f.push_back(0.1);
  }
  r = *aggregate(tenths, s1);
  EXPECT_EQ(r[0].value(aggregate_fn::sum), 100);
  EXPECT_EQ(r[0].value(aggregate_fn::mean), 0.1);
  // Large values that cancel do not swallow the small ones.
  column_batch cancel;
  cancel.t = {1, 2, 3};
  cancel.f = {1e16, 1, -1e16};
  EXPECT_EQ((*aggregate(cancel, s1))[0].value(aggregate_fn::sum), 1);
  // Buckets merged (the tiers, the cross-twin aggregates) keep the compensation.
  column_batch first, second;
  first.t = {1, 2};
  first.f = {0.1, 0.2};
  second.t = {3};
  second.f = {0.3};
  bucket merged = (*aggregate(first, s1))[0];
  merge(merged, (*aggregate(second, s1))[0]);
  EXPECT_EQ(merged.value(aggregate_fn::mean), 0.2);
  EXPECT_EQ(merged.value(aggregate_fn::sum), 0.6);
  // An overflow or an infinity stays what it is instead of becoming NaN.
  column_batch inf;
  inf.t = {1, 2};
  inf.f = {1e308, 1e308};
  EXPECT_EQ((*aggregate(inf, s1))[0].value(aggregate_fn::sum), HUGE_VAL);
  EXPECT_EQ((*aggregate(inf, s1))[0].value(aggregate_fn::mean), HUGE_VAL);
}

}  // namespace
}  // namespace doppel::ts
