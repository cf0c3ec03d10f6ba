// Aggregating a series' points into fixed time buckets: what GET .../telemetry/{name}?step=&agg=
// answers (mean, min, max, sum, count, first, last, stddev per bucket). Buckets are aligned to
// multiples of the step from the Unix epoch (a 1-minute bucket starts on the minute), so the
// same bucket has the same start whatever range a query asks for.
//
// Callers: the history route. Threading: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/timeseries/chunk.h"

namespace doppel::ts {

enum class aggregate_fn : std::uint8_t { mean, min, max, sum, count, first, last, stddev, p50, p90, p95, p99 };

// p50, p90, p95 and p99 need every value of a bucket: they are computed from raw points only.
bool is_percentile(aggregate_fn fn);

// "mean" -> aggregate_fn::mean; false for an unknown name.
bool parse_aggregate(std::string_view name, aggregate_fn& out);
std::string_view to_string(aggregate_fn fn);

// One bucket's statistics over its points (numbers; booleans count as 0 and 1).
//
// Sums are compensated (Knuth's TwoSum, as in Neumaier's summation): `sum + sum_error` is the
// sum of the values to about twice double precision, whatever their order and magnitudes, so
// the mean of 50..59 is 54.5 and the mean of 0.1, 0.2, 0.3 is 0.2 (a plain running sum or mean
// gives 54.49999999999999 and 0.20000000000000004). value(mean) and value(sum) round that once.
struct bucket {
  std::int64_t start = 0;  // Unix ns, a multiple of the step
  std::uint64_t count = 0;
  double sum = 0, min = 0, max = 0, first = 0, last = 0;
  double sum_error = 0;                       // what the rounded `sum` lacks of the exact sum
  double mean = 0, m2 = 0;                    // running mean and sum of squared deviations (Welford), for stddev
  double p50 = 0, p90 = 0, p95 = 0, p99 = 0;  // set by add_percentiles() only

  // stddev: the population standard deviation; mean: the compensated sum over the count.
  double value(aggregate_fn fn) const;
  // The compensated sum rounded to a double (`sum` itself when it overflowed or is not a number).
  double total() const;
};

// Adds `v` to the compensated sum `sum` + `error` (exact: the rounding error of each addition
// goes into `error`). No branch, no allocation: it runs once per point of an aggregate.
inline void add_compensated(double& sum, double& error, double v) {
  double t = sum + v;
  double z = t - sum;
  error += (sum - (t - z)) + (v - z);
  sum = t;
}

// Point k of a numeric or boolean column as a double (booleans 0 and 1; strings 0).
double number_at(const column_batch& c, std::size_t k);

// Adds one value to a bucket (the value after every one it holds).
void add(bucket& b, double v);

// Merges `later` (statistics of points after every point of `into`, or of another series when
// first/last do not matter) into `into`: counts, sums, min/max, mean and m2 (Chan et al.).
void merge(bucket& into, const bucket& later);

// The bucket of `step_ns` holding time `t`, counted from the epoch: floor(t / step).
std::int64_t bucket_unit(std::int64_t t, std::int64_t step_ns);
// Its start: the multiple of the step at or below `t` (INT64_MIN for the bucket that would start
// before the int64 range does).
std::int64_t bucket_start(std::int64_t t, std::int64_t step_ns);

// Buckets of `step_ns` from finer buckets (in time order, each within one bucket of the step:
// their step divides `step_ns`).
std::vector<bucket> regroup(const std::vector<bucket>& fine, std::int64_t step_ns);

// Buckets of `step_ns` over `points` (in time order); only buckets holding points are returned.
// invalid_argument for a string series (only count, first and last make sense there, and the
// route answers those from the raw points) or a step that is not positive.
result<std::vector<bucket>> aggregate(const column_batch& points, std::int64_t step_ns);

// Sets the percentiles of `buckets` (as aggregate() returned them for the same points and step):
// nearest rank, the smallest value with at least q% of the bucket's values at or below it.
void add_percentiles(const column_batch& points, std::int64_t step_ns, std::vector<bucket>& buckets);

// "30s", "5m", "1h", "1d", "500ms" or ISO 8601 "PT5M" / "P1D" as nanoseconds; false otherwise.
bool parse_step(std::string_view text, std::int64_t& ns);

}  // namespace doppel::ts
