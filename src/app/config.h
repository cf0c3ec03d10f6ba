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
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

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
};

struct ingest_config {
  int shards = 0;                       // pipeline shards; 0: half the cores
  std::size_t queue_readings = 100000;  // per shard, before submits are refused (503)
  std::size_t dead_letters = 10000;     // kept for GET /deadletters
};

// "HOST:PORT" or "[v6]:PORT"; false when malformed.
bool parse_listen(const std::string& text, std::string& host, unsigned short& port);

struct project_config {
  std::string name;
  std::string description;
  std::vector<std::string> models{"models"};  // default: models/
  std::vector<std::string> twins{"twins"};    // default: twins/
  api_config api;
  ingest_config ingest;
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
