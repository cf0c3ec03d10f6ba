#include "core/status.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstdio>
#include <ctime>

#include "core/text.h"

namespace doppel {
namespace {

result<int> parse_positive(int v) {
  if (v <= 0) return status::invalid_argument("must be positive");
  return v;
}

TEST(Status, OkByDefault) {
  status s;
  EXPECT_TRUE(s.is_ok());
  EXPECT_EQ(s.to_string(), "ok");
}

TEST(Status, CarriesCodeAndMessage) {
  status s = status::not_found("twin pump-1");
  EXPECT_FALSE(s);
  EXPECT_EQ(s.code(), status_code::not_found);
  EXPECT_EQ(s.to_string(), "not_found: twin pump-1");
}

TEST(Result, HoldsValueOrError) {
  auto good = parse_positive(3);
  ASSERT_TRUE(good);
  EXPECT_EQ(*good, 3);
  EXPECT_TRUE(good.error().is_ok());
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), status_code::invalid_argument);
}

TEST(Text, Utf8LengthCountsCodePoints) {
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("°C"), 2u);
  EXPECT_EQ(utf8_length("日本"), 2u);
}

TEST(Text, QuoteEscapesAndTruncates) {
  EXPECT_EQ(quote("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(quote("x\ny"), "\"x\\u000ay\"");
  EXPECT_EQ(quote("abcdef", 3), "\"abc...\"");
}

TEST(Text, Rfc3339Milliseconds) {
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

TEST(Text, ReadMissingFileIsIoError) {
  auto r = read_file("/nonexistent/doppel/file");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), status_code::io_error);
  EXPECT_NE(r.error().message().find("/nonexistent/doppel/file"), std::string::npos);
}

}  // namespace
}  // namespace doppel
