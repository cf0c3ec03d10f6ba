// An FMU's modelDescription.xml (FMI 2.0 or 3.0), parsed and checked: what the importer needs to
// instantiate the FMU and exchange values with it (kinds, model identifiers, the default
// experiment, every variable with its type, causality, start value and array dimensions).
// Callers: the FMU loader (fmu.h), `doppel fmu info`. Pure function of the text: no I/O, no state;
// safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace doppel::sim::fmi {

// The value types of both versions. FMI 2's Real is float64, its Integer int32, its Enumeration
// enumeration (an int32 there, an int64 in FMI 3).
enum class var_type : std::uint8_t {
  float32,
  float64,
  int8,
  uint8,
  int16,
  uint16,
  int32,
  uint32,
  int64,
  uint64,
  boolean,
  string,
  binary,
  clock,
  enumeration,
};
std::string_view to_string(var_type t);  // "Float64", "Int8", ...

enum class causality : std::uint8_t {
  parameter,
  calculated_parameter,
  input,
  output,
  local,
  independent,
  structural_parameter,
};
std::string_view to_string(causality c);  // as in the XML: "calculatedParameter", ...

enum class variability : std::uint8_t { constant, fixed, tunable, discrete, continuous };
std::string_view to_string(variability v);

struct variable {
  std::string name;
  std::uint32_t value_reference = 0;
  var_type type = var_type::float64;
  enum causality causality = causality::local;
  enum variability variability = variability::continuous;
  std::string initial;  // "exact", "approx", "calculated" or "" (absent)
  std::string description;
  std::string unit;
  // The start value as the XML writes it: one element, or an array's elements separated by
  // whitespace (FMI 3's start="1 2 3"); a String's or Binary's from <Start value=...> each.
  // Empty vector: no start value.
  std::vector<std::string> start;
  // An array's dimensions (FMI 3): each a fixed size, or the value reference of a structural
  // parameter whose start gives it; resolved into `shape` when the description is parsed.
  std::vector<std::size_t> shape;  // empty: a scalar
  // A derivative's state: the index in model_description::variables of the variable this one is
  // the time derivative of (FMI 2: derivative="INDEX", 1-based; FMI 3: derivative="VALUE
  // REFERENCE"). Empty for a variable that is no derivative.
  std::optional<std::size_t> derivative_of;
  std::size_t line = 0;  // where it is declared in modelDescription.xml
  // Elements of a value (1 for a scalar).
  std::size_t elements() const;
};

struct implementation {
  bool present = false;
  std::string model_identifier;  // the binary's file name without its extension
  bool can_handle_variable_step = false;
  bool needs_execution_tool = false;
  bool has_event_mode = false;       // FMI 3 co-simulation
  bool can_return_early = false;     // FMI 3 co-simulation: canReturnEarlyAfterIntermediateUpdate
  std::optional<double> fixed_step;  // FMI 3 co-simulation: fixedInternalStepSize
};

struct default_experiment {
  std::optional<double> start_time, stop_time, tolerance, step_size;
};

struct model_description {
  int fmi_major = 2;        // 2 or 3
  std::string fmi_version;  // as written: "2.0", "3.0"
  std::string model_name;
  std::string token;  // FMI 2 guid, FMI 3 instantiationToken
  std::string description, generation_tool;
  implementation co_simulation, model_exchange;
  default_experiment experiment;
  std::vector<variable> variables;  // in document order
  // Index into `variables` of each output, in document order.
  std::vector<std::size_t> outputs;
  // Model exchange: the continuous states' derivatives in the order of the state vector (FMI 2:
  // ModelStructure/Derivatives; FMI 3: ModelStructure/ContinuousStateDerivative), as indices
  // into `variables`; each one's derivative_of is its state. An FMI 3 array counts its elements.
  std::vector<std::size_t> derivatives;
  std::size_t continuous_states = 0;
  // FMI 2: the numberOfEventIndicators attribute; FMI 3: the elements of the variables its
  // ModelStructure/EventIndicator elements name.
  std::size_t event_indicators = 0;

  const variable* find(std::string_view name) const;
};

// Parses `xml` (the text of `file`, for messages). invalid_argument with "FILE:LINE: <Element>:
// what is wrong; how to fix it" for the first problem found: not XML, not FMI 2.0/3.0, a missing
// or malformed required attribute, duplicate names or value references (FMI 2: per type), a
// start value that does not fit its type, an array dimension that does not resolve, a
// derivative that names no Float variable, a ModelStructure entry (Derivatives/Unknown,
// ContinuousStateDerivative, EventIndicator) that names no suitable variable.
result<model_description> parse_model_description(std::string_view xml, std::string_view file = "modelDescription.xml");

}  // namespace doppel::sim::fmi
