// libFuzzer target for the FMI importer's parsers. First byte even: the input (after it) is a
// modelDescription.xml; whatever parses must be self-consistent (every start value of every
// variable parses as its type, outputs point at output variables, arrays' start counts fit,
// model exchange's derivatives point at Float variables whose states are Float variables of the
// same size, and the state count is their elements).
// First byte odd: the input is an --input CSV table against a fixed FMI 3 description holding
// every type; every cell it accepts prints and parses back to itself. Never a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sim/fmi/cosim.h"
#include "sim/fmi/model_description.h"
#include "sim/fmi/values.h"

namespace {

using namespace doppel::sim::fmi;

constexpr const char* k_types = R"(<fmiModelDescription fmiVersion="3.0" modelName="T" instantiationToken="t">
<CoSimulation modelIdentifier="T"/>
<ModelVariables>
<Float32 name="f32" valueReference="1" causality="input"/>
<Float64 name="f64" valueReference="2" causality="input"/>
<Int8 name="i8" valueReference="3" causality="input"/>
<UInt16 name="u16" valueReference="4" causality="input"/>
<Int64 name="i64" valueReference="5" causality="input"/>
<UInt64 name="u64" valueReference="6" causality="input"/>
<Boolean name="b" valueReference="7" causality="input"/>
<String name="s" valueReference="8" causality="input"/>
<Binary name="bin" valueReference="9" causality="input"/>
<Float64 name="arr" valueReference="10" causality="input" start="0 0 0"><Dimension start="3"/></Float64>
</ModelVariables></fmiModelDescription>)";

void check_description(const model_description& md) {
  for (const variable& v : md.variables) {
    for (const std::string& s : v.start) {
      scalar x;
      if (!parse_scalar(v.type, s, x)) __builtin_trap();
    }
    if (!v.shape.empty() && !v.start.empty() && v.start.size() != 1 && v.start.size() != v.elements()) {
      __builtin_trap();
    }
  }
  for (std::size_t i : md.outputs) {
    if (i >= md.variables.size() || md.variables[i].causality != causality::output) __builtin_trap();
  }
  auto is_float = [](const variable& v) { return v.type == var_type::float32 || v.type == var_type::float64; };
  std::size_t states = 0;
  for (std::size_t i : md.derivatives) {
    if (i >= md.variables.size()) __builtin_trap();
    const variable& d = md.variables[i];
    if (!is_float(d) || !d.derivative_of || *d.derivative_of >= md.variables.size()) __builtin_trap();
    const variable& x = md.variables[*d.derivative_of];
    if (!is_float(x) || (md.fmi_major == 3 && x.elements() != d.elements())) __builtin_trap();
    states += d.elements();
  }
  if (states != md.continuous_states) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto md = parse_model_description(text, "fuzz.xml");
    if (md) check_description(*md);
    return 0;
  }
  static const model_description types = *parse_model_description(k_types);
  auto table = parse_input_csv(types, text, "fuzz.csv");
  if (!table) return 0;
  for (const auto& row : table->values) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      const variable& v = *table->columns[c];
      for (const scalar& x : row[c]) {
        std::string printed;
        format_scalar(v.type, x, printed);
        scalar back;
        if (v.type == var_type::float64 || v.type == var_type::float32) {
          if (!parse_scalar(v.type, printed, back)) __builtin_trap();
        } else if (!parse_scalar(v.type, printed, back) || !(back == x)) {
          __builtin_trap();
        }
      }
    }
  }
  return 0;
}
