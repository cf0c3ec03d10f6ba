#include "ingest/line_protocol.h"

#include <gtest/gtest.h>

#include <string>

namespace doppel::ingest {
namespace {

struct parsed {
  std::string text;  // owns what the views point into
  lp_batch batch;
};

parsed parse(std::string text, precision unit = precision::ns) {
  parsed p{std::move(text), {}};
  parse_line_protocol(p.text, unit, p.batch);
  return p;
}

TEST(LineProtocol, MeasurementTagsFieldsAndTimestamp) {
  auto p =
      parse("pump,twin=pump-1,site=north speed=1450.5,running=true,count=42i,total=7u,note=\"ok\" 1700000000000000000");
  ASSERT_TRUE(p.batch.errors.empty()) << p.batch.errors[0].message;
  ASSERT_EQ(p.batch.points.size(), 1u);
  const lp_point& pt = p.batch.points[0];
  EXPECT_EQ(pt.measurement, "pump");
  EXPECT_EQ(p.batch.tag(pt, "twin"), "pump-1");
  EXPECT_EQ(p.batch.tag(pt, "site"), "north");
  ASSERT_EQ(pt.field_count, 5u);
  const lp_field* f = p.batch.fields_of(pt);
  EXPECT_EQ(f[0].key, "speed");
  EXPECT_EQ(f[0].type, field_type::float_);
  EXPECT_DOUBLE_EQ(f[0].f, 1450.5);
  EXPECT_EQ(f[1].type, field_type::boolean);
  EXPECT_EQ(f[1].i, 1);
  EXPECT_EQ(f[2].type, field_type::integer);
  EXPECT_EQ(f[2].i, 42);
  EXPECT_EQ(f[3].type, field_type::unsigned_);
  EXPECT_EQ(f[3].u, 7u);
  EXPECT_EQ(f[4].type, field_type::string);
  EXPECT_EQ(f[4].s, "ok");
  EXPECT_TRUE(pt.has_time);
  EXPECT_EQ(pt.time_ns, 1700000000000000000);
}

TEST(LineProtocol, EscapesAreRemovedInPlace) {
  auto p = parse(R"(my\ pump\,1,tag\ key=val\,ue\=x field\=key="say \"hi\" \\ there",b\ c=1)");
  ASSERT_TRUE(p.batch.errors.empty()) << p.batch.errors[0].message;
  const lp_point& pt = p.batch.points[0];
  EXPECT_EQ(pt.measurement, "my pump,1");
  EXPECT_EQ(p.batch.tags_of(pt)[0].key, "tag key");
  EXPECT_EQ(p.batch.tags_of(pt)[0].value, "val,ue=x");
  EXPECT_EQ(p.batch.fields_of(pt)[0].key, "field=key");
  EXPECT_EQ(p.batch.fields_of(pt)[0].s, R"(say "hi" \ there)");
  EXPECT_EQ(p.batch.fields_of(pt)[1].key, "b c");
  // A backslash before anything else is itself.
  auto q = parse(R"(m\x,t=a\b f="c:\dir")");
  ASSERT_TRUE(q.batch.errors.empty());
  EXPECT_EQ(q.batch.points[0].measurement, R"(m\x)");
  EXPECT_EQ(q.batch.tags_of(q.batch.points[0])[0].value, R"(a\b)");
  EXPECT_EQ(q.batch.fields_of(q.batch.points[0])[0].s, R"(c:\dir)");
}

TEST(LineProtocol, ValueForms) {
  auto p = parse("m a=1,b=-1.5e3,c=.5,d=T,e=False,f=FALSE,g=-9223372036854775808i,h=18446744073709551615u,i=\"\",j=+2");
  ASSERT_TRUE(p.batch.errors.empty()) << p.batch.errors[0].message;
  const lp_field* f = p.batch.fields_of(p.batch.points[0]);
  EXPECT_DOUBLE_EQ(f[0].f, 1);
  EXPECT_DOUBLE_EQ(f[1].f, -1500);
  EXPECT_DOUBLE_EQ(f[2].f, 0.5);
  EXPECT_EQ(f[3].i, 1);
  EXPECT_EQ(f[4].i, 0);
  EXPECT_EQ(f[5].i, 0);
  EXPECT_EQ(f[6].i, INT64_MIN);
  EXPECT_EQ(f[7].u, UINT64_MAX);
  EXPECT_EQ(f[8].type, field_type::string);
  EXPECT_EQ(f[8].s, "");
  EXPECT_DOUBLE_EQ(f[9].f, 2);
}

TEST(LineProtocol, ManyLinesCommentsBlankLinesAndCrlf) {
  auto p = parse("# a comment\n\nm a=1 10\r\n  \nm a=2 20\nm a=3");
  EXPECT_TRUE(p.batch.errors.empty());
  ASSERT_EQ(p.batch.points.size(), 3u);
  EXPECT_EQ(p.batch.lines, 3u);
  EXPECT_EQ(p.batch.points[0].line, 3u);
  EXPECT_EQ(p.batch.points[1].time_ns, 20);
  EXPECT_FALSE(p.batch.points[2].has_time);
}

TEST(LineProtocol, PrecisionScalesAndOverflowIsAnError) {
  auto p = parse("m a=1 1700000000\nm a=1 9300000000000", precision::s);
  ASSERT_EQ(p.batch.points.size(), 1u);
  EXPECT_EQ(p.batch.points[0].time_ns, 1700000000LL * 1000000000);
  ASSERT_EQ(p.batch.errors.size(), 1u);
  EXPECT_EQ(p.batch.errors[0].line, 2u);
  EXPECT_NE(p.batch.errors[0].message.find("out of range"), std::string::npos);
  precision u{};
  EXPECT_TRUE(parse_precision("ms", u));
  EXPECT_EQ(u, precision::ms);
  EXPECT_TRUE(parse_precision("u", u));
  EXPECT_EQ(u, precision::us);
  EXPECT_FALSE(parse_precision("days", u));
}

TEST(LineProtocol, BadLinesSayLineColumnAndWhyAndTheOthersCount) {
  struct tc {
    const char* line;
    std::uint32_t column;
    const char* says;
  };
  const tc cases[] = {
      {"m", 2, "expected a space"},
      {",t=1 a=1", 1, "no measurement"},
      {"m,t a=1", 4, "expected '='"},
      {"m,t= a=1", 5, "has no value"},
      {"m a", 4, "expected '='"},
      {"m a=", 5, "is missing"},
      {"m a=abc", 5, "is not a number"},
      {"m a=1.2.3", 5, "is not a number"},
      {"m a=nan", 5, "is not a number"},
      {"m a=12x", 5, "is not a number"},
      {"m a=1ii", 5, "is not an integer"},
      {"m a=99999999999999999999i", 5, "64-bit integer"},
      {"m a=-1u", 5, "not an unsigned"},
      {"m a=\"open", 10, "no closing"},
      {"m a=\"x\"y", 8, "after a field value"},
      {"m a=1 12:00", 7, "must be an integer"},
      {"m a=1 12 13", 10, "after the timestamp"},
      {"m a=1,", 7, "expected a field key"},
  };
  for (const auto& c : cases) {
    auto p = parse(std::string("ok a=1\n") + c.line + "\nok a=2");
    SCOPED_TRACE(c.line);
    EXPECT_EQ(p.batch.points.size(), 2u);
    ASSERT_EQ(p.batch.errors.size(), 1u);
    const lp_error& e = p.batch.errors[0];
    EXPECT_EQ(e.line, 2u);
    EXPECT_EQ(e.column, c.column) << e.message;
    EXPECT_NE(e.message.find(c.says), std::string::npos) << e.message;
    EXPECT_EQ(e.text, c.line);
  }
}

TEST(LineProtocol, ABadLineWithEscapesIsReportedAsSent) {
  auto p = parse(R"(my\ m,t=a\,b f=oops)");
  ASSERT_EQ(p.batch.errors.size(), 1u);
  EXPECT_EQ(p.batch.errors[0].text, R"(my\ m,t=a\,b f=oops)");
  EXPECT_TRUE(p.batch.tags.empty());  // what the bad line added is taken back
}

TEST(LineProtocol, ABatchIsReusable) {
  lp_batch batch;
  for (int round = 0; round < 3; ++round) {
    std::string text = "m,twin=t" + std::to_string(round) + " a=1\nbad\n";
    batch.clear();
    parse_line_protocol(text, precision::ns, batch);
    ASSERT_EQ(batch.points.size(), 1u);
    EXPECT_EQ(batch.tag(batch.points[0], "twin"), "t" + std::to_string(round));
    EXPECT_EQ(batch.errors.size(), 1u);
  }
}

}  // namespace
}  // namespace doppel::ingest
