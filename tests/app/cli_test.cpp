// Runs the real `doppel` binary, as a user would, and checks its output and exit codes.
#include "app/cli.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/run_command.h"
#include "common/server_process.h"
#include "common/temp_dir.h"

namespace doppel::app {
namespace {

namespace fs = std::filesystem;

using doppel::testing::run_result;

run_result run(const std::vector<std::string>& args) { return doppel::testing::run_command(DOPPEL_BINARY, args); }

using doppel::testing::temp_dir;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void replace_in_file(const fs::path& p, const std::string& from, const std::string& to) {
  std::string text = read(p);
  auto pos = text.find(from);
  ASSERT_NE(pos, std::string::npos) << from << " not in " << p;
  text.replace(pos, from.size(), to);
  std::ofstream(p) << text;
}

const fs::path k_example = fs::path(DOPPEL_SOURCE_DIR) / "examples" / "pump-station";

TEST(Cli, HelpListsEveryCommand) {
  auto r = run({"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* cmd :
       {"init", "validate", "serve", "token", "device", "twin", "query", "export", "import", "--version"}) {
    EXPECT_NE(r.output.find(cmd), std::string::npos) << cmd << "\n" << r.output;
  }
  for (const char* sub : {"init", "validate", "serve", "query", "export", "import"}) {
    auto h = run({sub, "--help"});
    EXPECT_EQ(h.code, 0) << sub;
    EXPECT_NE(h.output.find("Usage: doppel " + std::string(sub)), std::string::npos) << h.output;
  }
}

TEST(Cli, Version) {
  auto r = run({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.output, std::string("doppel ") + DOPPEL_VERSION + "\n");
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(run({}).code, 2);
  EXPECT_EQ(run({"frobnicate"}).code, 2);
  EXPECT_EQ(run({"validate"}).code, 2);
  EXPECT_EQ(run({"validate", "--format", "xml", "x"}).code, 2);
}

TEST(Cli, ExampleProjectIsValid) {
  auto r = run({"validate", k_example.string(), "--list"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("ok: 6 interface(s) in 5 model file(s) are valid"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("dtmi:doppel:example:Pump;1  (DTDL v3, 13 own + 5 inherited contents)"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("depends on: dtmi:doppel:example:Asset;1 dtmi:doppel:example:Motor;1"), std::string::npos);
}

TEST(Cli, BrokenCopyGivesPreciseErrors) {
  temp_dir tmp;
  fs::path proj = tmp.path() / "broken";
  fs::copy(k_example, proj, fs::copy_options::recursive);
  replace_in_file(proj / "models" / "pump.json", R"("unit": "bar" },)", R"("unit": "kelvin" },)");
  replace_in_file(proj / "models" / "pump.json", R"("schema": "dtmi:doppel:example:Motor;1")",
                  R"("schema": "dtmi:doppel:example:Motr;1")");
  replace_in_file(proj / "models" / "station.json", R"("maxMultiplicity": 20)", R"("maxMultiplicity": 0)");
  replace_in_file(proj / "models" / "asset.json", R"("schema": "date")", R"("schema": "datetime")");
  auto r = run({"validate", proj.string()});
  EXPECT_EQ(r.code, 1) << r.output;
  std::string models = (proj / "models").string();
  EXPECT_NE(r.output.find(models + "/asset.json:10:61: error: unknown schema \"datetime\" [at $.contents[2].schema]"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(models + "/pump.json:8:100: error: unit \"kelvin\" is not a unit of PressureUnit"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("hint: use one of: bar, "), std::string::npos);
  EXPECT_NE(r.output.find(models + "/pump.json:20:56: error: Component schema names \"dtmi:doppel:example:Motr;1\""),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(models + "/station.json:34:28: error: maxMultiplicity must be at least 1 "
                                   "[at $[1].contents[1].maxMultiplicity]"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("4 errors found; nothing was loaded"), std::string::npos) << r.output;
}

// Issue 19: twin files follow the JSON input policy; 1e400 used to throw out of the loader (an
// uncaught out_of_range ended `doppel serve` at start).
TEST(Cli, TwinFilesFollowTheJsonInputRules) {
  temp_dir tmp;
  fs::path proj = tmp.path() / "hostile";
  fs::copy(k_example, proj, fs::copy_options::recursive);
  replace_in_file(proj / "twins" / "plant.json", R"("capacity": 2500)", R"("capacity": 1e400)");
  std::ofstream(proj / "twins" / "deep.json")
      << R"({"twins": )" << std::string(100, '[') << std::string(100, ']') << "}";
  std::ofstream(proj / "twins" / "bytes.json") << "{\"twins\": [\"\xff\"]}";
  std::ofstream(proj / "twins" / "deep.yaml") << "twins: " << std::string(100, '[') << std::string(100, ']') << "\n";
  auto r = run({"validate", proj.string()});
  EXPECT_EQ(r.code, 1) << r.output;
  std::string twins = (proj / "twins").string();
  EXPECT_NE(r.output.find(twins + "/plant.json:34:19: error: invalid JSON: the number at byte"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(twins + "/deep.json:1:74: error: invalid JSON: the JSON nests deeper than 64 levels"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(twins + "/bytes.json:1:13: error: invalid JSON: the text is not valid UTF-8"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(twins + "/deep.yaml: error: the declarations nest deeper than 64 levels"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("4 errors found; nothing was loaded"), std::string::npos) << r.output;
}

TEST(Cli, ExampleTwinsAreChecked) {
  auto ok = run({"validate", k_example.string()});
  EXPECT_NE(ok.output.find("ok: 5 twin(s) and 4 relationship(s) in 1 twin file(s) are valid"), std::string::npos)
      << ok.output;
  temp_dir tmp;
  fs::path proj = tmp.path() / "broken";
  fs::copy(k_example, proj, fs::copy_options::recursive);
  replace_in_file(proj / "twins" / "plant.json", R"("mode": "auto")", R"("mode": "turbo")");
  replace_in_file(proj / "twins" / "plant.json", R"("$relationshipName": "feeds")", R"("$relationshipName": "fills")");
  std::ofstream(proj / "twins" / "more.yaml") << "twins:\n  - $dtId: tank-2\n    $metadata: {$model: "
                                                 "\"dtmi:doppel:example:Tank;1\"}\n    capacity: big\n";
  auto r = run({"validate", proj.string()});
  EXPECT_EQ(r.code, 1) << r.output;
  std::string twins = (proj / "twins").string();
  EXPECT_NE(r.output.find(twins + "/more.yaml: error: expected a number, got a string [at $.twins[0].capacity]"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(twins + "/plant.json: error: not one of the enum's values (\"auto\", \"manual\", \"off\"); "
                                  "got \"turbo\" [at $.twins[1].mode]"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("has no relationship \"fills\"; it has: hasPump, feeds, monitoredBy "
                          "[at $.relationships[2].$relationshipName]"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("3 errors found; nothing was loaded"), std::string::npos) << r.output;
}

TEST(Cli, JsonOutput) {
  temp_dir tmp;
  std::ofstream(tmp.path() / "bad.json") << R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:x:A;1",
  "@type": "Interface", "contents": [{"@type": "Telemetry", "name": "1bad", "schema": "double"}]})";
  auto r = run({"validate", "--format", "json", (tmp.path() / "bad.json").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("\"ok\": false"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"path\": \"$.contents[0].name\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"line\": 2"), std::string::npos) << r.output;
}

TEST(Cli, BadConfigIsReportedWithPosition) {
  temp_dir tmp;
  fs::path proj = tmp.path() / "p";
  fs::copy(k_example, proj, fs::copy_options::recursive);
  std::ofstream(proj / "doppel.yaml") << "name: p\nmodles: [models]\n";
  auto r = run({"validate", proj.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find((proj / "doppel.yaml").string() + ":2:1: error: unknown key \"modles\""), std::string::npos)
      << r.output;
}

// ingest.device_reported names properties of loaded models; anything else is an error with the
// position and what is wrong.
TEST(Cli, DeviceReportedIsCheckedAgainstTheModels) {
  temp_dir tmp;
  fs::path proj = tmp.path() / "p";
  fs::copy(k_example, proj, fs::copy_options::recursive);
  auto with = [&](const std::string& yaml) {
    std::ofstream(proj / "doppel.yaml") << "name: p\ningest:\n  device_reported:\n" << yaml;
    return run({"validate", proj.string()});
  };
  auto ok = with(
      "    \"dtmi:doppel:example:Asset;1\": [serialNumber]\n    \"dtmi:doppel:example:Pump;1\": "
      "[motor.ratedPower]\n");
  EXPECT_EQ(ok.code, 0) << ok.output;
  auto unknown_model = with("    \"dtmi:doppel:example:Nope;1\": [serialNumber]\n");
  EXPECT_EQ(unknown_model.code, 1);
  EXPECT_NE(unknown_model.output.find(":4:36: error: ingest.device_reported.dtmi:doppel:example:Nope;1: no model"),
            std::string::npos)
      << unknown_model.output;
  auto unknown_name = with("    \"dtmi:doppel:example:Pump;1\": [serialNumbr]\n");
  EXPECT_NE(unknown_name.output.find("has no property \"serialNumbr\""), std::string::npos) << unknown_name.output;
  auto telemetry = with("    \"dtmi:doppel:example:Pump;1\": [speed]\n");
  EXPECT_NE(telemetry.output.find("\"speed\" is a Telemetry, not a property"), std::string::npos) << telemetry.output;
  auto component = with("    \"dtmi:doppel:example:Pump;1\": [rotor.ratedPower]\n");
  EXPECT_NE(component.output.find("\"rotor\" is not a component"), std::string::npos) << component.output;
  auto shape = with("    - serialNumber\n");
  EXPECT_NE(shape.output.find("must map model ids to lists of property names"), std::string::npos) << shape.output;
}

// `doppel device add|list|remove`: the password is printed once, only its hash kept (0600).
TEST(Cli, DeviceCredentials) {
  temp_dir tmp;
  fs::path proj = tmp.path() / "p";
  fs::copy(k_example, proj, fs::copy_options::recursive);
  auto added = run({"device", "add", proj.string(), "--name", "plc-1", "--twin", "pump-1", "--twin", "pump-2"});
  ASSERT_EQ(added.code, 0) << added.output;
  EXPECT_EQ(added.output.size(), 65u) << added.output;  // 64 hex digits and a newline
  auto fleet = run({"device", "add", proj.string(), "--name", "gateway"});
  ASSERT_EQ(fleet.code, 0) << fleet.output;
  fs::path file = proj / ".doppel" / "mqtt-devices.json";
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find(added.output.substr(0, 64)), std::string::npos) << "the password itself is stored";
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(run({"device", "list", proj.string()}).output, "plc-1\tpump-1,pump-2\ngateway\t*\n");
  EXPECT_EQ(run({"device", "add", proj.string(), "--name", "gateway"}).code, 1);
  EXPECT_NE(run({"device", "add", proj.string(), "--name", "doppel"}).output.find("Doppel's own connection"),
            std::string::npos);
  EXPECT_NE(run({"device", "add", proj.string(), "--name", "x", "--twin", "a/+"}).output.find("MQTT topic level"),
            std::string::npos);
  EXPECT_EQ(run({"device", "remove", proj.string(), "--name", "plc-1"}).code, 0);
  EXPECT_EQ(run({"device", "remove", proj.string(), "--name", "plc-1"}).code, 1);
  EXPECT_EQ(run({"device", "list", proj.string()}).output, "gateway\t*\n");
}

TEST(Cli, InitThenValidateThenServe) {
  temp_dir tmp;
  fs::path proj = tmp.path() / "new-plant";
  auto init = run({"init", proj.string()});
  EXPECT_EQ(init.code, 0) << init.output;
  EXPECT_TRUE(fs::exists(proj / "doppel.yaml"));
  EXPECT_TRUE(fs::is_directory(proj / "models"));
  EXPECT_TRUE(fs::is_directory(proj / "twins"));
  EXPECT_NE(read(proj / "doppel.yaml").find("name: new-plant"), std::string::npos);
  auto v = run({"validate", proj.string()});
  EXPECT_EQ(v.code, 0) << v.output;
  EXPECT_NE(v.output.find("ok: 1 interface(s)"), std::string::npos);
  auto again = run({"init", proj.string()});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.output.find("already exists"), std::string::npos);
  // serve runs until it is stopped: it says what it loaded and where it listens.
  doppel::testing::server_process server;
  ASSERT_TRUE(server.start(proj, tmp.path() / "data")) << server.output();
  EXPECT_NE(server.output().find("project new-plant: 1 interface(s), 0 twin(s)"), std::string::npos) << server.output();
  EXPECT_NE(server.output().find("no API tokens yet: create one with `doppel token create"), std::string::npos)
      << server.output();
  int st = server.kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  EXPECT_NE(server.output().find("terminated, stopping"), std::string::npos) << server.output();
}

TEST(Cli, ServeRefusesABrokenProject) {
  temp_dir tmp;
  fs::path proj = tmp.path() / "p";
  ASSERT_EQ(run({"init", proj.string()}).code, 0);
  std::ofstream(proj / "models" / "broken.json") << "{ not json";
  auto s = run({"serve", proj.string(), "--listen", "127.0.0.1:0"});
  EXPECT_EQ(s.code, 1) << s.output;
  EXPECT_NE(s.output.find("broken.json:1:3"), std::string::npos) << s.output;
  EXPECT_NE(s.output.find("fix them and run again"), std::string::npos) << s.output;
  auto bad_listen = run({"serve", proj.string(), "--listen", "nowhere"});
  EXPECT_NE(bad_listen.code, 0);
}

TEST(Cli, TokenCreate) {
  temp_dir tmp;
  fs::path proj = tmp.path() / "p";
  ASSERT_EQ(run({"init", proj.string()}).code, 0);
  auto t = run({"token", "create", proj.string(), "--role", "admin", "--name", "me"});
  EXPECT_EQ(t.code, 0) << t.output;
  EXPECT_EQ(t.output.rfind("dpl_", 0), 0u) << t.output;
  EXPECT_EQ(t.output.size(), 4u + 64u + 1u) << t.output;
  EXPECT_TRUE(fs::exists(proj / ".doppel" / "tokens.json"));
  EXPECT_EQ(read(proj / ".doppel" / "tokens.json").find(t.output.substr(0, 68)), std::string::npos)
      << "the secret itself must not be stored";
  auto perms = fs::status(proj / ".doppel" / "tokens.json").permissions();
  EXPECT_EQ(perms & (fs::perms::group_all | fs::perms::others_all), fs::perms::none);
  auto dup = run({"token", "create", proj.string(), "--role", "viewer", "--name", "me"});
  EXPECT_EQ(dup.code, 1);
  EXPECT_NE(dup.output.find("exists already"), std::string::npos) << dup.output;
  EXPECT_EQ(run({"token", "create", proj.string(), "--role", "root", "--name", "x"}).code, 2);
  EXPECT_EQ(run({"token", "create", (tmp.path() / "none").string(), "--role", "admin", "--name", "x"}).code, 1);
}

TEST(Cli, InitRejectsBadName) {
  temp_dir tmp;
  auto r = run({"init", (tmp.path() / "x").string(), "--name", "bad name!"});
  EXPECT_EQ(r.code, 2);
  EXPECT_FALSE(fs::exists(tmp.path() / "x" / "doppel.yaml"));
}

TEST(Cli, ModelsAcrossFilesInAnyOrder) {
  temp_dir tmp;
  // b.json extends a.json's interface; passing b first must work as well as a first.
  std::ofstream(tmp.path() / "a.json") << R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:x:A;1",
    "@type": "Interface", "contents": [{"@type": "Property", "name": "p", "schema": "string"}]})";
  std::ofstream(tmp.path() / "b.json") << R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:x:B;1",
    "@type": "Interface", "extends": "dtmi:x:A;1"})";
  auto ab = run({"validate", (tmp.path() / "a.json").string(), (tmp.path() / "b.json").string()});
  auto ba = run({"validate", (tmp.path() / "b.json").string(), (tmp.path() / "a.json").string()});
  EXPECT_EQ(ab.code, 0) << ab.output;
  EXPECT_EQ(ba.code, 0) << ba.output;
  auto only_b = run({"validate", (tmp.path() / "b.json").string()});
  EXPECT_EQ(only_b.code, 1);
  EXPECT_NE(only_b.output.find("extends names \"dtmi:x:A;1\", which is not defined"), std::string::npos)
      << only_b.output;
}

TEST(Cli, MissingPath) {
  auto r = run({"validate", "/nonexistent/models"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("/nonexistent/models: error: no such file or folder"), std::string::npos) << r.output;
}

TEST(Cli, InProcessRunMatchesBinary) {
  std::ostringstream out, err;
  const char* argv[] = {"doppel", "--version"};
  EXPECT_EQ(run_cli(2, argv, out, err), 0);
  EXPECT_EQ(out.str(), std::string("doppel ") + DOPPEL_VERSION + "\n");
}

}  // namespace
}  // namespace doppel::app
