#include "api/routes/common.h"

#include <gtest/gtest.h>

#include "common/temp_dir.h"

namespace doppel::api::detail {
namespace {

// What the simulation and scenario routes read a twin's telemetry with: numbers, integers and
// booleans alike (a live binding may take any of them), never a text series.
TEST(NumericPoints, ReadsNumbersIntegersAndBooleansInTheirColumns) {
  doppel::testing::temp_dir dir{"doppel-numeric-points"};
  ts::history_options o;
  o.dir = dir.path();
  auto h = ts::history::open(o);
  ASSERT_TRUE(h) << h.error().to_string();
  auto point = [](const char* name, ts::value_type type, std::int64_t t, double f, std::int64_t i) {
    ts::sample s;
    s.twin = "p";
    s.name = name;
    s.type = type;
    s.time_ns = t;
    s.f = f;
    s.i = i;
    return s;
  };
  ts::sample text = point("mode", ts::value_type::string, 1, 0, 0);
  text.s = "auto";
  ASSERT_TRUE(
      (*h)->append(0, {point("speed", ts::value_type::f64, 1, 1.5, 0), point("speed", ts::value_type::f64, 2, 2.5, 0),
                       point("count", ts::value_type::i64, 1, 0, 7), point("running", ts::value_type::boolean, 1, 0, 0),
                       point("running", ts::value_type::boolean, 2, 0, 1), text}));
  using points = std::vector<std::pair<std::int64_t, double>>;
  EXPECT_EQ(numeric_points(**h, "p", "speed", 0, 10), (points{{1, 1.5}, {2, 2.5}}));
  EXPECT_EQ(numeric_points(**h, "p", "speed", 2, 10), (points{{2, 2.5}}));
  EXPECT_EQ(numeric_points(**h, "p", "count", 0, 10), (points{{1, 7.0}}));
  EXPECT_EQ(numeric_points(**h, "p", "running", 0, 10), (points{{1, 0.0}, {2, 1.0}}));
  EXPECT_TRUE(numeric_points(**h, "p", "mode", 0, 10).empty());
  EXPECT_TRUE(numeric_points(**h, "p", "nope", 0, 10).empty());
}

}  // namespace
}  // namespace doppel::api::detail
