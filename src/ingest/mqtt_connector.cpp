#include "ingest/mqtt_connector.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "core/prometheus.h"
#include "core/text.h"
#include "ingest/mqtt_codec.h"

namespace doppel::ingest {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct broker_address {
  bool tls = false;
  std::string host;
  std::string port;
};

// mqtt://HOST[:PORT] or mqtts://HOST[:PORT]; an IPv6 host in brackets.
result<broker_address> parse_broker_url(const std::string& url) {
  broker_address a;
  std::string_view rest = url;
  if (rest.starts_with("mqtt://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("mqtts://")) {
    rest.remove_prefix(8);
    a.tls = true;
  } else {
    return status::invalid_argument("broker URL \"" + url +
                                    "\" must start with mqtt:// or mqtts:// (e.g. mqtt://127.0.0.1:1883)");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::size_t colon;
  if (rest.starts_with("[")) {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return status::invalid_argument("broker URL \"" + url + "\": ']' missing");
    a.host = std::string(rest.substr(1, close - 1));
    colon = close + 1 < rest.size() && rest[close + 1] == ':' ? close + 1 : std::string_view::npos;
  } else {
    colon = rest.rfind(':');
    a.host = std::string(rest.substr(0, colon));
  }
  a.port = colon == std::string_view::npos ? (a.tls ? "8883" : "1883") : std::string(rest.substr(colon + 1));
  if (a.host.empty() || a.port.empty() || a.port.find_first_not_of("0123456789") != std::string::npos) {
    return status::invalid_argument("broker URL \"" + url + "\" is not mqtt://HOST:PORT");
  }
  return a;
}

// Messages of one socket read: decoded into readings, submitted together, acknowledged together.
struct batch {
  std::uint64_t generation = 0;     // the connection it came on; acks go only there
  std::vector<std::uint16_t> acks;  // QoS 1 packet ids, in arrival order
  std::vector<reading> readings;
  std::vector<rejection> refused;  // messages refused by the mapping, stored before submitting
  bool submitted = false, done = false;
};

// A message publish() accepted, until its completion.
struct out_message {
  std::string topic, payload;
  std::uint8_t qos = 0;
  bool retain = false;
  std::uint16_t packet_id = 0;  // QoS 1, from the first send on
  outbound::completion done;
  std::size_t bytes() const { return topic.size() + payload.size(); }
};

// A QoS 0 message written with the bytes of one write: completed when that write is.
struct written_qos0 {
  std::size_t bytes = 0;
  outbound::completion done;
};

// Lets a pipeline completion that outlives the connector find it gone instead of posting to a
// destroyed I/O context.
struct gate {
  std::mutex mu;
  asio::io_context* io = nullptr;  // guarded by mu; null once the connector is destroyed
};

}  // namespace

struct mqtt_connector::impl {
  mqtt_options o;
  mapper rules;
  telemetry_pipeline& pipeline;
  dead_letters& letters;
  broker_address addr;

  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  tcp::resolver resolver{io};
  std::optional<asio::ssl::context> tls_ctx;
  std::optional<tcp::socket> plain;
  std::optional<asio::ssl::stream<tcp::socket>> tls;
  asio::steady_timer retry_timer{io}, ping_timer{io}, submit_timer{io};

  // I/O thread state.
  enum class phase {
    idle,
    connecting,
    awaiting_connack,
    awaiting_suback,
    subscribed,
    stopping,
    stopped
  } state = phase::idle;
  std::uint64_t generation = 0;
  int attempt = 0;
  std::vector<char> rbuf;
  std::size_t rlen = 0;
  bool reading = false, writing = false;
  std::string wbuf, wpending;
  std::deque<std::shared_ptr<batch>> inflight;
  std::shared_ptr<batch> open_batch;
  bool deferred = false;  // a whole frame waits in rbuf: the open batch had no room for it
  clock_type::time_point last_rx, last_tx, connect_started, read_issued;
  std::mt19937 rng{std::random_device{}()};
  std::promise<void> stopped;
  std::shared_ptr<gate> completions = std::make_shared<gate>();

  // Read from other threads.
  std::atomic<bool> connected{false}, ever_subscribed{false};
  std::atomic<std::uint64_t> messages_qos0{0}, messages_qos1{0}, redelivered{0}, bytes{0}, acks{0}, connects{0},
      connection_failures{0}, busy_waits{0}, inflight_batches{0}, too_large{0};
  // Outbound, shared with publish() callers.
  mutable std::mutex out_mu;
  std::deque<out_message> out_queue;            // guarded by out_mu: accepted, not yet taken by the I/O thread
  std::size_t out_queued_bytes = 0;             // guarded by out_mu: of out_queue
  std::size_t out_messages = 0, out_bytes = 0;  // guarded by out_mu: accepted and not yet completed
  bool out_open = true;                         // guarded by out_mu: false from stop() on
  bool out_posted = false;                      // guarded by out_mu: a take_out is posted
  // Outbound, I/O thread only.
  std::deque<out_message> out_inflight;  // QoS 1 written, awaiting PUBACK, in the order first sent
  std::vector<bool> id_in_use = std::vector<bool>(65536, false);
  std::uint16_t next_id = 2;  // 1 is the SUBSCRIBE's
  std::size_t out_window = 1, broker_max_packet = 0;
  std::uint8_t broker_max_qos = 1;
  bool broker_retain = true;
  std::vector<written_qos0> qos0_pending, qos0_writing;  // in wpending, in wbuf
  // published[qos][outcome]: 0 ok, 1 failed (completed with an error), 2 refused (by publish()).
  std::atomic<std::uint64_t> published[2][3] = {{0, 0, 0}, {0, 0, 0}};
  std::atomic<std::uint64_t> resent{0}, out_inflight_n{0};
  mutable std::mutex health_mu;
  std::string last_error;                                  // guarded by health_mu
  std::int64_t last_error_ms = 0, connected_since_ms = 0;  // guarded by health_mu

  impl(mqtt_options opts, mapper m, telemetry_pipeline& p, dead_letters& l)
      : o(std::move(opts)), rules(std::move(m)), pipeline(p), letters(l) {
    completions->io = &io;
  }
  ~impl() {
    std::lock_guard lock(completions->mu);
    completions->io = nullptr;
  }

  // ---- transport -------------------------------------------------------------------------------

  tcp::socket& lowest() { return tls ? tls->next_layer() : *plain; }

  template <class Buffers, class Handler>
  void async_read_some(const Buffers& b, Handler h) {
    if (tls) {
      tls->async_read_some(b, std::move(h));
    } else {
      plain->async_read_some(b, std::move(h));
    }
  }
  template <class Buffers, class Handler>
  void async_write_all(const Buffers& b, Handler h) {
    if (tls) {
      asio::async_write(*tls, b, std::move(h));
    } else {
      asio::async_write(*plain, b, std::move(h));
    }
  }

  void note_error(const std::string& why) {
    std::lock_guard lock(health_mu);
    last_error = why;
    last_error_ms = unix_time_ms();
  }

  // Drops the connection and schedules the next attempt (unless stopping).
  void fail(const std::string& why) {
    if (state == phase::stopped || state == phase::idle) return;
    ++generation;  // every handler of the old connection sees it is stale
    if (connected.exchange(false) || state != phase::stopping) {
      connection_failures.fetch_add(1);
      note_error(why);
    }
    close_socket();
    ping_timer.cancel();
    submit_timer.cancel();
    open_batch.reset();
    deferred = false;
    // Batches still in the pipeline finish there; their acks die with the connection and the
    // broker redelivers those messages on the next one.
    inflight.clear();
    inflight_batches.store(0);
    drop_queued_qos0();
    if (state == phase::stopping) return finish_stop();
    state = phase::connecting;
    auto base = std::min<double>(static_cast<double>(o.reconnect_max.count()),
                                 static_cast<double>(o.reconnect_min.count()) * std::pow(2.0, std::min(attempt, 20)));
    ++attempt;
    auto delay = std::chrono::milliseconds(
        static_cast<std::int64_t>(base * std::uniform_real_distribution<double>(0.5, 1.0)(rng)));
    retry_timer.expires_after(delay);
    retry_timer.async_wait([this](boost::system::error_code ec) {
      if (!ec && state == phase::connecting) connect();
    });
  }

  void close_socket() {
    boost::system::error_code ignored;
    if (plain || tls) {
      lowest().shutdown(tcp::socket::shutdown_both, ignored);
      lowest().close(ignored);
    }
    plain.reset();
    tls.reset();
    reading = writing = false;
    wbuf.clear();
    wpending.clear();
    rlen = 0;
    // QoS 0 messages not (known to be) written are not sent again.
    auto lost = std::move(qos0_writing);
    for (auto& m : qos0_pending) lost.push_back(std::move(m));
    qos0_writing.clear();
    qos0_pending.clear();
    for (auto& m : lost) {
      complete(0, m.bytes, m.done,
               status::unavailable("the connection to the broker was lost before the QoS 0 "
                                   "message was written; it is not sent again"));
    }
  }

  // ---- connecting ------------------------------------------------------------------------------

  void connect() {
    state = phase::connecting;
    auto gen = ++generation;
    connect_started = clock_type::now();
    if (addr.tls) {
      tls.emplace(io, *tls_ctx);
      // SSL_set_tlsext_host_name, spelled out: the macro's C cast trips -Wold-style-cast.
      SSL_ctrl(tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(addr.host.c_str()));
      if (!o.insecure) tls->set_verify_callback(asio::ssl::host_name_verification(addr.host));
    } else {
      plain.emplace(io);
    }
    // A connection attempt (TCP, TLS, CONNACK, SUBACK) gets at most 10 seconds.
    ping_timer.expires_after(std::chrono::seconds(10));
    ping_timer.async_wait([this, gen](boost::system::error_code ec) {
      if (!ec && gen == generation && state != phase::subscribed) fail("no answer from the broker within 10 s");
    });
    resolver.async_resolve(
        addr.host, addr.port, [this, gen](boost::system::error_code ec, tcp::resolver::results_type r) {
          if (gen != generation) return;
          if (ec) return fail("cannot resolve " + addr.host + ": " + ec.message());
          asio::async_connect(lowest(), r, [this, gen](boost::system::error_code ec2, const tcp::endpoint&) {
            if (gen != generation) return;
            if (ec2) return fail("cannot connect to " + o.url + ": " + ec2.message());
            lowest().set_option(tcp::no_delay(true));
            if (!tls) return send_connect(gen);
            tls->async_handshake(asio::ssl::stream_base::client, [this, gen](boost::system::error_code ec3) {
              if (gen != generation) return;
              if (ec3) return fail("TLS handshake with " + o.url + " failed: " + ec3.message());
              send_connect(gen);
            });
          });
        });
  }

  void send_connect(std::uint64_t gen) {
    mqtt::connect_options c;
    c.version = o.version;
    c.client_id = o.client_id;
    c.clean_start = o.clean_start;
    c.keepalive_s = o.keepalive_s;
    c.session_expiry_s = o.session_expiry_s;
    c.receive_maximum = o.receive_maximum;
    c.maximum_packet_size = static_cast<std::uint32_t>(receive_limit());
    c.has_username = !o.username.empty();
    c.username = o.username;
    c.has_password = !o.password.empty();
    c.password = o.password;
    mqtt::encode_connect(c, wpending);
    state = phase::awaiting_connack;
    write();
    read(gen);
  }

  // ---- reading ---------------------------------------------------------------------------------

  // What Doppel announces and reads: the message limit plus room for what a broker adds when it
  // forwards a publish that passed its door at the limit (the full topic for a topic alias, a
  // packet id, properties), so a message the broker took is never dropped on the way to Doppel.
  std::size_t receive_limit() const { return o.max_packet_bytes + 128 * 1024; }

  bool paused() const {
    return state == phase::stopping ||
           (state == phase::subscribed && static_cast<int>(inflight.size()) >= o.max_inflight_batches) ||
           (open_batch && open_batch->submitted == false && !open_batch->readings.empty());
  }

  void read(std::uint64_t gen) {
    if (gen != generation || reading || paused() || (!plain && !tls)) return;
    std::size_t want = std::min(receive_limit() + 16, std::max<std::size_t>(rlen + 65536, 65536));
    if (rbuf.size() < want) rbuf.resize(want);
    reading = true;
    read_issued = clock_type::now();
    async_read_some(asio::buffer(rbuf.data() + rlen, rbuf.size() - rlen),
                    [this, gen](boost::system::error_code ec, std::size_t n) {
                      if (gen != generation) return;
                      reading = false;
                      if (ec) {
                        return fail(ec == asio::error::eof ? "the broker closed the connection"
                                                           : "reading from the broker failed: " + ec.message());
                      }
                      bytes.fetch_add(n, std::memory_order_relaxed);
                      rlen += n;
                      last_rx = clock_type::now();
                      if (!process(gen)) return;
                      submit_open(gen);
                      read(gen);
                    });
  }

  // Decodes every whole packet in the buffer. False when the connection was dropped.
  bool process(std::uint64_t gen) {
    std::size_t at = 0;
    std::string error;
    std::int64_t now = unix_time_ns();
    for (;;) {
      mqtt::frame f;
      auto r = mqtt::next_frame(std::string_view(rbuf.data() + at, rlen - at), receive_limit(), f, error);
      if (r == mqtt::frame_result::need_more) break;
      if (r == mqtt::frame_result::error) return fail("protocol error from the broker: " + error), false;
      if (!handle(f, now, error)) return fail(error), false;
      if (gen != generation) return false;
      if (deferred) break;  // this frame is handled again once the open batch is submitted
      at += f.size;
    }
    if (at > 0) {
      std::memmove(rbuf.data(), rbuf.data() + at, rlen - at);
      rlen -= at;
    }
    return true;
  }

  bool handle(const mqtt::frame& f, std::int64_t now, std::string& error) {
    switch (f.type) {
      case mqtt::packet_type::connack: {
        mqtt::connack c;
        if (state != phase::awaiting_connack) return error = "an unexpected CONNACK", false;
        if (!mqtt::parse_connack(f, o.version, c, error)) return false;
        if (c.reason != 0) {
          error = "the broker refused the connection: " + mqtt::connack_reason_text(o.version, c.reason);
          return false;
        }
        out_window = std::max<std::size_t>(1, std::min<std::size_t>(o.max_inflight_out, c.receive_maximum));
        broker_max_packet = c.maximum_packet_size;
        broker_max_qos = c.maximum_qos;
        broker_retain = c.retain_available;
        std::vector<mqtt::subscription> subs;
        for (const auto& filter : rules.filters()) subs.push_back({filter, o.qos});
        mqtt::encode_subscribe(o.version, 1, subs, wpending);
        state = phase::awaiting_suback;
        write();
        return true;
      }
      case mqtt::packet_type::suback: {
        mqtt::suback s;
        if (!mqtt::parse_suback(f, o.version, s, error)) return false;
        for (std::size_t k = 0; k < s.granted.size(); ++k) {
          if (s.granted[k] >= 0x80) {
            auto filters = rules.filters();
            error = "the broker refused the subscription to " + (k < filters.size() ? filters[k] : std::string("?")) +
                    " (reason " + std::to_string(s.granted[k]) + "; check the broker's ACL)";
            return false;
          }
        }
        if (state == phase::awaiting_suback) on_subscribed();
        return true;
      }
      case mqtt::packet_type::publish: {
        mqtt::publish p;
        if (!mqtt::parse_publish(f, o.version, p, error)) return false;
        if (p.qos > 1)
          return error = "the broker sent a QoS 2 message on a QoS " + std::to_string(o.qos) + " subscription", false;
        if (!open_batch) {
          open_batch = std::make_shared<batch>();
          open_batch->generation = generation;
        }
        std::vector<rejection> rejected;
        std::vector<ingest::reading> mapped;
        if (f.size <= o.max_packet_bytes) rules.map(p.topic, p.payload, now, mapped, rejected);
        // A batch must fit a shard's queue, or the pipeline could never take it: a message that
        // would overfill the open batch waits (unread) for the next one.
        std::size_t room = pipeline.max_readings();
        if (!open_batch->readings.empty() && open_batch->readings.size() + mapped.size() > room) {
          deferred = true;
          return true;
        }
        (p.qos ? messages_qos1 : messages_qos0).fetch_add(1, std::memory_order_relaxed);
        if (p.dup) redelivered.fetch_add(1, std::memory_order_relaxed);
        if (mapped.size() > room) {
          // One message alone holds more readings than a shard's queue: refused, not retried.
          too_large.fetch_add(1, std::memory_order_relaxed);
          rejected.push_back({"too_large",
                              "a message on " + std::string(p.topic) + " holds " + std::to_string(mapped.size()) +
                                  " readings; at most " + std::to_string(room) +
                                  " fit in one (ingest.queue_readings): send smaller messages",
                              std::string(p.payload.substr(0, 4096))});
          mapped.clear();
        }
        if (f.size > o.max_packet_bytes) {
          // Over the limit (a broker whose own limit is larger): refused here, not applied.
          too_large.fetch_add(1, std::memory_order_relaxed);
          std::string topic(p.topic);
          rejected.push_back({"too_large",
                              "a message of " + std::to_string(f.size) + " bytes on " + topic +
                                  " is larger than mqtt.max_packet_bytes (" + std::to_string(o.max_packet_bytes) +
                                  "); send smaller messages, or raise the limit in doppel.yaml",
                              topic + " (" + std::to_string(p.payload.size()) + " bytes of payload, not kept)"});
        } else {
          for (auto& r : mapped) open_batch->readings.push_back(std::move(r));
        }
        // Stored (one commit per read) before the batch is submitted, so before any of it is
        // acknowledged.
        for (auto& r : rejected) open_batch->refused.push_back(std::move(r));
        if (p.qos == 1) open_batch->acks.push_back(p.packet_id);
        return true;
      }
      case mqtt::packet_type::pingresp: return true;
      case mqtt::packet_type::puback: {
        mqtt::puback a;
        if (!mqtt::parse_puback(f, o.version, a, error)) return false;
        on_puback(a);
        return true;
      }
      case mqtt::packet_type::disconnect: {
        error = "the broker disconnected (reason " + std::to_string(mqtt::disconnect_reason(f)) + ")";
        return false;
      }
      default: error = "an unexpected packet of type " + std::to_string(static_cast<int>(f.type)); return false;
    }
  }

  void on_subscribed() {
    state = phase::subscribed;
    attempt = 0;
    connected.store(true);
    ever_subscribed.store(true);
    connects.fetch_add(1);
    {
      std::lock_guard lock(health_mu);
      connected_since_ms = unix_time_ms();
    }
    schedule_ping(generation);
    resend_out();
    pump_out();
  }

  void schedule_ping(std::uint64_t gen) {
    auto period = std::chrono::milliseconds(std::max<int>(o.keepalive_s, 1) * 500);
    ping_timer.expires_after(period);
    ping_timer.async_wait([this, gen](boost::system::error_code ec) {
      if (ec || gen != generation || state != phase::subscribed) return;
      // Silence counts only while a read is outstanding: while reading is paused (backpressure)
      // the answers to pings are not read, and the pings still sent keep the broker's side alive.
      auto waiting_since = std::max(last_rx, read_issued);
      if (reading &&
          clock_type::now() - waiting_since > std::chrono::milliseconds(std::max<int>(o.keepalive_s, 1) * 1500)) {
        return fail("no packet from the broker for 1.5 keep-alive periods");
      }
      if (clock_type::now() - last_tx >= std::chrono::milliseconds(std::max<int>(o.keepalive_s, 1) * 500)) {
        mqtt::encode_pingreq(wpending);
        write();
      }
      schedule_ping(gen);
    });
  }

  // ---- handing batches to the pipeline -----------------------------------------------------------

  void submit_open(std::uint64_t gen) {
    if (!open_batch || gen != generation) return;
    auto b = open_batch;
    if (!b->refused.empty()) {
      // If they cannot be stored, the connection is dropped and the broker delivers them again.
      if (status st = letters.add("mqtt", "", std::move(b->refused)); !st) {
        return fail("cannot store dead letters: " + st.message());
      }
      b->refused.clear();
    }
    if (!b->submitted) {
      if (inflight.empty() || inflight.back() != b) inflight.push_back(b);
      inflight_batches.store(inflight.size());
      std::function<void(result<ingest_result>)> done = [this, b, g = completions](result<ingest_result> r) {
        // Refusals are in the dead-letter store already: a refused message was handled. A batch
        // that could not be stored (the history's disk failed) is never acknowledged: dropping
        // the connection makes the broker deliver it again.
        status failure = r ? status::ok() : r.error();
        std::lock_guard lock(g->mu);
        if (!g->io) return;
        asio::post(*g->io, [this, b, failure] {
          if (!failure.is_ok()) {
            if (b->generation == generation) fail("the pipeline could not store a batch: " + failure.message());
            return;
          }
          b->done = true;
          flush_acks();
        });
      };
      if (!pipeline.try_submit("mqtt", b->readings, done)) {
        // The shards are behind: keep the batch, stop reading, try again shortly.
        busy_waits.fetch_add(1, std::memory_order_relaxed);
        submit_timer.expires_after(std::chrono::milliseconds(20));
        submit_timer.async_wait([this, gen](boost::system::error_code ec) {
          if (!ec) submit_open(gen);
        });
        return;
      }
      b->submitted = true;
    }
    open_batch.reset();
    if (deferred) {
      // Frames left in the buffer by a full batch start the next one.
      deferred = false;
      if (!process(gen)) return;
      return submit_open(gen);
    }
    read(gen);
  }

  // Writes the PUBACKs of finished batches, in the order their messages arrived.
  void flush_acks() {
    while (!inflight.empty() && inflight.front()->done) {
      auto& b = *inflight.front();
      if (b.generation == generation && (plain || tls)) {
        for (std::uint16_t id : b.acks) mqtt::encode_puback(id, wpending);
        acks.fetch_add(b.acks.size(), std::memory_order_relaxed);
      }
      inflight.pop_front();
    }
    inflight_batches.store(inflight.size());
    write();
    if (state == phase::stopping) return maybe_finish_stop();
    read(generation);
  }

  void write() {
    if (writing || wpending.empty() || (!plain && !tls)) return;
    wbuf.swap(wpending);
    wpending.clear();
    qos0_writing.swap(qos0_pending);
    qos0_pending.clear();
    writing = true;
    last_tx = clock_type::now();
    auto gen = generation;
    async_write_all(asio::buffer(wbuf), [this, gen](boost::system::error_code ec, std::size_t) {
      if (gen != generation) return;
      writing = false;
      wbuf.clear();
      if (ec) return fail("writing to the broker failed: " + ec.message());
      auto written = std::move(qos0_writing);
      qos0_writing.clear();
      for (auto& m : written) complete(0, m.bytes, m.done, status::ok());
      if (gen != generation) return;  // a completion may have stopped the connector
      if (state == phase::stopping) return maybe_finish_stop();
      write();
    });
  }

  // ---- outbound --------------------------------------------------------------------------------

  // Ends one accepted message: its bytes leave the queue's bounds, its completion runs (outside
  // out_mu, which a completion may take again by publishing).
  void complete(std::uint8_t qos, std::size_t size, outbound::completion& done, status st) {
    {
      std::lock_guard lock(out_mu);
      --out_messages;
      out_bytes -= size;
    }
    published[qos ? 1 : 0][st.is_ok() ? 0 : 1].fetch_add(1, std::memory_order_relaxed);
    if (done) done(std::move(st));
  }

  // Posted by publish(): takes what the callers queued.
  void take_out() {
    {
      std::lock_guard lock(out_mu);
      out_posted = false;
    }
    pump_out();
  }

  std::uint16_t take_packet_id() {
    while (id_in_use[next_id]) next_id = next_id == 65535 ? 2 : static_cast<std::uint16_t>(next_id + 1);
    std::uint16_t id = next_id;
    id_in_use[id] = true;
    next_id = next_id == 65535 ? 2 : static_cast<std::uint16_t>(next_id + 1);
    return id;
  }

  // Moves queued messages onto the connection, in order, while the QoS 1 window has room.
  void pump_out() {
    if (state != phase::subscribed || (!plain && !tls)) return;
    std::vector<out_message> taken;
    {
      std::lock_guard lock(out_mu);
      std::size_t qos1 = out_inflight.size();
      while (!out_queue.empty() && (out_queue.front().qos == 0 || qos1 < out_window)) {
        qos1 += out_queue.front().qos;
        out_queued_bytes -= out_queue.front().bytes();
        taken.push_back(std::move(out_queue.front()));
        out_queue.pop_front();
      }
    }
    for (auto& m : taken) {
      // What the broker's MQTT 5 CONNACK rules out would end the connection (a protocol error).
      if (std::string why = broker_refuses(m); !why.empty()) {
        complete(m.qos, m.bytes(), m.done, status::invalid_argument(why));
        continue;
      }
      if (m.qos == 0) {
        mqtt::encode_publish(o.version, m.topic, m.payload, 0, 0, m.retain, wpending);
        qos0_pending.push_back({m.bytes(), std::move(m.done)});
        continue;
      }
      m.packet_id = take_packet_id();
      mqtt::encode_publish(o.version, m.topic, m.payload, 1, m.packet_id, m.retain, false, wpending);
      out_inflight.push_back(std::move(m));
    }
    out_inflight_n.store(out_inflight.size(), std::memory_order_relaxed);
    write();
  }

  std::string broker_refuses(const out_message& m) const {
    if (broker_max_packet &&
        mqtt::publish_size(o.version, m.topic.size(), m.payload.size(), m.qos) > broker_max_packet) {
      return "a message to " + m.topic + " is larger than the broker's maximum packet size (" +
             std::to_string(broker_max_packet) + " bytes); send a smaller payload";
    }
    if (m.qos > broker_max_qos) return "the broker takes messages at QoS 0 only; publish to " + m.topic + " at QoS 0";
    if (m.retain && !broker_retain) {
      return "the broker does not keep retained messages; publish to " + m.topic + " without retain";
    }
    return {};
  }

  // After a reconnect: what the broker had not acknowledged goes again, first, in its order.
  void resend_out() {
    for (auto& m : out_inflight) {
      mqtt::encode_publish(o.version, m.topic, m.payload, 1, m.packet_id, m.retain, true, wpending);
      resent.fetch_add(1, std::memory_order_relaxed);
    }
    write();
  }

  void on_puback(const mqtt::puback& a) {
    auto it = std::find_if(out_inflight.begin(), out_inflight.end(),
                           [&a](const out_message& m) { return m.packet_id == a.packet_id; });
    if (it == out_inflight.end()) return;  // not ours (any more): nothing waits for it
    out_message m = std::move(*it);
    out_inflight.erase(it);
    id_in_use[m.packet_id] = false;
    out_inflight_n.store(out_inflight.size(), std::memory_order_relaxed);
    status st = a.reason < 0x80 ? status::ok()
                                : status::failed_precondition("the broker refused the message to " + m.topic + ": " +
                                                              mqtt::puback_reason_text(a.reason));
    complete(1, m.bytes(), m.done, std::move(st));
    pump_out();
  }

  // The connection dropped: queued QoS 0 messages are not kept for the next one.
  void drop_queued_qos0() {
    std::vector<out_message> dropped;
    {
      std::lock_guard lock(out_mu);
      for (auto it = out_queue.begin(); it != out_queue.end();) {
        if (it->qos == 0) {
          out_queued_bytes -= it->bytes();
          dropped.push_back(std::move(*it));
          it = out_queue.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& m : dropped) {
      complete(0, m.bytes(), m.done,
               status::unavailable("the connection to the broker was lost before the QoS 0 message to " + m.topic +
                                   " was sent; it is not kept"));
    }
  }

  // After the I/O thread ended (or never ran): every message not completed fails.
  void fail_all_out() {
    // Oldest first: in flight, then queued.
    std::vector<out_message> left;
    for (auto& m : out_inflight) left.push_back(std::move(m));
    out_inflight.clear();
    {
      std::lock_guard lock(out_mu);
      out_open = false;
      for (auto& m : out_queue) left.push_back(std::move(m));
      out_queue.clear();
      out_queued_bytes = 0;
    }
    out_inflight_n.store(0);
    for (auto& m : qos0_writing) complete(0, m.bytes, m.done, status::unavailable("the MQTT connector stopped"));
    for (auto& m : qos0_pending) complete(0, m.bytes, m.done, status::unavailable("the MQTT connector stopped"));
    qos0_writing.clear();
    qos0_pending.clear();
    for (auto& m : left) {
      complete(m.qos, m.bytes(), m.done,
               status::unavailable("the MQTT connector stopped before the message to " + m.topic +
                                   (m.qos ? " was acknowledged by the broker" : " was sent")));
    }
  }

  // ---- stopping --------------------------------------------------------------------------------

  void begin_stop() {
    retry_timer.cancel();
    submit_timer.cancel();
    if (state != phase::subscribed) {
      state = phase::stopping;
      return fail("stopped");
    }
    state = phase::stopping;
    // An unsubmitted batch is never acknowledged: the broker redelivers it next time.
    if (open_batch && !open_batch->submitted) open_batch.reset();
    maybe_finish_stop();
  }

  // Once every submitted batch is acknowledged: DISCONNECT (the session stays on the broker).
  void maybe_finish_stop() {
    if (!inflight.empty() || writing) return;
    if (plain || tls) {
      mqtt::encode_disconnect(o.version, wpending);
      wbuf.swap(wpending);
      wpending.clear();
      boost::system::error_code ec;
      if (tls) {
        asio::write(*tls, asio::buffer(wbuf), ec);
      } else {
        asio::write(*plain, asio::buffer(wbuf), ec);
      }
      if (!ec) {
        auto written = std::move(qos0_pending);
        qos0_pending.clear();
        for (auto& m : written) complete(0, m.bytes, m.done, status::ok());
      }
    }
    ++generation;
    close_socket();
    connected.store(false);
    finish_stop();
  }

  void finish_stop() {
    if (state == phase::stopped) return;
    state = phase::stopped;
    ping_timer.cancel();
    retry_timer.cancel();
    submit_timer.cancel();
    resolver.cancel();
    work.reset();
    stopped.set_value();
  }
};

mqtt_connector::mqtt_connector(mqtt_options options, mapper rules, telemetry_pipeline& pipeline, dead_letters& letters)
    : impl_(std::make_unique<impl>(std::move(options), std::move(rules), pipeline, letters)) {}

mqtt_connector::~mqtt_connector() { stop(); }

status mqtt_connector::start() {
  auto& i = *impl_;
  if (i.state != impl::phase::idle) return status::failed_precondition("the MQTT connector was started before");
  auto addr = parse_broker_url(i.o.url);
  if (!addr) return addr.error();
  i.addr = addr.value();
  if (i.o.qos > 1) return status::invalid_argument("mqtt.qos must be 0 or 1");
  if (i.o.version != mqtt::v5 && i.o.version != mqtt::v311) {
    return status::invalid_argument("mqtt.version must be 5 or 3.1.1");
  }
  if (i.addr.tls) {
    try {
      i.tls_ctx.emplace(asio::ssl::context::tls_client);
      i.tls_ctx->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                             asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
      if (i.o.ca_file.empty()) {
        i.tls_ctx->set_default_verify_paths();
      } else {
        i.tls_ctx->load_verify_file(i.o.ca_file);
      }
      if (!i.o.cert_file.empty()) i.tls_ctx->use_certificate_chain_file(i.o.cert_file);
      if (!i.o.key_file.empty()) i.tls_ctx->use_private_key_file(i.o.key_file, asio::ssl::context::pem);
      i.tls_ctx->set_verify_mode(i.o.insecure ? asio::ssl::verify_none : asio::ssl::verify_peer);
    } catch (const boost::system::system_error& e) {
      return status::invalid_argument("mqtt TLS files: " + std::string(e.what()));
    }
  }
  i.work.emplace(i.io.get_executor());
  i.state = impl::phase::connecting;
  asio::post(i.io, [&i] { i.connect(); });
  i.thread = std::thread([&i] { i.io.run(); });
  return status::ok();
}

void mqtt_connector::stop() {
  auto& i = *impl_;
  {
    std::lock_guard lock(i.out_mu);
    i.out_open = false;
  }
  if (!i.thread.joinable()) return i.fail_all_out();
  auto done = i.stopped.get_future();
  asio::post(i.io, [&i] { i.begin_stop(); });
  // Batches in the pipeline get a few seconds to be acknowledged; the broker redelivers the rest.
  if (done.wait_for(std::chrono::seconds(5)) != std::future_status::ready) i.io.stop();
  i.thread.join();
  i.fail_all_out();
}

status mqtt_connector::publish(std::string topic, std::string payload, std::uint8_t qos, bool retain, completion done) {
  auto& i = *impl_;
  auto refuse = [&i, qos](status st) {
    i.published[qos ? 1 : 0][2].fetch_add(1, std::memory_order_relaxed);
    return st;
  };
  if (qos > 1) {
    return refuse(
        status::invalid_argument("QoS " + std::to_string(qos) + " is not supported for publishing; use 0 or 1"));
  }
  if (auto why = mqtt::check_publish_topic(topic); !why.empty()) return refuse(status::invalid_argument(why));
  std::size_t size = mqtt::publish_size(i.o.version, topic.size(), payload.size(), qos);
  if (size > i.o.max_packet_bytes) {
    return refuse(status::invalid_argument(
        "a message of " + std::to_string(size) + " bytes to " + topic + " is larger than mqtt.max_packet_bytes (" +
        std::to_string(i.o.max_packet_bytes) + "); send a smaller payload, or raise the limit in doppel.yaml"));
  }
  std::size_t bytes = topic.size() + payload.size();
  if (bytes > i.o.out_queue_bytes) {
    return refuse(status::invalid_argument("a message of " + std::to_string(bytes) + " bytes to " + topic +
                                           " can never fit the outgoing queue (mqtt.out_queue_bytes, " +
                                           std::to_string(i.o.out_queue_bytes) + "); raise it in doppel.yaml"));
  }
  std::lock_guard lock(i.out_mu);
  if (!i.out_open) return refuse(status::unavailable("the MQTT connector is stopped; nothing more is sent"));
  if (qos == 0 && !i.connected.load()) {
    return refuse(status::unavailable("not connected to the broker " + i.o.url +
                                      "; QoS 0 messages are not queued while disconnected (use QoS 1, or try again)"));
  }
  if (i.out_messages + 1 > i.o.out_queue_messages || i.out_bytes + bytes > i.o.out_queue_bytes) {
    return refuse(status::unavailable("the outgoing MQTT queue is full (" + std::to_string(i.out_messages) +
                                      " messages, " + std::to_string(i.out_bytes) +
                                      " bytes; limits mqtt.out_queue_messages " +
                                      std::to_string(i.o.out_queue_messages) + ", mqtt.out_queue_bytes " +
                                      std::to_string(i.o.out_queue_bytes) + "); try again once the broker caught up"));
  }
  ++i.out_messages;
  i.out_bytes += bytes;
  i.out_queued_bytes += bytes;
  i.out_queue.push_back({std::move(topic), std::move(payload), qos, retain, 0, std::move(done)});
  if (!i.out_posted) {
    i.out_posted = true;
    asio::post(i.io, [&i] { i.take_out(); });
  }
  return status::ok();
}

bool mqtt_connector::subscribed() const { return impl_->connected.load(); }

nlohmann::json mqtt_connector::health() const {
  const auto& i = *impl_;
  nlohmann::json h{{"name", "mqtt"},
                   {"broker", i.o.url},
                   {"clientId", i.o.client_id},
                   {"connected", i.connected.load()},
                   {"messages", i.messages_qos0.load() + i.messages_qos1.load()},
                   {"unacknowledgedBatches", i.inflight_batches.load()},
                   {"publishInFlight", i.out_inflight_n.load()}};
  {
    std::lock_guard lock(i.out_mu);
    h["publishQueued"] = i.out_queue.size();
  }
  std::lock_guard lock(i.health_mu);
  if (i.connected_since_ms) h["connectedSince"] = rfc3339_ms(i.connected_since_ms);
  if (!i.last_error.empty()) {
    h["lastError"] = i.last_error;
    h["lastErrorTime"] = rfc3339_ms(i.last_error_ms);
  }
  return h;
}

void mqtt_connector::render_metrics(std::string& out) const {
  using prometheus::metric_type;
  const auto& i = *impl_;
  prometheus::writer w(out);
  w.gauge("doppel_mqtt_connected", "1 while subscribed to the broker", i.connected.load() ? 1 : 0);
  w.family("doppel_mqtt_messages_total", "MQTT messages received, by QoS", metric_type::counter)
      .sample("doppel_mqtt_messages_total", {{"qos", "0"}}, i.messages_qos0.load())
      .sample("doppel_mqtt_messages_total", {{"qos", "1"}}, i.messages_qos1.load());
  w.counter("doppel_mqtt_redelivered_total", "QoS 1 messages the broker sent again (DUP)", i.redelivered.load());
  w.counter("doppel_mqtt_too_large_total", "messages over mqtt.max_packet_bytes, refused as dead letters (too_large)",
            i.too_large.load());
  w.counter("doppel_mqtt_acks_total", "PUBACKs sent after the pipeline applied the message", i.acks.load());
  w.counter("doppel_mqtt_received_bytes_total", "bytes read from the broker", i.bytes.load());
  w.counter("doppel_mqtt_connects_total", "successful connections (subscribed)", i.connects.load());
  w.counter("doppel_mqtt_connection_failures_total", "connections lost or refused", i.connection_failures.load());
  w.counter("doppel_mqtt_busy_waits_total", "times reading paused because the pipeline was full", i.busy_waits.load());
  w.gauge("doppel_mqtt_unacknowledged_batches", "batches in the pipeline, not yet acknowledged",
          i.inflight_batches.load());
  w.family("doppel_mqtt_published_total",
           "messages published by Doppel, by QoS and outcome (ok: written at QoS 0, acknowledged at QoS 1; failed: "
           "completed with an error; refused: by publish, at once)",
           metric_type::counter);
  static constexpr std::string_view qos_names[] = {"0", "1"};
  static constexpr std::string_view outcomes[] = {"ok", "failed", "refused"};
  for (int q = 0; q < 2; ++q) {
    for (int k = 0; k < 3; ++k) {
      w.sample("doppel_mqtt_published_total", {{"qos", qos_names[q]}, {"outcome", outcomes[k]}},
               i.published[q][k].load());
    }
  }
  std::size_t queued = 0, queued_bytes = 0;
  {
    std::lock_guard lock(i.out_mu);
    queued = i.out_queue.size();
    queued_bytes = i.out_queued_bytes;
  }
  w.gauge("doppel_mqtt_publish_queued_messages", "messages accepted for publishing, waiting to be sent", queued);
  w.gauge("doppel_mqtt_publish_queued_bytes", "topic and payload bytes of the messages waiting to be sent",
          queued_bytes);
  w.gauge("doppel_mqtt_publish_inflight", "QoS 1 messages sent and not yet acknowledged by the broker",
          i.out_inflight_n.load());
  w.counter("doppel_mqtt_publish_resent_total", "QoS 1 messages sent again (DUP) after a reconnect", i.resent.load());
}

}  // namespace doppel::ingest
