// Members common to DTDL elements: name, displayName, description, comment (localizable and
// representational strings, language tags, length limits per language version).
#include "model/registry.h"

#include <gtest/gtest.h>

#include <string>

#include "dtdl_test_util.h"

namespace doppel::model {
namespace {

using namespace testing;

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string property_named(const std::string& name) {
  return "{\"@type\": \"Property\", \"name\": \"" + name + "\", \"schema\": \"long\"}";
}

// ---------------------------------------------------------------------------------- name

TEST(DtdlName, MustMatchTheNamePattern) {
  EXPECT_TRUE(loads_ok(load(v3(R"({"@type": "Property", "name": "a_B9", "schema": "long"})"))));
  for (const char* bad : {"_a", "a_", "9a", "a-b", "a b", "a.b", "\xc3\xa9t\xc3\xa9", ""}) {
    load_report r = load(v3(R"(
{"@type": "Property",
 "name": ")" + std::string(bad) +
                            R"(", "schema": "long"}
)"));
    EXPECT_TRUE(has_only_error(r, "is not a valid DTDL name", 3, "$.contents[0].name")) << bad;
  }
}

TEST(DtdlName, IsRequiredAndAString) {
  EXPECT_TRUE(
      has_only_error(load(v3(R"({"@type": "Property", "schema": "long"})")), "needs a \"name\"", 2, "$.contents[0]"));
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Property", "name": 5, "schema": "long"})")),
                             "name must be a string, not an integer", 2, "$.contents[0].name"));
  EXPECT_TRUE(has_error(load(v3(R"({"@type": "Command"})")), "needs a \"name\"", 2));
  EXPECT_TRUE(has_error(load(v3(R"({"@type": "Relationship"})")), "needs a \"name\"", 2));
  EXPECT_TRUE(has_error(load(v3(R"({"@type": "Component", "schema": "dtmi:test:I;1"})")), "needs a \"name\"", 2));
}

TEST(DtdlName, AtMost64CharactersInV2) {
  EXPECT_TRUE(loads_ok(load(v2(property_named(std::string(64, 'n'))))));
  load_report r = load(v2(property_named(std::string(65, 'n'))));
  EXPECT_TRUE(has_only_error(r, "name is 65 characters long; DTDL v2 allows at most 64", 2, "$.contents[0].name"));
}

TEST(DtdlName, AtMost512CharactersInV3) {
  EXPECT_TRUE(loads_ok(load(v3(property_named(std::string(512, 'n'))))));
  load_report r = load(v3(property_named(std::string(513, 'n'))));
  EXPECT_TRUE(has_only_error(r, "name is 513 characters long; DTDL v3 allows at most 512", 2, "$.contents[0].name"));
}

TEST(DtdlName, UniqueAmongContents) {
  load_report r = load(v3(R"(
{"@type": "Property", "name": "x", "schema": "long"},
{"@type": "Telemetry", "name": "x", "schema": "long"}
)"));
  EXPECT_TRUE(has_only_error(r, "name \"x\" is used twice in the contents of dtmi:test:I;1", 3, "$.contents[1]"));
  // Names are case-sensitive.
  EXPECT_TRUE(loads_ok(load(v3(R"(
{"@type": "Property", "name": "x", "schema": "long"},
{"@type": "Telemetry", "name": "X", "schema": "long"}
)"))));
}

TEST(DtdlName, UniqueAmongRelationshipProperties) {
  std::string ok = v3(R"(
{"@type": "Relationship", "name": "r", "properties": [
  {"@type": "Property", "name": "a", "schema": "long"},
  {"@type": "Property", "name": "b", "schema": "long"}]},
{"@type": "Property", "name": "a", "schema": "long"}
)");
  EXPECT_TRUE(loads_ok(load(ok)));  // a relationship's properties are a scope of their own
  load_report r = load(v3(R"(
{"@type": "Relationship", "name": "r", "properties": [
  {"@type": "Property", "name": "a", "schema": "long"},
  {"@type": "Property", "name": "a", "schema": "long"}]}
)"));
  EXPECT_TRUE(has_only_error(r, "Relationship property name \"a\" is used twice", 4, "$.contents[0].properties[1]"));
}

TEST(DtdlName, UniqueAmongObjectFieldsAndEnumValues) {
  load_report fields = load(v3(R"(
{"@type": "Property", "name": "p", "schema": {"@type": "Object", "fields": [
  {"name": "f", "schema": "long"},
  {"name": "f", "schema": "string"}]}}
)"));
  EXPECT_TRUE(has_only_error(fields, "field name \"f\" is used twice", 4, "$.contents[0].schema.fields[1]"));
  load_report values = load(v3(R"(
{"@type": "Property", "name": "p", "schema": {"@type": "Enum", "valueSchema": "string", "enumValues": [
  {"name": "v", "enumValue": "a"},
  {"name": "v", "enumValue": "b"}]}}
)"));
  EXPECT_TRUE(has_only_error(values, "enum value name \"v\" is used twice", 4, "$.contents[0].schema.enumValues[1]"));
}

TEST(DtdlName, NoUniquenessForPayloadsAndMapParts) {
  EXPECT_TRUE(loads_ok(load(v3(R"(
{"@type": "Command", "name": "c", "request": {"name": "x", "schema": "long"},
 "response": {"name": "x", "schema": "long"}},
{"@type": "Property", "name": "m", "schema": {"@type": "Map", "mapKey": {"name": "k", "schema": "string"},
                                              "mapValue": {"name": "k", "schema": "long"}}},
{"@type": "Property", "name": "o", "schema": {"@type": "Object", "fields": [{"name": "c", "schema": "long"}]}}
)"))));
}

// ------------------------------------------------------------ displayName / description

TEST(DtdlLocalized, ThreeForms) {
  model_registry reg;
  ASSERT_TRUE(loads_ok(reg.load({{"a.json", v3(R"(
{"@type": "Property", "name": "a", "schema": "long", "displayName": "Alpha"},
{"@type": "Property", "name": "b", "schema": "long", "displayName": {"en": "Beta", "de": "Beta de", "zh-Hans": "B",
                                                                     "es-419": "Beta", "sr-Latn-RS": "Beta"}},
{"@type": "Property", "name": "c", "schema": "long",
 "displayName": ["Gamma", {"@value": "Gamma fr", "@language": "fr"}]},
{"@type": "Property", "name": "d", "schema": "long", "displayName": [{"@value": "Delta"}]},
{"@type": "Property", "name": "e", "schema": "long", "description": [{"@value": "Eps", "@language": "en-US"},
                                                                     {"@value": "Eps", "@language": "es-ES"}]}
)")}})));
  const interface* i = reg.find(std::string(k_id));
  EXPECT_EQ(i->find("a")->display_name.text(), "Alpha");
  EXPECT_EQ(i->find("b")->display_name.text("de"), "Beta de");
  EXPECT_EQ(i->find("b")->display_name.values.size(), 5u);
  EXPECT_EQ(i->find("b")->display_name.text("it"), "Beta");  // falls back to English
  EXPECT_EQ(i->find("c")->display_name.text("fr"), "Gamma fr");
  EXPECT_EQ(i->find("c")->display_name.text(), "Gamma");
  EXPECT_EQ(i->find("d")->display_name.text(), "Delta");
  EXPECT_EQ(i->find("e")->description.text("en-US"), "Eps");
  EXPECT_EQ(i->find("e")->description.values.size(), 2u);
}

TEST(DtdlLocalized, LanguageTagsMustBeValid) {
  for (const char* bad : {"EN", "en-us", "e", "english", "en_US", "en-USA", "zh-hans", "en-1"}) {
    load_report r = load(v3(R"(
{"@type": "Property", "name": "p", "schema": "long",
 "displayName": {")" + std::string(bad) +
                            R"(": "x"}}
)"));
    EXPECT_TRUE(has_only_error(r, "language tag \"" + std::string(bad) + "\" is not valid", 3)) << bad;
  }
  load_report in_array = load(v3(R"(
{"@type": "Property", "name": "p", "schema": "long",
 "description": [{"@value": "x", "@language": "EN"}]}
)"));
  EXPECT_TRUE(
      has_only_error(in_array, "@language must be a language tag", 3, "$.contents[0].description[0][\"@language\"]"));
}

TEST(DtdlLocalized, MapValuesMustBeStrings) {
  load_report r = load(v3(R"(
{"@type": "Property", "name": "p", "schema": "long",
 "displayName": {"en": 5}}
)"));
  EXPECT_TRUE(
      has_only_error(r, "displayName text must be a string, not an integer", 3, "$.contents[0].displayName.en"));
}

TEST(DtdlLocalized, ValueObjectOutsideAnArrayIsInvalid) {
  load_report r = load(v3(R"(
{"@type": "Property", "name": "p", "schema": "long",
 "displayName": {"@value": "x", "@language": "en"}}
)"));
  EXPECT_TRUE(has_only_error(r, "must be inside an array", 3, "$.contents[0].displayName"));
}

TEST(DtdlLocalized, LanguageMapInsideAnArrayIsInvalid) {
  load_report r = load(v3(R"(
{"@type": "Property", "name": "p", "schema": "long",
 "displayName": [{"en": "x"}]}
)"));
  EXPECT_TRUE(has_error(r, "needs \"@value\"", 3, "$.contents[0].displayName[0]"));
}

TEST(DtdlLocalized, AtMostOneDefaultText) {
  for (const char* bad :
       {R"(["a", "b"])", R"(["a", {"@value": "b"}])", R"([{"@value": "a", "@language": "en"}, "b"])"}) {
    load_report r = load(v3(R"(
{"@type": "Property", "name": "p", "schema": "long",
 "displayName": )" + std::string(bad) +
                            "}"));
    EXPECT_TRUE(has_only_error(r, "more than one English/default text", 3, "$.contents[0].displayName[1]")) << bad;
  }
  // en-US is not the default: it may stand next to a plain string.
  EXPECT_TRUE(loads_ok(load(v3(R"({"@type": "Property", "name": "p", "schema": "long",
                                  "displayName": ["a", {"@value": "b", "@language": "en-US"}]})"))));
}

TEST(DtdlLocalized, LanguagesUniqueWithinAnArray) {
  load_report r = load(v3(R"(
{"@type": "Property", "name": "p", "schema": "long", "displayName": [
  {"@value": "a", "@language": "de"},
  {"@value": "b", "@language": "de"}]}
)"));
  EXPECT_TRUE(has_only_error(r, "gives language \"de\" twice", 4, "$.contents[0].displayName[1]"));
}

TEST(DtdlLocalized, ArrayItemsAreStringsOrValueObjects) {
  load_report r = load(v3(R"(
{"@type": "Property", "name": "p", "schema": "long", "displayName": [
  7,
  {"@value": 8, "@language": "de"}]}
)"));
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "entries must be strings or", 3, "$.contents[0].displayName[0]"));
  EXPECT_TRUE(has_error(r, "text must be a string, not an integer", 4, "$.contents[0].displayName[1]"));
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Property", "name": "p", "schema": "long", "description": true})")),
                             "must be a string, a language map or an array of texts, not a boolean", 2,
                             "$.contents[0].description"));
}

TEST(DtdlLocalized, ValueObjectMembersDependOnVersion) {
  std::string extra = R"({"@type": "Property", "name": "p", "schema": "long",
                          "displayName": [{"@value": "a", "@language": "de", "@direction": "ltr"}]})";
  EXPECT_TRUE(has_only_error(load(v3(extra)), "may only hold @value and @language", 3,
                             "$.contents[0].displayName[0][\"@direction\"]"));
  EXPECT_TRUE(loads_ok(load(v2(extra))));  // discouraged in v2, not invalid
  EXPECT_TRUE(has_error(load(v2(R"({"@type": "Property", "name": "p", "schema": "long",
                                    "displayName": [{"@value": "a", "@id": "dtmi:x;1"}]})")),
                        "not \"@id\"", 3));
  EXPECT_TRUE(has_error(load(v2(R"({"@type": "Property", "name": "p", "schema": "long",
                                    "displayName": [{"@value": "a", "lang": "de"}]})")),
                        "not \"lang\"", 3));
}

TEST(DtdlLocalized, DisplayNameLimitDependsOnVersion) {
  auto with_display_name = [](const std::string& text) {
    return R"({"@type": "Property", "name": "p", "schema": "long", "displayName": ")" + text + "\"}";
  };
  EXPECT_TRUE(loads_ok(load(v2(with_display_name(std::string(64, 'd'))))));
  EXPECT_TRUE(loads_ok(load(v2(with_display_name(repeat("\xc3\xa9", 64))))));  // code points, not bytes
  EXPECT_TRUE(has_only_error(load(v2(with_display_name(std::string(65, 'd')))),
                             "displayName is 65 characters long; DTDL v2 allows at most 64", 2,
                             "$.contents[0].displayName"));
  EXPECT_TRUE(loads_ok(load(v3(with_display_name(std::string(512, 'd'))))));
  EXPECT_TRUE(has_only_error(load(v3(with_display_name(std::string(513, 'd')))), "DTDL v3 allows at most 512", 2,
                             "$.contents[0].displayName"));
  // The limit applies to each language's text.
  load_report map = load(v2(R"({"@type": "Property", "name": "p", "schema": "long",
                               "displayName": {"en": "ok", "de": ")" +
                            std::string(65, 'd') + "\"}}"));
  EXPECT_TRUE(has_only_error(map, "at most 64", 3, "$.contents[0].displayName.de"));
}

TEST(DtdlLocalized, DescriptionAtMost512InBothVersions) {
  auto with_description = [](const std::string& text) {
    return R"({"@type": "Property", "name": "p", "schema": "long", "description": ")" + text + "\"}";
  };
  for (bool v2_doc : {true, false}) {
    auto doc = [&](const std::string& c) { return v2_doc ? v2(c) : v3(c); };
    EXPECT_TRUE(loads_ok(load(doc(with_description(std::string(512, 'd'))))));
    EXPECT_TRUE(has_only_error(load(doc(with_description(std::string(513, 'd')))), "description is 513 characters long",
                               2, "$.contents[0].description"));
  }
}

// -------------------------------------------------------------------------------- comment

TEST(DtdlComment, RepresentationalStringAtMost512) {
  auto with_comment = [](const std::string& json) {
    return R"({"@type": "Property", "name": "p", "schema": "long", "comment": )" + json + "}";
  };
  EXPECT_TRUE(loads_ok(load(v3(with_comment("\"" + std::string(512, 'c') + "\"")))));
  EXPECT_TRUE(loads_ok(load(v2(with_comment("[\"c\"]")))));
  EXPECT_TRUE(loads_ok(load(v3(with_comment(R"({"@value": "c", "@type": "xsd:string"})")))));
  EXPECT_TRUE(has_only_error(load(v3(with_comment("\"" + std::string(513, 'c') + "\""))),
                             "comment is 513 characters long", 2, "$.contents[0].comment"));
  EXPECT_TRUE(has_only_error(load(v2(with_comment("\"" + std::string(513, 'c') + "\""))), "allows at most 512", 2,
                             "$.contents[0].comment"));
  EXPECT_TRUE(has_only_error(load(v3(with_comment(R"({"en": "not localizable"})"))),
                             "comment must be a string, not an object", 2, "$.contents[0].comment"));
  EXPECT_TRUE(has_only_error(load(v3(with_comment(R"(["a", "b"])"))), "comment takes one value, not 2", 2,
                             "$.contents[0].comment"));
}

TEST(DtdlValueObject, TypeMustBeTheMembersDatatype) {
  // {"@value": x, "@type": t}: t is xsd:<datatype> or its full IRI, alone or as a one-item array
  // (Requirement-Representational{Boolean,Integer,String}Type*).
  auto rel = [](const std::string& max) {
    return R"({"@type": "Relationship", "name": "r", "maxMultiplicity": )" + max + "}";
  };
  EXPECT_TRUE(loads_ok(load(v3(rel(R"({"@value": 3, "@type": "xsd:integer"})")))));
  EXPECT_TRUE(loads_ok(load(v3(rel(R"({"@value": 3, "@type": ["http://www.w3.org/2001/XMLSchema#integer"]})")))));
  EXPECT_TRUE(loads_ok(load(v2(rel(R"({"@value": 3})")))));
  for (std::string bad : {R"("integer")", R"("xsd:string")", "626", "null", R"(["xsd:integer", "xsd:integer"])",
                          R"({"@value": "xsd:integer"})"}) {
    EXPECT_TRUE(has_only_error(load(v3(rel(R"({"@value": 3, "@type": )" + bad + "}"))),
                               "this value object's @type must be \"xsd:integer\"", 2, "$.contents[0].maxMultiplicity"))
        << bad;
  }
  EXPECT_TRUE(has_only_error(load(v2(R"({"@type": "Property", "name": "p", "schema": "long",
                                          "writable": {"@value": true, "@type": "boolean"}})")),
                             "must be \"xsd:boolean\"", 3));
}

// ------------------------------------------------------------------- on every element kind

TEST(DtdlCommon, EveryElementAcceptsCommonMembers) {
  std::string common = R"("displayName": "D", "description": {"en": "E"}, "comment": "C")";
  std::string doc =
      R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:I;1", "@type": "Interface", )" + common +
      R"(, "schemas": [{"@id": "dtmi:test:S;1", "@type": "Array", "elementSchema": "long", )" + common +
      R"(}], "contents": [
  {"@type": "Telemetry", "name": "t", "schema": "long", )" +
      common + R"(},
  {"@type": "Property", "name": "p", )" +
      common + R"(, "schema": {"@type": "Map", )" + common + R"(, "mapKey": {"name": "k", "schema": "string", )" +
      common + R"(}, "mapValue": {"name": "v", "schema": "long", )" + common + R"(}}},
  {"@type": "Command", "name": "c", )" +
      common + R"(, "request": {"name": "q", "schema": "long", )" + common +
      R"(}, "response": {"name": "r", "schema": {"@type": "Object", )" + common +
      R"(, "fields": [{"name": "f", "schema": "long", )" + common + R"(}]}}},
  {"@type": "Relationship", "name": "rel", )" +
      common + R"(, "properties": [{"@type": "Property", "name": "rp",
    "schema": {"@type": "Enum", "valueSchema": "integer", )" +
      common + R"(, "enumValues": [{"name": "one", "enumValue": 1, )" + common + R"(}]}, )" + common + R"(}]},
  {"@type": "Component", "name": "comp", "schema": {"@id": "dtmi:test:C;1", "@type": "Interface", )" +
      common + R"(}, )" + common + R"(}
]})";
  model_registry reg;
  ASSERT_TRUE(loads_ok(reg.load({{"a.json", doc}})));
  const interface* i = reg.find("dtmi:test:I;1");
  EXPECT_EQ(i->display_name.text(), "D");
  EXPECT_EQ(i->description.text(), "E");
  EXPECT_EQ(i->comment, "C");
  EXPECT_EQ(i->schemas[0]->comment, "C");
  EXPECT_EQ(i->find("p")->type->map_key.display_name.text(), "D");
  EXPECT_EQ(i->find("c")->response->type->fields[0].description.text(), "E");
  EXPECT_EQ(i->find("rel")->properties[0]->type->values[0].comment, "C");
  EXPECT_EQ(i->find("comp")->component->comment, "C");
}

TEST(DtdlCommon, LimitsApplyOnNestedElements) {
  std::string long_text = "\"" + std::string(513, 'x') + "\"";
  load_report r = load(v3(R"(
{"@type": "Property", "name": "p", "schema": {"@type": "Object", "fields": [
  {"name": "f", "schema": "long", "description": )" +
                          long_text + R"(}]}},
{"@type": "Property", "name": "q", "schema": {"@type": "Enum", "valueSchema": "string", "enumValues": [
  {"name": "e", "enumValue": "E", "comment": )" +
                          long_text + R"(}]}}
)"));
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "description is 513 characters long", 3, "$.contents[0].schema.fields[0].description"));
  EXPECT_TRUE(has_error(r, "comment is 513 characters long", 5, "$.contents[1].schema.enumValues[0].comment"));
}

}  // namespace
}  // namespace doppel::model
