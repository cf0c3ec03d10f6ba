// Roles and trust against the real `doppel serve`: the role each route needs (from a table written
// here, not read from the router), credentials in URLs, revoked tokens and their WebSockets,
// what telemetry may change, and dead letters that survive a restart.
#include "api/api_fixture.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <thread>

namespace doppel::api {
namespace {

using namespace std::chrono_literals;

struct route_role {
  const char* method;
  const char* path;     // with ids of the pump-station example filled in
  const char* needs;    // "public", "viewer", "operator" or "admin"
  const char* pattern;  // as /openapi.json names it
};

// The role table of docs/security.md. A change of a route's role must change this table.
const route_role k_routes[] = {
    {"GET", "/healthz", "public", "/healthz"},
    {"GET", "/openapi.json", "public", "/openapi.json"},
    {"GET", "/metrics", "viewer", "/metrics"},
    {"GET", "/models", "viewer", "/models"},
    {"POST", "/models", "admin", "/models"},
    {"GET", "/models/dtmi:doppel:example:Pump;1", "viewer", "/models/{id}"},
    {"PATCH", "/models/dtmi:doppel:example:Pump;1", "admin", "/models/{id}"},
    {"DELETE", "/models/dtmi:doppel:example:Pump;1", "admin", "/models/{id}"},
    {"POST", "/query", "viewer", "/query"},
    {"GET", "/digitaltwins/pump-1", "viewer", "/digitaltwins/{id}"},
    {"PUT", "/digitaltwins/pump-1", "admin", "/digitaltwins/{id}"},
    {"PATCH", "/digitaltwins/pump-1", "admin", "/digitaltwins/{id}"},
    {"DELETE", "/digitaltwins/pump-1", "admin", "/digitaltwins/{id}"},
    {"GET", "/digitaltwins/pump-1/desired", "viewer", "/digitaltwins/{id}/desired"},
    {"PATCH", "/digitaltwins/pump-1/desired", "operator", "/digitaltwins/{id}/desired"},
    {"GET", "/digitaltwins/pump-1/telemetry", "viewer", "/digitaltwins/{id}/telemetry"},
    {"GET", "/digitaltwins/pump-1/telemetry/speed", "viewer", "/digitaltwins/{id}/telemetry/{name}"},
    {"POST", "/query/telemetry", "viewer", "/query/telemetry"},
    {"GET", "/telemetry/export", "viewer", "/telemetry/export"},
    {"POST", "/telemetry/pump-1", "operator", "/telemetry/{id}"},
    {"POST", "/telemetry", "operator", "/telemetry"},
    {"POST", "/write", "operator", "/write"},
    {"GET", "/deadletters", "operator", "/deadletters"},
    {"GET", "/digitaltwins/pump-1/relationships", "viewer", "/digitaltwins/{id}/relationships"},
    {"GET", "/digitaltwins/pump-1/incomingrelationships", "viewer", "/digitaltwins/{id}/incomingrelationships"},
    {"GET", "/digitaltwins/station-north/relationships/p1", "viewer", "/digitaltwins/{id}/relationships/{relId}"},
    {"PUT", "/digitaltwins/station-north/relationships/p1", "admin", "/digitaltwins/{id}/relationships/{relId}"},
    {"PATCH", "/digitaltwins/station-north/relationships/p1", "admin", "/digitaltwins/{id}/relationships/{relId}"},
    {"DELETE", "/digitaltwins/station-north/relationships/p1", "admin", "/digitaltwins/{id}/relationships/{relId}"},
    {"GET", "/digitaltwins/pump-1/components/motor", "viewer", "/digitaltwins/{id}/components/{component}"},
    {"PATCH", "/digitaltwins/pump-1/components/motor", "admin", "/digitaltwins/{id}/components/{component}"},
    {"POST", "/digitaltwins/pump-1/telemetry", "operator", "/digitaltwins/{id}/telemetry"},
    {"POST", "/digitaltwins/pump-1/components/motor/telemetry", "operator",
     "/digitaltwins/{id}/components/{component}/telemetry"},
    {"GET", "/digitaltwins/pump-1/simulation", "viewer", "/digitaltwins/{id}/simulation"},
    {"POST", "/digitaltwins/pump-2/simulation/fit", "operator", "/digitaltwins/{id}/simulation/fit"},
    {"POST", "/scenarios", "operator", "/scenarios"},
    {"GET", "/scenarios", "viewer", "/scenarios"},
    {"GET", "/scenarios/nope", "viewer", "/scenarios/{id}"},
    {"GET", "/scenarios/nope/compare?with=reality", "viewer", "/scenarios/{id}/compare"},
    {"DELETE", "/scenarios/nope", "operator", "/scenarios/{id}"},
};

// Bodies that are refused after the role check (or change nothing), so the walk leaves the
// example as it was: past auth means "not 401 and not 403".
std::string harmless_body(const std::string& method, const std::string& path) {
  if (method == "PATCH") return "[]";
  if (method == "PUT") return "{}";
  if (path == "/models") return "[]";
  if (path == "/query") return R"({"query": "SELECT * FROM DIGITALTWINS WHERE $dtId = 'none'"})";
  if (path == "/query/telemetry") return "{}";
  if (path == "/write") return "";
  if (method == "POST") return "{}";
  return "";
}

class trust_api : public api_fixture {};

TEST_F(trust_api, EveryRouteNeedsTheRoleInTheTable) {
  start();
  const char* below[] = {"", "", "viewer", "operator"};  // by level: -, viewer, operator, admin
  auto level = [](const std::string& r) { return r == "viewer" ? 1 : r == "operator" ? 2 : r == "admin" ? 3 : 0; };
  std::set<std::string> covered;
  for (const auto& r : k_routes) {
    std::string method = r.method, path = r.path, needs = r.needs;
    SCOPED_TRACE(method + " " + path + " needs " + needs);
    covered.insert(method + " " + r.pattern);
    std::vector<std::pair<std::string, std::string>> h;
    if (method == "DELETE" || method == "PATCH" || method == "PUT") h.push_back({"If-Match", "W/\"nope\""});
    std::string b = harmless_body(method, path);
    if (needs == "public") {
      response res = call(method, path, "", b, h);
      EXPECT_NE(res.status, 401u) << res.body;
      EXPECT_NE(res.status, 403u) << res.body;
      continue;
    }
    // No token: 401. The lowest role that may: past auth. The role below: 403.
    expect_error(call(method, path, "", b, h), 401, "unauthorized");
    response allowed = call(method, path, needs, b, h);
    EXPECT_NE(allowed.status, 401u) << allowed.body;
    EXPECT_NE(allowed.status, 403u) << allowed.body;
    int l = level(needs);
    if (l > 1) expect_error(call(method, path, below[l], b, h), 403, "forbidden");
  }
  // The table covers every route the server has (/events is the WebSocket, below).
  json doc = body(call("GET", "/openapi.json", ""));
  for (const auto& [pattern, ops] : doc["paths"].items()) {
    for (const auto& [method_lower, op] : ops.items()) {
      std::string method = method_lower;
      for (auto& ch : method) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (pattern == "/events") continue;
      EXPECT_TRUE(covered.count(method + " " + pattern)) << method << " " << pattern << " is not in the role table";
    }
  }
  // /events: any role (viewer and up) may subscribe; no token is refused.
  auto ws = http_client::connect("127.0.0.1", server_.port());
  ASSERT_TRUE(ws);
  EXPECT_FALSE((*ws)->websocket("/events", ""));
  auto viewer_ws = http_client::connect("127.0.0.1", server_.port());
  ASSERT_TRUE(viewer_ws);
  EXPECT_TRUE((*viewer_ws)->websocket("/events", tokens_["viewer"]));
}

// Issue 19 item 8: ?u=&p=TOKEN worked on every route.
TEST_F(trust_api, UrlCredentialsOnlyWhereAClientCannotSendAHeader) {
  start();
  for (const std::string& target :
       {"/digitaltwins/pump-1?p=" + tokens_["admin"], "/digitaltwins/pump-1?token=" + tokens_["admin"],
        "/metrics?u=me&p=" + tokens_["admin"]}) {
    SCOPED_TRACE(target);
    response r = call("GET", target, "");
    expect_error(r, 401, "unauthorized");
    EXPECT_NE(body(r)["error"]["message"].get<std::string>().find("Authorization"), std::string::npos) << r.body;
  }
  // Even beside a valid header: the URL may have been logged on the way.
  expect_error(call("GET", "/digitaltwins/pump-1?token=x", "viewer"), 401, "unauthorized");
  // InfluxDB 1.x clients on /write keep working.
  response w = call("POST", "/write?db=x&u=telegraf&p=" + tokens_["operator"], "", "m,twin=pump-1 speed=12");
  EXPECT_EQ(w.status, 204u) << w.body;
  expect_error(call("POST", "/write?u=telegraf&p=" + tokens_["viewer"], "", "m,twin=pump-1 speed=12"), 403,
               "forbidden");
  // Browsers' WebSockets on /events keep working with ?token=.
  auto ws = http_client::connect("127.0.0.1", server_.port());
  ASSERT_TRUE(ws);
  EXPECT_TRUE((*ws)->websocket("/events?token=" + tokens_["viewer"], ""));
}

// Issue 19 item 7: an /events socket opened before `doppel token revoke` kept receiving events.
TEST_F(trust_api, RevokingATokenClosesItsWebSockets) {
  auto t = create_token(data_ / "tokens.json", "dashboard", role::viewer);
  ASSERT_TRUE(t) << t.error().to_string();
  start();
  auto ws = http_client::connect("127.0.0.1", server_.port());
  ASSERT_TRUE(ws);
  ASSERT_TRUE((*ws)->websocket("/events", *t));
  auto other = http_client::connect("127.0.0.1", server_.port());  // another token's socket stays
  ASSERT_TRUE(other);
  ASSERT_TRUE((*other)->websocket("/events", tokens_["viewer"]));
  auto [code, out] = shell(std::string(DOPPEL_BINARY) + " token revoke " + project_.string() + " --data " +
                           data_.string() + " --name dashboard 2>&1");
  ASSERT_EQ(code, 0) << out;
  // Events keep coming (one per round, each read at once while the socket is open); the revoked
  // socket is closed, with the reason, within the rounds (a generous minute of polling).
  std::string closed;
  for (int k = 0; k < 300 && closed.empty(); ++k) {
    call("POST", "/telemetry/pump-1", "operator", R"({"speed": )" + std::to_string(k) + "}");
    auto m = (*ws)->read_message(30s);
    if (!m) closed = m.error().message();
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_NE(closed.find("revoked"), std::string::npos) << "the revoked token's socket stayed open: " << closed;
  // The other token's socket still gets events.
  call("POST", "/telemetry/pump-1", "operator", R"({"speed": 1000})");
  bool got = false;
  for (int k = 0; k < 200 && !got; ++k) {
    auto m = (*other)->read_message(10s);
    ASSERT_TRUE(m) << m.error().to_string();
    got = m->find("1000") != std::string::npos;
  }
  EXPECT_TRUE(got);
}

// Issue 19 item 5 over HTTP: an operator set serialNumber and a component's ratedPower through
// telemetry; now they are refused per reading (400 listing them) and the rest applies.
TEST_F(trust_api, TelemetryMayNotSetReadOnlyProperties) {
  start();
  response r = call("POST", "/telemetry/pump-1", "operator",
                    R"({"mode": "off", "serialNumber": "HACKED", "motor.ratedPower": 1})");
  expect_error(r, 400, "ValidationFailed");
  json details = body(r)["error"]["details"];
  ASSERT_EQ(details.size(), 2u) << r.body;
  for (const auto& d : details) EXPECT_EQ(d["reason"], "not_reportable") << r.body;
  json twin = body(call("GET", "/digitaltwins/pump-1"));
  EXPECT_EQ(twin["mode"], "off");
  EXPECT_EQ(twin["serialNumber"], "KSB-4471-01");
  EXPECT_EQ(twin["motor"]["ratedPower"], 55);
  // Line protocol too.
  r = call("POST", "/write", "operator", "m,twin=pump-1 ratedFlow=1,speed=3");
  expect_error(r, 400, "ValidationFailed");
  EXPECT_EQ(body(call("GET", "/digitaltwins/pump-1"))["ratedFlow"], 120);
}

// Declared device-reported in doppel.yaml: allowed (on a base interface, and as component.name).
TEST_F(trust_api, DeclaredDeviceReportedPropertiesMayBeReported) {
  {
    std::ofstream yaml(project_ / "doppel.yaml", std::ios::app);
    yaml << "ingest:\n  device_reported:\n    \"dtmi:doppel:example:Asset;1\": [serialNumber]\n"
            "    \"dtmi:doppel:example:Pump;1\": [motor.ratedPower]\n";
  }
  start();
  response r = call("POST", "/telemetry/pump-1", "operator", R"({"serialNumber": "KSB-2", "motor.ratedPower": 60})");
  EXPECT_EQ(r.status, 204u) << r.body;
  json twin = body(call("GET", "/digitaltwins/pump-1"));
  EXPECT_EQ(twin["serialNumber"], "KSB-2");
  EXPECT_EQ(twin["motor"]["ratedPower"], 60);
}

// Issue 19 item 17: dead letters lived in memory only; now they survive a restart, with the same
// sequence numbers, and stay within their bounds (oldest dropped first, counted).
TEST_F(trust_api, DeadLettersSurviveARestartAndStayBounded) {
  {
    std::ofstream yaml(project_ / "doppel.yaml", std::ios::app);
    yaml << "ingest:\n  dead_letters: 5\n";
  }
  start();
  for (int k = 0; k < 3; ++k) {
    call("POST", "/telemetry/pump-1", "operator", R"({"speed": "fast", "nope": )" + std::to_string(k) + "}");
  }
  json before = body(call("GET", "/deadletters", "operator"));
  ASSERT_EQ(before["value"].size(), 5u) << before.dump();  // 6 refused, 5 kept
  EXPECT_EQ(before["dropped"], 1);
  server_.kill(SIGKILL);
  ASSERT_TRUE(server_.start(project_, data_, {})) << server_.output();
  start_client();
  json after = body(call("GET", "/deadletters", "operator"));
  EXPECT_EQ(after["value"], before["value"]);
  EXPECT_EQ(after["dropped"], 1);
  // Paging goes on from the same sequence numbers.
  std::uint64_t last = before["value"].back()["seq"];
  call("POST", "/telemetry/pump-1", "operator", R"({"speed": "slow"})");
  json next = body(call("GET", "/deadletters?after=" + std::to_string(last), "operator"));
  ASSERT_EQ(next["value"].size(), 1u) << next.dump();
  EXPECT_EQ(next["value"][0]["seq"], last + 1);
  json all = body(call("GET", "/deadletters", "operator"));
  EXPECT_EQ(all["value"].size(), 5u);
  EXPECT_EQ(all["dropped"], 2);
}

}  // namespace
}  // namespace doppel::api
