#include "sim/fmi/model_description.h"

#include <gtest/gtest.h>

#include "sim/fmi/values.h"

namespace doppel::sim::fmi {
namespace {

constexpr const char* k_fmi2 = R"(<?xml version="1.0" encoding="UTF-8"?>
<fmiModelDescription fmiVersion="2.0" modelName="Ball" guid="{1234}" generationTool="hand">
  <CoSimulation modelIdentifier="Ball" canHandleVariableCommunicationStepSize="true"/>
  <DefaultExperiment startTime="0" stopTime="3" stepSize="0.01"/>
  <ModelVariables>
    <ScalarVariable name="h" valueReference="0" causality="output" variability="continuous" initial="exact">
      <Real start="1" unit="m"/>
    </ScalarVariable>
    <ScalarVariable name="n" valueReference="0" causality="output"><Integer start="3"/></ScalarVariable>
    <ScalarVariable name="on" valueReference="0" causality="input"><Boolean start="true"/></ScalarVariable>
    <ScalarVariable name="label" valueReference="1" causality="parameter" variability="fixed"><String start="a,b"/></ScalarVariable>
    <ScalarVariable name="g" valueReference="1" causality="parameter" variability="fixed"><Real start="9.81"/></ScalarVariable>
  </ModelVariables>
  <ModelStructure><Outputs><Unknown index="1"/><Unknown index="2"/></Outputs></ModelStructure>
</fmiModelDescription>
)";

constexpr const char* k_fmi3 = R"(<?xml version="1.0" encoding="UTF-8"?>
<fmiModelDescription fmiVersion="3.0" modelName="Types" instantiationToken="{abcd}">
  <CoSimulation modelIdentifier="Types" hasEventMode="true"/>
  <ModelVariables>
    <Float64 name="time" valueReference="0" causality="independent" variability="continuous"/>
    <UInt32 name="n" valueReference="1" causality="structuralParameter" variability="fixed" start="3"/>
    <Float64 name="xs" valueReference="2" causality="output" start="1 2 3"><Dimension valueReference="1"/></Float64>
    <Int8 name="small" valueReference="3" causality="input" start="-128"/>
    <UInt64 name="big" valueReference="4" causality="output" start="18446744073709551615"/>
    <Binary name="blob" valueReference="5" causality="input"><Start value="0a0b"/></Binary>
    <String name="words" valueReference="6" causality="output"><Dimension start="2"/><Start value="a"/><Start value="b"/></String>
  </ModelVariables>
  <ModelStructure><Output valueReference="2"/><Output valueReference="4"/><Output valueReference="6"/></ModelStructure>
</fmiModelDescription>
)";

TEST(ModelDescription, Fmi2VariablesTypesAndTheDefaultExperiment) {
  auto md = parse_model_description(k_fmi2);
  ASSERT_TRUE(md) << md.error().to_string();
  EXPECT_EQ(md->fmi_major, 2);
  EXPECT_EQ(md->token, "{1234}");
  EXPECT_EQ(md->co_simulation.model_identifier, "Ball");
  EXPECT_TRUE(md->co_simulation.can_handle_variable_step);
  EXPECT_FALSE(md->model_exchange.present);
  EXPECT_EQ(md->experiment.stop_time, 3.0);
  EXPECT_EQ(md->experiment.step_size, 0.01);
  EXPECT_FALSE(md->experiment.tolerance);
  ASSERT_EQ(md->variables.size(), 5u);
  const variable& h = md->variables[0];
  EXPECT_EQ(h.type, var_type::float64);
  EXPECT_EQ(h.causality, causality::output);
  EXPECT_EQ(h.unit, "m");
  EXPECT_EQ(h.start, std::vector<std::string>{"1"});
  EXPECT_EQ(h.line, 6u);
  // Value references are per type in FMI 2: h, n and on may all be 0.
  EXPECT_EQ(md->find("n")->type, var_type::int32);
  EXPECT_EQ(md->find("n")->variability, variability::discrete);  // the default of a non-Real
  EXPECT_EQ(md->find("on")->type, var_type::boolean);
  EXPECT_EQ(md->find("label")->start, std::vector<std::string>{"a,b"});
  EXPECT_EQ(md->outputs, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(md->find("nope"), nullptr);
}

TEST(ModelDescription, Fmi3ArraysSizedByAStructuralParameterAndEveryType) {
  auto md = parse_model_description(k_fmi3);
  ASSERT_TRUE(md) << md.error().to_string();
  EXPECT_EQ(md->fmi_major, 3);
  EXPECT_TRUE(md->co_simulation.has_event_mode);
  const variable* xs = md->find("xs");
  ASSERT_NE(xs, nullptr);
  EXPECT_EQ(xs->shape, std::vector<std::size_t>{3});
  EXPECT_EQ(xs->elements(), 3u);
  EXPECT_EQ(xs->start, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(md->find("small")->type, var_type::int8);
  EXPECT_EQ(md->find("big")->type, var_type::uint64);
  EXPECT_EQ(md->find("blob")->start, std::vector<std::string>{"0a0b"});
  EXPECT_EQ(md->find("words")->start, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(md->outputs.size(), 3u);
}

// Each broken description is refused with the file, the line and the element, saying what to fix.
TEST(ModelDescription, MistakesAreReportedWithFileLineAndElement) {
  struct broken {
    std::string xml, expected;
  };
  std::string head2 = R"(<fmiModelDescription fmiVersion="2.0" modelName="M" guid="g">
<CoSimulation modelIdentifier="M"/>
<ModelVariables>
)";
  std::string tail2 = "</ModelVariables></fmiModelDescription>";
  std::string head3 = R"(<fmiModelDescription fmiVersion="3.0" modelName="M" instantiationToken="t">
<CoSimulation modelIdentifier="M"/>
<ModelVariables>
)";
  std::vector<broken> cases = {
      {"<fmiModelDescription", "md.xml:1: not well-formed XML"},
      {"<other/>", "md.xml:1: the root element must be <fmiModelDescription>"},
      {R"(<fmiModelDescription fmiVersion="1.0" modelName="M" guid="g"/>)", "Doppel imports FMI 2.0 and 3.0"},
      {R"(<fmiModelDescription fmiVersion="2.0" modelName="M"/>)", "the attribute guid is required"},
      {R"(<fmiModelDescription fmiVersion="2.0" modelName="M" guid="g"><ModelVariables/></fmiModelDescription>)",
       "neither <CoSimulation> nor <ModelExchange>"},
      {R"(<fmiModelDescription fmiVersion="2.0" modelName="M" guid="g">
<CoSimulation modelIdentifier="../evil"/><ModelVariables/></fmiModelDescription>)",
       "md.xml:2: <CoSimulation>: modelIdentifier=\"../evil\" must be a file name"},
      {head2 + R"(<ScalarVariable name="x" valueReference="-1"><Real/></ScalarVariable>)" + tail2,
       "md.xml:4: <ScalarVariable>: valueReference=\"-1\" of x must be an unsigned 32-bit integer"},
      {head2 + R"(<ScalarVariable name="x" valueReference="1" causality="outptu"><Real/></ScalarVariable>)" + tail2,
       "causality=\"outptu\" of x is not one of"},
      {head2 + R"(<ScalarVariable name="x" valueReference="1"><Real start="fast"/></ScalarVariable>)" + tail2,
       "md.xml:4: <Real>: start of x: \"fast\" is not a number"},
      {head2 + R"(<ScalarVariable name="x" valueReference="1"><Integer start="3000000000"/></ScalarVariable>)" + tail2,
       "is not an integer from -2147483648 to 2147483647"},
      {head2 + R"(<ScalarVariable name="x" valueReference="1"><Real/></ScalarVariable>
<ScalarVariable name="y" valueReference="1"><Real/></ScalarVariable>)" +
           tail2,
       "md.xml:5: <ScalarVariable>: valueReference 1 of y is already used by x"},
      {head2 + R"(<ScalarVariable name="x" valueReference="1"><Real/></ScalarVariable>
<ScalarVariable name="x" valueReference="2"><Real/></ScalarVariable>)" +
           tail2,
       "md.xml:5: the variable name x is used twice"},
      {head2 + R"(<ScalarVariable name="x" valueReference="1"/>)" + tail2, "x has no type element"},
      {head3 + R"(<Float64 name="x" valueReference="1"/><Int8 name="y" valueReference="1"/>)" + tail2,
       "valueReference 1 of y is already used by x (FMI 3.0 value references are unique"},
      {head3 + R"(<Int8 name="y" valueReference="1" start="200"/>)" + tail2,
       "md.xml:4: <Int8>: start of y: \"200\" is not an integer from -128 to 127"},
      {head3 + R"(<Float64 name="y" valueReference="1" start="1 2"><Dimension start="3"/></Float64>)" + tail2,
       "the start value of y has 2 elements, but its dimensions make 3"},
      {head3 + R"(<Float64 name="y" valueReference="1"><Dimension valueReference="9"/></Float64>)" + tail2,
       "refers to valueReference 9, which is not a variable with an unsigned integer start value"},
      {head3 + R"(<Float65 name="y" valueReference="1"/>)" + tail2,
       "md.xml:4: <Float65>: not an FMI 3.0 variable type"},
      {head3 + R"(<Binary name="b" valueReference="1"><Start value="0g"/></Binary>)" + tail2,
       "\"0g\" is not hex digits"},
  };
  for (const broken& c : cases) {
    auto md = parse_model_description(c.xml, "md.xml");
    ASSERT_FALSE(md) << c.xml;
    EXPECT_EQ(md.error().code(), status_code::invalid_argument);
    EXPECT_NE(md.error().message().find(c.expected), std::string::npos)
        << "expected: " << c.expected << "\ngot: " << md.error().message();
  }
}

constexpr const char* k_fmi2_me =
    R"(<fmiModelDescription fmiVersion="2.0" modelName="B" guid="g" numberOfEventIndicators="2">
  <ModelExchange modelIdentifier="B"/>
  <ModelVariables>
    <ScalarVariable name="h" valueReference="1" causality="output"><Real start="1"/></ScalarVariable>
    <ScalarVariable name="der_h" valueReference="2"><Real derivative="1"/></ScalarVariable>
    <ScalarVariable name="v" valueReference="3" causality="output"><Real start="0"/></ScalarVariable>
    <ScalarVariable name="der_v" valueReference="4"><Real derivative="3"/></ScalarVariable>
  </ModelVariables>
  <ModelStructure>
    <Outputs><Unknown index="1"/><Unknown index="3"/></Outputs>
    <Derivatives><Unknown index="2"/><Unknown index="4"/></Derivatives>
  </ModelStructure>
</fmiModelDescription>
)";

constexpr const char* k_fmi3_me = R"(<fmiModelDescription fmiVersion="3.0" modelName="B" instantiationToken="t">
  <ModelExchange modelIdentifier="B"/>
  <ModelVariables>
    <Float64 name="x" valueReference="1" start="1 2 3"><Dimension start="3"/></Float64>
    <Float64 name="der_x" valueReference="2" derivative="1"><Dimension start="3"/></Float64>
    <Float64 name="z" valueReference="3"/>
    <Float32 name="zs" valueReference="4"><Dimension start="2"/></Float32>
  </ModelVariables>
  <ModelStructure>
    <ContinuousStateDerivative valueReference="2"/>
    <EventIndicator valueReference="3"/>
    <EventIndicator valueReference="4"/>
  </ModelStructure>
</fmiModelDescription>
)";

TEST(ModelDescription, ModelExchangeStatesAndEventIndicators) {
  auto md2 = parse_model_description(k_fmi2_me);
  ASSERT_TRUE(md2) << md2.error().to_string();
  EXPECT_TRUE(md2->model_exchange.present);
  EXPECT_FALSE(md2->co_simulation.present);
  EXPECT_EQ(md2->continuous_states, 2u);
  EXPECT_EQ(md2->derivatives, (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(md2->variables[1].derivative_of, 0u);
  EXPECT_EQ(md2->variables[3].derivative_of, 2u);
  EXPECT_FALSE(md2->variables[0].derivative_of);
  EXPECT_EQ(md2->event_indicators, 2u);

  auto md3 = parse_model_description(k_fmi3_me);
  ASSERT_TRUE(md3) << md3.error().to_string();
  EXPECT_EQ(md3->continuous_states, 3u);  // an array state counts its elements
  EXPECT_EQ(md3->derivatives, std::vector<std::size_t>{1});
  EXPECT_EQ(md3->variables[1].derivative_of, 0u);
  EXPECT_EQ(md3->event_indicators, 3u);
}

TEST(ModelDescription, ModelExchangeMistakesAreReportedWithFileLineAndElement) {
  struct broken {
    std::string xml, expected;
  };
  auto replace = [](std::string text, const std::string& from, const std::string& to) {
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  const std::string me2 = k_fmi2_me, me3 = k_fmi3_me;
  std::vector<broken> cases = {
      {replace(me2, "numberOfEventIndicators=\"2\"", "numberOfEventIndicators=\"two\""),
       "md.xml:1: <fmiModelDescription>: numberOfEventIndicators=\"two\" must be an unsigned integer"},
      {replace(me2, "<Real derivative=\"1\"/>", "<Real derivative=\"9\"/>"),
       "md.xml:5: <Real>: derivative=\"9\" of der_h must be the index (1 to 4) of a variable"},
      {replace(me2, "<Real derivative=\"1\"/>", "<Real derivative=\"x\"/>"),
       "md.xml:5: <Real>: derivative=\"x\" must be an unsigned integer"},
      {replace(me2, "<Unknown index=\"2\"/><Unknown index=\"4\"/>", "<Unknown index=\"1\"/>"),
       "md.xml:11: <Unknown>: h is listed as a state derivative but has no derivative="},
      {replace(me2, "<Unknown index=\"2\"/><Unknown index=\"4\"/>", "<Unknown index=\"5\"/>"),
       "md.xml:11: <Unknown>: index=\"5\" must be the index (1 to 4) of a variable"},
      {replace(me2, "<Unknown index=\"2\"/><Unknown index=\"4\"/>", "<Unknown index=\"2\"/><Unknown index=\"2\"/>"),
       "md.xml:11: <Unknown>: der_h is listed as a state derivative twice"},
      {replace(me2, "<Unknown index=\"2\"/><Unknown index=\"4\"/>", "<Unknown/>"),
       "md.xml:11: <Unknown>: the attribute index is required"},
      {replace(me3, "derivative=\"1\"", "derivative=\"7\""),
       "md.xml:5: <Float64>: derivative=\"7\" of der_x must be the valueReference of a Float32 or Float64"},
      {replace(me3, "<Float64 name=\"z\" valueReference=\"3\"/>", "<Int8 name=\"z\" valueReference=\"3\"/>"),
       "md.xml:11: <EventIndicator>: z is an event indicator but not a Float32 or Float64 variable"},
      {replace(me3, "<EventIndicator valueReference=\"3\"/>", "<EventIndicator valueReference=\"30\"/>"),
       "md.xml:11: <EventIndicator>: valueReference=\"30\" names no variable"},
      {replace(me3, "<Float64 name=\"der_x\" valueReference=\"2\" derivative=\"1\"><Dimension start=\"3\"/></Float64>",
               "<Float64 name=\"der_x\" valueReference=\"2\" derivative=\"1\"/>"),
       "md.xml:5: <Float64>: der_x has 1 elements, its state x 3"},
  };
  for (const broken& c : cases) {
    auto md = parse_model_description(c.xml, "md.xml");
    ASSERT_FALSE(md) << c.xml;
    EXPECT_EQ(md.error().code(), status_code::invalid_argument);
    EXPECT_NE(md.error().message().find(c.expected), std::string::npos)
        << "expected: " << c.expected << "\ngot: " << md.error().message();
  }
}

TEST(FmiValues, ParseAndPrintEveryType) {
  auto round = [](var_type t, const char* text) {
    scalar v;
    status s = parse_scalar(t, text, v);
    if (!s) return "error: " + s.message();
    std::string out;
    format_scalar(t, v, out);
    return out;
  };
  EXPECT_EQ(round(var_type::float64, "0.1"), "0.1");
  EXPECT_EQ(round(var_type::float64, "1e300"), "1e+300");
  EXPECT_EQ(round(var_type::float32, "0.1"), "0.1");  // printed as the float it is
  EXPECT_EQ(round(var_type::float64, "-INF"), "-INF");
  EXPECT_EQ(round(var_type::int64, "-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(round(var_type::uint64, "18446744073709551615"), "18446744073709551615");
  EXPECT_EQ(round(var_type::uint8, "256"), "error: \"256\" is not an integer from 0 to 255");
  EXPECT_EQ(round(var_type::int16, "-32769"), "error: \"-32769\" is not an integer from -32768 to 32767");
  EXPECT_EQ(round(var_type::boolean, "1"), "true");
  EXPECT_EQ(round(var_type::boolean, "yes"), "error: \"yes\" is not true or false");
  EXPECT_EQ(round(var_type::binary, "0A0b"), "0a0b");
  EXPECT_EQ(round(var_type::binary, "abc"), "error: \"abc\" is not hex digits, two per byte (like 0a1b)");
  EXPECT_EQ(round(var_type::string, "a b"), "a b");
  EXPECT_EQ(round(var_type::float32, "1e39"), "error: \"1e39\" is not within the range of a Float32");
}

}  // namespace
}  // namespace doppel::sim::fmi
