// Interface contents: Telemetry, Property, Command (v2 CommandPayload, v3 CommandRequest and
// CommandResponse), Relationship and Component, with their members and restrictions.
#include "model/registry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dtdl_test_util.h"

namespace doppel::model {
namespace {

using namespace testing;

const interface* load_into(model_registry& reg, const std::string& doc) {
  load_report r = reg.load({{std::string(k_file), doc}});
  EXPECT_TRUE(loads_ok(r));
  return reg.find(std::string(k_id));
}

TEST(DtdlContents, EntriesMustBeInlineObjects) {
  // Doppel defines contents inline; a DTMI reference to a content element is not supported.
  load_report r = load(v3(R"("dtmi:test:p;1")"));
  EXPECT_TRUE(has_only_error(r,
                             "contents entries must be Telemetry, Property, Command, Relationship or Component "
                             "objects, not a string",
                             2, "$.contents[0]"));
}

// ------------------------------------------------------------------------------ Telemetry

TEST(DtdlTelemetry, Valid) {
  model_registry reg;
  const interface* i = load_into(reg, v3(R"({"@type": "Telemetry", "name": "t", "schema": "double",
                                            "@id": "dtmi:test:I:t;1"})"));
  ASSERT_NE(i, nullptr);
  const content* t = i->find("t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->kind, content_kind::telemetry);
  EXPECT_EQ(t->id, "dtmi:test:I:t;1");
  EXPECT_EQ(t->declared_in, i);
  EXPECT_EQ(t->type->primitive, primitive_kind::double_);
}

TEST(DtdlTelemetry, NeedsASchemaAndNoWritable) {
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Telemetry", "name": "t"})")), "a Telemetry needs a \"schema\"", 2,
                             "$.contents[0]"));
  load_report r = load(v3(R"(
{"@type": "Telemetry", "name": "t", "schema": "double",
 "writable": true}
)"));
  EXPECT_TRUE(has_only_error(r, "member \"writable\" does not belong in a Telemetry", 3, "$.contents[0].writable"));
}

// ------------------------------------------------------------------------------- Property

TEST(DtdlProperty, WritableIsOptionalBoolean) {
  model_registry reg;
  const interface* i = load_into(reg, v3(R"(
{"@type": "Property", "name": "ro", "schema": "string"},
{"@type": "Property", "name": "rw", "schema": "string", "writable": true},
{"@type": "Property", "name": "no", "schema": "string", "writable": false}
)"));
  EXPECT_FALSE(i->find("ro")->writable);
  EXPECT_TRUE(i->find("rw")->writable);
  EXPECT_FALSE(i->find("no")->writable);
  EXPECT_EQ(i->find("rw")->kind, content_kind::property);
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Property", "name": "p", "schema": "string", "writable": "true"})")),
                             "writable must be true or false, not a string", 2, "$.contents[0].writable"));
}

TEST(DtdlProperty, NeedsASchema) {
  EXPECT_TRUE(has_only_error(load(v2(R"({"@type": "Property", "name": "p"})")), "a Property needs a \"schema\"", 2,
                             "$.contents[0]"));
}

// -------------------------------------------------------------------------------- Command

TEST(DtdlCommand, V3RequestAndResponse) {
  model_registry reg;
  const interface* i = load_into(reg, v3(R"(
{"@type": "Command", "name": "reboot", "request": {"@type": "CommandRequest", "name": "delay", "schema": "duration"},
 "response": {"@type": "CommandResponse", "name": "done", "schema": "dateTime", "@id": "dtmi:test:I:done;1"}},
{"@type": "Command", "name": "ping"}
)"));
  const content* c = i->find("reboot");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->kind, content_kind::command);
  ASSERT_TRUE(c->request && c->response);
  EXPECT_EQ(c->request->name, "delay");
  EXPECT_EQ(c->request->type->primitive, primitive_kind::duration);
  EXPECT_EQ(c->response->type->primitive, primitive_kind::date_time);
  EXPECT_EQ(c->response->id, "dtmi:test:I:done;1");
  EXPECT_FALSE(i->find("ping")->request);
}

TEST(DtdlCommand, V3HasNoCommandPayload) {
  load_report r = load(v3(R"(
{"@type": "Command", "name": "c",
 "request": {"@type": "CommandPayload", "name": "x", "schema": "long"}}
)"));
  EXPECT_TRUE(has_error(r, "@type must include \"CommandRequest\" here, not \"CommandPayload\"", 3,
                        "$.contents[0].request.@type"));
  load_report resp = load(v3(R"(
{"@type": "Command", "name": "c",
 "response": {"@type": "CommandRequest", "name": "x", "schema": "long"}}
)"));
  EXPECT_TRUE(has_error(resp, "@type must include \"CommandResponse\"", 3, "$.contents[0].response.@type"));
}

TEST(DtdlCommand, V2UsesCommandPayload) {
  EXPECT_TRUE(loads_ok(load(v2(R"({"@type": "Command", "name": "c",
      "request": {"@type": "CommandPayload", "name": "x", "schema": "long"},
      "response": {"name": "y", "schema": {"@type": "Object", "fields": [{"name": "f", "schema": "string"}]}}})"))));
  load_report r = load(v2(R"(
{"@type": "Command", "name": "c",
 "request": {"@type": "CommandRequest", "name": "x", "schema": "long"}}
)"));
  EXPECT_TRUE(has_error(r, "@type must include \"CommandPayload\"", 3, "$.contents[0].request.@type"));
}

TEST(DtdlCommand, PayloadNeedsNameAndSchema) {
  load_report r = load(v3(R"(
{"@type": "Command", "name": "c",
 "request": {"name": "x"},
 "response": {"schema": "long"}}
)"));
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "a CommandRequest needs a \"schema\"", 3, "$.contents[0].request"));
  EXPECT_TRUE(has_error(r, "a CommandResponse needs a \"name\"", 4, "$.contents[0].response"));
  EXPECT_TRUE(has_error(load(v3(R"({"@type": "Command", "name": "c", "request": {}})")),
                        "needs \"name\" and \"schema\"", 2, "$.contents[0].request"));
}

TEST(DtdlCommand, RequestIsSingleValuedAndInline) {
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Command", "name": "c",
      "request": [{"name": "a", "schema": "long"}, {"name": "b", "schema": "long"}]})")),
                             "request takes one value, not 2", 3, "$.contents[0].request"));
  // A DTMI stands for a CommandRequest defined elsewhere in the interface; here there is none.
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Command", "name": "c", "request": "dtmi:test:req;1"})")),
                             "\"dtmi:test:req;1\" names no element defined in any loaded model", 2,
                             "$.contents[0].request"));
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Command", "name": "c", "request": 5})")),
                             "expected a CommandRequest object with name and schema, not an integer", 2,
                             "$.contents[0].request"));
}

TEST(DtdlCommand, PayloadMayNameOneDefinedElsewhereInTheInterface) {
  // JSON-LD lets an element-valued member name an element by @id (Requirement-
  // ClassCommandPropertyRequestElement in the DTDL conformance cases).
  model_registry reg;
  const interface* i = load_into(reg, v3(R"(
{"@type": "Command", "name": "a", "request": {"@id": "dtmi:test:req;1", "name": "when", "schema": "long"}},
{"@type": "Command", "name": "b", "request": ["dtmi:test:req;1"]}
)"));
  ASSERT_NE(i, nullptr);
  const content* b = i->find("b");
  ASSERT_TRUE(b && b->request);
  EXPECT_EQ(b->request->name, "when");
  ASSERT_NE(b->request->type, nullptr);
  EXPECT_EQ(b->request->type->primitive, primitive_kind::long_);
  // A request is not a response.
  EXPECT_TRUE(has_only_error(load(v3(R"(
{"@type": "Command", "name": "a", "request": {"@id": "dtmi:test:req;1", "name": "when", "schema": "long"}},
{"@type": "Command", "name": "b", "response": "dtmi:test:req;1"}
)")),
                             "\"dtmi:test:req;1\" does not name a CommandResponse", 3, "$.contents[1].response"));
}

TEST(DtdlCommand, CommandTypeIsDeprecatedButChecked) {
  EXPECT_TRUE(loads_ok(load(v2(R"(
{"@type": "Command", "name": "a", "commandType": "synchronous"},
{"@type": "Command", "name": "b", "commandType": "asynchronous"},
{"@type": "Command", "name": "c", "commandType": "dtmi:dtdl:instance:CommandType:synchronous;2"}
)"))));
  EXPECT_TRUE(loads_ok(load(v3(R"({"@type": "Command", "name": "a", "commandType": "asynchronous"})"))));
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Command", "name": "a", "commandType": "sometimes"})")),
                             "commandType must be \"synchronous\" or \"asynchronous\"", 2,
                             "$.contents[0].commandType"));
  EXPECT_TRUE(has_only_error(load(v2(R"({"@type": "Command", "name": "a",
                                         "commandType": "dtmi:dtdl:instance:CommandType:synchronous;3"})")),
                             "commandType must be", 3));
}

TEST(DtdlCommand, NoV4Members) {
  load_report r = load(v3(R"(
{"@type": "Command", "name": "c",
 "request": {"name": "x", "schema": "long", "nullable": true},
 "schema": "long"}
)"));
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "unknown member \"nullable\" in a CommandRequest", 3, "$.contents[0].request.nullable"));
  EXPECT_TRUE(has_error(r, "member \"schema\" does not belong in a Command", 4, "$.contents[0].schema"));
}

// --------------------------------------------------------------------------- Relationship

TEST(DtdlRelationship, Valid) {
  model_registry reg;
  const interface* i = load_into(reg, v3(R"(
{"@type": "Relationship", "name": "feeds", "minMultiplicity": 0, "maxMultiplicity": 10,
 "target": "dtmi:somewhere:else;1", "writable": true,
 "properties": [{"@type": "Property", "name": "since", "schema": "dateTime", "writable": true}]},
{"@type": "Relationship", "name": "any"}
)"));
  const content* r = i->find("feeds");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->kind, content_kind::relationship);
  EXPECT_EQ(r->max_multiplicity, 10);
  EXPECT_EQ(r->target, "dtmi:somewhere:else;1");
  EXPECT_TRUE(r->writable);
  ASSERT_EQ(r->properties.size(), 1u);
  EXPECT_EQ(r->properties[0]->name, "since");
  EXPECT_EQ(r->properties[0]->kind, content_kind::property);
  EXPECT_TRUE(r->properties[0]->writable);
  const content* any = i->find("any");
  EXPECT_TRUE(any->target.empty());
  EXPECT_FALSE(any->max_multiplicity);
  // The properties of a relationship are not contents of the interface.
  EXPECT_EQ(i->find("since"), nullptr);
}

TEST(DtdlRelationship, MinMultiplicityMustBeZero) {
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Relationship", "name": "r", "minMultiplicity": 1})")),
                             "minMultiplicity must be 0", 2, "$.contents[0].minMultiplicity"));
  EXPECT_TRUE(has_only_error(load(v2(R"({"@type": "Relationship", "name": "r", "minMultiplicity": "0"})")),
                             "minMultiplicity must be a 32-bit integer, not a string", 2));
}

TEST(DtdlRelationship, MaxMultiplicityLimits) {
  auto rel = [](const std::string& max) {
    return R"({"@type": "Relationship", "name": "r", "maxMultiplicity": )" + max + "}";
  };
  EXPECT_TRUE(loads_ok(load(v2(rel("1")))));
  EXPECT_TRUE(loads_ok(load(v2(rel("500")))));
  EXPECT_TRUE(has_only_error(load(v2(rel("501"))), "maxMultiplicity may be at most 500 in DTDL v2", 2,
                             "$.contents[0].maxMultiplicity"));
  EXPECT_TRUE(loads_ok(load(v3(rel("501")))));
  EXPECT_TRUE(loads_ok(load(v3(rel("2147483647")))));
  EXPECT_TRUE(has_only_error(load(v3(rel("2147483648"))), "must be a 32-bit integer", 2));
  EXPECT_TRUE(
      has_only_error(load(v3(rel("0"))), "maxMultiplicity must be at least 1", 2, "$.contents[0].maxMultiplicity"));
  EXPECT_TRUE(has_only_error(load(v3(rel("-3"))), "at least 1", 2));
  EXPECT_TRUE(has_only_error(load(v3(rel("2.5"))), "must be a 32-bit integer, not a fractional", 2));
}

TEST(DtdlRelationship, TargetIsAnUnresolvedDtmi) {
  // target is a non-dependent reference: it need not exist, and may be the interface itself.
  EXPECT_TRUE(loads_ok(load(v3(R"({"@type": "Relationship", "name": "r", "target": "dtmi:test:I;1"})"))));
  EXPECT_TRUE(loads_ok(load(v3(R"({"@type": "Relationship", "name": "r", "target": "dtmi:test:Nowhere"})"))));
  EXPECT_TRUE(has_only_error(load(v2(R"({"@type": "Relationship", "name": "r", "target": "dtmi:test:Nowhere"})")),
                             "target \"dtmi:test:Nowhere\" is not a valid DTMI", 2, "$.contents[0].target"));
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Relationship", "name": "r", "target": "Pump"})")),
                             "is not a valid DTMI", 2, "$.contents[0].target"));
  EXPECT_TRUE(
      has_only_error(load(v3(R"({"@type": "Relationship", "name": "r", "target": 3})")), "target must be a string", 2));
  std::string long_target = "dtmi:test:" + std::string(2036, 't') + ";1";
  ASSERT_EQ(long_target.size(), 2048u);
  EXPECT_TRUE(loads_ok(load(v3(R"({"@type": "Relationship", "name": "r", "target": ")" + long_target + "\"}"))));
  long_target.insert(10, "t");
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Relationship", "name": "r", "target": ")" + long_target + "\"}")),
                             "longer than 2048", 2, "$.contents[0].target"));
}

TEST(DtdlRelationship, PropertiesMustBeProperties) {
  load_report r = load(v3(R"(
{"@type": "Relationship", "name": "r", "properties": [
  {"@type": "Telemetry", "name": "t", "schema": "long"},
  "dtmi:test:p;1"]}
)"));
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_TRUE(
      has_error(r, "@type must include \"Property\" here, not \"Telemetry\"", 3, "$.contents[0].properties[0].@type"));
  EXPECT_TRUE(has_error(r, "\"dtmi:test:p;1\" names no element defined", 4, "$.contents[0].properties[1]"));
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Relationship", "name": "r", "properties": ["p"]})")),
                             "Relationship properties must be Property objects, not a string", 2,
                             "$.contents[0].properties[0]"));
}

TEST(DtdlRelationship, PropertiesMayNameAPropertyOfTheInterface) {
  model_registry reg;
  const interface* i = load_into(reg, v2(R"(
{"@id": "dtmi:test:since;1", "@type": "Property", "name": "since", "schema": "dateTime"},
{"@type": "Relationship", "name": "r", "properties": "dtmi:test:since;1"}
)"));
  ASSERT_NE(i, nullptr);
  const content* r = i->find("r");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->properties.size(), 1u);
  EXPECT_EQ(r->properties[0], i->find("since"));
  EXPECT_TRUE(has_only_error(load(v3(R"(
{"@id": "dtmi:test:t;1", "@type": "Telemetry", "name": "t", "schema": "double"},
{"@type": "Relationship", "name": "r", "properties": ["dtmi:test:t;1"]}
)")),
                             "\"dtmi:test:t;1\" does not name a Property", 3, "$.contents[1].properties[0]"));
}

TEST(DtdlRelationship, TargetIsAnIriNotAValueObject) {
  // Requirement-DtmiIsString: {"@value": ...} is a literal, and target takes an IRI.
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Relationship", "name": "r",
                                          "target": {"@value": "dtmi:test:T;1"}})")),
                             "target must be an Interface DTMI written as a string, not an object", 3,
                             "$.contents[0].target"));
  EXPECT_TRUE(loads_ok(load(v3(R"({"@type": "Relationship", "name": "r", "target": ["dtmi:test:T;1"]})"))));
}

TEST(DtdlRelationship, V2AtMost300Properties) {
  auto props = [](std::size_t n) {
    std::string out;
    for (std::size_t k = 0; k < n; ++k) {
      out += (k ? ", " : "") + std::string(R"({"@type": "Property", "name": "p)") + std::to_string(k) +
             R"(", "schema": "long"})";
    }
    return R"({"@type": "Relationship", "name": "r", "properties": [)" + out + "]}";
  };
  EXPECT_TRUE(loads_ok(load(v2(props(300)))));
  EXPECT_TRUE(has_only_error(load(v2(props(301))), "at most 300 properties", 2, "$.contents[0].properties"));
  EXPECT_TRUE(loads_ok(load(v3(props(301)))));
}

TEST(DtdlRelationship, NoSchemaMember) {
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Relationship", "name": "r", "schema": "long"})")),
                             "member \"schema\" does not belong in a Relationship", 2));
}

// ------------------------------------------------------------------------------ Component

TEST(DtdlComponent, ReferencedAndInlineInterfaces) {
  model_registry reg;
  load_report r =
      reg.load({{"a.json", v3(R"(
{"@type": "Component", "name": "left", "schema": "dtmi:test:Part;1"},
{"@type": "Component", "name": "right", "schema": "dtmi:test:Part;1"},
{"@type": "Component", "name": "inner", "schema": {"@id": "dtmi:test:Inner;1", "@type": "Interface",
  "contents": [{"@type": "Property", "name": "x", "schema": "long"}]}}
)")},
                {"b.json", v3(R"({"@type": "Telemetry", "name": "t", "schema": "long"})", "dtmi:test:Part;1")}});
  ASSERT_TRUE(loads_ok(r));
  EXPECT_EQ(r.interfaces, 3u);
  const interface* i = reg.find(std::string(k_id));
  EXPECT_EQ(i->find("left")->kind, content_kind::component);
  EXPECT_EQ(i->find("left")->component, reg.find("dtmi:test:Part;1"));
  EXPECT_EQ(i->find("right")->component, reg.find("dtmi:test:Part;1"));
  ASSERT_NE(reg.find("dtmi:test:Inner;1"), nullptr);
  EXPECT_EQ(i->find("inner")->component, reg.find("dtmi:test:Inner;1"));
  EXPECT_EQ(reg.find("dtmi:test:Inner;1")->where.path, "$.contents[2].schema");
}

TEST(DtdlComponent, SchemaMustBeAnInterface) {
  load_report missing = load(v3(R"({"@type": "Component", "name": "c", "schema": "dtmi:test:Missing;1"})"));
  EXPECT_TRUE(has_only_error(missing, "Component schema names \"dtmi:test:Missing;1\", which is not defined", 2,
                             "$.contents[0].schema"));
  load_report not_iface = load(v3(R"({"@type": "Component", "name": "c", "schema": "dtmi:test:E;1"})", k_id,
                                  R"("schemas": [{"@id": "dtmi:test:E;1", "@type": "Enum", "valueSchema": "string",
                                                  "enumValues": [{"name": "a", "enumValue": "a"}]}], )"));
  EXPECT_TRUE(has_only_error(not_iface, "which is not an Interface", 3, "$.contents[0].schema"));
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Component", "name": "c", "schema": "double"})")),
                             "Component schema value \"double\" is not a valid DTMI", 2));
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Component", "name": "c"})")), "a Component needs a \"schema\"", 2,
                             "$.contents[0]"));
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Component", "name": "c", "schema": {"@type": "Interface"}})")),
                             "needs an \"@id\"", 2, "$.contents[0].schema"));
  EXPECT_TRUE(has_error(load(v3(R"({"@type": "Component", "name": "c", "schema": {"@type": "Object",
                                   "@id": "dtmi:test:O;1", "fields": []}})")),
                        "@type must include \"Interface\"", 2));
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Component", "name": "c", "schema": 1})")),
                             "must be an Interface DTMI or an inline Interface, not an integer", 2));
}

TEST(DtdlComponent, ComponentsDoNotNest) {
  load_report direct = load(
      {{"a.json", v3(R"(
{"@type": "Component", "name": "outer", "schema": "dtmi:test:Mid;1"}
)")},
       {"b.json", v3(R"({"@type": "Component", "name": "inner", "schema": "dtmi:test:Leaf;1"})", "dtmi:test:Mid;1")},
       {"c.json", v3("", "dtmi:test:Leaf;1")}});
  EXPECT_EQ(direct.errors.size(), 1u) << all_errors(direct);
  EXPECT_TRUE(has_error(direct, "component \"outer\" uses dtmi:test:Mid;1, which itself has component \"inner\"",
                        where{2, "$.contents[0]", 0, "a.json"}));

  // Inherited components count too.
  load_report inherited = load(
      {{"a.json", v3(R"({"@type": "Component", "name": "outer", "schema": "dtmi:test:Mid;1"})")},
       {"b.json", v3("", "dtmi:test:Mid;1", R"("extends": "dtmi:test:Base;1", )")},
       {"c.json", v3(R"({"@type": "Component", "name": "inner", "schema": "dtmi:test:Leaf;1"})", "dtmi:test:Base;1")},
       {"d.json", v3("", "dtmi:test:Leaf;1")}});
  EXPECT_EQ(inherited.errors.size(), 1u) << all_errors(inherited);
  EXPECT_TRUE(has_error(inherited, "which itself has component \"inner\"", where{2, "$.contents[0]", 0, "a.json"}));

  load_report inline_nested = load(v3(R"(
{"@type": "Component", "name": "outer", "schema": {"@id": "dtmi:test:Mid;1", "@type": "Interface", "contents": [
  {"@type": "Component", "name": "inner", "schema": {"@id": "dtmi:test:Leaf;1", "@type": "Interface"}}]}}
)"));
  EXPECT_TRUE(has_only_error(inline_nested, "which itself has component", 2, "$.contents[0]"));
}

TEST(DtdlComponent, NoSelfComponent) {
  load_report r = load(v3(R"({"@type": "Component", "name": "me", "schema": "dtmi:test:I;1"})"));
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r, "component \"me\"", 2, "$.contents[0]"));
}

TEST(DtdlComponent, V3MayUseAV2Interface) {
  EXPECT_TRUE(
      loads_ok(load({{"a.json", v3(R"({"@type": "Component", "name": "c", "schema": "dtmi:test:Old;1"})")},
                     {"b.json", v2(R"({"@type": "Property", "name": "p", "schema": "long"})", "dtmi:test:Old;1")}})));
}

TEST(DtdlComponent, OnlyCommonMembers) {
  EXPECT_TRUE(has_only_error(load(v3(R"({"@type": "Component", "name": "c", "schema": {"@id": "dtmi:test:C;1",
                                         "@type": "Interface"}, "writable": true})")),
                             "member \"writable\" does not belong in a Component", 3, "$.contents[0].writable"));
}

}  // namespace
}  // namespace doppel::model
