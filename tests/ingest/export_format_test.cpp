// The export formats: line protocol that the /write parser reads back to the same values, CSV
// that csv_reader reads back to the same values in pieces of any size, and the reader's errors.
#include "ingest/export_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ingest/line_protocol.h"

namespace doppel::ingest {
namespace {

history_value f64(double v) {
  history_value h;
  h.type = ts::value_type::f64;
  h.f = v;
  return h;
}
history_value i64(std::int64_t v) {
  history_value h;
  h.type = ts::value_type::i64;
  h.i = v;
  return h;
}
history_value boolean(bool v) {
  history_value h;
  h.type = ts::value_type::boolean;
  h.i = v;
  return h;
}
history_value str(std::string v) {
  history_value h;
  h.type = ts::value_type::string;
  h.s = std::move(v);
  return h;
}

bool same(const history_value& a, const history_value& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case ts::value_type::f64: return std::signbit(a.f) == std::signbit(b.f) && a.f == b.f;
    case ts::value_type::i64:
    case ts::value_type::boolean: return a.i == b.i;
    case ts::value_type::string: return a.s == b.s;
  }
  return false;
}

struct point {
  std::string twin, name;
  std::int64_t t;
  history_value v;
};

std::vector<point> sample_points() {
  return {
      {"pump-1", "speed", 1764064800000000000, f64(1450.5)},
      {"pump-1", "speed", 1764064800000000001, f64(0.1)},
      {"pump-1", "speed", 1, f64(5.0)},
      {"pump-1", "speed", -5, f64(-0.0)},
      {"pump-1", "speed", 7, f64(1e300)},
      {"pump-1", "speed", 8, f64(std::numeric_limits<double>::denorm_min())},
      {"pump-1", "speed", 9, f64(1.0 / 3)},
      {"a b,c=d\te\"f\\g", "motor.power", 10, f64(2)},
      {"x", "n", 11, i64(std::numeric_limits<std::int64_t>::min())},
      {"x", "n", 12, i64(9007199254740993)},
      {"x", "b", 13, boolean(true)},
      {"x", "b", 14, boolean(false)},
      {"x", "s", 15, str("say \"hi\", \\ back\\")},
      {"x", "s", 16, str("")},
      {"x", "s", 17, str("ünïcødé, tab\tcr\r")},
      {"\\lead", "s", 18, str("true")},
      {"x", "s", 19, str("42")},
  };
}

TEST(ExportFormat, LineProtocolReadsBackToTheSameValues) {
  std::string lp;
  auto pts = sample_points();
  for (const auto& p : pts) ASSERT_TRUE(line_protocol_line(lp, p.twin, p.name, p.t, p.v)) << p.twin;
  std::string text = lp;
  lp_batch batch;
  parse_line_protocol(text, precision::ns, batch);
  ASSERT_TRUE(batch.errors.empty()) << batch.errors[0].message << "\n" << lp;
  ASSERT_EQ(batch.points.size(), pts.size());
  for (std::size_t k = 0; k < pts.size(); ++k) {
    const lp_point& p = batch.points[k];
    SCOPED_TRACE(pts[k].twin + " " + pts[k].name);
    EXPECT_EQ(p.measurement, "doppel");
    EXPECT_EQ(batch.tag(p, "twin"), pts[k].twin);
    ASSERT_EQ(p.field_count, 1u);
    const lp_field& f = batch.fields_of(p)[0];
    EXPECT_EQ(f.key, pts[k].name);
    EXPECT_EQ(p.time_ns, pts[k].t);
    history_value back;
    switch (f.type) {
      case field_type::float_: back = f64(f.f); break;
      case field_type::integer: back = i64(f.i); break;
      case field_type::boolean: back = boolean(f.i != 0); break;
      case field_type::string: back = str(std::string(f.s)); break;
      case field_type::unsigned_: FAIL(); break;
    }
    EXPECT_TRUE(same(back, pts[k].v)) << lp;
  }
  // The shortest forms, exactly.
  std::string one;
  ASSERT_TRUE(line_protocol_line(one, "a b,c=d", "speed", 5, f64(0.1)));
  EXPECT_EQ(one, "doppel,twin=a\\ b\\,c\\=d speed=0.1 5\n");
  one.clear();
  ASSERT_TRUE(line_protocol_line(one, "x", "s", -1, str("q\"\\")));
  EXPECT_EQ(one, "doppel,twin=x s=\"q\\\"\\\\\" -1\n");
}

TEST(ExportFormat, LineProtocolRefusesWhatItCannotCarry) {
  std::string out = "keep";
  EXPECT_FALSE(line_protocol_line(out, "ends\\", "x", 1, f64(1)));
  EXPECT_FALSE(line_protocol_line(out, "new\nline", "x", 1, f64(1)));
  EXPECT_FALSE(line_protocol_line(out, "x", "x", 1, str("two\nlines")));
  EXPECT_FALSE(line_protocol_line(out, "x", "x", 1, f64(std::nan(""))));
  EXPECT_EQ(out, "keep");
  ts::column_batch b;
  b.type = ts::value_type::string;
  b.t = {1, 2};
  b.s = {"fine", "not\nfine"};
  std::string lp;
  EXPECT_EQ(append_line_protocol(lp, "x", "s", b), 1u);
  EXPECT_EQ(lp.substr(0, lp.find('\n') + 1), "doppel,twin=x s=\"fine\" 1\n");
  EXPECT_EQ(lp.substr(lp.find('\n') + 1, 30), "# line protocol cannot carry t");
  EXPECT_EQ(std::count(lp.begin(), lp.end(), '\n'), 2);
}

// Every sample point through CSV and back, fed to the reader in pieces of every size.
TEST(ExportFormat, CsvReadsBackInPiecesOfAnySize) {
  std::string csv(csv_header);
  auto pts = sample_points();
  for (const auto& p : pts) {
    ts::column_batch b;
    b.type = p.v.type;
    b.t = {p.t};
    switch (p.v.type) {
      case ts::value_type::f64: b.f = {p.v.f}; break;
      case ts::value_type::i64: b.i = {p.v.i}; break;
      case ts::value_type::boolean: b.b = {static_cast<std::uint8_t>(p.v.i)}; break;
      case ts::value_type::string: b.s = {p.v.s}; break;
    }
    append_csv(csv, p.twin, p.name, b);
  }
  EXPECT_NE(csv.find("\npump-1,speed,2025-11-25T10:00:00.000Z,1450.5\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\npump-1,speed,1970-01-01T00:00:00.000000001Z,5.0\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",-0.0\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",1e+300\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\n\"a b,c=d\te\"\"f\\g\",motor.power,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",\"say \"\"hi\"\", \\ back\\\"\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",9007199254740993\n"), std::string::npos) << csv;
  for (std::size_t piece : {std::size_t(1), std::size_t(2), std::size_t(3), std::size_t(7), csv.size()}) {
    SCOPED_TRACE("pieces of " + std::to_string(piece));
    csv_reader reader;
    std::vector<csv_point> got;
    std::vector<csv_error> errors;
    std::string buf;
    for (std::size_t at = 0; at < csv.size(); at += piece) {
      buf += csv.substr(at, piece);
      buf.erase(0, reader.read(buf, false, got, errors));
    }
    buf.erase(0, reader.read(buf, true, got, errors));
    EXPECT_TRUE(buf.empty());
    ASSERT_TRUE(errors.empty()) << errors[0].line << ": " << errors[0].message;
    ASSERT_EQ(got.size(), pts.size());
    for (std::size_t k = 0; k < pts.size(); ++k) {
      EXPECT_EQ(got[k].twin, pts[k].twin);
      EXPECT_EQ(got[k].name, pts[k].name);
      EXPECT_EQ(got[k].time_ns, pts[k].t);
      EXPECT_TRUE(same(got[k].value, pts[k].v)) << got[k].twin << " " << got[k].name << " line " << got[k].line;
    }
    EXPECT_EQ(reader.rows(), pts.size());
  }
}

TEST(ExportFormat, CsvAsSpreadsheetsSaveIt) {
  // A byte order mark, CRLF, columns in another order and capitalized, a quoted newline,
  // TRUE, Unix milliseconds, an unquoted word and a blank line.
  std::string csv =
      "\xEF\xBB\xBFValue,Time,Twin,Name\r\n"
      "1.5,2026-11-25T10:00:00Z,pump-1,speed\r\n"
      "TRUE,1764064800000,pump-1,running\r\n"
      "\r\n"
      "\"two\r\nlines\",2026-11-25T10:00:00.5+01:00,\"pump,2\",note\r\n"
      "auto,2026-11-25T10:00:00Z,pump-1,mode\r\n"
      "  7 ,2026-11-25T10:00:00Z,pump-1,count";
  csv_reader reader;
  std::vector<csv_point> got;
  std::vector<csv_error> errors;
  EXPECT_EQ(reader.read(csv, true, got, errors), csv.size());
  ASSERT_TRUE(errors.empty()) << errors[0].line << ": " << errors[0].message;
  ASSERT_EQ(got.size(), 5u);
  EXPECT_TRUE(same(got[0].value, f64(1.5)));
  EXPECT_EQ(got[0].time_ns, 1795600800000000000);
  EXPECT_TRUE(same(got[1].value, boolean(true)));
  EXPECT_EQ(got[1].time_ns, 1764064800000000000);
  EXPECT_EQ(got[2].twin, "pump,2");
  EXPECT_TRUE(same(got[2].value, str("two\r\nlines")));
  EXPECT_EQ(got[2].line, 5u);
  EXPECT_EQ(got[2].time_ns, 1795600800000000000 - 3600000000000 + 500000000);
  EXPECT_TRUE(same(got[3].value, str("auto")));
  EXPECT_EQ(got[3].line, 7u);
  EXPECT_TRUE(same(got[4].value, i64(7)));
}

TEST(ExportFormat, CsvErrorsNameTheLineAndTheRestIsRead) {
  std::string csv =
      "twin,name,time,value\n"
      "pump-1,speed,yesterday,1\n"                                // 2: time
      "pump-1,speed,2026-11-25T10:00:00Z\n"                       // 3: three fields
      "pump-1,speed,2026-11-25T10:00:00Z,\n"                      // 4: empty value
      ",speed,2026-11-25T10:00:00Z,1\n"                           // 5: no twin
      "pump-1,speed,2026-11-25T10:00:00Z,\"a\"b\n"                // 6: text after a closing quote
      "pump-1,speed,2026-11-25T10:00:00Z,99999999999999999999\n"  // 7: too big
      "pump-1,speed,2026-11-25T10:00:01Z,2\n"                     // 8: fine
      "pump-\xff,speed,2026-11-25T10:00:01Z,\"\x9f\"\n"           // 9: not UTF-8 (fuzz_export, issue 19)
      "pump-1,speed,2026-11-25T10:00:02Z,\"never closed\n3\n";
  csv_reader reader;
  std::vector<csv_point> got;
  std::vector<csv_error> errors;
  reader.read(csv, true, got, errors);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].line, 8u);
  ASSERT_EQ(errors.size(), 8u);
  std::vector<std::uint32_t> lines;
  for (const auto& e : errors) lines.push_back(e.line);
  EXPECT_EQ(lines, (std::vector<std::uint32_t>{2, 3, 4, 5, 6, 7, 9, 10}));
  EXPECT_NE(errors[6].message.find("field 1 is not valid UTF-8"), std::string::npos) << errors[6].message;
  EXPECT_NE(errors[0].message.find("RFC 3339"), std::string::npos) << errors[0].message;
  EXPECT_NE(errors[1].message.find("3 field(s), but the header names 4"), std::string::npos) << errors[1].message;
  EXPECT_NE(errors[7].message.find("not closed"), std::string::npos) << errors[7].message;

  // After a wrong header nothing more is read or reported, however the input is cut (fuzz_export).
  for (std::string header : {"twin,name,when,value\nx,y,1,2\n", "twin,name,time\n", "twin,twin,time,value\n",
                             "twin,name,when,value\nx,\"never closed\n"}) {
    csv_reader r;
    std::vector<csv_point> p;
    std::vector<csv_error> e;
    r.read(header, true, p, e);
    ASSERT_EQ(e.size(), 1u) << header;
    EXPECT_EQ(e[0].line, 1u);
    EXPECT_NE(e[0].message.find("twin,name,time,value"), std::string::npos) << e[0].message;
    EXPECT_TRUE(p.empty());
  }
}

}  // namespace
}  // namespace doppel::ingest
