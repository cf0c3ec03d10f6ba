#include "core/status.h"

#include <gtest/gtest.h>

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

TEST(Text, ReadMissingFileIsIoError) {
  auto r = read_file("/nonexistent/doppel/file");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), status_code::io_error);
  EXPECT_NE(r.error().message().find("/nonexistent/doppel/file"), std::string::npos);
}

}  // namespace
}  // namespace doppel
