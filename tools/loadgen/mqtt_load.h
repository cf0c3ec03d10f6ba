// MQTT load: a blocking publisher and a bare counting subscriber on Doppel's own packet codec and
// plain sockets. Used by doppel-loadgen (tools/loadgen), the MQTT benchmark (its subscriber is the
// anchor: the broker's delivery ceiling to a client that does nothing but count and acknowledge)
// and the tests. Independent of the connector under test except for the codec, which has its own
// tests. Threading: one object per thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "ingest/mqtt_codec.h"

namespace doppel::loadgen {

// A simulated pump's message: the nine telemetries of the pump-station Pump model (its motor's
// as motor.*), slowly varying with `seq`, stamped with `ts_ms` (a redelivery lands once).
inline std::string pump_payload(long twin, long seq, std::int64_t ts_ms) {
  char buf[512];
  double phase = static_cast<double>((twin * 7 + seq) % 600) / 600.0;
  int n = std::snprintf(buf, sizeof buf,
                        "{\"dischargePressure\":%.2f,\"suctionPressure\":%.2f,\"flow\":%.1f,\"speed\":%.0f,"
                        "\"vibration\":%.3f,\"running\":true,\"motor.power\":%.1f,\"motor.current\":%.1f,"
                        "\"motor.windingTemperature\":%.1f,\"$ts\":%lld}",
                        4.0 + phase, 0.8 + phase / 10, 40.0 + 5 * phase, 1450.0 + 30 * phase, 0.2 + phase / 50,
                        55.0 + 3 * phase, 98.0 + 4 * phase, 61.0 + phase, static_cast<long long>(ts_ms));
  return std::string(buf, static_cast<std::size_t>(n));
}
inline constexpr int pump_payload_fields = 9;

class mqtt_client {
 public:
  mqtt_client() = default;
  mqtt_client(const mqtt_client&) = delete;
  mqtt_client& operator=(const mqtt_client&) = delete;
  ~mqtt_client() { close_socket(); }

  // `username` and `password` are sent when not empty (the managed broker wants them).
  // `clean_start` false keeps the session (with MQTT 3.1.1; MQTT 5 would need a session expiry).
  bool connect(unsigned short port, const std::string& client_id, std::uint8_t version = ingest::mqtt::v5,
               const std::string& username = "", const std::string& password = "", bool clean_start = true) {
    version_ = version;
    close_socket();  // a client may try again after a refusal
    in_.clear();
    out_.clear();
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return fail("connect failed");
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ingest::mqtt::connect_options o;
    o.version = version;
    o.client_id = client_id;
    o.clean_start = clean_start;
    o.keepalive_s = 60;
    o.has_username = !username.empty();
    o.username = username;
    o.has_password = !password.empty();
    o.password = password;
    ingest::mqtt::encode_connect(o, out_);
    if (!flush()) return false;
    ingest::mqtt::frame f;
    if (!next(f) || f.type != ingest::mqtt::packet_type::connack) return fail("no CONNACK");
    ingest::mqtt::connack c;
    std::string err;
    if (!ingest::mqtt::parse_connack(f, version, c, err) || c.reason != 0) return fail("connection refused");
    consume(f);
    return true;
  }

  // Queues a message; writes when 64 KiB are queued.
  bool publish(const std::string& topic, const std::string& payload, std::uint8_t qos = 1) {
    std::uint16_t id = 0;
    if (qos) {
      id = next_id_++;
      if (next_id_ == 0) next_id_ = 1;
      ++outstanding_;
    }
    ingest::mqtt::encode_publish(version_, topic, payload, qos, id, false, out_);
    if (out_.size() >= 65536 && !flush()) return false;
    // Keep the number in flight bounded, as a real client does.
    while (outstanding_ > 1000) {
      if (!read_acks(std::chrono::seconds(30))) return false;
    }
    return true;
  }

  // Writes what is queued and waits until every QoS 1 message is acknowledged.
  bool wait_acks(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    if (!flush()) return false;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (outstanding_ > 0) {
      if (std::chrono::steady_clock::now() > deadline) return fail("PUBACKs missing");
      if (!read_acks(std::chrono::seconds(5))) return false;
    }
    return true;
  }

  // Subscribes (QoS 0 or 1) and waits for the SUBACK; `granted`, when given, is its code (the
  // QoS granted, or 0x80 and up when refused).
  bool subscribe(const std::string& filter, std::uint8_t qos, std::uint8_t* granted = nullptr) {
    ingest::mqtt::encode_subscribe(version_, 1, {{filter, qos}}, out_);
    if (!flush()) return false;
    ingest::mqtt::frame f;
    if (!next(f) || f.type != ingest::mqtt::packet_type::suback) return fail("no SUBACK");
    ingest::mqtt::suback s;
    std::string err;
    if (granted && ingest::mqtt::parse_suback(f, version_, s, err) && !s.granted.empty()) *granted = s.granted[0];
    consume(f);
    return true;
  }

  // The bare subscriber: reads until `want` messages arrived (acknowledging QoS 1 ones at once,
  // one write per read) or `idle` passes without any. Returns the count.
  long count_until(long want, std::chrono::milliseconds idle) {
    long seen = 0;
    std::string err;
    while (seen < want) {
      if (!fill(idle)) break;
      std::size_t at = 0;
      ingest::mqtt::frame f;
      while (ingest::mqtt::next_frame(std::string_view(in_).substr(at), 1 << 28, f, err) ==
             ingest::mqtt::frame_result::ok) {
        if (f.type == ingest::mqtt::packet_type::publish) {
          ++seen;
          if ((f.flags >> 1 & 3) == 1) {
            ingest::mqtt::publish p;
            if (ingest::mqtt::parse_publish(f, version_, p, err)) ingest::mqtt::encode_puback(p.packet_id, out_);
          }
        }
        at += f.size;
      }
      in_.erase(0, at);
      if (!flush()) break;
    }
    return seen;
  }

  // Waits for the next message (acknowledging it at QoS 1) and returns its topic and payload.
  bool next_message(std::string& topic, std::string& payload,
                    std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    for (;;) {
      ingest::mqtt::frame f;
      if (!next(f, wait)) return false;
      if (f.type == ingest::mqtt::packet_type::publish) {
        ingest::mqtt::publish p;
        std::string err;
        if (!ingest::mqtt::parse_publish(f, version_, p, err)) return fail(err);
        topic = std::string(p.topic);
        payload = std::string(p.payload);
        if (p.qos == 1) ingest::mqtt::encode_puback(p.packet_id, out_);
        consume(f);
        return flush();
      }
      consume(f);
    }
  }

  void disconnect() {
    if (fd_ < 0) return;
    ingest::mqtt::encode_disconnect(version_, out_);
    flush();
    close_socket();
  }

  const std::string& error() const { return error_; }

 private:
  bool fail(const std::string& why) {
    error_ = why;
    return false;
  }
  void close_socket() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool flush() {
    std::size_t at = 0;
    while (at < out_.size()) {
      ssize_t n = ::send(fd_, out_.data() + at, out_.size() - at, MSG_NOSIGNAL);
      if (n <= 0) return fail("send failed");
      at += static_cast<std::size_t>(n);
    }
    out_.clear();
    return true;
  }
  bool fill(std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return fail("no answer from the broker");
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return fail("the broker closed the connection");
    in_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  bool next(ingest::mqtt::frame& f, std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    std::string err;
    for (;;) {
      auto r = ingest::mqtt::next_frame(in_, 1 << 28, f, err);
      if (r == ingest::mqtt::frame_result::ok) return true;
      if (r == ingest::mqtt::frame_result::error) return fail(err);
      if (!fill(wait)) return false;
    }
  }
  void consume(const ingest::mqtt::frame& f) { in_.erase(0, f.size); }
  bool read_acks(std::chrono::milliseconds wait) {
    if (!flush()) return false;
    ingest::mqtt::frame f;
    if (!next(f, wait)) return false;
    if (f.type == ingest::mqtt::packet_type::puback) --outstanding_;
    consume(f);
    // Everything else already here, without waiting.
    std::string err;
    while (ingest::mqtt::next_frame(in_, 1 << 28, f, err) == ingest::mqtt::frame_result::ok) {
      if (f.type == ingest::mqtt::packet_type::puback) --outstanding_;
      consume(f);
    }
    return true;
  }

  int fd_ = -1;
  std::uint8_t version_ = ingest::mqtt::v5;
  std::string out_, in_, error_;
  std::uint16_t next_id_ = 1;
  long outstanding_ = 0;
};

}  // namespace doppel::loadgen
