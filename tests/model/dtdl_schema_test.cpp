// Schemas: primitives and geospatial terms, Array, Enum, Map, Object, reusable `schemas` and
// references to them, nesting depth, cycles, the DTDL v2 Property restrictions and v3 limits.
#include "model/registry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dtdl_test_util.h"

namespace doppel::model {
namespace {

using namespace testing;

std::string prop(const std::string& schema_json, const std::string& name = "p") {
  return R"({"@type": "Property", "name": ")" + name + R"(", "schema": )" + schema_json + "}";
}
std::string telemetry(const std::string& schema_json, const std::string& name = "t") {
  return R"({"@type": "Telemetry", "name": ")" + name + R"(", "schema": )" + schema_json + "}";
}
std::string json_string(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string nested_arrays(int levels) {
  std::string s = "\"boolean\"";
  for (int k = 0; k < levels; ++k) s = R"({"@type": "Array", "elementSchema": )" + s + "}";
  return s;
}
std::string nested_objects(int levels) {
  std::string s = "\"boolean\"";
  for (int k = 0; k < levels; ++k) s = R"({"@type": "Object", "fields": [{"name": "f", "schema": )" + s + "}]}";
  return s;
}
std::string nested_maps(int levels) {
  std::string s = "\"boolean\"";
  for (int k = 0; k < levels; ++k) {
    s = R"({"@type": "Map", "mapKey": {"name": "k", "schema": "string"}, "mapValue": {"name": "v", "schema": )" + s +
        "}}";
  }
  return s;
}

const schema* schema_of(model_registry& reg, const std::string& doc, const std::string& name = "p") {
  load_report r = reg.load({{std::string(k_file), doc}});
  EXPECT_TRUE(loads_ok(r));
  const interface* i = reg.find(std::string(k_id));
  if (!i || !i->find(name)) return nullptr;
  return i->find(name)->type;
}

// ------------------------------------------------------------------------------ primitives

TEST(DtdlSchemaPrimitive, AllTenPrimitivesAsTermsAndDtmis) {
  const std::vector<std::pair<std::string, primitive_kind>> terms = {
      {"boolean", primitive_kind::boolean},    {"date", primitive_kind::date},
      {"dateTime", primitive_kind::date_time}, {"double", primitive_kind::double_},
      {"duration", primitive_kind::duration},  {"float", primitive_kind::float_},
      {"integer", primitive_kind::integer},    {"long", primitive_kind::long_},
      {"string", primitive_kind::string},      {"time", primitive_kind::time}};
  for (const auto& [term, kind] : terms) {
    for (const std::string& spelled :
         {term, "dtmi:dtdl:instance:Schema:" + term + ";3", "dtmi:dtdl:instance:Schema:" + term + ";2"}) {
      model_registry reg;
      const schema* s = schema_of(reg, v3(prop(json_string(spelled))));
      ASSERT_NE(s, nullptr) << spelled;
      EXPECT_EQ(s->type, schema::kind::primitive);
      EXPECT_EQ(s->primitive, kind) << spelled;
      EXPECT_EQ(s->describe(), term);
    }
    EXPECT_TRUE(loads_ok(load(v2(prop(json_string(term))))));
    EXPECT_TRUE(loads_ok(load(v2(prop(json_string("dtmi:dtdl:instance:Schema:" + term + ";2"))))));
    // A DTDL v2 element cannot use the v3 DTMIs.
    EXPECT_TRUE(has_only_error(load(v2(prop(json_string("dtmi:dtdl:instance:Schema:" + term + ";3")))),
                               "not defined in any loaded model", 2, "$.contents[0].schema"));
  }
}

TEST(DtdlSchemaPrimitive, GeospatialTerms) {
  const std::vector<std::pair<std::string, primitive_kind>> terms = {
      {"point", primitive_kind::point},
      {"multiPoint", primitive_kind::multi_point},
      {"lineString", primitive_kind::line_string},
      {"multiLineString", primitive_kind::multi_line_string},
      {"polygon", primitive_kind::polygon},
      {"multiPolygon", primitive_kind::multi_polygon}};
  for (const auto& [term, kind] : terms) {
    for (const std::string& spelled : {term, "dtmi:standard:schema:geospatial:" + term + ";3"}) {
      model_registry reg;
      const schema* s = schema_of(reg, v3(telemetry(json_string(spelled), "p")));
      ASSERT_NE(s, nullptr);
      EXPECT_EQ(s->primitive, kind);
      EXPECT_TRUE(is_geospatial(s->primitive));
    }
    EXPECT_TRUE(loads_ok(load(v2(telemetry(json_string("dtmi:standard:schema:geospatial:" + term + ";2"))))));
  }
}

TEST(DtdlSchemaPrimitive, UnknownTermsAreRejected) {
  // The extra primitives of DTDL v4 are not part of v2 or v3.
  for (const char* term :
       {"byte", "bytes", "decimal", "short", "uuid", "unsignedInteger", "unsignedLong", "Double", "doubel", "int"}) {
    load_report r = load(v3(prop(json_string(term))));
    EXPECT_TRUE(has_only_error(r, "unknown schema \"" + std::string(term) + "\"", 2, "$.contents[0].schema")) << term;
    EXPECT_TRUE(has_error(r, "use boolean, date, dateTime", 2)) << term;
  }
  EXPECT_TRUE(has_only_error(load(v3(prop("12"))), "schema must be a string or an inline schema object, not an integer",
                             2, "$.contents[0].schema"));
  EXPECT_TRUE(has_only_error(load(v3(prop(json_string("dtmi:dtdl:instance:Schema:double;4")))), "not defined", 2));
}

// ---------------------------------------------------------------------------------- Array

TEST(DtdlSchemaArray, Valid) {
  model_registry reg;
  const schema* s = schema_of(reg, v3(prop(R"({"@type": "Array", "@id": "dtmi:test:arr;1",
                                                "elementSchema": {"@type": "Array", "elementSchema": "long"}})")));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->type, schema::kind::array);
  EXPECT_EQ(s->id, "dtmi:test:arr;1");
  ASSERT_NE(s->element, nullptr);
  EXPECT_EQ(s->element->element->primitive, primitive_kind::long_);
  EXPECT_EQ(s->describe(), "Array<Array<long>>");
}

TEST(DtdlSchemaArray, NeedsOneElementSchema) {
  EXPECT_TRUE(has_only_error(load(v3(prop(R"({"@type": "Array"})"))), "an Array needs \"elementSchema\"", 2,
                             "$.contents[0].schema"));
  EXPECT_TRUE(has_only_error(load(v3(prop(R"({"@type": "Array", "elementSchema": ["long", "double"]})"))),
                             "elementSchema takes one value, not 2", 2, "$.contents[0].schema.elementSchema"));
  EXPECT_TRUE(has_only_error(load(v3(prop(R"({"@type": "Array", "elementSchema": "lng"})"))), "unknown schema", 2,
                             "$.contents[0].schema.elementSchema"));
  EXPECT_TRUE(has_only_error(load(v3(prop(R"({"@type": "Array", "elementSchema": "long", "valueSchema": "long"})"))),
                             "member \"valueSchema\" does not belong in an Array", 2));
  EXPECT_TRUE(has_only_error(load(v3(prop(R"({"elementSchema": "long"})"))),
                             "an inline schema needs \"@type\": \"Array\", \"Enum\", \"Map\" or \"Object\"", 2,
                             "$.contents[0].schema"));
}

// ----------------------------------------------------------------------------------- Enum

TEST(DtdlSchemaEnum, IntegerAndStringEnums) {
  model_registry reg;
  ASSERT_TRUE(loads_ok(reg.load({{"a.json", v3(R"(
{"@type": "Property", "name": "level", "schema": {"@type": "Enum", "valueSchema": "integer", "enumValues": [
  {"name": "low", "enumValue": 1}, {"@type": "EnumValue", "name": "high", "enumValue": -2147483648}]}},
{"@type": "Property", "name": "mode", "schema": {"@type": "Enum", "valueSchema": "dtmi:dtdl:instance:Schema:string;3",
  "enumValues": [{"name": "auto", "enumValue": "AUTO", "displayName": "Automatic"}]}},
{"@type": "Property", "name": "old", "schema": {"@type": "Enum", "valueSchema": "dtmi:dtdl:instance:Schema:string;2",
  "enumValues": [{"name": "a", "enumValue": "A"}]}}
)")}})));
  const interface* i = reg.find(std::string(k_id));
  const schema* level = i->find("level")->type;
  EXPECT_EQ(level->type, schema::kind::enumeration);
  EXPECT_EQ(level->value_schema, primitive_kind::integer);
  ASSERT_EQ(level->values.size(), 2u);
  EXPECT_EQ(level->values[1].name, "high");
  EXPECT_EQ(level->values[1].integer_value, -2147483648LL);
  const schema* mode = i->find("mode")->type;
  EXPECT_EQ(mode->value_schema, primitive_kind::string);
  EXPECT_EQ(mode->values[0].string_value, "AUTO");
  EXPECT_FALSE(mode->values[0].integer_value);
  EXPECT_EQ(mode->values[0].display_name.text(), "Automatic");
}

TEST(DtdlSchemaEnum, ValueSchemaMustBeIntegerOrString) {
  EXPECT_TRUE(has_only_error(load(v3(prop(R"({"@type": "Enum", "valueSchema": "double", "enumValues": []})"))),
                             "valueSchema must be \"integer\" or \"string\", not \"double\"", 2,
                             "$.contents[0].schema.valueSchema"));
  EXPECT_TRUE(has_only_error(load(v3(prop(R"({"@type": "Enum", "enumValues": []})"))), "an Enum needs \"valueSchema\"",
                             2, "$.contents[0].schema"));
  EXPECT_TRUE(has_error(load(v2(prop(R"({"@type": "Enum", "valueSchema": "dtmi:dtdl:instance:Schema:string;3",
                                       "enumValues": [{"name": "a", "enumValue": "A"}]})"))),
                        "valueSchema must be", 2));
}

TEST(DtdlSchemaEnum, ValuesMustMatchTheValueSchema) {
  load_report r = load(v3(R"(
{"@type": "Property", "name": "i", "schema": {"@type": "Enum", "valueSchema": "integer", "enumValues": [
  {"name": "a", "enumValue": "1"},
  {"name": "b", "enumValue": 2.5},
  {"name": "c", "enumValue": 2147483648}]}},
{"@type": "Property", "name": "s", "schema": {"@type": "Enum", "valueSchema": "string", "enumValues": [
  {"name": "a", "enumValue": 1}]}}
)"));
  EXPECT_EQ(r.errors.size(), 4u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "valueSchema is integer, so enumValue must be a 32-bit integer, not a string", 3,
                        "$.contents[0].schema.enumValues[0].enumValue"));
  EXPECT_TRUE(has_error(r, "must be a 32-bit integer, not a number", 4));
  EXPECT_TRUE(has_error(r, "must be a 32-bit integer, not an integer", 5));
  EXPECT_TRUE(has_error(r, "valueSchema is string, so enumValue must be a string, not an integer", 7,
                        "$.contents[1].schema.enumValues[0].enumValue"));
}

TEST(DtdlSchemaEnum, ValuesAndNamesUnique) {
  load_report r = load(v3(R"(
{"@type": "Property", "name": "i", "schema": {"@type": "Enum", "valueSchema": "integer", "enumValues": [
  {"name": "a", "enumValue": 1},
  {"name": "b", "enumValue": 1}]}},
{"@type": "Property", "name": "s", "schema": {"@type": "Enum", "valueSchema": "string", "enumValues": [
  {"name": "a", "enumValue": "x"},
  {"name": "b", "enumValue": "x"}]}}
)"));
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_TRUE(
      has_error(r, "enumValue 1 is used twice in this Enum", 4, "$.contents[0].schema.enumValues[1].enumValue"));
  EXPECT_TRUE(has_error(r, "enumValue \"x\" is used twice in this Enum", 7));
}

TEST(DtdlSchemaEnum, EnumValueMembers) {
  load_report r = load(v3(R"(
{"@type": "Property", "name": "i", "schema": {"@type": "Enum", "valueSchema": "integer", "enumValues": [
  {"name": "a"},
  {"enumValue": 2},
  "c",
  {"@type": "Field", "name": "d", "enumValue": 4},
  {"name": "e", "enumValue": 5, "schema": "long"}]}}
)"));
  EXPECT_EQ(r.errors.size(), 5u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "an EnumValue needs \"enumValue\"", 3, "$.contents[0].schema.enumValues[0]"));
  EXPECT_TRUE(has_error(r, "an EnumValue needs a \"name\"", 4, "$.contents[0].schema.enumValues[1]"));
  EXPECT_TRUE(has_error(r, "enumValues entries must be EnumValue objects", 5, "$.contents[0].schema.enumValues[2]"));
  EXPECT_TRUE(has_error(r, "@type must include \"EnumValue\" here, not \"Field\"", 6));
  EXPECT_TRUE(has_error(r, "member \"schema\" does not belong in an EnumValue", 7));
}

TEST(DtdlSchemaEnum, EnumValueMayNameOneDefinedElsewhereInTheInterface) {
  model_registry reg;
  load_report r = reg.load({{std::string(k_file), v3(R"(
{"@type": "Property", "name": "p", "schema": {"@type": "Enum", "valueSchema": "integer",
  "enumValues": [{"@id": "dtmi:test:on;1", "name": "on", "enumValue": 1}, {"name": "off", "enumValue": 0}]}},
{"@type": "Property", "name": "q", "schema": {"@type": "Enum", "valueSchema": "integer",
  "enumValues": ["dtmi:test:on;1"]}}
)")}});
  ASSERT_TRUE(loads_ok(r));
  const content* q = reg.find(std::string(k_id))->find("q");
  ASSERT_TRUE(q && q->type);
  ASSERT_EQ(q->type->values.size(), 1u);
  EXPECT_EQ(q->type->values[0].name, "on");
  EXPECT_EQ(q->type->values[0].integer_value, 1);
  // A string enum cannot borrow an integer value.
  EXPECT_TRUE(has_only_error(load(v3(R"(
{"@type": "Property", "name": "p", "schema": {"@type": "Enum", "valueSchema": "integer",
  "enumValues": [{"@id": "dtmi:test:on;1", "name": "on", "enumValue": 1}]}},
{"@type": "Property", "name": "q", "schema": {"@type": "Enum", "valueSchema": "string",
  "enumValues": "dtmi:test:on;1"}}
)")),
                             "is an EnumValue with an integer enumValue, but this Enum's valueSchema is string", 5));
}

TEST(DtdlSchemaEnum, EnumValueContextIsChecked) {
  // Requirement-ClassEnumValueContextConforms: an EnumValue's own @context is read like any other.
  EXPECT_TRUE(has_only_error(load(v3(prop(R"({"@type": "Enum", "valueSchema": "integer",
      "enumValues": [{"@context": 626, "name": "a", "enumValue": 1}]})"))),
                             "@context must be a string or a non-empty array of strings", 3));
  EXPECT_TRUE(has_only_error(load(v2(prop(R"({"@type": "Enum", "valueSchema": "integer",
      "enumValues": [{"@context": "dtmi:dtdl:context;3", "name": "a", "enumValue": 1}]})"))),
                             "a DTDL v2 element cannot contain DTDL v3 elements", 3));
  EXPECT_TRUE(has_only_error(load(v3(prop(R"({"@type": "Enum", "valueSchema": "integer",
      "enumValues": [{"@context": "dtmi:dtdl:context;2", "name": "a", "enumValue": 1}]})"))),
                             "an EnumValue inside a DTDL v3 element must be DTDL v3 as well", 3));
  EXPECT_TRUE(loads_ok(load(v3(prop(R"({"@type": "Enum", "valueSchema": "integer",
      "enumValues": [{"@context": [], "name": "a", "enumValue": 1}]})")))));
}

TEST(DtdlSchemaEnum, V2Needs1To100Values) {
  auto enum_with = [](std::size_t n) {
    std::string values;
    for (std::size_t k = 0; k < n; ++k) {
      values += (k ? ", " : "") + std::string(R"({"name": "v)") + std::to_string(k) + R"(", "enumValue": )" +
                std::to_string(k) + "}";
    }
    return prop(R"({"@type": "Enum", "valueSchema": "integer", "enumValues": [)" + values + "]}");
  };
  EXPECT_TRUE(loads_ok(load(v2(enum_with(1)))));
  EXPECT_TRUE(loads_ok(load(v2(enum_with(100)))));
  EXPECT_TRUE(has_only_error(load(v2(enum_with(0))), "a DTDL v2 Enum has 1 to 100 enumValues, this one has 0", 2,
                             "$.contents[0].schema.enumValues"));
  EXPECT_TRUE(has_only_error(load(v2(enum_with(101))), "this one has 101", 2));
  EXPECT_TRUE(has_only_error(load(v2(prop(R"({"@type": "Enum", "valueSchema": "integer"})"))),
                             "a DTDL v2 Enum needs \"enumValues\"", 2, "$.contents[0].schema"));
  // DTDL v3 lifts the count limits.
  EXPECT_TRUE(loads_ok(load(v3(enum_with(0)))));
  EXPECT_TRUE(loads_ok(load(v3(enum_with(101)))));
  EXPECT_TRUE(loads_ok(load(v3(prop(R"({"@type": "Enum", "valueSchema": "integer"})")))));
}

// ------------------------------------------------------------------------------------ Map

TEST(DtdlSchemaMap, Valid) {
  model_registry reg;
  const schema* s = schema_of(reg, v3(prop(R"({"@type": "Map",
      "mapKey": {"name": "sensor", "schema": "dtmi:dtdl:instance:Schema:string;3"},
      "mapValue": {"name": "reading", "schema": {"@type": "Array", "elementSchema": "double"}}})")));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->type, schema::kind::map);
  EXPECT_EQ(s->map_key.name, "sensor");
  EXPECT_EQ(s->map_key.type->primitive, primitive_kind::string);
  EXPECT_EQ(s->map_value.name, "reading");
  EXPECT_EQ(s->describe(), "Map<string, Array<double>>");
}

TEST(DtdlSchemaMap, KeyMustBeString) {
  load_report r = load(v3(R"(
{"@type": "Property", "name": "p", "schema": {"@type": "Map",
  "mapKey": {"name": "k", "schema": "integer"},
  "mapValue": {"name": "v", "schema": "long"}}}
)"));
  EXPECT_TRUE(has_only_error(r, "a map key's schema must be \"string\"", 3, "$.contents[0].schema.mapKey"));
  EXPECT_TRUE(has_only_error(
      load(v3(prop(R"({"@type": "Map", "mapKey": {"name": "k", "schema": {"@type": "Enum", "valueSchema": "string"}},
                                       "mapValue": {"name": "v", "schema": "long"}})"))),
      "a map key's schema must be \"string\"", 2));
}

TEST(DtdlSchemaMap, NeedsKeyAndValue) {
  load_report r = load(v3(prop(R"({"@type": "Map"})")));
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "a Map needs \"mapKey\"", 2, "$.contents[0].schema"));
  EXPECT_TRUE(has_error(r, "a Map needs \"mapValue\"", 2, "$.contents[0].schema"));
  load_report parts = load(v3(R"(
{"@type": "Property", "name": "p", "schema": {"@type": "Map",
  "mapKey": {"schema": "string"},
  "mapValue": {"name": "v"}}}
)"));
  EXPECT_EQ(parts.errors.size(), 2u) << all_errors(parts);
  EXPECT_TRUE(has_error(parts, "a MapKey needs a \"name\"", 3, "$.contents[0].schema.mapKey"));
  EXPECT_TRUE(has_error(parts, "a MapValue needs a \"schema\"", 4, "$.contents[0].schema.mapValue"));
}

// --------------------------------------------------------------------------------- Object

TEST(DtdlSchemaObject, Valid) {
  model_registry reg;
  const schema* s = schema_of(reg, v3(prop(R"({"@type": "Object", "@id": "dtmi:test:obj;1", "fields": [
      {"name": "x", "schema": "double"}, {"@type": "Field", "name": "label", "schema": "string"}]})")));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->type, schema::kind::object);
  ASSERT_EQ(s->fields.size(), 2u);
  EXPECT_EQ(s->fields[1].name, "label");
  EXPECT_EQ(s->fields[1].type->primitive, primitive_kind::string);
  EXPECT_FALSE(s->fields[0].required);
  EXPECT_EQ(s->describe(), "Object dtmi:test:obj;1");
}

TEST(DtdlSchemaObject, FieldsNeedNameAndSchema) {
  load_report r = load(v3(R"(
{"@type": "Property", "name": "p", "schema": {"@type": "Object", "fields": [
  {"name": "a"},
  {"schema": "long"},
  {"name": "c", "schema": "long", "writable": true}]}}
)"));
  EXPECT_EQ(r.errors.size(), 3u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "a Field needs a \"schema\"", 3, "$.contents[0].schema.fields[0]"));
  EXPECT_TRUE(has_error(r, "a Field needs a \"name\"", 4, "$.contents[0].schema.fields[1]"));
  EXPECT_TRUE(has_error(r, "member \"writable\" does not belong in a Field", 5));
}

TEST(DtdlSchemaObject, FieldsAndMapPartsMayNameOnesDefinedElsewhere) {
  model_registry reg;
  load_report r = reg.load({{std::string(k_file), v2(R"(
{"@type": "Property", "name": "o", "schema": {"@type": "Object", "fields": ["dtmi:test:f;1"]}},
{"@type": "Property", "name": "m", "schema": {"@type": "Map", "mapKey": "dtmi:test:k;1",
  "mapValue": {"name": "v", "schema": "double"}}}
)",
                                                     k_id, R"("schemas": [
  {"@id": "dtmi:test:o;1", "@type": "Object", "fields": {"@id": "dtmi:test:f;1", "name": "x", "schema": "float"}},
  {"@id": "dtmi:test:m;1", "@type": "Map", "mapKey": {"@id": "dtmi:test:k;1", "name": "key", "schema": "string"},
   "mapValue": {"name": "v", "schema": "long"}}], )")}});
  ASSERT_TRUE(loads_ok(r));
  const interface* i = reg.find(std::string(k_id));
  const content* o = i->find("o");
  ASSERT_TRUE(o && o->type);
  ASSERT_EQ(o->type->fields.size(), 1u);
  EXPECT_EQ(o->type->fields[0].name, "x");
  const content* m = i->find("m");
  ASSERT_TRUE(m && m->type);
  EXPECT_EQ(m->type->map_key.name, "key");
  // A MapKey is not a Field.
  EXPECT_TRUE(
      has_error(load(v3(prop(R"({"@type": "Map", "mapKey": {"@id": "dtmi:test:k;1", "name": "k", "schema": "string"},
      "mapValue": {"name": "v", "schema": {"@type": "Object", "fields": "dtmi:test:k;1"}}})"))),
                "\"dtmi:test:k;1\" does not name a Field", 3));
}

TEST(DtdlSchemaObject, V3FieldsAndMapPartsAreV3) {
  // A DTDL v3 Object or Map takes v3 fields, keys and values (Requirement-ClassObjectPropertyFieldsElement).
  EXPECT_TRUE(has_only_error(load(v3(prop(R"({"@type": "Object",
      "fields": [{"@context": "dtmi:dtdl:context;2", "name": "a", "schema": "long"}]})"))),
                             "a Field inside a DTDL v3 element must be DTDL v3 as well", 3));
  EXPECT_TRUE(has_only_error(load(v3(prop(R"({"@type": "Map",
      "mapKey": {"@context": "dtmi:dtdl:context;2", "name": "k", "schema": "string"},
      "mapValue": {"name": "v", "schema": "long"}})"))),
                             "a MapKey inside a DTDL v3 element must be DTDL v3 as well", 3));
  // A schema may still be DTDL v2 there.
  EXPECT_TRUE(loads_ok(load(v3(prop(R"({"@type": "Object", "fields": [{"name": "a",
      "schema": {"@context": "dtmi:dtdl:context;2", "@type": "Array", "elementSchema": "long"}}]})")))));
}

TEST(DtdlSchemaObject, V2Needs1To30Fields) {
  auto object_with = [](std::size_t n) {
    std::string fields;
    for (std::size_t k = 0; k < n; ++k) {
      fields += (k ? ", " : "") + std::string(R"({"name": "f)") + std::to_string(k) + R"(", "schema": "long"})";
    }
    return prop(R"({"@type": "Object", "fields": [)" + fields + "]}");
  };
  EXPECT_TRUE(loads_ok(load(v2(object_with(1)))));
  EXPECT_TRUE(loads_ok(load(v2(object_with(30)))));
  EXPECT_TRUE(has_only_error(load(v2(object_with(0))), "a DTDL v2 Object has 1 to 30 fields, this one has 0", 2,
                             "$.contents[0].schema.fields"));
  EXPECT_TRUE(has_only_error(load(v2(object_with(31))), "this one has 31", 2));
  EXPECT_TRUE(has_only_error(load(v2(prop(R"({"@type": "Object"})"))), "a DTDL v2 Object needs \"fields\"", 2));
  EXPECT_TRUE(loads_ok(load(v3(object_with(0)))));
  EXPECT_TRUE(loads_ok(load(v3(object_with(31)))));
  EXPECT_TRUE(loads_ok(load(v3(prop(R"({"@type": "Object"})")))));
}

// ------------------------------------------------------------------------ reusable schemas

TEST(DtdlSchemaReuse, SchemasNeedAnIdAndAreReferencedByIt) {
  model_registry reg;
  ASSERT_TRUE(loads_ok(reg.load({{"a.json", v3(R"(
{"@type": "Property", "name": "mode", "schema": "dtmi:test:Mode;1"},
{"@type": "Telemetry", "name": "modes", "schema": {"@type": "Array", "elementSchema": "dtmi:test:Mode;1"}},
{"@type": "Telemetry", "name": "point", "schema": {"@id": "dtmi:test:Pt;1", "@type": "Object",
  "fields": [{"name": "x", "schema": "double"}]}},
{"@type": "Telemetry", "name": "point2", "schema": "dtmi:test:Pt;1"}
)",
                                               k_id,
                                               R"("schemas": [{"@id": "dtmi:test:Mode;1", "@type": "Enum",
  "valueSchema": "string", "enumValues": [{"name": "on", "enumValue": "ON"}]}], )")}})));
  const interface* i = reg.find(std::string(k_id));
  ASSERT_EQ(i->schemas.size(), 1u);
  EXPECT_EQ(i->schemas[0]->id, "dtmi:test:Mode;1");
  EXPECT_EQ(i->find("mode")->type, i->schemas[0]);
  EXPECT_EQ(i->find("modes")->type->element, i->schemas[0]);
  EXPECT_EQ(i->find("point2")->type, i->find("point")->type);  // an inline schema with @id is referenceable too
}

TEST(DtdlSchemaReuse, SchemasEntriesNeedAnId) {
  load_report r = load(R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:I;1", "@type": "Interface",
  "schemas": [
    {"@type": "Array", "elementSchema": "long"},
    "long",
    {"@type": "Property", "name": "p", "schema": "long"}]})");
  EXPECT_EQ(r.errors.size(), 3u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "an Array needs an \"@id\"", 3, "$.schemas[0]"));
  EXPECT_TRUE(
      has_error(r, "schemas entries must be Array, Enum, Map or Object definitions, not a string", 4, "$.schemas[1]"));
  EXPECT_TRUE(has_error(r, "an inline schema needs \"@type\"", 5, "$.schemas[2]"));
}

TEST(DtdlSchemaReuse, V3InterfaceSchemasAreV3) {
  std::string v2_entry = R"("schemas": [{"@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:S;1", "@type": "Array",
                             "elementSchema": "long"}], )";
  EXPECT_TRUE(has_only_error(load(v3("", k_id, v2_entry)), "the schemas of a DTDL v3 Interface must be DTDL v3", 1,
                             "$.schemas[0]"));
  // Elsewhere a v3 element may hold a v2 schema.
  EXPECT_TRUE(loads_ok(load(v3(prop(R"({"@context": "dtmi:dtdl:context;2", "@type": "Array",
                                         "elementSchema": "long"})")))));
}

TEST(DtdlSchemaReuse, UnresolvedAndWrongKindReferences) {
  load_report r = load(v3(R"(
{"@type": "Property", "name": "a", "schema": "dtmi:test:Nope;1"},
{"@type": "Property", "name": "b", "schema": "dtmi:test:I;1"},
{"@type": "Property", "name": "c", "schema": "dtmi:test:_bad;1"}
)"));
  EXPECT_EQ(r.errors.size(), 3u) << all_errors(r);
  EXPECT_TRUE(
      has_error(r, "schema \"dtmi:test:Nope;1\" is not defined in any loaded model", 2, "$.contents[0].schema"));
  EXPECT_TRUE(has_error(r, "names an element that is not an Array, Enum, Map or Object", 3, "$.contents[1].schema"));
  EXPECT_TRUE(has_error(r, "is not a valid DTMI", 4, "$.contents[2].schema"));
}

TEST(DtdlSchemaReuse, SchemasOfAnotherInterfaceAreNotReferenceable) {
  std::string owner = v3("", "dtmi:test:Owner;1", R"("schemas": [{"@id": "dtmi:test:Shared;1", "@type": "Enum",
      "valueSchema": "string", "enumValues": [{"name": "a", "enumValue": "A"}]}], )");
  load_report other =
      load({{"owner.json", owner}, {"user.json", v3(prop(json_string("dtmi:test:Shared;1")), "dtmi:test:User;1")}});
  EXPECT_TRUE(has_error(other, "belongs to another interface (dtmi:test:Owner;1)",
                        where{2, "$.contents[0].schema", 0, "user.json"}));
  EXPECT_EQ(other.errors.size(), 1u) << all_errors(other);
  // Not even from an interface that extends the owner.
  load_report derived = load({{"owner.json", owner},
                              {"user.json", v3(prop(json_string("dtmi:test:Shared;1")), "dtmi:test:User;1",
                                               R"("extends": "dtmi:test:Owner;1", )")}});
  EXPECT_TRUE(has_error(derived, "belongs to another interface", where{2, "", 0, "user.json"}));
  // Nor from an interface used as a component of the owner.
  load_report component = load(v3(R"(
{"@type": "Component", "name": "c", "schema": {"@id": "dtmi:test:Inner;1", "@type": "Interface", "contents": [
  {"@type": "Property", "name": "p", "schema": "dtmi:test:Shared;1"}]}}
)",
                                  "dtmi:test:Owner;1", R"("schemas": [{"@id": "dtmi:test:Shared;1", "@type": "Enum",
      "valueSchema": "string", "enumValues": [{"name": "a", "enumValue": "A"}]}], )"));
  EXPECT_TRUE(has_only_error(component, "belongs to another interface", 4, "$.contents[0].schema.contents[0].schema"));
  // Nor across batches.
  model_registry reg;
  ASSERT_TRUE(loads_ok(reg.load({{"owner.json", owner}})));
  load_report later = reg.load({{"user.json", v3(prop(json_string("dtmi:test:Shared;1")), "dtmi:test:User;1")}});
  EXPECT_TRUE(has_error(later, "belongs to another interface", where{2, "$.contents[0].schema", 0, "user.json"}));
}

// ---------------------------------------------------------------------------------- depth

TEST(DtdlSchemaDepth, FiveLevelsAllowedSixRejected) {
  for (bool use_v2 : {false, true}) {
    auto doc = [&](const std::string& c) { return use_v2 ? v2(c) : v3(c); };
    EXPECT_TRUE(loads_ok(load(doc(telemetry(nested_arrays(5))))));
    EXPECT_TRUE(has_only_error(load(doc(telemetry(nested_arrays(6)))), "schema is nested 6 levels deep; DTDL allows 5",
                               2, "$.contents[0].schema"));
    EXPECT_TRUE(loads_ok(load(doc(telemetry(nested_objects(5))))));
    EXPECT_TRUE(
        has_only_error(load(doc(telemetry(nested_objects(6)))), "nested 6 levels deep", 2, "$.contents[0].schema"));
    EXPECT_TRUE(loads_ok(load(doc(telemetry(nested_maps(5))))));
    EXPECT_TRUE(has_only_error(load(doc(telemetry(nested_maps(6)))), "nested 6 levels deep", 2));
  }
  EXPECT_TRUE(has_only_error(load(v3(telemetry(nested_arrays(9)))), "nested 9 levels deep", 2));
}

TEST(DtdlSchemaDepth, CountsThroughReferences) {
  // Three levels in `schemas`, used three levels deep inline: six in all.
  std::string schemas =
      R"("schemas": [{"@id": "dtmi:test:Deep;1", "@type": "Array", "elementSchema": )" + nested_arrays(2) + "}], ";
  std::string ok = R"({"@type": "Array", "elementSchema": {"@type": "Array", "elementSchema": "dtmi:test:Deep;1"}})";
  EXPECT_TRUE(loads_ok(load(v3(telemetry(ok), k_id, schemas))));
  std::string bad = R"({"@type": "Array", "elementSchema": {"@type": "Array", "elementSchema":
      {"@type": "Array", "elementSchema": "dtmi:test:Deep;1"}}})";
  EXPECT_TRUE(
      has_only_error(load(v3(telemetry(bad), k_id, schemas)), "nested 6 levels deep", 2, "$.contents[0].schema"));
}

TEST(DtdlSchemaDepth, HugeReferenceChainIsOneError) {
  constexpr int n = 30000;
  std::string schemas = R"("schemas": [)";
  for (int k = 0; k < n; ++k) {
    std::string next = k + 1 < n ? "\"dtmi:test:S" + std::to_string(k + 1) + ";1\"" : "\"long\"";
    schemas += std::string(k ? ", " : "") + R"({"@id": "dtmi:test:S)" + std::to_string(k) +
               R"(;1", "@type": "Array", "elementSchema": )" + next + "}";
  }
  schemas += "], ";
  load_report r = load(v2(prop(json_string("dtmi:test:S0;1")), k_id, schemas));
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "schema is nested more than 64 levels deep", 1, "$.schemas[0]"));
}

TEST(DtdlSchemaDepth, CyclesAreRejected) {
  std::string schemas = R"("schemas": [
  {"@id": "dtmi:test:Node;1", "@type": "Object", "fields": [{"name": "next", "schema": "dtmi:test:Node;1"}]},
  {"@id": "dtmi:test:A;1", "@type": "Array", "elementSchema": "dtmi:test:B;1"},
  {"@id": "dtmi:test:B;1", "@type": "Array", "elementSchema": "dtmi:test:A;1"}], )";
  load_report r = load(v3(telemetry(json_string("dtmi:test:Node;1")), k_id, schemas));
  EXPECT_TRUE(has_error(r, "schema \"dtmi:test:Node;1\" contains itself", 2, "$.schemas[0]"));
  EXPECT_TRUE(has_error(r, "schema \"dtmi:test:A;1\" contains itself", 3, "$.schemas[1]"));
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
  for (const auto& d : r.errors) EXPECT_EQ(d.message.find("levels deep"), std::string::npos) << format(d);
}

// ------------------------------------------------------------------- v2 Property restrictions

TEST(DtdlSchemaV2Property, NoArraysOrGeospatialBelowAV2Property) {
  load_report r =
      load(v2(R"(
{"@type": "Property", "name": "a", "schema": {"@type": "Array", "elementSchema": "long"}},
{"@type": "Property", "name": "b", "schema": "point"},
{"@type": "Property", "name": "c", "schema": {"@type": "Map", "mapKey": {"name": "k", "schema": "string"},
  "mapValue": {"name": "v", "schema": {"@type": "Object", "fields": [{"name": "f", "schema": "polygon"}]}}}},
{"@type": "Relationship", "name": "r", "properties": [
  {"@type": "Property", "name": "d", "schema": {"@type": "Object", "fields": [{"name": "g",
    "schema": {"@type": "Array", "elementSchema": "long"}}]}}]},
{"@type": "Property", "name": "e", "schema": "dtmi:test:Arr;1"}
)",
              k_id, R"("schemas": [{"@id": "dtmi:test:Arr;1", "@type": "Array", "elementSchema": "long"}], )"));
  EXPECT_EQ(r.errors.size(), 5u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "DTDL v2 Property \"a\" contains an Array", 2, "$.contents[0]"));
  EXPECT_TRUE(has_error(r, "DTDL v2 Property \"b\" contains a geospatial point", 3, "$.contents[1]"));
  EXPECT_TRUE(has_error(r, "DTDL v2 Property \"c\" contains a geospatial polygon", 4, "$.contents[2]"));
  EXPECT_TRUE(has_error(r, "DTDL v2 Property \"d\" contains an Array", 7, "$.contents[3].properties[0]"));
  EXPECT_TRUE(has_error(r, "DTDL v2 Property \"e\" contains an Array", 9, "$.contents[4]"));
}

TEST(DtdlSchemaV2Property, TelemetryAndV3PropertiesMayHoldArrays) {
  EXPECT_TRUE(loads_ok(load(v2(telemetry(R"({"@type": "Array", "elementSchema": "point"})")))));
  EXPECT_TRUE(loads_ok(load(v2(R"({"@type": "Command", "name": "c", "request": {"name": "r",
                                  "schema": {"@type": "Array", "elementSchema": "long"}}})"))));
  EXPECT_TRUE(loads_ok(load(v3(R"(
{"@type": "Property", "name": "a", "schema": {"@type": "Array", "elementSchema": "long"}},
{"@type": "Property", "name": "b", "schema": "point"},
{"@type": "Relationship", "name": "r", "properties": [
  {"@type": "Property", "name": "d", "schema": {"@type": "Array", "elementSchema": "multiPolygon"}}]}
)"))));
}

// ----------------------------------------------------------------------------- v3 limits

TEST(DtdlSchemaLimits, V3AtMost100000ElementsPerInterface) {
  std::string values;
  for (int k = 0; k < 1000; ++k) {
    values += (k ? ", " : "") + std::string(R"({"name": "v)") + std::to_string(k) + R"(", "enumValue": )" +
              std::to_string(k) + "}";
  }
  std::string schemas = R"("schemas": [{"@id": "dtmi:test:Big;1", "@type": "Enum", "valueSchema": "integer",
    "enumValues": [)" + values +
                        "]}], ";
  auto props = [](int n) {
    std::string out;
    for (int k = 0; k < n; ++k) out += (k ? ",\n" : "") + prop(json_string("dtmi:test:Big;1"), "p" + std::to_string(k));
    return out;
  };
  // Each use of the enum counts its 1,001 elements again, plus the property itself.
  EXPECT_TRUE(loads_ok(load(v3(props(99), k_id, schemas))));
  load_report r = load(v3(props(100), k_id, schemas));
  EXPECT_TRUE(has_only_error(r, "elements counting contents and schemas; DTDL v3 allows 100,000", 1, "$"));
}

TEST(DtdlSchemaLimits, V3InterfaceTextAtMost1MiB) {
  auto doc_of_size = [](std::size_t target) {
    std::string contents;
    std::size_t k = 0;
    std::string base = v3("");
    while (base.size() + contents.size() + 200 < target) {
      contents += (k ? ",\n" : "") + std::string(R"({"@type": "Telemetry", "name": "t)") + std::to_string(k) +
                  R"(", "schema": "double", "description": ")" + std::string(100, 'd') + "\"}";
      ++k;
    }
    return v3(contents);
  };
  std::string small = doc_of_size(1000000);
  ASSERT_LT(small.size(), 1048576u);
  EXPECT_TRUE(loads_ok(load(small)));
  std::string big = doc_of_size(1100000);
  ASSERT_GT(big.size(), 1048576u);
  EXPECT_TRUE(has_only_error(load(big), "DTDL v3 allows 1 MiB per Interface", 1, "$"));
}

TEST(DtdlSchemaLimits, TextLimitExcludesInlineInterfaces) {
  // An inline component interface is measured on its own, not as part of the outer one.
  std::string inner;
  for (int k = 0; k < 4000; ++k) {
    inner += (k ? ", " : "") + std::string(R"({"@type": "Telemetry", "name": "t)") + std::to_string(k) +
             R"(", "schema": "double", "description": ")" + std::string(150, 'd') + "\"}";
  }
  std::string doc = v3(R"({"@type": "Component", "name": "a", "schema": {"@id": "dtmi:test:A;1", "@type": "Interface",
    "contents": [)" + inner +
                       R"(]}},
{"@type": "Component", "name": "b", "schema": {"@id": "dtmi:test:B;1", "@type": "Interface", "contents": [)" +
                       inner + "]}}");
  ASSERT_GT(doc.size(), 1048576u);
  load_report r = load(doc);
  // Each inner interface is under 1 MiB, and so is the outer one without them.
  EXPECT_TRUE(loads_ok(r));
  // An inline interface over the limit is reported as itself.
  std::string renamed = inner;
  for (std::size_t at = renamed.find("\"t"); at != std::string::npos; at = renamed.find("\"t", at + 2)) {
    renamed[at + 1] = 'u';
  }
  std::string big = v3(R"({"@type": "Component", "name": "a", "schema": {"@id": "dtmi:test:A;1", "@type": "Interface",
    "contents": [)" + inner +
                       ", " + renamed + "]}}");
  EXPECT_TRUE(has_only_error(load(big), "the JSON text of dtmi:test:A;1 is", 2, "$.contents[0].schema"));
}

}  // namespace
}  // namespace doppel::model
