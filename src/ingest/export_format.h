// The text forms of telemetry history that `GET /telemetry/export` writes and `doppel import`
// reads back, one point per line or row:
//
//   line protocol:  doppel,twin=pump-1 speed=1450.5 1764064800000000000
//   CSV:            twin,name,time,value
//                   pump-1,speed,2026-11-25T10:00:00.000Z,1450.5
//
// Line protocol (line_protocol.h reads it back, as POST /write does): the measurement `doppel`,
// the twin in the tag `twin` and the telemetry name as the field key (',', '=', space and tab
// escaped with '\'), floats in the shortest form that reads back to the same double, integers
// with `i`, booleans true/false, strings quoted with '"' and '\' escaped, times in Unix
// nanoseconds. Line protocol cannot carry a newline in a twin id, name or string, a twin id or
// name ending with '\', or a float that is not finite: such a point becomes a comment line
// ("# line protocol cannot carry ...") that parsers skip and people read.
//
// CSV (RFC 4180): the header `twin,name,time,value`, times in RFC 3339 UTC (nanoseconds kept),
// the value as JSON spells it, so that types survive a round trip: an integer has digits only
// (`42`), a float always a fraction or an exponent (`42.0`, `1e+300`), booleans are
// `true`/`false`, and a string is always quoted (`"auto"`). The reader is lenient where
// spreadsheets are not careful: a UTF-8 byte order mark, CRLF, header columns in any order,
// TRUE/FALSE, a time in Unix milliseconds, and an unquoted value that is not a number or a
// boolean counts as a string.
//
// Callers: the export route (the writers), `doppel import` (csv_reader, line_protocol_line),
// fuzz_export. Threading: no shared state; one csv_reader per input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/timeseries/chunk.h"

namespace doppel::ingest {

// One value of a history point.
struct history_value {
  ts::value_type type = ts::value_type::f64;
  double f = 0;        // f64
  std::int64_t i = 0;  // i64; boolean (0 or 1)
  std::string s;       // string
};

// Appends one point as a line-protocol line (with its '\n'); false, appending nothing, when line
// protocol cannot carry it (see above).
bool line_protocol_line(std::string& out, std::string_view twin, std::string_view name, std::int64_t time_ns,
                        const history_value& v);

// Appends the points of one series as line-protocol lines; a point line protocol cannot carry
// becomes a comment line. Returns the number of such points.
std::size_t append_line_protocol(std::string& out, std::string_view twin, std::string_view name,
                                 const ts::column_batch& points);

inline constexpr std::string_view csv_header = "twin,name,time,value\n";

// Appends the points of one series as CSV rows (without the header).
void append_csv(std::string& out, std::string_view twin, std::string_view name, const ts::column_batch& points);

// Point k of a series as a history_value.
history_value history_value_at(const ts::column_batch& points, std::size_t k);

// A value as the CSV value column spells it.
void append_csv_value(std::string& out, const history_value& v);

struct csv_point {
  std::string twin, name;
  std::int64_t time_ns = 0;
  history_value value;
  std::uint32_t line = 0;  // 1-based line where the row starts
};

struct csv_error {
  std::uint32_t line = 0;  // 1-based
  std::string message;     // what is wrong and how to fix it
};

// Reads CSV history as append_csv() writes it (with the header first), in pieces of any size.
class csv_reader {
 public:
  // Reads the complete rows at the start of `text`, appending a point per good row and an
  // error per bad one, and returns the bytes it consumed: keep the rest, append more input and
  // call again. With `last` (the end of the input) it reads everything. A missing or wrong
  // header is one error; the rows after it are then skipped.
  std::size_t read(std::string_view text, bool last, std::vector<csv_point>& points, std::vector<csv_error>& errors);

  std::uint32_t rows() const { return rows_; }  // data rows seen, good and bad

 private:
  struct field {
    std::string text;
    bool quoted = false;
  };
  // The record in fields_, read from `line` on.
  void header(std::uint32_t line, std::vector<csv_error>& errors);
  void row(std::uint32_t line, std::vector<csv_point>& points, std::vector<csv_error>& errors);

  bool started_ = false;              // past a byte order mark
  bool has_header_ = false;           // the header was read (and was good)
  bool skip_rest_ = false;            // a wrong header or an unclosed quote: everything after it is skipped
  int column_[4] = {-1, -1, -1, -1};  // twin, name, time, value -> field index
  std::size_t columns_ = 0;
  std::uint32_t line_ = 1;  // the line the next byte is on
  std::uint32_t rows_ = 0;
  std::vector<field> fields_;  // reused per row
};

}  // namespace doppel::ingest
