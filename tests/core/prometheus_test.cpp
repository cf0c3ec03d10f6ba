#include "core/prometheus.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace doppel::prometheus {
namespace {

TEST(Prometheus, FamiliesAndSamples) {
  std::string out;
  writer w(out);
  w.counter("doppel_x_total", "Things counted.", std::uint64_t{3});
  w.gauge("doppel_up", "1 while up.", 1);
  w.family("doppel_refused_total", "Refusals, by reason.", metric_type::counter)
      .sample("doppel_refused_total", {{"reason", "queue_full"}}, 0u)
      .sample("doppel_refused_total", {{"reason", "token"}, {"route", "/twins/{id}"}}, 7ull);
  w.family("doppel_t_seconds", "Durations.", metric_type::histogram)
      .sample("doppel_t_seconds_bucket", {{"le", format_double(0.005)}}, 2)
      .sample("doppel_t_seconds_bucket", {{"le", "+Inf"}}, 2)
      .sample("doppel_t_seconds_sum", 0.000025)
      .sample("doppel_t_seconds_count", std::int64_t{2});
  EXPECT_EQ(out,
            "# HELP doppel_x_total Things counted.\n# TYPE doppel_x_total counter\ndoppel_x_total 3\n"
            "# HELP doppel_up 1 while up.\n# TYPE doppel_up gauge\ndoppel_up 1\n"
            "# HELP doppel_refused_total Refusals, by reason.\n# TYPE doppel_refused_total counter\n"
            "doppel_refused_total{reason=\"queue_full\"} 0\n"
            "doppel_refused_total{reason=\"token\",route=\"/twins/{id}\"} 7\n"
            "# HELP doppel_t_seconds Durations.\n# TYPE doppel_t_seconds histogram\n"
            "doppel_t_seconds_bucket{le=\"0.005000\"} 2\ndoppel_t_seconds_bucket{le=\"+Inf\"} 2\n"
            "doppel_t_seconds_sum 0.000025\ndoppel_t_seconds_count 2\n");
}

TEST(Prometheus, EscapesHelpAndLabelValuesAsTheFormatSays) {
  std::string out;
  writer w(out);
  w.family("m", "a \\ b\nc \"d\"", metric_type::untyped).sample("m", {{"v", "x\\y\"z\nw"}}, 1);
  // HELP: backslash and newline escaped, a double quote kept; label values: all three escaped.
  EXPECT_EQ(out, "# HELP m a \\\\ b\\nc \"d\"\n# TYPE m untyped\nm{v=\"x\\\\y\\\"z\\nw\"} 1\n");
}

TEST(Prometheus, NumbersAtTheirEnds) {
  std::string out;
  writer w(out);
  w.sample("a", std::numeric_limits<std::uint64_t>::max())
      .sample("b", std::numeric_limits<std::int64_t>::min())
      .sample("c", true)
      .sample("d", std::numeric_limits<double>::infinity())
      .sample("e", -std::numeric_limits<double>::infinity())
      .sample("f", std::nan(""))
      .sample("g", 1.5f)
      .sample("h", -0.0000004);
  EXPECT_EQ(out,
            "a 18446744073709551615\nb -9223372036854775808\nc 1\nd +Inf\ne -Inf\nf NaN\ng 1.500000\n"
            "h -0.000000\n");
  EXPECT_EQ(format_double(1e300).size(), 301u + 7u);
}

TEST(Prometheus, Names) {
  EXPECT_TRUE(valid_metric_name("doppel:http_requests_total"));
  EXPECT_FALSE(valid_metric_name("1x"));
  EXPECT_FALSE(valid_metric_name("a-b"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_TRUE(valid_label_name("_route9"));
  EXPECT_FALSE(valid_label_name("a:b"));
}

}  // namespace
}  // namespace doppel::prometheus
