// The API against the real `doppel serve` binary on a loopback port, driven over HTTP.
#include "api/client.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "api/api_fixture.h"
#include "api/auth.h"

namespace doppel::api {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST_F(api_fixture, ServesTheDeclaredTwins) {
  start();
  response r = call("GET", "/digitaltwins/pump-1");
  ASSERT_EQ(r.status, 200u) << r.body;
  json t = body(r);
  EXPECT_EQ(t["$dtId"], "pump-1");
  EXPECT_EQ(t["$metadata"]["$model"], "dtmi:doppel:example:Pump;1");
  EXPECT_TRUE(t["$metadata"]["targetSpeed"].contains("lastUpdateTime"));
  EXPECT_EQ(header(r, "ETag"), t["$etag"]);
  EXPECT_EQ(body(call("GET", "/healthz", ""))["status"], "ok");
}

// Who may call what, written down here (docs/security.md's table) rather than read from the
// server: a route that needs the wrong role, or is public by mistake, fails this.
struct route_rule {
  const char* method;
  const char* path;  // as /openapi.json spells it
  const char* role;  // the lowest role allowed; "" for a public route
};
constexpr route_rule k_routes[] = {
    {"GET", "/healthz", ""},
    {"GET", "/metrics", "viewer"},
    {"GET", "/openapi.json", ""},
    {"GET", "/models", "viewer"},
    {"POST", "/models", "admin"},
    {"GET", "/models/{id}", "viewer"},
    {"PATCH", "/models/{id}", "admin"},
    {"DELETE", "/models/{id}", "admin"},
    {"POST", "/query", "viewer"},
    {"GET", "/digitaltwins/{id}", "viewer"},
    {"PUT", "/digitaltwins/{id}", "admin"},
    {"PATCH", "/digitaltwins/{id}", "admin"},
    {"DELETE", "/digitaltwins/{id}", "admin"},
    {"GET", "/digitaltwins/{id}/desired", "viewer"},
    {"PATCH", "/digitaltwins/{id}/desired", "operator"},
    {"GET", "/digitaltwins/{id}/telemetry", "viewer"},
    {"GET", "/digitaltwins/{id}/telemetry/{name}", "viewer"},
    {"POST", "/query/telemetry", "viewer"},
    {"GET", "/telemetry/export", "viewer"},
    {"POST", "/telemetry/{id}", "operator"},
    {"POST", "/telemetry", "operator"},
    {"POST", "/write", "operator"},
    {"GET", "/deadletters", "operator"},
    {"GET", "/digitaltwins/{id}/relationships", "viewer"},
    {"GET", "/digitaltwins/{id}/incomingrelationships", "viewer"},
    {"GET", "/digitaltwins/{id}/relationships/{relId}", "viewer"},
    {"PUT", "/digitaltwins/{id}/relationships/{relId}", "admin"},
    {"PATCH", "/digitaltwins/{id}/relationships/{relId}", "admin"},
    {"DELETE", "/digitaltwins/{id}/relationships/{relId}", "admin"},
    {"GET", "/digitaltwins/{id}/components/{component}", "viewer"},
    {"PATCH", "/digitaltwins/{id}/components/{component}", "admin"},
    {"POST", "/digitaltwins/{id}/telemetry", "operator"},
    {"POST", "/digitaltwins/{id}/components/{component}/telemetry", "operator"},
    {"GET", "/events", "viewer"},
    {"GET", "/digitaltwins/{id}/simulation", "viewer"},
    {"POST", "/digitaltwins/{id}/simulation/fit", "operator"},
    {"POST", "/scenarios", "operator"},
    {"GET", "/scenarios", "viewer"},
    {"GET", "/scenarios/{id}", "viewer"},
    {"GET", "/scenarios/{id}/compare", "viewer"},
    {"DELETE", "/scenarios/{id}", "operator"},
};

// Every route of the table: without a token 401, with a bad one 401, with too low a role 403,
// with the right role anything but 401/403/404-no-route/405. /openapi.json lists exactly these
// routes with these roles (a new route must be added here, with the role it needs).
TEST_F(api_fixture, EveryRouteHasAuthAndIsInTheOpenApiDocument) {
  start();
  json doc = body(call("GET", "/openapi.json", ""));
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["openapi"], "3.0.3");
  std::map<std::string, std::string> documented, expected;  // "METHOD path" -> role ("" public)
  for (const auto& [pattern, ops] : doc["paths"].items()) {
    for (const auto& [method_lower, op] : ops.items()) {
      std::string method = method_lower;
      for (auto& ch : method) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      bool is_public = op.contains("security") && op["security"].empty();
      documented[method + " " + pattern] = is_public ? "" : op.value("x-doppel-role", "?");
    }
  }
  for (const route_rule& rule : k_routes) expected[std::string(rule.method) + " " + rule.path] = rule.role;
  EXPECT_EQ(documented, expected);
  for (const route_rule& rule : k_routes) {
    std::string method = rule.method, pattern = rule.path, needs = rule.role, path = pattern;
    for (auto [from, to] :
         {std::pair<std::string, std::string>{"{id}", "pump-1"}, {"{relId}", "p1"}, {"{component}", "motor"}}) {
      if (auto at = path.find(from); at != std::string::npos) path.replace(at, from.size(), to);
    }
    if (pattern.find("{relId}") != std::string::npos) path.replace(path.find("pump-1"), 6, "station-north");
    if (pattern == "/models/{id}") path = "/models/dtmi:doppel:example:Pump;1";
    SCOPED_TRACE(method + " " + path);
    std::string body_text = method == "PATCH" ? "[]" : (method == "PUT" ? "{}" : "");
    if (!needs.empty()) {
      expect_error(call(method, path, "", body_text), 401, "unauthorized");
      response bad = call(method, path, "", body_text, {{"Authorization", "Bearer dpl_" + std::string(64, '0')}});
      expect_error(bad, 401, "unauthorized");
      if (needs != "viewer") expect_error(call(method, path, "viewer", body_text), 403, "forbidden");
      if (needs == "admin") expect_error(call(method, path, "operator", body_text), 403, "forbidden");
    }
    // DELETEs are tried with a non-matching If-Match so they change nothing.
    std::vector<std::pair<std::string, std::string>> h;
    if (method == "DELETE") h.push_back({"If-Match", "W/\"nope\""});
    response ok = call(method, path, needs, body_text, h);
    EXPECT_NE(ok.status, 401u) << ok.body;
    EXPECT_NE(ok.status, 403u) << ok.body;
    EXPECT_NE(ok.status, 405u) << ok.body;
    EXPECT_EQ(ok.body.find("no route"), std::string::npos) << ok.body;
  }
}

TEST_F(api_fixture, TwinLifecycleWithConditionalWrites) {
  start();
  std::string pump = R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"}, "targetSpeed": 900,
                         "motor": {"$metadata": {}}})";
  response created = call("PUT", "/digitaltwins/pump-9", "admin", pump, {{"If-None-Match", "*"}});
  ASSERT_EQ(created.status, 200u) << created.body;
  std::string etag = header(created, "ETag");
  ASSERT_FALSE(etag.empty());
  expect_error(call("PUT", "/digitaltwins/pump-9", "admin", pump, {{"If-None-Match", "*"}}), 412, "PreconditionFailed");
  std::string patch = R"([{"op": "replace", "path": "/targetSpeed", "value": 1000}])";
  // As in ADT: 204 and the new ETag; with Prefer: return=representation, the twin.
  response patched = call("PATCH", "/digitaltwins/pump-9", "admin", patch, {{"If-Match", etag}});
  ASSERT_EQ(patched.status, 204u) << patched.body;
  EXPECT_NE(header(patched, "ETag"), etag);
  EXPECT_EQ(body(call("GET", "/digitaltwins/pump-9"))["targetSpeed"], 1000);
  response shown = call("PATCH", "/digitaltwins/pump-9", "admin", patch,
                        {{"If-Match", header(patched, "ETag")}, {"Prefer", "return=representation"}});
  ASSERT_EQ(shown.status, 200u) << shown.body;
  EXPECT_EQ(body(shown)["targetSpeed"], 1000);
  patched = shown;
  // A second writer with the old etag loses, and is told.
  expect_error(call("PATCH", "/digitaltwins/pump-9", "admin", patch, {{"If-Match", etag}}), 412, "PreconditionFailed");
  // Validation errors carry JSON paths in details.
  response invalid =
      call("PATCH", "/digitaltwins/pump-9", "admin",
           R"([{"op": "add", "path": "/mode", "value": "sideways"}, {"op": "add", "path": "/nope", "value": 1}])");
  expect_error(invalid, 400, "ValidationFailed");
  EXPECT_FALSE(body(invalid)["error"]["details"].empty()) << invalid.body;
  expect_error(call("PATCH", "/digitaltwins/pump-9", "admin", R"({"op": "replace"})"), 400, "JsonPatchInvalid");
  expect_error(call("PUT", "/digitaltwins/pump-9", "admin", "{not json"), 400, "bad_request");
  expect_error(call("PUT", "/digitaltwins/pump-9", "admin", ""), 400, "bad_request");
  response deleted = call("DELETE", "/digitaltwins/pump-9", "admin", "", {{"If-Match", header(patched, "ETag")}});
  EXPECT_EQ(deleted.status, 204u) << deleted.body;
  expect_error(call("GET", "/digitaltwins/pump-9"), 404, "DigitalTwinNotFound");
  expect_error(call("DELETE", "/digitaltwins/pump-9"), 404, "DigitalTwinNotFound");
}

TEST_F(api_fixture, RelationshipsOverHttp) {
  start();
  response rels = call("GET", "/digitaltwins/station-north/relationships?relationshipName=hasPump");
  ASSERT_EQ(rels.status, 200u) << rels.body;
  EXPECT_EQ(body(rels)["value"].size(), 2u) << rels.body;
  response incoming = call("GET", "/digitaltwins/pump-1/incomingrelationships");
  ASSERT_EQ(incoming.status, 200u);
  EXPECT_EQ(body(incoming)["value"][0]["$sourceId"], "station-north");
  EXPECT_EQ(body(incoming)["value"][0]["$relationshipLink"], "/digitaltwins/station-north/relationships/p1");
  // Deleting a twin that has relationships is refused, naming them.
  response refused = call("DELETE", "/digitaltwins/pump-1");
  expect_error(refused, 400, "RelationshipsNotDeleted");
  EXPECT_NE(refused.body.find("incoming p1 from station-north"), std::string::npos) << refused.body;
  // A relationship to a twin of the wrong model is rejected.
  response wrong = call("PUT", "/digitaltwins/station-north/relationships/bad", "admin",
                        R"({"$relationshipName": "hasPump", "$targetId": "station-north"})");
  expect_error(wrong, 400, "InvalidRelationship");
  // Patch, then delete, with the etag.
  response got = call("GET", "/digitaltwins/station-north/relationships/p1");
  ASSERT_EQ(got.status, 200u) << got.body;
  response patched = call("PATCH", "/digitaltwins/station-north/relationships/p1", "admin",
                          R"([{"op": "replace", "path": "/$targetId", "value": "x"}])");
  expect_error(patched, 400, "JsonPatchInvalid");  // $-fields are the server's
  response renamed =
      call("PATCH", "/digitaltwins/station-north/relationships/p1", "admin", "[]", {{"If-Match", header(got, "ETag")}});
  EXPECT_EQ(renamed.status, 204u) << renamed.body;  // as ADT: 204 and the new ETag
  EXPECT_NE(header(renamed, "ETag"), header(got, "ETag"));
  response unknown = call("PATCH", "/digitaltwins/station-north/relationships/p1", "admin",
                          R"([{"op": "remove", "path": "/nosuch"}])");
  expect_error(unknown, 400, "JsonPatchInvalid");
  EXPECT_EQ(unknown.body.find("json.exception"), std::string::npos) << unknown.body;
  got = call("GET", "/digitaltwins/station-north/relationships/p1");
  response gone =
      call("DELETE", "/digitaltwins/station-north/relationships/p1", "admin", "", {{"If-Match", header(got, "ETag")}});
  EXPECT_EQ(gone.status, 204u) << gone.body;
  expect_error(call("GET", "/digitaltwins/station-north/relationships/p1"), 404, "RelationshipNotFound");
}

TEST_F(api_fixture, DesiredStateNeedsAnOperator) {
  start();
  expect_error(call("PATCH", "/digitaltwins/pump-1/desired", "viewer", R"({"targetSpeed": 1500})"), 403, "forbidden");
  response set = call("PATCH", "/digitaltwins/pump-1/desired", "operator", R"({"targetSpeed": 1500})");
  ASSERT_EQ(set.status, 200u) << set.body;
  json view = body(call("GET", "/digitaltwins/pump-1/desired", "viewer"));
  EXPECT_EQ(view["delta"], json::parse(R"({"targetSpeed": 1500})")) << view.dump();
  EXPECT_EQ(view["reported"]["targetSpeed"], 1450);
  // Only writable properties have a desired state (a device is asked to apply it).
  expect_error(call("PATCH", "/digitaltwins/pump-1/desired", "operator", R"({"ratedFlow": 1})"), 400,
               "ValidationFailed");
}

TEST_F(api_fixture, BadRequestsGetClearErrorsAndTheServerStaysUp) {
  start();
  expect_error(call("GET", "/nowhere"), 404, "not_found");
  response r = call("POST", "/digitaltwins/pump-1");
  expect_error(r, 405, "method_not_allowed");
  EXPECT_EQ(header(r, "Allow"), "GET, PUT, PATCH, DELETE");
  expect_error(call("GET", "/digitaltwins/%zz"), 400, "bad_request");
  expect_error(call("GET", "/models/dtmi:nope;1"), 404, "ModelNotFound");
  // Larger than the body limit: 413, then the connection closes; a new one works.
  response big = call("PUT", "/digitaltwins/big", "admin", std::string(5 << 20, ' '));
  expect_error(big, 413, "payload_too_large");
  EXPECT_EQ(call("GET", "/healthz", "").status, 200u);
  // A malformed Content-Length gets a 400 in the API's error shape, then the connection
  // closes; the server stays up. (http_client would correct the header: a raw socket sends it.)
  raw_socket junk(server_.port());
  ASSERT_TRUE(junk.ok());
  ASSERT_TRUE(junk.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"));
  // Reads to the end of the response's body (Content-Length), or to the close.
  std::string answer = junk.read_until([](const std::string& in) {
    auto end = in.find("\r\n\r\n"), length = in.find("Content-Length: ");
    return end != std::string::npos && length != std::string::npos && length < end &&
           in.size() >= end + 4 + std::stoul(in.substr(length + 16));
  });
  ASSERT_EQ(answer.rfind("HTTP/1.1 400 ", 0), 0u) << answer;
  auto at = answer.find("\r\n\r\n");
  ASSERT_NE(at, std::string::npos) << answer;
  response parsed;
  parsed.status = 400;
  parsed.body = answer.substr(at + 4);
  expect_error(parsed, 400, "bad_request");
  EXPECT_NE(body(parsed)["error"]["message"].get<std::string>().find("Content-Length"), std::string::npos)
      << parsed.body;
  EXPECT_EQ(call("GET", "/healthz", "").status, 200u);
}

TEST_F(api_fixture, RateLimitAnswers429) {
  std::ofstream(project_ / "doppel.yaml", std::ios::app) << "api:\n  rate_limit: 5\n  rate_burst: 5\n";
  start();
  int limited = 0;
  for (int i = 0; i < 20; ++i) {
    response r = call("GET", "/digitaltwins/pump-1", "viewer");
    if (r.status == 429) {
      ++limited;
      expect_error(r, 429, "rate_limited");
      EXPECT_EQ(header(r, "Retry-After"), "1");
    }
  }
  EXPECT_GE(limited, 10);
  EXPECT_EQ(call("GET", "/digitaltwins/pump-1", "admin").status, 200u);  // per token
}

TEST_F(api_fixture, CorsIsOffUnlessConfigured) {
  start();
  response r = call("GET", "/healthz", "", "", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "");
}

TEST_F(api_fixture, CorsForConfiguredOrigins) {
  std::ofstream(project_ / "doppel.yaml", std::ios::app) << "api:\n  cors_origins: [\"http://localhost:5173\"]\n";
  start();
  response r = call("GET", "/healthz", "", "", {{"Origin", "http://localhost:5173"}});
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "http://localhost:5173");
  response pre = call("OPTIONS", "/digitaltwins/pump-1", "", "", {{"Origin", "http://localhost:5173"}});
  EXPECT_EQ(pre.status, 204u);
  EXPECT_NE(header(pre, "Access-Control-Allow-Methods").find("PATCH"), std::string::npos);
  EXPECT_EQ(header(call("GET", "/healthz", "", "", {{"Origin", "http://other"}}), "Access-Control-Allow-Origin"), "");
}

TEST_F(api_fixture, TokensCreatedWhileRunningWorkAtOnce) {
  start();
  auto t = create_token(data_ / "tokens.json", "late", role::viewer);
  ASSERT_TRUE(t);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the store re-reads at most once a second
  tokens_["late"] = *t;
  EXPECT_EQ(call("GET", "/digitaltwins/pump-1", "late").status, 200u);
}

TEST_F(api_fixture, RevokedTokensStopWorkingWithinASecond) {
  start();
  EXPECT_EQ(call("GET", "/digitaltwins/pump-1", "viewer").status, 200u);
  auto token_cmd = [&](const std::string& verb) {
    return std::string(DOPPEL_BINARY) + " token " + verb + " '" + project_.string() + "' --data '" + data_.string() +
           "'";
  };
  auto [code, out] = shell(token_cmd("list") + " 2>&1");
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("viewer\tviewer\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("dpl_"), std::string::npos) << out;  // secrets are not kept, so not shown
  std::tie(code, out) = shell(token_cmd("revoke") + " --name viewer 2>&1");
  EXPECT_EQ(code, 0) << out;
  std::tie(code, out) = shell(token_cmd("revoke") + " --name viewer 2>&1");
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("no token named \"viewer\""), std::string::npos) << out;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  expect_error(call("GET", "/digitaltwins/pump-1", "viewer"), 401, "unauthorized");
  EXPECT_EQ(call("GET", "/digitaltwins/pump-1", "admin").status, 200u);
}

TEST_F(api_fixture, OneServerPerDataFolder) {
  start();
  doppel::testing::server_process second;
  EXPECT_FALSE(second.start(project_, data_)) << second.output();
  EXPECT_NE(second.output().find("another doppel serve uses the data folder"), std::string::npos) << second.output();
  EXPECT_EQ(call("GET", "/healthz", "").status, 200u);
}

// With a certificate configured the server speaks HTTPS only; curl (with the certificate as its
// CA) reads a twin, and plain HTTP gets no answer.
TEST_F(api_fixture, TlsWhenACertificateIsConfigured) {
  fs::create_directories(project_ / "tls");
  std::string gen =
      "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
      "-days 1 -keyout '" +
      (project_ / "tls/key.pem").string() + "' -out '" + (project_ / "tls/cert.pem").string() + "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(gen.c_str()), 0) << "openssl could not make a test certificate";
  std::ofstream(project_ / "doppel.yaml", std::ios::app) << "api:\n  tls: {cert: tls/cert.pem, key: tls/key.pem}\n";
  ASSERT_TRUE(server_.start(project_, data_)) << server_.output();
  EXPECT_NE(server_.output().find("listening on https://127.0.0.1:"), std::string::npos) << server_.output();
  std::string cmd = "curl -s --max-time 10 --cacert '" + (project_ / "tls/cert.pem").string() +
                    "' -H 'Authorization: Bearer " + tokens_["viewer"] +
                    "' https://127.0.0.1:" + std::to_string(server_.port()) + "/digitaltwins/pump-1";
  std::string out = shell(cmd).second;
  json twin = json::parse(out, nullptr, false);
  ASSERT_TRUE(twin.is_object()) << out;
  EXPECT_EQ(twin["$dtId"], "pump-1");
  auto plain = http_client::connect("127.0.0.1", server_.port(), std::chrono::seconds(5));
  ASSERT_TRUE(plain);
  EXPECT_FALSE((*plain)->send(request{"GET", "/healthz", {}, ""}));

  // The CLI over HTTPS: trusting the certificate works; without it the handshake is refused and
  // the message says what to do.
  std::string cli = "DOPPEL_TOKEN=" + tokens_["viewer"] + " " + DOPPEL_BINARY +
                    " twin get pump-1 --server https://127.0.0.1:" + std::to_string(server_.port());
  auto [code, text] = shell(cli + " --cacert '" + (project_ / "tls/cert.pem").string() + "' 2>&1");
  EXPECT_EQ(code, 0) << text;
  EXPECT_EQ(json::parse(text, nullptr, false).value("$dtId", ""), "pump-1") << text;
  std::tie(code, text) = shell(cli + " 2>&1");
  EXPECT_EQ(code, 3) << text;
  EXPECT_NE(text.find("--cacert"), std::string::npos) << text;
  std::tie(code, text) = shell(cli + " --insecure 2>&1");
  EXPECT_EQ(code, 0) << text;
}

TEST_F(api_fixture, MetricsCountRequests) {
  start();
  call("GET", "/digitaltwins/pump-1");
  call("GET", "/digitaltwins/nope");
  response m = call("GET", "/metrics", "viewer");
  ASSERT_EQ(m.status, 200u);
  EXPECT_NE(m.body.find("doppel_http_requests_total{route=\"/digitaltwins/{id}\",method=\"GET\",status=\"200\"} 1"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("status=\"404\"} 1"), std::string::npos);
  EXPECT_NE(m.body.find("doppel_twins 5"), std::string::npos);
  EXPECT_NE(m.body.find("doppel_http_request_duration_seconds_bucket{route=\"/digitaltwins/{id}\",le=\"+Inf\"} 2"),
            std::string::npos);
}

TEST_F(api_fixture, WebSocketStreamsFilteredEvents) {
  start();
  auto sub = http_client::connect("127.0.0.1", server_.port());
  ASSERT_TRUE(sub);
  ASSERT_TRUE((*sub)->websocket("/events?twin=pump-1&type=twin.update", tokens_["viewer"]));
  call("PATCH", "/digitaltwins/pump-2", "admin", R"([{"op": "replace", "path": "/targetSpeed", "value": 1}])");
  call("PATCH", "/digitaltwins/pump-1", "admin", R"([{"op": "replace", "path": "/targetSpeed", "value": 2}])");
  auto msg = (*sub)->read_message(std::chrono::seconds(10));
  ASSERT_TRUE(msg) << msg.error().to_string();
  json e = json::parse(*msg);
  EXPECT_EQ(e["type"], "twin.update");
  EXPECT_EQ(e["twin"], "pump-1");
  EXPECT_EQ(e["data"]["targetSpeed"], 2);
  // Without a token the upgrade is refused.
  auto anon = http_client::connect("127.0.0.1", server_.port());
  ASSERT_TRUE(anon);
  EXPECT_FALSE((*anon)->websocket("/events", ""));
}

TEST_F(api_fixture, SlowSubscriberIsToldAndDroppedWhileWritersGoOn) {
  start();
  auto sub = http_client::connect("127.0.0.1", server_.port());
  ASSERT_TRUE(sub);
  ASSERT_TRUE((*sub)->websocket("/events", tokens_["viewer"]));
  // The subscriber reads nothing while 12,000 writes go through (more than the socket buffers
  // and the queue bound of 1,024 hold).
  std::atomic<int> ok{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto c = http_client::connect("127.0.0.1", server_.port());
      if (!c) return;
      for (int i = 0; i < 3000; ++i) {
        request r{"PATCH",
                  "/digitaltwins/pump-" + std::to_string(w % 2 + 1),
                  {{"Authorization", "Bearer " + tokens_["admin"]}},
                  R"([{"op": "replace", "path": "/targetSpeed", "value": )" + std::to_string(i) + "}]"};
        auto res = (*c)->send(r);
        if (res && res->status == 204) ++ok;
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(ok.load(), 12000);
  // It gets what was buffered, then the overflow notice, then the close.
  bool told = false;
  for (int i = 0; i < 20000; ++i) {
    auto msg = (*sub)->read_message(std::chrono::seconds(10));
    if (!msg) break;
    if (msg->find("\"overflow\"") != std::string::npos) told = true;
  }
  EXPECT_TRUE(told);
  response metrics = call("GET", "/metrics", "viewer");
  EXPECT_NE(metrics.body.find("doppel_events_dropped_subscribers_total 1"), std::string::npos) << metrics.body;
}

TEST_F(api_fixture, ChangesSurviveARestart) {
  start();
  ASSERT_EQ(call("PATCH", "/digitaltwins/pump-1", "admin", R"([{"op": "replace", "path": "/targetSpeed", "value": 7}])")
                .status,
            204u);
  ASSERT_EQ(call("DELETE", "/digitaltwins/station-north/relationships/p2").status, 204u);
  EXPECT_EQ(server_.kill(SIGTERM), 0);
  EXPECT_NE(server_.output().find("stopping"), std::string::npos) << server_.output();
  start();
  EXPECT_EQ(body(call("GET", "/digitaltwins/pump-1"))["targetSpeed"], 7);
  // A declared relationship deleted through the API stays deleted.
  expect_error(call("GET", "/digitaltwins/station-north/relationships/p2"), 404, "RelationshipNotFound");
}

TEST_F(api_fixture, ModelsUploadDecommissionAndDelete) {
  start();
  std::string valve = R"([{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Valve;1", "@type": "Interface",
    "displayName": "Valve", "extends": "dtmi:doppel:example:Asset;1",
    "contents": [{"@type": "Property", "name": "open", "schema": "boolean", "writable": true}]}])";
  response up = call("POST", "/models", "admin", valve);
  ASSERT_EQ(up.status, 201u) << up.body;
  EXPECT_EQ(body(up)[0]["id"], "dtmi:test:Valve;1");
  EXPECT_EQ(body(up)[0]["decommissioned"], false);
  expect_error(call("POST", "/models", "admin", valve), 409, "ModelAlreadyExists");
  expect_error(call("POST", "/models", "admin", "[{"), 400, "bad_request");
  response invalid = call("POST", "/models", "admin", R"([{"@context": "dtmi:dtdl:context;3",
    "@id": "dtmi:test:Bad;1", "@type": "Interface", "contents": [{"@type": "Property", "name": "x"}]}])");
  expect_error(invalid, 400, "DTDLParserError");
  EXPECT_EQ(body(invalid)["error"]["details"][0]["path"], "$[0].contents[0]") << invalid.body;

  json listed = body(call("GET", "/models?dependenciesFor=dtmi:test:Valve;1&includeModelDefinition=true"));
  ASSERT_EQ(listed["value"].size(), 2u) << listed;  // Valve and the Asset it extends
  EXPECT_EQ(listed["value"][1]["model"]["displayName"], "Valve");
  json one = body(call("GET", "/models/dtmi:test:Valve;1"));
  EXPECT_EQ(one["origin"], "api");
  EXPECT_FALSE(one["contents"].empty());  // Doppel's flattened view comes along

  std::string twin = R"({"$metadata": {"$model": "dtmi:test:Valve;1"}, "open": true})";
  ASSERT_EQ(call("PUT", "/digitaltwins/valve-1", "admin", twin).status, 200u);
  std::string decommission = R"([{"op": "replace", "path": "/decommissioned", "value": true}])";
  expect_error(call("PATCH", "/models/dtmi:test:Valve;1", "admin",
                    R"([{"op": "replace", "path": "/decommissioned", "value": false}])"),
               400, "JsonPatchInvalid");
  ASSERT_EQ(call("PATCH", "/models/dtmi:test:Valve;1", "admin", decommission).status, 204u);
  expect_error(call("PUT", "/digitaltwins/valve-2", "admin", twin), 400, "ModelDecommissioned");
  expect_error(call("DELETE", "/models/dtmi:test:Valve;1", "admin"), 409, "conflict");           // valve-1 uses it
  expect_error(call("DELETE", "/models/dtmi:doppel:example:Pump;1", "admin"), 409, "conflict");  // project model

  // A restart keeps the uploaded model, its state and its twin.
  EXPECT_EQ(server_.kill(SIGTERM), 0);
  start();
  EXPECT_EQ(body(call("GET", "/models/dtmi:test:Valve;1"))["decommissioned"], true);
  ASSERT_EQ(call("DELETE", "/digitaltwins/valve-1", "admin").status, 204u);
  ASSERT_EQ(call("DELETE", "/models/dtmi:test:Valve;1", "admin").status, 204u);
  expect_error(call("GET", "/models/dtmi:test:Valve;1"), 404, "ModelNotFound");
  ASSERT_EQ(call("POST", "/models", "admin", valve).status, 201u);  // and may come again
}

TEST_F(api_fixture, TelemetryOverHttpAndLineProtocol) {
  start();
  auto sub = http_client::connect("127.0.0.1", server_.port());
  ASSERT_TRUE(sub);
  ASSERT_TRUE((*sub)->websocket("/events?twin=pump-1&type=twin.telemetry", tokens_["viewer"]));

  // One twin, JSON: telemetry becomes the latest values, a property the reported state.
  response r =
      call("POST", "/telemetry/pump-1", "operator", R"({"speed": 1450.5, "running": true, "targetSpeed": 1400})");
  ASSERT_EQ(r.status, 204u) << r.body;
  json latest = body(call("GET", "/digitaltwins/pump-1/telemetry", "viewer"));
  EXPECT_EQ(latest["speed"]["value"], 1450.5) << latest;
  EXPECT_EQ(body(call("GET", "/digitaltwins/pump-1"))["targetSpeed"], 1400);
  auto msg = (*sub)->read_message(std::chrono::seconds(10));
  ASSERT_TRUE(msg) << msg.error().to_string();
  EXPECT_EQ(json::parse(*msg)["type"], "twin.telemetry");
  EXPECT_EQ(json::parse(*msg)["data"]["speed"]["value"], 1450.5);

  // Refusals: 400 with reasons (the valid reading still counts), malformed JSON 400; all kept.
  r = call("POST", "/telemetry/pump-1", "operator", R"({"speed": "fast", "flow": 3})");
  expect_error(r, 400, "ValidationFailed");
  EXPECT_EQ(body(r)["error"]["details"][0]["reason"], "wrong_type") << r.body;
  EXPECT_NE(body(r)["error"]["message"].get<std::string>().find("1 reading(s) applied"), std::string::npos);
  expect_error(call("POST", "/telemetry/pump-1", "operator", "{nope"), 400, "bad_request");
  expect_error(call("POST", "/telemetry/pump-1", "viewer", "{}"), 403, "forbidden");
  // A batch for many twins.
  r = call("POST", "/telemetry", "operator", R"([{"$dtId": "pump-2", "flow": 5}, {"$dtId": "ghost", "flow": 1}])");
  expect_error(r, 400, "ValidationFailed");  // partly applied: not a 404
  EXPECT_EQ(body(call("GET", "/digitaltwins/pump-2/telemetry", "viewer"))["flow"]["value"], 5);

  // InfluxDB line protocol, with the credentials InfluxDB clients send.
  std::string lines = "pumps,twin=pump-1 speed=1500,vibration=0.25 4102444800000\npumps,twin=pump-2 flow=7i\n";
  r = call("POST", "/write?precision=ms", "", lines, {{"Authorization", "Token " + tokens_["operator"]}});
  ASSERT_EQ(r.status, 204u) << r.body;
  latest = body(call("GET", "/digitaltwins/pump-1/telemetry", "viewer"));
  EXPECT_EQ(latest["speed"]["value"], 1500.0);
  EXPECT_EQ(latest["speed"]["time"], "2100-01-01T00:00:00.000Z");  // newer than the JSON reading
  EXPECT_EQ(call("POST", "/write?db=x&u=me&p=" + tokens_["operator"], "", lines).status, 204u);
  std::string basic = "me:" + tokens_["operator"];
  std::string b64 = shell("printf '%s' '" + basic + "' | base64 -w0").second;
  EXPECT_EQ(call("POST", "/write", "", lines, {{"Authorization", "Basic " + b64}}).status, 204u);
  expect_error(call("POST", "/write", "", lines, {{"Authorization", "Token dpl_nope"}}), 401, "unauthorized");
  // A malformed line is a 400 (a partial write, as InfluxDB says); the good line is applied.
  r = call("POST", "/write", "operator", "pumps,twin=pump-2 flow=9\npumps,twin=pump-2 flow=\n");
  expect_error(r, 400, "bad_request");
  EXPECT_NE(r.body.find("line 2, column"), std::string::npos) << r.body;
  EXPECT_EQ(body(call("GET", "/digitaltwins/pump-2/telemetry", "viewer"))["flow"]["value"], 9.0);
  expect_error(call("POST", "/write?precision=days", "operator", lines), 400, "bad_request");

  json letters = body(call("GET", "/deadletters?reason=malformed_line", "operator"));
  ASSERT_EQ(letters["value"].size(), 1u) << letters;
  EXPECT_EQ(letters["value"][0]["raw"], "pumps,twin=pump-2 flow=");
  EXPECT_EQ(letters["value"][0]["source"], "line-protocol");
  json all = body(call("GET", "/deadletters", "operator"));
  EXPECT_EQ(all["value"].size(), 4u) << all;  // wrong_type, malformed_json, unknown_twin, malformed_line
  std::string metrics = call("GET", "/metrics", "viewer").body;
  EXPECT_NE(metrics.find("doppel_ingest_dead_letters_total{reason=\"unknown_twin\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("doppel_ingest_readings_total{outcome=\"accepted\"}"), std::string::npos);
}

// 100,000 random malformed lines (in batches, as collectors send them) and 2,000 random
// malformed JSON payloads: the server stays up, answers each with 400, and counts every one.
TEST_F(api_fixture, RandomMalformedTelemetryIsCountedAndTheServerStaysUp) {
  start();
  std::mt19937 rng(20261125);
  auto junk = [&](std::size_t n, std::string_view alphabet) {
    std::string out;
    for (std::size_t k = 0; k < n; ++k) out.push_back(alphabet[rng() % alphabet.size()]);
    return out;
  };
  // No '=' anywhere: no line can hold a field, so every one is malformed; never blank or '#'.
  const std::string line_chars = "abcxyz019 ,\\\"'tfiu.-+_:{}[]\t";
  int lines = 0;
  for (int request = 0; request < 100; ++request) {
    std::string text;
    for (int k = 0; k < 1000; ++k, ++lines) text += "m" + junk(rng() % 40, line_chars) + "\n";
    response r = call("POST", "/write", "operator", text);
    ASSERT_EQ(r.status, 400u) << r.body.substr(0, 300);
    ASSERT_EQ(body(r)["error"]["details"].size(), 100u);  // not 1,000: the rest are dead letters
  }
  // Opened and never closed: no payload is valid JSON.
  const std::string json_chars = "{}[]\":,0123456789.eE+-truefalsn \\$ts";
  for (int k = 0; k < 2000; ++k) {
    response r = call("POST", "/telemetry/pump-1", "operator", "{" + junk(rng() % 60, json_chars) + "[");
    ASSERT_EQ(r.status, 400u) << r.body.substr(0, 300);
  }
  EXPECT_EQ(call("GET", "/healthz", "").status, 200u);
  std::string metrics = call("GET", "/metrics", "viewer").body;
  EXPECT_NE(metrics.find("doppel_ingest_dead_letters_total{reason=\"malformed_line\"} " + std::to_string(lines)),
            std::string::npos);
  EXPECT_NE(metrics.find("doppel_ingest_dead_letters_total{reason=\"malformed_json\"} 2000"), std::string::npos);
  // Good telemetry still goes through afterwards.
  EXPECT_EQ(call("POST", "/telemetry/pump-1", "operator", R"({"speed": 1})").status, 204u);
}

// Writers patch as fast as they can; the server is killed with SIGKILL in the middle. After a
// restart every acknowledged write is there, and the store holds nothing half-applied (it
// loads, and each twin holds either its last acknowledged value or the one in flight).
TEST_F(api_fixture, AcknowledgedWritesSurviveKill9) {
  start();
  constexpr int k_writers = 4;
  std::array<std::atomic<int>, k_writers> acked{};
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  std::string model = R"({"$metadata": {"$model": "dtmi:doppel:example:Pump;1"}, "targetSpeed": -1,
                          "motor": {"$metadata": {}}})";
  for (int w = 0; w < k_writers; ++w) {
    ASSERT_EQ(call("PUT", "/digitaltwins/load-" + std::to_string(w), "admin", model).status, 200u);
    acked[w] = -1;
  }
  for (int w = 0; w < k_writers; ++w) {
    writers.emplace_back([&, w] {
      auto c = http_client::connect("127.0.0.1", server_.port());
      if (!c) return;
      for (int i = 0; !stop; ++i) {
        request r{"PATCH",
                  "/digitaltwins/load-" + std::to_string(w),
                  {{"Authorization", "Bearer " + tokens_["admin"]}},
                  R"([{"op": "replace", "path": "/targetSpeed", "value": )" + std::to_string(i) + "}]"};
        auto res = (*c)->send(r);
        if (!res || res->status != 204) return;  // the server is gone
        acked[w] = i;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  server_.kill(SIGKILL);
  stop = true;
  for (auto& t : writers) t.join();
  start();
  for (int w = 0; w < k_writers; ++w) {
    json t = body(call("GET", "/digitaltwins/load-" + std::to_string(w)));
    int value = t["targetSpeed"];
    EXPECT_GT(acked[w].load(), 10) << "the load did not get going";
    EXPECT_TRUE(value == acked[w] || value == acked[w] + 1)
        << "twin load-" << w << " holds " << value << ", last acknowledged " << acked[w];
  }
}

TEST_F(api_fixture, QueryWithPagingAndPositionedErrors) {
  start();
  response r = call("POST", "/query", "viewer", R"({"query": "SELECT T.$dtId FROM DIGITALTWINS T"})",
                    {{"max-items-per-page", "2"}});
  ASSERT_EQ(r.status, 200u) << r.body;
  json page = body(r);
  std::vector<std::string> ids;
  for (const auto& row : page["value"]) ids.push_back(row["$dtId"]);
  EXPECT_EQ(page["value"].size(), 2u);
  while (page.contains("continuationToken")) {
    json next = {{"continuationToken", page["continuationToken"]}};  // the token carries the query
    r = call("POST", "/query", "viewer", next.dump(), {{"max-items-per-page", "2"}});
    ASSERT_EQ(r.status, 200u) << r.body;
    page = body(r);
    for (const auto& row : page["value"]) ids.push_back(row["$dtId"]);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"pump-1", "pump-2", "station-north", "tank-1", "vib-1"}));
  response joined = call(
      "POST", "/query", "viewer",
      R"({"query": "SELECT P FROM DIGITALTWINS S JOIN P RELATED S.hasPump WHERE S.$dtId = 'station-north' AND P.targetSpeed >= 1450"})");
  ASSERT_EQ(joined.status, 200u) << joined.body;
  EXPECT_EQ(body(joined)["value"].size(), 2u) << joined.body;
  response bad = call("POST", "/query", "viewer", R"({"query": "SELECT * FROM DIGITALTWINS\nWHERE T.x = "})");
  expect_error(bad, 400, "SqlQueryError");
  EXPECT_EQ(body(bad)["error"]["message"].get<std::string>().rfind("2:", 0), 0u) << bad.body;
  expect_error(call("POST", "/query", "viewer", R"({"q": 1})"), 400, "bad_request");
  expect_error(
      call("POST", "/query", "viewer", R"({"query": "SELECT * FROM DIGITALTWINS", "continuationToken": "zz"})"), 400,
      "BadRequest");
  expect_error(
      call("POST", "/query", "viewer", R"({"query": "SELECT * FROM DIGITALTWINS"})", {{"max-items-per-page", "0"}}),
      400, "bad_request");
}

// The CLI's client commands against the running server.
TEST_F(api_fixture, CliTalksToTheServer) {
  start();
  auto run = [&](const std::string& args, const std::string& token) {
    std::string cmd = "DOPPEL_TOKEN=" + token + " " + DOPPEL_BINARY + " " + args +
                      " --server http://127.0.0.1:" + std::to_string(server_.port()) + " 2>&1";
    return shell(cmd);
  };
  auto [code, out] = run("twin get pump-1", tokens_["viewer"]);
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(json::parse(out)["$dtId"], "pump-1");
  std::tie(code, out) =
      run("twin patch pump-1 '[{\"op\":\"replace\",\"path\":\"/targetSpeed\",\"value\":1234}]'", tokens_["admin"]);
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(json::parse(out)["targetSpeed"], 1234);
  std::tie(code, out) = run("twin patch pump-1 '[]'", tokens_["viewer"]);
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("403 forbidden"), std::string::npos) << out;
  std::tie(code, out) = run("query 'SELECT COUNT() FROM DIGITALTWINS'", tokens_["viewer"]);
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(json::parse(out)["value"][0]["COUNT"], 5);
  std::tie(code, out) = run("twin list --model 'dtmi:doppel:example:Pump;1'", tokens_["viewer"]);
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(json::parse(out)["value"].size(), 2u) << out;
  ASSERT_EQ(call("POST", "/telemetry/pump-1", "operator", R"({"flow": 12.5})").status, 204u);
  std::tie(code, out) = run("twin telemetry pump-1", tokens_["viewer"]);
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(json::parse(out)["flow"]["value"], 12.5) << out;
  std::tie(code, out) = run("twin get pump-1", "dpl_bad");
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("401 unauthorized"), std::string::npos) << out;

  // `twin list` follows the continuation tokens past the server's page size (1,000).
  auto c = http_client::connect("127.0.0.1", server_.port());
  ASSERT_TRUE(c);
  for (int i = 0; i < 1005; ++i) {
    auto r = (*c)->send(request{"PUT",
                                "/digitaltwins/tank-" + std::to_string(i),
                                {{"Authorization", "Bearer " + tokens_["admin"]}},
                                R"({"$metadata": {"$model": "dtmi:doppel:example:Tank;1"}})"});
    ASSERT_TRUE(r && r->status == 200) << (r ? r->body : r.error().message());
  }
  std::tie(code, out) = run("twin list --model 'dtmi:doppel:example:Tank;1'", tokens_["viewer"]);
  EXPECT_EQ(code, 0) << out.substr(0, 300);
  EXPECT_EQ(json::parse(out)["value"].size(), 1005u);
}

}  // namespace
}  // namespace doppel::api
