// The HTTP/1.1 + WebSocket server (Boost.Beast over Boost.Asio), kept out of every other header
// so that only server.cpp pays Beast's compile time.
//
// Each connection reads one request at a time (keep-alive), bounded in size (413 beyond
// max_body_bytes, 431-style 413 for huge headers) and in time (a request must arrive within
// read_timeout; idle keep-alive connections close after idle_timeout), and connections are
// bounded in number and in the bytes of answers they queue (server_options). The server adds
// doppel_http_* gauges and counters to the router's /metrics. Requests go to the
// router; a write's response is sent once the router's completion reports it durable, without
// blocking an I/O thread. GET /events upgrades to a WebSocket streaming change events
// (events.h), filtered by ?twin=, ?model=, ?type= (each repeatable).
//
// Callers: `doppel serve` (app) starts one. Threading: start() returns once the socket is bound
// and `threads` I/O threads run; stop() may be called from any thread (a signal handler's
// thread included) and returns once they have finished.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "api/events.h"
#include "api/router.h"
#include "core/status.h"

namespace doppel::api {

struct server_options {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;  // 0: any free port (port() tells which)
  // I/O threads; 0: half the cores, at least one (the metadata store's writer thread and the
  // clients want the rest: on 2 cores one I/O thread answers more than two).
  int threads = 0;
  std::size_t max_body_bytes = 4 << 20;
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds idle_timeout{60};
  // PEM files; both set: the server speaks HTTPS (and WSS) only, TLS 1.2 or newer.
  std::string tls_cert, tls_key;
  // Bounds (docs/project.md, api.*). A connection stops reading requests while the answers it
  // has not sent yet exceed max_queued_bytes (back-pressure: a client that does not read is
  // not read from). Connections past max_connections get 503 with Retry-After at accept;
  // those past max_connections_per_token get 429 after their first request. Connections that
  // have not completed a request are at most max_unauthenticated: a new one closes the
  // oldest, and once more than half are used their header timeout is pressure_timeout.
  std::size_t max_queued_bytes = std::size_t(8) << 20;
  std::size_t max_connections = 0;  // 0: min(1024, RLIMIT_NOFILE - 128), at least 16
  std::size_t max_connections_per_token = 64;
  std::size_t max_unauthenticated = 256;
  std::chrono::seconds pressure_timeout{5};
};

class server {
 public:
  static result<std::unique_ptr<server>> start(router& r, event_hub& events, server_options options);
  ~server();  // stops

  unsigned short port() const;
  std::string url() const;  // http://host:port, or https:// with TLS
  void stop();
  // Blocks until stop() has been called and the I/O threads are done.
  void wait();

 private:
  struct impl;
  explicit server(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace doppel::api
