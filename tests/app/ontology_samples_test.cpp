// Issue 13: DTDL ontologies published for Azure Digital Twins start every file with a UTF-8 byte
// order mark, and `doppel validate` used to stop at 1:1 "invalid JSON" on each. The samples in
// tests/data/ontologies (written for these tests, shaped like RealEstateCore, the CIM energy grid
// and the smart cities ontologies) are checked with the real binary, as a user would.
#include "app/cli.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/run_command.h"
#include "common/temp_dir.h"

namespace doppel::app {
namespace {

namespace fs = std::filesystem;

const fs::path k_samples = fs::path(DOPPEL_SOURCE_DIR) / "tests" / "data" / "ontologies";
const std::string k_bom = "\xEF\xBB\xBF";

using doppel::testing::run_result;

run_result run(const std::vector<std::string>& args) { return doppel::testing::run_command(DOPPEL_BINARY, args); }

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::vector<fs::path> json_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".json") out.push_back(e.path());
  }
  return out;
}

TEST(OntologySamples, EachValidatesWithZeroErrors) {
  for (auto [name, interfaces] : {std::pair{"building", 18}, {"energygrid", 23}, {"smartcities", 12}}) {
    SCOPED_TRACE(name);
    fs::path dir = k_samples / name;
    auto files = json_files(dir);
    ASSERT_EQ(files.size(), static_cast<std::size_t>(interfaces));
    for (const auto& f : files) EXPECT_TRUE(read(f).starts_with(k_bom)) << f << " lost its byte order mark";
    auto r = run({"validate", dir.string()});
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("ok: " + std::to_string(interfaces) + " interface(s)"), std::string::npos) << r.output;
  }
  // All three together, as one registry (the ids do not collide).
  auto all = run({"validate", (k_samples / "building").string(), (k_samples / "energygrid").string(),
                  (k_samples / "smartcities").string()});
  EXPECT_EQ(all.code, 0) << all.output;
  EXPECT_NE(all.output.find("ok: 53 interface(s)"), std::string::npos) << all.output;
}

// A mistake in a file with a mark is reported exactly as in the same file without one: same
// line, same column (the mark takes none, as in editors), same message.
TEST(OntologySamples, ErrorsInAFileWithAMarkKeepTheirPlace) {
  doppel::testing::temp_dir tmp;
  std::string text = read(k_samples / "building" / "Asset" / "Asset.json");
  ASSERT_TRUE(text.starts_with(k_bom));
  auto broken_copy = [&](const std::string& name, const std::string& from, const std::string& to) {
    std::string t = text;
    auto at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) t.replace(at, from.size(), to);
    fs::create_directories(tmp.path() / name);
    write(tmp.path() / name / "with.json", t);
    write(tmp.path() / name / "without.json", t.substr(k_bom.size()));
    auto with = run({"validate", (tmp.path() / name / "with.json").string()});
    auto without = run({"validate", (tmp.path() / name / "without.json").string()});
    EXPECT_EQ(with.code, 1) << with.output;
    std::string expected = without.output;
    for (auto p = expected.find("without.json"); p != std::string::npos; p = expected.find("without.json", p)) {
      expected.replace(p, 12, "with.json");
    }
    EXPECT_EQ(with.output, expected);
    return with.output;
  };
  // Line and column of byte `skip` of `needle` in the file, as an editor shows them (the mark
  // takes no column).
  auto place = [&](const std::string& needle, std::size_t skip, std::size_t extra_columns = 0) {
    std::size_t at = text.find(needle) + skip;
    std::size_t line_start = text.rfind('\n', at);
    line_start = line_start == std::string::npos ? k_bom.size() : line_start + 1;
    auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n');
    return ":" + std::to_string(line) + ":" + std::to_string(at - line_start + 1 + extra_columns) + ": error: ";
  };
  // A DTDL mistake deep in the file, a JSON one on the first line, one on a later line.
  std::string dtdl = broken_copy("dtdl", R"("name": "serialNumber")", R"("name": "serial number")");
  EXPECT_NE(dtdl.find("with.json" + place(R"("name": "serialNumber")", 8)), std::string::npos) << dtdl;
  std::string first = broken_copy("first", "{", "{,");
  EXPECT_NE(first.find("with.json:1:2: error: invalid JSON"), std::string::npos) << first;
  // The second comma, just after the first.
  std::string later = broken_copy("later", R"("@type": "Interface",)", R"("@type": "Interface",,)");
  EXPECT_NE(later.find("with.json" + place(R"("@type": "Interface",)", 20, 1) + "invalid JSON"), std::string::npos)
      << later;
  // One mark only: a second is not JSON.
  write(tmp.path() / "twice.json", k_bom + text);
  auto twice = run({"validate", (tmp.path() / "twice.json").string()});
  EXPECT_EQ(twice.code, 1) << twice.output;
  EXPECT_NE(twice.output.find("twice.json:1:"), std::string::npos) << twice.output;
}

// The building sample in a project with twins, relationships (with properties) and components,
// in a declaration file that starts with a mark too.
TEST(OntologySamples, LoadIntoAProject) {
  doppel::testing::temp_dir tmp;
  fs::path proj = tmp.path() / "office";
  ASSERT_EQ(run({"init", proj.string()}).code, 0);
  fs::remove(proj / "models" / "device.json");
  fs::copy(k_samples / "building", proj / "models" / "rec", fs::copy_options::recursive);
  write(proj / "twins" / "site.json", k_bom + R"({
  "twins": [
    {"$dtId": "hq", "$metadata": {"$model": "dtmi:doppel:sample:rec:Building;1"}, "name": "HQ",
     "constructionYear": 1998, "customTags": {"campus": "north"},
     "address": {"street": "Main St 1", "postalCode": "8000", "city": "Zurich",
                 "position": {"latitude": 47.37, "longitude": 8.54}}},
    {"$dtId": "hq-l1", "$metadata": {"$model": "dtmi:doppel:sample:rec:Level;1"}, "levelNumber": 1},
    {"$dtId": "hq-r101", "$metadata": {"$model": "dtmi:doppel:sample:rec:ConferenceRoom;1"}, "seats": 12,
     "roomKind": "meeting",
     "occupancy": {"$metadata": {}, "isOccupied": false, "dwellTimeAverage": 1800},
     "climate": {"$metadata": {}, "setpoint": 21.5}},
    {"$dtId": "ahu-1", "$metadata": {"$model": "dtmi:doppel:sample:rec:AirHandlingUnit;1"},
     "serialNumber": "AHU-0001", "commissionDate": "2019-04-01", "maintenanceInterval": "P90D",
     "supplyAirSetpoint": 18},
    {"$dtId": "fan-1", "$metadata": {"$model": "dtmi:doppel:sample:rec:Fan;1"}}
  ],
  "relationships": [
    {"$sourceId": "hq", "$relationshipName": "hasLevel", "$targetId": "hq-l1"},
    {"$sourceId": "hq-l1", "$relationshipName": "hasRoom", "$targetId": "hq-r101"},
    {"$sourceId": "hq-r101", "$relationshipName": "isPartOf", "$targetId": "hq-l1"},
    {"$sourceId": "ahu-1", "$relationshipName": "locatedIn", "$targetId": "hq-l1"},
    {"$sourceId": "ahu-1", "$relationshipName": "serves", "$targetId": "hq-r101"},
    {"$sourceId": "fan-1", "$relationshipName": "feeds", "$targetId": "ahu-1", "medium": "air", "nominalFlow": 2.5}
  ]
}
)");
  auto r = run({"validate", proj.string()});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("ok: 18 interface(s)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ok: 5 twin(s) and 6 relationship(s)"), std::string::npos) << r.output;
  // The relationship's properties are checked against the model, through the mark.
  std::string site = read(proj / "twins" / "site.json");
  site.replace(site.find(R"("medium": "air")"), 15, R"("medium": "gas")");
  write(proj / "twins" / "site.json", site);
  r = run({"validate", proj.string()});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("medium"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace doppel::app
