// Mapping rules: which twin and which of its telemetry/properties an MQTT message feeds, from
// doppel.yaml's `mqtt.topics`. A rule names a topic template whose {name} levels capture parts
// of the topic, the twin id as a template over those captures, the payload form, and optionally
// field rules that pick values by JSON Pointer and scale them:
//
//   topics:
//     - topic: plant/{site}/pump/{id}/telemetry      # subscribes to plant/+/pump/+/telemetry
//       twin: pump-{id}
//       fields:                                      # without fields: every top-level name
//         - {path: /p/discharge, name: dischargePressure, scale: 0.001}
//
// With no rules configured the default is the blueprint's: `doppel/twins/{twin}/telemetry`, a JSON
// object of names and values (optional "$ts"). Payload forms: json (that object), sparkplug (a
// Sparkplug-B-shaped JSON document: {"timestamp": ms, "metrics": [{"name", "value", "timestamp"}]},
// metric names with '/' are taken as component.name) and line-protocol (twin from the rule, or from
// a twin= tag when the rule has no twin template).
//
// Callers: the MQTT connector (map), `doppel serve` (compile from the config). Threading: a
// compiled mapper is immutable; map() is safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "ingest/readings.h"

namespace doppel::ingest {

enum class payload_form { json, sparkplug, line_protocol };

struct mapping_rule {
  std::string topic = "doppel/twins/{twin}/telemetry";  // {x}: one topic level, captured
  std::string twin = "{twin}";                          // template over the captures; empty: from the payload
  payload_form payload = payload_form::json;
  std::vector<field_rule> fields;  // empty: every top-level name of the payload
};

class mapper {
 public:
  // Checks and compiles rules (templates well formed, captures used by the twin template exist,
  // JSON Pointers valid); the error names the rule (`topics[2].twin: ...`).
  static result<mapper> compile(std::vector<mapping_rule> rules);

  // The topic filters to subscribe to, one per rule ({x} levels become '+').
  std::vector<std::string> filters() const;

  // Turns one message into readings, or into rejections ("unmapped" when no rule matches the
  // topic; the payload's own reasons otherwise). `now_ns` stands in for a missing timestamp.
  void map(std::string_view topic, std::string_view payload, std::int64_t now_ns, std::vector<reading>& out,
           std::vector<rejection>& rejected) const;

 private:
  struct compiled;
  std::vector<compiled> rules_;
  std::vector<std::string> filters_;

 public:
  mapper();
  ~mapper();
  mapper(mapper&&) noexcept;
  mapper& operator=(mapper&&) noexcept;
};

}  // namespace doppel::ingest
