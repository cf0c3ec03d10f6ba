// The shape every long-running source of telemetry has (the MQTT client today; OPC UA, Modbus
// and Kafka later), so that `doppel serve` can start and stop them alike, /healthz can report
// them and /metrics can count them. The HTTP and line-protocol routes are not connectors: they
// live and die with the API server.
//
// Threading: start and stop from one thread (serve's); health and render_metrics from any.
// A connector that can also send implements `outbound` (below).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"

namespace doppel::ingest {

class connector {
 public:
  virtual ~connector() = default;
  // Begins connecting in the background; an error only for what can never work (bad options).
  virtual status start() = 0;
  // Stops taking messages and returns once nothing it started is running.
  virtual void stop() = 0;
  // {"name", "connected", "state", "lastError", ...}: what an operator needs to see.
  virtual nlohmann::json health() const = 0;
  // doppel_<name>_* metric families in the Prometheus text format.
  virtual void render_metrics(std::string& out) const = 0;
};

// The sending side of a connector: what src/control uses to bring commands and desired state to
// devices without knowing the protocol behind it (MQTT today). Messages go out in the order
// publish() accepted them.
//
// Threading: publish is safe to call from any thread and never blocks; completions run on the
// connector's own thread (keep them short, never wait in them, never stop the connector from one).
class outbound {
 public:
  // Called exactly once for each accepted message: ok once the message is delivered as its QoS
  // promises, or the reason it was not (see publish).
  using completion = std::function<void(status)>;

  virtual ~outbound() = default;

  // Queues `payload` for `topic` at `qos` (0: at most once; 1: at least once), kept by the
  // broker as the topic's retained message when `retain`. Returns at once:
  // - ok: accepted; `done` follows. QoS 0: ok once written to the connection, `unavailable` if the
  //   connection is lost first. QoS 1: ok once the broker acknowledged it; a message not yet
  //   acknowledged is sent again after a reconnect (duplicates are possible, losses are not);
  //   `failed_precondition` if the broker refused it (MQTT 5: not authorized, quota, ...),
  //   `unavailable` if the connector stopped first.
  // - invalid_argument: the topic is empty, holds a wildcard or a NUL, is not UTF-8 or too long,
  //   the QoS is not 0 or 1, or the message is larger than the connection allows; `done` is not
  //   called.
  // - unavailable: the outgoing queue is full (messages or bytes), a QoS 0 message finds no
  //   connection, or the connector is stopped; `done` is not called. Try again later.
  virtual status publish(std::string topic, std::string payload, std::uint8_t qos, bool retain, completion done) = 0;
};

}  // namespace doppel::ingest
