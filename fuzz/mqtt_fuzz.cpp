// libFuzzer target for what the MQTT connector reads from a broker and maps: the input is a byte
// stream of MQTT packets (as a broker would send them, in either protocol version); each framed
// PUBLISH goes through the mapping rules (default topic, a template with JSON fields, Sparkplug,
// line protocol); a PUBACK is decoded as the answer to a message Doppel published. Never a crash; every frame lies
// inside the input; every view a parsed packet holds lies inside its frame.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/json_input.h"
#include "ingest/mapping.h"
#include "ingest/mqtt_codec.h"

namespace {

void inside(std::string_view outer, std::string_view v) {
  if (v.empty()) return;
  if (v.data() < outer.data() || v.data() + v.size() > outer.data() + outer.size()) __builtin_trap();
}

const doppel::ingest::mapper& rules() {
  static const doppel::ingest::mapper m = [] {
    using namespace doppel::ingest;
    mapping_rule fields;
    fields.topic = "plant/{site}/pump/{id}";
    fields.twin = "{site}-{id}";
    fields.fields = {{"/p/d", "pressure", 0.001, 0}, {"/t", "temperature", 1, -273.15}};
    mapping_rule sp;
    sp.topic = "spBv1.0/+/DDATA/+/{device}";
    sp.twin = "{device}";
    sp.payload = payload_form::sparkplug;
    mapping_rule lp;
    lp.topic = "lp/#";
    lp.twin = "";
    lp.payload = payload_form::line_protocol;
    return std::move(mapper::compile({mapping_rule{}, fields, sp, lp}).value());
  }();
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace doppel::ingest;
  if (size == 0) return 0;
  std::uint8_t version = data[0] & 1 ? mqtt::v5 : mqtt::v311;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string error;
  while (!in.empty()) {
    mqtt::frame f;
    auto r = mqtt::next_frame(in, 1 << 20, f, error);
    if (r != mqtt::frame_result::ok) break;
    if (f.size > in.size()) __builtin_trap();
    inside(in, f.body);
    switch (f.type) {
      case mqtt::packet_type::publish: {
        mqtt::publish p;
        if (mqtt::parse_publish(f, version, p, error)) {
          inside(f.body, p.topic);
          inside(f.body, p.payload);
          std::vector<reading> out;
          std::vector<rejection> rejected;
          rules().map(p.topic, p.payload, 1764064800000000000, out, rejected);
          for (const auto& reading : out) {
            if (reading.twin.empty() || reading.name.empty()) __builtin_trap();
            // The JSON input policy (core/json_input.h): ids are UTF-8, values within the depth
            // limit (a strict dump throws on invalid UTF-8, which fails the run).
            if (!doppel::is_valid_utf8(reading.twin) || !doppel::is_valid_utf8(reading.name)) __builtin_trap();
            if (!doppel::check_json_text(reading.value.dump()).ok()) __builtin_trap();
          }
        }
        break;
      }
      case mqtt::packet_type::connack: {
        mqtt::connack c;
        mqtt::parse_connack(f, version, c, error);
        break;
      }
      case mqtt::packet_type::suback: {
        mqtt::suback s;
        mqtt::parse_suback(f, version, s, error);
        break;
      }
      case mqtt::packet_type::puback: {
        // The answer to a message Doppel published (the outbound path): MQTT 5 reason and
        // properties, then the same bytes as a topic to publish to (never a crash; a topic the
        // check lets through has no wildcard and is UTF-8).
        mqtt::puback a;
        if (mqtt::parse_puback(f, version, a, error) && a.packet_id == 0) __builtin_trap();
        mqtt::puback_reason_text(a.reason);
        if (mqtt::check_publish_topic(f.body).empty()) {
          if (f.body.find_first_of("+#") != std::string_view::npos || !doppel::is_valid_utf8(f.body)) __builtin_trap();
        }
        break;
      }
      default: {
        std::uint16_t id = 0;
        mqtt::parse_puback(f, id, error);
        mqtt::disconnect_reason(f);
      }
    }
    in.remove_prefix(f.size);
  }
  return 0;
}
