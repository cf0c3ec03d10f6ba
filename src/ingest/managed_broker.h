// The managed broker: a Mosquitto process that `doppel serve` starts and supervises, so devices
// have a broker to publish to with no set-up. It listens on loopback only (devices elsewhere reach
// it through a gateway, or the project names its own broker), with a generated configuration that
// suits a twin engine: persistence on (what is queued for Doppel's persistent session survives a
// broker restart), queues large enough for Doppel to be away for a while, and no limit on QoS 1
// messages in flight to a client (Doppel acknowledges in batches).
//
// Nobody gets in without a password (docs/ingest.md, "Broker credentials"): Doppel's own
// connection has the user "doppel" with a random password kept in DIR/doppel-credentials.json
// (mode 0600, reused across restarts, as is a random suffix for Doppel's client id, so taking
// over its session by client id needs the credentials anyway); devices have the credentials of
// `doppel device add` (devices_file). The ACL file keeps subscriptions to doppel/... and $SYS to
// Doppel; devices may publish telemetry (for their twins, or any twin with a fleet credential) and
// read their desired/command topics. The password and ACL files are written at start and again
// when devices_file changes, and the broker is told to reload them (SIGHUP).
//
// The process is started from the supervisor thread with a parent-death signal, so it ends when
// Doppel ends, even by kill -9; if it exits on its own, it is started again (with backoff).
//
// Callers: `doppel serve`. Threading: start/stop from one thread; url() from any.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace doppel::ingest {

struct broker_options {
  std::string host = "127.0.0.1";
  unsigned short port = 1883;  // 0: any free port
  std::filesystem::path dir;   // configuration, persistence and log live here
  std::string program;         // empty: mosquitto from PATH, /usr/sbin or /usr/local/sbin
  std::string extra_config;    // lines appended to the generated mosquitto.conf (another listener, ...)
  // The devices allowed in (`doppel device add`); empty or missing: only Doppel's own connection.
  std::filesystem::path devices_file;
  // Topic filters besides doppel/twins/+/telemetry that fleet devices may publish to (the
  // project's mapped topics).
  std::vector<std::string> publish_filters;
  // Packets larger than this are refused at the door (MQTT 5 publishers get reason 0x95 "packet
  // too large", 3.1.1 publishers are disconnected); 0: Mosquitto's own limit (256 MiB).
  std::size_t max_packet_bytes = 0;
};

class managed_broker {
 public:
  // Starts Mosquitto and waits until it accepts connections; the error says why it could not
  // (not installed, the port in use, ...) with the last lines of its log.
  static result<std::unique_ptr<managed_broker>> start(broker_options options);
  ~managed_broker();  // stops

  std::string url() const;  // mqtt://HOST:PORT
  unsigned short port() const;
  // Times the process had to be started again after it exited on its own.
  int restarts() const;
  // Doppel's own credentials and the suffix to make its client id hard to guess.
  std::string username() const;
  std::string password() const;
  std::string client_suffix() const;
  // Times the password and ACL files were written again because devices_file changed.
  int reloads() const;

 private:
  struct impl;
  explicit managed_broker(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace doppel::ingest
