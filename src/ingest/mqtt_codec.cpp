#include "ingest/mqtt_codec.h"

#include <algorithm>

#include "core/json_input.h"

namespace doppel::ingest::mqtt {

namespace {

void put_u16(std::uint16_t v, std::string& out) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

void put_u32(std::uint32_t v, std::string& out) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_varint(std::size_t v, std::string& out) {
  do {
    auto byte = static_cast<std::uint8_t>(v % 128);
    v /= 128;
    if (v > 0) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (v > 0);
}

void put_str(std::string_view s, std::string& out) {
  put_u16(static_cast<std::uint16_t>(s.size()), out);
  out.append(s);
}

// First byte, remaining length, then the body.
void put_packet(packet_type type, std::uint8_t flags, std::string_view body, std::string& out) {
  out.push_back(static_cast<char>((static_cast<std::uint8_t>(type) << 4) | flags));
  put_varint(body.size(), out);
  out.append(body);
}

// A cursor over a packet body that refuses to read past it.
struct reader {
  std::string_view in;
  std::size_t at = 0;
  std::string* error;

  bool fail(const std::string& what) {
    *error = what;
    return false;
  }
  std::size_t left() const { return in.size() - at; }
  bool u8(std::uint8_t& v) {
    if (left() < 1) return fail("the packet ends early");
    v = static_cast<std::uint8_t>(in[at++]);
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (left() < 2) return fail("the packet ends early");
    v = static_cast<std::uint16_t>((static_cast<std::uint8_t>(in[at]) << 8) | static_cast<std::uint8_t>(in[at + 1]));
    at += 2;
    return true;
  }
  bool str(std::string_view& v) {
    std::uint16_t n = 0;
    if (!u16(n)) return false;
    if (left() < n) return fail("a string is longer than the packet");
    v = in.substr(at, n);
    at += n;
    return true;
  }
  bool varint(std::size_t& v) {
    v = 0;
    std::size_t mul = 1;
    for (int i = 0; i < 4; ++i) {
      std::uint8_t b = 0;
      if (!u8(b)) return false;
      v += (b & 0x7fu) * mul;
      if (!(b & 0x80)) return true;
      mul *= 128;
    }
    return fail("a variable byte integer is longer than 4 bytes");
  }
  // MQTT 5 properties: Doppel needs none of what a broker sends, so they are checked and skipped.
  bool skip_properties() {
    std::size_t n = 0;
    if (!varint(n)) return false;
    if (left() < n) return fail("the properties are longer than the packet");
    at += n;
    return true;
  }
  bool u32(std::uint32_t& v) {
    std::uint16_t hi = 0, lo = 0;
    if (!u16(hi) || !u16(lo)) return false;
    v = (std::uint32_t{hi} << 16) | lo;
    return true;
  }
  // MQTT 5 properties, each decoded by its type (MQTT 2.2.2.2) and handed to `use(id, number)`
  // when it is a number (strings, binary data and pairs are checked and skipped).
  template <class Use>
  bool properties(Use use) {
    std::size_t n = 0;
    if (!varint(n)) return false;
    if (left() < n) return fail("the properties are longer than the packet");
    reader p{in.substr(at, n), 0, error};
    at += n;
    while (p.left() > 0) {
      std::size_t id = 0;
      if (!p.varint(id)) return false;
      std::uint8_t b = 0;
      std::uint16_t h = 0;
      std::uint32_t w = 0;
      std::size_t v = 0;
      std::string_view s;
      switch (id) {
        case 0x01:
        case 0x17:
        case 0x19:
        case 0x24:
        case 0x25:
        case 0x28:
        case 0x29:
        case 0x2A:
          if (!p.u8(b)) return false;
          use(id, b);
          break;
        case 0x13:
        case 0x21:
        case 0x22:
        case 0x23:
          if (!p.u16(h)) return false;
          use(id, h);
          break;
        case 0x02:
        case 0x11:
        case 0x18:
        case 0x27:
          if (!p.u32(w)) return false;
          use(id, w);
          break;
        case 0x0B:
          if (!p.varint(v)) return false;
          use(id, v);
          break;
        case 0x03:
        case 0x08:
        case 0x09:
        case 0x12:
        case 0x15:
        case 0x16:
        case 0x1A:
        case 0x1C:
        case 0x1F:
          if (!p.str(s)) return false;
          break;
        case 0x26:
          if (!p.str(s) || !p.str(s)) return false;
          break;
        default: return fail("unknown property " + std::to_string(id));
      }
    }
    return true;
  }
};

}  // namespace

void encode_connect(const connect_options& o, std::string& out) {
  std::string body;
  put_str("MQTT", body);
  body.push_back(static_cast<char>(o.version));
  std::uint8_t flags = 0;
  if (o.has_username) flags |= 0x80;
  if (o.has_password) flags |= 0x40;
  if (o.clean_start) flags |= 0x02;
  body.push_back(static_cast<char>(flags));
  put_u16(o.keepalive_s, body);
  if (o.version == v5) {
    std::string props;
    if (o.session_expiry_s) {
      props.push_back(0x11);
      put_u32(o.session_expiry_s, props);
    }
    if (o.receive_maximum) {
      props.push_back(0x21);
      put_u16(o.receive_maximum, props);
    }
    if (o.maximum_packet_size) {
      props.push_back(0x27);
      put_u32(o.maximum_packet_size, props);
    }
    put_varint(props.size(), body);
    body += props;
  }
  put_str(o.client_id, body);
  if (o.has_username) put_str(o.username, body);
  if (o.has_password) put_str(o.password, body);
  put_packet(packet_type::connect, 0, body, out);
}

void encode_subscribe(std::uint8_t version, std::uint16_t packet_id, const std::vector<subscription>& subs,
                      std::string& out) {
  std::string body;
  put_u16(packet_id, body);
  if (version == v5) body.push_back(0);  // no properties
  for (const auto& s : subs) {
    put_str(s.filter, body);
    body.push_back(static_cast<char>(s.qos & 3));
  }
  put_packet(packet_type::subscribe, 0x02, body, out);
}

void encode_publish(std::uint8_t version, std::string_view topic, std::string_view payload, std::uint8_t qos,
                    std::uint16_t packet_id, bool retain, std::string& out) {
  encode_publish(version, topic, payload, qos, packet_id, retain, false, out);
}

void encode_publish(std::uint8_t version, std::string_view topic, std::string_view payload, std::uint8_t qos,
                    std::uint16_t packet_id, bool retain, bool dup, std::string& out) {
  std::size_t body = 2 + topic.size() + (qos ? 2 : 0) + (version == v5 ? 1 : 0) + payload.size();
  out.push_back(static_cast<char>((static_cast<std::uint8_t>(packet_type::publish) << 4) | (dup ? 8 : 0) |
                                  ((qos & 3) << 1) | (retain ? 1 : 0)));
  put_varint(body, out);
  put_str(topic, out);
  if (qos) put_u16(packet_id, out);
  if (version == v5) out.push_back(0);
  out.append(payload);
}

std::size_t publish_size(std::uint8_t version, std::size_t topic_bytes, std::size_t payload_bytes, std::uint8_t qos) {
  std::size_t body = 2 + topic_bytes + (qos ? 2 : 0) + (version == v5 ? 1 : 0) + payload_bytes;
  std::size_t length_bytes = body < 128 ? 1 : body < 16384 ? 2 : body < 2097152 ? 3 : 4;
  return 1 + length_bytes + body;
}

void encode_puback(std::uint16_t packet_id, std::string& out) {
  out.push_back(static_cast<char>(static_cast<std::uint8_t>(packet_type::puback) << 4));
  out.push_back(2);
  put_u16(packet_id, out);
}

void encode_pingreq(std::string& out) {
  out.push_back(static_cast<char>(static_cast<std::uint8_t>(packet_type::pingreq) << 4));
  out.push_back(0);
}

void encode_disconnect(std::uint8_t, std::string& out) {
  // Remaining length 0 means "normal disconnection" in both versions.
  out.push_back(static_cast<char>(static_cast<std::uint8_t>(packet_type::disconnect) << 4));
  out.push_back(0);
}

frame_result next_frame(std::string_view in, std::size_t max_packet, frame& out, std::string& error) {
  if (in.size() < 2) return frame_result::need_more;
  std::size_t length = 0, mul = 1, at = 1;
  for (;;) {
    if (at >= in.size()) return frame_result::need_more;
    auto b = static_cast<std::uint8_t>(in[at++]);
    length += (b & 0x7fu) * mul;
    if (!(b & 0x80)) break;
    if (at == 5) {
      error = "the remaining length of a packet is longer than 4 bytes";
      return frame_result::error;
    }
    mul *= 128;
  }
  if (length + at > max_packet) {
    error = "a packet of " + std::to_string(length + at) + " bytes is larger than the limit of " +
            std::to_string(max_packet) + " (raise max_packet_bytes)";
    return frame_result::error;
  }
  if (in.size() - at < length) return frame_result::need_more;
  auto first = static_cast<std::uint8_t>(in[0]);
  out.type = static_cast<packet_type>(first >> 4);
  out.flags = first & 0x0f;
  out.body = in.substr(at, length);
  out.size = at + length;
  if (first >> 4 == 0) {
    error = "packet type 0 is reserved";
    return frame_result::error;
  }
  return frame_result::ok;
}

bool parse_connack(const frame& f, std::uint8_t version, connack& out, std::string& error) {
  reader r{f.body, 0, &error};
  std::uint8_t flags = 0;
  if (!r.u8(flags) || !r.u8(out.reason)) return false;
  out.session_present = flags & 1;
  if (version == v5 && r.left() > 0) {
    return r.properties([&out](std::size_t id, std::uint32_t v) {
      if (id == 0x21) out.receive_maximum = static_cast<std::uint16_t>(v);
      if (id == 0x27) out.maximum_packet_size = v;
      if (id == 0x24) out.maximum_qos = static_cast<std::uint8_t>(v);
      if (id == 0x25) out.retain_available = v != 0;
    });
  }
  return true;
}

bool parse_publish(const frame& f, std::uint8_t version, publish& out, std::string& error) {
  reader r{f.body, 0, &error};
  out.qos = (f.flags >> 1) & 3;
  out.dup = f.flags & 8;
  out.retain = f.flags & 1;
  if (out.qos == 3) return r.fail("a PUBLISH has QoS 3");
  if (!r.str(out.topic)) return false;
  out.packet_id = 0;
  if (out.qos > 0) {
    if (!r.u16(out.packet_id)) return false;
    if (out.packet_id == 0) return r.fail("a QoS 1 or 2 PUBLISH has packet identifier 0");
  }
  if (version == v5 && !r.skip_properties()) return false;
  out.payload = f.body.substr(r.at);
  return true;
}

bool parse_suback(const frame& f, std::uint8_t version, suback& out, std::string& error) {
  reader r{f.body, 0, &error};
  if (!r.u16(out.packet_id)) return false;
  if (version == v5 && !r.skip_properties()) return false;
  out.granted.assign(f.body.begin() + static_cast<std::ptrdiff_t>(r.at), f.body.end());
  if (out.granted.empty()) return r.fail("a SUBACK has no return codes");
  return true;
}

bool parse_puback(const frame& f, std::uint16_t& packet_id, std::string& error) {
  reader r{f.body, 0, &error};
  return r.u16(packet_id);
}

bool parse_puback(const frame& f, std::uint8_t version, puback& out, std::string& error) {
  reader r{f.body, 0, &error};
  if (!r.u16(out.packet_id)) return false;
  if (out.packet_id == 0) return r.fail("a PUBACK has packet identifier 0");
  out.reason = 0;
  // MQTT 5: the reason code and the properties may each be left out (MQTT 3.4.2.1).
  if (version == v5 && r.left() > 0) {
    if (!r.u8(out.reason)) return false;
    if (r.left() > 0 && !r.properties([](std::size_t, std::uint32_t) {})) return false;
  }
  if (r.left() > 0) return r.fail("a PUBACK is longer than its fields");
  return true;
}

std::uint8_t disconnect_reason(const frame& f) { return f.body.empty() ? 0 : static_cast<std::uint8_t>(f.body[0]); }

std::string connack_reason_text(std::uint8_t version, std::uint8_t code) {
  if (version != v5) {
    switch (code) {
      case 0: return "accepted";
      case 1: return "unacceptable protocol version";
      case 2: return "client identifier rejected";
      case 3: return "server unavailable";
      case 4: return "bad user name or password";
      case 5: return "not authorized";
      default: return "refused with return code " + std::to_string(code);
    }
  }
  switch (code) {
    case 0x00: return "accepted";
    case 0x80: return "unspecified error";
    case 0x81: return "malformed packet";
    case 0x82: return "protocol error";
    case 0x84: return "unsupported protocol version";
    case 0x85: return "client identifier not valid";
    case 0x86: return "bad user name or password";
    case 0x87: return "not authorized";
    case 0x88: return "server unavailable";
    case 0x89: return "server busy";
    case 0x8A: return "banned";
    case 0x8C: return "bad authentication method";
    case 0x95: return "packet too large";
    case 0x97: return "quota exceeded";
    case 0x9F: return "connection rate exceeded";
    default: return "refused with reason code " + std::to_string(code);
  }
}

std::string puback_reason_text(std::uint8_t code) {
  switch (code) {
    case 0x00: return "success";
    case 0x10: return "no matching subscribers";
    case 0x80: return "unspecified error";
    case 0x83: return "implementation specific error";
    case 0x87: return "not authorized (check the broker's ACL for this topic)";
    case 0x90: return "topic name invalid";
    case 0x91: return "packet identifier in use";
    case 0x97: return "quota exceeded";
    case 0x99: return "payload format invalid";
    default: return "refused with reason code " + std::to_string(code);
  }
}

std::string check_publish_topic(std::string_view topic) {
  if (topic.empty()) return "a topic must not be empty";
  if (topic.size() > 65535) {
    return "a topic has " + std::to_string(topic.size()) + " bytes; MQTT allows at most 65,535";
  }
  if (!is_valid_utf8(topic)) return "a topic is not valid UTF-8; topics are UTF-8 text";
  // Shown whole up to 200 bytes, cut at a character boundary.
  std::size_t cut = std::min<std::size_t>(topic.size(), 200);
  while (cut < topic.size() && (static_cast<std::uint8_t>(topic[cut]) & 0xC0) == 0x80) --cut;
  std::string shown = "\"" + std::string(topic.substr(0, cut)) + (cut < topic.size() ? "...\"" : "\"");
  if (topic.find('\0') != std::string_view::npos) return "the topic " + shown + " holds a NUL character";
  if (topic.find_first_of("+#") != std::string_view::npos) {
    return "the topic " + shown + " holds a wildcard ('+' or '#'); a message goes to one topic, without wildcards";
  }
  return {};
}

bool topic_matches(std::string_view filter, std::string_view topic) {
  // Topics starting with '$' are not matched by wildcards at the first level (MQTT 4.7.2).
  if (!topic.empty() && topic[0] == '$' && !filter.empty() && (filter[0] == '+' || filter[0] == '#')) return false;
  std::size_t f = 0, t = 0;
  for (;;) {
    std::size_t fe = filter.find('/', f), te = topic.find('/', t);
    std::string_view fl = filter.substr(f, fe == std::string_view::npos ? std::string_view::npos : fe - f);
    std::string_view tl = topic.substr(t, te == std::string_view::npos ? std::string_view::npos : te - t);
    if (fl == "#") return true;
    if (fl != "+" && fl != tl) return false;
    if (fe == std::string_view::npos || te == std::string_view::npos) {
      // "a/#" also matches "a" (the parent level).
      if (fe != std::string_view::npos && te == std::string_view::npos) return filter.substr(fe + 1) == "#";
      return fe == te;
    }
    f = fe + 1;
    t = te + 1;
  }
}

}  // namespace doppel::ingest::mqtt
