#include "core/time.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

// The RFC 3339 text users see (history pages, exports, $metadata, refusals) and the times they
// may send, pinned before the parser and formatters moved here from core/text, ingest/readings
// and model/conformance: edges of the nanosecond range, before 1970, leap days and seconds,
// fractional digits, Z and offsets.
namespace doppel {
namespace {

constexpr std::int64_t s1 = 1000000000;

std::int64_t parsed(std::string_view text) {
  std::int64_t ns = 0;
  EXPECT_TRUE(parse_rfc3339_ns(text, ns)) << text;
  return ns;
}

bool refused(std::string_view text) {
  std::int64_t ns = 0;
  return !parse_rfc3339_ns(text, ns);
}

TEST(TimeText, Rfc3339MillisecondsAgainstGmtime) {
  EXPECT_EQ(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(rfc3339_ms(1764064800123), "2025-11-25T10:00:00.123Z");
  EXPECT_EQ(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
  // Every day of the ns range's years against gmtime: leap years, centuries, 2000, before 1970.
  for (std::int64_t day = -106751; day <= 106750; day += 1) {
    std::int64_t secs = day * 86400 + 45296;  // 12:34:56
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char want[96];  // sized for any int fields, so GCC can prove no truncation
    std::snprintf(want, sizeof want, "%04d-%02d-%02dT12:34:56.007Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    ASSERT_EQ(rfc3339_ms(secs * 1000 + 7), want) << day;
  }
  EXPECT_EQ(rfc3339_ns(1764064800123000001), "2025-11-25T10:00:00.123000001Z");
  EXPECT_EQ(rfc3339_ns(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(rfc3339_ns(INT64_MIN), "1677-09-21T00:12:43.145224192Z");
  EXPECT_EQ(rfc3339_ns(INT64_MAX), "2262-04-11T23:47:16.854775807Z");
  // Beyond RFC 3339's years the year is written as it is, without overflow.
  EXPECT_EQ(rfc3339_ms(INT64_MIN).substr(0, 1), "-");
  EXPECT_EQ(rfc3339_ms(INT64_MAX).back(), 'Z');
}

TEST(TimeText, FormatsBefore1970AndLeapDays) {
  EXPECT_EQ(rfc3339_ms(-86400000), "1969-12-31T00:00:00.000Z");
  EXPECT_EQ(rfc3339_ms(-1000), "1969-12-31T23:59:59.000Z");
  EXPECT_EQ(rfc3339_ms(951782400000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(rfc3339_ms(1709208000000), "2024-02-29T12:00:00.000Z");
  EXPECT_EQ(rfc3339_ms(-2203891200000), "1900-03-01T00:00:00.000Z");  // 1900 has no 29 February
  EXPECT_EQ(rfc3339_ns(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(rfc3339_ns(1000000), "1970-01-01T00:00:00.001Z");  // a whole millisecond: three digits
  EXPECT_EQ(rfc3339_ns(1), "1970-01-01T00:00:00.000000001Z");
  EXPECT_EQ(rfc3339_ns(-1000000), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(rfc3339_ns(-1000001), "1969-12-31T23:59:59.998999999Z");
  EXPECT_EQ(rfc3339_ns(951782400000000500), "2000-02-29T00:00:00.000000500Z");
  std::string out = "t=";
  append_rfc3339_ns(out, 1500000);
  EXPECT_EQ(out, "t=1970-01-01T00:00:00.001500000Z");
}

TEST(TimeText, ParsesFractionsZonesAndTheEdgesOfTheRange) {
  EXPECT_EQ(parsed("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parsed("1970-01-01T00:00:00.1Z"), 100000000);
  EXPECT_EQ(parsed("1970-01-01T00:00:00.000000001Z"), 1);
  EXPECT_EQ(parsed("1970-01-01T00:00:00.1234567891Z"), 123456789);  // digits past the ninth are dropped
  EXPECT_EQ(parsed("1970-01-01t00:00:00z"), 0);                     // lower-case T and Z
  EXPECT_EQ(parsed("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(parsed("1969-12-31T23:30:00-00:30"), 0);
  EXPECT_EQ(parsed("1970-01-01T00:00:00-00:00"), 0);
  EXPECT_EQ(parsed("1969-12-31T23:59:59.5Z"), -s1 / 2);
  EXPECT_EQ(parsed("1969-12-31T23:59:59.999999999Z"), -1);
  EXPECT_EQ(parsed("1900-03-01T00:00:00Z"), -2203891200 * s1);
  EXPECT_EQ(parsed("2000-02-29T00:00:00Z"), 951782400 * s1);
  EXPECT_EQ(parsed("2024-02-29T12:00:00.000Z"), 1709208000 * s1);
  EXPECT_EQ(parsed("2016-12-31T23:59:60Z"), parsed("2016-12-31T23:59:59Z"));  // a leap second is its :59
  EXPECT_EQ(parsed("1677-09-21T00:12:43.145224192Z"), INT64_MIN);
  EXPECT_EQ(parsed("2262-04-11T23:47:16.854775807Z"), INT64_MAX);
  EXPECT_TRUE(refused("1677-09-21T00:12:43.145224191Z"));
  EXPECT_TRUE(refused("2262-04-11T23:47:16.854775808Z"));
  EXPECT_TRUE(refused("1900-02-29T00:00:00Z"));
  EXPECT_TRUE(refused("2023-02-29T00:00:00Z"));
  EXPECT_TRUE(refused("2026-11-25T10:00:00"));  // a zone is required
  EXPECT_TRUE(refused("2026-11-25T10:00:00.Z"));
  EXPECT_TRUE(refused("2026-11-25 10:00:00Z"));
  EXPECT_TRUE(refused("2026-11-25T24:00:00Z"));
  EXPECT_TRUE(refused("2026-11-25T10:00:00+24:00"));
  EXPECT_TRUE(refused("2026-11-25T10:00:00+0100"));
  EXPECT_TRUE(refused("2026-11-25"));
  EXPECT_TRUE(refused(""));
}

TEST(TimeText, WhatIsWrittenIsReadBack) {
  for (std::int64_t ns : {INT64_MIN, INT64_MIN + 1, -s1 - 1, std::int64_t{-1}, std::int64_t{0}, std::int64_t{1},
                          std::int64_t{1764064800123000001}, std::int64_t{1764064800123000000}, INT64_MAX}) {
    EXPECT_EQ(parsed(rfc3339_ns(ns)), ns) << ns;
  }
}

TEST(TimeText, TimeBoundsAreRfc3339OrUnixMilliseconds) {
  std::int64_t ns = 7;
  ASSERT_TRUE(parse_time_bound("", INT64_MIN, ns));
  EXPECT_EQ(ns, INT64_MIN);
  ASSERT_TRUE(parse_time_bound("1000", 0, ns));
  EXPECT_EQ(ns, s1);
  ASSERT_TRUE(parse_time_bound("-5", 0, ns));
  EXPECT_EQ(ns, -5000000);
  ASSERT_TRUE(parse_time_bound("1970-01-01T00:00:01Z", 0, ns));
  EXPECT_EQ(ns, s1);
  ASSERT_TRUE(parse_time_bound("9223372036854", 0, ns));  // the last millisecond nanoseconds hold
  EXPECT_EQ(ns, 9223372036854000000);
  EXPECT_FALSE(parse_time_bound("9223372036855", 0, ns));
  EXPECT_FALSE(parse_time_bound("12abc", 0, ns));
  EXPECT_FALSE(parse_time_bound("1e3", 0, ns));
  EXPECT_FALSE(parse_time_bound("+5", 0, ns));
}

TEST(TimeText, DatesAndTimesOfTheDtdlSchemas) {
  EXPECT_TRUE(is_rfc3339_date("2024-02-29"));
  EXPECT_FALSE(is_rfc3339_date("2023-02-29"));
  EXPECT_FALSE(is_rfc3339_date("2024-02-29T00:00:00Z"));
  EXPECT_TRUE(is_rfc3339_time("23:59:60.5+05:30"));
  EXPECT_FALSE(is_rfc3339_time("23:59:60"));
  EXPECT_TRUE(is_rfc3339_date_time("2024-02-29t23:59:60Z"));
  EXPECT_FALSE(is_rfc3339_date_time("2024-02-29"));
}

TEST(TimeText, FloorToMilliseconds) {
  EXPECT_EQ(rfc3339_floor_ms(1999999), "1970-01-01T00:00:00.001Z");
  EXPECT_EQ(rfc3339_floor_ms(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(rfc3339_floor_ms(INT64_MIN), "1677-09-21T00:12:43.145Z");
}

}  // namespace
}  // namespace doppel
