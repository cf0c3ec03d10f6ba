#include "core/json_input.h"

#include <gtest/gtest.h>

#include <string>

namespace doppel {
namespace {

std::string nested(std::size_t levels) { return std::string(levels, '[') + std::string(levels, ']'); }

TEST(json_input, DepthLimitCountsObjectsAndArraysNotBracketsInStrings) {
  EXPECT_TRUE(check_json_text(nested(k_max_json_depth)).ok());
  json_check deep = check_json_text(nested(k_max_json_depth + 1));
  EXPECT_EQ(deep.kind, json_refusal::too_deep);
  EXPECT_EQ(deep.offset, k_max_json_depth);
  EXPECT_EQ(to_string(deep.kind), "too_deep");
  EXPECT_NE(deep.message.find("at byte 64"), std::string::npos) << deep.message;
  // Brackets inside strings, escaped quotes included, do not count.
  EXPECT_TRUE(check_json_text(R"({"a": "[[[[[[\"[[[[", "b": [1]})", 2).ok());
  EXPECT_EQ(check_json_text(R"({"a": {"b": [1]}})", 2).kind, json_refusal::too_deep);
  // A million levels are refused without recursion.
  EXPECT_EQ(check_json_text(nested(1000000)).kind, json_refusal::too_deep);
}

TEST(json_input, Utf8FollowsRfc3629) {
  EXPECT_EQ(find_invalid_utf8("plain ascii, long enough for the word loop"), std::string_view::npos);
  EXPECT_TRUE(is_valid_utf8("\xc3\xbc \xe2\x82\xac \xf0\x9f\x98\x80"));  // ü € 😀
  EXPECT_EQ(find_invalid_utf8("ab\xff\xfe"), 2u);
  EXPECT_EQ(find_invalid_utf8("\xc0\xae"), 0u);          // overlong '.'
  EXPECT_EQ(find_invalid_utf8("x\xed\xa0\x80"), 1u);     // a surrogate
  EXPECT_EQ(find_invalid_utf8("\xf4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(find_invalid_utf8("abcdefgh\xe2\x82"), 8u);  // cut short
  EXPECT_EQ(find_invalid_utf8("abcdefghij\x80"), 10u);   // a lone continuation byte
  json_check c = check_json_text("{\"a\": \"\xff\"}");
  EXPECT_EQ(c.kind, json_refusal::invalid_utf8);
  EXPECT_EQ(c.offset, 7u);
}

TEST(json_input, ParseCatchesEveryFailureWithItsPlace) {
  json_check why;
  auto big = parse_json(R"({"x": 1e400})", &why);
  ASSERT_FALSE(big);
  EXPECT_EQ(why.kind, json_refusal::number_out_of_range);
  EXPECT_EQ(why.offset, 6u);
  EXPECT_NE(big.error().message().find("at byte 6"), std::string::npos) << big.error().message();
  EXPECT_EQ(parse_json(R"([-1e400])", &why).is_ok(), false);
  EXPECT_EQ(why.kind, json_refusal::number_out_of_range);
  auto bad = parse_json(R"({"x": tru})", &why);
  ASSERT_FALSE(bad);
  EXPECT_EQ(why.kind, json_refusal::malformed);
  EXPECT_NE(bad.error().message().find("at byte"), std::string::npos);
  EXPECT_EQ(parse_json(nested(100000), &why).is_ok(), false);
  EXPECT_EQ(why.kind, json_refusal::too_deep);
  EXPECT_FALSE(parse_json("\"\\udc00\"", &why));  // a lone surrogate escape
  auto ok = parse_json(R"({"x": [1, 2.5, "y", null, 1e-400]})", &why);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_TRUE(why.ok());
  EXPECT_EQ((*ok)["x"][1], 2.5);
  EXPECT_EQ((*ok)["x"][4], 0.0);  // underflow is zero, as strtod has it
}

TEST(json_input, LeadingByteOrderMarkIsSkippedAndOffsetsStillCountIt) {
  const std::string bom = "\xEF\xBB\xBF";
  EXPECT_EQ(utf8_bom_size(bom + "{}"), 3u);
  EXPECT_EQ(utf8_bom_size("{}"), 0u);
  EXPECT_EQ(utf8_bom_size("\xEF\xBB"), 0u);  // a cut-short mark is not one
  EXPECT_EQ(skip_utf8_bom(bom + "[1]"), "[1]");
  EXPECT_EQ(skip_utf8_bom("[1]"), "[1]");

  json_check why;
  auto ok = parse_json(bom + R"({"a": [1, "\u00fc"]})", &why);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ((*ok)["a"][0], 1);
  // Errors point at the same byte of the file as they would without the mark, plus its 3 bytes.
  ASSERT_FALSE(parse_json(R"({"x": tru})", &why));
  std::size_t plain = why.offset;
  auto bad = parse_json(bom + R"({"x": tru})", &why);
  ASSERT_FALSE(bad);
  EXPECT_EQ(why.kind, json_refusal::malformed);
  EXPECT_EQ(why.offset, plain + 3);
  auto big = parse_json(bom + R"({"x": 1e400})", &why);
  ASSERT_FALSE(big);
  EXPECT_EQ(why.offset, 9u);
  EXPECT_NE(big.error().message().find("at byte 9"), std::string::npos) << big.error().message();
  json_check deep = check_json_text(bom + nested(k_max_json_depth + 1));
  EXPECT_EQ(deep.kind, json_refusal::too_deep);
  EXPECT_EQ(deep.offset, k_max_json_depth + 3);
  // Only one mark, only at the start: a second one, or one later in the text, is not JSON.
  EXPECT_FALSE(parse_json(bom + bom + "{}", &why));
  EXPECT_EQ(why.offset, 3u);
  EXPECT_FALSE(parse_json("{}" + bom, &why));
  EXPECT_FALSE(parse_json(bom, &why));  // nothing after the mark
}

}  // namespace
}  // namespace doppel
