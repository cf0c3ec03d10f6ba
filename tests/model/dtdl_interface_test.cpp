// Interfaces: extends (references, inline bases, limits, depth, cycles), inherited contents and
// their names, contents limits.
#include "model/registry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dtdl_test_util.h"

namespace doppel::model {
namespace {

using namespace testing;

std::string iface_id(int k) { return "dtmi:test:I" + std::to_string(k) + ";1"; }

std::string properties(int from, int to, const std::string& prefix = "p") {
  std::string out;
  for (int k = from; k < to; ++k) {
    out += (k > from ? ",\n" : "") + std::string(R"({"@type": "Property", "name": ")") + prefix + std::to_string(k) +
           R"(", "schema": "long"})";
  }
  return out;
}

// A chain I0 extends I1 extends ... I(n-1), one interface per file.
std::vector<source> chain(int n) {
  std::vector<source> out;
  for (int k = 0; k < n; ++k) {
    std::string extra = k + 1 < n ? "\"extends\": \"" + iface_id(k + 1) + "\", " : "";
    out.push_back({"i" + std::to_string(k) + ".json", v3(properties(k, k + 1), iface_id(k), extra)});
  }
  return out;
}

TEST(DtdlExtends, SingleMultipleAndInlineBases) {
  model_registry reg;
  load_report r = reg.load({
      {"d.json", v3(R"({"@type": "Property", "name": "own", "schema": "long"})", "dtmi:test:D;1",
                    R"("extends": ["dtmi:test:A;1", {"@id": "dtmi:test:B;1", "@type": "Interface",
                       "contents": [{"@type": "Telemetry", "name": "b", "schema": "long"}]}, "dtmi:test:C;1"], )")},
      {"a.json", v3(R"({"@type": "Property", "name": "a", "schema": "long"})", "dtmi:test:A;1",
                    R"("extends": "dtmi:test:Root;1", )")},
      {"c.json", v3(R"({"@type": "Command", "name": "c"})", "dtmi:test:C;1")},
      {"root.json", v3(R"({"@type": "Property", "name": "root", "schema": "long"})", "dtmi:test:Root;1")},
  });
  ASSERT_TRUE(loads_ok(r));
  EXPECT_EQ(r.interfaces, 5u);
  const interface* d = reg.find("dtmi:test:D;1");
  ASSERT_NE(d, nullptr);
  ASSERT_EQ(d->extends.size(), 3u);
  EXPECT_EQ(d->extends[1], reg.find("dtmi:test:B;1"));
  std::string names;
  for (const content* c : d->contents) names += c->name + ",";
  EXPECT_EQ(names, "root,a,b,c,own,");  // bases first, in extends order
  EXPECT_EQ(d->own_contents.size(), 1u);
  std::string ancestors;
  for (const interface* a : d->ancestors) ancestors += a->id + ",";
  EXPECT_EQ(ancestors, "dtmi:test:Root;1,dtmi:test:A;1,dtmi:test:B;1,dtmi:test:C;1,");
  EXPECT_TRUE(d->is_a("dtmi:test:Root;1"));
  EXPECT_TRUE(d->is_a("dtmi:test:D;1"));
  EXPECT_FALSE(reg.find("dtmi:test:A;1")->is_a("dtmi:test:D;1"));
  EXPECT_EQ(d->find("root")->declared_in, reg.find("dtmi:test:Root;1"));
}

TEST(DtdlExtends, V2AtMostTwoBases) {
  std::vector<source> bases = {
      {"a.json", v2("", "dtmi:test:A;1")}, {"b.json", v2("", "dtmi:test:B;1")}, {"c.json", v2("", "dtmi:test:C;1")}};
  auto with = [&](const std::string& extends_json, bool use_v2) {
    std::vector<source> all = bases;
    std::string extra = "\"extends\": " + extends_json + ", ";
    all.push_back({"test.json", use_v2 ? v2("", k_id, extra) : v3("", k_id, extra)});
    return load(all);
  };
  EXPECT_TRUE(loads_ok(with(R"(["dtmi:test:A;1", "dtmi:test:B;1"])", true)));
  EXPECT_TRUE(has_only_error(with(R"(["dtmi:test:A;1", "dtmi:test:B;1", "dtmi:test:C;1"])", true),
                             "a DTDL v2 Interface may extend at most 2 interfaces, this one lists 3", 1, "$.extends"));
  EXPECT_TRUE(loads_ok(with(R"(["dtmi:test:A;1", "dtmi:test:B;1", "dtmi:test:C;1"])", false)));
}

TEST(DtdlExtends, DepthTenAllowedElevenRejected) {
  EXPECT_TRUE(loads_ok(load(chain(11))));  // 10 hops from I0 to I10
  load_report r = load(chain(12));         // 11 hops
  EXPECT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "the extends chain below dtmi:test:I0;1 is 11 levels deep; DTDL allows 10",
                        where{1, "$", 0, "i0.json"}));
  // Also when the lower part of the chain was loaded earlier.
  model_registry reg;
  std::vector<source> all = chain(12);
  std::vector<source> lower(all.begin() + 1, all.end());
  ASSERT_TRUE(loads_ok(reg.load(lower)));
  EXPECT_TRUE(has_error(reg.load({all[0]}), "11 levels deep", where{1, "$", 0, "i0.json"}));
}

TEST(DtdlExtends, TooDeepReportedOnceWhereItArises) {
  load_report r = load(chain(30));  // I18 is the first with 11 levels below it; I0..I17 only inherit that
  EXPECT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "the extends chain below dtmi:test:I18;1 is 11 levels deep", where{1, "$", 0, "i18.json"}));
}

TEST(DtdlExtends, HugeCycleIsOneErrorAndNoStackOverflow) {
  constexpr int n = 60000;
  std::string doc = "[";
  for (int k = 0; k < n; ++k) {
    doc += std::string(k ? ",\n" : "") + R"({"@context": "dtmi:dtdl:context;3", "@type": "Interface", "@id": ")" +
           iface_id(k) + R"(", "extends": ")" + iface_id((k + 1) % n) + "\"}";
  }
  doc += "]";
  load_report r = load(doc);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_TRUE(has_error(r,
                        "extends forms a cycle: dtmi:test:I0;1 -> dtmi:test:I1;1 -> dtmi:test:I2;1 -> "
                        "dtmi:test:I3;1 -> ... -> dtmi:test:I59997;1 -> dtmi:test:I59998;1 -> "
                        "dtmi:test:I59999;1 -> dtmi:test:I0;1",
                        n, "$[59999].extends"));
}

TEST(DtdlExtends, CyclesAreRejected) {
  load_report self = load(v3("", k_id, R"("extends": "dtmi:test:I;1", )"));
  EXPECT_TRUE(has_only_error(self, "extends forms a cycle: dtmi:test:I;1 -> dtmi:test:I;1", 1, "$.extends"));
  load_report pair = load({{"a.json", v3(properties(0, 1), "dtmi:test:A;1", R"("extends": "dtmi:test:B;1", )")},
                           {"b.json", v3(properties(1, 2), "dtmi:test:B;1", R"("extends": ["dtmi:test:C;1",
                                                                                "dtmi:test:A;1"], )")},
                           {"c.json", v3("", "dtmi:test:C;1")}});
  EXPECT_EQ(pair.errors.size(), 1u) << all_errors(pair);
  EXPECT_TRUE(has_error(pair, "extends forms a cycle: dtmi:test:A;1 -> dtmi:test:B;1 -> dtmi:test:A;1",
                        where{2, "$.extends[1]", 0, "b.json"}));
}

TEST(DtdlExtends, ValuesMustBeInterfaces) {
  load_report r = load({{"test.json", v3("", k_id, R"("extends": ["dtmi:test:Missing;1", "dtmi:test:_bad;1", 7,
                                                      "dtmi:test:E;1"], "schemas": [{"@id": "dtmi:test:E;1",
                                                      "@type": "Enum", "valueSchema": "string"}], )")}});
  EXPECT_EQ(r.errors.size(), 4u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "extends names \"dtmi:test:Missing;1\", which is not defined in any loaded model", 1,
                        "$.extends[0]"));
  EXPECT_TRUE(has_error(r, "extends value \"dtmi:test:_bad;1\" is not a valid DTMI", 1, "$.extends[1]"));
  EXPECT_TRUE(
      has_error(r, "extends must be an Interface DTMI or an inline Interface, not an integer", 1, "$.extends[2]"));
  EXPECT_TRUE(has_error(r, "extends names \"dtmi:test:E;1\", which is not an Interface", 2, "$.extends[3]"));
}

TEST(DtdlExtends, V3AtMost1024ExtendsValuesInTheHierarchy) {
  auto with_bases = [](int n) {
    std::string docs = "[";
    std::string list;
    for (int k = 0; k < n; ++k) {
      docs += R"({"@context": "dtmi:dtdl:context;3", "@type": "Interface", "@id": ")" + iface_id(k) + "\"},\n";
      list += (k ? ", \"" : "\"") + iface_id(k) + "\"";
    }
    docs += R"({"@context": "dtmi:dtdl:context;3", "@type": "Interface", "@id": "dtmi:test:Top;1", "extends": [)" +
            list + "]}]";
    return docs;
  };
  EXPECT_TRUE(loads_ok(load(with_bases(1024))));
  load_report r = load(with_bases(1025));
  EXPECT_TRUE(has_only_error(r, "dtmi:test:Top;1 has 1025 extends values across its hierarchy; DTDL v3 allows 1024",
                             1026, "$[1025]"));
}

// ---------------------------------------------------------------------- inherited names

TEST(DtdlInherited, SubInterfaceCannotRedeclareABaseName) {
  load_report r = load({{"base.json", v3(R"({"@type": "Property", "name": "x", "schema": "long"})", "dtmi:test:B;1")},
                        {"test.json", v3(R"(
{"@type": "Telemetry", "name": "x", "schema": "long"}
)",
                                         k_id, R"("extends": "dtmi:test:B;1", )")}});
  EXPECT_TRUE(has_only_error(r, "name \"x\" is already inherited from dtmi:test:B;1", 2, "$.contents[0]"));
}

TEST(DtdlInherited, TwoBasesWithTheSameName) {
  load_report r = load({{"a.json", v3(R"({"@type": "Property", "name": "x", "schema": "long"})", "dtmi:test:A;1")},
                        {"b.json", v3(R"({"@type": "Property", "name": "x", "schema": "long"})", "dtmi:test:B;1")},
                        {"test.json", v3("", k_id, R"("extends": ["dtmi:test:A;1", "dtmi:test:B;1"], )")}});
  EXPECT_TRUE(has_only_error(r,
                             "dtmi:test:I;1 inherits two different elements named \"x\" (from dtmi:test:A;1 and "
                             "dtmi:test:B;1)",
                             1, "$"));
}

TEST(DtdlInherited, DiamondIsNotADuplicate) {
  model_registry reg;
  load_report r = reg.load({{"d.json", v3(R"({"@type": "Property", "name": "x", "schema": "long"})", "dtmi:test:D;1")},
                            {"b.json", v3(R"({"@type": "Property", "name": "b", "schema": "long"})", "dtmi:test:B;1",
                                          R"("extends": "dtmi:test:D;1", )")},
                            {"c.json", v3(R"({"@type": "Property", "name": "c", "schema": "long"})", "dtmi:test:C;1",
                                          R"("extends": "dtmi:test:D;1", )")},
                            {"a.json", v3("", "dtmi:test:A;1", R"("extends": ["dtmi:test:B;1", "dtmi:test:C;1"], )")}});
  ASSERT_TRUE(loads_ok(r));
  const interface* a = reg.find("dtmi:test:A;1");
  std::string names;
  for (const content* c : a->contents) names += c->name + ",";
  EXPECT_EQ(names, "x,b,c,");
  EXPECT_EQ(a->ancestors.size(), 3u);
}

TEST(DtdlInherited, ClashFoundOnceWhereItArises) {
  // B redeclares a name of D; A, which extends B, does not repeat the error.
  load_report r = load({{"d.json", v3(R"({"@type": "Property", "name": "x", "schema": "long"})", "dtmi:test:D;1")},
                        {"b.json", v3(R"({"@type": "Property", "name": "x", "schema": "long"})", "dtmi:test:B;1",
                                      R"("extends": "dtmi:test:D;1", )")},
                        {"a.json", v3("", "dtmi:test:A;1", R"("extends": "dtmi:test:B;1", )")}});
  EXPECT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "already inherited from dtmi:test:D;1", where{2, "$.contents[0]", 0, "b.json"}));
}

// ----------------------------------------------------------------------- contents limits

TEST(DtdlInterfaceContents, V2AtMost300IncludingInherited) {
  std::vector<source> ok = {{"base.json", v2(properties(0, 200), "dtmi:test:Base;1")},
                            {"test.json", v2(properties(200, 300), k_id, R"("extends": "dtmi:test:Base;1", )")}};
  EXPECT_TRUE(loads_ok(load(ok)));
  std::vector<source> bad = {{"base.json", v2(properties(0, 200), "dtmi:test:Base;1")},
                             {"test.json", v2(properties(200, 301), k_id, R"("extends": "dtmi:test:Base;1", )")}};
  EXPECT_TRUE(
      has_only_error(load(bad), "dtmi:test:I;1 has 301 contents including inherited ones; DTDL v2 allows 300", 1, "$"));
  EXPECT_TRUE(has_only_error(load(v2(properties(0, 301))), "has 301 contents", 1, "$"));
  EXPECT_TRUE(loads_ok(load(v3(properties(0, 1000)))));
}

TEST(DtdlInterfaceMembers, OnlyInterfaceMembers) {
  load_report r = load(v3("", k_id, R"("name": "x", "schema": "long", )"));
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "member \"name\" does not belong in an Interface", 1, "$.name"));
  EXPECT_TRUE(has_error(r, "member \"schema\" does not belong in an Interface", 1, "$.schema"));
  EXPECT_TRUE(has_only_error(load(v3("", k_id, R"("owner": "x", )")), "unknown member \"owner\" in an Interface", 1,
                             "$.owner"));
  EXPECT_TRUE(has_only_error(load(R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:I;1",
                                        "@type": ["Interface", "Mqtt"]})"),
                             "co-type \"Mqtt\" needs the extension \"dtmi:dtdl:extension:mqtt;1\"", 2, "$.@type[1]"));
}

}  // namespace
}  // namespace doppel::model
