#include "api/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

#include <optional>

namespace doppel::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct http_client::impl {
  std::string host;
  unsigned short port = 0;
  std::chrono::milliseconds timeout;
  tls_client_options tls_options;
  net::io_context ioc;
  std::optional<beast::tcp_stream> stream;  // set when plain HTTP
  std::optional<net::ssl::context> tls_context;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;  // set when tls_options.enabled
  beast::flat_buffer buffer;
  std::optional<websocket::stream<beast::tcp_stream>> ws;

  status open() {
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec) return status::io_error("cannot resolve " + host + ": " + ec.message());
    beast::tcp_stream fresh(ioc);
    fresh.expires_after(timeout);
    fresh.connect(results, ec);
    if (ec) return status::io_error("cannot connect to " + host + ":" + std::to_string(port) + ": " + ec.message());
    fresh.socket().set_option(tcp::no_delay(true), ec);
    buffer.clear();
    if (!tls_options.enabled) {
      stream.emplace(std::move(fresh));
      return status::ok();
    }
    if (status s = make_context(); !s) return s;
    tls.emplace(std::move(fresh), *tls_context);
    // SNI, and the name the certificate must carry.
    // SSL_set_tlsext_host_name, spelled out: the macro's C cast trips -Wold-style-cast.
    if (!SSL_ctrl(tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                  const_cast<char*>(host.c_str()))) {
      return status::io_error("cannot set the TLS server name " + host);
    }
    if (!tls_options.insecure) tls->set_verify_callback(net::ssl::host_name_verification(host));
    tls->handshake(net::ssl::stream_base::client, ec);
    if (ec) {
      return status::io_error("TLS handshake with " + host + ":" + std::to_string(port) + " failed: " + ec.message() +
                              (tls_options.ca_file.empty() && !tls_options.insecure
                                   ? " (for a self-signed certificate pass its CA with --cacert)"
                                   : ""));
    }
    return status::ok();
  }

  status make_context() {
    if (tls_context) return status::ok();
    tls_context.emplace(net::ssl::context::tls_client);
    tls_context->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                             net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1);
    beast::error_code ec;
    if (tls_options.insecure) {
      tls_context->set_verify_mode(net::ssl::verify_none);
      return status::ok();
    }
    tls_context->set_verify_mode(net::ssl::verify_peer);
    if (tls_options.ca_file.empty()) {
      tls_context->set_default_verify_paths(ec);
    } else {
      tls_context->load_verify_file(tls_options.ca_file, ec);
    }
    if (ec) return status::io_error("cannot load the trusted CAs " + tls_options.ca_file + ": " + ec.message());
    return status::ok();
  }

  void close() {
    beast::error_code ec;
    if (tls) {
      beast::get_lowest_layer(*tls).socket().close(ec);
      tls.reset();
    } else if (stream) {
      stream->socket().close(ec);
      stream.reset();
    }
  }

  result<response> exchange(const request& req) {
    if (tls) return exchange_on(*tls, req);
    if (!stream) return status::io_error("not connected");
    return exchange_on(*stream, req);
  }

  template <class Stream>
  result<response> exchange_on(Stream& s, const request& req) {
    http::request<http::string_body> r{http::string_to_verb(req.method), req.target, 11};
    r.set(http::field::host, host + ":" + std::to_string(port));
    for (const auto& [k, v] : req.headers) r.set(k, v);
    if (!req.body.empty() && r.find(http::field::content_type) == r.end()) {
      r.set(http::field::content_type, "application/json");
    }
    r.body() = req.body;
    r.prepare_payload();
    r.keep_alive(true);
    beast::error_code ec;
    beast::get_lowest_layer(s).expires_after(timeout);
    http::write(s, r, ec);
    if (ec) return status::io_error("cannot send the request: " + ec.message());
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ull << 30);
    parser.skip(req.method == "HEAD");  // its Content-Length is the GET's; no body follows
    http::read(s, buffer, parser, ec);
    if (ec) return status::io_error("no response: " + ec.message());
    auto& m = parser.get();
    response out;
    out.status = m.result_int();
    out.content_type = std::string(m[http::field::content_type]);
    for (const auto& f : m) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    out.body = std::move(m.body());
    if (!m.keep_alive()) {
      close();
      closed = true;
    }
    return out;
  }
  bool closed = false;
};

http_client::http_client(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
http_client::~http_client() = default;

bool http_client::parse_url(const std::string& url, std::string& host, unsigned short& port, bool* https) {
  std::string rest = url;
  bool secure = rest.rfind("https://", 0) == 0;
  if (https) *https = secure;
  if (secure) {
    if (!https) return false;  // the caller cannot speak it
    rest = rest.substr(8);
  } else if (rest.rfind("http://", 0) == 0) {
    rest = rest.substr(7);
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  try {
    std::size_t used = 0;
    int p = std::stoi(rest.substr(colon + 1), &used);
    if (used != rest.size() - colon - 1 || p <= 0 || p > 65535) return false;
    port = static_cast<unsigned short>(p);
  } catch (const std::exception&) {
    return false;
  }
  host = rest.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return true;
}

result<std::unique_ptr<http_client>> http_client::connect(const std::string& host, unsigned short port,
                                                          std::chrono::milliseconds timeout, tls_client_options tls) {
  auto i = std::make_unique<impl>();
  i->host = host;
  i->port = port;
  i->timeout = timeout;
  i->tls_options = std::move(tls);
  if (status s = i->open(); !s) return s;
  return std::unique_ptr<http_client>(new http_client(std::move(i)));
}

result<response> http_client::send(const request& req) {
  if (impl_->closed) {
    if (status s = impl_->open(); !s) return s;
    impl_->closed = false;
  }
  auto r = impl_->exchange(req);
  if (r) return r;
  // The server may have closed an idle keep-alive connection: one fresh attempt.
  impl_->close();
  if (status s = impl_->open(); !s) return s;
  return impl_->exchange(req);
}

status http_client::websocket(const std::string& target, const std::string& token) {
  if (!impl_->stream) return status::failed_precondition("this client speaks WebSocket over plain HTTP only");
  impl_->stream->expires_never();
  impl_->ws.emplace(std::move(*impl_->stream));
  impl_->ws->set_option(websocket::stream_base::decorator([token](websocket::request_type& r) {
    if (!token.empty()) r.set(http::field::authorization, "Bearer " + token);
  }));
  websocket::response_type res;
  beast::error_code ec;
  impl_->ws->handshake(res, impl_->host + ":" + std::to_string(impl_->port), target, ec);
  if (ec) {
    return status::io_error("WebSocket handshake refused (HTTP " + std::to_string(res.result_int()) +
                            "): " + res.body());
  }
  // /events says when the subscription is live; after that no change is missed.
  auto hello = read_message(impl_->timeout);
  if (!hello) return hello.error();
  if (hello->find(R"("type":"subscribed")") == std::string::npos) {
    return status::io_error("expected the subscription notice first, got " + *hello);
  }
  return status::ok();
}

result<std::string> http_client::read_message(std::chrono::milliseconds timeout) {
  if (!impl_->ws) return status::failed_precondition("not a WebSocket connection");
  beast::get_lowest_layer(*impl_->ws).expires_after(timeout);
  beast::flat_buffer buf;
  beast::error_code ec;
  impl_->ws->read(buf, ec);
  if (ec == websocket::error::closed) {
    return status::io_error("closed: " + std::string(impl_->ws->reason().reason.c_str()));
  }
  if (ec) return status::io_error(ec.message());
  return beast::buffers_to_string(buf.data());
}

}  // namespace doppel::api
