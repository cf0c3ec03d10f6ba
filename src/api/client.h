// A small blocking HTTP/1.1 client with keep-alive (Boost.Beast inside client.cpp), for the
// CLI's `doppel twin ...` / `doppel query`, the integration tests and the load generator.
// Speaks HTTPS (OpenSSL; the server's certificate and host name are verified) and just enough
// WebSocket (plain HTTP only) to subscribe to /events.
//
// Threading: one client per thread; not synchronized.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "api/http.h"
#include "core/status.h"

namespace doppel::api {

struct tls_client_options {
  bool enabled = false;   // https://
  std::string ca_file;    // PEM file of the CAs to trust; empty: the system's (/etc/ssl/certs)
  bool insecure = false;  // accept any certificate (for a throwaway self-signed one only)
};

class http_client {
 public:
  // Connects to host:port (and shakes hands when `tls.enabled`). io_error when the connection
  // is refused or the server's certificate is not trusted (the message says why).
  static result<std::unique_ptr<http_client>> connect(const std::string& host, unsigned short port,
                                                      std::chrono::milliseconds timeout = std::chrono::seconds(30),
                                                      tls_client_options tls = {});
  // "http://host:port" or "https://host:port" -> host, port, https; false when it is not such a
  // URL.
  static bool parse_url(const std::string& url, std::string& host, unsigned short& port, bool* https = nullptr);

  ~http_client();

  // Sends `req` (method, target, headers, body) and reads the response. Reconnects once if the
  // server closed an idle keep-alive connection. io_error on network failure.
  result<response> send(const request& req);

  // Upgrades this connection to a WebSocket on `target` (e.g. "/events?twin=pump-1") with the
  // given token and waits for the server's {"type":"subscribed"}: changes after the return are
  // all delivered. After that only read_message() may be used.
  status websocket(const std::string& target, const std::string& token);
  // The next text message; io_error when the connection closed (the close reason is in the
  // message) or `timeout` passed.
  result<std::string> read_message(std::chrono::milliseconds timeout);

 private:
  struct impl;
  explicit http_client(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace doppel::api
