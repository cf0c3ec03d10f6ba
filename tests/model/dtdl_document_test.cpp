// DTDL document structure: roots, @context, @id, @type, undefined members and keywords,
// single-valued members, representational literals, batches and load order.
#include "model/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dtdl_test_util.h"

namespace doppel::model {
namespace {

using namespace testing;

// ---------------------------------------------------------------------------------- roots

TEST(DtdlDocument, MinimalInterfacesLoadInBothVersions) {
  for (const char* ctx : {"dtmi:dtdl:context;2", "dtmi:dtdl:context;3"}) {
    std::string doc =
        std::string(R"({"@context": ")") + ctx + R"(", "@id": "dtmi:test:Empty;1", "@type": "Interface"})";
    model_registry reg;
    load_report r = reg.load({{"a.json", doc}});
    EXPECT_TRUE(loads_ok(r)) << ctx;
    EXPECT_EQ(r.files, 1u);
    EXPECT_EQ(r.interfaces, 1u);
    const interface* i = reg.find("dtmi:test:Empty;1");
    ASSERT_NE(i, nullptr);
    EXPECT_EQ(i->version, ctx[18] == '2' ? dtdl_version::v2 : dtdl_version::v3);
    EXPECT_EQ(i->where.file, "a.json");
    EXPECT_EQ(i->where.line, 1u);
  }
}

TEST(DtdlDocument, RootMustBeObjectOrArrayOfObjects) {
  EXPECT_TRUE(has_error(load(R"("dtmi:test:I;1")"), "must hold an Interface object or an array", 1, "$"));
  EXPECT_TRUE(has_error(load("\n  42"), "not an integer", 2, "$"));
  EXPECT_TRUE(has_error(load("[]"), "empty array", 1, "$"));
  load_report r = load(R"([
  {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:A;1", "@type": "Interface"},
  "dtmi:test:B;1"
])");
  EXPECT_TRUE(has_only_error(r, "expected an Interface object here, not a string", 3, "$[1]"));
}

TEST(DtdlDocument, FileMayHoldAnArrayOfInterfaces) {
  model_registry reg;
  load_report r = reg.load({{"many.json", R"([
  {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:A;1", "@type": "Interface"},
  {"@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:B;1", "@type": "Interface", "extends": "dtmi:test:C;1"},
  {"@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:C;1", "@type": "Interface"}
])"}});
  EXPECT_TRUE(loads_ok(r));
  EXPECT_EQ(r.interfaces, 3u);
  ASSERT_NE(reg.find("dtmi:test:B;1"), nullptr);
  EXPECT_EQ(reg.find("dtmi:test:B;1")->where.path, "$[1]");
  EXPECT_EQ(reg.find("dtmi:test:B;1")->where.line, 3u);
  EXPECT_TRUE(reg.find("dtmi:test:B;1")->is_a("dtmi:test:C;1"));

  load_report bad = load(R"([
  {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:A;1", "@type": "Interface"},
  {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:B;1", "@type": "Interface", "contents": [
    {"@type": "Telemetry", "name": "t", "schema": "doubel"}
  ]}
])");
  EXPECT_TRUE(has_only_error(bad, "unknown schema \"doubel\"", 4, "$[1].contents[0].schema"));
}

TEST(DtdlDocument, JsonSyntaxErrorsPointAtThePlace) {
  load_report r = load("{\n  \"@context\": \"dtmi:dtdl:context;3\",\n  \"@id\": ,\n}");
  EXPECT_TRUE(has_only_error(r, "invalid JSON", 3));
  EXPECT_TRUE(has_error(load("{\"a\": 1, \"a\": 2}"), "duplicate key a", 1, "$", 10));
  EXPECT_TRUE(has_error(load(""), "invalid JSON", 1));
}

// ------------------------------------------------------------------------------- @context

TEST(DtdlContext, IsRequiredOnTopLevelInterfaces) {
  load_report r = load(R"({"@id": "dtmi:test:I;1", "@type": "Interface"})");
  EXPECT_TRUE(has_only_error(r, "needs \"@context\"", 1, "$"));
  load_report in_array = load(R"([
  {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:A;1", "@type": "Interface"},
  {"@id": "dtmi:test:B;1", "@type": "Interface"}
])");
  EXPECT_TRUE(has_only_error(in_array, "needs \"@context\"", 3, "$[1]"));
}

TEST(DtdlContext, StringOrArrayOfStrings) {
  EXPECT_TRUE(loads_ok(load(interface_doc(R"("dtmi:dtdl:context;3")", ""))));
  EXPECT_TRUE(loads_ok(load(interface_doc(R"(["dtmi:dtdl:context;3"])", ""))));
  EXPECT_TRUE(loads_ok(load(interface_doc(R"(["dtmi:dtdl:context;2"])", ""))));
  EXPECT_TRUE(has_error(load(interface_doc("[]", "")), "non-empty array of strings", 1, "$.@context"));
  EXPECT_TRUE(has_error(load(interface_doc("3", "")), "@context must be a string", 1, "$.@context"));
  EXPECT_TRUE(
      has_error(load(interface_doc(R"(["dtmi:dtdl:context;3", 7])", "")), "must be a string DTMI", 1, "$.@context[1]"));
  EXPECT_TRUE(has_error(load(interface_doc(R"({"a": 1})", "")), "@context must be a string", 1));
}

TEST(DtdlContext, MustNameADtdlVersion) {
  load_report r = load(interface_doc(R"("dtmi:dtdl:extension:historization;1")", ""));
  EXPECT_TRUE(has_error(r, "does not name a DTDL version", 1, "$.@context"));
  EXPECT_TRUE(has_error(load(interface_doc(R"("dtmi:dtdl:context;4")", "")), "not supported", 1, "$.@context"));
  EXPECT_TRUE(has_error(load(interface_doc(R"("dtmi:dtdl:context;1")", "")), "not supported", 1));
}

TEST(DtdlContext, NestedEmptyContextChangesNothing) {
  // An empty @context array in a nested element leaves the outer context in force
  // (Requirement-Class*ContextConforms); at the top level it names no DTDL version.
  EXPECT_TRUE(loads_ok(load(v2(R"({"@context": [], "@type": "Property", "name": "p",
                                  "schema": {"@context": [], "@type": "Map",
                                             "mapKey": {"@context": [], "name": "k", "schema": "string"},
                                             "mapValue": {"@context": [], "name": "v", "schema": "long"}}})"))));
  EXPECT_TRUE(has_error(load(interface_doc("[]", "")), "non-empty array of strings", 1, "$.@context"));
}

TEST(DtdlContext, ValuesMustBeDtmisWithAVersion) {
  EXPECT_TRUE(has_error(load(interface_doc(R"(["dtmi:dtdl:context;3", "https://example.com/ctx"])", "")),
                        "is not a valid DTMI", 1, "$.@context[1]"));
  EXPECT_TRUE(has_error(load(interface_doc(R"(["dtmi:dtdl:context;3", "dtmi:com:example:ext"])", "")),
                        "needs a version", 1, "$.@context[1]"));
  EXPECT_TRUE(has_error(load(interface_doc(R"("dtmi:dtdl:context")", "")), "needs a version", 1));
  std::string long_ctx = "dtmi:com:" + std::string(2040, 'x') + ";1";
  ASSERT_GT(long_ctx.size(), 2048u);
  load_report r = load(interface_doc("[\"dtmi:dtdl:context;3\", \"" + long_ctx + "\"]", ""),
                       registry_options{.allow_unknown_extensions = true});
  EXPECT_TRUE(has_error(r, "2048", 1, "$.@context[1]"));
}

TEST(DtdlContext, V3ContextMustPrecedeExtensions) {
  load_report r = load(interface_doc(R"(["dtmi:dtdl:extension:historization;1", "dtmi:dtdl:context;3"])", ""));
  EXPECT_TRUE(has_only_error(r, "must come before extension contexts", 1, "$.@context[1]"));
  EXPECT_TRUE(loads_ok(load(interface_doc(R"(["dtmi:dtdl:context;3", "dtmi:dtdl:extension:historization;1"])", ""))));
}

TEST(DtdlContext, OtherDtdlContextsMayPrecedeTheV3One) {
  // The spec allows (but discourages) earlier dtmi:dtdl:context values; the last one wins.
  model_registry reg;
  std::string contents = R"({"@type": "Property", "name": "p",
                             "schema": {"@type": "Array", "elementSchema": "long"}})";
  std::string context = R"(["dtmi:dtdl:context;2", "dtmi:dtdl:context;3"])";
  EXPECT_TRUE(loads_ok(reg.load({{"a.json", interface_doc(context, contents)}})));
  ASSERT_NE(reg.find(std::string(k_id)), nullptr);
  EXPECT_EQ(reg.find(std::string(k_id))->version, dtdl_version::v3);
  // The same holds when v2 is the last one: the DTDL v2 specification sets no order, and the
  // language's conformance cases accept it (Recommendation-ContextDtdlOnlyOneV2).
  model_registry reg2;
  EXPECT_TRUE(
      loads_ok(reg2.load({{"b.json", interface_doc(R"(["dtmi:dtdl:context;3", "dtmi:dtdl:context;2"])", "")}})));
  ASSERT_NE(reg2.find(std::string(k_id)), nullptr);
  EXPECT_EQ(reg2.find(std::string(k_id))->version, dtdl_version::v2);
}

TEST(DtdlContext, V2ContextFirstExceptAfterIotCentral) {
  EXPECT_TRUE(loads_ok(load(interface_doc(R"(["dtmi:dtdl:context;2", "dtmi:iotcentral:context;2"])", ""))));
  EXPECT_TRUE(loads_ok(load(interface_doc(R"(["dtmi:iotcentral:context;2", "dtmi:dtdl:context;2"])", ""))));
  registry_options lenient{.allow_unknown_extensions = true};
  load_report r = load(interface_doc(R"(["dtmi:com:example:ext;1", "dtmi:dtdl:context;2"])", ""), lenient);
  EXPECT_TRUE(has_only_error(r, "must come before extension contexts", 1, "$.@context[1]"));
}

TEST(DtdlContext, RepeatedValuesAreTolerated) {
  EXPECT_TRUE(loads_ok(load(interface_doc(R"(["dtmi:dtdl:context;3", "dtmi:dtdl:context;3"])", ""))));
  EXPECT_TRUE(loads_ok(load(interface_doc(
      R"(["dtmi:dtdl:context;3", "dtmi:dtdl:extension:historization;1", "dtmi:dtdl:extension:historization;1"])",
      ""))));
}

TEST(DtdlContext, UnknownExtensionRejectedByDefault) {
  std::string doc = interface_doc(R"(["dtmi:dtdl:context;3", "dtmi:com:example:flavors;1"])", R"(
{"@type": ["Property", "Flavor"], "name": "flavoring", "schema": "string", "sweetness": 3}
)");
  load_report r = load(doc);
  EXPECT_TRUE(has_error(r, "unknown extension context \"dtmi:com:example:flavors;1\"", 1, "$.@context[1]"));
  EXPECT_TRUE(has_error(r, "Doppel supports", 1));
}

TEST(DtdlContext, UnknownExtensionAcceptedWhenAllowed) {
  std::string doc = interface_doc(R"(["dtmi:dtdl:context;3", "dtmi:com:example:flavors;1"])", R"(
{"@type": ["Property", "Flavor"], "name": "flavoring", "schema": "string", "sweetness": 3}
)");
  model_registry reg(registry_options{.allow_unknown_extensions = true});
  EXPECT_TRUE(loads_ok(reg.load({{"a.json", doc}})));
  const content* c = reg.find(std::string(k_id))->find("flavoring");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->co_types, std::vector<std::string>{"Flavor"});
  // Still strict about what is wrong regardless of the extension.
  load_report r = load(interface_doc(R"(["dtmi:dtdl:context;3", "dtmi:com:example:flavors;1"])", R"(
{"@type": ["Property", "Flavor"], "name": "_bad", "schema": "string"}
)"),
                       registry_options{.allow_unknown_extensions = true});
  EXPECT_TRUE(has_only_error(r, "not a valid DTDL name", 2, "$.contents[0].name"));
}

TEST(DtdlContext, ExtensionMustMatchTheDtdlVersion) {
  EXPECT_TRUE(has_error(load(interface_doc(R"(["dtmi:dtdl:context;2", "dtmi:dtdl:extension:historization;1"])", "")),
                        "is for DTDL v3, but this element is DTDL v2", 1, "$.@context[1]"));
  EXPECT_TRUE(has_error(load(interface_doc(R"(["dtmi:dtdl:context;3", "dtmi:iotcentral:context;2"])", "")),
                        "is for DTDL v2, but this element is DTDL v3", 1, "$.@context[1]"));
}

TEST(DtdlContext, NestedContextAddsAnExtension) {
  std::string ok = v3(R"(
{"@context": "dtmi:dtdl:extension:historization;1", "@type": ["Property", "Historized"], "name": "p",
 "schema": "double"},
{"@type": "Property", "name": "q", "schema": "double"}
)");
  EXPECT_TRUE(loads_ok(load(ok)));
  // The nested context applies to that element only, not to its siblings.
  std::string bad = v3(R"(
{"@context": "dtmi:dtdl:extension:historization;1", "@type": ["Property", "Historized"], "name": "p",
 "schema": "double"},
{"@type": ["Property", "Historized"], "name": "q", "schema": "double"}
)");
  EXPECT_TRUE(has_only_error(load(bad), "needs the extension \"dtmi:dtdl:extension:historization;1\"", 4,
                             "$.contents[1].@type[1]"));
}

TEST(DtdlContext, InlineV2InterfaceInsideV3Component) {
  std::string doc = v3(R"(
{"@type": "Component", "name": "legacy", "schema": {
  "@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:Legacy;1", "@type": "Interface",
  "contents": [{"@type": ["Telemetry", "Temperature"], "name": "t", "schema": "double", "unit": "degreeCelsius"}]
}}
)");
  model_registry reg;
  EXPECT_TRUE(loads_ok(reg.load({{"a.json", doc}})));
  ASSERT_NE(reg.find("dtmi:test:Legacy;1"), nullptr);
  EXPECT_EQ(reg.find("dtmi:test:Legacy;1")->version, dtdl_version::v2);
  EXPECT_EQ(reg.find(std::string(k_id))->version, dtdl_version::v3);
  EXPECT_EQ(reg.find("dtmi:test:Legacy;1")->contents[0]->semantic_type, "Temperature");
}

TEST(DtdlContext, V2ElementsMayNotHoldV3Elements) {
  std::string doc = v2(R"(
{"@type": "Component", "name": "modern", "schema": {
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Modern;1", "@type": "Interface"
}}
)");
  EXPECT_TRUE(has_error(load(doc), "DTDL v2", 3, "$.contents[0].schema.@context"));
  // ... nor refer to them.
  std::vector<source> both = {
      {"v2.json", v2(R"({"@type": "Component", "name": "c", "schema": "dtmi:test:Modern;1"})")},
      {"v3.json", R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Modern;1", "@type": "Interface"})"}};
  EXPECT_TRUE(has_error(load(both), "DTDL v3", where{2, "$.contents[0].schema", 0, "v2.json"}));
  // The other way round is fine: v3 may use v2 interfaces.
  std::vector<source> fine = {
      {"v3.json", v3(R"({"@type": "Component", "name": "c", "schema": "dtmi:test:Old;1"})")},
      {"v2.json", R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:Old;1", "@type": "Interface"})"}};
  EXPECT_TRUE(loads_ok(load(fine)));
}

// ------------------------------------------------------------------------------------ @id

TEST(DtdlId, RequiredOnInterfaces) {
  load_report r = load(R"({"@context": "dtmi:dtdl:context;3", "@type": "Interface"})");
  EXPECT_TRUE(has_only_error(r, "needs an \"@id\"", 1, "$"));
  load_report inline_base = load(v3("", k_id, R"("extends": {"@type": "Interface"}, )"));
  EXPECT_TRUE(has_error(inline_base, "needs an \"@id\"", 1, "$.extends"));
}

TEST(DtdlId, MustBeAStringDtmi) {
  EXPECT_TRUE(has_error(load(R"({"@context": "dtmi:dtdl:context;3", "@id": ["dtmi:test:I;1"], "@type": "Interface"})"),
                        "@id must be a string DTMI", 1, "$.@id", 44));
  EXPECT_TRUE(has_error(load(v3("", "urn:test:I")), "is not a valid DTMI", 1, "$.@id"));
  EXPECT_TRUE(has_error(load(v3("", "dtmi:test:_I;1")), "is not a valid DTMI", 1, "$.@id"));
  EXPECT_TRUE(has_error(load(v3(R"({"@id": "dtmi:test:I:p;01", "@type": "Property", "name": "p", "schema": "long"})")),
                        "is not a valid DTMI", 2, "$.contents[0].@id", 9));
}

TEST(DtdlId, VersionRulesDependOnTheLanguageVersion) {
  EXPECT_TRUE(loads_ok(load(v3("", "dtmi:test:I"))));
  EXPECT_TRUE(loads_ok(load(v3("", "dtmi:test:I;2.5"))));
  EXPECT_TRUE(has_error(load(v2("", "dtmi:test:I")), "needs a version", 1, "$.@id"));
  EXPECT_TRUE(has_error(load(v2("", "dtmi:test:I;2.5")), "no minor version", 1, "$.@id"));
}

TEST(DtdlId, ReservedPrefixes) {
  EXPECT_TRUE(has_error(load(v3("", "dtmi:dtdl:mine;1")), "reserved", 1, "$.@id"));
  EXPECT_TRUE(has_error(load(v3("", "dtmi:standard:mine;1")), "reserved", 1, "$.@id"));
  EXPECT_TRUE(has_error(load(v3(R"({"@id": "dtmi:dtdl:p;1", "@type": "Property", "name": "p", "schema": "long"})")),
                        "reserved", 2, "$.contents[0].@id"));
  // Referring to built-in DTMIs is fine.
  EXPECT_TRUE(
      loads_ok(load(v3(R"({"@type": "Property", "name": "p", "schema": "dtmi:dtdl:instance:Schema:long;3"})"))));
  // A similar but not reserved prefix is fine.
  EXPECT_TRUE(loads_ok(load(v3("", "dtmi:dtdlx:mine;1"))));
}

TEST(DtdlId, InterfaceIdAtMost128Characters) {
  std::string id128 = "dtmi:test:" + std::string(116, 'a') + ";1";
  ASSERT_EQ(id128.size(), 128u);
  EXPECT_TRUE(loads_ok(load(v3("", id128))));
  std::string id129 = "dtmi:test:" + std::string(117, 'a') + ";1";
  EXPECT_TRUE(has_only_error(load(v3("", id129)), "at most 128", 1, "$.@id"));
}

TEST(DtdlId, OtherIdsAtMost2048Characters) {
  std::string id2048 = "dtmi:test:" + std::string(2036, 'a') + ";1";
  ASSERT_EQ(id2048.size(), 2048u);
  auto prop = [](const std::string& id) {
    return v3("{\"@id\": \"" + id + R"(", "@type": "Property", "name": "p", "schema": "long"})");
  };
  EXPECT_TRUE(loads_ok(load(prop(id2048))));
  std::string id2049 = "dtmi:test:" + std::string(2037, 'a') + ";1";
  EXPECT_TRUE(has_only_error(load(prop(id2049)), "at most 2048", 2, "$.contents[0].@id"));
}

TEST(DtdlId, UniqueWithinAFile) {
  load_report r = load(v3(R"(
{"@id": "dtmi:test:x;1", "@type": "Property", "name": "p", "schema": "long"},
{"@id": "dtmi:test:x;1", "@type": "Property", "name": "q", "schema": "long"}
)"));
  EXPECT_TRUE(has_only_error(r, "is defined twice (first defined at test.json:2:", 3, "$.contents[1].@id"));
  load_report same_as_interface =
      load(v3(R"({"@id": "dtmi:test:I;1", "@type": "Property", "name": "p", "schema": "long"})"));
  EXPECT_TRUE(has_error(same_as_interface, "defined twice", 2, "$.contents[0].@id"));
}

TEST(DtdlId, IdenticalRedefinitionOfAnElementIsOneElement) {
  // RealEstateCore repeats shared properties, @id included, in several interfaces.
  const char* shared = R"({"@id": "dtmi:test:name;1", "@type": "Property", "name": "name", "schema": "string"})";
  std::vector<source> files = {{"a.json", v3(shared, "dtmi:test:A;1")}, {"b.json", v3(shared, "dtmi:test:B;1")}};
  EXPECT_TRUE(loads_ok(load(files)));
  std::vector<source> differ = {
      {"a.json", v3(shared, "dtmi:test:A;1")},
      {"b.json",
       v3(R"({"@id": "dtmi:test:name;1", "@type": "Property", "name": "name", "schema": "long"})", "dtmi:test:B;1")}};
  load_report r = load(differ);
  EXPECT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "defined twice (first defined at a.json:2:", where{2, "$.contents[0].@id", 0, "b.json"}));
}

TEST(DtdlId, UniqueAcrossFiles) {
  std::vector<source> files = {{"a.json", v3("")}, {"b.json", v3("")}};
  load_report r = load(files);
  EXPECT_TRUE(has_error(r, "defined twice (first defined at a.json:1:", where{1, "$.@id", 0, "b.json"}));
}

TEST(DtdlId, UniqueAgainstLoadedModels) {
  model_registry reg;
  ASSERT_TRUE(loads_ok(reg.load({{"a.json", v3("")}})));
  load_report r = reg.load({{"b.json", v3("")}});
  EXPECT_TRUE(has_error(r, "already loaded", where{1, "$.@id", 0, "b.json"}));
  EXPECT_EQ(reg.size(), 1u);
}

// ---------------------------------------------------------------------------------- @type

TEST(DtdlType, RequiredAndMustIncludeTheMaterialType) {
  EXPECT_TRUE(has_only_error(load(R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:I;1"})"),
                             "missing \"@type\"", 1, "$"));
  load_report wrong = load(R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:I;1", "@type": "Telemetry"})");
  EXPECT_TRUE(has_error(wrong, "@type must include \"Interface\"", 1, "$.@type"));
  EXPECT_TRUE(has_error(load(v3(R"({"name": "p", "schema": "long"})")), "needs \"@type\"", 2, "$.contents[0]"));
  EXPECT_TRUE(has_error(load(v3(R"({"@type": "Thing", "name": "p", "schema": "long"})")),
                        "must be Telemetry, Property, Command, Relationship or Component", 2, "$.contents[0].@type"));
}

TEST(DtdlType, StringOrNonEmptyArrayOfStrings) {
  EXPECT_TRUE(loads_ok(load(v3(R"({"@type": ["Property"], "name": "p", "schema": "long"})"))));
  EXPECT_TRUE(has_error(load(R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:I;1", "@type": []})"),
                        "non-empty array", 1, "$.@type"));
  EXPECT_TRUE(has_error(load(R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:I;1", "@type": 3})"),
                        "@type must be a string", 1, "$.@type"));
  EXPECT_TRUE(has_error(load(v3(R"({"@type": ["Property", 3], "name": "p", "schema": "long"})")),
                        "@type values must be strings", 2, "$.contents[0].@type[1]"));
}

TEST(DtdlType, OnlyOneMaterialType) {
  load_report r = load(v3(R"({"@type": ["Property", "Telemetry"], "name": "p", "schema": "long"})"));
  EXPECT_TRUE(has_only_error(r, "@type says both Property and Telemetry", 2, "$.contents[0].@type[1]"));
  // Repeating the material type is discouraged, not invalid.
  EXPECT_TRUE(loads_ok(load(v3(R"({"@type": ["Property", "Property"], "name": "p", "schema": "long"})"))));
}

TEST(DtdlType, DtmiFormsOfTypes) {
  EXPECT_TRUE(loads_ok(load(
      R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:I;1", "@type": "dtmi:dtdl:class:Interface;3",
          "contents": [{"@type": "dtmi:dtdl:class:Property;3", "name": "p", "schema": "long"}]})")));
  EXPECT_TRUE(loads_ok(
      load(R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:I;1", "@type": "dtmi:dtdl:class:Interface;2"})")));
  // DTDL v3 may name v2 classes, but v2 knows nothing of v3.
  load_report r =
      load(R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:I;1", "@type": "dtmi:dtdl:class:Interface;3"})");
  EXPECT_TRUE(has_error(r, "@type must include \"Interface\"", 1, "$.@type"));
  EXPECT_TRUE(has_error(load(v3(R"({"@type": ["Property", "dtmi:x:_y;1"], "name": "p", "schema": "long"})")),
                        "not a valid DTMI", 2, "$.contents[0].@type[1]"));
}

TEST(DtdlType, V2UndefinedCoTypeAllowsExtraMembers) {
  std::string ok = v2(R"({"@type": ["Property", "Commercial"], "name": "p", "schema": "string", "brand": "x",
                        "ex:rating": 5, "dtmi:com:example:stars;1": 3})");
  model_registry reg;
  EXPECT_TRUE(loads_ok(reg.load({{"a.json", ok}})));
  EXPECT_EQ(reg.find(std::string(k_id))->contents[0]->co_types, std::vector<std::string>{"Commercial"});
  EXPECT_TRUE(loads_ok(load(v2(R"({"@type": ["Property", "ex:Commercial"], "name": "p", "schema": "string",
                                  "brand": "x"})"))));
  load_report bad = load(v2(R"(
{"@type": "Property", "name": "p", "schema": "string",
 "brand": "x"}
)"));
  EXPECT_TRUE(has_only_error(bad, "unknown member \"brand\" in a Property", 3, "$.contents[0].brand"));
}

TEST(DtdlType, V2ReservedTermsAreNotCoTypes) {
  EXPECT_TRUE(has_error(load(v2(R"({"@type": ["Property", "TemperatureUnit"], "name": "p", "schema": "double"})")),
                        "cannot be used on a Property", 2, "$.contents[0].@type[1]"));
  EXPECT_TRUE(has_error(load(v2(R"({"@type": ["Property", "DecimalUnit"], "name": "p", "schema": "double"})")),
                        "cannot be used on a Property", 2, "$.contents[0].@type[1]"));
  EXPECT_TRUE(has_error(load(v2(R"({"@type": ["Telemetry", "kilo"], "name": "p", "schema": "double"})")),
                        "cannot be used on a Telemetry", 2, "$.contents[0].@type[1]"));
}

TEST(DtdlType, V3IsStrictAboutUndefinedTerms) {
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": ["Property", "Commercial"], "name": "p", "schema": "string"})")),
                             "unknown @type term \"Commercial\"", 2, "$.contents[0].@type[1]"));
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": ["Property", "ex:Commercial"], "name": "p", "schema": "string"})")),
                             "unknown @type term", 2, "$.contents[0].@type[1]"));
  load_report member = load(v3(R"(
{"@type": "Property", "name": "p", "schema": "string",
  "brand": "x", "ex:rating": 1, "dtmi:com:example:stars;1": 3, "dtmi:bad:_x;1": 0}
)"));
  EXPECT_EQ(member.errors.size(), 4u) << all_errors(member);
  EXPECT_TRUE(has_error(member, "unknown member \"brand\"", 3, "$.contents[0].brand", 12));
  EXPECT_TRUE(has_error(member, "unknown member \"ex:rating\"", 3, "$.contents[0][\"ex:rating\"]"));
  EXPECT_TRUE(has_error(member, "unknown member \"dtmi:com:example:stars;1\"", 3));
  EXPECT_TRUE(has_error(member, "unknown member \"dtmi:bad:_x;1\"", 3));
  EXPECT_TRUE(
      has_error(load(v3(R"({"@type": "Property", "name": "p", "schema": "string", "languageMajorVersion": 3})")),
                "member \"languageMajorVersion\" does not belong", 2));
}

TEST(DtdlType, UnknownKeywords) {
  std::string v3_doc = v3(R"({"@type": "Property", "name": "p", "schema": "string", "@foo": 1})");
  EXPECT_TRUE(has_only_error(load(v3_doc), "keyword \"@foo\" is not allowed", 2, "$.contents[0][\"@foo\"]"));
  EXPECT_TRUE(loads_ok(load(v2(R"({"@type": "Property", "name": "p", "schema": "string", "@foo": 1})"))));
  EXPECT_TRUE(has_only_error(load(v2(R"({"@type": "Property", "name": "p", "schema": "string", "@graph": []})")),
                             "keyword \"@graph\" is not allowed", 2));
  EXPECT_TRUE(has_error(load(v3("", k_id, R"("@language": "en", )")), "keyword \"@language\"", 1));
}

TEST(DtdlType, MemberNamesMayBeDtmis) {
  EXPECT_TRUE(loads_ok(load(v3(R"({"@type": "Property", "dtmi:dtdl:property:name;3": "p",
                                  "dtmi:dtdl:property:schema;3": "string"})"))));
  EXPECT_TRUE(loads_ok(load(v2(R"({"@type": "Property", "dtmi:dtdl:property:name;2": "p", "schema": "string"})"))));
  load_report both = load(v3(R"({"@type": "Property", "name": "p", "dtmi:dtdl:property:name;3": "q",
                                 "schema": "string"})"));
  EXPECT_TRUE(has_error(both, "member \"name\" is given twice", 2));
}

// ----------------------------------------------------------------- single-valued members

TEST(DtdlSingleValued, OneElementArraysAreAccepted) {
  model_registry reg;
  EXPECT_TRUE(loads_ok(reg.load({{"a.json", v3(R"(
{"@type": "Property", "name": ["p"], "schema": ["double"], "writable": [true], "comment": ["c"]},
{"@type": "Relationship", "name": "r", "maxMultiplicity": [3], "target": ["dtmi:test:T;1"]},
{"@type": "Command", "name": "c", "request": [{"name": "x", "schema": "long"}]}
)")}})));
  const interface* i = reg.find(std::string(k_id));
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->find("p")->type->primitive, primitive_kind::double_);
  EXPECT_TRUE(i->find("p")->writable);
  EXPECT_EQ(i->find("p")->comment, "c");
  EXPECT_EQ(i->find("r")->max_multiplicity, 3);
  EXPECT_EQ(i->find("r")->target, "dtmi:test:T;1");
  ASSERT_TRUE(i->find("c")->request);
  EXPECT_EQ(i->find("c")->request->name, "x");
}

TEST(DtdlSingleValued, TwoElementArraysAreRejected) {
  load_report r = load(v3(R"(
{"@type": "Property", "name": "p", "schema": ["double", "long"]},
{"@type": "Property", "name": ["q", "r"], "schema": "long"},
{"@type": "Property", "name": "w", "schema": "long", "writable": [true, false]},
{"@type": "Relationship", "name": "rel", "target": ["dtmi:test:A;1", "dtmi:test:B;1"]}
)"));
  EXPECT_EQ(r.errors.size(), 4u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "schema takes one value, not 2", 2, "$.contents[0].schema"));
  EXPECT_TRUE(has_error(r, "name takes one value, not 2", 3, "$.contents[1].name"));
  EXPECT_TRUE(has_error(r, "writable takes one value, not 2", 4, "$.contents[2].writable"));
  EXPECT_TRUE(has_error(r, "target takes one value, not 2", 5, "$.contents[3].target"));
}

TEST(DtdlSingleValued, EmptyArrayForARequiredMember) {
  EXPECT_TRUE(has_error(load(v3(R"({"@type": "Property", "name": "p", "schema": []})")), "schema needs a value", 2,
                        "$.contents[0].schema"));
}

TEST(DtdlSingleValued, SetValuedMembersTakeASingleValue) {
  model_registry reg;
  EXPECT_TRUE(loads_ok(reg.load({{"a.json", R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:I;1",
      "@type": "Interface", "contents": {"@type": "Property", "name": "p", "schema": "long"},
      "extends": {"@id": "dtmi:test:Base;1", "@type": "Interface"},
      "schemas": {"@id": "dtmi:test:E;1", "@type": "Enum", "valueSchema": "string",
                  "enumValues": {"name": "a", "enumValue": "A"}}})"}})));
  const interface* i = reg.find("dtmi:test:I;1");
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->own_contents.size(), 1u);
  EXPECT_EQ(i->extends.size(), 1u);
  ASSERT_EQ(i->schemas.size(), 1u);
  EXPECT_EQ(i->schemas[0]->values.size(), 1u);
}

// ------------------------------------------------------------- representational literals

TEST(DtdlLiteral, ValueObjectsStandForTheirValue) {
  model_registry reg;
  EXPECT_TRUE(loads_ok(reg.load({{"a.json", v3(R"(
{"@type": "Property", "name": {"@value": "p", "@type": "xsd:string"}, "schema": "long",
 "writable": {"@value": true, "@type": "http://www.w3.org/2001/XMLSchema#boolean"},
 "comment": {"@value": "hi"}},
{"@type": "Relationship", "name": "r", "maxMultiplicity": {"@value": 4, "@type": "xsd:integer"}},
{"@type": "Property", "name": "e", "schema": {"@type": "Enum", "valueSchema": "integer",
 "enumValues": [{"name": "one", "enumValue": {"@value": 1}}]}}
)")}})));
  const interface* i = reg.find(std::string(k_id));
  ASSERT_NE(i->find("p"), nullptr);
  EXPECT_TRUE(i->find("p")->writable);
  EXPECT_EQ(i->find("p")->comment, "hi");
  EXPECT_EQ(i->find("r")->max_multiplicity, 4);
  EXPECT_EQ(i->find("e")->type->values[0].integer_value, 1);
}

TEST(DtdlLiteral, ValueMustHaveTheRightType) {
  load_report r = load(v3(R"(
{"@type": "Property", "name": "p", "schema": "long", "writable": {"@value": "yes"}},
{"@type": "Property", "name": {"@value": 7}, "schema": "long"}
)"));
  EXPECT_TRUE(has_error(r, "writable must be true or false, not a string", 2, "$.contents[0].writable"));
  EXPECT_TRUE(has_error(r, "name must be a string", 3, "$.contents[1].name"));
}

TEST(DtdlLiteral, OnlyKeywordMembers) {
  load_report v3_extra =
      load(v3(R"({"@type": "Property", "name": {"@value": "p", "@language": "en"}, "schema": "long"})"));
  EXPECT_TRUE(has_error(v3_extra, "may only hold @value and @type", 2, "$.contents[0].name"));
  load_report plain_key = load(v2(R"({"@type": "Property", "name": {"@value": "p", "x": 1}, "schema": "long"})"));
  EXPECT_TRUE(has_error(plain_key, "may only hold @value and @type", 2, "$.contents[0].name"));
  load_report id_key =
      load(v2(R"({"@type": "Property", "name": {"@value": "p", "@id": "dtmi:a;1"}, "schema": "long"})"));
  EXPECT_TRUE(has_error(id_key, "not \"@id\"", 2, "$.contents[0].name"));
  // DTDL v2 tolerates other keywords there.
  EXPECT_TRUE(loads_ok(load(v2(R"({"@type": "Property", "name": {"@value": "p", "@language": "en"},
                                  "schema": "long"})"))));
}

// ------------------------------------------------------------------------------- batches

TEST(DtdlBatch, ReportsManyErrorsInOneRun) {
  std::vector<source> files = {
      {"a.json", v3(R"(
{"@type": "Telemetry", "name": "t1", "schema": "doubel"},
{"@type": "Property", "name": "1p", "schema": "long"},
{"@type": "Relationship", "name": "r", "minMultiplicity": 1}
)",
                    "dtmi:test:A;1")},
      {"b.json", v2(R"(
{"@type": "Property", "name": "p", "schema": {"@type": "Array", "elementSchema": "long"}}
)",
                    "dtmi:test:B;1", R"("extends": "dtmi:test:Missing;1", )")},
  };
  load_report r = load(files);
  EXPECT_TRUE(has_error(r, "unknown schema", where{2, "$.contents[0].schema", 0, "a.json"}));
  EXPECT_TRUE(has_error(r, "not a valid DTDL name", where{3, "$.contents[1].name", 0, "a.json"}));
  EXPECT_TRUE(has_error(r, "minMultiplicity must be 0", where{4, "$.contents[2].minMultiplicity", 0, "a.json"}));
  EXPECT_TRUE(has_error(r, "not defined in any loaded model", where{1, "$.extends", 0, "b.json"}));
  EXPECT_TRUE(has_error(r, "contains an Array", where{2, "$.contents[0]", 0, "b.json"}));
  EXPECT_EQ(r.errors.size(), 5u) << all_errors(r);
}

TEST(DtdlBatch, FailedBatchLeavesTheRegistryUnchanged) {
  model_registry reg;
  ASSERT_TRUE(loads_ok(
      reg.load({{"base.json", v3(R"({"@type": "Property", "name": "p", "schema": "long"})", "dtmi:test:Base;1")}})));
  load_report bad =
      reg.load({{"good.json", v3("", "dtmi:test:Good;1")},
                {"bad.json", v3(R"({"@type": "Property", "name": "p", "schema": "nope"})", "dtmi:test:Bad;1")}});
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.interfaces, 0u);
  EXPECT_EQ(reg.size(), 1u);
  EXPECT_EQ(reg.find("dtmi:test:Good;1"), nullptr);
  EXPECT_EQ(reg.find("dtmi:test:Bad;1"), nullptr);
  // The ids of the failed batch are not taken: the same good file loads afterwards.
  EXPECT_TRUE(loads_ok(reg.load({{"good.json", v3("", "dtmi:test:Good;1")}})));
  EXPECT_EQ(reg.size(), 2u);
}

TEST(DtdlBatch, LaterBatchesMayUseEarlierInterfaces) {
  model_registry reg;
  ASSERT_TRUE(loads_ok(
      reg.load({{"base.json", v3(R"({"@type": "Property", "name": "p", "schema": "long"})", "dtmi:test:Base;1")}})));
  load_report r = reg.load({{"derived.json", v3(R"({"@type": "Component", "name": "c", "schema": "dtmi:test:Base;1"})",
                                                "dtmi:test:Derived;1", R"("extends": "dtmi:test:Base;1", )")}});
  EXPECT_TRUE(loads_ok(r));
  const interface* d = reg.find("dtmi:test:Derived;1");
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->is_a("dtmi:test:Base;1"));
  EXPECT_NE(d->find("p"), nullptr);
  EXPECT_EQ(d->find("c")->component, reg.find("dtmi:test:Base;1"));
  // Name clashes with contents inherited from an earlier batch are still found.
  load_report clash = reg.load({{"clash.json", v3(R"({"@type": "Telemetry", "name": "p", "schema": "long"})",
                                                  "dtmi:test:Clash;1", R"("extends": "dtmi:test:Base;1", )")}});
  EXPECT_TRUE(has_error(clash, "already inherited from dtmi:test:Base;1", where{2, "$.contents[0]", 0, "clash.json"}));
}

std::vector<std::string> messages(const load_report& r) {
  std::vector<std::string> out;
  for (const auto& d : r.errors) out.push_back(d.file + ":" + std::to_string(d.line) + ": " + d.message);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(DtdlBatch, LoadOrderDoesNotMatter) {
  std::vector<source> files = {
      {"derived.json", v3(R"({"@type": "Component", "name": "part", "schema": "dtmi:test:Part;1"})",
                          "dtmi:test:Derived;1", R"("extends": ["dtmi:test:Mid;1"], )")},
      {"mid.json", v3(R"({"@type": "Property", "name": "m", "schema": "long"})", "dtmi:test:Mid;1",
                      R"("extends": "dtmi:test:Root;1", )")},
      {"root.json", v3(R"({"@type": "Telemetry", "name": "r", "schema": "double"})", "dtmi:test:Root;1")},
      {"part.json",
       v3(R"({"@type": "Relationship", "name": "owner", "target": "dtmi:test:Derived;1"})", "dtmi:test:Part;1")},
  };
  std::vector<std::size_t> order = {0, 1, 2, 3};
  std::string first;
  do {
    std::vector<source> batch;
    for (std::size_t k : order) batch.push_back(files[k]);
    model_registry reg;
    ASSERT_TRUE(loads_ok(reg.load(batch)));
    const interface* d = reg.find("dtmi:test:Derived;1");
    ASSERT_NE(d, nullptr);
    std::string shape;
    for (const content* c : d->contents) shape += c->name + ",";
    for (const interface* a : d->ancestors) shape += a->id + ",";
    if (first.empty()) first = shape;
    EXPECT_EQ(shape, first);
    EXPECT_EQ(shape, "r,m,part,dtmi:test:Root;1,dtmi:test:Mid;1,");
  } while (std::next_permutation(order.begin(), order.end()));

  // Errors too: the same set whatever the order.
  std::vector<source> bad = files;
  bad[2].text = v3(R"({"@type": "Telemetry", "name": "m", "schema": "double"})", "dtmi:test:Root;1");
  std::vector<std::string> expected = messages(load(bad));
  EXPECT_EQ(expected.size(), 1u);
  std::reverse(bad.begin(), bad.end());
  EXPECT_EQ(messages(load(bad)), expected);
  std::swap(bad[0], bad[2]);
  EXPECT_EQ(messages(load(bad)), expected);
}

}  // namespace
}  // namespace doppel::model
