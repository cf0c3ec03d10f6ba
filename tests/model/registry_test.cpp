#include "model/registry.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dtdl_test_util.h"

namespace doppel::model {
namespace {

namespace fs = std::filesystem;
using namespace testing;

std::vector<source> sample() {
  return {
      {"pump.json", v3(R"(
{"@type": "Property", "name": "speed", "schema": "double"},
{"@type": "Component", "name": "motor", "schema": "dtmi:test:Motor;1"},
{"@type": "Relationship", "name": "feeds", "target": "dtmi:test:Tank;1"},
{"@type": "Relationship", "name": "feedsToo", "target": "dtmi:test:Tank;1"},
{"@type": "Relationship", "name": "self", "target": "dtmi:test:Pump;1"},
{"@type": "Relationship", "name": "anything"},
{"@type": "Component", "name": "inline", "schema": {"@id": "dtmi:test:Inline;1", "@type": "Interface"}}
)",
                       "dtmi:test:Pump;1", R"("extends": ["dtmi:test:Asset;1", "dtmi:test:Device;1"], )")},
      {"asset.json", v3(R"({"@type": "Property", "name": "serial", "schema": "string"})", "dtmi:test:Asset;1",
                        R"("extends": "dtmi:test:Thing;1", )")},
      {"thing.json", v3(R"({"@type": "Property", "name": "label", "schema": "string"})", "dtmi:test:Thing;1")},
      {"device.json", v3(R"({"@type": "Telemetry", "name": "online", "schema": "boolean"})", "dtmi:test:Device;1",
                         R"("extends": "dtmi:test:Thing;1", )")},
      {"motor.json", v3(R"({"@type": "Telemetry", "name": "rpm", "schema": "double"})", "dtmi:test:Motor;1")},
  };
}

TEST(Registry, FindIsExact) {
  model_registry reg;
  ASSERT_TRUE(loads_ok(reg.load(sample())));
  ASSERT_NE(reg.find("dtmi:test:Pump;1"), nullptr);
  EXPECT_EQ(reg.find("dtmi:test:Pump;1")->id, "dtmi:test:Pump;1");
  EXPECT_EQ(reg.find("dtmi:test:Pump;2"), nullptr);
  EXPECT_EQ(reg.find("dtmi:test:pump;1"), nullptr);
  EXPECT_EQ(reg.find("dtmi:test:Pump"), nullptr);
  EXPECT_EQ(reg.find(""), nullptr);
}

TEST(Registry, ListIsSortedByDtmi) {
  model_registry reg;
  EXPECT_TRUE(reg.list().empty());
  EXPECT_EQ(reg.size(), 0u);
  ASSERT_TRUE(loads_ok(reg.load(sample())));
  std::vector<std::string> ids;
  for (const interface* i : reg.list()) ids.push_back(i->id);
  EXPECT_EQ(ids, (std::vector<std::string>{"dtmi:test:Asset;1", "dtmi:test:Device;1", "dtmi:test:Inline;1",
                                           "dtmi:test:Motor;1", "dtmi:test:Pump;1", "dtmi:test:Thing;1"}));
  EXPECT_EQ(reg.size(), 6u);
  ASSERT_TRUE(loads_ok(reg.load({{"a.json", v3("", "dtmi:test:AAA;1")}})));
  EXPECT_EQ(reg.list().front()->id, "dtmi:test:AAA;1");
  EXPECT_EQ(reg.size(), 7u);
}

TEST(Registry, Dependencies) {
  model_registry reg;
  ASSERT_TRUE(loads_ok(reg.load(sample())));
  EXPECT_EQ(reg.dependencies("dtmi:test:Pump;1"),
            (std::vector<std::string>{"dtmi:test:Asset;1", "dtmi:test:Device;1", "dtmi:test:Inline;1",
                                      "dtmi:test:Motor;1", "dtmi:test:Tank;1"}));
  EXPECT_EQ(reg.dependencies("dtmi:test:Asset;1"), std::vector<std::string>{"dtmi:test:Thing;1"});
  EXPECT_TRUE(reg.dependencies("dtmi:test:Thing;1").empty());
  EXPECT_TRUE(reg.dependencies("dtmi:test:Unknown;1").empty());
}

TEST(Registry, FlattenedContentsAndAncestors) {
  model_registry reg;
  ASSERT_TRUE(loads_ok(reg.load(sample())));
  const interface* pump = reg.find("dtmi:test:Pump;1");
  std::string names;
  for (const content* c : pump->contents) names += c->name + ",";
  // Thing reaches Pump twice (via Asset and Device) but its contents appear once.
  EXPECT_EQ(names, "label,serial,online,speed,motor,feeds,feedsToo,self,anything,inline,");
  std::vector<std::string> ancestors;
  for (const interface* a : pump->ancestors) ancestors.push_back(a->id);
  EXPECT_EQ(ancestors, (std::vector<std::string>{"dtmi:test:Thing;1", "dtmi:test:Asset;1", "dtmi:test:Device;1"}));
  EXPECT_TRUE(pump->is_a("dtmi:test:Thing;1"));
  EXPECT_TRUE(pump->is_a("dtmi:test:Device;1"));
  EXPECT_FALSE(pump->is_a("dtmi:test:Motor;1"));
  EXPECT_FALSE(reg.find("dtmi:test:Thing;1")->is_a("dtmi:test:Pump;1"));
  ASSERT_NE(pump->find("label"), nullptr);
  EXPECT_EQ(pump->find("label")->declared_in, reg.find("dtmi:test:Thing;1"));
  EXPECT_EQ(pump->find("nothing"), nullptr);
  EXPECT_EQ(pump->own_contents.size(), 7u);
  EXPECT_EQ(pump->find("motor")->component, reg.find("dtmi:test:Motor;1"));
}

TEST(Registry, ElementsStayValidAcrossLoads) {
  model_registry reg;
  ASSERT_TRUE(loads_ok(reg.load(sample())));
  const interface* pump = reg.find("dtmi:test:Pump;1");
  const content* speed = pump->find("speed");
  for (int k = 0; k < 50; ++k) {
    ASSERT_TRUE(loads_ok(
        reg.load({{"x.json", v3(R"({"@type": "Property", "name": "p", "schema": "long"})",
                                "dtmi:test:X" + std::to_string(k) + ";1", R"("extends": "dtmi:test:Pump;1", )")}})));
    EXPECT_FALSE(reg.load({{"bad.json", v3("", "dtmi:test:Pump;1")}}).ok());
  }
  EXPECT_EQ(reg.find("dtmi:test:Pump;1"), pump);
  EXPECT_EQ(pump->find("speed"), speed);
  EXPECT_EQ(speed->name, "speed");
  EXPECT_TRUE(reg.find("dtmi:test:X49;1")->is_a("dtmi:test:Thing;1"));
}

TEST(Registry, IsMovable) {
  model_registry reg;
  ASSERT_TRUE(loads_ok(reg.load(sample())));
  const interface* pump = reg.find("dtmi:test:Pump;1");
  model_registry moved(std::move(reg));
  EXPECT_EQ(moved.find("dtmi:test:Pump;1"), pump);
  model_registry assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.size(), 6u);
}

TEST(Registry, PreparedBatchesAppearOnlyAtCommit) {
  model_registry reg;
  prepared_batch batch;
  ASSERT_TRUE(loads_ok(reg.prepare(sample(), batch)));
  EXPECT_EQ(reg.size(), 0u);
  EXPECT_EQ(batch.top_level().size(), 5u);  // Inline is written inside Pump
  ASSERT_TRUE(reg.commit(std::move(batch)));
  EXPECT_EQ(reg.size(), 6u);
  EXPECT_TRUE(is_top_level(*reg.find("dtmi:test:Pump;1")));
  EXPECT_FALSE(is_top_level(*reg.find("dtmi:test:Inline;1")));

  // A batch checked against a registry that changed since is refused, not merged blindly.
  prepared_batch stale;
  ASSERT_TRUE(loads_ok(reg.prepare({{"x.json", v3("", "dtmi:test:X;1")}}, stale)));
  ASSERT_TRUE(loads_ok(reg.load({{"y.json", v3("", "dtmi:test:Y;1")}})));
  status s = reg.commit(std::move(stale));
  EXPECT_EQ(s.code(), status_code::failed_precondition);
  EXPECT_EQ(reg.find("dtmi:test:X;1"), nullptr);
}

TEST(Registry, RemoveRefusesWhileOtherModelsUseIt) {
  model_registry reg;
  ASSERT_TRUE(loads_ok(reg.load(sample())));
  // Thing is extended by Asset and Device; Motor is Pump's component; Tank is not loaded but
  // Pump targets it, and Pump targets itself (which does not count).
  status s = reg.remove("dtmi:test:Thing;1");
  EXPECT_EQ(s.code(), status_code::failed_precondition);
  EXPECT_NE(s.message().find("dtmi:test:Asset;1, dtmi:test:Device;1"), std::string::npos) << s.message();
  status motor = reg.remove("dtmi:test:Motor;1");
  EXPECT_EQ(motor.code(), status_code::failed_precondition);
  EXPECT_NE(motor.message().find("used by 1 other model(s): dtmi:test:Pump;1;"), std::string::npos) << motor.message();
  EXPECT_EQ(reg.remove("dtmi:test:Inline;1").code(), status_code::not_found);  // inline: remove Pump
  EXPECT_EQ(reg.remove("dtmi:test:Nope;1").code(), status_code::not_found);
  EXPECT_EQ(reg.size(), 6u);
}

TEST(Registry, RemovedModelsCanBeLoadedAgainAndOldPointersStayValid) {
  model_registry reg;
  ASSERT_TRUE(loads_ok(reg.load(sample())));
  const interface* pump = reg.find("dtmi:test:Pump;1");
  ASSERT_TRUE(reg.remove("dtmi:test:Pump;1"));
  EXPECT_EQ(reg.find("dtmi:test:Pump;1"), nullptr);
  EXPECT_EQ(reg.find("dtmi:test:Inline;1"), nullptr);  // went with the document that wrote it
  EXPECT_EQ(reg.size(), 4u);
  EXPECT_EQ(pump->find("speed")->name, "speed");  // still readable by whoever held it
  // Now nothing uses Motor; and Pump (with its inline interface and ids) loads again.
  ASSERT_TRUE(reg.remove("dtmi:test:Motor;1"));
  auto again = sample();
  ASSERT_TRUE(loads_ok(reg.load({again[0], again[4]})));
  EXPECT_NE(reg.find("dtmi:test:Pump;1"), pump);
  EXPECT_EQ(reg.size(), 6u);
}

TEST(Registry, RemoveTakesOneEntryOfAnArrayDocument) {
  model_registry reg;
  ASSERT_TRUE(loads_ok(reg.load({{"all.json", "[" + v3("", "dtmi:test:A;1") + "," + v3("", "dtmi:test:B;1") + "]"}})));
  ASSERT_TRUE(reg.remove("dtmi:test:A;1"));
  EXPECT_NE(reg.find("dtmi:test:B;1"), nullptr);
  EXPECT_TRUE(loads_ok(reg.load({{"a.json", v3("", "dtmi:test:A;1")}})));
}

TEST(Registry, OptionsApplyToEveryLoad) {
  std::string doc = v3_with("dtmi:com:example:ext;1", R"({"@type": ["Property", "Fancy"], "name": "p",
                                                          "schema": "long"})");
  model_registry strict;
  EXPECT_FALSE(strict.load({{"a.json", doc}}).ok());
  model_registry lenient(registry_options{.allow_unknown_extensions = true});
  EXPECT_TRUE(loads_ok(lenient.load({{"a.json", doc}})));
}

TEST(Registry, ErrorsComeInReadingOrder) {
  model_registry reg;
  load_report r =
      reg.load({{"b.json", v3(R"(
{"@type": "Property", "name": "x", "schema": "nope"},
{"@type": "Property", "name": "y", "schema": "dtmi:test:Missing;1"}
)",
                              "dtmi:test:B;1")},
                {"a.json", v3(R"({"@type": "Property", "name": "_", "schema": "long"})", "dtmi:test:A;1")}});
  ASSERT_EQ(r.errors.size(), 3u) << all_errors(r);
  EXPECT_EQ(r.errors[0].file, "b.json");
  EXPECT_EQ(r.errors[0].line, 2u);
  EXPECT_EQ(r.errors[1].file, "b.json");
  EXPECT_EQ(r.errors[1].line, 3u);
  EXPECT_EQ(r.errors[2].file, "a.json");
  EXPECT_EQ(r.files, 2u);
  EXPECT_EQ(r.interfaces, 0u);
}

// ----------------------------------------------------------------------------- load_paths

class RegistryPaths : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ =
        fs::temp_directory_path() / ("doppel-registry-" + std::to_string(::getpid()) + "-" + std::string(info->name()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(root_ / "locked.json", fs::perms::owner_all, ec);
    fs::remove_all(root_, ec);
  }
  fs::path write(const std::string& relative, const std::string& text) {
    fs::path p = root_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  fs::path root_;
};

TEST_F(RegistryPaths, LoadsEveryJsonFileInNestedFolders) {
  write("base.json", v3(R"({"@type": "Property", "name": "p", "schema": "long"})", "dtmi:test:Base;1"));
  write("sub/derived.json", v3("", "dtmi:test:Derived;1", R"("extends": "dtmi:test:Base;1", )"));
  write("sub/deeper/deepest/leaf.json", v3("", "dtmi:test:Leaf;1", R"("extends": "dtmi:test:Derived;1", )"));
  write("notes.txt", "not a model");
  write("sub/README.md", "# not a model");
  write("sub/data.json.bak", "{");
  model_registry reg;
  load_report r = reg.load_paths({root_});
  ASSERT_TRUE(loads_ok(r));
  EXPECT_EQ(r.files, 3u);
  EXPECT_EQ(reg.size(), 3u);
  ASSERT_NE(reg.find("dtmi:test:Leaf;1"), nullptr);
  EXPECT_TRUE(reg.find("dtmi:test:Leaf;1")->is_a("dtmi:test:Base;1"));
  EXPECT_EQ(reg.find("dtmi:test:Leaf;1")->where.file, (root_ / "sub/deeper/deepest/leaf.json").string());
}

TEST_F(RegistryPaths, ReadSourcesIsSortedAndRecursive) {
  write("b.json", "{}");
  write("a/z.json", "{}");
  write("a.json", "{}");
  write("c/d/e.json", "{}");
  std::vector<diagnostic> errors;
  std::vector<source> sources = read_sources({root_}, errors);
  EXPECT_TRUE(errors.empty());
  std::vector<std::string> names;
  for (const auto& s : sources) names.push_back(fs::path(s.name).lexically_relative(root_).string());
  // Sorted as paths, element by element: a folder's files come before a sibling "a.json".
  EXPECT_EQ(names, (std::vector<std::string>{"a/z.json", "a.json", "b.json", "c/d/e.json"}));
  EXPECT_EQ(sources[0].text, "{}");
}

TEST_F(RegistryPaths, FilesAndFoldersMayBeMixed) {
  fs::path single = write("one/base.json", v3("", "dtmi:test:Base;1"));
  write("two/derived.json", v3("", "dtmi:test:Derived;1", R"("extends": "dtmi:test:Base;1", )"));
  model_registry reg;
  EXPECT_TRUE(loads_ok(reg.load_paths({root_ / "two", single})));
  EXPECT_EQ(reg.size(), 2u);
}

TEST_F(RegistryPaths, ErrorsNameTheFilePath) {
  fs::path bad = write("models/bad.json", v3(R"({"@type": "Property", "name": "p", "schema": "nope"})"));
  model_registry reg;
  load_report r = reg.load_paths({root_});
  EXPECT_TRUE(has_error(r, "unknown schema", where{2, "$.contents[0].schema", 0, bad.string()}));
}

TEST_F(RegistryPaths, MissingPathIsReportedAndNothingLoads) {
  write("good.json", v3(""));
  model_registry reg;
  fs::path missing = root_ / "no-such-dir";
  load_report r = reg.load_paths({root_, missing});
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].file, missing.string());
  EXPECT_NE(r.errors[0].message.find("no such file or folder"), std::string::npos);
  EXPECT_EQ(reg.size(), 0u);
}

TEST_F(RegistryPaths, UnreadableFileIsReported) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can read any file";
  fs::path locked = write("locked.json", v3(""));
  fs::permissions(locked, fs::perms::none);
  model_registry reg;
  load_report r = reg.load_paths({root_});
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].file, locked.string());
  EXPECT_FALSE(r.errors[0].message.empty());
  EXPECT_EQ(reg.size(), 0u);
}

TEST_F(RegistryPaths, BrokenEntryIsReportedByName) {
  write("good.json", v3(""));
  fs::create_symlink("loop.json", root_ / "loop.json");
  fs::create_symlink("missing-target.json", root_ / "dangling.json");
  model_registry reg;
  load_report r = reg.load_paths({root_});
  // Neither a symlink loop nor a dangling link can be read; both are named, the walk goes on.
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "cannot read the file", where{0, "", 0, (root_ / "loop.json").string()}));
  EXPECT_TRUE(has_error(r, "cannot read the file", where{0, "", 0, (root_ / "dangling.json").string()}));
  EXPECT_EQ(reg.size(), 0u);
}

TEST_F(RegistryPaths, EmptyFolderLoadsNothing) {
  model_registry reg;
  load_report r = reg.load_paths({root_});
  EXPECT_TRUE(loads_ok(r));
  EXPECT_EQ(r.files, 0u);
  EXPECT_EQ(reg.size(), 0u);
}

}  // namespace
}  // namespace doppel::model
