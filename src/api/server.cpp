#include "api/server.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

#include <sys/resource.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/prometheus.h"
#include "core/text.h"

namespace doppel::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// A response as the bytes on the wire. Written by hand rather than by Beast's serializer so
// that the answers ready on a connection go out in one gather write (one syscall for a whole
// pipelined batch). Header values come from the server itself; CR and LF are dropped anyway.
// `head`: the answer to a HEAD request, whose body is left out (its Content-Length stays).
std::string to_wire(const response& r, unsigned version, bool keep_alive, bool head = false) {
  std::string out;
  out.reserve(160 + r.body.size());
  auto reason = http::obsolete_reason(static_cast<http::status>(r.status));
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ").append(std::to_string(r.status)).append(" ");
  out.append(reason.data(), reason.size()).append("\r\nServer: doppel\r\n");
  auto header = [&out](std::string_view name, std::string_view value) {
    out.append(name).append(": ");
    for (char c : value) {
      if (c != '\r' && c != '\n') out.push_back(c);
    }
    out.append("\r\n");
  };
  if (!r.content_type.empty()) header("Content-Type", r.content_type);
  for (const auto& [k, v] : r.headers) header(k, v);
  if (!keep_alive && version != 10) header("Connection", "close");
  if (keep_alive && version == 10) header("Connection", "keep-alive");
  // RFC 9110: no Content-Length on 1xx and 204 (whose bodies are empty), nor on 304 (where it
  // would have to be the 200's length).
  if (r.status >= 200 && r.status != 204 && r.status != 304) header("Content-Length", std::to_string(r.body.size()));
  out.append("\r\n");
  if (r.status != 204 && r.status != 304 && !head) out.append(r.body);
  return out;
}

// A 400 for a request whose Transfer-Encoding is anything but one "chunked" (RFC 9112 6.3: a
// request whose final coding is not chunked cannot be framed; any other coding is not supported
// either); nullopt when it has none or only that.
template <class Request>
std::optional<response> transfer_encoding_refusal(const Request& req) {
  auto [first, last] = req.equal_range(http::field::transfer_encoding);
  if (first == last) return std::nullopt;
  std::string value;
  for (auto it = first; it != last; ++it) {
    if (!value.empty()) value += ", ";
    value += std::string(it->value());
  }
  std::string trimmed;
  for (char c : value) {
    if (c != ' ' && c != '\t') trimmed.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (trimmed == "chunked") return std::nullopt;
  return router::error(400, "bad_request",
                       "Transfer-Encoding " + quote(value) +
                           " is not supported: send the body as it is (Content-Length) or with "
                           "Transfer-Encoding: chunked alone; the connection is closed");
}

// A connection the tracker may close to admit a newer one, or hurry (shorter header timeout).
class pending_connection {
 public:
  virtual ~pending_connection() = default;
  virtual void evict() = 0;  // any thread: closes the connection on its strand
  virtual void hurry() = 0;  // any thread: the header timeout becomes the pressure timeout
};

// Counts connections (in total, per token, not yet past their first request) and the bytes of
// answers they queue; feeds /metrics. Shared by the acceptor and every session (held by
// shared_ptr, so /metrics may outlive the server). Threading: all members are thread-safe.
class connection_tracker {
 public:
  explicit connection_tracker(const server_options& o) : options_(o) {}

  // Accept: false when the total cap is reached (the caller answers 503).
  bool admit() {
    std::lock_guard lock(mu_);
    if (total_ >= options_.max_connections) {
      refused_total_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    ++total_;
    return true;
  }
  // A new connection waits for its first request: at most max_unauthenticated do (the oldest
  // is closed); returns whether the server is under pressure (its header timeout is short).
  bool add_pending(std::weak_ptr<pending_connection> c, std::list<std::weak_ptr<pending_connection>>::iterator& at) {
    std::vector<std::shared_ptr<pending_connection>> evict, hurry;
    bool pressure = false;
    {
      std::lock_guard lock(mu_);
      while (pending_.size() >= options_.max_unauthenticated && !pending_.empty()) {
        if (auto old = pending_.front().lock()) evict.push_back(std::move(old));
        pending_.front().reset();  // its session still erases its entry: keep the node valid
        evicted_list_.splice(evicted_list_.end(), pending_, pending_.begin());
        evicted_.fetch_add(1, std::memory_order_relaxed);
      }
      at = pending_.insert(pending_.end(), std::move(c));
      pressure = pending_.size() * 2 > options_.max_unauthenticated;
      if (pressure && !pressured_) {
        for (auto& w : pending_) {
          if (auto p = w.lock()) hurry.push_back(std::move(p));
        }
      }
      pressured_ = pressure;
      unauthenticated_.store(pending_.size(), std::memory_order_relaxed);
    }
    // Outside the lock: they post to their strands (and may run their destructors here).
    for (auto& e : evict) e->evict();
    for (auto& h : hurry) h->hurry();
    return pressure;
  }
  void remove_pending(std::list<std::weak_ptr<pending_connection>>::iterator at) {
    std::lock_guard lock(mu_);
    // The node is in pending_ or, once evicted, in evicted_list_; both are std::lists.
    bool in_pending = false;
    for (auto it = pending_.begin(); it != pending_.end() && !in_pending; ++it) in_pending = it == at;
    if (in_pending) {
      pending_.erase(at);
    } else {
      evicted_list_.erase(at);
    }
    pressured_ = pending_.size() * 2 > options_.max_unauthenticated;
    unauthenticated_.store(pending_.size(), std::memory_order_relaxed);
  }
  // The first request of a connection with a token: false when the token holds its cap.
  bool bind_token(const std::string& name) {
    std::lock_guard lock(mu_);
    std::size_t& n = per_token_[name];
    if (n >= options_.max_connections_per_token) {
      if (n == 0) per_token_.erase(name);
      refused_token_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    ++n;
    return true;
  }
  void release(const std::string& token) {
    std::lock_guard lock(mu_);
    --total_;
    if (token.empty()) return;
    auto it = per_token_.find(token);
    if (it != per_token_.end() && --it->second == 0) per_token_.erase(it);
  }
  void queued(std::ptrdiff_t delta, std::size_t connection_now) {
    queued_bytes_.fetch_add(static_cast<std::size_t>(delta), std::memory_order_relaxed);
    std::size_t peak = peak_bytes_.load(std::memory_order_relaxed);
    while (connection_now > peak && !peak_bytes_.compare_exchange_weak(peak, connection_now)) {
    }
  }

  void render(std::string& out) const {
    std::size_t total;
    {
      std::lock_guard lock(mu_);
      total = total_;
    }
    prometheus::writer w(out);
    w.gauge("doppel_http_connections", "Open HTTP and WebSocket connections.", total);
    w.gauge("doppel_http_max_connections", "The cap on connections (api.max_connections).", options_.max_connections);
    w.gauge("doppel_http_unauthenticated_connections", "Connections that have not completed a request.",
            unauthenticated_.load());
    w.gauge("doppel_http_queued_bytes", "Bytes of answers waiting to be sent, over all connections.",
            queued_bytes_.load());
    w.gauge("doppel_http_queued_peak_bytes", "The most one connection has had queued.", peak_bytes_.load());
    w.family("doppel_http_connections_refused_total",
             "Connections refused: over the total cap (503) or over their token's (429).",
             prometheus::metric_type::counter)
        .sample("doppel_http_connections_refused_total", {{"reason", "total"}}, refused_total_.load())
        .sample("doppel_http_connections_refused_total", {{"reason", "token"}}, refused_token_.load());
    w.counter("doppel_http_connections_evicted_total", "Connections without a request closed to admit new ones.",
              evicted_.load());
  }

  const server_options& options() const { return options_; }

 private:
  server_options options_;
  mutable std::mutex mu_;
  std::size_t total_ = 0;                                      // guarded by mu_
  std::unordered_map<std::string, std::size_t> per_token_;     // guarded by mu_
  std::list<std::weak_ptr<pending_connection>> pending_;       // guarded by mu_: oldest first
  std::list<std::weak_ptr<pending_connection>> evicted_list_;  // guarded by mu_: closing
  bool pressured_ = false;                                     // guarded by mu_
  std::atomic<std::size_t> unauthenticated_{0}, queued_bytes_{0}, peak_bytes_{0};
  std::atomic<std::uint64_t> refused_total_{0}, refused_token_{0}, evicted_{0};
};

// A connection's place in the tracker, released when the last holder (the HTTP session, then
// the WebSocket session it became) goes.
class connection_slot {
 public:
  explicit connection_slot(std::shared_ptr<connection_tracker> t) : tracker_(std::move(t)) {}
  ~connection_slot() {
    if (pending_) tracker_->remove_pending(at_);
    tracker_->release(token_);
  }
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;

  bool wait_first(std::weak_ptr<pending_connection> c) {
    pending_ = true;
    return tracker_->add_pending(std::move(c), at_);
  }
  void first_done() {
    if (!pending_) return;
    pending_ = false;
    tracker_->remove_pending(at_);
  }
  // The token of the connection's first request that has one; false past its cap.
  bool bind(const std::string& token) {
    if (!token_.empty() || token.empty()) return true;
    if (!tracker_->bind_token(token)) return false;
    token_ = token;
    return true;
  }
  bool bound() const { return !token_.empty(); }
  connection_tracker& tracker() { return *tracker_; }

 private:
  std::shared_ptr<connection_tracker> tracker_;
  std::list<std::weak_ptr<pending_connection>>::iterator at_;
  bool pending_ = false;
  std::string token_;
};

// One WebSocket subscriber: forwards its subscription's events, one write at a time.
// Stream: beast::tcp_stream, or beast::ssl_stream<beast::tcp_stream> with TLS.
template <class Stream>
class ws_session : public std::enable_shared_from_this<ws_session<Stream>> {
  using std::enable_shared_from_this<ws_session<Stream>>::shared_from_this;

 public:
  // `still_valid` says whether the token the socket was opened with is still valid (not revoked);
  // it is asked every second and the socket is closed when it turns false.
  ws_session(Stream&& stream, event_hub& hub, std::shared_ptr<connection_slot> slot, std::function<bool()> still_valid)
      : ws_(std::move(stream)),
        hub_(hub),
        slot_(std::move(slot)),
        still_valid_(std::move(still_valid)),
        check_(ws_.get_executor()) {}

  void run(http::request<http::string_body> req, event_filter filter) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(64 * 1024);
    filter_ = std::move(filter);
    ws_.async_accept(req, beast::bind_front_handler(&ws_session<Stream>::on_accept, shared_from_this()));
  }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) return;
    std::weak_ptr<ws_session> weak = shared_from_this();
    auto executor = ws_.get_executor();
    sub_ = hub_.subscribe(filter_, [weak, executor] {
      net::post(executor, [weak] {
        if (auto self = weak.lock()) self->drain();
      });
    });
    // The first message says the subscription is live: every change after it is delivered, so a
    // client that reads the current state after this message misses nothing.
    out_.push_back(std::make_shared<const std::string>(R"({"type":"subscribed"})"));
    write_next();
    // Reads keep the connection's control frames (ping, close) flowing; clients send nothing else.
    ws_.async_read(in_, beast::bind_front_handler(&ws_session<Stream>::on_read, shared_from_this()));
    check_token();
  }

  // A token revoked while its socket is open must not keep receiving events: look once a second
  // (the token store re-reads its file at most that often anyway).
  void check_token() {
    check_.expires_after(std::chrono::seconds(1));
    check_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_ || self->told_) return;  // told_: the overflow close is under way
      if (self->still_valid_()) return self->check_token();
      self->closing_ = true;
      self->hub_.unsubscribe(self->sub_);
      self->ws_.async_close(websocket::close_reason(websocket::close_code::policy_error, "the token was revoked"),
                            [self](beast::error_code) { self->close(); });
    });
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return close();
    in_.consume(in_.size());
    ws_.async_read(in_, beast::bind_front_handler(&ws_session<Stream>::on_read, shared_from_this()));
  }

  // Takes queued events only when the previous ones are written, so a slow socket leaves them
  // in the subscription's bounded queue (and overflows it) instead of growing out_.
  void drain() {
    if (closed_ || writing_ || !out_.empty()) return;
    bool overflowed = false;
    for (auto& e : sub_->take(overflowed)) out_.push_back(std::move(e));
    if (overflowed && !told_) {
      told_ = true;
      out_.clear();
      out_.push_back(std::make_shared<const std::string>(
          R"({"type":"overflow","message":"this subscriber fell more than the queue bound behind; it is disconnected. Reconnect and read the current state again."})"));
    }
    write_next();
  }

  void write_next() {
    if (writing_ || out_.empty() || closed_ || closing_) return;
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(*out_.front()),
                    beast::bind_front_handler(&ws_session<Stream>::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) return close();
    if (closing_) return;  // the revocation close is under way
    out_.pop_front();
    if (out_.empty() && !told_) return drain();
    if (told_ && out_.empty()) {
      ws_.async_close(websocket::close_reason(websocket::close_code::policy_error, "subscriber fell behind"),
                      [self = shared_from_this()](beast::error_code) { self->close(); });
      return;
    }
    write_next();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    check_.cancel();
    if (sub_) hub_.unsubscribe(sub_);
  }

  websocket::stream<Stream> ws_;
  event_hub& hub_;
  std::shared_ptr<connection_slot> slot_;  // counts this connection while it lives
  std::function<bool()> still_valid_;
  net::steady_timer check_;
  event_filter filter_;
  std::shared_ptr<subscription> sub_;
  beast::flat_buffer in_;
  std::deque<std::shared_ptr<const std::string>> out_;
  bool writing_ = false, told_ = false, closed_ = false;
  bool closing_ = false;  // closing because the token was revoked
};

// One HTTP connection. Requests may be pipelined: the session keeps reading while earlier
// requests wait for their durable writes (up to k_max_in_flight), and answers strictly in
// order. Everything runs on the connection's strand.
template <class Stream>
class http_session : public std::enable_shared_from_this<http_session<Stream>>, public pending_connection {
  using std::enable_shared_from_this<http_session<Stream>>::shared_from_this;
  static constexpr bool k_tls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  template <class... Args>
  http_session(tcp::socket&& socket, router& r, event_hub& hub, const server_options& o,
               std::shared_ptr<connection_slot> place, Args&... tls)
      : stream_(std::move(socket), tls...), router_(r), hub_(hub), options_(o), slot_(std::move(place)) {}
  ~http_session() override {
    if (queued_bytes_) slot_->tracker().queued(-static_cast<std::ptrdiff_t>(queued_bytes_), 0);
  }

  void evict() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      beast::get_lowest_layer(self->stream_).socket().close(ec);
    });
  }
  void hurry() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->first_ || self->hurried_) return;
      self->hurried_ = true;
      beast::get_lowest_layer(self->stream_).expires_after(self->options_.pressure_timeout);
    });
  }

  void run() {
    // Counted as waiting for its first request until one is read (or it closes).
    bool pressure = slot_->wait_first(this->weak_from_this());
    net::dispatch(stream_.get_executor(), [self = shared_from_this(), pressure] {
      self->hurried_ = self->hurried_ || pressure;
      if constexpr (k_tls) {
        beast::get_lowest_layer(self->stream_).expires_after(self->first_timeout());
        self->stream_.async_handshake(net::ssl::stream_base::server, [self](beast::error_code ec) {
          if (!ec) self->read();  // a failed handshake (plain HTTP, bad client) just closes
        });
      } else {
        self->read();
      }
    });
  }

 private:
  static constexpr std::size_t k_max_in_flight = 64;

  struct slot {
    std::uint64_t seq = 0;
    std::optional<std::string> wire;  // set when the answer is ready
    bool close = false;               // close the connection after it
  };

  std::chrono::seconds first_timeout() const {
    return hurried_ ? std::min(options_.pressure_timeout, options_.read_timeout) : options_.read_timeout;
  }

  // Adds (or, negative, removes) bytes of answers not yet sent.
  void account(std::ptrdiff_t delta) {
    queued_bytes_ = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(queued_bytes_) + delta);
    slot_->tracker().queued(delta, queued_bytes_);
  }

  void read() {
    // Back-pressure: while the client leaves this many answer bytes unread, read no more requests.
    if (reading_ || stopped_reading_ || slots_.size() >= k_max_in_flight || queued_bytes_ > options_.max_queued_bytes) {
      return;
    }
    reading_ = true;
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(64 * 1024);
    beast::get_lowest_layer(stream_).expires_after(first_ ? first_timeout() : options_.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&http_session<Stream>::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    reading_ = false;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::connection_reset ||
        ec == net::error::eof || ec == net::error::operation_aborted) {
      stopped_reading_ = true;
      if (slots_.empty()) shutdown();
      return;
    }
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      response r = router::error(413, "payload_too_large",
                                 ec == http::error::body_limit ? "the body is larger than the limit of " +
                                                                     std::to_string(options_.max_body_bytes) + " bytes"
                                                               : "the request headers are larger than 64 KiB");
      return fail(std::move(r));
    }
    if (ec) {
      return fail(router::error(400, "bad_request", "malformed HTTP request: " + ec.message()));
    }
    first_ = false;
    slot_->first_done();
    auto req = parser_->release();
    // Beast frames only a final "chunked" coding; with any other (gzip, "chunked, gzip") the body
    // would be read as the next request, which a proxy in front frames differently (request
    // smuggling). Refused, and the connection closed with the bytes left unread.
    if (auto te = transfer_encoding_refusal(req)) return fail(std::move(*te));
    if (websocket::is_upgrade(req)) {
      if (!slots_.empty()) {
        return fail(router::error(400, "bad_request", "finish the pipelined requests before upgrading to WebSocket"));
      }
      return upgrade(std::move(req));
    }
    request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      r.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    r.body = std::move(req.body());
    if (!slot_->bound() && !slot_->bind(router_.token_name(r))) {
      response refused =
          router::error(429, "too_many_connections",
                        "this token already has " + std::to_string(options_.max_connections_per_token) +
                            " connections open (api.max_connections_per_token); reuse them (keep-alive) or close some");
      refused.headers.push_back({"Retry-After", "1"});
      return fail(std::move(refused));
    }
    unsigned version = req.version();
    bool keep_alive = req.keep_alive();
    bool head = req.method() == http::verb::head;
    std::uint64_t seq = next_seq_++;
    slots_.push_back({seq, std::nullopt, !keep_alive});
    if (!keep_alive) stopped_reading_ = true;
    // The router may answer on another thread (a durable write): hop back to this connection.
    router_.handle(std::move(r), [self = shared_from_this(), seq, version, keep_alive, head](response res) {
      net::post(self->stream_.get_executor(), [self, seq, version, keep_alive, head, res = std::move(res)]() mutable {
        self->ready(seq, to_wire(res, version, keep_alive, head));
      });
    });
    read();
  }

  // A request that ends the connection: answered after those before it, then nothing more is read.
  void fail(response r) {
    stopped_reading_ = true;
    std::uint64_t seq = next_seq_++;
    slots_.push_back({seq, to_wire(r, 11, false), true});
    account(static_cast<std::ptrdiff_t>(slots_.back().wire->size()));
    write_next();
  }

  // Answers become ready one by one (each durable write's completion is posted here); the
  // write waits for the handlers already queued, so a batch that one commit completed leaves
  // in one gather write.
  void ready(std::uint64_t seq, std::string wire) {
    for (auto& s : slots_) {
      if (s.seq == seq) {
        account(static_cast<std::ptrdiff_t>(wire.size()));
        s.wire = std::move(wire);
      }
    }
    if (flush_posted_ || writing_) return;
    flush_posted_ = true;
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->flush_posted_ = false;
      self->write_next();
    });
  }

  void write_next() {
    if (writing_ || slots_.empty() || !slots_.front().wire) return;
    writing_ = true;
    // Every answer ready at the front, in order, up to one that closes the connection.
    std::size_t n = 0;
    bool close = false;
    gather_.clear();
    for (const auto& s : slots_) {
      if (!s.wire || close) break;
      gather_.push_back(net::buffer(*s.wire));
      close = s.close;
      ++n;
    }
    beast::get_lowest_layer(stream_).expires_after(options_.read_timeout);
    net::async_write(stream_, gather_, [self = shared_from_this(), n, close](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      // deque::pop_front leaves the other slots (and the strings gather_ pointed to) in place.
      std::size_t sent = 0;
      for (std::size_t k = 0; k < n; ++k) {
        sent += self->slots_.front().wire->size();
        self->slots_.pop_front();
      }
      self->account(-static_cast<std::ptrdiff_t>(sent));
      if (ec) {
        self->stopped_reading_ = true;
        return self->shutdown();
      }
      if (close) {
        self->stopped_reading_ = true;
        return self->linger();
      }
      if (self->slots_.empty() && self->stopped_reading_) return self->shutdown();
      self->write_next();
      self->read();  // resumes if it paused at k_max_in_flight
    });
  }

  void upgrade(http::request<http::string_body> req) {
    std::string target(req.target());
    std::string path = target.substr(0, target.find('?'));
    if (path != "/events") return fail(router::error(404, "not_found", "WebSocket is served at /events only"));
    request r;
    r.method = "GET";
    r.target = target;
    if (auto auth = req.find(http::field::authorization); auth != req.end()) {
      r.headers.emplace_back("authorization", std::string(auth->value()));
    }
    event_filter filter;
    if (auto q = target.find('?'); q != std::string::npos) {
      std::string qs = target.substr(q + 1);
      std::size_t pos = 0;
      while (pos <= qs.size()) {
        std::size_t amp = qs.find('&', pos);
        if (amp == std::string::npos) amp = qs.size();
        std::string kv = qs.substr(pos, amp - pos), k, v;
        std::size_t eq = kv.find('=');
        if (eq != std::string::npos && percent_decode(kv.substr(0, eq), k) && percent_decode(kv.substr(eq + 1), v)) {
          if (k == "twin") filter.twins.push_back(v);
          if (k == "model") filter.models.push_back(v);
          if (k == "type") filter.types.push_back(v);
          // Browsers cannot set headers on a WebSocket: the token may come as ?token=.
          if (k == "token" && r.header("authorization").empty()) r.headers.emplace_back("authorization", "Bearer " + v);
        }
        pos = amp + 1;
      }
    }
    token_info who;
    if (auto refused = router_.authorize(r, role::viewer, &who)) return fail(std::move(*refused));
    if (!slot_->bound() && !slot_->bind(router_.token_name(r))) {
      return fail(router::error(429, "too_many_connections",
                                "this token already has " + std::to_string(options_.max_connections_per_token) +
                                    " connections open (api.max_connections_per_token); close some"));
    }
    beast::get_lowest_layer(stream_).expires_never();
    auto still_valid = [&routes = router_, digest = who.digest] { return routes.token_holds(digest); };
    std::make_shared<ws_session<Stream>>(std::move(stream_), hub_, slot_, std::move(still_valid))
        ->run(std::move(req), std::move(filter));
  }

  void shutdown() {
    if constexpr (k_tls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
        beast::error_code ec;
        beast::get_lowest_layer(self->stream_).socket().shutdown(tcp::socket::shutdown_send, ec);
      });
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  // After an error that ends the connection (413, 400), the client may still be sending the
  // rest of its request. Closing now would reset the connection and the client could lose our
  // answer; so stop sending and read and discard for a while (bounded in time and bytes).
  void linger() {
    // Over TLS the close_notify exchange of async_shutdown reads the stream itself; a second
    // reader beside it is not allowed, so there is no discarding there.
    if constexpr (k_tls) return shutdown();
    shutdown();
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    discard();
  }
  void discard() {
    stream_.async_read_some(net::buffer(scratch_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->discarded_ += n;
      if (ec || self->discarded_ > (64u << 20)) return;
      self->discard();
    });
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  router& router_;
  event_hub& hub_;
  const server_options& options_;
  std::shared_ptr<connection_slot> slot_;
  std::size_t queued_bytes_ = 0;           // answers ready or being written, not yet sent
  bool hurried_ = false;                   // its header timeout is the pressure timeout
  std::deque<slot> slots_;                 // requests in flight, in arrival order
  std::vector<net::const_buffer> gather_;  // the answers being written
  bool flush_posted_ = false;
  std::uint64_t next_seq_ = 0;
  bool first_ = true, reading_ = false, writing_ = false, stopped_reading_ = false;
  std::array<char, 16384> scratch_{};
  std::size_t discarded_ = 0;
};

}  // namespace

struct server::impl {
  router& routes;
  event_hub& hub;
  server_options options;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;  // guarded by mu
  unsigned short port = 0;
  std::optional<net::ssl::context> tls;  // set when a certificate is configured
  std::shared_ptr<connection_tracker> tracker;
  net::steady_timer retry{ioc};  // accept again after a failure (e.g. out of descriptors)

  impl(router& r, event_hub& h, server_options o)
      : routes(r),
        hub(h),
        options(resolve(std::move(o))),
        ioc(options.threads),
        tracker(std::make_shared<connection_tracker>(options)) {}
  static server_options resolve(server_options o) {
    if (o.threads <= 0) o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency() / 2));
    if (o.max_connections == 0) {
      // Below the descriptor limit, leaving room for the stores, the history and the broker.
      rlimit nofile{};
      std::size_t fds = getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY
                            ? static_cast<std::size_t>(nofile.rlim_cur)
                            : 4096;
      o.max_connections = std::clamp<std::size_t>(fds > 128 ? fds - 128 : 16, 16, 1024);
    }
    return o;
  }

  // Past the total cap: a fixed 503 (plain HTTP; over TLS, a close), then the socket goes.
  static void refuse(tcp::socket socket, bool plain) {
    if (!plain) return;
    static const std::string wire = [] {
      response r = router::error(503, "unavailable",
                                 "the server has as many connections as it serves (api.max_connections); retry "
                                 "shortly");
      r.headers.push_back({"Retry-After", "1"});
      return to_wire(r, 11, false);
    }();
    auto s = std::make_shared<tcp::socket>(std::move(socket));
    net::async_write(*s, net::buffer(wire), [s](beast::error_code, std::size_t) {
      beast::error_code ignored;
      s->shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted) return;
      if (ec) {
        // Out of descriptors (or memory): accepting again at once would spin; wait a little.
        retry.expires_after(std::chrono::milliseconds(50));
        retry.async_wait([this](beast::error_code e) {
          if (!e) accept();
        });
        return;
      }
      if (!tracker->admit()) {
        refuse(std::move(socket), !tls);
        return accept();
      }
      auto slot = std::make_shared<connection_slot>(tracker);
      if (tls) {
        std::make_shared<http_session<beast::ssl_stream<beast::tcp_stream>>>(std::move(socket), routes, hub, options,
                                                                             std::move(slot), *tls)
            ->run();
      } else {
        std::make_shared<http_session<beast::tcp_stream>>(std::move(socket), routes, hub, options, std::move(slot))
            ->run();
      }
      accept();
    });
  }
};

server::server(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

server::~server() {
  stop();
  wait();
}

result<std::unique_ptr<server>> server::start(router& r, event_hub& events, server_options options) {
  auto i = std::make_unique<impl>(r, events, std::move(options));
  beast::error_code ec;
  if (!i->options.tls_cert.empty() || !i->options.tls_key.empty()) {
    if (i->options.tls_cert.empty() || i->options.tls_key.empty()) {
      return status::invalid_argument("TLS needs both a certificate and a private key (api.tls.cert and api.tls.key)");
    }
    i->tls.emplace(net::ssl::context::tls_server);
    i->tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                        net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1);
    i->tls->use_certificate_chain_file(i->options.tls_cert, ec);
    if (ec)
      return status::invalid_argument("cannot use the TLS certificate " + i->options.tls_cert + ": " + ec.message());
    i->tls->use_private_key_file(i->options.tls_key, net::ssl::context::pem, ec);
    if (ec)
      return status::invalid_argument("cannot use the TLS private key " + i->options.tls_key + ": " + ec.message());
  }
  auto address = net::ip::make_address(i->options.host, ec);
  if (ec) return status::invalid_argument("cannot listen on " + i->options.host + ": not an IP address");
  tcp::endpoint endpoint{address, i->options.port};
  i->acceptor.open(endpoint.protocol(), ec);
  if (!ec) i->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) i->acceptor.bind(endpoint, ec);
  if (!ec) i->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return status::io_error("cannot listen on " + i->options.host + ":" + std::to_string(i->options.port) + ": " +
                            ec.message());
  }
  i->port = i->acceptor.local_endpoint().port();
  r.add_metrics_source([tracker = i->tracker](std::string& out) { tracker->render(out); });
  i->accept();
  for (int t = 0; t < i->options.threads; ++t) {
    i->threads.emplace_back([raw = i.get()] { raw->ioc.run(); });
  }
  return std::unique_ptr<server>(new server(std::move(i)));
}

unsigned short server::port() const { return impl_->port; }

std::string server::url() const {
  std::string host =
      impl_->options.host.find(':') != std::string::npos ? "[" + impl_->options.host + "]" : impl_->options.host;
  return (impl_->tls ? "https://" : "http://") + host + ":" + std::to_string(impl_->port);
}

void server::stop() {
  std::lock_guard lock(impl_->mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->ioc.stop();
  impl_->cv.notify_all();
}

void server::wait() {
  {
    std::unique_lock lock(impl_->mu);
    impl_->cv.wait(lock, [&] { return impl_->stopped; });
  }
  for (auto& t : impl_->threads) {
    if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
  }
}

}  // namespace doppel::api
