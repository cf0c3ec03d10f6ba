#include "app/config.h"

#include <gtest/gtest.h>

namespace doppel::app {
namespace {

std::string all_errors(const config_result& r) {
  std::string out;
  for (const auto& e : r.errors) out += format(e) + "\n";
  return out;
}

TEST(Config, MinimalProjectUsesDefaults) {
  auto r = parse_config("name: plant-1\n", "doppel.yaml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.name, "plant-1");
  EXPECT_EQ(r.config.models, std::vector<std::string>{"models"});
  EXPECT_EQ(r.config.twins, std::vector<std::string>{"twins"});
}

TEST(Config, AllKeys) {
  auto r = parse_config("name: p\ndescription: a plant\nmodels: [m1, m2]\ntwins: t\n", "doppel.yaml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.description, "a plant");
  EXPECT_EQ(r.config.models, (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(r.config.twins, std::vector<std::string>{"t"});
}

TEST(Config, DefaultTextIsValid) {
  auto r = parse_config(default_config_text("pump-station"), "doppel.yaml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.name, "pump-station");
}

TEST(Config, IngestSection) {
  auto r = parse_config("name: a\ningest: {shards: 3, queue_readings: 5000, dead_letters: 50}\n", "doppel.yaml");
  ASSERT_TRUE(r.ok()) << r.errors[0].message;
  EXPECT_EQ(r.config.ingest.shards, 3);
  EXPECT_EQ(r.config.ingest.queue_readings, 5000u);
  EXPECT_EQ(r.config.ingest.dead_letters, 50u);
  auto bad = parse_config("name: a\ningest: {shards: -1, queue: 1}\n", "doppel.yaml");
  ASSERT_EQ(bad.errors.size(), 2u);
  EXPECT_NE(bad.errors[0].message.find("ingest.shards"), std::string::npos) << bad.errors[0].message;
  EXPECT_NE(bad.errors[1].message.find("unknown key \"queue\" in ingest"), std::string::npos) << bad.errors[1].message;
}

TEST(Config, SimulationLiveBindings) {
  auto r = parse_config(R"yaml(name: p
simulation:
  live:
    - model: "dtmi:example:Pump;1"
      equations: pump
      interval: 500ms
      inputs: {speed: speed, ambient: 25, load: {property: load, scale: 0.01, offset: 1}}
      parameters: {Qbep: ratedFlow}
      measured: {flow: {telemetry: flow, scale: 3.6}}
      outputs: [efficiency]
)yaml",
                        "doppel.yaml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  ASSERT_EQ(r.config.simulation.live.size(), 1u);
  const sim::live_spec& s = r.config.simulation.live[0];
  EXPECT_EQ(s.model, "dtmi:example:Pump;1");
  EXPECT_EQ(s.equations, "pump");
  EXPECT_EQ(s.interval_ns, 500'000'000);
  EXPECT_EQ(s.line, 4u);
  ASSERT_EQ(s.inputs.size(), 3u);
  EXPECT_EQ(s.inputs[0].second.from, sim::live_source::kind::telemetry);
  EXPECT_EQ(s.inputs[1].second.from, sim::live_source::kind::constant);
  EXPECT_EQ(s.inputs[1].second.value, 25);
  EXPECT_EQ(s.inputs[2].second.from, sim::live_source::kind::property);
  EXPECT_EQ(s.inputs[2].second.scale, 0.01);
  EXPECT_EQ(s.parameters[0].second.from, sim::live_source::kind::property);  // a bare name: a property
  EXPECT_EQ(s.measured[0].second.scale, 3.6);
  EXPECT_EQ(s.outputs, std::vector<std::string>{"efficiency"});

  auto bad = parse_config(R"yaml(name: p
simulation:
  live:
    - equations: pump
      inputs: {speed: {telemetry: speed, property: speed}}
      interval: soon
      colour: red
)yaml",
                          "doppel.yaml");
  std::string all = all_errors(bad);
  EXPECT_NE(all.find("simulation.live[0].inputs.speed needs exactly one of telemetry, property or value"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("simulation.live[0].interval must be a duration"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown key \"colour\" in simulation.live[0]"), std::string::npos) << all;
  EXPECT_NE(all.find("simulation.live[0] needs `model:`"), std::string::npos) << all;
}

TEST(Config, ApiBoundsAndStoreSection) {
  auto r = parse_config(
      "name: p\napi: {events_queue_bytes: 1048576, connection_queue_bytes: 2097152, max_connections: 100,\n"
      "  max_connections_per_token: 3, max_unauthenticated: 16, query_workers: 2, query_queue: 8,\n"
      "  queries_per_token: 1, query_max_work: 5000}\nstore: {max_bytes: 1000000000, checkpoint_interval: 1h}\n",
      "doppel.yaml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const api_config& a = r.config.api;
  EXPECT_EQ(a.events_queue_bytes, 1048576u);
  EXPECT_EQ(a.connection_queue_bytes, 2097152u);
  EXPECT_EQ(a.max_connections, 100u);
  EXPECT_EQ(a.max_connections_per_token, 3u);
  EXPECT_EQ(a.max_unauthenticated, 16u);
  EXPECT_EQ(a.query_workers, 2u);
  EXPECT_EQ(a.query_queue, 8u);
  EXPECT_EQ(a.queries_per_token, 1u);
  EXPECT_EQ(a.query_max_work, 5000u);
  EXPECT_EQ(r.config.store.max_bytes, 1000000000u);
  EXPECT_EQ(r.config.store.checkpoint_interval_ms, 3600000);
  // Defaults, and a bound out of range.
  auto d = parse_config("name: p\n", "doppel.yaml");
  EXPECT_EQ(d.config.api.events_queue_bytes, std::size_t(16) << 20);
  EXPECT_EQ(d.config.api.max_connections_per_token, 64u);
  EXPECT_EQ(d.config.store.max_bytes, 0u);
  auto bad = parse_config("name: p\napi: {queries_per_token: 0}\n", "doppel.yaml");
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_NE(bad.errors[0].message.find("api.queries_per_token must be a number from 1"), std::string::npos)
      << bad.errors[0].message;
}

TEST(Config, WebRoot) {
  EXPECT_EQ(parse_config("name: p\n", "doppel.yaml").config.api.web_root, "");  // beside the binary
  auto r = parse_config("name: p\napi: {web_root: web/dist}\n", "doppel.yaml");
  ASSERT_TRUE(r.errors.empty());
  EXPECT_EQ(r.config.api.web_root, "web/dist");
  EXPECT_EQ(parse_config("name: p\napi: {web_root: off}\n", "doppel.yaml").config.api.web_root, "off");
  for (const char* bad : {"name: p\napi: {web_root: /srv/web}\n", "name: p\napi: {web_root: \"\"}\n"}) {
    auto b = parse_config(bad, "doppel.yaml");
    ASSERT_EQ(b.errors.size(), 1u) << bad;
    EXPECT_NE(b.errors[0].message.find("api.web_root"), std::string::npos) << b.errors[0].message;
  }
}

TEST(Config, EnforceWritable) {
  EXPECT_FALSE(parse_config("name: p\n", "doppel.yaml").config.api.enforce_writable);  // as in ADT
  auto r = parse_config("name: p\napi: {enforce_writable: true}\n", "doppel.yaml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_TRUE(r.config.api.enforce_writable);
  auto b = parse_config("name: p\napi: {enforce_writable: sometimes}\n", "doppel.yaml");
  ASSERT_EQ(b.errors.size(), 1u);
  EXPECT_EQ(b.errors[0].message, "api.enforce_writable must be true or false");
  EXPECT_EQ(b.errors[0].line, 2u);
}

TEST(Config, HistorySection) {
  auto r = parse_config(
      "name: a\nhistory:\n  retention: 90d\n  late_window: PT30M\n  retention_by_model: {\"dtmi:x:Pump;1\": 12h}\n",
      "doppel.yaml");
  ASSERT_TRUE(r.ok()) << r.errors[0].message;
  constexpr std::int64_t s1 = 1000000000;
  EXPECT_EQ(r.config.history.retention_ns, 90 * 86400 * s1);
  EXPECT_EQ(r.config.history.late_window_ns, 1800 * s1);
  EXPECT_EQ(r.config.history.retention_by_model.at("dtmi:x:Pump;1"), 12 * 3600 * s1);
  auto bad = parse_config("name: a\nhistory:\n  retention: forever\n  retention_by_model: {pump: 1d}\n  keep: 1\n",
                          "doppel.yaml");
  ASSERT_EQ(bad.errors.size(), 3u) << all_errors(bad);
  EXPECT_EQ(bad.errors[0].line, 3u);
  EXPECT_NE(bad.errors[0].message.find("history.retention must be a duration such as 12h"), std::string::npos);
  EXPECT_NE(bad.errors[1].message.find("keys must be model ids"), std::string::npos);
  EXPECT_NE(bad.errors[2].message.find("unknown key \"keep\" in history"), std::string::npos);
}

TEST(Config, UnknownKeyHasLineAndColumn) {
  auto r = parse_config("name: p\n  \nmodel: [m]\n", "proj/doppel.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].line, 3u);
  EXPECT_EQ(r.errors[0].column, 1u);
  EXPECT_EQ(format(r.errors[0]),
            "proj/doppel.yaml:3:1: error: unknown key \"model\"; known keys are name, description, models, twins, api, "
            "ingest, mqtt, history, store, simulation");
}

TEST(Config, MqttSection) {
  auto r = parse_config(R"(name: p
mqtt:
  broker: mqtt://10.0.0.5:1883
  version: "3.1.1"
  qos: 0
  password_env: MQTT_PASSWORD
  max_inflight_out: 20
  out_queue_messages: 50
  out_queue_bytes: 65536
  topics:
    - topic: plant/{site}/pump/{id}/telemetry
      twin: pump-{id}
      fields:
        - {path: /p/discharge, name: dischargePressure, scale: 0.001}
    - topic: spBv1.0/+/DDATA/+/{device}
      twin: "{device}"
      payload: sparkplug
)",
                        "doppel.yaml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const auto& m = r.config.mqtt;
  EXPECT_EQ(m.broker, "mqtt://10.0.0.5:1883");
  EXPECT_EQ(m.version, 4);
  EXPECT_EQ(m.qos, 0);
  EXPECT_EQ(m.max_inflight_out, 20);
  EXPECT_EQ(m.out_queue_messages, 50u);
  EXPECT_EQ(m.out_queue_bytes, 65536u);
  ASSERT_EQ(m.topics.size(), 2u);
  EXPECT_EQ(m.topics[0].twin, "pump-{id}");
  ASSERT_EQ(m.topics[0].fields.size(), 1u);
  EXPECT_DOUBLE_EQ(m.topics[0].fields[0].scale, 0.001);
  EXPECT_EQ(m.topics[1].payload, ingest::payload_form::sparkplug);
  // Defaults: the managed broker on 1883, the default topic.
  auto d = parse_config("name: p\n", "doppel.yaml");
  EXPECT_EQ(d.config.mqtt.broker, "managed");
  EXPECT_EQ(d.config.mqtt.port, 1883);
  EXPECT_TRUE(d.config.mqtt.topics.empty());
}

TEST(Config, MqttMistakesSayWhereAndWhat) {
  auto first_error = [](const std::string& text) {
    auto r = parse_config(text, "doppel.yaml");
    return r.errors.empty() ? std::string() : format(r.errors[0]);
  };
  EXPECT_NE(first_error("name: p\nmqtt: {broker: tcp://x}\n").find("mqtt.broker must be managed, off, or a URL"),
            std::string::npos);
  EXPECT_NE(first_error("name: p\nmqtt: {qos: 2}\n").find("mqtt.qos must be a number from 0 to 1"), std::string::npos);
  EXPECT_NE(first_error("name: p\nmqtt: {version: 4}\n").find("mqtt.version must be 5 or \"3.1.1\""),
            std::string::npos);
  EXPECT_NE(first_error("name: p\nmqtt: {max_inflight_out: 0}\n")
                .find("mqtt.max_inflight_out must be a number from 1 to 65534"),
            std::string::npos);
  EXPECT_NE(first_error("name: p\nmqtt: {brokr: managed}\n").find("doppel.yaml:2:8: error: unknown key \"brokr\""),
            std::string::npos);
  EXPECT_NE(first_error("name: p\nmqtt:\n  topics:\n    - topic: a/{id}\n      twin: x-{nope}\n")
                .find("mqtt.topics[0].twin: {nope} is not captured by the topic a/{id}"),
            std::string::npos);
  EXPECT_NE(first_error("name: p\nmqtt:\n  topics:\n    - topic: a/{id}\n      twin: x\n      payload: xml\n")
                .find("payload must be json, sparkplug or line-protocol"),
            std::string::npos);
}

TEST(Config, WrongTypes) {
  auto r = parse_config("name: [a, b]\nmodels: {a: 1}\ndescription: {x: y}\n", "doppel.yaml");
  ASSERT_EQ(r.errors.size(), 3u) << all_errors(r);
  EXPECT_NE(r.errors[0].message.find("name must be a string, not a list"), std::string::npos);
  EXPECT_EQ(r.errors[0].line, 1u);
  EXPECT_EQ(r.errors[0].column, 7u);
  EXPECT_NE(r.errors[1].message.find("models must be a list of paths"), std::string::npos);
  EXPECT_EQ(r.errors[1].line, 2u);
  EXPECT_NE(r.errors[2].message.find("description must be a string"), std::string::npos);
}

TEST(Config, ListEntriesMustBeStrings) {
  auto r = parse_config("name: p\nmodels: [a, [b]]\n", "doppel.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].line, 2u);
  EXPECT_EQ(r.errors[0].column, 13u);
}

TEST(Config, MissingNameAndBadName) {
  auto missing = parse_config("models: [m]\n", "doppel.yaml");
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_NE(missing.errors[0].message.find("missing key `name`"), std::string::npos);
  auto bad = parse_config("name: \"my plant!\"\n", "doppel.yaml");
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_NE(bad.errors[0].message.find("must be 1-64 letters"), std::string::npos);
}

TEST(Config, DuplicateKey) {
  auto r = parse_config("name: a\nname: b\n", "doppel.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].line, 2u);
  EXPECT_NE(r.errors[0].message.find("appears twice"), std::string::npos);
}

TEST(Config, AbsolutePathsRejected) {
  auto r = parse_config("name: a\nmodels: [/etc/models]\n", "doppel.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_NE(r.errors[0].message.find("absolute"), std::string::npos);
}

TEST(Config, InvalidYamlSyntax) {
  auto r = parse_config("name: a\nmodels: [m\n", "doppel.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("invalid YAML"), std::string::npos);
  EXPECT_GE(r.errors[0].line, 2u);
}

TEST(Config, NotAMapping) {
  for (const char* text : {"", "- a\n- b\n", "just text\n"}) {
    auto r = parse_config(text, "doppel.yaml");
    ASSERT_EQ(r.errors.size(), 1u) << text;
    EXPECT_NE(r.errors[0].message.find("must be a mapping"), std::string::npos) << text;
  }
}

TEST(Config, MissingFileSaysHowToCreateOne) {
  auto r = load_config("/nonexistent/doppel-project");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("doppel init"), std::string::npos);
}

}  // namespace
}  // namespace doppel::app
