// The resolved DTDL model: interfaces with their contents and schemas, as the rest of Doppel
// sees them after the front end (registry.h) has parsed, validated and linked the files.
//
// Everything here is immutable once a model_registry hands it out; pointers between elements
// stay valid for the life of the registry that owns them. Safe to read from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace doppel::model {

enum class dtdl_version : std::uint8_t { v2 = 2, v3 = 3 };

// Text in one or more languages ("en" for a plain string).
struct localized {
  std::vector<std::pair<std::string, std::string>> values;  // language tag -> text, source order

  bool empty() const { return values.empty(); }
  // The text in `lang`, else English, else the first one; empty when there is none.
  std::string_view text(std::string_view lang = "en") const;
};

// Standard schemas of DTDL v2/v3 plus the IoT Central v2 extension's geopoint and vector.
enum class primitive_kind : std::uint8_t {
  boolean,
  date,
  date_time,
  double_,
  duration,
  float_,
  integer,
  long_,
  string,
  time,
  point,
  multi_point,
  line_string,
  multi_line_string,
  polygon,
  multi_polygon,
  geopoint,
  vector,
};

// The DTDL term of a primitive ("dateTime", "lineString", ...).
std::string_view to_string(primitive_kind k);
bool is_numeric(primitive_kind k);
bool is_geospatial(primitive_kind k);

struct schema;

// A Field, MapKey, MapValue, CommandRequest/Response (v3) or CommandPayload (v2): a named slot
// with a schema.
struct named_schema {
  std::string name;
  std::string id;  // "@id" as written; empty when the document gave none
  localized display_name;
  localized description;
  std::string comment;
  const schema* type = nullptr;
  std::string semantic_type;  // e.g. "Temperature"; empty when none
  std::string unit;           // e.g. "degreeCelsius"; set with semantic_type
  bool required = false;      // Field co-typed "Required" (requirement extension)
};

struct enum_value {
  std::string name;
  std::string id;
  localized display_name;
  localized description;
  std::string comment;
  std::optional<std::int64_t> integer_value;  // for integer enums
  std::string string_value;                   // for string enums
};

struct schema {
  enum class kind : std::uint8_t { primitive, array, enumeration, map, object };

  kind type = kind::primitive;
  primitive_kind primitive = primitive_kind::string;  // kind::primitive
  std::string id;  // "@id" of a complex schema; empty for primitives and anonymous inline schemas
  localized display_name;
  localized description;
  std::string comment;

  const schema* element = nullptr;  // kind::array: elementSchema

  primitive_kind value_schema = primitive_kind::string;  // kind::enumeration: integer or string
  std::vector<enum_value> values;                        // kind::enumeration

  named_schema map_key;    // kind::map; its type is always string
  named_schema map_value;  // kind::map

  std::vector<named_schema> fields;  // kind::object

  // "integer", "Array<double>", "Enum dtmi:...", ... for messages.
  std::string describe() const;
};

struct interface;

enum class content_kind : std::uint8_t { telemetry, property, command, relationship, component };
std::string_view to_string(content_kind k);

struct content {
  content_kind kind = content_kind::property;
  std::string name;
  std::string id;
  localized display_name;
  localized description;
  std::string comment;
  std::vector<std::string> co_types;  // extra @type terms: semantic and extension types
  std::string semantic_type;          // e.g. "Temperature"
  std::string unit;                   // e.g. "degreeCelsius"

  const schema* type = nullptr;  // telemetry, property: its schema
  bool writable = false;         // property, relationship

  // Command payloads. Behind pointers because most contents are not commands: an inline
  // optional would make every content element several hundred bytes larger.
  std::unique_ptr<named_schema> request;   // command; null when it takes no request
  std::unique_ptr<named_schema> response;  // command; null when it has no response

  std::string target;                            // relationship: target interface DTMI; empty = any
  std::optional<std::int64_t> max_multiplicity;  // relationship; min is always 0
  std::vector<const content*> properties;        // relationship properties (kind::property)

  const interface* component = nullptr;  // component: the interface it holds

  std::string initial_value;  // property co-typed Initialized: its initialValue as JSON text

  const interface* declared_in = nullptr;  // the interface whose `contents` holds it
};

struct source_position {
  std::string file;
  std::string path;  // JSON path
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

struct interface {
  std::string id;
  dtdl_version version = dtdl_version::v3;
  std::vector<std::string> context;  // @context values in order
  localized display_name;
  localized description;
  std::string comment;
  std::vector<std::string> co_types;      // e.g. "Mqtt"
  std::vector<const interface*> extends;  // direct bases, in order
  std::vector<const content*> own_contents;
  std::vector<const schema*> schemas;  // reusable schemas declared in `schemas`
  source_position where;

  // Flattened: own contents and every inherited one, each once (bases first, in extends order).
  std::vector<const content*> contents;
  // Every interface this one extends, directly or not, each once.
  std::vector<const interface*> ancestors;

  const content* find(std::string_view name) const;
  // True when this interface is `dtmi` or extends it (transitively).
  bool is_a(std::string_view dtmi) const;
};

}  // namespace doppel::model
