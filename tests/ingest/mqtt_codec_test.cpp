// MQTT packets: what the connector sends, what it accepts from a broker, and what it refuses.
#include "ingest/mqtt_codec.h"

#include <gtest/gtest.h>

#include <deque>

namespace doppel::ingest::mqtt {
namespace {

// Frames `bytes`; the frame's views point into a copy kept until the test binary ends.
frame one_frame(const std::string& in) {
  static std::deque<std::string> kept;
  const std::string& bytes = kept.emplace_back(in);
  frame f;
  std::string err;
  EXPECT_EQ(next_frame(bytes, 1 << 20, f, err), frame_result::ok) << err;
  EXPECT_EQ(f.size, bytes.size());
  return f;
}

TEST(MqttCodec, ConnectCarriesSessionAndCredentials) {
  connect_options o;
  o.version = v5;
  o.client_id = "doppel-x";
  o.keepalive_s = 30;
  o.session_expiry_s = 3600;
  o.receive_maximum = 500;
  o.has_username = o.has_password = true;
  o.username = "u";
  o.password = "p";
  std::string out;
  encode_connect(o, out);
  frame f = one_frame(out);
  EXPECT_EQ(f.type, packet_type::connect);
  // "MQTT", level 5, flags: user + password, clean start off.
  EXPECT_EQ(f.body.substr(0, 6), std::string("\0\4MQTT", 6));
  EXPECT_EQ(static_cast<std::uint8_t>(f.body[6]), 5);
  EXPECT_EQ(static_cast<std::uint8_t>(f.body[7]), 0xC0);
  // Properties: session expiry (0x11, 4 bytes) and receive maximum (0x21, 2 bytes).
  EXPECT_EQ(static_cast<std::uint8_t>(f.body[10]), 8);
  EXPECT_EQ(static_cast<std::uint8_t>(f.body[11]), 0x11);
  EXPECT_EQ(static_cast<std::uint8_t>(f.body[16]), 0x21);
  EXPECT_NE(f.body.find("doppel-x"), std::string_view::npos);

  o.version = v311;
  o.clean_start = true;
  o.has_username = o.has_password = false;
  out.clear();
  encode_connect(o, out);
  f = one_frame(out);
  EXPECT_EQ(static_cast<std::uint8_t>(f.body[6]), 4);
  EXPECT_EQ(static_cast<std::uint8_t>(f.body[7]), 0x02);
}

TEST(MqttCodec, PublishRoundTripsInBothVersions) {
  for (std::uint8_t version : {v311, v5}) {
    for (std::uint8_t qos : {0, 1}) {
      std::string payload(300, 'x');  // a two-byte remaining length
      std::string out;
      encode_publish(version, "doppel/twins/p1/telemetry", payload, qos, 77, true, out);
      frame f = one_frame(out);
      publish p;
      std::string err;
      ASSERT_TRUE(parse_publish(f, version, p, err)) << err;
      EXPECT_EQ(p.topic, "doppel/twins/p1/telemetry");
      EXPECT_EQ(p.payload, payload);
      EXPECT_EQ(p.qos, qos);
      EXPECT_TRUE(p.retain);
      EXPECT_EQ(p.packet_id, qos ? 77 : 0);
    }
  }
}

TEST(MqttCodec, FramesArriveInPieces) {
  std::string out;
  encode_publish(v5, "t", std::string(200000, 'y'), 1, 1, false, out);
  encode_puback(9, out);
  frame f;
  std::string err;
  for (std::size_t cut = 0; cut < 5; ++cut) {
    EXPECT_EQ(next_frame(std::string_view(out).substr(0, cut), 1 << 20, f, err), frame_result::need_more);
  }
  EXPECT_EQ(next_frame(std::string_view(out).substr(0, 100000), 1 << 20, f, err), frame_result::need_more);
  ASSERT_EQ(next_frame(out, 1 << 20, f, err), frame_result::ok);
  std::string_view rest = std::string_view(out).substr(f.size);
  ASSERT_EQ(next_frame(rest, 1 << 20, f, err), frame_result::ok);
  std::uint16_t id = 0;
  ASSERT_TRUE(parse_puback(f, id, err));
  EXPECT_EQ(id, 9);
}

TEST(MqttCodec, MalformedInputIsAnErrorNotACrash) {
  frame f;
  std::string err;
  // Remaining length with a fifth continuation byte.
  EXPECT_EQ(next_frame(std::string("\x30\xff\xff\xff\xff\x01", 6), 1 << 28, f, err), frame_result::error);
  EXPECT_NE(err.find("4 bytes"), std::string::npos);
  // Larger than the limit.
  std::string big;
  encode_publish(v5, "t", std::string(5000, 'z'), 0, 0, false, big);
  EXPECT_EQ(next_frame(big, 1024, f, err), frame_result::error);
  EXPECT_NE(err.find("max_packet_bytes"), std::string::npos);
  // Type 0 is reserved.
  EXPECT_EQ(next_frame(std::string("\x00\x00", 2), 1024, f, err), frame_result::error);
  // A topic length past the end of the packet.
  f = one_frame(std::string("\x30\x03\x00\x09t", 5));
  publish p;
  EXPECT_FALSE(parse_publish(f, v311, p, err));
  // QoS 1 without a packet identifier, and with identifier 0.
  f = one_frame(std::string("\x32\x03\x00\x01t", 5));
  EXPECT_FALSE(parse_publish(f, v311, p, err));
  f = one_frame(std::string("\x32\x05\x00\x01t\x00\x00", 7));
  EXPECT_FALSE(parse_publish(f, v311, p, err));
  // MQTT 5 properties longer than the packet.
  f = one_frame(std::string("\x30\x04\x00\x01t\x09", 6));
  EXPECT_FALSE(parse_publish(f, v5, p, err));
  // QoS 3.
  f = one_frame(std::string("\x36\x03\x00\x01t", 5));
  EXPECT_FALSE(parse_publish(f, v311, p, err));
  // A CONNACK cut short, a SUBACK without codes.
  connack c;
  f = one_frame(std::string("\x20\x01\x00", 3));
  EXPECT_FALSE(parse_connack(f, v311, c, err));
  suback s;
  f = one_frame(std::string("\x90\x02\x00\x01", 4));
  EXPECT_FALSE(parse_suback(f, v311, s, err));
}

TEST(MqttCodec, BrokerAnswers) {
  frame f = one_frame(std::string("\x20\x03\x01\x00\x00", 5));  // MQTT 5 CONNACK, session present
  connack c;
  std::string err;
  ASSERT_TRUE(parse_connack(f, v5, c, err)) << err;
  EXPECT_TRUE(c.session_present);
  EXPECT_EQ(c.reason, 0);
  EXPECT_EQ(connack_reason_text(v5, 0x86), "bad user name or password");
  EXPECT_EQ(connack_reason_text(v311, 5), "not authorized");
  f = one_frame(std::string("\x90\x05\x00\x01\x00\x01\x80", 7));  // MQTT 5 SUBACK: granted 1, refused
  suback s;
  ASSERT_TRUE(parse_suback(f, v5, s, err)) << err;
  ASSERT_EQ(s.granted.size(), 2u);
  EXPECT_EQ(s.granted[0], 1);
  EXPECT_EQ(s.granted[1], 0x80);
}

// The outbound path: a QoS 1 message sent again after a reconnect carries DUP (MQTT 3.3.1.1) and
// its original packet identifier; publish_size is what the encoder writes, across the remaining
// length's byte boundaries (what the connector checks against max_packet_bytes).
TEST(MqttCodec, PublishResendCarriesDupAndSizeIsExact) {
  for (std::uint8_t version : {v311, v5}) {
    std::string out;
    encode_publish(version, "doppel/twins/p1/desired", R"({"targetSpeed": 1})", 1, 4242, false, true, out);
    frame f = one_frame(out);
    EXPECT_EQ(f.flags, 0x0A);  // DUP, QoS 1, not retained
    publish p;
    std::string err;
    ASSERT_TRUE(parse_publish(f, version, p, err)) << err;
    EXPECT_TRUE(p.dup);
    EXPECT_EQ(p.packet_id, 4242);
    EXPECT_EQ(p.payload, R"({"targetSpeed": 1})");
    out.clear();
    encode_publish(version, "t", "x", 0, 0, true, out);  // the older form: never DUP
    EXPECT_EQ(one_frame(out).flags, 0x01);
    for (std::size_t n : {0, 100, 120, 121, 122, 16370, 16376, 16377, 2097140, 2097145}) {
      for (std::uint8_t qos : {0, 1}) {
        out.clear();
        encode_publish(version, "a/b", std::string(n, 'p'), qos, 7, false, out);
        EXPECT_EQ(publish_size(version, 3, n, qos), out.size()) << n << " bytes, QoS " << int(qos);
      }
    }
  }
}

// PUBACK for a message of ours: 3.1.1 holds only the packet identifier; MQTT 5 may add a reason
// code and properties, each optional (MQTT 3.4.2.1).
TEST(MqttCodec, PubackInBothVersions) {
  std::string err;
  puback a;
  frame f = one_frame(std::string("\x40\x02\x01\x02", 4));
  ASSERT_TRUE(parse_puback(f, v311, a, err)) << err;
  EXPECT_EQ(a.packet_id, 0x0102);
  EXPECT_EQ(a.reason, 0);
  ASSERT_TRUE(parse_puback(f, v5, a, err)) << err;
  EXPECT_EQ(a.reason, 0);
  f = one_frame(std::string("\x40\x03\x00\x05\x10", 5));  // no matching subscribers: still success
  ASSERT_TRUE(parse_puback(f, v5, a, err)) << err;
  EXPECT_EQ(a.packet_id, 5);
  EXPECT_EQ(a.reason, 0x10);
  // Not authorized, with a reason string and a user property.
  f = one_frame(std::string("\x40\x10\x00\x06\x87\x0c\x1f\x00\x02no\x26\x00\x01k\x00\x01v", 18));
  ASSERT_TRUE(parse_puback(f, v5, a, err)) << err;
  EXPECT_EQ(a.packet_id, 6);
  EXPECT_EQ(a.reason, 0x87);
  EXPECT_NE(puback_reason_text(0x87).find("not authorized"), std::string::npos);
  EXPECT_NE(puback_reason_text(0x97).find("quota"), std::string::npos);
  // Malformed: cut short, identifier 0, properties past the end, an unknown property, and bytes
  // after the fields.
  f = one_frame(std::string("\x40\x01\x00", 3));
  EXPECT_FALSE(parse_puback(f, v5, a, err));
  f = one_frame(std::string("\x40\x02\x00\x00", 4));
  EXPECT_FALSE(parse_puback(f, v311, a, err));
  EXPECT_NE(err.find("identifier 0"), std::string::npos);
  f = one_frame(std::string("\x40\x05\x00\x06\x00\x05\x1f", 7));
  EXPECT_FALSE(parse_puback(f, v5, a, err));
  f = one_frame(std::string("\x40\x06\x00\x06\x00\x02\x7f\x00", 8));
  EXPECT_FALSE(parse_puback(f, v5, a, err));
  EXPECT_NE(err.find("unknown property"), std::string::npos);
  f = one_frame(std::string("\x40\x03\x00\x06\x00", 5));
  EXPECT_FALSE(parse_puback(f, v311, a, err));
}

// What a broker's MQTT 5 CONNACK says about what Doppel may send.
TEST(MqttCodec, ConnackCarriesTheBrokersLimits) {
  std::string err;
  connack c;
  // Receive maximum 20, maximum packet size 65536, maximum QoS 1, retain not available, an
  // assigned client identifier (a string, skipped).
  std::string body("\x00\x00\x11\x21\x00\x14\x27\x00\x01\x00\x00\x24\x01\x25\x00\x12\x00\x02id", 20);
  frame f = one_frame(std::string("\x20", 1) + static_cast<char>(body.size()) + body);
  ASSERT_TRUE(parse_connack(f, v5, c, err)) << err;
  EXPECT_EQ(c.receive_maximum, 20);
  EXPECT_EQ(c.maximum_packet_size, 65536u);
  EXPECT_EQ(c.maximum_qos, 1);
  EXPECT_FALSE(c.retain_available);
  // 3.1.1 (and MQTT 5 without properties): the defaults, no limit.
  c = connack{};
  f = one_frame(std::string("\x20\x02\x00\x00", 4));
  ASSERT_TRUE(parse_connack(f, v311, c, err)) << err;
  EXPECT_EQ(c.receive_maximum, 65535);
  EXPECT_EQ(c.maximum_packet_size, 0u);
  // A property cut short.
  f = one_frame(std::string("\x20\x05\x00\x00\x02\x21\x00", 7));
  EXPECT_FALSE(parse_connack(f, v5, c, err));
}

TEST(MqttCodec, PublishTopicsAreCheckedBeforeSending) {
  EXPECT_EQ(check_publish_topic("doppel/twins/pump-1/desired"), "");
  EXPECT_EQ(check_publish_topic("plant/n\xc3\xa4rd/cmd"), "");  // UTF-8
  EXPECT_NE(check_publish_topic("").find("empty"), std::string::npos);
  EXPECT_NE(check_publish_topic("doppel/+/desired").find("wildcard"), std::string::npos);
  EXPECT_NE(check_publish_topic("doppel/#").find("wildcard"), std::string::npos);
  EXPECT_NE(check_publish_topic("a\xff").find("UTF-8"), std::string::npos);
  EXPECT_NE(check_publish_topic(std::string("a\0b", 3)).find("NUL"), std::string::npos);
  EXPECT_NE(check_publish_topic(std::string(70000, 'a')).find("65,535"), std::string::npos);
  // A long topic is shown cut at a character boundary, so the message stays UTF-8.
  std::string long_topic = std::string(199, 'a') + "\xc3\xa4" + "+";
  std::string why = check_publish_topic(long_topic);
  EXPECT_NE(why.find("wildcard"), std::string::npos);
  EXPECT_EQ(why.find("\xc3\""), std::string::npos);
}

TEST(MqttCodec, TopicFilters) {
  EXPECT_TRUE(topic_matches("doppel/twins/+/telemetry", "doppel/twins/p1/telemetry"));
  EXPECT_FALSE(topic_matches("doppel/twins/+/telemetry", "doppel/twins/p1/x/telemetry"));
  EXPECT_TRUE(topic_matches("plant/#", "plant/a/b/c"));
  EXPECT_TRUE(topic_matches("plant/#", "plant"));
  EXPECT_TRUE(topic_matches("#", "a/b"));
  EXPECT_FALSE(topic_matches("#", "$SYS/broker"));
  EXPECT_FALSE(topic_matches("a/b", "a/b/c"));
  EXPECT_FALSE(topic_matches("a/b/c", "a/b"));
  EXPECT_TRUE(topic_matches("+/+", "/x"));
}

}  // namespace
}  // namespace doppel::ingest::mqtt
