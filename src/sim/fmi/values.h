// Values exchanged with an FMU, as Doppel holds them: one `scalar` per element, the FMI type
// saying how to read and print it. Parsing (start values, CSV cells, --set NAME=VALUE) checks
// the type's range; printing writes numbers in their shortest exact form, booleans as
// true/false and binaries as hex, as the FMI project's own tools do.
// Callers: the model description parser, the co-simulation runner, `doppel fmu`. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"
#include "sim/fmi/model_description.h"

namespace doppel::sim::fmi {

// float32/float64: double; signed integers and enumerations: int64; unsigned: uint64;
// boolean and clock: bool; string: std::string; binary: bytes.
using bytes = std::vector<std::uint8_t>;
using scalar = std::variant<double, std::int64_t, std::uint64_t, bool, std::string, bytes>;

bool parse_double(std::string_view text, double& out);
bool parse_unsigned(std::string_view text, std::uint64_t& out);

// `text` as a value of type `t` (numbers in C syntax, booleans true/false/1/0, binaries as hex
// digits). invalid_argument saying what was expected.
status parse_scalar(var_type t, std::string_view text, scalar& out);
// The value a type has when nothing else is known (0, false, "", no bytes).
scalar zero_of(var_type t);
// Appends `v` as text (no CSV quoting).
void format_scalar(var_type t, const scalar& v, std::string& out);

}  // namespace doppel::sim::fmi
