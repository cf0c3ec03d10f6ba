// Checks JSON values against DTDL schemas: is this a valid value of that Property, Telemetry,
// command payload? Used by the twin graph and ingestion to reject bad data with a precise path.
// Pure functions; safe for concurrent use.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

#include "model/model.h"

namespace doppel::model {

struct value_error {
  std::string path;     // JSON path inside the value, e.g. $.settings.mode
  std::string message;  // what is wrong and what was expected
};

// Appends one error per problem found in `value` (as a value of `type`) to `errors`; the
// paths start with `path`. Returns true when nothing was wrong.
bool check_value(const schema& type, const nlohmann::json& value, std::vector<value_error>& errors,
                 const std::string& path = "$");

// Integer and long values (also inside arrays, maps and objects, and of integer enums) written
// with a fraction or exponent (1e2, 100.0) become the integers they are, so they are stored and
// answered as 100, not 100.0. Values check_value() would refuse are left as they are. Recursion
// follows the schema, whose nesting DTDL bounds.
void normalize_integers(const schema& type, nlohmann::json& value);

// Format checks for the string-encoded primitives (RFC 3339 / ISO 8601).
bool is_valid_date(std::string_view s);
bool is_valid_date_time(std::string_view s);
bool is_valid_time(std::string_view s);
bool is_valid_duration(std::string_view s);

}  // namespace doppel::model
