// MQTT into the real `doppel serve` with its managed Mosquitto: telemetry arrives in the twin and
// its history, and a QoS 1 message acknowledged by Doppel survives kill -9.
#include "api/api_fixture.h"

#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>
#include <random>
#include <thread>
#include <tuple>
#include <vector>

#include "ingest/broker_auth.h"
#include "ingest/managed_broker.h"
#include "loadgen/mqtt_load.h"

namespace doppel::api {
namespace {

using namespace std::chrono_literals;

// The managed broker's port, from serve's "mqtt broker on mqtt://127.0.0.1:PORT" line.
unsigned short broker_port(const std::string& output) {
  auto at = output.find("mqtt broker on mqtt://127.0.0.1:");
  return at == std::string::npos ? 0 : static_cast<unsigned short>(std::stoi(output.substr(at + 32)));
}

// The child process of `parent` whose command is `name` (the managed broker of a serve); 0 when
// there is none.
pid_t child_named(pid_t parent, const std::string& name) {
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(parent) + "/task", ec)) {
    std::ifstream children(task.path() / "children");
    pid_t child;
    while (children >> child) {
      std::ifstream comm("/proc/" + std::to_string(child) + "/comm");
      std::string command;
      std::getline(comm, command);
      if (command == name) return child;
    }
  }
  return 0;
}

class mqtt_api : public api_fixture {
 protected:
  // Waits until the history of `name` of `twin` holds `n` points; returns the count seen.
  std::size_t wait_history(const std::string& twin, const std::string& name, std::size_t n,
                           std::chrono::seconds limit = 60s) {
    std::size_t seen = 0;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = call("GET", "/digitaltwins/" + twin + "/telemetry/" + name + "?limit=100000");
      if (r.status == 200) seen = body(r)["value"].size();
      if (seen >= n) break;
      std::this_thread::sleep_for(50ms);
    }
    return seen;
  }
  // The k of message(k) missing from a history, as ranges ("100-143, 900"), for failure messages.
  static std::string missing(const json& values, int n) {
    std::vector<bool> seen(static_cast<std::size_t>(n));
    for (const auto& v : values) {
      if (v["value"].is_number() && v["value"] >= 0 && v["value"] < n) seen[v["value"].get<std::size_t>()] = true;
    }
    std::string out;
    for (int k = 0; k < n; ++k) {
      if (seen[static_cast<std::size_t>(k)]) continue;
      int end = k;
      while (end + 1 < n && !seen[static_cast<std::size_t>(end + 1)]) ++end;
      out += (out.empty() ? "" : ", ") + std::to_string(k) + (end > k ? "-" + std::to_string(end) : "");
      k = end;
    }
    return out;
  }
  // The value of a metric in /metrics; -1 when it is missing.
  long metric(const std::string& name) {
    std::string m = call("GET", "/metrics").body;
    auto at = m.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stol(m.substr(at + name.size() + 2));
  }
  static std::string message(int k) {
    return R"({"speed": )" + std::to_string(k) + R"(, "$ts": )" + std::to_string(1764064800000LL + k) + "}";
  }
};

TEST_F(mqtt_api, TelemetryPublishedToTheManagedBrokerReachesTwinAndHistory) {
  without_simulation();  // counts the points the history holds: only the readings
  start({"--mqtt", "managed", "--mqtt-listen", "127.0.0.1:0"});
  unsigned short port = broker_port(server_.output());
  ASSERT_NE(port, 0) << server_.output();
  EXPECT_NE(server_.output().find("mqtt: subscribed to doppel/twins/+/telemetry"), std::string::npos);
  // A device credential made by the CLI while the server runs, and the real mosquitto_pub, as the
  // docs tell a user to run them.
  auto [added, password] = shell(std::string(DOPPEL_BINARY) + " device add " + project_.string() + " --data " +
                                 data_.string() + " --name sensors");
  ASSERT_EQ(added, 0) << password;
  while (!password.empty() && password.back() == '\n') password.pop_back();
  std::string pub = "mosquitto_pub -h 127.0.0.1 -p " + std::to_string(port) +
                    " -q 1 -t doppel/twins/pump-1/telemetry -m '{\"speed\": 1450.5, \"running\": true, "
                    "\"$ts\": \"2026-11-25T10:00:00Z\"}'";
  // Anonymous: refused (the broker used to take anyone).
  auto [anonymous, refusal] = shell(pub + " 2>&1");
  EXPECT_NE(anonymous, 0) << refusal;
  // The server picks the new device up within seconds (the broker reloads its files).
  int code = 1;
  std::string out;
  for (int k = 0; k < 100 && code != 0; ++k) {
    std::tie(code, out) = shell(pub + " -u sensors -P " + password + " 2>&1");
    if (code != 0) std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(code, 0) << out;
  ASSERT_EQ(wait_history("pump-1", "speed", 1, 20s), 1u);
  json h = body(call("GET", "/digitaltwins/pump-1/telemetry/speed"));
  EXPECT_EQ(h["type"], "f64");
  EXPECT_EQ(h["value"][0]["time"], "2026-11-25T10:00:00.000Z");
  EXPECT_EQ(h["value"][0]["value"], 1450.5);
  EXPECT_EQ(body(call("GET", "/digitaltwins/pump-1/telemetry/running"))["value"][0]["value"], true);
  EXPECT_EQ(body(call("GET", "/digitaltwins/pump-1/telemetry"))["speed"]["value"], 1450.5);
  auto csv = call("GET", "/digitaltwins/pump-1/telemetry/speed?format=csv");
  EXPECT_EQ(csv.body, "time,speed\n2026-11-25T10:00:00.000Z,1450.5\n");
  json health = body(call("GET", "/healthz", ""));
  EXPECT_EQ(health["connectors"][0]["connected"], true) << health.dump();
  std::string metrics = call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("doppel_mqtt_messages_total{qos=\"1\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("doppel_history_points 2"), std::string::npos);
  EXPECT_NE(metrics.find("doppel_ingest_lag_seconds{shard=\"0\"} 0.000000"), std::string::npos);  // idle
  // Bad requests say what is wrong.
  expect_error(call("GET", "/digitaltwins/pump-1/telemetry/speed?from=yesterday"), 400, "bad_request");
  expect_error(call("GET", "/digitaltwins/pump-1/telemetry/speed?limit=0"), 400, "bad_request");
  expect_error(call("GET", "/digitaltwins/pump-1/telemetry/nope"), 404, "not_found");
  expect_error(call("GET", "/digitaltwins/ghost/telemetry/speed"), 404, "not_found");
}

// A managed broker that cannot start (its port is taken) does not keep the API from serving.
TEST_F(mqtt_api, ServesWithoutMqttWhenTheBrokerCannotStart) {
  doppel::testing::temp_dir other{"doppel-broker"};
  ingest::broker_options bo;
  bo.port = 0;
  bo.dir = other.path();
  auto taken = ingest::managed_broker::start(bo);
  ASSERT_TRUE(taken) << taken.error().to_string();
  start({"--mqtt", "managed", "--mqtt-listen", "127.0.0.1:" + std::to_string((*taken)->port())});
  EXPECT_NE(server_.output().find("mqtt: no managed broker: mqtt.listen 127.0.0.1:"), std::string::npos)
      << server_.output();
  EXPECT_NE(server_.output().find("serving without MQTT"), std::string::npos);
  EXPECT_EQ(call("GET", "/digitaltwins/pump-1").status, 200u);
}

TEST_F(mqtt_api, HistoryPagesWithNextLink) {
  start();
  std::string batch = "[";
  for (int k = 0; k < 25; ++k) {
    batch += std::string(k ? "," : "") + R"({"$dtId": "pump-2", "speed": )" + std::to_string(k) + R"(, "$ts": )" +
             std::to_string(1764064800000LL + k) + "}";
  }
  ASSERT_EQ(call("POST", "/telemetry", "operator", batch + "]").status, 204u);
  std::string next = "/digitaltwins/pump-2/telemetry/speed?limit=10&from=2025-11-25T10:00:00.005Z";
  std::vector<double> got;
  while (!next.empty()) {
    json page = body(call("GET", next));
    for (const auto& p : page["value"]) got.push_back(p["value"].get<double>());
    next = page.value("nextLink", "");
  }
  ASSERT_EQ(got.size(), 20u);
  EXPECT_EQ(got.front(), 5);
  EXPECT_EQ(got.back(), 24);
}

TEST_F(mqtt_api, HistoryAggregatesPerStep) {
  start();
  // 120 readings a second apart: speed = second, starting on a minute.
  std::string batch = "[";
  for (int k = 0; k < 120; ++k) {
    batch += std::string(k ? "," : "") + R"({"$dtId": "pump-2", "speed": )" + std::to_string(k) + R"(, "$ts": )" +
             std::to_string(1764064800000LL + k * 1000LL) + "}";
  }
  ASSERT_EQ(call("POST", "/telemetry", "operator", batch + "]").status, 204u);
  json r = body(call("GET", "/digitaltwins/pump-2/telemetry/speed?step=1m&agg=mean,min,max,count"));
  ASSERT_EQ(r["value"].size(), 2u) << r.dump();
  EXPECT_EQ(r["value"][0]["time"], "2025-11-25T10:00:00.000Z");
  EXPECT_EQ(r["value"][0]["mean"], 29.5);
  EXPECT_EQ(r["value"][0]["min"], 0.0);
  EXPECT_EQ(r["value"][1]["max"], 119.0);
  EXPECT_EQ(r["value"][1]["count"], 60);
  // One bucket per page, paged with nextLink; CSV for spreadsheets.
  r = body(call("GET", "/digitaltwins/pump-2/telemetry/speed?step=1m&limit=1"));
  ASSERT_EQ(r["value"].size(), 1u);
  json second = body(call("GET", r["nextLink"].get<std::string>()));
  EXPECT_EQ(second["value"][0]["mean"], 89.5);
  auto csv = call("GET", "/digitaltwins/pump-2/telemetry/speed?step=1m&agg=mean&format=csv");
  EXPECT_EQ(csv.body, "time,mean\n2025-11-25T10:00:00.000Z,29.5\n2025-11-25T10:01:00.000Z,89.5\n");
  // Percentiles from the raw points (nearest rank): 0..59 in the first minute.
  r = body(call("GET", "/digitaltwins/pump-2/telemetry/speed?step=1m&agg=p50,p99"));
  EXPECT_EQ(r["value"][0]["p50"], 29.0) << r.dump();
  EXPECT_EQ(r["value"][0]["p99"], 59.0);
  expect_error(call("GET", "/digitaltwins/pump-2/telemetry/speed?step=fast"), 400, "bad_request");
  expect_error(call("GET", "/digitaltwins/pump-2/telemetry/speed?step=1m&agg=median"), 400, "bad_request");
}

// kill -9 of Doppel while it consumes a QoS 1 stream: after the restart every message is in the
// twin's history exactly once (the broker redelivers what Doppel had not acknowledged; history
// keeps one point per series and time). Doppel is stopped (SIGSTOP) while the broker takes the
// whole stream, then let go and killed once it has acknowledged between 20% and 80% of it.
TEST_F(mqtt_api, NothingAcknowledgedIsLostToKillDashNine) {
  constexpr int n = 40000;
  fleet_password();
  start({"--mqtt", "managed", "--mqtt-listen", "127.0.0.1:0"});
  unsigned short port = broker_port(server_.output());
  ASSERT_NE(port, 0) << server_.output();
  ASSERT_EQ(metric("doppel_mqtt_acks_total"), 0);
  ASSERT_EQ(::kill(server_.pid(), SIGSTOP), 0);  // the broker (its own process) queues for it
  {
    doppel::loadgen::mqtt_client pub;
    ASSERT_TRUE(pub.connect(port, "device-kill", ingest::mqtt::v5, "fleet", fleet_password())) << pub.error();
    for (int k = 0; k < n; ++k) ASSERT_TRUE(pub.publish("doppel/twins/pump-1/telemetry", message(k), 1));
    ASSERT_TRUE(pub.wait_acks()) << pub.error();  // the broker holds all of them now
    pub.disconnect();
  }
  ASSERT_EQ(::kill(server_.pid(), SIGCONT), 0);
  long acked = 0;
  while (acked < n / 5) {
    acked = metric("doppel_mqtt_acks_total");
    ASSERT_GE(acked, 0) << "doppel_mqtt_acks_total is missing";
  }
  server_.kill(SIGKILL);
  // It was mid-stream: a fifth acknowledged at least, and no more than four fifths.
  EXPECT_LE(acked, 4 * n / 5) << "the kill came too late to be mid-stream";
  // The managed broker got SIGTERM from the parent-death signal and saved its sessions; the
  // restarted server starts it again on the same port and resubscribes with the same session.
  ASSERT_TRUE(
      server_.start(project_, data_, {"--mqtt", "managed", "--mqtt-listen", "127.0.0.1:" + std::to_string(port)}))
      << server_.output();
  start_client();
  wait_history("pump-1", "speed", n, 30s);
  json h = body(call("GET", "/digitaltwins/pump-1/telemetry/speed?limit=100000"));
  ASSERT_EQ(h["value"].size(), static_cast<std::size_t>(n)) << "missing " << missing(h["value"], n);
  for (int k = 0; k < n; ++k) ASSERT_EQ(h["value"][k]["value"], k);
  // The restarted Doppel got what the killed one had not acknowledged: the kill was mid-stream.
  EXPECT_GT(metric("doppel_mqtt_acks_total"), 0);
}

// The managed broker (the one serve supervises: same code, owned by the test here) is killed
// with SIGKILL in the middle of a QoS 1 stream it acknowledged to the publisher while Doppel was
// away (its session queues in the broker). The broker saves every second (autosave_interval 1):
// what it acknowledged before a save survives, and comes to Doppel from the restarted broker;
// only what came after the last save may be lost. The first half is published, then two saves
// are awaited (the file changes twice), the second half published and the broker killed at once.
// With a save every 60 s the saves never come and the first half is lost.
TEST_F(mqtt_api, ManagedBrokerKilledMidStreamKeepsWhatItSaved) {
  constexpr int n = 4000;
  doppel::testing::temp_dir broker_dir{"doppel-broker-kill"};
  ingest::broker_options bo;
  bo.port = 0;
  bo.dir = broker_dir.path();
  bo.devices_file = broker_dir.path() / "devices.json";
  auto device_password = ingest::add_device(bo.devices_file, "killer", {"pump-1"});
  ASSERT_TRUE(device_password) << device_password.error().to_string();
  auto broker = ingest::managed_broker::start(bo);
  ASSERT_TRUE(broker) << broker.error().to_string();
  unsigned short port = (*broker)->port();
  {
    std::ofstream yaml(project_ / "doppel.yaml", std::ios::app);
    yaml << "mqtt:\n  username: " << (*broker)->username() << "\n  password: " << (*broker)->password() << "\n";
  }
  start({"--mqtt", (*broker)->url()});  // Doppel's persistent session is made
  ASSERT_EQ(server_.kill(SIGTERM), 0);  // and waits in the broker for it
  pid_t mosquitto = child_named(getpid(), "mosquitto");
  ASSERT_GT(mosquitto, 0) << "no mosquitto under the test";
  fs::path saved = broker_dir.path() / "data" / "mosquitto.db";
  auto save_time = [&] {
    std::error_code ec;
    auto t = fs::last_write_time(saved, ec);
    return ec ? fs::file_time_type::min() : t;
  };
  doppel::loadgen::mqtt_client pub;
  ASSERT_TRUE(pub.connect(port, "device-broker-kill", ingest::mqtt::v5, "killer", *device_password)) << pub.error();
  for (int k = 0; k < n / 2; ++k) ASSERT_TRUE(pub.publish("doppel/twins/pump-1/telemetry", message(k), 1));
  ASSERT_TRUE(pub.wait_acks()) << pub.error();
  // Two saves after the last acknowledgement: the second began after it.
  auto before = save_time();
  int saves = 0;
  for (int i = 0; i < 1000 && saves < 2; ++i) {
    std::this_thread::sleep_for(10ms);
    if (auto t = save_time(); t != before) ++saves, before = t;
  }
  ASSERT_EQ(saves, 2) << "the broker did not save its store within 10 s";
  for (int k = n / 2; k < n; ++k) ASSERT_TRUE(pub.publish("doppel/twins/pump-1/telemetry", message(k), 1));
  ASSERT_TRUE(pub.wait_acks()) << pub.error();
  ASSERT_EQ(::kill(mosquitto, SIGKILL), 0);  // mid-stream: the second half is after the last save
  pub.disconnect();
  // The supervisor starts it again from its last save; Doppel comes back to its session.
  ASSERT_TRUE(server_.start(project_, data_, {"--mqtt", (*broker)->url()})) << server_.output();
  start_client();
  wait_history("pump-1", "speed", n / 2, 30s);
  json h = body(call("GET", "/digitaltwins/pump-1/telemetry/speed?limit=100000"));
  ASSERT_TRUE(h["value"].is_array()) << h;
  std::vector<bool> seen(n);
  for (const auto& v : h["value"]) seen[v["value"].get<std::size_t>()] = true;
  for (int k = 0; k < n / 2; ++k) {
    ASSERT_TRUE(seen[static_cast<std::size_t>(k)])
        << "message " << k << ", saved before the kill, was lost; missing " << missing(h["value"], n);
  }
  EXPECT_GE((*broker)->restarts(), 1);
  RecordProperty("lost", n - static_cast<int>(h["value"].size()));
}

// Issue 20: a twin replaced with a model in which a telemetry has another type made every later
// message with that telemetry fail its whole shard pass; the connector dropped its connection and
// the broker redelivered the message forever, holding back the messages behind it. Now the
// reading is one dead letter (type_changed), the message is acknowledged once, and the stream
// goes on on the same connection.
TEST_F(mqtt_api, AReadingWhoseTypeChangedIsOneDeadLetterAndTheStreamGoesOn) {
  fleet_password();
  start({"--mqtt", "managed", "--mqtt-listen", "127.0.0.1:0"});
  unsigned short port = broker_port(server_.output());
  ASSERT_NE(port, 0) << server_.output();
  std::string pump = R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"}, "motor": {"$metadata": {}}})";
  ASSERT_EQ(call("PUT", "/digitaltwins/pump-9", "admin", pump).status, 200u);
  doppel::loadgen::mqtt_client pub;
  ASSERT_TRUE(pub.connect(port, "device-poison", ingest::mqtt::v5, "fleet", fleet_password())) << pub.error();
  ASSERT_TRUE(pub.publish("doppel/twins/pump-9/telemetry", message(0), 1));
  ASSERT_TRUE(pub.wait_acks()) << pub.error();
  ASSERT_EQ(wait_history("pump-9", "speed", 1, 20s), 1u);  // its history holds f64 values now
  // The same twin, now of a model in which speed is a string.
  std::string v2 = R"([{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Pump;2", "@type": "Interface",
    "contents": [{"@type": "Telemetry", "name": "speed", "schema": "string"},
                 {"@type": "Telemetry", "name": "flow", "schema": "double"}]}])";
  ASSERT_EQ(call("POST", "/models", "admin", v2).status, 201u);
  ASSERT_EQ(call("PUT", "/digitaltwins/pump-9", "admin", R"({"$metadata": {"$model": "dtmi:test:Pump;2"}})").status,
            200u);
  ASSERT_TRUE(pub.publish("doppel/twins/pump-9/telemetry",
                          R"({"speed": "fast", "flow": 2.5, "$ts": )" + std::to_string(1764064800001LL) + "}", 1));
  for (int k = 1; k <= 10; ++k) ASSERT_TRUE(pub.publish("doppel/twins/pump-2/telemetry", message(k), 1));
  ASSERT_TRUE(pub.wait_acks()) << pub.error();
  // The messages behind it flow, and the poison message's good reading applied.
  ASSERT_EQ(wait_history("pump-2", "speed", 10, 20s), 10u);
  ASSERT_EQ(wait_history("pump-9", "flow", 1, 20s), 1u);
  EXPECT_EQ(body(call("GET", "/digitaltwins/pump-9/telemetry/speed"))["value"].size(), 1u);
  // One dead letter, saying what happened and how to fix it; nothing redelivered, no reconnect.
  json letters = body(call("GET", "/deadletters?reason=type_changed", "operator"));
  ASSERT_EQ(letters["value"].size(), 1u) << letters.dump();
  EXPECT_EQ(letters["value"][0]["twin"], "pump-9");
  std::string why = letters["value"][0]["message"];
  EXPECT_NE(why.find("f64"), std::string::npos) << why;
  EXPECT_NE(why.find("former schema"), std::string::npos) << why;
  std::string metrics = call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("doppel_ingest_dead_letters_total{reason=\"type_changed\"} 1\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("doppel_mqtt_connects_total 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("doppel_mqtt_messages_total{qos=\"1\"} 12\n"), std::string::npos) << metrics;
  EXPECT_EQ(body(call("GET", "/healthz", ""))["connectors"][0]["connected"], true);
}

// The broker restarts while Doppel consumes: Doppel reconnects and loses nothing at QoS 1.
TEST_F(mqtt_api, BrokerRestartLosesNothing) {
  constexpr int n = 10000;
  doppel::testing::temp_dir broker_dir{"doppel-broker"};
  ingest::broker_options bo;
  bo.port = 0;
  bo.dir = broker_dir.path();
  bo.devices_file = broker_dir.path() / "devices.json";
  auto device_password = ingest::add_device(bo.devices_file, "restart", {"pump-2"});
  ASSERT_TRUE(device_password) << device_password.error().to_string();
  auto broker = ingest::managed_broker::start(bo);
  ASSERT_TRUE(broker) << broker.error().to_string();
  unsigned short port = (*broker)->port();
  std::string url = (*broker)->url();
  {
    // This broker is not serve's own: Doppel logs in with the credentials from doppel.yaml.
    std::ofstream yaml(project_ / "doppel.yaml", std::ios::app);
    yaml << "mqtt:\n  username: " << (*broker)->username() << "\n  password: " << (*broker)->password() << "\n";
  }
  start({"--mqtt", url});
  auto publish = [&](int from, int to) {
    doppel::loadgen::mqtt_client pub;
    ASSERT_TRUE(pub.connect(port, "device-restart", ingest::mqtt::v5, "restart", *device_password)) << pub.error();
    for (int k = from; k < to; ++k) ASSERT_TRUE(pub.publish("doppel/twins/pump-2/telemetry", message(k), 1));
    ASSERT_TRUE(pub.wait_acks()) << pub.error();
    pub.disconnect();
  };
  publish(0, n / 2);
  broker->reset();  // SIGTERM while Doppel is consuming; sessions saved
  bo.port = port;
  broker = ingest::managed_broker::start(bo);
  ASSERT_TRUE(broker) << broker.error().to_string();
  publish(n / 2, n);
  wait_history("pump-2", "speed", n, 15s);
  json h = body(call("GET", "/digitaltwins/pump-2/telemetry/speed?limit=100000"));
  ASSERT_EQ(h["value"].size(), static_cast<std::size_t>(n)) << "missing " << missing(h["value"], n);
  for (int k = 0; k < n; ++k) ASSERT_EQ(h["value"][k]["value"], k);
  // Connected, lost the broker, connected again: the metric must be there and say so.
  EXPECT_GE(metric("doppel_mqtt_connects_total"), 2) << "no reconnect seen";
}

// The MQTT half of the random-malformed test (the HTTP half is in api_test.cpp): 100,000 random
// payloads that are not JSON, at QoS 1. The server stays up,
// acknowledges each (a bad message is handled: it is a dead letter) and counts every one.
TEST_F(mqtt_api, RandomMalformedMessagesAreCountedAndTheServerStaysUp) {
  fleet_password();
  start({"--mqtt", "managed", "--mqtt-listen", "127.0.0.1:0"});
  unsigned short port = broker_port(server_.output());
  ASSERT_NE(port, 0) << server_.output();
  std::mt19937 rng(20261126);
  const std::string chars = "{}[]\":,0123456789.eE+-truefalsn \\$ts\x01\xff";
  constexpr int n = 100000;
  doppel::loadgen::mqtt_client pub;
  ASSERT_TRUE(pub.connect(port, "device-junk", ingest::mqtt::v5, "fleet", fleet_password())) << pub.error();
  for (int k = 0; k < n; ++k) {
    std::string junk = "{";
    for (std::size_t len = rng() % 60, i = 0; i < len; ++i) junk.push_back(chars[rng() % chars.size()]);
    junk += "[";  // opened and never closed: never valid JSON
    ASSERT_TRUE(pub.publish("doppel/twins/pump-" + std::to_string(k % 3) + "/telemetry", junk, 1));
  }
  ASSERT_TRUE(pub.wait_acks()) << pub.error();
  // Each is a dead letter: malformed_json, or under the JSON input policy invalid_utf8 (a \xff),
  // too_deep (many '[') or number_out_of_range (1e999).
  auto refused = [](const std::string& metrics) {
    long total = 0;
    for (const char* reason : {"malformed_json", "invalid_utf8", "too_deep", "number_out_of_range"}) {
      std::string key = "doppel_ingest_dead_letters_total{reason=\"" + std::string(reason) + "\"} ";
      if (auto at = metrics.find(key); at != std::string::npos) total += std::stol(metrics.substr(at + key.size()));
    }
    return total;
  };
  std::string metrics;
  for (int tries = 0; tries < 600; ++tries) {
    metrics = call("GET", "/metrics").body;
    if (refused(metrics) >= n) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(refused(metrics), n);
  EXPECT_NE(metrics.find("doppel_mqtt_messages_total{qos=\"1\"} " + std::to_string(n)), std::string::npos);
  EXPECT_EQ(body(call("GET", "/healthz", ""))["connectors"][0]["connected"], true);
  // Good telemetry still goes through afterwards.
  ASSERT_TRUE(pub.publish("doppel/twins/pump-1/telemetry", message(7), 1));
  ASSERT_TRUE(pub.wait_acks()) << pub.error();
  EXPECT_EQ(wait_history("pump-1", "speed", 1, 20s), 1u);
}

}  // namespace
}  // namespace doppel::api
