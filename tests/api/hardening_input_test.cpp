// Issue 19, "no input crashes the server": each reproduction against the real `doppel serve`
// (deep nesting over MQTT and HTTP, 1e400 in every JSON body, invalid UTF-8 in ids and line
// protocol, Transfer-Encoding smuggling, the int64 ends of long values and of time) and what the
// server answers instead. The JSON policy itself is unit-tested in tests/core/json_input_test.cpp.
#include "api/api_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "loadgen/mqtt_load.h"

namespace doppel::api {
namespace {

using namespace std::chrono_literals;

std::string nested(std::size_t levels, const std::string& inner = "1") {
  return std::string(levels, '[') + inner + std::string(levels, ']');
}

// The managed broker's port, from serve's "mqtt broker on mqtt://127.0.0.1:PORT" line.
unsigned short broker_port(const std::string& output) {
  auto at = output.find("mqtt broker on mqtt://127.0.0.1:");
  return at == std::string::npos ? 0 : static_cast<unsigned short>(std::stoi(output.substr(at + 32)));
}

// Sends raw bytes on a new connection and reads until the server closes it (a receive timeout
// only keeps a broken server from hanging the test; nothing is asserted about time).
std::string raw_exchange(unsigned short port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size())) {
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class hardening_input : public api_fixture {
 protected:
  // Waits until the history of `name` of `twin` holds `n` points; returns the count seen.
  std::size_t wait_history(const std::string& twin, const std::string& name, std::size_t n) {
    std::size_t seen = 0;
    for (int k = 0; k < 600 && seen < n; ++k) {
      auto r = call("GET", "/digitaltwins/" + twin + "/telemetry/" + name + "?limit=100000");
      if (r.status == 200) seen = body(r)["value"].size();
      if (seen < n) std::this_thread::sleep_for(50ms);
    }
    return seen;
  }
  void publish(unsigned short port, const std::string& payload) {
    doppel::loadgen::mqtt_client pub;
    ASSERT_TRUE(pub.connect(port, "device-hardening", ingest::mqtt::v5, "fleet", fleet_password())) << pub.error();
    ASSERT_TRUE(pub.publish("doppel/twins/pump-1/telemetry", payload, 1));
    ASSERT_TRUE(pub.wait_acks()) << pub.error();
    pub.disconnect();
  }
  // The server still answers (it did not crash on what came before).
  void expect_alive() {
    start_client();
    EXPECT_EQ(call("GET", "/healthz", "").status, 200u) << server_.output();
  }
};

// Item 1: 100,000 nested arrays published at QoS 1 overflowed the stack, were never
// acknowledged and crashed the server again at every restart.
TEST_F(hardening_input, DeepMqttPayloadIsADeadLetterNotACrash) {
  fleet_password();  // the device credential exists before the broker starts
  start({"--mqtt", "managed", "--mqtt-listen", "127.0.0.1:0"});
  unsigned short port = broker_port(server_.output());
  ASSERT_NE(port, 0) << server_.output();
  publish(port, R"({"speed": )" + nested(100000) + "}");
  publish(port, R"({"speed": 7, "$ts": 1764064800000})");
  ASSERT_EQ(wait_history("pump-1", "speed", 1), 1u) << server_.output();
  EXPECT_EQ(body(call("GET", "/digitaltwins/pump-1/telemetry/speed"))["value"][0]["value"], 7.0);
  json letters = body(call("GET", "/deadletters?reason=too_deep", "operator"));
  ASSERT_EQ(letters["value"].size(), 1u) << letters.dump().substr(0, 2000);
  EXPECT_NE(letters["value"][0]["message"].get<std::string>().find("deeper than 64 levels"), std::string::npos);
  // Restarted on the same broker (whose session holds whatever was not acknowledged): it stays
  // up and goes on consuming.
  EXPECT_EQ(server_.kill(SIGTERM), 0) << server_.output();
  ASSERT_TRUE(
      server_.start(project_, data_, {"--mqtt", "managed", "--mqtt-listen", "127.0.0.1:" + std::to_string(port)}))
      << server_.output();
  start_client();
  publish(port, R"({"speed": 8, "$ts": 1764064801000})");
  ASSERT_EQ(wait_history("pump-1", "speed", 2), 2u) << server_.output();
  expect_alive();
}

// Item 2: "x": 1e400 in a body parsed by nlohmann threw an uncaught out_of_range.
TEST_F(hardening_input, NumberOutOfRangeIsA400OnEveryJsonRoute) {
  start();
  const std::string big = "1e400";
  struct json_route {
    std::string method, target, who, body;
  };
  std::vector<json_route> routes = {
      {"POST", "/query", "viewer", R"({"query": "SELECT * FROM DIGITALTWINS", "x": 1e400})"},
      {"PUT", "/digitaltwins/pump-9", "admin",
       R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"}, "targetSpeed": 1e400})"},
      {"PATCH", "/digitaltwins/pump-1", "admin", R"([{"op": "replace", "path": "/targetSpeed", "value": 1e400}])"},
      {"PATCH", "/digitaltwins/pump-1/desired", "operator", R"({"targetSpeed": 1e400})"},
      {"PUT", "/digitaltwins/station-north/relationships/p9", "admin",
       R"({"$relationshipName": "hasPump", "$targetId": "pump-2", "position": 1e400})"},
      {"PATCH", "/digitaltwins/station-north/relationships/p1", "admin",
       R"([{"op": "replace", "path": "/position", "value": 1e400}])"},
      {"POST", "/models", "admin", R"([{"@id": "dtmi:x:y;1", "@type": "Interface", "x": 1e400}])"},
      {"PATCH", "/models/dtmi:doppel:example:Pump;1", "admin",
       R"([{"op": "replace", "path": "/decommissioned", "value": 1e400}])"},
      {"POST", "/query/telemetry", "viewer",
       R"({"query": "SELECT T FROM DIGITALTWINS T", "name": "speed", "step": "1h", "to": 1e400})"},
      {"POST", "/telemetry/pump-1", "operator", R"({"speed": 1e400})"},
      {"POST", "/telemetry", "operator", R"([{"$dtId": "pump-1", "speed": 1e400}])"},
  };
  for (const auto& r : routes) {
    SCOPED_TRACE(r.method + " " + r.target);
    response res = call(r.method, r.target, r.who, r.body);
    expect_error(res, 400, "bad_request");
    ASSERT_TRUE(server_.running());
  }
  // Every route says where and what to do; telemetry keeps a dead letter of that reason.
  response t = call("POST", "/telemetry/pump-1", "operator", R"({"speed": 1e400})");
  EXPECT_NE(t.body.find("at byte 10"), std::string::npos) << t.body;
  EXPECT_EQ(body(call("GET", "/deadletters?reason=number_out_of_range", "operator"))["value"].size(), 3u);
  response q = call("POST", "/query", "viewer", routes[0].body);
  EXPECT_NE(q.body.find("at byte 45"), std::string::npos) << q.body;
  EXPECT_NE(q.body.find("out of range"), std::string::npos) << q.body;
  EXPECT_EQ(body(call("GET", "/digitaltwins/pump-1", "viewer"))["targetSpeed"], 1450);
  expect_alive();
}

// Item 3: deep nesting inside a value (a telemetry value, a JSON Patch value) crashed the
// telemetry routes and twin/relationship PATCH.
TEST_F(hardening_input, DeepNestingInsideAValueIsA400) {
  start();
  const std::string deep = nested(100000);
  expect_error(call("POST", "/telemetry/pump-1", "operator", R"({"speed": )" + deep + "}"), 400, "bad_request");
  expect_error(call("POST", "/telemetry", "operator", R"([{"$dtId": "pump-1", "speed": )" + deep + "}]"), 400,
               "bad_request");
  expect_error(call("PATCH", "/digitaltwins/tank-1", "admin",
                    R"([{"op": "add", "path": "/alarmLimits/high", "value": )" + deep + "}]"),
               400, "bad_request");
  expect_error(call("PATCH", "/digitaltwins/station-north/relationships/p1", "admin",
                    R"([{"op": "replace", "path": "/position", "value": )" + deep + "}]"),
               400, "bad_request");
  response r = call("PATCH", "/digitaltwins/pump-1/desired", "operator", R"({"targetSpeed": )" + deep + "}");
  expect_error(r, 400, "bad_request");
  EXPECT_NE(r.body.find("deeper than 64 levels at byte 79"), std::string::npos) << r.body;
  // Dead letters of the telemetry routes say why.
  json letters = body(call("GET", "/deadletters?reason=too_deep", "operator"));
  EXPECT_EQ(letters["value"].size(), 2u);
  // At the limit a value still goes through to the schema check (and is refused there).
  expect_error(call("POST", "/telemetry/pump-1", "operator", R"({"speed": )" + nested(63) + "}"), 400,
               "ValidationFailed");
  EXPECT_EQ(body(call("GET", "/deadletters?reason=wrong_type", "operator"))["value"].size(), 1u);
  expect_alive();
}

// Item 4: invalid UTF-8 reaching stored data crashed the server when it was serialised.
TEST_F(hardening_input, InvalidUtf8IsRefusedAtTheDoor) {
  start();
  const std::string pump = R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"}})";
  for (const char* id : {"%FF%FE", "%C0%AE", "pump%ED%A0%80"}) {
    SCOPED_TRACE(id);
    response r = call("PUT", std::string("/digitaltwins/") + id, "admin", pump);
    expect_error(r, 400, "bad_request");
    EXPECT_NE(r.body.find("not valid UTF-8"), std::string::npos) << r.body;
  }
  expect_error(call("PUT", "/digitaltwins/station-north/relationships/%FF", "admin",
                    R"({"$relationshipName": "hasPump", "$targetId": "pump-2"})"),
               400, "bad_request");
  expect_error(call("GET", "/telemetry/export?twin=%FF", "viewer"), 400, "bad_request");
  // Raw bytes in a JSON body: refused with the byte offset.
  response r = call("PUT", "/digitaltwins/pump-9", "admin",
                    "{\"$metadata\": {\"$model\": \"dtmi:doppel:example:Pump;1\"}, \"serialNumber\": \"\xff\xfe\"}");
  expect_error(r, 400, "bad_request");
  EXPECT_NE(r.body.find("not valid UTF-8 at byte 73"), std::string::npos) << r.body;
  // "$dtId" of a batch entry.
  expect_error(call("POST", "/telemetry", "operator", "[{\"$dtId\": \"pump-\xff\", \"speed\": 1}]"), 400,
               "bad_request");
  EXPECT_EQ(body(call("GET", "/deadletters?reason=invalid_utf8", "operator"))["value"].size(), 1u);
  // Line protocol: that line is malformed (line and column); the good line is applied.
  r = call("POST", "/write", "operator", "pumps,twin=pump-2 flow=3\npumps,twin=pump-2 note=\"\xff\xfe\"\n");
  expect_error(r, 400, "bad_request");
  EXPECT_NE(r.body.find("line 2, column 25"), std::string::npos) << r.body;
  json letters = body(call("GET", "/deadletters?reason=malformed_line", "operator"));
  ASSERT_EQ(letters["value"].size(), 1u);
  EXPECT_EQ(letters["value"][0]["raw"], "pumps,twin=pump-2 note=\"\\xFF\\xFE\"");
  expect_error(call("POST", "/write", "operator", "pumps,twin=pump-\xff flow=3\n"), 400, "bad_request");
  EXPECT_EQ(body(call("GET", "/digitaltwins/pump-2/telemetry", "viewer"))["flow"]["value"], 3.0);
  // Nothing was stored, and everything still serialises.
  EXPECT_EQ(body(call("POST", "/query", "viewer", R"({"query": "SELECT * FROM DIGITALTWINS"})"))["value"].size(), 5u);
  expect_alive();
}

// Item 18: the body of a request with Transfer-Encoding other than chunked was read as the next
// request (request smuggling behind a proxy that frames it differently).
TEST_F(hardening_input, TransferEncodingOtherThanChunkedIsRefusedAndCloses) {
  start();
  for (const char* te : {"gzip", "chunked, gzip", "identity"}) {
    SCOPED_TRACE(te);
    std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    std::string out =
        raw_exchange(server_.port(), "POST /query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tokens_["viewer"] +
                                         "\r\nTransfer-Encoding: " + te + "\r\n\r\n" + smuggled);
    EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
    EXPECT_NE(out.find("Transfer-Encoding"), std::string::npos) << out;
    EXPECT_NE(out.find("Connection: close"), std::string::npos) << out;
    EXPECT_EQ(count(out, "HTTP/1.1 "), 1u) << "the body was read as a request: " << out;
  }
  // chunked alone still works.
  std::string q = R"({"query": "SELECT * FROM DIGITALTWINS WHERE $dtId = 'pump-1'"})";
  char size[16];
  std::snprintf(size, sizeof size, "%zx", q.size());
  std::string out = raw_exchange(server_.port(),
                                 "POST /query HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                 "Authorization: Bearer " +
                                     tokens_["viewer"] + "\r\nTransfer-Encoding: chunked\r\n\r\n" + size + "\r\n" + q +
                                     "\r\n0\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << out;
  EXPECT_NE(out.find("pump-1"), std::string::npos) << out;
}

// Item 18: /events (served by the WebSocket upgrade) was missing from /openapi.json.
TEST_F(hardening_input, EventsIsInTheOpenApiDocument) {
  start();
  json doc = body(call("GET", "/openapi.json", ""));
  ASSERT_TRUE(doc["paths"].contains("/events")) << doc["paths"].dump();
  json op = doc["paths"]["/events"]["get"];
  EXPECT_EQ(op["x-doppel-role"], "viewer");
  std::set<std::string> names;
  for (const auto& p : op["parameters"]) names.insert(p["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"twin", "model", "type", "token"}));
  // A plain GET is told to upgrade; the WebSocket itself still works (api_test covers events).
  response r = call("GET", "/events", "viewer");
  expect_error(r, 426, "upgrade_required");
  auto sub = http_client::connect("127.0.0.1", server_.port());
  ASSERT_TRUE(sub);
  EXPECT_TRUE((*sub)->websocket("/events?twin=pump-1", tokens_["viewer"]));
}

// Item 18: a long property took -2^63-1 (as a double, which rounds to -2^63) and an integer
// property answered 1e2 as 100.0.
TEST_F(hardening_input, IntegerPropertiesHoldExactlyTheirRangeAndStayIntegers) {
  start();
  ASSERT_EQ(call("POST", "/models", "admin", R"([{"@id": "dtmi:test:Counter;1", "@type": "Interface",
      "@context": "dtmi:dtdl:context;3", "contents": [
        {"@type": "Property", "name": "total", "schema": "long", "writable": true},
        {"@type": "Property", "name": "count", "schema": "integer", "writable": true}]}])")
                .status,
            201u);
  auto put = [&](const std::string& value) {
    return call("PUT", "/digitaltwins/c1", "admin",
                R"({"$metadata": {"$model": "dtmi:test:Counter;1"}, "total": )" + value + "}");
  };
  for (const char* ok : {"-9223372036854775808", "9223372036854775807", "0", "1e15"}) {
    SCOPED_TRACE(ok);
    EXPECT_EQ(put(ok).status, 200u);
  }
  for (const char* bad : {"-9223372036854775809", "9223372036854775808", "-9.3e18", "1e19", "0.5"}) {
    SCOPED_TRACE(bad);
    expect_error(put(bad), 400, "ValidationFailed");
  }
  ASSERT_EQ(put("9223372036854775807").status, 200u);
  EXPECT_EQ(body(call("GET", "/digitaltwins/c1", "viewer"))["total"].dump(), "9223372036854775807");
  // 1e2 is the integer 100: stored and answered without a fraction, on every write path.
  ASSERT_EQ(call("PATCH", "/digitaltwins/c1", "admin", R"([{"op": "add", "path": "/count", "value": 1e2}])").status,
            204u);
  response got = call("GET", "/digitaltwins/c1", "viewer");
  EXPECT_EQ(body(got)["count"].dump(), "100") << got.body;
  EXPECT_EQ(got.body.find("100.0"), std::string::npos) << got.body;
  ASSERT_EQ(put("1e3").status, 200u);
  EXPECT_EQ(body(call("GET", "/digitaltwins/c1", "viewer"))["total"].dump(), "1000");
  ASSERT_EQ(call("POST", "/telemetry/c1", "operator", R"({"count": 2.5e1})").status, 204u);
  EXPECT_EQ(body(call("GET", "/digitaltwins/c1", "viewer"))["count"].dump(), "25");
  ASSERT_EQ(call("PATCH", "/digitaltwins/station-north/relationships/p1", "admin",
                 R"([{"op": "replace", "path": "/position", "value": 3e0}])")
                .status,
            204u);
  EXPECT_EQ(body(call("GET", "/digitaltwins/station-north/relationships/p1", "viewer"))["position"].dump(), "3");
}

// Item 18: points written at INT64_MIN and INT64_MAX nanoseconds could not be read back with
// from and to.
TEST_F(hardening_input, PointsAtTheEndsOfTimeReadBack) {
  start();
  ASSERT_EQ(call("POST", "/write", "operator",
                 "pumps,twin=pump-1 speed=1 -9223372036854775808\n"
                 "pumps,twin=pump-1 speed=2 0\n"
                 "pumps,twin=pump-1 speed=3 9223372036854775807\n")
                .status,
            204u);
  ASSERT_EQ(wait_history("pump-1", "speed", 3), 3u);  // history is written after the answer
  auto values = [&](const std::string& query) {
    response r = call("GET", "/digitaltwins/pump-1/telemetry/speed" + query, "viewer");
    EXPECT_EQ(r.status, 200u) << query << ": " << r.body;
    std::vector<double> out;
    json page = body(r);
    for (const auto& p : page["value"]) out.push_back(p["value"].get<double>());
    return out;
  };
  EXPECT_EQ(values(""), (std::vector<double>{1, 2, 3}));
  const std::string first = "1677-09-21T00:12:43.145224192Z", last = "2262-04-11T23:47:16.854775807Z";
  EXPECT_EQ(values("?from=" + first + "&to=" + last), (std::vector<double>{1, 2, 3}));  // to at the end: no end
  EXPECT_EQ(values("?from=" + first + "&to=1970-01-01T00:00:00Z"), (std::vector<double>{1}));
  EXPECT_EQ(values("?from=1970-01-01T00:00:00Z"), (std::vector<double>{2, 3}));
  EXPECT_EQ(values("?to=0"), (std::vector<double>{1}));  // Unix ms
  EXPECT_EQ(values("?to=1970-01-01T00:00:00Z&limit=1").size(), 1u);
  // Aggregates over the whole range do not overflow.
  response agg = call("GET", "/digitaltwins/pump-1/telemetry/speed?step=1d&agg=count", "viewer");
  EXPECT_EQ(agg.status, 200u) << agg.body;
  // One nanosecond beyond: refused, saying the range.
  response r = call("GET", "/digitaltwins/pump-1/telemetry/speed?from=1677-09-21T00:12:43.145224191Z", "viewer");
  expect_error(r, 400, "bad_request");
  EXPECT_NE(r.body.find("1677-09-21"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace doppel::api
