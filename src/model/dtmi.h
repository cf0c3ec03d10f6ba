// DTMI (Digital Twin Model Identifier) syntax, as the DTDL v2 and v3 specifications define it:
// dtmi:<segment>(:<segment>)*;<version>. Pure functions; safe for concurrent use.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "model/model.h"

namespace doppel::model {

// Longest DTMI of an Interface, and of any other element, that a model may declare.
inline constexpr std::size_t k_max_interface_dtmi_length = 128;
inline constexpr std::size_t k_max_dtmi_length = 2048;

// Empty when `s` is a valid DTMI for `version`; otherwise why it is not (for messages).
// v2 requires a version ";N"; v3 makes it optional and allows ";N.M".
std::string dtmi_problem(std::string_view s, dtdl_version version);

// True when `s` starts with "dtmi:" (whether or not it is valid).
inline bool looks_like_dtmi(std::string_view s) { return s.substr(0, 5) == "dtmi:"; }

// True for the names DTDL allows for contents, fields, enum values, ...:
// a letter, then letters, digits and underscores, not ending with an underscore.
bool is_valid_name(std::string_view s);

}  // namespace doppel::model
