// The MQTT connector against a real Mosquitto (started as Doppel's managed broker on a free
// loopback port), feeding a real pipeline over a live twin graph.
#include "ingest/mqtt_connector.h"

#include <gtest/gtest.h>

#include <thread>

#include "loadgen/mqtt_load.h"
#include "ingest/managed_broker.h"
#include "twin/twin_test_util.h"

namespace doppel::ingest {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

template <class F>
bool eventually(F f, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return f();
}

class mqtt_fixture : public twin::testing::live_graph {
 protected:
  void SetUp() override {
    live_graph::SetUp();
    auto pump = json::parse(R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"}, "targetSpeed": 1450,
                                "motor": {"$metadata": {}}})");
    ASSERT_TRUE(graph_->put_twin("pump-1", pump, {}, {true}));
    ASSERT_TRUE(graph_->put_twin("pump-2", pump, {}, {true}));
    pipeline_ = std::make_unique<telemetry_pipeline>(*graph_, letters_, pipeline_options{2, 100000});
    start_broker(0);
  }
  void TearDown() override {
    connector_.reset();
    pipeline_.reset();
    broker_.reset();
    live_graph::TearDown();
  }
  void start_broker(unsigned short port) {
    broker_options bo;
    bo.port = port;
    bo.dir = dir_.path() / "mosquitto";
    auto b = managed_broker::start(bo);
    ASSERT_TRUE(b) << b.error().to_string();
    broker_ = std::move(*b);
  }
  void start_connector(std::vector<mapping_rule> rules = {}, std::uint8_t version = 5) {
    mqtt_options o;
    o.url = broker_->url();
    o.client_id = "doppel-test";
    o.version = version;
    o.reconnect_min = 50ms;
    o.reconnect_max = 500ms;
    auto m = mapper::compile(std::move(rules));
    ASSERT_TRUE(m);
    connector_ = std::make_unique<mqtt_connector>(o, std::move(*m), *pipeline_, letters_);
    ASSERT_TRUE(connector_->start());
    ASSERT_TRUE(eventually([&] { return connector_->subscribed(); })) << connector_->health().dump();
  }
  json latest(const std::string& twin) {
    auto l = pipeline_->latest(twin);
    return l ? *l : json();
  }

  dead_letters letters_{1000};
  std::unique_ptr<telemetry_pipeline> pipeline_;
  std::unique_ptr<managed_broker> broker_;
  std::unique_ptr<mqtt_connector> connector_;
};

TEST_F(mqtt_fixture, QoS1MessageIsAppliedBeforeItIsAcknowledged) {
  for (std::uint8_t version : {ingest::mqtt::v5, ingest::mqtt::v311}) {
    start_connector({}, version);
    loadgen::mqtt_client pub;
    ASSERT_TRUE(pub.connect(broker_->port(), "device-1")) << pub.error();
    ASSERT_TRUE(pub.publish("doppel/twins/pump-1/telemetry",
                            R"({"speed": )" + std::to_string(1000 + version) + R"(, "ratedFlow": 120})", 1));
    ASSERT_TRUE(pub.wait_acks()) << pub.error();
    // The device's PUBACK comes from the broker; Doppel's follows the apply. Wait for Doppel's.
    ASSERT_TRUE(eventually([&] { return latest("pump-1")["speed"]["value"] == 1000 + version; }));
    EXPECT_TRUE(eventually([&] {
      std::string m;
      connector_->render_metrics(m);
      return m.find("doppel_mqtt_acks_total 1") != std::string::npos ||
             m.find("doppel_mqtt_acks_total 2") != std::string::npos;
    }));
    EXPECT_EQ((*graph_->get_twin("pump-1"))["ratedFlow"], 120);  // a reported property, durable
    auto h = connector_->health();
    EXPECT_EQ(h["connected"], true);
    connector_->stop();
    connector_.reset();
  }
}

TEST_F(mqtt_fixture, BadMessagesAreDeadLettersAndDoNotStopTheFlow) {
  start_connector();
  loadgen::mqtt_client pub;
  ASSERT_TRUE(pub.connect(broker_->port(), "device-2")) << pub.error();
  ASSERT_TRUE(pub.publish("doppel/twins/pump-1/telemetry", "{not json", 1));
  ASSERT_TRUE(pub.publish("doppel/twins/ghost/telemetry", R"({"speed": 1})", 1));
  ASSERT_TRUE(pub.publish("doppel/twins/pump-1/telemetry", R"({"speed": "fast"})", 0));
  ASSERT_TRUE(pub.publish("doppel/twins/pump-2/telemetry", R"({"speed": 7})", 1));
  ASSERT_TRUE(pub.wait_acks()) << pub.error();
  ASSERT_TRUE(eventually([&] { return latest("pump-2")["speed"]["value"] == 7; }));
  ASSERT_TRUE(eventually([&] { return letters_.list(0, 100, "")["value"].size() == 3; }));
  auto list = letters_.list(0, 100, "")["value"];
  EXPECT_EQ(list[0]["reason"], "malformed_json");
  EXPECT_EQ(list[0]["source"], "mqtt");
  EXPECT_EQ(list[0]["raw"], "{not json");
  std::string reasons = list.dump();
  EXPECT_NE(reasons.find("unknown_twin"), std::string::npos);
  EXPECT_NE(reasons.find("wrong_type"), std::string::npos);
}

TEST_F(mqtt_fixture, PersistentSessionDeliversWhatArrivedWhileDoppelWasAway) {
  start_connector();
  connector_->stop();
  connector_.reset();
  // Doppel is down; the device keeps publishing. The broker queues it for Doppel's session.
  loadgen::mqtt_client pub;
  ASSERT_TRUE(pub.connect(broker_->port(), "device-3")) << pub.error();
  for (int k = 1; k <= 500; ++k) {
    ASSERT_TRUE(
        pub.publish("doppel/twins/pump-1/telemetry",
                    R"({"speed": )" + std::to_string(k) + R"(, "$ts": )" + std::to_string(1764064800000 + k) + "}", 1));
  }
  ASSERT_TRUE(pub.wait_acks()) << pub.error();
  start_connector();
  ASSERT_TRUE(eventually([&] { return latest("pump-1")["speed"]["value"] == 500; })) << latest("pump-1").dump();
  std::string m;
  connector_->render_metrics(m);
  EXPECT_NE(m.find("doppel_mqtt_messages_total{qos=\"1\"} 500"), std::string::npos) << m;
}

TEST_F(mqtt_fixture, ReconnectsAfterTheBrokerRestarts) {
  start_connector();
  unsigned short port = broker_->port();
  broker_.reset();  // SIGTERM: Mosquitto saves its sessions
  ASSERT_TRUE(eventually([&] { return !connector_->subscribed(); }));
  EXPECT_NE(connector_->health()["lastError"].get<std::string>(), "");
  start_broker(port);
  ASSERT_TRUE(eventually([&] { return connector_->subscribed(); })) << connector_->health().dump();
  loadgen::mqtt_client pub;
  ASSERT_TRUE(pub.connect(port, "device-4")) << pub.error();
  ASSERT_TRUE(pub.publish("doppel/twins/pump-2/telemetry", R"({"speed": 42})", 1));
  ASSERT_TRUE(pub.wait_acks()) << pub.error();
  ASSERT_TRUE(eventually([&] { return latest("pump-2")["speed"]["value"] == 42; }));
  std::string m;
  connector_->render_metrics(m);
  EXPECT_NE(m.find("doppel_mqtt_connects_total 2"), std::string::npos) << m;
}

TEST_F(mqtt_fixture, MappingRulesRouteTopicsToTwins) {
  mapping_rule r;
  r.topic = "plant/{site}/pump/{id}";
  r.twin = "pump-{id}";
  r.fields = {{"/d/rpm", "speed", 1, 0}};
  start_connector({r});
  loadgen::mqtt_client pub;
  ASSERT_TRUE(pub.connect(broker_->port(), "device-5")) << pub.error();
  ASSERT_TRUE(pub.publish("plant/north/pump/2", R"({"d": {"rpm": 99}})", 1));
  ASSERT_TRUE(pub.wait_acks()) << pub.error();
  ASSERT_TRUE(eventually([&] { return latest("pump-2")["speed"]["value"] == 99; }));
}

TEST(ManagedBroker, ExplainsWhyItCannotStart) {
  doppel::testing::temp_dir dir{"doppel-broker-test"};
  broker_options bo;
  bo.port = 0;
  bo.dir = dir.path();
  auto first = managed_broker::start(bo);
  ASSERT_TRUE(first) << first.error().to_string();
  bo.port = (*first)->port();
  auto second = managed_broker::start(bo);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message().find("is in use"), std::string::npos);
  bo.port = 0;
  bo.program = "/nonexistent/mosquitto";
  auto third = managed_broker::start(bo);
  ASSERT_FALSE(third);
  EXPECT_NE(third.error().message().find("exited at start"), std::string::npos);
}

}  // namespace
}  // namespace doppel::ingest
