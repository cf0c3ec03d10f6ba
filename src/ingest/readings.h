// Readings: what every connector turns its messages into before the pipeline applies them — a
// twin, the name of one of its model's telemetries or properties, a value and a time. And the
// default payload forms that need no mapping:
//
//   JSON, one twin:  {"speed": 1450.5, "running": true, "$ts": "2026-11-25T10:00:00Z"}
//   JSON, batch:     [{"$dtId": "pump-1", "speed": 1450.5, "$ts": 1764064800000}, ...]
//   line protocol:   any_measurement,twin=pump-1 speed=1450.5,running=true 1764064800000000000
//
// "$ts" is optional (RFC 3339 text, or Unix milliseconds as a number; 1677-2262); without it the time of
// arrival counts. A value is any JSON value; the pipeline checks it against the model.
//
// Callers: the HTTP telemetry routes (parse_json_readings) and the /write route
// (readings_from_line_protocol). Threading: no shared state.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"
#include "ingest/line_protocol.h"

namespace doppel::ingest {

struct reading {
  std::string twin;
  std::string name;  // a telemetry or property of the twin's model
  nlohmann::json value;
  std::int64_t time_ns = 0;  // 0: when it arrived
};

// A message that could not become readings, or a reading the pipeline refused: why, where from,
// and the raw text, for the dead-letter store.
struct rejection {
  std::string reason;   // malformed_json, too_deep, invalid_utf8, number_out_of_range, malformed_line,
                        // unknown_twin, unknown_name, wrong_type, not_a_value, not_reportable, too_large
  std::string message;  // what is wrong and how to fix it
  std::string raw;      // the payload, line or reading as received
};

// A value picked out of a JSON payload by a mapping rule (doppel.yaml mqtt.topics[].fields).
struct field_rule {
  std::string path;              // JSON Pointer into the payload ("/p/discharge")
  std::string name;              // telemetry or property of the twin's model ("dischargePressure", "motor.power")
  double scale = 1, offset = 0;  // numbers become value * scale + offset
};

// Parses a JSON payload: for one twin (`twin` not empty) an object of names and values; for a
// batch (`twin` empty) an array of such objects, each with "$dtId". Appends readings; a payload
// that is not valid JSON or not of that shape is one rejection (nothing of it is taken); a batch
// entry without a usable "$dtId" or "$ts" is a rejection of that entry alone.
void parse_json_readings(std::string_view payload, const std::string& twin, std::int64_t now_ns,
                         std::vector<reading>& out, std::vector<rejection>& rejected);

// One twin's readings picked from a JSON document by `fields` (a top-level "$ts" is the time). A
// path that is absent is skipped; a payload that is not JSON is a rejection.
void parse_json_fields(std::string_view payload, const std::string& twin, const std::vector<field_rule>& fields,
                       std::int64_t now_ns, std::vector<reading>& out, std::vector<rejection>& rejected);

// One twin's readings from a Sparkplug-B-shaped JSON document:
//   {"timestamp": 1764064800000, "metrics": [{"name": "motor/power", "value": 4.2, "timestamp": ...}]}
// Times are Unix milliseconds (a metric's own, else the document's, else `now_ns`); a metric name
// with '/' names a component's content ("motor/power" -> motor.power).
void parse_sparkplug_readings(std::string_view payload, const std::string& twin, std::int64_t now_ns,
                              std::vector<reading>& out, std::vector<rejection>& rejected);

// A line-protocol field's value as JSON.
nlohmann::json lp_value(const lp_field& f);

// Turns parsed line-protocol points into readings, one per field (float/integer/unsigned/
// boolean/string as JSON), for `twin` when given, else for the twin their `twin` tag names (a
// point without one is a rejection). The batch's malformed lines become malformed_line
// rejections (line, column, why; the line as the raw text).
void readings_from_line_protocol(const lp_batch& batch, std::int64_t now_ns, std::vector<reading>& out,
                                 std::vector<rejection>& rejected, std::string_view twin = {});

}  // namespace doppel::ingest
