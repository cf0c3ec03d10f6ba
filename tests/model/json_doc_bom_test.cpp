// Model files that start with a UTF-8 byte order mark, as every file of the published DTDL
// ontologies for Azure Digital Twins does (core/json_input.h).
#include "model/detail/json_doc.h"

#include <gtest/gtest.h>

#include <string>

namespace doppel::model::detail {
namespace {

const std::string k_bom = "\xEF\xBB\xBF";

TEST(JsonDocBom, LeadingByteOrderMarkIsSkipped) {
  std::string text = k_bom + "{\n  \"a\": [1, 2],\n  \"b\": \"x\"\n}\n";
  json_parse_result r = parse_json(text);
  ASSERT_TRUE(r.root) << r.error.message << " at " << r.error.line << ":" << r.error.column;
  ASSERT_TRUE(r.root->is_object());
  // The mark takes no column (editors hide it); byte offsets still count it.
  EXPECT_EQ(r.root->line, 1u);
  EXPECT_EQ(r.root->column, 1u);
  EXPECT_EQ(r.root->offset, 3u);
  EXPECT_EQ(r.root->end, text.size() - 1);
  const jnode* b = r.root->find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->line, 3u);
  EXPECT_EQ(b->column, 8u);
  EXPECT_EQ(text.substr(b->offset, b->end - b->offset), "\"x\"");
}

TEST(JsonDocBom, ErrorsAfterTheMarkKeepTheirLineAndColumn) {
  json_parse_result first = parse_json(k_bom + "{\"a\": tru}");
  ASSERT_FALSE(first.root);
  json_parse_result plain = parse_json("{\"a\": tru}");
  EXPECT_EQ(first.error.line, plain.error.line);
  EXPECT_EQ(first.error.column, plain.error.column);
  json_parse_result later = parse_json(k_bom + "{\n  \"a\": 1,\n  \"a\": 2\n}");
  ASSERT_FALSE(later.root);
  EXPECT_EQ(later.error.line, 3u);
  EXPECT_EQ(later.error.column, 3u);
}

TEST(JsonDocBom, OnlyOneMarkAndOnlyAtTheStart) {
  EXPECT_FALSE(parse_json(k_bom + k_bom + "{}").root);
  EXPECT_FALSE(parse_json("{}" + k_bom).root);
  EXPECT_FALSE(parse_json(" " + k_bom + "{}").root);
  json_parse_result empty = parse_json(k_bom);
  ASSERT_FALSE(empty.root);
  EXPECT_EQ(empty.error.line, 1u);
  EXPECT_EQ(empty.error.column, 1u);
}

}  // namespace
}  // namespace doppel::model::detail
