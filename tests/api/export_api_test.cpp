// GET /telemetry/export and `doppel export` / `doppel import` against the real `doppel serve`:
// every value type in line protocol and CSV, escaping of odd twin ids and strings, paging,
// filters, bad parameters, and a round trip into a fresh server.
#include "api/export.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "api/api_fixture.h"

namespace doppel::api {
namespace {

using nlohmann::json;

// Twins of a model with telemetry of all four value types (and one in a component), with odd ids.
const std::string k_models = R"([
  {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Drive;1", "@type": "Interface",
   "contents": [{"@type": "Telemetry", "name": "power", "schema": "double"}]},
  {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Meter;1", "@type": "Interface",
   "contents": [{"@type": "Telemetry", "name": "temp", "schema": "double"},
                {"@type": "Telemetry", "name": "count", "schema": "long"},
                {"@type": "Telemetry", "name": "on", "schema": "boolean"},
                {"@type": "Telemetry", "name": "note", "schema": "string"},
                {"@type": "Component", "name": "motor", "schema": "dtmi:test:Drive;1"}]}])";
const std::string k_odd = "m 2,x=y\"q\\z";  // a space, comma, equals sign, quote and backslash
const std::string k_ends = "m-3\\";         // line protocol cannot end a tag value with a backslash

std::string ts(int second, const std::string& fraction = ".000") {
  return "2025-11-25T10:00:0" + std::to_string(second) + fraction + "Z";
}

const std::string k_lp =
    "doppel,twin=m\\ 2\\,x\\=y\"q\\z note=\"\xC3\xBC\" 1764064801000000000\n"
    "doppel,twin=m\\ 2\\,x\\=y\"q\\z temp=1 1764064800000000000\n"
    "doppel,twin=m-1 count=42i 1764064800000000000\n"
    "doppel,twin=m-1 count=-7i 1764064801000000000\n"
    "doppel,twin=m-1 count=9007199254740993i 1764064802000000000\n"
    "doppel,twin=m-1 motor.power=3.25 1764064800000000000\n"
    "doppel,twin=m-1 note=\"plain\" 1764064800000000000\n"
    "doppel,twin=m-1 note=\"say \\\"hi\\\", \\\\ back\" 1764064801000000000\n"
    "doppel,twin=m-1 note=\"\" 1764064802000000000\n"
    "# line protocol cannot carry the point of twin \"m-1\", \"note\" at 2025-11-25T10:00:03.000Z (a newline, a "
    "final backslash or a value that is not finite): export as CSV\n"
    "doppel,twin=m-1 on=true 1764064800000000000\n"
    "doppel,twin=m-1 on=false 1764064801000000000\n"
    "doppel,twin=m-1 temp=21.5 1764064800000000000\n"
    "doppel,twin=m-1 temp=5 1764064801000000000\n"
    "doppel,twin=m-1 temp=1e+300 1764064802000000000\n"
    "doppel,twin=m-1 temp=0.1 1764064803000000000\n"
    "doppel,twin=m-1 temp=7.75 1764064804000000123\n"
    "# line protocol cannot carry the point of twin \"m-3\\\\\", \"temp\" at 2025-11-25T10:00:00.000Z (a newline, a "
    "final backslash or a value that is not finite): export as CSV\n";

const std::string k_csv =
    "twin,name,time,value\n"
    "\"m 2,x=y\"\"q\\z\",note,2025-11-25T10:00:01.000Z,\"\xC3\xBC\"\n"
    "\"m 2,x=y\"\"q\\z\",temp,2025-11-25T10:00:00.000Z,1.0\n"
    "m-1,count,2025-11-25T10:00:00.000Z,42\n"
    "m-1,count,2025-11-25T10:00:01.000Z,-7\n"
    "m-1,count,2025-11-25T10:00:02.000Z,9007199254740993\n"
    "m-1,motor.power,2025-11-25T10:00:00.000Z,3.25\n"
    "m-1,note,2025-11-25T10:00:00.000Z,\"plain\"\n"
    "m-1,note,2025-11-25T10:00:01.000Z,\"say \"\"hi\"\", \\ back\"\n"
    "m-1,note,2025-11-25T10:00:02.000Z,\"\"\n"
    "m-1,note,2025-11-25T10:00:03.000Z,\"line1\nline2\"\n"
    "m-1,on,2025-11-25T10:00:00.000Z,true\n"
    "m-1,on,2025-11-25T10:00:01.000Z,false\n"
    "m-1,temp,2025-11-25T10:00:00.000Z,21.5\n"
    "m-1,temp,2025-11-25T10:00:01.000Z,5.0\n"
    "m-1,temp,2025-11-25T10:00:02.000Z,1e+300\n"
    "m-1,temp,2025-11-25T10:00:03.000Z,0.1\n"
    "m-1,temp,2025-11-25T10:00:04.000000123Z,7.75\n"
    "m-3\\,temp,2025-11-25T10:00:00.000Z,2.5\n";
constexpr int k_points = 18;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string without_comments(const std::string& lp) {
  std::string out;
  std::istringstream in(lp);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') out += line + "\n";
  }
  return out;
}

class export_test : public api_fixture {
 protected:
  // The test model and twins (without telemetry).
  void add_twins() {
    ASSERT_EQ(call("POST", "/models", "admin", k_models).status, 201u);
    for (const std::string& id : {std::string("m-1"), k_odd, k_ends}) {
      response r = call("PUT", "/digitaltwins/" + percent_encode(id), "admin",
                        R"({"$metadata": {"$model": "dtmi:test:Meter;1"}, "motor": {"$metadata": {}}})");
      ASSERT_EQ(r.status, 200u) << r.body;
    }
  }
  // add_twins() and their telemetry: k_lp / k_csv.
  void seed() {
    add_twins();
    json batch = json::array({
        {{"$dtId", "m-1"},
         {"$ts", ts(0)},
         {"temp", 21.5},
         {"count", 42},
         {"on", true},
         {"note", "plain"},
         {"motor.power", 3.25}},
        {{"$dtId", "m-1"},
         {"$ts", ts(1)},
         {"temp", 5.0},
         {"count", -7},
         {"on", false},
         {"note", "say \"hi\", \\ back"}},
        {{"$dtId", "m-1"}, {"$ts", ts(2)}, {"temp", 1e300}, {"count", 9007199254740993}, {"note", ""}},
        {{"$dtId", "m-1"}, {"$ts", ts(3)}, {"temp", 0.1}, {"note", "line1\nline2"}},
        {{"$dtId", "m-1"}, {"$ts", ts(4, ".000000123")}, {"temp", 7.75}},
        {{"$dtId", k_odd}, {"$ts", ts(0)}, {"temp", 1.0}},
        {{"$dtId", k_odd}, {"$ts", ts(1)}, {"note", "\xC3\xBC"}},
        {{"$dtId", k_ends}, {"$ts", ts(0)}, {"temp", 2.5}},
    });
    response r = call("POST", "/telemetry", "operator", batch.dump());
    ASSERT_EQ(r.status, 204u) << r.body;
  }
  // Every page from `target` on, following Link headers; the CSV header only once.
  std::string all_pages(std::string target, int* pages = nullptr, std::size_t max_points = SIZE_MAX) {
    std::string out;
    int n = 0;
    for (; !target.empty(); ++n) {
      response r = call("GET", target, "viewer");
      EXPECT_EQ(r.status, 200u) << r.body;
      if (r.status != 200 || n > 100) break;
      EXPECT_LE(std::stoul(header(r, "X-Doppel-Points")), max_points);
      std::string body = r.body;
      if (n > 0 && target.find("format=csv") != std::string::npos) {
        EXPECT_EQ(body.substr(0, 21), "twin,name,time,value\n");
        body.erase(0, 21);
      }
      out += body;
      std::string link = header(r, "Link");
      target = link.empty() ? "" : link.substr(1, link.find('>') - 1);
      if (!link.empty()) {
        EXPECT_NE(link.find(">; rel=\"next\""), std::string::npos) << link;
      }
    }
    if (pages) *pages = n;
    return out;
  }
  std::pair<int, std::string> cli(const std::string& args, const std::string& who) {
    return shell("cd " + dir_.path().string() + " && DOPPEL_TOKEN=" + tokens_[who] + " " + DOPPEL_BINARY + " " + args +
                 " --server http://127.0.0.1:" + std::to_string(server_.port()) + " 2>&1");
  }
  // Stops the server and starts one on a fresh data folder (new tokens), with the test twins.
  void fresh_server(const std::string& data) {
    server_.kill(SIGTERM);
    data_ = dir_.path() / data;
    for (auto [name, r] : {std::pair{"admin", role::admin}, {"operator", role::operator_}, {"viewer", role::viewer}}) {
      auto t = create_token(data_ / "tokens.json", name, r);
      ASSERT_TRUE(t) << t.error().to_string();
      tokens_[name] = *t;
    }
    start();
    add_twins();
  }
};

TEST_F(export_test, EveryValueTypeAsLineProtocolAndCsv) {
  start();
  seed();
  response lp = call("GET", "/telemetry/export", "viewer");
  ASSERT_EQ(lp.status, 200u) << lp.body;
  EXPECT_EQ(lp.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(lp.body, k_lp);
  EXPECT_EQ(header(lp, "X-Doppel-Points"), std::to_string(k_points - 2));
  EXPECT_EQ(header(lp, "X-Doppel-Skipped"), "2");
  EXPECT_EQ(header(lp, "Link"), "");
  EXPECT_EQ(call("GET", "/telemetry/export?format=lp&limit=1000000", "viewer").body, k_lp);

  response csv = call("GET", "/telemetry/export?format=csv", "viewer");
  ASSERT_EQ(csv.status, 200u) << csv.body;
  EXPECT_EQ(csv.content_type, "text/csv; charset=utf-8");
  EXPECT_EQ(csv.body, k_csv);
  EXPECT_EQ(header(csv, "X-Doppel-Points"), std::to_string(k_points));
  EXPECT_EQ(header(csv, "X-Doppel-Skipped"), "");

  // The line protocol export, posted back, changes nothing (same points, same times).
  ASSERT_EQ(call("POST", "/write", "operator", k_lp).status, 204u);
  EXPECT_EQ(call("GET", "/telemetry/export?format=csv", "viewer").body, k_csv);
  // A clean stop seals everything into compressed chunks: read from them, the same export.
  EXPECT_EQ(server_.kill(SIGTERM), 0);
  start();
  EXPECT_EQ(call("GET", "/telemetry/export?format=csv", "viewer").body, k_csv);
  EXPECT_EQ(all_pages("/telemetry/export?limit=4"), k_lp);
}

TEST_F(export_test, PagesFollowTheLinkHeader) {
  start();
  seed();
  for (std::size_t limit : {1, 2, 3, 5, 17, 18, 19}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    int pages = 0;
    EXPECT_EQ(all_pages("/telemetry/export?format=csv&limit=" + std::to_string(limit), &pages, limit), k_csv);
    EXPECT_EQ(pages, (k_points + static_cast<int>(limit) - 1) / static_cast<int>(limit));
    EXPECT_EQ(all_pages("/telemetry/export?limit=" + std::to_string(limit), &pages, limit), k_lp);
  }
  // The link keeps the filters; a page never crosses `to`.
  std::string filtered = all_pages("/telemetry/export?format=csv&limit=2&twin=m-1&from=" + ts(1) + "&to=" + ts(3));
  EXPECT_EQ(filtered,
            "twin,name,time,value\n"
            "m-1,count,2025-11-25T10:00:01.000Z,-7\n"
            "m-1,count,2025-11-25T10:00:02.000Z,9007199254740993\n"
            "m-1,note,2025-11-25T10:00:01.000Z,\"say \"\"hi\"\", \\ back\"\n"
            "m-1,note,2025-11-25T10:00:02.000Z,\"\"\n"
            "m-1,on,2025-11-25T10:00:01.000Z,false\n"
            "m-1,temp,2025-11-25T10:00:01.000Z,5.0\n"
            "m-1,temp,2025-11-25T10:00:02.000Z,1e+300\n");
}

TEST_F(export_test, FromToAndTwinFilters) {
  start();
  seed();
  // from is inclusive, to exclusive; RFC 3339 or Unix milliseconds; nanoseconds count.
  EXPECT_EQ(
      call("GET", "/telemetry/export?twin=m-1&from=" + ts(0) + "&to=" + ts(0, ".000000001") + "&twin=m-1", "viewer")
          .body,
      "doppel,twin=m-1 count=42i 1764064800000000000\n"
      "doppel,twin=m-1 motor.power=3.25 1764064800000000000\n"
      "doppel,twin=m-1 note=\"plain\" 1764064800000000000\n"
      "doppel,twin=m-1 on=true 1764064800000000000\n"
      "doppel,twin=m-1 temp=21.5 1764064800000000000\n");
  EXPECT_EQ(call("GET", "/telemetry/export?format=csv&from=1764064804000&to=1764064805000", "viewer").body,
            "twin,name,time,value\nm-1,temp,2025-11-25T10:00:04.000000123Z,7.75\n");
  EXPECT_EQ(call("GET", "/telemetry/export?format=csv&from=" + ts(4, ".000000124"), "viewer").body,
            "twin,name,time,value\n");
  // A reversed range is a mistake, not an empty answer (issue 13); equal bounds are empty.
  expect_error(call("GET", "/telemetry/export?format=csv&from=" + ts(3) + "&to=" + ts(1), "viewer"), 400,
               "bad_request");
  EXPECT_EQ(call("GET", "/telemetry/export?format=csv&from=" + ts(3) + "&to=" + ts(3), "viewer").body,
            "twin,name,time,value\n");
  // Twins: repeatable, in id order whatever the order asked; pump-1 has no history.
  std::string two =
      call("GET",
           "/telemetry/export?format=csv&twin=" + percent_encode(k_ends) + "&twin=pump-1&twin=" + percent_encode(k_odd),
           "viewer")
          .body;
  EXPECT_EQ(two,
            "twin,name,time,value\n"
            "\"m 2,x=y\"\"q\\z\",note,2025-11-25T10:00:01.000Z,\"\xC3\xBC\"\n"
            "\"m 2,x=y\"\"q\\z\",temp,2025-11-25T10:00:00.000Z,1.0\n"
            "m-3\\,temp,2025-11-25T10:00:00.000Z,2.5\n");
  response ghost = call("GET", "/telemetry/export?twin=m-1&twin=ghost", "viewer");
  expect_error(ghost, 404, "not_found");
  EXPECT_NE(body(ghost)["error"]["message"].get<std::string>().find("\"ghost\""), std::string::npos);
}

TEST_F(export_test, BadParametersSayWhatToFix) {
  start();
  seed();
  auto refused = [&](const std::string& query, const std::string& says) {
    SCOPED_TRACE(query);
    response r = call("GET", "/telemetry/export?" + query, "viewer");
    expect_error(r, 400, "bad_request");
    EXPECT_NE(r.body.find(says), std::string::npos) << r.body;
  };
  refused("format=json", "is not lp (InfluxDB line protocol) or csv");
  refused("from=yesterday", "RFC 3339");
  refused("to=2026-13-01T00:00:00Z", "Unix milliseconds");
  refused("limit=0", "limit must be 1-1000000");
  refused("limit=1000001", "limit must be 1-1000000");
  refused("limit=ten", "limit must be 1-1000000");
  refused("twin=", "twin= needs a twin id");
  refused("cursor=nonsense", "follow the Link header");
  refused("cursor=%5B1%2C2%2C3%5D", "follow the Link header");
  refused("cursor=1.6d2.74", "follow the Link header");
  refused("cursor=x.6d.74", "follow the Link header");
  expect_error(call("GET", "/telemetry/export", ""), 401, "unauthorized");
  // A cursor names where to go on: from that series and time.
  std::string cursor = "1764064803000000000.6d2d31.74656d70";  // m-1, temp
  EXPECT_EQ(call("GET", "/telemetry/export?format=csv&cursor=" + cursor, "viewer").body,
            "twin,name,time,value\n"
            "m-1,temp,2025-11-25T10:00:03.000Z,0.1\n"
            "m-1,temp,2025-11-25T10:00:04.000000123Z,7.75\n"
            "m-3\\,temp,2025-11-25T10:00:00.000Z,2.5\n");
}

// Export from one server with the CLI (in pages), import into fresh ones (in batches): the same
// export. CSV carries every point; line protocol all but the ones it cannot carry.
TEST_F(export_test, RoundTripThroughTheCliIntoAFreshServer) {
  start();
  seed();
  auto [code, out] = cli("export --format csv --page-size 4 -o a.csv", "viewer");
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("doppel export: 18 point(s) in 5 request(s) written to a.csv"), std::string::npos) << out;
  EXPECT_EQ(read_text(dir_.path() / "a.csv"), k_csv);
  EXPECT_FALSE(fs::exists(dir_.path() / "a.csv.part"));
  std::tie(code, out) = cli("export --page-size 3 -o a.lp", "viewer");
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("2 point(s) that line protocol cannot carry"), std::string::npos) << out;
  EXPECT_EQ(read_text(dir_.path() / "a.lp"), k_lp);
  std::tie(code, out) = cli("export --twin m-1 --from " + ts(4) + " --format csv", "viewer");
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(out.substr(0, out.find("doppel export:")),
            "twin,name,time,value\nm-1,temp,2025-11-25T10:00:04.000000123Z,7.75\n");

  fresh_server("data-b");
  EXPECT_EQ(call("GET", "/telemetry/export?format=csv", "viewer").body, "twin,name,time,value\n");
  std::tie(code, out) = cli("import a.csv --batch-size 3", "operator");
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("doppel import: 18 point(s) sent, 18 accepted, 0 refused"), std::string::npos) << out;
  EXPECT_EQ(all_pages("/telemetry/export?format=csv&limit=7"), k_csv);
  EXPECT_EQ(call("GET", "/telemetry/export", "viewer").body, k_lp);

  fresh_server("data-c");
  std::tie(code, out) = cli("import - --format lp < a.lp", "operator");
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("doppel import: 16 point(s) sent, 16 accepted, 0 refused"), std::string::npos) << out;
  EXPECT_EQ(call("GET", "/telemetry/export", "viewer").body, without_comments(k_lp));
}

TEST_F(export_test, ImportReportsWhatWasRefused) {
  start();
  add_twins();
  std::ofstream(dir_.path() / "mixed.csv") << "twin,name,time,value\n"
                                           << "m-1,temp,2026-01-01T00:00:00Z,1.5\n"
                                           << "ghost,temp,2026-01-01T00:00:00Z,1.5\n"
                                           << "m-1,temp,2026-01-01T00:00:01Z,\"warm\"\n"
                                           << "m-1,temp,soon,1\n";
  auto [code, out] = cli("import mixed.csv", "operator");
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("doppel import: 3 point(s) sent, 1 accepted, 2 refused; 1 line(s) could not be read"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("mixed.csv:5: the time \"soon\""), std::string::npos) << out;
  EXPECT_NE(out.find("unknown_twin"), std::string::npos) << out;
  EXPECT_NE(out.find("wrong_type"), std::string::npos) << out;
  // Points only of twins that do not exist: the server answers 404 DigitalTwinNotFound (as ADT
  // does for telemetry), which is a refusal like the others, not the end of the import.
  std::ofstream(dir_.path() / "ghosts.csv") << "twin,name,time,value\n"
                                            << "ghost,temp,2026-01-01T00:00:00Z,1.5\n";
  std::tie(code, out) = cli("import ghosts.csv", "operator");
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("doppel import: 1 point(s) sent, 0 accepted, 1 refused"), std::string::npos) << out;
  EXPECT_NE(out.find("unknown_twin"), std::string::npos) << out;

  std::ofstream(dir_.path() / "bad.lp") << "# a comment\n\ndoppel,twin=m-1 temp=2 1\ndoppel,twin=m-1 temp=\n";
  std::tie(code, out) = cli("import bad.lp", "operator");
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("1 point(s) sent, 1 accepted, 0 refused; 1 line(s) could not be read"), std::string::npos) << out;
  EXPECT_NE(out.find("bad.lp:4:"), std::string::npos) << out;

  // Times in another unit.
  std::ofstream(dir_.path() / "ms.txt") << "doppel,twin=m-1 count=5i 1764064800000\n";
  std::tie(code, out) = cli("import ms.txt --precision ms", "operator");
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(call("GET", "/telemetry/export?format=csv&twin=m-1&from=" + ts(0) + "&to=" + ts(1), "viewer").body,
            "twin,name,time,value\nm-1,count,2025-11-25T10:00:00.000Z,5\n");

  std::tie(code, out) = cli("import bad.lp", "viewer");
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("403 forbidden"), std::string::npos) << out;
  std::tie(code, out) = cli("import history.json", "operator");
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("--format"), std::string::npos) << out;
  std::tie(code, out) = cli("import missing.csv", "operator");
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("missing.csv: no such file"), std::string::npos) << out;
  std::tie(code, out) = cli("export --twin ghost", "viewer");
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("404 not_found"), std::string::npos) << out;
}

}  // namespace
}  // namespace doppel::api
