// The shape every long-running source of telemetry has (the MQTT client today; OPC UA, Modbus
// and Kafka later), so that `doppel serve` can start and stop them alike, /healthz can report
// them and /metrics can count them. The HTTP and line-protocol routes are not connectors: they
// live and die with the API server.
//
// Threading: start and stop from one thread (serve's); health and render_metrics from any.
#pragma once

#include <nlohmann/json.hpp>

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

}  // namespace doppel::ingest
