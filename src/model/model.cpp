#include "model/model.h"

#include <algorithm>

namespace doppel::model {

std::string_view localized::text(std::string_view lang) const {
  for (const auto& [l, t] : values) {
    if (l == lang) return t;
  }
  for (const auto& [l, t] : values) {
    if (l == "en") return t;
  }
  return values.empty() ? std::string_view{} : std::string_view(values.front().second);
}

std::string_view to_string(primitive_kind k) {
  switch (k) {
    case primitive_kind::boolean: return "boolean";
    case primitive_kind::date: return "date";
    case primitive_kind::date_time: return "dateTime";
    case primitive_kind::double_: return "double";
    case primitive_kind::duration: return "duration";
    case primitive_kind::float_: return "float";
    case primitive_kind::integer: return "integer";
    case primitive_kind::long_: return "long";
    case primitive_kind::string: return "string";
    case primitive_kind::time: return "time";
    case primitive_kind::point: return "point";
    case primitive_kind::multi_point: return "multiPoint";
    case primitive_kind::line_string: return "lineString";
    case primitive_kind::multi_line_string: return "multiLineString";
    case primitive_kind::polygon: return "polygon";
    case primitive_kind::multi_polygon: return "multiPolygon";
    case primitive_kind::geopoint: return "geopoint";
    case primitive_kind::vector: return "vector";
  }
  return "?";
}

bool is_numeric(primitive_kind k) {
  return k == primitive_kind::double_ || k == primitive_kind::float_ || k == primitive_kind::integer ||
         k == primitive_kind::long_;
}

bool is_geospatial(primitive_kind k) {
  return k == primitive_kind::point || k == primitive_kind::multi_point || k == primitive_kind::line_string ||
         k == primitive_kind::multi_line_string || k == primitive_kind::polygon || k == primitive_kind::multi_polygon;
}

std::string schema::describe() const {
  switch (type) {
    case kind::primitive: return std::string(to_string(primitive));
    case kind::array: return "Array<" + (element ? element->describe() : std::string("?")) + ">";
    case kind::enumeration: return "Enum" + (id.empty() ? std::string() : " " + id);
    case kind::map: return "Map<string, " + (map_value.type ? map_value.type->describe() : std::string("?")) + ">";
    case kind::object: return "Object" + (id.empty() ? std::string() : " " + id);
  }
  return "?";
}

std::string_view to_string(content_kind k) {
  switch (k) {
    case content_kind::telemetry: return "Telemetry";
    case content_kind::property: return "Property";
    case content_kind::command: return "Command";
    case content_kind::relationship: return "Relationship";
    case content_kind::component: return "Component";
  }
  return "?";
}

const content* interface::find(std::string_view name) const {
  for (const content* c : contents) {
    if (c->name == name) return c;
  }
  return nullptr;
}

bool interface::is_a(std::string_view dtmi) const {
  if (id == dtmi) return true;
  return std::any_of(ancestors.begin(), ancestors.end(), [&](const interface* a) { return a->id == dtmi; });
}

}  // namespace doppel::model
