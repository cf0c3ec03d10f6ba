// libFuzzer target for the ingestion parsers: the first byte picks the form (line protocol with
// a precision, a JSON payload for one twin, or a JSON batch), the rest is the payload. Never a
// crash; every view a parsed point holds lies inside the text; each non-blank line is either a
// point or an error with a line and column inside the text; readings carry valid JSON values.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/json_input.h"
#include "ingest/line_protocol.h"
#include "ingest/readings.h"

namespace {

void inside(const std::string& text, std::string_view v) {
  if (v.empty()) return;
  if (v.data() < text.data() || v.data() + v.size() > text.data() + text.size()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  using namespace doppel::ingest;
  std::uint8_t mode = data[0];
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<reading> out;
  std::vector<rejection> rejected;
  if (mode % 3 == 0) {
    lp_batch batch;
    precision unit = static_cast<precision>((mode / 3) % 6);
    parse_line_protocol(text, unit, batch);
    if (batch.points.size() + batch.errors.size() != batch.lines) __builtin_trap();
    for (const auto& p : batch.points) {
      inside(text, p.measurement);
      if (p.measurement.empty() || p.field_count == 0) __builtin_trap();
      for (std::uint32_t k = 0; k < p.tag_count; ++k) {
        inside(text, batch.tags_of(p)[k].key);
        inside(text, batch.tags_of(p)[k].value);
      }
      for (std::uint32_t k = 0; k < p.field_count; ++k) {
        inside(text, batch.fields_of(p)[k].key);
        if (batch.fields_of(p)[k].type == field_type::string) inside(text, batch.fields_of(p)[k].s);
      }
    }
    for (const auto& e : batch.errors) {
      if (e.line == 0 || e.column == 0 || e.message.empty()) __builtin_trap();
    }
    readings_from_line_protocol(batch, 1, out, rejected);
  } else {
    parse_json_readings(text, mode % 3 == 1 ? "twin-1" : "", 1, out, rejected);
  }
  for (const auto& r : out) {
    if (r.twin.empty() || r.value.is_discarded()) __builtin_trap();
    // The JSON input policy (core/json_input.h): nothing that is not UTF-8 or nests deeper than
    // the limit becomes a reading (a strict dump throws on invalid UTF-8, which fails the run).
    if (!doppel::is_valid_utf8(r.twin) || !doppel::is_valid_utf8(r.name)) __builtin_trap();
    if (!doppel::check_json_text(r.value.dump()).ok()) __builtin_trap();
  }
  for (const auto& r : rejected) {
    if (r.reason.empty() || r.message.empty()) __builtin_trap();
  }
  return 0;
}
