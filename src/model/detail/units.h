// Semantic types and units: DTDL v2's built-in table and the v3 QuantitativeTypes extension's.
// Immutable tables; safe for concurrent use.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace doppel::model::detail {

enum class unit_table { v2, quantitative_types_v1 };

// The unit type of a semantic type ("Temperature" -> "TemperatureUnit"), or empty when the
// table has no such semantic type.
std::string_view unit_type_of(unit_table t, std::string_view semantic_type);

// True when `unit` is one of the units of `unit_type`.
bool unit_belongs(unit_table t, std::string_view unit_type, std::string_view unit);

// True when `name` is a unit type ("TemperatureUnit") of the table.
bool is_unit_type(unit_table t, std::string_view name);

// True when `unit` is a unit of any unit type of the table.
bool is_unit(unit_table t, std::string_view unit);

// The units of a unit type, sorted; empty when unknown.
const std::vector<std::string>& units_of(unit_table t, std::string_view unit_type);

// Up to `max` units of a unit type joined with ", " (for hints).
std::string_view example_units(unit_table t, std::string_view unit_type);

}  // namespace doppel::model::detail
