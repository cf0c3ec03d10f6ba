// libFuzzer target for the history export formats: the CSV reader gets the input (after its
// first byte) whole and in pieces of the first byte's size, and must read the same points and
// errors both ways; every point it reads is written again as CSV and as line protocol and must
// read back to itself (through csv_reader and through the /write parser). Never a crash.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ingest/export_format.h"
#include "ingest/line_protocol.h"

namespace {

using namespace doppel::ingest;
using doppel::ts::value_type;

bool same(const history_value& a, const history_value& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case value_type::f64: return std::signbit(a.f) == std::signbit(b.f) && a.f == b.f;
    case value_type::i64:
    case value_type::boolean: return a.i == b.i;
    case value_type::string: return a.s == b.s;
  }
  return false;
}

void read_all(const std::string& text, std::size_t piece, std::vector<csv_point>& points,
              std::vector<csv_error>& errors) {
  csv_reader reader;
  std::string buf;
  for (std::size_t at = 0; at < text.size(); at += piece) {
    buf.append(text, at, piece);
    buf.erase(0, reader.read(buf, false, points, errors));
  }
  buf.erase(0, reader.read(buf, true, points, errors));
  if (!buf.empty()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t piece = data[0] ? data[0] : 1;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<csv_point> whole, pieces;
  std::vector<csv_error> whole_errors, piece_errors;
  read_all(text, text.size() + 1, whole, whole_errors);
  read_all(text, piece, pieces, piece_errors);
  if (whole.size() != pieces.size() || whole_errors.size() != piece_errors.size()) __builtin_trap();
  for (std::size_t k = 0; k < whole_errors.size(); ++k) {
    const csv_error& e = whole_errors[k];
    if (e.line == 0 || e.message.empty() || e.line != piece_errors[k].line) __builtin_trap();
  }
  for (std::size_t k = 0; k < whole.size(); ++k) {
    const csv_point& p = whole[k];
    if (p.twin.empty() || p.name.empty() || p.line == 0) __builtin_trap();
    if (p.twin != pieces[k].twin || p.name != pieces[k].name || p.time_ns != pieces[k].time_ns ||
        !same(p.value, pieces[k].value) || p.line != pieces[k].line) {
      __builtin_trap();
    }
    // CSV out and back in.
    doppel::ts::column_batch b;
    b.type = p.value.type;
    b.t = {p.time_ns};
    switch (p.value.type) {
      case value_type::f64: b.f = {p.value.f}; break;
      case value_type::i64: b.i = {p.value.i}; break;
      case value_type::boolean: b.b = {static_cast<std::uint8_t>(p.value.i)}; break;
      case value_type::string: b.s = {p.value.s}; break;
    }
    std::string csv(csv_header);
    append_csv(csv, p.twin, p.name, b);
    std::vector<csv_point> again;
    std::vector<csv_error> again_errors;
    read_all(csv, csv.size() + 1, again, again_errors);
    if (!again_errors.empty() || again.size() != 1 || again[0].twin != p.twin || again[0].name != p.name ||
        again[0].time_ns != p.time_ns || !same(again[0].value, p.value)) {
      __builtin_trap();
    }
    // Line protocol out and back in, when it can carry the point.
    std::string lp;
    if (!line_protocol_line(lp, p.twin, p.name, p.time_ns, p.value)) continue;
    lp_batch parsed;
    parse_line_protocol(lp, precision::ns, parsed);
    if (!parsed.errors.empty() || parsed.points.size() != 1) __builtin_trap();
    const lp_point& q = parsed.points[0];
    const lp_field& f = parsed.fields_of(q)[0];
    history_value v;
    switch (f.type) {
      case field_type::float_: v.type = value_type::f64, v.f = f.f; break;
      case field_type::integer: v.type = value_type::i64, v.i = f.i; break;
      case field_type::boolean: v.type = value_type::boolean, v.i = f.i; break;
      case field_type::string: v.type = value_type::string, v.s = std::string(f.s); break;
      case field_type::unsigned_: __builtin_trap();
    }
    if (parsed.tag(q, "twin") != p.twin || f.key != p.name || q.time_ns != p.time_ns || !same(v, p.value)) {
      __builtin_trap();
    }
  }
  return 0;
}
