// The MQTT connector: a subscriber client of a broker (the managed Mosquitto or one named in
// doppel.yaml) that turns messages into readings through the mapping rules and hands them to the
// telemetry pipeline.
//
// Nothing acknowledged is lost: a QoS 1 message is acknowledged (PUBACK) only once the pipeline
// reports it applied — for a property, durably in the twin store. Each socket read is decoded into
// one batch, so a burst of messages shares one pipeline submission and one write of PUBACKs, in the
// order the broker sent them (MQTT requires it). With a persistent session (clean start off, a
// session expiry) the broker keeps what arrives while Doppel is down and redelivers what was not
// acknowledged; redeliveries are counted.
//
// Backpressure: at most `max_inflight_batches` batches are in the pipeline; beyond that, and
// while the pipeline refuses work, the connector stops reading the socket, so the broker queues
// (and, with MQTT 5, stops sending once `receive_maximum` messages are unacknowledged).
//
// Outbound (publish, the `outbound` interface): messages to devices go out on the same connection,
// in the order accepted. QoS 0 completes once written to the socket; QoS 1 once the broker's
// PUBACK arrives, with at most `max_inflight_out` unacknowledged (fewer if the broker's receive
// maximum says so). Unacknowledged QoS 1 messages are sent again, with DUP and their original
// packet identifiers and order, when the connection is back (the session is persistent). The
// outgoing queue is bounded (`out_queue_messages`, `out_queue_bytes`, counting every message
// accepted and not yet completed): a publish that does not fit is refused at once. While
// disconnected, QoS 1 messages wait in the queue; QoS 0 messages are refused, and those still queued
// when the connection drops complete with `unavailable`. At stop, every message not yet completed
// completes with `unavailable` (on the thread calling stop).
//
// Reconnects with exponential backoff (with jitter) from `reconnect_min` up to `reconnect_max`;
// a keep-alive ping finds a dead connection.
//
// Threading: one I/O thread per connector runs the socket; the pipeline's completions are posted
// back to it. start/stop from one thread; health, render_metrics and publish from any.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "ingest/connector.h"
#include "ingest/dead_letters.h"
#include "ingest/mapping.h"
#include "ingest/pipeline.h"

namespace doppel::ingest {

struct mqtt_options {
  std::string url = "mqtt://127.0.0.1:1883";  // mqtt://HOST:PORT or mqtts://HOST:PORT (TLS)
  std::uint8_t version = 5;                   // 5, or 4 for MQTT 3.1.1
  std::string client_id = "doppel";
  std::string username, password;  // sent when not empty
  std::uint8_t qos = 1;            // the subscription's maximum QoS (0 or 1)
  bool clean_start = false;
  std::uint32_t session_expiry_s = 7 * 24 * 3600;  // MQTT 5: the broker keeps the session that long
  std::uint16_t keepalive_s = 30;
  std::uint16_t receive_maximum = 10000;  // MQTT 5
  std::size_t max_packet_bytes = 1 << 20;
  std::chrono::milliseconds reconnect_min{100}, reconnect_max{30000};
  int max_inflight_batches = 8;
  // Outbound: QoS 1 messages sent and not yet acknowledged (mqtt.max_inflight_out, 1-65534); the
  // outgoing queue's bounds in messages and in topic plus payload bytes (mqtt.out_queue_messages,
  // mqtt.out_queue_bytes), counting every message accepted and not yet completed.
  std::uint16_t max_inflight_out = 100;
  std::size_t out_queue_messages = 10000;
  std::size_t out_queue_bytes = 16 << 20;
  // TLS (mqtts://): CA bundle (empty: the system's), client certificate and key, or no checks.
  std::string ca_file, cert_file, key_file;
  bool insecure = false;
};

class mqtt_connector final : public connector, public outbound {
 public:
  mqtt_connector(mqtt_options options, mapper rules, telemetry_pipeline& pipeline, dead_letters& letters);
  ~mqtt_connector() override;  // stops

  status start() override;
  void stop() override;
  nlohmann::json health() const override;
  void render_metrics(std::string& out) const override;
  // See outbound::publish; the size limit is max_packet_bytes (and the broker's, if smaller).
  status publish(std::string topic, std::string payload, std::uint8_t qos, bool retain, completion done) override;

  // True once subscribed since start() (for tests and start-up messages).
  bool subscribed() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace doppel::ingest
