#include "model/conformance.h"

#include <nlohmann/json.hpp>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/text.h"
#include "core/time.h"
#include "model/dtmi.h"

namespace doppel::model {

namespace {

std::string type_name(const nlohmann::json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

constexpr double k_exact_double = 9007199254740992.0;  // 2^53

bool integral(const nlohmann::json& v, std::int64_t lo, std::int64_t hi) {
  // is_number_integer() is also true for unsigned values, which get<int64_t>() would wrap.
  if (v.is_number_unsigned()) {
    auto x = v.get<std::uint64_t>();
    return hi >= 0 && x <= static_cast<std::uint64_t>(hi);
  }
  if (v.is_number_integer()) {
    auto x = v.get<std::int64_t>();
    return x >= lo && x <= hi;
  }
  if (v.is_number_float()) {
    // A number written with a fraction or exponent (1e2, 100.0) counts when it is a whole number
    // a double holds exactly (|d| < 2^53): beyond, the double is not what was written
    // (-9223372036854775809 reads as -2^63), so such integers must be written as digits, which
    // are parsed exactly over the whole int64 range.
    double d = v.get<double>();
    return std::isfinite(d) && std::floor(d) == d && std::fabs(d) < k_exact_double && d >= static_cast<double>(lo) &&
           d <= static_cast<double>(hi);
  }
  return false;
}

bool is_position(const nlohmann::json& v) {
  if (!v.is_array() || v.size() < 2 || v.size() > 3) return false;
  for (const auto& x : v) {
    if (!x.is_number()) return false;
  }
  return true;
}

bool positions(const nlohmann::json& v, std::size_t min) {
  if (!v.is_array() || v.size() < min) return false;
  for (const auto& p : v) {
    if (!is_position(p)) return false;
  }
  return true;
}

bool rings(const nlohmann::json& v) {
  if (!v.is_array() || v.empty()) return false;
  for (const auto& r : v) {
    if (!positions(r, 4)) return false;
  }
  return true;
}

// GeoJSON geometry of the given type (RFC 7946).
bool valid_geo(primitive_kind k, const nlohmann::json& v, std::string& why) {
  static constexpr std::pair<primitive_kind, const char*> names[] = {
      {primitive_kind::point, "Point"},
      {primitive_kind::multi_point, "MultiPoint"},
      {primitive_kind::line_string, "LineString"},
      {primitive_kind::multi_line_string, "MultiLineString"},
      {primitive_kind::polygon, "Polygon"},
      {primitive_kind::multi_polygon, "MultiPolygon"}};
  const char* name = "";
  for (const auto& [kind, n] : names) {
    if (kind == k) name = n;
  }
  if (!v.is_object() || !v.contains("type") || v["type"] != name || !v.contains("coordinates")) {
    why = std::string("expected a GeoJSON object {\"type\": \"") + name + "\", \"coordinates\": [...]}";
    return false;
  }
  const auto& c = v["coordinates"];
  bool ok = false;
  switch (k) {
    case primitive_kind::point: ok = is_position(c); break;
    case primitive_kind::multi_point: ok = positions(c, 0); break;
    case primitive_kind::line_string: ok = positions(c, 2); break;
    case primitive_kind::multi_line_string:
      ok = c.is_array();
      for (const auto& l : c) ok = ok && positions(l, 2);
      break;
    case primitive_kind::polygon: ok = rings(c); break;
    case primitive_kind::multi_polygon:
      ok = c.is_array();
      for (const auto& p : c) ok = ok && rings(p);
      break;
    default: break;
  }
  if (!ok) why = std::string("the coordinates are not a valid GeoJSON ") + name;
  return ok;
}

bool check_primitive(primitive_kind k, const nlohmann::json& v, std::string& why) {
  auto want = [&](const char* what) {
    why = std::string("expected ") + what + ", got " + type_name(v);
    return false;
  };
  switch (k) {
    case primitive_kind::boolean: return v.is_boolean() || want("a boolean");
    case primitive_kind::integer:
      return integral(v, std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max()) ||
             want("an integer from -2147483648 to 2147483647");
    case primitive_kind::long_:
      return integral(v, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()) ||
             want(
                 "a 64-bit integer from -9223372036854775808 to 9223372036854775807 (write integers beyond "
                 "+-2^53 as plain digits, without a fraction or exponent; in line protocol as 42i)");
    case primitive_kind::double_: return v.is_number() || want("a number");
    case primitive_kind::float_:
      if (!v.is_number()) return want("a number");
      if (std::fabs(v.get<double>()) > FLT_MAX) {
        why = "the number is too large for a float";
        return false;
      }
      return true;
    case primitive_kind::string: return v.is_string() || want("a string");
    case primitive_kind::date:
      if (!v.is_string()) return want("a date string such as \"2026-11-25\"");
      return is_valid_date(v.get_ref<const std::string&>()) || want("a date such as \"2026-11-25\"");
    case primitive_kind::date_time:
      if (!v.is_string()) return want("a dateTime string such as \"2026-11-25T08:30:00Z\"");
      return is_valid_date_time(v.get_ref<const std::string&>()) ||
             want("an RFC 3339 dateTime such as \"2026-11-25T08:30:00Z\"");
    case primitive_kind::time:
      if (!v.is_string()) return want("a time string such as \"08:30:00Z\"");
      return is_valid_time(v.get_ref<const std::string&>()) || want("a time such as \"08:30:00Z\"");
    case primitive_kind::duration:
      if (!v.is_string()) return want("an ISO 8601 duration string such as \"PT15M\"");
      return is_valid_duration(v.get_ref<const std::string&>()) || want("an ISO 8601 duration such as \"PT15M\"");
    case primitive_kind::geopoint:
      if (v.is_object() && v.contains("lat") && v.contains("lon") && v["lat"].is_number() && v["lon"].is_number() &&
          (!v.contains("alt") || v["alt"].is_number())) {
        return true;
      }
      return want("an object {\"lat\": number, \"lon\": number[, \"alt\": number]}");
    case primitive_kind::vector:
      if (v.is_object() && v.contains("x") && v.contains("y") && v.contains("z") && v["x"].is_number() &&
          v["y"].is_number() && v["z"].is_number()) {
        return true;
      }
      return want("an object {\"x\": number, \"y\": number, \"z\": number}");
    default: return valid_geo(k, v, why);
  }
}

std::string child_path(const std::string& path, const std::string& key) {
  if (is_valid_name(key)) return path + "." + key;
  return path + "[" + quote(key) + "]";
}

}  // namespace

bool is_valid_date(std::string_view s) { return is_rfc3339_date(s); }

bool is_valid_date_time(std::string_view s) { return is_rfc3339_date_time(s); }

bool is_valid_time(std::string_view s) { return is_rfc3339_time(s); }

bool is_valid_duration(std::string_view s) {
  // PnYnMnWnDTnHnMnS with at least one component; only the last may have a fraction.
  if (s.size() < 2 || s[0] != 'P') return false;
  bool in_time = false, any = false, fraction_seen = false;
  std::string_view date_units = "YMWD", time_units = "HMS";
  std::size_t unit_pos = 0;  // units must appear in order
  std::size_t i = 1;
  while (i < s.size()) {
    if (s[i] == 'T') {
      if (in_time || i + 1 == s.size()) return false;
      in_time = true;
      unit_pos = 0;
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
      ++i;
      std::size_t f = i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
      if (i == f) return false;
      fraction_seen = true;
    }
    if (i == start || i >= s.size()) return false;
    std::string_view units = in_time ? time_units : date_units;
    std::size_t u = units.find(s[i], unit_pos);
    if (u == std::string_view::npos) return false;
    unit_pos = u + 1;
    any = true;
    ++i;
    if (fraction_seen && i != s.size()) return false;
  }
  return any;
}

void normalize_integers(const schema& type, nlohmann::json& value) {
  switch (type.type) {
    case schema::kind::primitive:
      if ((type.primitive == primitive_kind::integer || type.primitive == primitive_kind::long_) &&
          value.is_number_float()) {
        double d = value.get<double>();
        if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < k_exact_double) {
          value = static_cast<std::int64_t>(d);
        }
      }
      return;
    case schema::kind::array:
      if (!value.is_array() || !type.element) return;
      for (auto& item : value) normalize_integers(*type.element, item);
      return;
    case schema::kind::enumeration:
      if (type.value_schema == primitive_kind::integer && value.is_number_float()) {
        double d = value.get<double>();
        if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < k_exact_double) {
          value = static_cast<std::int64_t>(d);
        }
      }
      return;
    case schema::kind::map:
      if (!value.is_object() || !type.map_value.type) return;
      for (auto& [k, v] : value.items()) normalize_integers(*type.map_value.type, v);
      return;
    case schema::kind::object:
      if (!value.is_object()) return;
      for (const auto& f : type.fields) {
        auto it = value.find(f.name);
        if (it != value.end() && f.type) normalize_integers(*f.type, *it);
      }
      return;
  }
}

bool check_value(const schema& type, const nlohmann::json& value, std::vector<value_error>& errors,
                 const std::string& path) {
  std::size_t before = errors.size();
  switch (type.type) {
    case schema::kind::primitive: {
      std::string why;
      if (!check_primitive(type.primitive, value, why)) errors.push_back({path, why});
      break;
    }
    case schema::kind::array:
      if (!value.is_array()) {
        errors.push_back({path, "expected an array (" + type.describe() + "), got " + type_name(value)});
        break;
      }
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (type.element) check_value(*type.element, value[i], errors, path + "[" + std::to_string(i) + "]");
      }
      break;
    case schema::kind::enumeration: {
      bool found = false;
      for (const auto& ev : type.values) {
        if (ev.integer_value ? (integral(value, INT32_MIN, INT32_MAX) && value.get<std::int64_t>() == *ev.integer_value)
                             : (value.is_string() && value.get_ref<const std::string&>() == ev.string_value)) {
          found = true;
          break;
        }
      }
      if (!found) {
        std::string allowed;
        for (std::size_t i = 0; i < type.values.size() && i < 12; ++i) {
          const auto& ev = type.values[i];
          allowed += (i ? ", " : "") + (ev.integer_value ? std::to_string(*ev.integer_value) : quote(ev.string_value));
        }
        if (type.values.size() > 12) allowed += ", ...";
        errors.push_back(
            {path, "not one of the enum's values (" + allowed + "); got " +
                       (value.is_string() ? quote(value.get_ref<const std::string&>())
                                          : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))});
      }
      break;
    }
    case schema::kind::map:
      if (!value.is_object()) {
        errors.push_back({path, "expected an object (a map), got " + type_name(value)});
        break;
      }
      for (const auto& [k, v] : value.items()) {
        if (k.empty()) errors.push_back({path, "a map key must not be empty"});
        if (type.map_value.type) check_value(*type.map_value.type, v, errors, child_path(path, k));
      }
      break;
    case schema::kind::object:
      if (!value.is_object()) {
        errors.push_back({path, "expected an object, got " + type_name(value)});
        break;
      }
      for (const auto& [k, v] : value.items()) {
        const named_schema* field = nullptr;
        for (const auto& f : type.fields) {
          if (f.name == k) field = &f;
        }
        if (!field) {
          std::string names;
          for (const auto& f : type.fields) names += (names.empty() ? "" : ", ") + f.name;
          errors.push_back({child_path(path, k), "unknown field " + quote(k) + "; the object's fields are: " + names});
          continue;
        }
        if (field->type) check_value(*field->type, v, errors, child_path(path, k));
      }
      for (const auto& f : type.fields) {
        if (f.required && !value.contains(f.name)) {
          errors.push_back({path, "missing required field " + quote(f.name)});
        }
      }
      break;
  }
  return errors.size() == before;
}

}  // namespace doppel::model
