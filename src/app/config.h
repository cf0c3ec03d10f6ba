// doppel.yaml: the project file. Parsed with yaml-cpp and checked strictly: an unknown key, a
// wrong type or a bad value is an error naming file:line:column and what to write instead.
// Called by the CLI (validate, serve) at start; pure function of the text, safe for concurrent use.
//
// Format (docs/project.md):
//   name: pump-station        # required; letters, digits, '.', '_', '-'
//   description: "..."        # optional
//   models: [models]          # optional; folders or files of DTDL models, relative to the project
//   twins: [twins]            # optional; folders of twin declarations, relative to the project
//   api:                      # optional
//     listen: 127.0.0.1:8080  # where `doppel serve` listens (--listen overrides)
//     cors_origins: []        # origins allowed to call from a browser; none by default
//     rate_limit: 0           # requests per second per token; 0: no limit
//     rate_burst: 0           # bucket size; 0: one second's worth
//     max_body_bytes: 4194304
//     tls: {cert: tls/cert.pem, key: tls/key.pem}   # optional: serve HTTPS only
//     enforce_writable: false # true: API writes may set only `writable` properties
//     events_queue_bytes, connection_queue_bytes, max_connections, max_connections_per_token,
//     max_unauthenticated, query_workers, query_queue, queries_per_token, query_max_work
//   ingest: {shards: 0, queue_readings: 100000, dead_letters: 10000, dead_letter_bytes: 67108864}
//     device_reported: {"dtmi:example:Asset;1": [firmwareVersion]}   # non-writable properties
//                                                                      # telemetry may report
//   history:                  # optional; docs/history.md
//     retention: 90d          # drop history older than this; absent: keep forever
//     retention_by_model: {"dtmi:example:Pump;1": 30d}
//     late_window: 1h         # refuse points older than the series' newest by more; absent: any
//   store: {max_bytes: 0, checkpoint_interval: 2s}   # optional; the metadata store
//   simulation:               # optional; docs/simulation.md
//     live: [{model: "dtmi:example:Pump;1", equations: pump, inputs: {speed: speed}, ...}]
//   mqtt:                     # optional; docs/ingest.md
//     broker: managed         # managed (Mosquitto run by serve) | off | mqtt://HOST:PORT | mqtts://...
//     listen: 127.0.0.1:1883  # the managed broker's address
//     topics: [{topic: plant/{site}/pump/{id}/telemetry, twin: pump-{id}}]
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/mapping.h"
#include "sim/live_spec.h"

namespace doppel::app {

struct config_error {
  std::string file;
  std::uint32_t line = 0;    // 1-based; 0 when unknown
  std::uint32_t column = 0;  // 1-based
  std::string message;       // what is wrong and how to fix it
};

struct api_config {
  std::string listen = "127.0.0.1:8080";
  std::string host = "127.0.0.1";
  unsigned short port = 8080;
  std::vector<std::string> cors_origins;
  double rate_limit = 0;
  double rate_burst = 0;
  std::size_t max_body_bytes = 4 << 20;
  std::string tls_cert, tls_key;  // PEM files relative to the project; both or neither
  // The web app's folder, served at / (api/static_files.h): relative to the project; "off": none;
  // empty (the default): the `web` folder beside the doppel binary, when there is one.
  std::string web_root;
  // PUT and PATCH /digitaltwins/{id} refuse properties the model does not mark writable. False
  // (the default): the API may write every property, as in Azure Digital Twins; `writable` then
  // decides only what has a desired state and what a device may report.
  bool enforce_writable = false;
  // Resource bounds (docs/project.md); 0 where noted means "derived".
  std::size_t events_queue_bytes = std::size_t(16) << 20;     // per WebSocket subscriber
  std::size_t connection_queue_bytes = std::size_t(8) << 20;  // answers queued per connection
  std::size_t max_connections = 0;                            // 0: min(1024, fd limit - 128)
  std::size_t max_connections_per_token = 64;
  std::size_t max_unauthenticated = 256;  // connections that have not completed a request
  std::size_t query_workers = 0;          // 0: cores - 1, at least one
  std::size_t query_queue = 64;           // queries waiting for a worker
  std::size_t queries_per_token = 2;      // running or waiting at once
  std::uint64_t query_max_work = 20'000'000;
};

// The MQTT side (docs/ingest.md): a managed Mosquitto by default, or an existing broker.
struct mqtt_config {
  std::string broker = "managed";         // managed | off | mqtt://HOST:PORT | mqtts://HOST:PORT
  std::string listen = "127.0.0.1:1883";  // the managed broker's address; port 0: any free port
  std::string host = "127.0.0.1";
  unsigned short port = 1883;
  std::string client_id;  // empty: doppel-<project name>
  std::string username, password, password_env;
  std::uint8_t version = 5;  // 5 or 4 (3.1.1)
  std::uint8_t qos = 1;
  int keepalive_s = 30;
  std::uint32_t session_expiry_s = 7 * 24 * 3600;
  std::size_t max_packet_bytes = 1 << 20;
  int reconnect_min_ms = 100, reconnect_max_ms = 30000;
  // Outbound (docs/ingest.md, "Publishing to devices"): QoS 1 messages in flight, and the
  // outgoing queue's bounds.
  int max_inflight_out = 100;
  std::size_t out_queue_messages = 10000;
  std::size_t out_queue_bytes = 16 << 20;
  std::string ca, cert, key;  // PEM files relative to the project (mqtts://)
  bool insecure = false;
  std::vector<ingest::mapping_rule> topics;  // empty: doppel/twins/{twin}/telemetry
};

// ingest.device_reported: a non-writable property a device may report through telemetry
// (docs/ingest.md, "What a device may change"). Checked against the models by load_projects.
struct device_reported_entry {
  std::string model;                   // an interface id; counts for the interfaces that extend it
  std::string name;                    // a property, or "component.property"
  std::uint32_t line = 0, column = 0;  // where in doppel.yaml, for errors
};

struct ingest_config {
  int shards = 0;                                        // pipeline shards; 0: half the cores
  std::size_t queue_readings = 100000;                   // per shard, before submits are refused (503)
  std::size_t dead_letters = 10000;                      // kept for GET /deadletters (durable, oldest dropped first)
  std::size_t dead_letter_bytes = 64 << 20;              // bound on the raw text kept by the dead letters
  std::vector<device_reported_entry> device_reported{};  // empty: only writable properties
};

// Telemetry history (docs/history.md). Durations in ns; 0: no limit.
struct history_config {
  std::int64_t retention_ns = 0;
  std::map<std::string, std::int64_t, std::less<>> retention_by_model;  // model id -> ns
  std::int64_t late_window_ns = 0;
};

// The metadata store (docs/formats/metadata-store.md).
struct store_config {
  std::uint64_t max_bytes = 0;              // cap on doppel.db (SQLite max_page_count); 0: none
  std::int64_t checkpoint_interval_ms = 0;  // twins reach their table this often; 0: 2 s
};

// "HOST:PORT" or "[v6]:PORT"; false when malformed.
bool parse_listen(const std::string& text, std::string& host, unsigned short& port);

// Simulation beside the twins (docs/simulation.md, "Live simulation"): equation models in sim/
// run for the twins of a model, fed by their telemetry and properties. Checked against the
// models and equation files by load_projects.
struct simulation_config {
  std::vector<sim::live_spec> live;
};

struct project_config {
  std::string name;
  std::string description;
  std::vector<std::string> models{"models"};  // default: models/
  std::vector<std::string> twins{"twins"};    // default: twins/
  api_config api;
  ingest_config ingest;
  history_config history;
  mqtt_config mqtt;
  store_config store;
  simulation_config simulation;
};

struct config_result {
  project_config config;
  std::vector<config_error> errors;  // empty when the config is valid
  bool ok() const { return errors.empty(); }
};

// Parses doppel.yaml text; `file` is only used to label errors.
config_result parse_config(std::string_view text, const std::string& file);

// Reads and parses DIR/doppel.yaml.
config_result load_config(const std::filesystem::path& project_dir);

// "file:line:column: error: message"
std::string format(const config_error& e);

// The doppel.yaml that `doppel init` writes.
std::string default_config_text(std::string_view name);

}  // namespace doppel::app
