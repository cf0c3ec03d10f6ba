// The MQTT connector's outbound path (publish): against a real Mosquitto for delivery, back-pressure
// and a broker killed mid-stream, and against a broker played by the test (a raw socket) where the
// test must decide when a PUBACK is sent or see the exact packets (DUP, packet identifiers).
#include "ingest/mqtt_connector.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <list>
#include <mutex>
#include <set>
#include <thread>

#include "common/eventually.h"
#include "common/free_port.h"
#include "ingest/broker_auth.h"
#include "ingest/managed_broker.h"
#include "loadgen/mqtt_load.h"
#include "twin/twin_test_util.h"

namespace doppel::ingest {
namespace {

using namespace std::chrono_literals;

using doppel::testing::eventually;

using doppel::testing::free_loopback_port;

// The completions of published messages, by the index the test gave each message.
class outcomes {
 public:
  outbound::completion of(int index) {
    return [this, index](status st) {
      std::lock_guard lock(mu_);
      done_.emplace_back(index, std::move(st));
    };
  }
  std::size_t count() const {
    std::lock_guard lock(mu_);
    return done_.size();
  }
  std::size_t ok() const {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& d : done_) n += d.second.is_ok();
    return n;
  }
  std::vector<std::pair<int, status>> all() const {
    std::lock_guard lock(mu_);
    return done_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<int, status>> done_;
};

std::string metrics_of(const mqtt_connector& c) {
  std::string m;
  c.render_metrics(m);
  return m;
}

// A broker played by the test, one connection at a time: it answers CONNACK and SUBACK and shows
// the test every packet the connector sends, so the test decides when (and whether) a PUBACK goes
// back.
class scripted_broker {
 public:
  struct message {
    std::string topic, payload;
    std::uint8_t qos = 0;
    bool dup = false;
    std::uint16_t id = 0;
  };

  scripted_broker() {
    listen_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    socklen_t len = sizeof a;
    bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(listen_, 4);
    getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~scripted_broker() {
    drop();
    close(listen_);
  }
  std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }

  // Takes the connector's next connection: CONNECT, CONNACK (MQTT 5 with `properties`, which must
  // be shorter than 128 bytes), SUBSCRIBE, SUBACK.
  bool accept(std::uint8_t version, const std::string& properties = "") {
    drop();
    version_ = version;
    pollfd p{listen_, POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) return false;
    conn_ = ::accept(listen_, nullptr, nullptr);
    in_.clear();
    mqtt::frame f;
    std::string body;
    if (!next(f, body) || f.type != mqtt::packet_type::connect) return false;
    std::string connack("\x01\x00", 2);  // session present, accepted
    if (version == mqtt::v5) connack += static_cast<char>(properties.size()) + properties;
    send(std::string("\x20", 1) + static_cast<char>(connack.size()) + connack);
    if (!next(f, body) || f.type != mqtt::packet_type::subscribe) return false;
    std::string suback = body.substr(0, 2) + (version == mqtt::v5 ? std::string("\x00", 1) : "") + "\x01";
    send(std::string("\x90", 1) + static_cast<char>(suback.size()) + suback);
    return true;
  }

  // The next PUBLISH from the connector; false when none comes within `wait`.
  bool next_publish(message& m, std::chrono::milliseconds wait = 10s) {
    mqtt::frame f;
    std::string body;
    if (!next(f, body, wait) || f.type != mqtt::packet_type::publish) return false;
    f.body = body;
    mqtt::publish p;
    std::string err;
    if (!mqtt::parse_publish(f, version_, p, err)) return false;
    m = {std::string(p.topic), std::string(p.payload), p.qos, p.dup, p.packet_id};
    return true;
  }

  // PUBACK; an MQTT 5 reason code when not 0.
  void puback(std::uint16_t id, std::uint8_t reason = 0) {
    std::string out;
    if (reason == 0) {
      mqtt::encode_puback(id, out);
    } else {
      out = std::string("\x40\x03", 2) + static_cast<char>(id >> 8) + static_cast<char>(id & 0xff) +
            static_cast<char>(reason);
    }
    send(out);
  }

  void drop() {
    if (conn_ >= 0) close(conn_);
    conn_ = -1;
  }

 private:
  // The next packet other than PINGREQ (answered); `body` holds its body.
  bool next(mqtt::frame& f, std::string& body, std::chrono::milliseconds wait = 10s) {
    for (;;) {
      std::string err;
      if (mqtt::next_frame(in_, 1 << 24, f, err) == mqtt::frame_result::ok) {
        body = std::string(f.body);
        in_.erase(0, f.size);
        if (f.type == mqtt::packet_type::pingreq) {
          send(std::string("\xd0\x00", 2));
          continue;
        }
        return true;
      }
      pollfd p{conn_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return false;
      char buf[65536];
      ssize_t n = recv(conn_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      in_.append(buf, static_cast<std::size_t>(n));
    }
  }
  void send(const std::string& bytes) {
    std::size_t at = 0;
    while (at < bytes.size()) {
      ssize_t n = ::send(conn_, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
      if (n <= 0) return;
      at += static_cast<std::size_t>(n);
    }
  }

  int listen_ = -1, conn_ = -1;
  unsigned short port_ = 0;
  std::uint8_t version_ = mqtt::v5;
  std::string in_;
};

// A device that listens on `filter` with a persistent session (MQTT 3.1.1, clean session off) and
// connects again whenever the broker goes away; it keeps every payload it receives, in order.
// It subscribes once: afterwards the session on the broker holds the subscription.
class listener {
 public:
  listener(unsigned short port, std::string filter, std::string user = "", std::string password = "")
      : port_(port), filter_(std::move(filter)), user_(std::move(user)), password_(std::move(password)) {
    thread_ = std::thread([this] { run(); });
  }
  ~listener() {
    stop_ = true;
    thread_.join();
  }
  bool subscribed() const { return subscribed_; }
  std::vector<std::string> received() const {
    std::lock_guard lock(mu_);
    return got_;
  }

 private:
  void run() {
    loadgen::mqtt_client c;
    bool connected = false;
    while (!stop_) {
      if (!connected) {
        connected = c.connect(port_, "outbound-listener", mqtt::v311, user_, password_, false) &&
                    (subscribed_ || c.subscribe(filter_, 1));
        if (connected) {
          subscribed_ = true;
        } else {
          std::this_thread::sleep_for(20ms);
        }
        continue;
      }
      std::string topic, payload;
      if (c.next_message(topic, payload, 100ms)) {
        std::lock_guard lock(mu_);
        got_.push_back(payload);
      } else if (c.error() != "no answer from the broker") {
        connected = false;
      }
    }
  }

  unsigned short port_;
  std::string filter_, user_, password_;
  std::atomic<bool> stop_{false}, subscribed_{false};
  mutable std::mutex mu_;
  std::vector<std::string> got_;
  std::thread thread_;
};

// Mosquitto run by the test itself (the managed broker restarts a killed process on its own):
// anonymous, persistent, saving its database at every change so that a kill -9 loses as little as
// Mosquitto can (the broker's own durability is not what these tests are about).
class own_mosquitto {
 public:
  own_mosquitto(const std::filesystem::path& dir, unsigned short port) : port_(port) {
    std::filesystem::create_directories(dir / "data");
    conf_ = (dir / "mosquitto.conf").string();
    log_ = (dir / "mosquitto.out").string();
    const passwd* pw = getpwuid(geteuid());
    std::ofstream f(conf_);
    f << "listener " << port << " 127.0.0.1\nallow_anonymous true\nuser " << (pw ? pw->pw_name : "root")
      << "\npersistence true\npersistence_location " << (dir / "data").string()
      << "/\nautosave_on_changes true\nautosave_interval 1\nmax_queued_messages 1000000\n"
      << "max_inflight_messages 0\nlog_dest file " << (dir / "mosquitto.log").string() << "\n";
    program_ = std::filesystem::exists("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto";
  }
  ~own_mosquitto() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      kill(pid_, SIGCONT);  // if frozen
      waitpid(pid_, nullptr, 0);
    }
  }
  bool start() {
    std::vector<char*> argv{program_.data(), const_cast<char*>("-c"), conf_.data(), nullptr};
    pid_ = fork();
    if (pid_ == 0) {
      int out = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      dup2(out, 1);
      dup2(out, 2);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    return eventually([&] {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port_);
      inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
      bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      close(fd);
      return ok;
    });
  }
  // SIGSTOP: the process stays, answers nothing.
  void freeze() { kill(pid_, SIGSTOP); }
  // Ends the process with `sig` and waits for it.
  void send_signal(int sig) {
    kill(pid_, sig);
    waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }

 private:
  unsigned short port_;
  std::string conf_, log_, program_;
  pid_t pid_ = 0;
};

class mqtt_outbound : public twin::testing::live_graph {
 protected:
  void SetUp() override {
    live_graph::SetUp();
    pipeline_ = std::make_unique<telemetry_pipeline>(*graph_, letters_, pipeline_options{1, 100000, nullptr, 0, {}});
  }
  void TearDown() override {
    connector_.reset();
    pipeline_.reset();
    broker_.reset();
    live_graph::TearDown();
  }
  void start_managed_broker() {
    broker_options bo;
    bo.port = 0;
    bo.dir = dir_.path() / "mosquitto";
    bo.devices_file = dir_.path() / "mqtt-devices.json";
    auto pw = add_device(bo.devices_file, "fleet", {});
    ASSERT_TRUE(pw) << pw.error().to_string();
    fleet_password_ = *pw;
    auto b = managed_broker::start(bo);
    ASSERT_TRUE(b) << b.error().to_string();
    broker_ = std::move(*b);
  }
  mqtt_options options(const std::string& url, std::uint8_t version = mqtt::v5) {
    mqtt_options o;
    o.url = url;
    o.client_id = "doppel-outbound";
    if (broker_) {
      o.username = broker_->username();
      o.password = broker_->password();
    }
    o.version = version;
    o.reconnect_min = 20ms;
    o.reconnect_max = 200ms;
    return o;
  }
  void make_connector(const mqtt_options& o) {
    auto m = mapper::compile({});
    ASSERT_TRUE(m);
    connector_ = std::make_unique<mqtt_connector>(o, std::move(*m), *pipeline_, letters_);
  }
  void start_connector(const mqtt_options& o) {
    make_connector(o);
    ASSERT_TRUE(connector_->start());
    ASSERT_TRUE(eventually([&] { return connector_->subscribed(); })) << connector_->health().dump();
  }

  // Kept by the fixture: a connector a failed assertion leaves running completes into them later.
  outcomes& fresh_outcomes() { return outcomes_.emplace_back(); }

  std::string fleet_password_;
  std::list<outcomes> outcomes_;  // outlives connector_
  dead_letters letters_{1000};
  std::unique_ptr<telemetry_pipeline> pipeline_;
  std::unique_ptr<managed_broker> broker_;
  std::unique_ptr<mqtt_connector> connector_;
};

const std::string k_desired = "doppel/twins/pump-1/desired";

// QoS 1 and QoS 0 messages reach a device subscribed to its desired topic, in the order published,
// in both protocol versions; every completion says ok.
TEST_F(mqtt_outbound, PublishedMessagesReachASubscriberInOrder) {
  start_managed_broker();
  for (std::uint8_t version : {mqtt::v5, mqtt::v311}) {
    loadgen::mqtt_client device;
    ASSERT_TRUE(device.connect(broker_->port(), "pump-1-device", mqtt::v5, "fleet", fleet_password_)) << device.error();
    ASSERT_TRUE(device.subscribe("doppel/twins/+/desired", 1)) << device.error();
    start_connector(options(broker_->url(), version));
    outcomes& done = fresh_outcomes();
    constexpr int n = 200;
    for (int k = 0; k < n; ++k) {
      std::uint8_t qos = k < n / 2 ? 1 : 0;
      ASSERT_TRUE(connector_->publish(k_desired, std::to_string(k), qos, false, done.of(k)));
    }
    ASSERT_TRUE(eventually([&] { return done.count() == n; })) << done.count();
    EXPECT_EQ(done.ok(), std::size_t{n});
    for (int k = 0; k < n; ++k) {
      std::string topic, payload;
      ASSERT_TRUE(device.next_message(topic, payload)) << "message " << k << ": " << device.error();
      EXPECT_EQ(topic, k_desired);
      ASSERT_EQ(payload, std::to_string(k)) << "out of order (MQTT " << int(version) << ")";
    }
    std::string m = metrics_of(*connector_);
    EXPECT_NE(m.find("doppel_mqtt_published_total{qos=\"1\",outcome=\"ok\"} 100\n"), std::string::npos) << m;
    EXPECT_NE(m.find("doppel_mqtt_published_total{qos=\"0\",outcome=\"ok\"} 100\n"), std::string::npos) << m;
    EXPECT_NE(m.find("doppel_mqtt_publish_inflight 0\n"), std::string::npos) << m;
    connector_.reset();
  }
}

// A QoS 1 completion waits for the broker's PUBACK (the broker here answers only when the test
// says so); QoS 0 completes once written. With MQTT 5, a PUBACK with an error reason completes
// the message with that reason.
TEST_F(mqtt_outbound, Qos1CompletesOnlyOnceTheBrokerAcknowledges) {
  for (std::uint8_t version : {mqtt::v5, mqtt::v311}) {
    scripted_broker broker;
    make_connector(options(broker.url(), version));
    ASSERT_TRUE(connector_->start());
    ASSERT_TRUE(broker.accept(version));
    ASSERT_TRUE(eventually([&] { return connector_->subscribed(); }));
    outcomes& done = fresh_outcomes();
    ASSERT_TRUE(connector_->publish(k_desired, R"({"targetSpeed": 1500})", 1, true, done.of(1)));
    scripted_broker::message m;
    ASSERT_TRUE(broker.next_publish(m));
    EXPECT_EQ(m.topic, k_desired);
    EXPECT_EQ(m.qos, 1);
    EXPECT_FALSE(m.dup);
    EXPECT_NE(m.id, 0);
    EXPECT_NE(m.id, 1);  // the SUBSCRIBE's
    // The message is on the broker's side of the socket; without a PUBACK it stays unfinished.
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(done.count(), 0u) << "completed before the broker acknowledged";
    broker.puback(m.id);
    ASSERT_TRUE(eventually([&] { return done.count() == 1; }));
    EXPECT_TRUE(done.all()[0].second.is_ok()) << done.all()[0].second.to_string();

    ASSERT_TRUE(connector_->publish(k_desired, "zero", 0, false, done.of(2)));
    ASSERT_TRUE(broker.next_publish(m));
    EXPECT_EQ(m.qos, 0);
    EXPECT_EQ(m.payload, "zero");
    ASSERT_TRUE(eventually([&] { return done.count() == 2; }));
    EXPECT_TRUE(done.all()[1].second.is_ok());

    if (version == mqtt::v5) {
      ASSERT_TRUE(connector_->publish(k_desired, "denied", 1, false, done.of(3)));
      ASSERT_TRUE(broker.next_publish(m));
      broker.puback(m.id, 0x87);
      ASSERT_TRUE(eventually([&] { return done.count() == 3; }));
      status st = done.all()[2].second;
      EXPECT_EQ(st.code(), status_code::failed_precondition);
      EXPECT_NE(st.message().find("not authorized"), std::string::npos) << st.message();
      EXPECT_NE(metrics_of(*connector_).find("doppel_mqtt_published_total{qos=\"1\",outcome=\"failed\"} 1\n"),
                std::string::npos);
    }
    connector_.reset();
  }
}

// Messages the broker had not acknowledged when the connection dropped go again on the next one,
// first, with DUP, their packet identifiers and their order; the window (the broker's receive
// maximum, 3 here) holds back the rest until PUBACKs free it.
TEST_F(mqtt_outbound, UnacknowledgedMessagesAreSentAgainWithDupInOrder) {
  scripted_broker broker;
  std::string receive_maximum_3("\x21\x00\x03", 3);
  make_connector(options(broker.url()));
  ASSERT_TRUE(connector_->start());
  ASSERT_TRUE(broker.accept(mqtt::v5, receive_maximum_3));
  ASSERT_TRUE(eventually([&] { return connector_->subscribed(); }));
  outcomes& done = fresh_outcomes();
  for (int k = 0; k < 5; ++k)
    ASSERT_TRUE(connector_->publish(k_desired, "m" + std::to_string(k), 1, false, done.of(k)));
  std::vector<scripted_broker::message> first(3);
  for (auto& m : first) ASSERT_TRUE(broker.next_publish(m));
  scripted_broker::message extra;
  EXPECT_FALSE(broker.next_publish(extra, 300ms)) << "a fourth message beyond the broker's receive maximum";
  broker.drop();  // no PUBACK for any of them

  ASSERT_TRUE(broker.accept(mqtt::v5, receive_maximum_3));
  for (int k = 0; k < 3; ++k) {
    scripted_broker::message m;
    ASSERT_TRUE(broker.next_publish(m));
    EXPECT_TRUE(m.dup) << k;
    EXPECT_EQ(m.id, first[static_cast<std::size_t>(k)].id) << k;
    EXPECT_EQ(m.payload, "m" + std::to_string(k));
  }
  EXPECT_EQ(done.count(), 0u);
  broker.puback(first[0].id);
  scripted_broker::message m3, m4;
  ASSERT_TRUE(broker.next_publish(m3));
  EXPECT_EQ(m3.payload, "m3");
  EXPECT_FALSE(m3.dup);
  broker.puback(first[1].id);
  broker.puback(first[2].id);
  ASSERT_TRUE(broker.next_publish(m4));
  EXPECT_EQ(m4.payload, "m4");
  EXPECT_NE(m3.id, m4.id);
  broker.puback(m3.id);
  broker.puback(m4.id);
  ASSERT_TRUE(eventually([&] { return done.count() == 5; }));
  auto all = done.all();
  for (int k = 0; k < 5; ++k) {
    EXPECT_EQ(all[static_cast<std::size_t>(k)].first, k);
    EXPECT_TRUE(all[static_cast<std::size_t>(k)].second.is_ok());
  }
  EXPECT_NE(metrics_of(*connector_).find("doppel_mqtt_publish_resent_total 3\n"), std::string::npos);
}

// The outgoing queue is bounded in messages and bytes: what does not fit is refused at once
// (nothing blocks, nothing grows); QoS 0 finds no connection and is refused; bad topics, QoS and
// sizes are refused with a reason. What was accepted while disconnected is delivered, in order,
// once the connector connects.
TEST_F(mqtt_outbound, AFullQueueRefusesAtOnceAndWhatItHeldIsDelivered) {
  start_managed_broker();
  mqtt_options o = options(broker_->url());
  o.out_queue_messages = 3;
  o.out_queue_bytes = 3000;
  o.max_packet_bytes = 2000;
  make_connector(o);  // not started yet: disconnected
  outcomes& done = fresh_outcomes();
  std::string big(1400, 'x');
  EXPECT_TRUE(connector_->publish(k_desired, "1:" + big, 1, false, done.of(1)));
  EXPECT_TRUE(connector_->publish(k_desired, "2:" + big, 1, false, done.of(2)));
  status full_bytes = connector_->publish(k_desired, "x:" + big, 1, false, done.of(-1));
  EXPECT_EQ(full_bytes.code(), status_code::unavailable);
  EXPECT_NE(full_bytes.message().find("queue is full"), std::string::npos) << full_bytes.message();
  EXPECT_TRUE(connector_->publish(k_desired, "3", 1, false, done.of(3)));
  status full_messages = connector_->publish(k_desired, "4", 1, false, done.of(-1));
  EXPECT_EQ(full_messages.code(), status_code::unavailable);
  status qos0 = connector_->publish(k_desired, "q0", 0, false, done.of(-1));
  EXPECT_EQ(qos0.code(), status_code::unavailable);
  EXPECT_NE(qos0.message().find("QoS 0"), std::string::npos) << qos0.message();
  status too_large = connector_->publish(k_desired, std::string(2100, 'y'), 1, false, done.of(-1));
  EXPECT_EQ(too_large.code(), status_code::invalid_argument);
  EXPECT_NE(too_large.message().find("mqtt.max_packet_bytes"), std::string::npos) << too_large.message();
  status wildcard = connector_->publish("doppel/twins/+/desired", "w", 1, false, done.of(-1));
  EXPECT_EQ(wildcard.code(), status_code::invalid_argument);
  EXPECT_NE(wildcard.message().find("wildcard"), std::string::npos) << wildcard.message();
  EXPECT_EQ(connector_->publish(k_desired, "q2", 2, false, done.of(-1)).code(), status_code::invalid_argument);
  EXPECT_EQ(done.count(), 0u);
  std::string m = metrics_of(*connector_);
  EXPECT_NE(m.find("doppel_mqtt_publish_queued_messages 3\n"), std::string::npos) << m;
  EXPECT_NE(m.find("doppel_mqtt_publish_queued_bytes 2886\n"), std::string::npos) << m;  // 2 x (27 + 1402) + 27 + 1
  EXPECT_NE(m.find("doppel_mqtt_published_total{qos=\"1\",outcome=\"refused\"} 5\n"), std::string::npos) << m;
  EXPECT_NE(m.find("doppel_mqtt_published_total{qos=\"0\",outcome=\"refused\"} 1\n"), std::string::npos) << m;

  loadgen::mqtt_client device;
  ASSERT_TRUE(device.connect(broker_->port(), "pump-1-device", mqtt::v5, "fleet", fleet_password_)) << device.error();
  ASSERT_TRUE(device.subscribe(k_desired, 1)) << device.error();
  ASSERT_TRUE(connector_->start());
  ASSERT_TRUE(eventually([&] { return done.count() == 3; }));
  EXPECT_EQ(done.ok(), 3u);
  for (std::string want : {"1:", "2:", "3"}) {
    std::string topic, payload;
    ASSERT_TRUE(device.next_message(topic, payload)) << device.error();
    EXPECT_EQ(payload.substr(0, want.size()), want);
  }
  // Drained: room again.
  EXPECT_TRUE(connector_->publish(k_desired, "5", 1, false, done.of(5)));
  ASSERT_TRUE(eventually([&] { return done.count() == 4; }));
}

// What a broker's MQTT 5 CONNACK rules out (larger packets, QoS 1, retained messages) completes
// with a reason instead of being sent, which would end the connection.
TEST_F(mqtt_outbound, TheBrokersConnackLimitsAreKept) {
  scripted_broker broker;
  make_connector(options(broker.url()));
  ASSERT_TRUE(connector_->start());
  // Maximum packet size 100, maximum QoS 0, retain not available.
  ASSERT_TRUE(broker.accept(mqtt::v5, std::string("\x27\x00\x00\x00\x64\x24\x00\x25\x00", 9)));
  ASSERT_TRUE(eventually([&] { return connector_->subscribed(); }));
  outcomes& done = fresh_outcomes();
  ASSERT_TRUE(connector_->publish(k_desired, std::string(200, 'x'), 0, false, done.of(0)));
  ASSERT_TRUE(connector_->publish(k_desired, "kept", 0, true, done.of(1)));
  ASSERT_TRUE(connector_->publish(k_desired, "acknowledged", 1, false, done.of(2)));
  ASSERT_TRUE(connector_->publish(k_desired, "fits", 0, false, done.of(3)));
  scripted_broker::message m;
  ASSERT_TRUE(broker.next_publish(m));
  EXPECT_EQ(m.payload, "fits");
  ASSERT_TRUE(eventually([&] { return done.count() == 4; }));
  auto all = done.all();
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(all[k].second.code(), status_code::invalid_argument) << k << ": " << all[k].second.to_string();
  }
  EXPECT_NE(all[0].second.message().find("maximum packet size (100 bytes)"), std::string::npos);
  EXPECT_NE(all[1].second.message().find("retain"), std::string::npos);
  EXPECT_NE(all[2].second.message().find("QoS 0 only"), std::string::npos);
  EXPECT_TRUE(all[3].second.is_ok());
}

// Stopping the connector completes every message not yet completed — in flight or still queued —
// exactly once, with `unavailable`; publish refuses from then on.
TEST_F(mqtt_outbound, StopCompletesEveryUnfinishedMessageOnce) {
  scripted_broker broker;
  make_connector(options(broker.url()));
  ASSERT_TRUE(connector_->start());
  ASSERT_TRUE(broker.accept(mqtt::v5, std::string("\x21\x00\x02", 3)));
  ASSERT_TRUE(eventually([&] { return connector_->subscribed(); }));
  outcomes& done = fresh_outcomes();
  for (int k = 0; k < 5; ++k) ASSERT_TRUE(connector_->publish(k_desired, std::to_string(k), 1, false, done.of(k)));
  scripted_broker::message m;
  ASSERT_TRUE(broker.next_publish(m));
  ASSERT_TRUE(broker.next_publish(m));  // two in flight, three queued
  connector_->stop();
  auto all = done.all();
  ASSERT_EQ(all.size(), 5u);
  std::set<int> seen;
  for (const auto& [k, st] : all) {
    EXPECT_TRUE(seen.insert(k).second) << "completed twice: " << k;
    EXPECT_EQ(st.code(), status_code::unavailable) << st.to_string();
    EXPECT_NE(st.message().find("stopped"), std::string::npos) << st.message();
  }
  EXPECT_EQ(connector_->publish(k_desired, "late", 1, false, done.of(9)).code(), status_code::unavailable);
  connector_.reset();
  EXPECT_EQ(done.count(), 5u);
}

// Mosquitto is killed (-9) in the middle of a QoS 1 stream, with messages in flight that it never
// acknowledged, and started again from its persistence. Every message whose completion said ok,
// every one in flight (sent again) and every one published while the broker was down (queued by
// the connector) reaches the subscribed device; QoS 1 allows duplicates.
TEST_F(mqtt_outbound, BrokerKilledMidStreamLosesNoAcknowledgedOrQueuedMessage) {
  unsigned short port = free_loopback_port();
  own_mosquitto broker(dir_.path() / "own-mosquitto", port);
  ASSERT_TRUE(broker.start());
  auto device = std::make_unique<listener>(port, k_desired);
  ASSERT_TRUE(eventually([&] { return device->subscribed(); }));
  // A clean restart (SIGTERM saves) so the device's session and subscription are on disk.
  broker.send_signal(SIGTERM);
  ASSERT_TRUE(broker.start());
  start_connector(options("mqtt://127.0.0.1:" + std::to_string(port)));

  constexpr int n = 600, freeze_at = 200, unanswered = 20;
  outcomes& done = fresh_outcomes();
  int next = 0;
  // Paced (at most 50 unfinished) so the kill lands mid-stream.
  while (done.ok() < std::size_t{freeze_at}) {
    if (next - static_cast<int>(done.count()) < 50) {
      ASSERT_TRUE(connector_->publish(k_desired, std::to_string(next), 1, false, done.of(next)));
      ++next;
    } else {
      std::this_thread::sleep_for(1ms);
    }
  }
  // The broker stops answering (SIGSTOP) with messages in flight, and more are sent to it that it
  // will never acknowledge. Before the kill the device holds what the broker acknowledged: how long
  // Mosquitto keeps a message it acknowledged but had not yet passed on is the broker's own
  // durability (the managed broker's tests), not the connector's.
  broker.freeze();
  std::this_thread::sleep_for(200ms);  // PUBACKs already on their way arrive (not an assertion)
  for (int k = 0; k < unanswered; ++k, ++next) {
    ASSERT_TRUE(connector_->publish(k_desired, std::to_string(next), 1, false, done.of(next)));
  }
  ASSERT_TRUE(eventually([&] { return connector_->health()["publishQueued"] == 0; }));
  ASSERT_TRUE(eventually([&] {
    auto got = device->received();
    std::set<std::string> seen(got.begin(), got.end());
    for (const auto& [k, st] : done.all()) {
      if (st.is_ok() && !seen.count(std::to_string(k))) return false;
    }
    return true;
  })) << "the frozen broker did not pass on every message it acknowledged";
  std::size_t ok_at_kill = done.ok();
  broker.send_signal(SIGKILL);
  EXPECT_GE(ok_at_kill, std::size_t{n} / 5);
  EXPECT_LE(ok_at_kill, std::size_t{n} * 4 / 5);
  ASSERT_TRUE(eventually([&] { return !connector_->subscribed(); }));
  // Published while the broker is down: QoS 1 waits in the queue, QoS 0 is refused.
  int first_queued = next;
  for (; next < n; ++next) ASSERT_TRUE(connector_->publish(k_desired, std::to_string(next), 1, false, done.of(next)));
  EXPECT_EQ(connector_->publish(k_desired, "q0", 0, false, done.of(-1)).code(), status_code::unavailable);
  ASSERT_TRUE(broker.start());
  ASSERT_TRUE(eventually([&] { return done.count() == std::size_t{n}; }, 60s)) << done.count();
  EXPECT_EQ(done.ok(), std::size_t{n});
  std::set<std::string> want;
  for (const auto& [k, st] : done.all()) {
    if (st.is_ok() || k >= first_queued) want.insert(std::to_string(k));
  }
  ASSERT_EQ(want.size(), std::size_t{n});
  std::set<std::string> missing;
  ASSERT_TRUE(eventually(
      [&] {
        missing = want;
        for (const auto& p : device->received()) missing.erase(p);
        return missing.empty();
      },
      60s))
      << missing.size() << " messages never arrived, the first " << *missing.begin();
  EXPECT_EQ(connector_->health()["publishQueued"], 0);
  // At least the messages the frozen broker never acknowledged went again, with DUP.
  std::string m = metrics_of(*connector_);
  auto at = m.find("\ndoppel_mqtt_publish_resent_total ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GE(std::stoi(m.substr(at + 34)), unanswered) << m;
}

}  // namespace
}  // namespace doppel::ingest
