#include "model/detail/json_doc.h"

#include <gtest/gtest.h>

#include <string>

namespace doppel::model::detail {
namespace {

// A parse result that reads like a pointer to its root (and keeps the arena the tree lives in).
struct parsed {
  json_parse_result result;
  const jnode* operator->() const { return result.root.get(); }
  explicit operator bool() const { return result.root != nullptr; }
};

parsed parse_ok(std::string_view text) {
  json_parse_result r = parse_json(text);
  EXPECT_TRUE(r.root) << "unexpected error: " << r.error.message << " at " << r.error.line << ":" << r.error.column;
  return {std::move(r)};
}

json_error parse_bad(std::string_view text, std::uint32_t max_depth = 64) {
  json_parse_result r = parse_json(text, max_depth);
  EXPECT_FALSE(r.root) << "parsed although it should not: " << text;
  EXPECT_FALSE(r.error.message.empty());
  return r.error;
}

TEST(JsonDoc, ParsesAllKinds) {
  auto root = parse_ok(R"({"n": null, "t": true, "f": false, "i": -42, "big": 9223372036854775807,
                           "huge": 18446744073709551615, "d": 1.5, "s": "x\u00e9\n", "a": [1, "2"], "o": {}})");
  ASSERT_TRUE(root);
  ASSERT_TRUE(root->is_object());
  EXPECT_EQ(root->members.size(), 10u);
  EXPECT_EQ(root->find("n")->type, jnode::kind::null);
  EXPECT_TRUE(root->find("t")->boolean);
  EXPECT_FALSE(root->find("f")->boolean);
  EXPECT_EQ(root->find("i")->integer, -42);
  EXPECT_TRUE(root->find("i")->is_integer());
  EXPECT_EQ(root->find("big")->integer, INT64_MAX);
  EXPECT_EQ(root->find("huge")->type, jnode::kind::number);  // beyond int64: a double
  EXPECT_DOUBLE_EQ(root->find("d")->number, 1.5);
  EXPECT_EQ(root->find("s")->text, "x\xc3\xa9\n");
  EXPECT_EQ(root->find("a")->items.size(), 2u);
  EXPECT_TRUE(root->find("o")->is_object());
  EXPECT_EQ(root->find("missing"), nullptr);
}

TEST(JsonDoc, KeepsMemberOrder) {
  auto root = parse_ok(R"({"z": 1, "a": 2, "m": 3})");
  ASSERT_TRUE(root);
  ASSERT_EQ(root->members.size(), 3u);
  EXPECT_EQ(root->members[0].key, "z");
  EXPECT_EQ(root->members[1].key, "a");
  EXPECT_EQ(root->members[2].key, "m");
}

TEST(JsonDoc, RecordsLineAndColumnOfEachValue) {
  std::string text =
      "{\n"
      "  \"a\": 1,\n"
      "  \"b\" :  [true,\n"
      "\t\"x\", {\"c\": null}],\n"
      "  \"d\":\"s\"\n"
      "}";
  auto root = parse_ok(text);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->line, 1u);
  EXPECT_EQ(root->column, 1u);
  const jnode* a = root->find("a");
  EXPECT_EQ(a->line, 2u);
  EXPECT_EQ(a->column, 8u);
  const jnode* b = root->find("b");
  EXPECT_EQ(b->line, 3u);
  EXPECT_EQ(b->column, 10u);
  EXPECT_EQ(b->items[0].line, 3u);
  EXPECT_EQ(b->items[0].column, 11u);
  EXPECT_EQ(b->items[1].line, 4u);
  EXPECT_EQ(b->items[1].column, 2u);  // columns count bytes; a tab is one
  EXPECT_EQ(b->items[2].line, 4u);
  EXPECT_EQ(b->items[2].column, 7u);
  EXPECT_EQ(b->items[2].find("c")->column, 13u);
  const jnode* d = root->find("d");
  EXPECT_EQ(d->line, 5u);
  EXPECT_EQ(d->column, 7u);
}

TEST(JsonDoc, FirstItemAfterABracketOnItsOwnLine) {
  // The first value inside [ or { is located at itself, not at the bracket.
  auto root = parse_ok("{\"contents\": [\n    {\"x\": [\n      1]}\n]}");
  ASSERT_TRUE(root);
  const jnode& item = root->find("contents")->items[0];
  EXPECT_EQ(item.line, 2u);
  EXPECT_EQ(item.column, 5u);
  EXPECT_EQ(item.find("x")->items[0].line, 3u);
  EXPECT_EQ(item.find("x")->items[0].column, 7u);
}

TEST(JsonDoc, RecordsByteOffsetsOfValues) {
  std::string text = R"({"a": {"b": [1, 2]}, "c": "xyz"})";
  auto root = parse_ok(text);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->offset, 0u);
  EXPECT_EQ(root->end, text.size());
  const jnode* a = root->find("a");
  EXPECT_EQ(text.substr(a->offset, a->end - a->offset), R"({"b": [1, 2]})");
  const jnode* c = root->find("c");
  EXPECT_EQ(text.substr(c->offset, c->end - c->offset), R"("xyz")");
}

TEST(JsonDoc, ColumnsCountBytesAfterMultibyteText) {
  auto root = parse_ok("{\"\xc3\xa9\": \"\xc3\xa9\", \"b\": 1}");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->find("b")->column, 19u);
}

TEST(JsonDoc, HandlesCrLfLineEnds) {
  auto root = parse_ok("{\r\n  \"a\": 1,\r\n  \"b\": 2\r\n}\r\n");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->find("b")->line, 3u);
  EXPECT_EQ(root->find("b")->column, 8u);
}

TEST(JsonDoc, RejectsDuplicateKeys) {
  json_error e = parse_bad("{\n  \"a\": 1,\n  \"a\": 2\n}");
  EXPECT_NE(e.message.find("duplicate key a"), std::string::npos) << e.message;
  EXPECT_EQ(e.line, 3u);
  EXPECT_EQ(e.column, 3u);
}

TEST(JsonDoc, SameKeyInDifferentObjectsIsFine) {
  auto root = parse_ok(R"({"a": {"a": 1}, "b": {"a": 2}, "c": [{"a": 1}, {"a": 2}]})");
  ASSERT_TRUE(root);
}

TEST(JsonDoc, RejectsDuplicateKeysInNestedObjects) {
  json_error e = parse_bad(R"({"x": [{"k": 1, "k": 2}]})");
  EXPECT_NE(e.message.find("duplicate"), std::string::npos);
  EXPECT_EQ(e.line, 1u);
  EXPECT_EQ(e.column, 17u);
}

TEST(JsonDoc, RejectsInvalidUtf8) {
  json_error e = parse_bad("{\"a\": \"ok\",\n \"b\": \"\xff\xfe\"}");
  EXPECT_NE(e.message.find("invalid JSON"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("UTF-8"), std::string::npos) << e.message;
  EXPECT_EQ(e.line, 2u);
  EXPECT_EQ(e.column, 8u);
  parse_bad("[\"\xed\xa0\x80\"]");      // an encoded surrogate
  parse_bad("[\"\xf4\x90\x80\x80\"]");  // above U+10FFFF
  parse_bad("[\"\xe0\x80\x80\"]");      // overlong
  parse_bad("[\"\xe2\x82\"]");          // cut short
  parse_bad("[\"\\ud800\"]");           // a lone surrogate escape
  EXPECT_TRUE(parse_ok("[\"\xf4\x8f\xbf\xbf\", \"\xe2\x82\xac\", \"\xf0\x9f\x98\x80\"]"));
  EXPECT_TRUE(parse_ok("{\"\xc3\xa9t\xc3\xa9\": \"\\u00e9\\ud83d\\ude00\"}"));
  json_error e2 = parse_bad("[\"\xc3\"]");  // truncated sequence
  EXPECT_EQ(e2.line, 1u);
  json_error e3 = parse_bad("[\"\xc0\xaf\"]");  // overlong encoding
  EXPECT_EQ(e3.line, 1u);
}

TEST(JsonDoc, RejectsTrailingGarbage) {
  json_error e = parse_bad("{\"a\": 1}\n  x");
  EXPECT_NE(e.message.find("after the end"), std::string::npos) << e.message;
  EXPECT_EQ(e.line, 2u);
  EXPECT_EQ(e.column, 3u);
  parse_bad("{} {}");
  parse_bad("[1]]");
  json_error nul = parse_bad(std::string_view("{}\0{}", 5));
  EXPECT_EQ(nul.column, 3u);
}

TEST(JsonDoc, AllowsTrailingWhitespace) {
  EXPECT_TRUE(parse_ok("{}\n\t \r\n"));
  EXPECT_TRUE(parse_ok("  \n[1]"));
}

TEST(JsonDoc, RejectsEmptyInput) {
  json_error e = parse_bad("");
  EXPECT_EQ(e.line, 1u);
  EXPECT_EQ(e.column, 1u);
  json_error ws = parse_bad("  \n  ");
  EXPECT_EQ(ws.line, 2u);
}

TEST(JsonDoc, RejectsSyntaxErrorsWithPosition) {
  json_error e = parse_bad("{\n  \"a\": 1,\n  \"b\": tru\n}");
  EXPECT_NE(e.message.find("invalid JSON"), std::string::npos);
  EXPECT_EQ(e.line, 3u);
  parse_bad("{\"a\": 1,}");  // trailing comma
  parse_bad("{'a': 1}");     // single quotes
  parse_bad("{\"a\": 01}");  // leading zero
  parse_bad("// c\n{}");     // comments
  parse_bad("{\"a\": NaN}");
  parse_bad("[\"\\x\"]");  // bad escape
  parse_bad("{\"a\" 1}");
  parse_bad("[1, 2");
}

TEST(JsonDoc, DepthLimit) {
  auto nested = [](std::size_t n) { return std::string(n, '[') + std::string(n, ']'); };
  EXPECT_TRUE(parse_json(nested(10), 10).root);
  json_error e = parse_bad(nested(11), 10);
  EXPECT_NE(e.message.find("deeper than 10"), std::string::npos) << e.message;
  EXPECT_EQ(e.line, 1u);
  EXPECT_EQ(e.column, 11u);
  EXPECT_TRUE(parse_json(nested(64)).root);
  parse_bad(nested(65));
  // Deep input must not exhaust the stack either.
  parse_bad(nested(100000));
}

TEST(JsonDoc, ScalarRootsAreParsed) {
  auto s = parse_ok("\"x\"");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->is_string());
  auto n = parse_ok(" 12 ");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->integer, 12);
  EXPECT_EQ(n->column, 2u);
}

TEST(JsonDoc, KindNames) {
  EXPECT_EQ(kind_name(jnode::kind::object), "object");
  EXPECT_EQ(kind_name(jnode::kind::array), "array");
  EXPECT_EQ(kind_name(jnode::kind::string), "string");
  EXPECT_EQ(kind_name(jnode::kind::integer), "integer");
  EXPECT_EQ(kind_name(jnode::kind::number), "number");
  EXPECT_EQ(kind_name(jnode::kind::boolean), "boolean");
  EXPECT_EQ(kind_name(jnode::kind::null), "null");
}

}  // namespace
}  // namespace doppel::model::detail
