// MQTT 3.1.1 and 5 packets, as much of the protocol as a subscriber that acknowledges late needs
// (CONNECT/CONNACK, SUBSCRIBE/SUBACK, PUBLISH, PUBACK, PINGREQ/PINGRESP, DISCONNECT), plus the
// publisher's side of PUBLISH/PUBACK (QoS 0 and 1, DUP on a resend) for the connector's outbound
// path, the load generator and the tests.
//
// Why hand-written: Doppel must send a QoS 1 PUBACK only after the message is durably in the
// pipeline, and must do so at the broker's speed. libmosquitto acknowledges before its message
// callback runs (a crash in between loses an acknowledged message), and Paho's MQTTAsync
// acknowledges when the callback returns but runs every client's callbacks on one thread, so a
// callback that waits for durability caps throughput at one message per fsync.
// docs/dependencies.md has the measurements.
//
// Decoding never trusts the input: lengths are checked against the buffer, a malformed packet is
// an error saying what is wrong, never a crash (fuzz/mqtt_fuzz.cpp).
//
// Callers: the MQTT connector (mqtt_connector.cpp), tools/doppel-loadgen, tests.
// Threading: pure functions, no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace doppel::ingest::mqtt {

enum class packet_type : std::uint8_t {
  connect = 1,
  connack = 2,
  publish = 3,
  puback = 4,
  pubrec = 5,
  pubrel = 6,
  pubcomp = 7,
  subscribe = 8,
  suback = 9,
  unsubscribe = 10,
  unsuback = 11,
  pingreq = 12,
  pingresp = 13,
  disconnect = 14,
  auth = 15,
};

// Protocol levels as CONNECT carries them.
inline constexpr std::uint8_t v311 = 4;
inline constexpr std::uint8_t v5 = 5;

struct connect_options {
  std::uint8_t version = v5;
  std::string client_id;
  bool clean_start = false;  // false: keep the session (subscriptions, unacknowledged messages)
  std::uint16_t keepalive_s = 30;
  std::uint32_t session_expiry_s = 0;     // MQTT 5: how long the broker keeps the session after a disconnect
  std::uint16_t receive_maximum = 0;      // MQTT 5: QoS 1 messages in flight to us; 0: the broker's default
  std::uint32_t maximum_packet_size = 0;  // MQTT 5: larger messages are not sent to us; 0: no limit
  bool has_username = false, has_password = false;
  std::string username, password;
};

struct subscription {
  std::string filter;
  std::uint8_t qos = 1;
};

// Appends one packet to `out`.
void encode_connect(const connect_options& o, std::string& out);
void encode_subscribe(std::uint8_t version, std::uint16_t packet_id, const std::vector<subscription>& subs,
                      std::string& out);
void encode_publish(std::uint8_t version, std::string_view topic, std::string_view payload, std::uint8_t qos,
                    std::uint16_t packet_id, bool retain, std::string& out);
// The same with the DUP flag: set on a QoS 1 message sent again after a reconnect (MQTT 3.3.1.1).
void encode_publish(std::uint8_t version, std::string_view topic, std::string_view payload, std::uint8_t qos,
                    std::uint16_t packet_id, bool retain, bool dup, std::string& out);
// Bytes encode_publish writes for a topic and payload of these sizes (no properties): what is
// compared with a maximum packet size.
std::size_t publish_size(std::uint8_t version, std::size_t topic_bytes, std::size_t payload_bytes, std::uint8_t qos);
void encode_puback(std::uint16_t packet_id, std::string& out);
void encode_pingreq(std::string& out);
void encode_disconnect(std::uint8_t version, std::string& out);

// One packet framed in a byte stream: its type, the flags of its first byte and its body (the
// bytes after the remaining-length field, a view into the input).
struct frame {
  packet_type type{};
  std::uint8_t flags = 0;
  std::string_view body;
  std::size_t size = 0;  // bytes the whole packet takes in the input
};

enum class frame_result { ok, need_more, error };

// Frames the packet at the start of `in`. need_more: not all of it is there yet. error: the
// remaining length is malformed or larger than `max_packet` (`error` says so).
frame_result next_frame(std::string_view in, std::size_t max_packet, frame& out, std::string& error);

struct connack {
  bool session_present = false;
  std::uint8_t reason = 0;  // 0: accepted (3.1.1 return code or MQTT 5 reason code)
  // MQTT 5 properties that limit what the client may publish (3.1.1: the defaults).
  std::uint16_t receive_maximum = 65535;  // QoS 1 messages the broker takes unacknowledged
  std::uint32_t maximum_packet_size = 0;  // 0: no limit announced
  std::uint8_t maximum_qos = 2;
  bool retain_available = true;
};

// The broker's answer to a QoS 1 PUBLISH of ours.
struct puback {
  std::uint16_t packet_id = 0;
  std::uint8_t reason = 0;  // MQTT 5 reason code (0: success; 0x10: no subscribers, also success); 3.1.1: 0
};

struct publish {
  std::string_view topic;
  std::string_view payload;
  std::uint8_t qos = 0;
  bool dup = false, retain = false;
  std::uint16_t packet_id = 0;  // QoS 1 and 2 only
};

struct suback {
  std::uint16_t packet_id = 0;
  std::vector<std::uint8_t> granted;  // per filter: 0-2 the granted QoS, >= 0x80 refused
};

// Each returns false with `error` set when the body is malformed.
bool parse_connack(const frame& f, std::uint8_t version, connack& out, std::string& error);
bool parse_publish(const frame& f, std::uint8_t version, publish& out, std::string& error);
bool parse_suback(const frame& f, std::uint8_t version, suback& out, std::string& error);
bool parse_puback(const frame& f, std::uint16_t& packet_id, std::string& error);
// The same with the MQTT 5 reason code and properties (checked, skipped).
bool parse_puback(const frame& f, std::uint8_t version, puback& out, std::string& error);
// MQTT 5 DISCONNECT from the broker: its reason code (0 when none is given).
std::uint8_t disconnect_reason(const frame& f);

// Why a broker refused a connection, in words ("bad user name or password", ...).
std::string connack_reason_text(std::uint8_t version, std::uint8_t code);
// Why a broker refused a message (an MQTT 5 PUBACK reason code of 0x80 or more), in words.
std::string puback_reason_text(std::uint8_t code);

// Why `topic` cannot be published to (empty, longer than 65,535 bytes, invalid UTF-8, a NUL, or a
// '+' or '#' wildcard), in words naming the topic; empty when it can.
std::string check_publish_topic(std::string_view topic);

// MQTT topic filter matching ('+' one level, '#' the rest), as the broker does it.
bool topic_matches(std::string_view filter, std::string_view topic);

}  // namespace doppel::ingest::mqtt
