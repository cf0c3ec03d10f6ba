// Issue 13, against the real binary: bodies that start with a UTF-8 byte order mark (as files of
// the published ADT ontologies do, and as some Windows tools send them) are accepted everywhere
// JSON is; a mean written by line protocol is the decimal InfluxDB gives; a reversed time range
// is refused with 400 instead of answering nothing.
#include "api/api_fixture.h"

namespace doppel::api {
namespace {

const std::string k_bom = "\xEF\xBB\xBF";

TEST_F(api_fixture, BodiesWithAByteOrderMarkAreAccepted) {
  start();
  std::string model = k_bom + R"([{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:BomValve;1",
    "@type": "Interface", "displayName": "Valve", "extends": "dtmi:doppel:example:Asset;1",
    "contents": [{"@type": "Property", "name": "open", "schema": "boolean", "writable": true},
                 {"@type": "Telemetry", "name": "position", "schema": "double"}]}])";
  response up = call("POST", "/models", "admin", model);
  ASSERT_EQ(up.status, 201u) << up.body;
  EXPECT_EQ(body(up)[0]["id"], "dtmi:test:BomValve;1");
  // The stored definition is read back from the text as sent, mark and all.
  json def = body(call("GET", "/models/dtmi:test:BomValve;1?includeModelDefinition=true"));
  EXPECT_EQ(def["model"]["displayName"], "Valve") << def.dump();

  response put =
      call("PUT", "/digitaltwins/valve-1", "admin", k_bom + R"({"$metadata": {"$model": "dtmi:test:BomValve;1"}})");
  ASSERT_EQ(put.status, 200u) << put.body;
  response patch =
      call("PATCH", "/digitaltwins/valve-1", "admin", k_bom + R"([{"op": "add", "path": "/open", "value": true}])");
  ASSERT_EQ(patch.status, 204u) << patch.body;
  EXPECT_EQ(body(call("GET", "/digitaltwins/valve-1"))["open"], true);

  // Telemetry (simdjson reads these), one twin and a batch.
  response t = call("POST", "/telemetry/valve-1", "operator", k_bom + R"({"position": 0.5})");
  ASSERT_EQ(t.status, 204u) << t.body;
  t = call("POST", "/telemetry", "operator", k_bom + R"([{"$dtId": "valve-1", "position": 0.75}])");
  ASSERT_EQ(t.status, 204u) << t.body;
  EXPECT_EQ(body(call("GET", "/digitaltwins/valve-1/telemetry", "viewer"))["position"]["value"], 0.75);

  // A query body.
  response q =
      call("POST", "/query", "viewer", k_bom + R"({"query": "SELECT T FROM DIGITALTWINS T WHERE T.open = true"})");
  ASSERT_EQ(q.status, 200u) << q.body;
  EXPECT_EQ(body(q)["value"].size(), 1u) << q.body;

  // After the mark, a mistake is placed where it is in the bytes as sent (the mark counted),
  // and only one mark is allowed.
  auto at_byte = [&](const std::string& text) {
    response bad = call("PUT", "/digitaltwins/valve-2", "admin", text);
    expect_error(bad, 400, "bad_request");
    std::string m = body(bad)["error"]["message"].get<std::string>();
    auto at = m.find("at byte ");
    return at == std::string::npos ? -1 : std::stoi(m.substr(at + 8));
  };
  std::string broken = R"({"$metadata": {"$model": "dtmi:test:BomValve;1"}, "open": tru})";
  EXPECT_EQ(at_byte(k_bom + broken), at_byte(broken) + 3);
  EXPECT_GT(at_byte(broken), 0);
  expect_error(call("PUT", "/digitaltwins/valve-2", "admin",
                    k_bom + k_bom + R"({"$metadata": {"$model": "dtmi:test:BomValve;1"}})"),
               400, "bad_request");
}

// The mean of 50..59 over one 100 s bucket, written by line protocol and still in memory, was
// reported as 54.49999999999999; decimals showed such tails (21.400000000000002).
TEST_F(api_fixture, LineProtocolMeansAreTheDecimalsInfluxDbGives) {
  start();
  std::string lines;
  // 2025-11-25T10:00:00Z is a multiple of 100 s: the ten points share one bucket.
  for (int k = 0; k < 10; ++k) {
    lines += "pumps,twin=pump-1 speed=" + std::to_string(50 + k) + " " + std::to_string(1764064800 + k) + "\n";
  }
  // Decimals: a running mean of 21.3, 21.4 and 21.5 gives 21.400000000000002.
  lines +=
      "pumps,twin=pump-2 flow=21.3 1764064800\npumps,twin=pump-2 flow=21.4 1764064801\n"
      "pumps,twin=pump-2 flow=21.5 1764064802\n";
  ASSERT_EQ(call("POST", "/write?precision=s", "operator", lines).status, 204u);
  std::string range = "&from=2025-11-25T10:00:00Z&to=2025-11-25T10:01:40Z";
  response r = call("GET", "/digitaltwins/pump-1/telemetry/speed?step=100s&agg=mean,sum,count" + range, "viewer");
  ASSERT_EQ(r.status, 200u) << r.body;
  json j = body(r);
  ASSERT_EQ(j["value"].size(), 1u) << r.body;
  EXPECT_EQ(j["value"][0]["count"], 10);
  EXPECT_EQ(j["value"][0]["mean"], 54.5) << r.body;
  EXPECT_EQ(j["value"][0]["sum"], 545.0);
  EXPECT_NE(r.body.find("\"mean\":54.5"), std::string::npos) << r.body;  // the text a client reads
  r = call("GET", "/digitaltwins/pump-1/telemetry/speed?step=100s&agg=mean&format=csv" + range, "viewer");
  EXPECT_EQ(r.body, "time,mean\n2025-11-25T10:00:00.000Z,54.5\n");
  r = call("GET", "/digitaltwins/pump-2/telemetry/flow?step=100s&agg=mean,sum" + range, "viewer");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_NE(r.body.find("\"mean\":21.4,"), std::string::npos) << r.body;
  EXPECT_EQ(body(r)["value"][0]["sum"], 64.2) << r.body;
  // Across twins too (merged buckets), and from the hourly tier buckets of the head.
  json ask = {{"query", "SELECT T FROM DIGITALTWINS T WHERE T.$dtId = 'pump-1'"},
              {"name", "speed"},
              {"step", "1h"},
              {"agg", "mean"},
              {"from", "2025-11-25T10:00:00Z"},
              {"to", "2025-11-25T11:00:00Z"}};
  j = body(call("POST", "/query/telemetry", "viewer", ask.dump()));
  ASSERT_EQ(j["value"].size(), 1u) << j.dump();
  EXPECT_EQ(j["value"][0]["mean"], 54.5);
}

TEST_F(api_fixture, AReversedTimeRangeIsRefused) {
  start();
  ASSERT_EQ(call("POST", "/telemetry/pump-1", "operator", R"({"speed": 3, "$ts": "2025-11-25T10:30:00Z"})").status,
            204u);
  std::string reversed = "from=2025-11-25T11:00:00Z&to=2025-11-25T10:00:00Z";
  auto says_why = [&](const response& r) {
    expect_error(r, 400, "bad_request");
    std::string m = body(r)["error"]["message"].get<std::string>();
    EXPECT_NE(m.find("from (2025-11-25T11:00:00.000Z) is later than to (2025-11-25T10:00:00.000Z)"), std::string::npos)
        << m;
    EXPECT_NE(m.find("swap the two"), std::string::npos) << m;
  };
  says_why(call("GET", "/digitaltwins/pump-1/telemetry/speed?" + reversed, "viewer"));
  says_why(call("GET", "/digitaltwins/pump-1/telemetry/speed?step=1m&agg=mean&" + reversed, "viewer"));
  says_why(call("GET", "/digitaltwins/pump-1/telemetry/speed?format=csv&" + reversed, "viewer"));
  says_why(call("GET", "/telemetry/export?" + reversed, "viewer"));
  json ask = {{"query", "SELECT T FROM DIGITALTWINS T"},
              {"name", "speed"},
              {"step", "1m"},
              {"agg", "mean"},
              {"from", "2025-11-25T11:00:00Z"},
              {"to", "2025-11-25T10:00:00Z"}};
  response across = call("POST", "/query/telemetry", "viewer", ask.dump());
  says_why(across);
  EXPECT_NE(body(across)["error"]["message"].get<std::string>().find("in the body"), std::string::npos);
  // Unix milliseconds too; equal bounds are an empty range, not a mistake; the right order answers.
  says_why(call("GET", "/digitaltwins/pump-1/telemetry/speed?from=1764068400000&to=1764064800000", "viewer"));
  response empty = call("GET", "/digitaltwins/pump-1/telemetry/speed?from=1764064800000&to=1764064800000", "viewer");
  ASSERT_EQ(empty.status, 200u) << empty.body;
  EXPECT_TRUE(body(empty)["value"].empty());
  response ok =
      call("GET", "/digitaltwins/pump-1/telemetry/speed?from=2025-11-25T10:00:00Z&to=2025-11-25T11:00:00Z", "viewer");
  ASSERT_EQ(ok.status, 200u) << ok.body;
  EXPECT_EQ(body(ok)["value"].size(), 1u);
}

}  // namespace
}  // namespace doppel::api
