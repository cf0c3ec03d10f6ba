// Semantic types and units (native in DTDL v2, the QuantitativeTypes extension in v3) and the
// other extensions: historization, annotation, overriding, mqtt, requirement, IoT Central v2.
#include "model/registry.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <string>
#include <vector>

#include "dtdl_test_util.h"

namespace doppel::model {
namespace {

using namespace testing;

constexpr std::string_view k_qt = "dtmi:dtdl:extension:quantitativeTypes;1";
constexpr std::string_view k_historization = "dtmi:dtdl:extension:historization;1";
constexpr std::string_view k_mqtt = "dtmi:dtdl:extension:mqtt;1";
constexpr std::string_view k_requirement = "dtmi:dtdl:extension:requirement;1";
constexpr std::string_view k_iotc = R"(["dtmi:dtdl:context;2", "dtmi:iotcentral:context;2"])";
constexpr std::string_view k_annotation_overriding =
    R"(["dtmi:dtdl:context;3", "dtmi:dtdl:extension:quantitativeTypes;1", "dtmi:dtdl:extension:annotation;1",
        "dtmi:dtdl:extension:overriding;1"])";

const interface* load_into(model_registry& reg, const std::string& doc) {
  EXPECT_TRUE(loads_ok(reg.load({{std::string(k_file), doc}})));
  return reg.find(std::string(k_id));
}

// --------------------------------------------------------------------- v2 semantic types

TEST(DtdlSemanticV2, TelemetryAndPropertyWithUnits) {
  model_registry reg;
  const interface* i = load_into(reg, v2(R"(
{"@type": ["Telemetry", "Temperature"], "name": "t", "schema": "double", "unit": "degreeCelsius"},
{"@type": ["Property", "dtmi:standard:class:Pressure;2"], "name": "p", "schema": "float",
 "dtmi:dtdl:property:unit;2": "dtmi:standard:unit:kilopascal;2"},
{"@type": ["Telemetry", "Distance"], "name": "d", "schema": "dtmi:dtdl:instance:Schema:long;2", "unit": ["metre"]},
{"@type": ["Telemetry", "RelativeHumidity"], "name": "h", "schema": "integer", "unit": "percent"}
)"));
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->find("t")->semantic_type, "Temperature");
  EXPECT_EQ(i->find("t")->unit, "degreeCelsius");
  EXPECT_EQ(i->find("t")->co_types, std::vector<std::string>{"Temperature"});
  EXPECT_EQ(i->find("p")->semantic_type, "Pressure");
  EXPECT_EQ(i->find("p")->unit, "kilopascal");
  EXPECT_EQ(i->find("d")->unit, "metre");
  EXPECT_EQ(i->find("h")->unit, "percent");
}

TEST(DtdlSemanticV2, UnitIsRequiredAndMustFit) {
  EXPECT_TRUE(has_only_error(load(v2(R"({"@type": ["Telemetry", "Temperature"], "name": "t", "schema": "double"})")),
                             "semantic type \"Temperature\" needs a \"unit\"", 2, "$.contents[0]"));
  load_report r = load(v2(R"(
{"@type": ["Telemetry", "Temperature"], "name": "t", "schema": "double",
 "unit": "metre"},
{"@type": ["Telemetry", "Temperature"], "name": "u", "schema": "double",
 "unit": "furlong"},
{"@type": ["Telemetry", "Temperature"], "name": "v", "schema": "double",
 "unit": "dtmi:standard:unit:kelvin;3"}
)"));
  EXPECT_EQ(r.errors.size(), 3u) << all_errors(r);
  EXPECT_TRUE(
      has_error(r, "unit \"metre\" is not a unit of TemperatureUnit (for Temperature)", 3, "$.contents[0].unit"));
  EXPECT_TRUE(has_error(r, "degreeCelsius", 3));  // the hint lists the right units
  EXPECT_TRUE(has_error(r, "unit \"furlong\" is not a unit", 5, "$.contents[1].unit"));
  EXPECT_TRUE(has_error(r, "unit \"dtmi:standard:unit:kelvin;3\" is not a unit", 7));
}

TEST(DtdlSemanticV2, SchemaMustBeNumeric) {
  load_report r = load(v2(R"(
{"@type": ["Telemetry", "Temperature"], "name": "t", "unit": "kelvin",
 "schema": "string"},
{"@type": ["Property", "Temperature"], "name": "p", "unit": "kelvin",
 "schema": {"@type": "Enum", "valueSchema": "integer", "enumValues": [{"name": "a", "enumValue": 1}]}}
)"));
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "semantic type \"Temperature\" needs a numeric schema", 3, "$.contents[0].schema"));
  EXPECT_TRUE(has_error(r, "needs a numeric schema", 5, "$.contents[1].schema"));
}

TEST(DtdlSemanticV2, OnlyOnTelemetryAndProperty) {
  load_report r = load(v2(R"(
{"@type": ["Command", "Temperature"], "name": "c"},
{"@type": ["Relationship", "Temperature"], "name": "r"},
{"@type": "Property", "name": "o", "schema": {"@type": "Object", "fields": [
  {"@type": ["Field", "Temperature"], "name": "f", "schema": "double", "unit": "kelvin"}]}}
)"));
  EXPECT_TRUE(has_error(r, "semantic type \"Temperature\" cannot be used on a Command", 2, "$.contents[0].@type[1]"));
  EXPECT_TRUE(has_error(r, "cannot be used on a Relationship", 3, "$.contents[1].@type[1]"));
  EXPECT_TRUE(has_error(r, "cannot be used on a Field", 5));
  EXPECT_TRUE(has_error(r, "DTDL v2 allows semantic types on Telemetry and Property only", 2));
}

TEST(DtdlSemanticV2, AtMostOneSemanticType) {
  load_report r = load(v2(R"(
{"@type": ["Telemetry", "Distance", "Length"], "name": "t", "schema": "double", "unit": "metre"}
)"));
  EXPECT_TRUE(has_only_error(r, "an element may have one semantic type; it has \"Distance\" and \"Length\"", 2,
                             "$.contents[0].@type[2]"));
}

TEST(DtdlSemanticV2, TheSameSemanticTypeTwiceIsOne) {
  // @type is a set: a repeat, or the term beside its DTMI, names one semantic type
  // (Recommendation-ClassPropertyDuplicateSemanticTypesV2, ...SemanticTypeTermAndDtmiV2).
  model_registry reg;
  ASSERT_TRUE(loads_ok(reg.load({{std::string(k_file), v2(R"(
{"@type": ["Telemetry", "Length", "dtmi:standard:class:Length;2"], "name": "t", "schema": "double", "unit": "metre"},
{"@type": ["Property", "Length", "Length"], "name": "p", "schema": "double", "unit": "metre"}
)")}})));
  const content* t = reg.find(std::string(k_id))->find("t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->semantic_type, "Length");
  EXPECT_EQ(std::count(t->co_types.begin(), t->co_types.end(), "Length"), 1);
}

TEST(DtdlCoTypesV2, UndefinedTermsOnlyNotDtmisOrDtdlTerms) {
  // DTDL v2 is open-world for plain terms, but a DTMI that names no DTDL type, or a DTDL term for
  // a value (a schema, a member name), is no type (Completion-Class*TypeIncludesIrrelevantDtmiOrTerm).
  EXPECT_TRUE(loads_ok(load(v2(R"({"@type": ["Property", "Foobar"], "name": "p", "schema": "long"})"))));
  EXPECT_TRUE(
      loads_ok(load(v2(R"({"@type": ["Property", "http://example.com/Thing"], "name": "p", "schema": "long"})"))));
  EXPECT_TRUE(has_only_error(load(v2(R"({"@type": ["Property", "dtmi:foo:bar;1"], "name": "p", "schema": "long"})")),
                             "co-type \"dtmi:foo:bar;1\" is a DTMI that names no DTDL v2 type", 2,
                             "$.contents[0].@type[1]"));
  EXPECT_TRUE(has_only_error(load(v2(R"({"@type": ["Property", "boolean"], "name": "p", "schema": "long"})")),
                             "\"boolean\" is a DTDL v2 term for a value or a member, not a type", 2,
                             "$.contents[0].@type[1]"));
  EXPECT_TRUE(has_only_error(load(v2(R"({"@type": ["Property", "schema"], "name": "p", "schema": "long"})")),
                             "\"schema\" is a DTDL v2 term", 2));
}

TEST(DtdlSemanticV2, UnitNeedsASemanticType) {
  EXPECT_TRUE(has_only_error(load(v2(R"({"@type": "Telemetry", "name": "t", "schema": "double", "unit": "kelvin"})")),
                             "unit is only allowed together with a semantic type", 2, "$.contents[0].unit"));
  // An informally co-typed element may carry it as an undefined member.
  EXPECT_TRUE(loads_ok(load(v2(R"({"@type": ["Telemetry", "Reading"], "name": "t", "schema": "double",
                                  "unit": "kelvin"})"))));
}

// ----------------------------------------------------------------- v3 QuantitativeTypes

TEST(DtdlSemanticV3, NeedsTheQuantitativeTypesExtension) {
  std::string contents = R"({"@type": ["Telemetry", "Temperature"], "name": "t", "schema": "double",
                             "unit": "degreeCelsius"})";
  load_report r = load(v3(contents));
  EXPECT_TRUE(
      has_error(r, "semantic type \"Temperature\" needs the QuantitativeTypes extension", 2, "$.contents[0].@type[1]"));
  model_registry reg;
  const interface* i = load_into(reg, v3_with(k_qt, contents));
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->find("t")->semantic_type, "Temperature");
  EXPECT_EQ(i->find("t")->unit, "degreeCelsius");
  // The extension is for DTDL v3 only.
  EXPECT_TRUE(
      has_error(load(interface_doc(R"(["dtmi:dtdl:context;2", "dtmi:dtdl:extension:quantitativeTypes;1"])", "")),
                "is for DTDL v3", 1));
}

TEST(DtdlSemanticV3, DtmiFormsAndNewTypes) {
  model_registry reg;
  const interface* i = load_into(reg, v3_with(k_qt, R"(
{"@type": ["Telemetry", "dtmi:dtdl:extension:quantitativeTypes:v1:class:Temperature"], "name": "t",
 "schema": "double", "dtmi:dtdl:extension:quantitativeTypes:v1:property:unit":
 "dtmi:dtdl:extension:quantitativeTypes:v1:unit:kelvin"},
{"@type": ["Property", "ApparentPower"], "name": "s", "schema": "double", "unit": "kilovoltAmpere"}
)"));
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->find("t")->semantic_type, "Temperature");
  EXPECT_EQ(i->find("t")->unit, "kelvin");
  EXPECT_EQ(i->find("s")->semantic_type, "ApparentPower");
  // ApparentPower is new in QuantitativeTypes: DTDL v2 does not know it.
  EXPECT_TRUE(loads_ok(load(v2(R"({"@type": ["Property", "ApparentPower"], "name": "s", "schema": "double",
                                  "unit": "kilovoltAmpere"})"))));  // an undefined (informal) co-type in v2
  EXPECT_TRUE(has_error(load(v2(R"({"@type": ["Property", "ApparentPower"], "name": "s", "schema": "double",
                                   "writable": 3})")),
                        "writable must be true or false", 3));
}

TEST(DtdlSemanticV3, MoreElementKindsThanV2) {
  EXPECT_TRUE(loads_ok(load(v3_with(k_qt, R"(
{"@type": "Command", "name": "c",
 "request": {"@type": ["CommandRequest", "Temperature"], "name": "set", "schema": "double", "unit": "kelvin"},
 "response": {"@type": ["CommandResponse", "Temperature"], "name": "got", "schema": "double", "unit": "kelvin"}},
{"@type": "Property", "name": "o", "schema": {"@type": "Object", "fields": [
  {"@type": ["Field", "Length"], "name": "f", "schema": "double", "unit": "metre"}]}},
{"@type": "Property", "name": "m", "schema": {"@type": "Map", "mapKey": {"name": "k", "schema": "string"},
  "mapValue": {"@type": ["MapValue", "Mass"], "name": "v", "schema": "float", "unit": "kilogram"}}}
)"))));
  load_report r = load(v3_with(k_qt, R"(
{"@type": ["Relationship", "Temperature"], "name": "r"},
{"@type": "Property", "name": "m", "schema": {"@type": "Map",
  "mapKey": {"@type": ["MapKey", "Temperature"], "name": "k", "schema": "string"},
  "mapValue": {"name": "v", "schema": "float"}}}
)"));
  EXPECT_TRUE(has_error(r, "semantic type \"Temperature\" cannot be used on a Relationship", 2));
  EXPECT_TRUE(has_error(r, "cannot be used on a MapKey", 4, "$.contents[1].schema.mapKey.@type[1]"));
}

TEST(DtdlSemanticV3, UnitAndSchemaRules) {
  load_report r = load(v3_with(k_qt, R"(
{"@type": ["Telemetry", "Temperature"], "name": "a", "schema": "double"},
{"@type": ["Telemetry", "Temperature"], "name": "b", "schema": "double", "unit": "metre"},
{"@type": ["Telemetry", "Temperature"], "name": "c", "schema": "boolean", "unit": "kelvin"},
{"@type": ["Telemetry", "Temperature", "Length"], "name": "d", "schema": "double", "unit": "kelvin"},
{"@type": "Telemetry", "name": "e", "schema": "double", "unit": "kelvin"}
)"));
  EXPECT_EQ(r.errors.size(), 5u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "needs a \"unit\"", 2, "$.contents[0]"));
  EXPECT_TRUE(has_error(r, "unit \"metre\" is not a unit of TemperatureUnit", 3, "$.contents[1].unit"));
  EXPECT_TRUE(has_error(r, "needs a numeric schema", 4, "$.contents[2].schema"));
  EXPECT_TRUE(has_error(r, "an element may have one semantic type", 5, "$.contents[3].@type[2]"));
  EXPECT_TRUE(has_error(r, "unit is only allowed together with a semantic type", 6, "$.contents[4].unit"));
  // Two semantic types of the same unit type are fine.
  EXPECT_TRUE(loads_ok(load(v3_with(k_qt, R"({"@type": ["Telemetry", "Distance", "Length"], "name": "d",
                                              "schema": "double", "unit": "metre"})"))));
}

TEST(DtdlSemanticV3, UnitTypesAreSchemasWithTheExtension) {
  model_registry reg;
  const interface* i =
      load_into(reg, v3_with(k_qt, R"({"@type": "Property", "name": "u", "schema": "TemperatureUnit"})"));
  ASSERT_NE(i, nullptr);
  const schema* s = i->find("u")->type;
  EXPECT_EQ(s->type, schema::kind::enumeration);
  EXPECT_EQ(s->value_schema, primitive_kind::string);
  bool has_kelvin = false;
  for (const auto& v : s->values) has_kelvin = has_kelvin || v.string_value == "kelvin";
  EXPECT_TRUE(has_kelvin);
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Property", "name": "u", "schema": "TemperatureUnit"})")),
                             "unknown schema \"TemperatureUnit\"", 2));
}

// --------------------------------------------------------------------------- historization

TEST(DtdlHistorization, HistorizedOnPropertyAndTelemetry) {
  model_registry reg;
  const interface* i = load_into(reg, v3_with(k_historization, R"(
{"@type": ["Property", "Historized"], "name": "p", "schema": "double"},
{"@type": ["Telemetry", "dtmi:dtdl:extension:historization:v1:Historized"], "name": "t", "schema": "double"}
)"));
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->find("p")->co_types, std::vector<std::string>{"Historized"});
  EXPECT_EQ(i->find("t")->co_types, std::vector<std::string>{"Historized"});
  load_report r = load(v3_with(k_historization, R"(
{"@type": ["Command", "Historized"], "name": "c"},
{"@type": ["Property", "Historized"], "name": "p", "schema": "double", "interval": "PT1M"}
)"));
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "co-type \"Historized\" cannot be used on a Command", 2, "$.contents[0].@type[1]"));
  EXPECT_TRUE(has_error(r, "unknown member \"interval\" in a Property", 3));
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": ["Property", "Historized"], "name": "p", "schema": "double"})")),
                             "co-type \"Historized\" needs the extension \"dtmi:dtdl:extension:historization;1\"", 2));
}

// ------------------------------------------------------------------ initialization

TEST(DtdlInitialization, InitialValueConformsToTheSchema) {
  constexpr std::string_view k_init = "dtmi:dtdl:extension:initialization;1";
  model_registry reg;
  const interface* i = load_into(reg, v3_with(k_init, R"(
{"@type": ["Initialized", "Property"], "name": "tags", "schema": {"@type": "Array", "elementSchema": "string"},
 "initialValue": ["Sensor", "Point"]},
{"@type": ["Property", "Initialized"], "name": "setPoint", "writable": true, "schema": "double", "initialValue": 21.5}
)"));
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->find("tags")->initial_value, R"(["Sensor","Point"])");
  EXPECT_EQ(i->find("setPoint")->initial_value, "21.5");
  // DTDL v2 may use the extension too.
  EXPECT_TRUE(loads_ok(load(interface_doc(R"(["dtmi:dtdl:context;2", "dtmi:dtdl:extension:initialization;1"])",
                                          R"({"@type": ["Property", "Initialized"], "name": "p", "schema": "integer",
 "initialValue": 3})"))));
  load_report r = load(v3_with(k_init, R"(
{"@type": ["Property", "Initialized"], "name": "a", "schema": "integer", "initialValue": "three"},
{"@type": ["Property", "Initialized"], "name": "b", "schema": "integer"},
{"@type": ["Telemetry", "Initialized"], "name": "c", "schema": "integer", "initialValue": 1}
)"));
  EXPECT_EQ(r.errors.size(), 4u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "unknown member \"initialValue\" in a Telemetry", 4));
  EXPECT_TRUE(
      has_error(r, "initialValue is not a valid integer: expected an integer", 2, "$.contents[0].initialValue"));
  EXPECT_TRUE(has_error(r, "needs \"initialValue\"", 3, "$.contents[1]"));
  EXPECT_TRUE(has_error(r, "co-type \"Initialized\" cannot be used on a Telemetry", 4));
  EXPECT_TRUE(has_error(load(v3(R"({"@type": ["Property", "Initialized"], "name": "p", "schema": "double",
 "initialValue": 1})")),
                        "needs the extension \"dtmi:dtdl:extension:initialization;1\"", 2));
}

// ------------------------------------------------------------------ annotation, overriding

TEST(DtdlAnnotation, AnnotatesASiblingPropertyOrTelemetry) {
  std::string ok = interface_doc(R"(["dtmi:dtdl:context;3", "dtmi:dtdl:extension:annotation;1"])", R"(
{"@type": "Telemetry", "name": "temp", "schema": "double"},
{"@type": ["Property", "ValueAnnotation"], "name": "tempNote", "schema": "string", "annotates": "temp"},
{"@type": ["Telemetry", "ValueAnnotation"], "name": "baseNote", "schema": "string", "annotates": "fromBase"}
)",
                                 k_id, R"("extends": "dtmi:test:Base;1", )");
  std::string base = v3(R"({"@type": "Property", "name": "fromBase", "schema": "long"})", "dtmi:test:Base;1");
  EXPECT_TRUE(loads_ok(load({{"test.json", ok}, {"base.json", base}})));
  load_report r = load(interface_doc(R"(["dtmi:dtdl:context;3", "dtmi:dtdl:extension:annotation;1"])", R"(
{"@type": "Command", "name": "cmd"},
{"@type": ["Property", "ValueAnnotation"], "name": "a", "schema": "string", "annotates": "nothing"},
{"@type": ["Property", "ValueAnnotation"], "name": "b", "schema": "string", "annotates": "cmd"},
{"@type": ["Property", "ValueAnnotation"], "name": "c", "schema": "string"},
{"@type": ["Command", "ValueAnnotation"], "name": "d"}
)"));
  EXPECT_EQ(r.errors.size(), 4u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "annotates \"nothing\" does not name a Property or Telemetry of the same interface", 3,
                        "$.contents[1].annotates"));
  EXPECT_TRUE(has_error(r, "annotates \"cmd\" does not name", 4));
  EXPECT_TRUE(has_error(r, "missing required member \"annotates\"", 5));
  EXPECT_TRUE(has_error(r, "co-type \"ValueAnnotation\" cannot be used on a Command", 6));
}

TEST(DtdlOverriding, OverrideAnExtensionProperty) {
  std::string ok = interface_doc(k_annotation_overriding, R"(
{"@type": ["Telemetry", "Temperature"], "name": "temp", "schema": "double", "unit": "degreeCelsius"},
{"@type": ["Property", "ValueAnnotation", "Override"], "name": "tempUnit", "annotates": "temp",
 "overrides": "unit", "schema": "TemperatureUnit", "writable": true}
)");
  model_registry reg;
  const interface* i = load_into(reg, ok);
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->find("tempUnit")->co_types, (std::vector<std::string>{"ValueAnnotation", "Override"}));
  load_report r = load(interface_doc(k_annotation_overriding, R"(
{"@type": "Telemetry", "name": "temp", "schema": "double"},
{"@type": ["Property", "Override"], "name": "a", "annotates": "temp", "overrides": "unit", "schema": "string"},
{"@type": ["Property", "ValueAnnotation", "Override"], "name": "b", "annotates": "temp", "schema": "string"}
)"));
  EXPECT_EQ(r.errors.size(), 3u) << all_errors(r);
  // (The @context of these documents takes two lines: contents start on line 3.)
  EXPECT_TRUE(has_error(r, "an Override must also be a ValueAnnotation", 4, "$.contents[1]"));
  EXPECT_TRUE(has_error(r, "unknown member \"annotates\"", 4));
  EXPECT_TRUE(has_error(r, "missing required member \"overrides\"", 5, "$.contents[2]"));
  // The overriding extension builds on the annotation extension.
  EXPECT_TRUE(has_error(load(v3_with("dtmi:dtdl:extension:overriding;1", "")),
                        "the overriding extension needs the annotation extension", 1, "$.@context"));
}

// ------------------------------------------------------------------------------------ mqtt

TEST(DtdlMqtt, InterfaceAndCommandTypes) {
  std::string doc = R"({"@context": ["dtmi:dtdl:context;3", "dtmi:dtdl:extension:mqtt;1"], "@id": "dtmi:test:I;1",
  "@type": ["Interface", "Mqtt"], "payloadFormat": "json", "telemetryTopic": "t/{senderId}", "commandTopic": "c",
  "contents": [
    {"@type": ["Command", "Idempotent"], "name": "a"},
    {"@type": ["Command", "Cacheable"], "name": "b", "ttl": "PT10S"},
    {"@type": ["Telemetry", "Indexed"], "name": "t1", "schema": "double", "index": 1},
    {"@type": ["Telemetry", "Indexed"], "name": "t2", "index": 2, "schema": {"@type": "Object", "fields": [
      {"@type": ["Field", "Indexed"], "name": "x", "schema": "long", "index": 1},
      {"@type": ["Field", "Indexed"], "name": "y", "schema": "long", "index": 2}]}},
    {"@type": "Property", "name": "e", "schema": {"@type": "Enum", "valueSchema": "string", "enumValues": [
      {"@type": ["EnumValue", "Indexed"], "name": "on", "enumValue": "on", "index": 1}]}}
  ]})";
  model_registry reg;
  ASSERT_TRUE(loads_ok(reg.load({{"a.json", doc}})));
  EXPECT_EQ(reg.find("dtmi:test:I;1")->co_types, std::vector<std::string>{"Mqtt"});
}

TEST(DtdlMqtt, MemberRules) {
  std::string doc = R"({"@context": ["dtmi:dtdl:context;3", "dtmi:dtdl:extension:mqtt;1"], "@id": "dtmi:test:I;1",
  "@type": ["Interface", "Mqtt"], "payloadFormat": "xml",
  "contents": [
    {"@type": ["Command", "Cacheable"], "name": "b", "ttl": "10 seconds"},
    {"@type": ["Command", "Cacheable"], "name": "c"},
    {"@type": ["Telemetry", "Indexed"], "name": "t0", "schema": "double", "index": 0},
    {"@type": ["Telemetry", "Indexed"], "name": "t1", "schema": "double", "index": 1},
    {"@type": ["Telemetry", "Indexed"], "name": "t2", "schema": "double", "index": 1},
    {"@type": ["Property", "Indexed"], "name": "p", "schema": "double", "index": 3}
  ]})";
  load_report r = load(doc);
  EXPECT_EQ(r.errors.size(), 7u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "payloadFormat \"xml\" is not one the mqtt extension defines", 2, "$.payloadFormat"));
  EXPECT_TRUE(has_error(r, "ttl must be an ISO 8601 duration", 4, "$.contents[0].ttl"));
  EXPECT_TRUE(has_error(r, "missing required member \"ttl\"", 5));
  EXPECT_TRUE(has_error(r, "index must be 1 or more", 6, "$.contents[2].index"));
  EXPECT_TRUE(has_error(r, "index 1 is used twice", 8, "$.contents[4].index"));
  EXPECT_TRUE(has_error(r, "co-type \"Indexed\" cannot be used on a Property", 9));
  EXPECT_TRUE(has_error(r, "unknown member \"index\" in a Property", 9));
  load_report missing = load(R"({"@context": ["dtmi:dtdl:context;3", "dtmi:dtdl:extension:mqtt;1"],
    "@id": "dtmi:test:I;1", "@type": ["Interface", "Mqtt"]})");
  EXPECT_TRUE(has_only_error(missing, "missing required member \"payloadFormat\"", 1, "$"));
  load_report fields = load(v3_with(k_mqtt, R"(
{"@type": "Property", "name": "o", "schema": {"@type": "Object", "fields": [
  {"@type": ["Field", "Indexed"], "name": "x", "schema": "long", "index": 4},
  {"@type": ["Field", "Indexed"], "name": "y", "schema": "long", "index": 4}]}}
)"));
  EXPECT_TRUE(has_only_error(fields, "index 4 is used twice", 4, "$.contents[0].schema.fields[1].index"));
}

// ----------------------------------------------------------------------------- requirement

TEST(DtdlRequirement, RequiredFields) {
  model_registry reg;
  const interface* i = load_into(reg, v3_with(k_requirement, R"(
{"@type": "Property", "name": "o", "schema": {"@type": "Object", "fields": [
  {"@type": ["Field", "Required"], "name": "id", "schema": "string"},
  {"name": "note", "schema": "string"}]}}
)"));
  ASSERT_NE(i, nullptr);
  const schema* o = i->find("o")->type;
  EXPECT_TRUE(o->fields[0].required);
  EXPECT_FALSE(o->fields[1].required);
  EXPECT_TRUE(has_only_error(load(v3_with(k_requirement, R"({"@type": ["Property", "Required"], "name": "p",
                                                          "schema": "string"})")),
                             "co-type \"Required\" cannot be used on a Property", 2));
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Property", "name": "o", "schema": {"@type": "Object", "fields": [
                                          {"@type": ["Field", "Required"], "name": "id", "schema": "string"}]}})")),
                             "needs the extension \"dtmi:dtdl:extension:requirement;1\"", 3));
}

// ----------------------------------------------------------------------- IoT Central (v2)

TEST(DtdlIotCentral, SchemasAndTypes) {
  model_registry reg;
  const interface* i = load_into(reg, interface_doc(k_iotc, R"(
{"@type": ["Telemetry", "Location"], "name": "where", "schema": "geopoint"},
{"@type": ["Telemetry", "VelocityVector"], "name": "speed", "schema": "vector", "unit": "metrePerSecond"},
{"@type": ["Telemetry", "AccelerationVector"], "name": "acc", "schema": "dtmi:iotcentral:schema:vector;2"},
{"@type": ["Telemetry", "Event"], "name": "ev", "schema": "string"},
{"@type": ["Property", "State"], "name": "st", "schema": {"@type": "Enum", "valueSchema": "integer",
  "enumValues": [{"name": "on", "enumValue": 1}]}},
{"@type": ["Property", "Location"], "name": "home", "schema": "dtmi:iotcentral:schema:geopoint;2"}
)"));
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->find("where")->type->primitive, primitive_kind::geopoint);
  EXPECT_EQ(i->find("speed")->type->primitive, primitive_kind::vector);
  EXPECT_EQ(i->find("speed")->unit, "metrePerSecond");
  EXPECT_EQ(i->find("acc")->type->primitive, primitive_kind::vector);
  EXPECT_EQ(i->find("st")->co_types, std::vector<std::string>{"State"});
}

TEST(DtdlIotCentral, SchemaRulesOfTheTypes) {
  load_report r = load(interface_doc(k_iotc, R"(
{"@type": ["Telemetry", "State"], "name": "a", "schema": "integer"},
{"@type": ["Telemetry", "Event"], "name": "b", "schema": "boolean"},
{"@type": ["Telemetry", "Location"], "name": "c", "schema": "double"},
{"@type": ["Telemetry", "VelocityVector"], "name": "d", "schema": "geopoint"},
{"@type": ["Telemetry", "VelocityVector"], "name": "e", "schema": "vector", "unit": "kelvin"},
{"@type": ["Command", "Event"], "name": "f"}
)"));
  EXPECT_EQ(r.errors.size(), 6u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "co-type \"State\" needs the schema to be an Enum, not integer", 2, "$.contents[0].schema"));
  EXPECT_TRUE(has_error(r, "co-type \"Event\" needs the schema to be double, float, integer, long or string", 3));
  EXPECT_TRUE(has_error(r, "co-type \"Location\" needs the schema to be geopoint or a geospatial schema", 4));
  EXPECT_TRUE(has_error(r, "co-type \"VelocityVector\" needs the schema to be vector, not geopoint", 5));
  EXPECT_TRUE(has_error(r, "unit \"kelvin\" is not a unit of VelocityUnit", 6, "$.contents[4].unit"));
  EXPECT_TRUE(has_error(r, "co-type \"Event\" cannot be used on a Command", 7));
}

TEST(DtdlIotCentral, TermsNeedTheContext) {
  EXPECT_TRUE(has_only_error(load(v2(R"({"@type": "Telemetry", "name": "where", "schema": "geopoint"})")),
                             "unknown schema \"geopoint\"", 2));
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Telemetry", "name": "v", "schema": "vector"})")),
                             "unknown schema \"vector\"", 2));
}

}  // namespace
}  // namespace doppel::model
