// Private to the DTDL front end's builder (builder.h): the builder class and the helpers its files
// share. The builder is split by concern: builder.cpp (arena, build_batch), builder_context.cpp
// (files and @context), builder_members.cpp (reading members: ids, types, names, strings, units),
// builder_elements.cpp (interfaces, contents, adjunct types), builder_schemas.cpp (schemas),
// builder_resolve.cpp (references, extends, flattening) and builder_checks.cpp (whole-model
// checks). Include only from those files.
#pragma once

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "core/json_input.h"
#include "core/text.h"
#include "model/conformance.h"
#include "model/detail/builder.h"
#include "model/detail/json_doc.h"
#include "model/detail/units.h"
#include "model/dtmi.h"

namespace doppel::model::detail {

inline constexpr std::size_t k_max_source_bytes = 64u << 20;
inline constexpr int k_max_extends_depth = 10;
inline constexpr int k_max_schema_depth = 5;
inline constexpr std::size_t k_v2_max_contents = 300;
inline constexpr std::size_t k_v2_max_extends = 2;
inline constexpr std::size_t k_v3_max_extends_closure = 1024;
inline constexpr std::size_t k_v3_max_elements = 100000;
inline constexpr std::size_t k_v3_max_interface_bytes = 1u << 20;

// ---- extensions ---------------------------------------------------------------------------

enum ext_bit : std::uint32_t {
  ext_quantitative = 1u << 0,
  ext_historization = 1u << 1,
  ext_annotation = 1u << 2,
  ext_overriding = 1u << 3,
  ext_mqtt = 1u << 4,
  ext_requirement = 1u << 5,
  ext_iotcentral = 1u << 6,
  ext_initialization = 1u << 7,
};

struct extension_info {
  std::string_view context;
  std::uint32_t bit;
  dtdl_version version;
  bool also_v2 = false;  // usable with DTDL v2 as well as `version`
};

inline constexpr extension_info k_extensions[] = {
    {"dtmi:dtdl:extension:quantitativeTypes;1", ext_quantitative, dtdl_version::v3},
    {"dtmi:dtdl:extension:historization;1", ext_historization, dtdl_version::v3},
    {"dtmi:dtdl:extension:annotation;1", ext_annotation, dtdl_version::v3},
    {"dtmi:dtdl:extension:overriding;1", ext_overriding, dtdl_version::v3},
    {"dtmi:dtdl:extension:mqtt;1", ext_mqtt, dtdl_version::v3},
    {"dtmi:dtdl:extension:requirement;1", ext_requirement, dtdl_version::v3},
    {"dtmi:iotcentral:context;2", ext_iotcentral, dtdl_version::v2},
    {"dtmi:dtdl:extension:initialization;1", ext_initialization, dtdl_version::v3, true},
};

inline constexpr std::string_view k_supported_extensions =
    "dtmi:dtdl:extension:quantitativeTypes;1, historization;1, annotation;1, overriding;1, mqtt;1, "
    "requirement;1 (DTDL v3), initialization;1 (DTDL v2 and v3) and dtmi:iotcentral:context;2 (DTDL v2)";

// Adjunct types an extension adds, the material types they may co-type, and their members.
struct adjunct_info {
  std::string_view term;
  std::uint32_t ext;
  std::string_view applies_to;  // comma-separated material types
};

inline constexpr adjunct_info k_adjuncts[] = {
    {"Historized", ext_historization, "Property,Telemetry"},
    {"Initialized", ext_initialization, "Property"},
    {"ValueAnnotation", ext_annotation, "Property,Telemetry"},
    {"Override", ext_overriding, "Property"},
    {"Mqtt", ext_mqtt, "Interface"},
    {"Idempotent", ext_mqtt, "Command"},
    {"Cacheable", ext_mqtt, "Command"},
    {"Indexed", ext_mqtt, "EnumValue,Field,Telemetry"},
    {"Required", ext_requirement, "Field"},
    {"State", ext_iotcentral, "Property,Telemetry"},
    {"Event", ext_iotcentral, "Telemetry"},
    {"Location", ext_iotcentral, "Property,Telemetry"},
    {"VelocityVector", ext_iotcentral, "Property,Telemetry"},
    {"AccelerationVector", ext_iotcentral, "Property,Telemetry"},
};

inline bool list_has(std::string_view list, std::string_view item) {
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    if (list.substr(start, comma == std::string_view::npos ? comma : comma - start) == item) return true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}

inline constexpr std::string_view k_material_types[] = {
    "Interface",       "Telemetry", "Property", "Command", "Relationship",   "Component",
    "Array",           "Enum",      "Map",      "Object",  "CommandPayload", "CommandRequest",
    "CommandResponse", "EnumValue", "Field",    "MapKey",  "MapValue"};

// Class and prefix terms DTDL v2 reserves besides the material types, semantic types, unit
// types and units: they are defined, so they cannot serve as undefined (informal) co-types.
inline constexpr std::string_view k_v2_reserved_types[] = {
    "Entity",        "NamedEntity",    "Schema",    "ComplexSchema", "PrimitiveSchema",
    "NumericSchema", "TemporalSchema", "Content",   "SchemaField",   "CommandType",
    "SemanticType",  "SemanticUnit",   "Unit",      "UnitAttribute", "QuantitativeType",
    "DecimalUnit",   "BinaryUnit",     "RatioUnit", "DecimalPrefix", "BinaryPrefix",
    "Boolean",       "Date",           "DateTime",  "Double",        "Duration",
    "Float",         "Integer",        "Long",      "String",        "Time",
    "atto",          "centi",          "deca",      "deci",          "exa",
    "femto",         "giga",           "hecto",     "kilo",          "mega",
    "micro",         "milli",          "nano",      "peta",          "pico",
    "tera",          "yocto",          "yotta",     "zepto",         "zetta",
    "kibi",          "mebi",           "gibi",      "tebi",          "pebi",
    "exbi",          "zebi",           "yobi"};

// Other terms the DTDL v2 context defines (instances and a unit prefix spelling): values, not
// types, so they cannot serve as co-types either.
inline constexpr std::string_view k_v2_reserved_terms[] = {
    "asynchronous", "synchronous", "boolean", "date",   "dateTime", "double", "duration",
    "float",        "integer",     "long",    "string", "time",     "deka"};

// Member terms DTDL defines: an informal co-type admits undefined members, not these where they
// do not belong.
inline constexpr std::string_view k_reserved_members[] = {
    "comment",         "contents",        "description", "displayName",
    "extends",         "schemas",         "name",        "schema",
    "writable",        "request",         "response",    "commandType",
    "minMultiplicity", "maxMultiplicity", "target",      "properties",
    "elementSchema",   "valueSchema",     "enumValues",  "enumValue",
    "mapKey",          "mapValue",        "fields",      "languageMajorVersion",
    "baseUnit",        "prefix",          "topUnit",     "bottomUnit",
    "symbol",          "exponent"};

inline bool is_material_type(std::string_view t) {
  return std::find(std::begin(k_material_types), std::end(k_material_types), t) != std::end(k_material_types);
}

struct active_context {
  dtdl_version version = dtdl_version::v3;
  std::uint32_t extensions = 0;
  bool unknown_extension = false;  // tolerated by option: its terms are accepted unchecked
  bool has(std::uint32_t bit) const { return (extensions & bit) != 0; }
};

inline std::string member_path(const std::string& parent, std::string_view key) {
  bool plain = is_valid_name(key) || key == "@id" || key == "@type" || key == "@context";
  if (plain) return parent + "." + std::string(key);
  return parent + "[" + quote(key) + "]";
}

inline std::string index_path(const std::string& parent, std::size_t i) {
  return parent + "[" + std::to_string(i) + "]";
}

// A JSON path. Most members are read without anything to report, so a member's path may be
// given as its parent's path and its key, and is then built on first use. Copies and moves
// are always built: a deferred path never outlives the parent path it points to.
class json_path {
 public:
  json_path() = default;
  json_path(std::string text) : text_(std::move(text)) {}  // NOLINT: paths are strings
  json_path(const char* text) : text_(text) {}             // NOLINT
  json_path(const json_path& other) : text_(other.str()) {}
  json_path(json_path&& other) : text_(other.parent_ ? other.str() : std::move(other.text_)) {}
  json_path& operator=(const json_path& other) {
    if (this != &other) {
      text_ = other.str();
      parent_ = nullptr;
    }
    return *this;
  }
  json_path& operator=(json_path&& other) {
    if (this != &other) {
      text_ = other.parent_ ? other.str() : std::move(other.text_);
      parent_ = nullptr;
    }
    return *this;
  }
  ~json_path() = default;

  // Makes this the path of member `key` (or of item `index`) of `parent`, built when first read.
  void defer(const json_path& parent, std::string_view key) {
    parent_ = &parent;
    key_ = key;
  }
  void defer(const json_path& parent, std::size_t index) {
    parent_ = &parent;
    index_ = index;
  }
  const std::string& str() const {
    if (parent_) {
      text_ = index_ != k_no_index ? index_path(parent_->str(), index_) : member_path(parent_->str(), key_);
      parent_ = nullptr;
    }
    return text_;
  }

 private:
  mutable std::string text_;
  static constexpr std::size_t k_no_index = static_cast<std::size_t>(-1);
  mutable const json_path* parent_ = nullptr;
  std::string_view key_;
  std::size_t index_ = k_no_index;
};

// A file and line:column, without the JSON path.
// Structural equality of two JSON values (object member order does not matter).
inline bool same_json(const jnode& a, const jnode& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case jnode::kind::null: return true;
    case jnode::kind::boolean: return a.boolean == b.boolean;
    case jnode::kind::integer: return a.integer == b.integer;
    case jnode::kind::number: return a.number == b.number;
    case jnode::kind::string: return a.text == b.text;
    case jnode::kind::array:
      if (a.items.size() != b.items.size()) return false;
      for (std::size_t i = 0; i < a.items.size(); ++i) {
        if (!same_json(a.items[i], b.items[i])) return false;
      }
      return true;
    case jnode::kind::object:
      if (a.members.size() != b.members.size()) return false;
      for (const auto& [k, v] : a.members) {
        const jnode* other = b.find(k);
        if (!other || !same_json(v, *other)) return false;
      }
      return true;
  }
  return false;
}

inline nlohmann::json to_json(const jnode& n) {
  switch (n.type) {
    case jnode::kind::null: return nullptr;
    case jnode::kind::boolean: return n.boolean;
    case jnode::kind::integer: return n.integer;
    case jnode::kind::number: return n.number;
    case jnode::kind::string: return std::string(n.text);
    case jnode::kind::array: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& i : n.items) a.push_back(to_json(i));
      return a;
    }
    case jnode::kind::object: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& [k, v] : n.members) o[std::string(k)] = to_json(v);
      return o;
    }
  }
  return nullptr;
}

struct place {
  std::uint32_t file = 0;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  const jnode* node = nullptr;  // the element defined there
};

// Where an element is: file, JSON path and line:column.
struct where_t {
  std::uint32_t file = 0;
  json_path path;
  std::uint32_t line = 0;
  std::uint32_t column = 0;

  where_t at(const jnode& n, std::string sub) const { return {file, std::move(sub), n.line, n.column}; }
  // The place of item `i` (the node `n`) of the array here; its path is built when first read.
  // The result must not outlive this where_t.
  where_t item(const jnode& n, std::size_t i) const {
    where_t w{file, {}, n.line, n.column};
    w.path.defer(path, i);
    return w;
  }
};

// Strips "prefix" and a ";N" suffix from a built-in DTMI, giving its term. `versions` lists the
// language versions whose DTMIs are meant ("2", "3", "23"); empty for unversioned DTMIs.
inline std::optional<std::string_view> strip_dtmi(std::string_view s, std::string_view prefix,
                                                  std::string_view versions) {
  if (s.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view rest = s.substr(prefix.size());
  if (!versions.empty()) {
    if (rest.size() < 3 || rest[rest.size() - 2] != ';') return std::nullopt;
    if (versions.find(rest.back()) == std::string_view::npos) return std::nullopt;
    rest.remove_suffix(2);
  }
  if (!is_valid_name(rest)) return std::nullopt;
  return rest;
}

inline std::string primitive_list(dtdl_version) {
  return "boolean, date, dateTime, double, duration, float, integer, long, string, time, or a geospatial "
         "schema (point, multiPoint, lineString, multiLineString, polygon, multiPolygon)";
}

// "an Interface", "a Property", ... for messages.
inline std::string article(std::string_view term) {
  bool vowel = !term.empty() && std::strchr("AEIOUaeiou", term[0]) != nullptr;
  return (vowel ? "an " : "a ") + std::string(term);
}

// "an object", "a string", ... for messages.
inline std::string a_kind(jnode::kind k) {
  std::string_view name = kind_name(k);
  if (k == jnode::kind::null) return "null";
  bool vowel = name[0] == 'a' || name[0] == 'o' || name[0] == 'i';
  return (vowel ? "an " : "a ") + std::string(name);
}

// ---- the builder --------------------------------------------------------------------------

class builder;

// Reads the members of one JSON object that is a DTDL element: normalises the DTMI spellings of
// member names, hands out members once each, and reports the ones nobody asked for.
class members {
 public:
  members(builder& b, const jnode& obj, const where_t& w, std::string_view element);

  const jnode* take(std::string_view term);
  // Where the member is (the element's place when it is absent). Built once per member, on demand.
  const where_t& where_of(std::string_view term) const;
  // Reports members not taken, unless unknown members are tolerated (informal co-types).
  void finish(bool tolerate_unknown, std::string_view allowed);

  const where_t& where() const { return where_; }
  std::string_view element() const { return element_; }
  const jnode& node() const { return obj_; }

 private:
  struct entry {
    std::string_view term;  // views into the document, which outlives this reader
    std::string_view key;
    const jnode* value;
    bool taken = false;
    mutable bool has_where = false;  // see where_of
    mutable where_t where;
  };
  builder& b_;
  const jnode& obj_;
  const where_t& where_;  // the caller's, which outlives this reader
  std::string_view element_;
  std::vector<entry> entries_;
};

struct classified_types {
  bool ok = true;
  bool informal = false;              // v2 open-world or unknown-extension co-type present
  std::string semantic_type;          // at most one
  std::vector<std::string> co_types;  // semantic and adjunct types, in order
  bool has(std::string_view t) const { return std::find(co_types.begin(), co_types.end(), t) != co_types.end(); }
};

struct pending_interface_ref {
  const interface** slot;
  std::string dtmi;
  where_t where;
  std::string_view what;  // "extends", "Component schema"
  dtdl_version from;      // of the referring element: v2 ones may not use v3 interfaces
};

struct pending_schema_ref {
  const schema** slot;
  std::string dtmi;
  where_t where;
  const interface* partition;
};

// A Field, MapKey, MapValue, command payload, EnumValue or relationship Property written as the
// DTMI of an element defined elsewhere in the same interface (a dependent reference). Resolved
// once every element of the batch is read.
struct pending_element_ref {
  enum class kind { named, enum_value, property };
  kind what = kind::named;
  void* slot = nullptr;  // named_schema* or enum_value* to fill; content* (a Relationship) to add to
  std::string dtmi;
  where_t where;
  const interface* partition = nullptr;
  std::string_view material;            // kind::named: the element expected ("Field", ...)
  const schema* enumeration = nullptr;  // kind::enum_value: the Enum holding the slot
};

struct iotcentral_check {
  const content* element;
  std::string co_type;
  where_t where;
};

struct annotation_check {
  const content* element;
  std::string annotates;
  where_t where;
};

class builder {
 public:
  builder(const std::vector<source>& sources, const registry_options& options, const id_table& existing, arena& out,
          id_table& ids, load_report& report)
      : sources_(sources), options_(options), existing_(existing), out_(out), ids_(ids), report_(report) {}

  void run() {
    for (std::uint32_t f = 0; f < sources_.size(); ++f) parse_file(f);
    resolve();
  }

  void error(const where_t& w, std::string message, std::string hint = {}) {
    diagnostic d;
    d.file = sources_[w.file].name;
    d.path = w.path.str();
    d.line = w.line;
    d.column = w.column;
    d.message = std::move(message);
    d.hint = std::move(hint);
    report_.errors.push_back(std::move(d));
  }

  dtdl_version version() const { return ctx_.version; }
  bool unknown_extension() const { return ctx_.unknown_extension; }

 private:
  // ---------------------------------------------------------------- files and contexts

  void parse_file(std::uint32_t f);

  void parse_top_level(const jnode& n, const where_t& w);

  // Applies an "@context" value to ctx_. Returns false when the element cannot be read.
  bool read_context(const jnode& n, const where_t& w, bool top_level);

  // A nested element may carry its own @context; returns the context to restore afterwards.
  bool enter_nested_context(const jnode& n, const where_t& w);

  // ---------------------------------------------------------------- member readers

 public:
  // A single-valued member may also be written as an array of one value.
  const jnode* single(const jnode* n, const where_t& w, std::string_view name, bool required);

  // {"@value": x, "@type": "xsd:..."} literal objects stand for x; their @type, when given, must
  // be the member's datatype `xsd` ("string", "integer", "boolean"). Null after an error.
  const jnode* literal(const jnode* n, const where_t& w, std::string_view xsd);

  std::optional<std::string> read_string(const jnode* raw, const where_t& w, std::string_view name, bool required,
                                         std::size_t max_len = 0);

  std::optional<std::int64_t> read_integer(const jnode* raw, const where_t& w, std::string_view name, bool required);

  std::optional<bool> read_bool(const jnode* raw, const where_t& w, std::string_view name);

 private:
  static bool valid_language(std::string_view tag);

  localized read_localized(const jnode* n, const where_t& w, std::string_view name, std::size_t max_len);

  // The versions of built-in DTMIs that name this element's own terms, and the versions of the
  // standard schemas it may use: DTDL v3 elements may use v2 elements, not the reverse.
  std::string_view own_version() const { return ctx_.version == dtdl_version::v2 ? "2" : "3"; }
  std::string_view usable_versions() const { return ctx_.version == dtdl_version::v2 ? "2" : "23"; }

  std::size_t max_name_length() const { return ctx_.version == dtdl_version::v2 ? 64 : 512; }
  std::size_t max_display_name_length() const { return ctx_.version == dtdl_version::v2 ? 64 : 512; }

  // displayName, description, comment: common to every element.
  template <class T>
  void read_common(members& m, T& into) {
    into.display_name =
        read_localized(m.take("displayName"), m.where_of("displayName"), "displayName", max_display_name_length());
    into.description = read_localized(m.take("description"), m.where_of("description"), "description", 512);
    if (const jnode* c = m.take("comment")) {
      if (auto s = read_string(c, m.where_of("comment"), "comment", false, 512)) into.comment = *s;
    }
  }

  std::string read_name(members& m);

  // Reads "@id"; registers it. Returns the id or empty.
  std::string read_id(members& m, bool required, bool is_interface, id_entry entry);

  // Normalises an @type value to its term.
  std::string normalise_type(std::string_view t);

  // Reads @type and checks that it holds `material` and only co-types allowed on it.
  classified_types read_types(members& m, std::string_view material, bool required);

  bool semantic_allowed(std::string_view material) const;

  std::optional<unit_table> semantic_table() const;

  bool classify_co_type(const std::string& term, std::string_view material, const where_t& w, classified_types& out);

  // unit member of semantically-typed elements; also checks the schema is numeric.
  void read_semantic_unit(members& m, const classified_types& types, std::string& semantic, std::string& unit,
                          const jnode* schema_node);

  // Standard schema term or DTMI -> primitive, or nullopt.
  std::optional<primitive_kind> standard_schema(std::string_view s) const;

  // ---------------------------------------------------------------- elements

  interface* parse_interface(const jnode& n, const where_t& w, const interface* /*parent*/);

  void read_mqtt_members(members& m, const classified_types& types);

  template <class F>
  void for_each_value(const jnode& n, const where_t& w, F&& f) {
    if (n.is_array()) {
      for (std::size_t i = 0; i < n.items.size(); ++i) f(n.items[i], w.item(n.items[i], i));
    } else {
      f(n, w);
    }
  }

  // An Interface given by DTMI (resolved later) or inline.
  void reference_interface(const jnode& v, const where_t& w, const interface** slot, std::string_view what);

  content* parse_content(const jnode& n, const where_t& w, interface* owner);

  content* parse_content_as(const jnode& n, const where_t& w, interface* owner, const std::string& material);

  void read_adjunct_members(members& m, const classified_types& types, content* c, interface* owner);

  // "index" of an Indexed element (mqtt extension): 1 or more, and unique among the siblings
  // that share `scope` (an interface's telemetries, an object's fields, an enum's values).
  void read_index(members& m, const void* scope);

  static bool looks_like_duration(std::string_view s);

  // A schema value: a standard term, a DTMI of a reusable schema, or an inline definition.
  void parse_schema_value(const jnode& n, const where_t& w, const schema** slot, const interface* partition);

  const schema* unit_type_schema(const std::string& unit_type);

  schema* parse_complex_schema(const jnode& n, const where_t& w, const interface* partition, bool require_id);

  schema* parse_complex_schema_in_context(const jnode& n, const where_t& w, const interface* partition,
                                          bool require_id);

  void parse_enum(members& m, schema& s, const where_t& w, const interface* partition);

  // A nested element whose @context switched it to DTDL v2 inside a DTDL v3 element, where DTDL v3
  // accepts only v3 elements (enum values, fields, map keys and values, command payloads; an
  // interface's `schemas` are checked in parse_complex_schema): reports it and returns false.
  bool v3_only_here(const active_context& outer, const where_t& w, std::string_view material);

  // `n` is the DTMI of an element defined elsewhere in the interface, given where DTDL expects
  // one (a dependent reference): records it for resolution and returns true. False, having
  // reported nothing, when `n` is not a string that looks like a DTMI; false with an error when
  // it is not a valid DTMI.
  bool element_reference(const jnode& n, const where_t& w, pending_element_ref ref);

  // Field, MapKey, MapValue, CommandPayload / CommandRequest / CommandResponse.
  void parse_named_schema(const jnode& n, const where_t& w, std::string_view material, named_schema& into,
                          const interface* partition, const void* index_scope = nullptr);

  // ---------------------------------------------------------------- resolution

  struct interface_info {
    interface* self;
    where_t where;
    std::vector<where_t> extends_where;
    std::uint32_t text_bytes;
  };

  const id_entry* lookup(const std::string& id) const;

  void resolve();

  // Fills the slots of dependent references (pending_element_ref), after schema references.
  void resolve_element_refs();

  // The schemas the IoT Central adjunct types require, once references are resolved.
  void check_iotcentral();

  // Cycles and depth of extends. Iterative: a chain may be as long as the input is large.
  void check_extends();

  // Computes ancestors and flattened contents (bases first), reporting duplicate names.
  void flatten(interface* i);

  // The one resolved base of `i`, or nullptr when it has none or several.
  static const interface* single_base(const interface& i);

  // With at most one base, inherited names were checked where they were declared: only the
  // interface's own names can clash, with each other or with an inherited one.
  void check_own_names(const interface& i, const interface_info& info);

  void check_contents();

  void check_all_names(const interface& iface, const interface_info& info);

  // Contents and extends limits, the text size limit and nested components.
  void check_limits(const interface& iface, const interface_info& info);

  void check_annotations();

  // True when one direct base of `i` already holds both contents: the clash is reported there.
  static bool clash_inherited_from_one_base(const interface& i, const content* a, const content* b);

  where_t where_of(const content* c, const where_t& fallback) const;

  // Schema nesting depth, reference cycles, v2 property restrictions, v3 element counts.
  void check_schemas();

  // initialValue (initialization extension) must be a value of the property's schema.
  void check_initial_values();

  friend class members;

  const std::vector<source>& sources_;
  const registry_options& options_;
  const id_table& existing_;
  arena& out_;
  id_table& ids_;
  load_report& report_;

  active_context ctx_;
  std::vector<std::pair<const extension_info*, where_t>> pending_extensions_;
  struct initial_value_check {
    content* element;
    const jnode* value;
    where_t where;
  };
  std::vector<initial_value_check> initial_values_;
  std::vector<json_parse_result> documents_;
  std::unordered_map<std::string, place> id_where_;  // where each new @id is, for duplicate messages
  std::vector<pending_interface_ref> pending_interfaces_;
  std::vector<pending_schema_ref> pending_schemas_;
  std::vector<pending_element_ref> pending_elements_;
  std::vector<annotation_check> annotations_;
  std::vector<iotcentral_check> iotcentral_checks_;
  std::unordered_map<const void*, std::set<std::int64_t>> indexes_;
  std::vector<interface_info> new_interfaces_;
  std::vector<std::uint32_t> inline_bytes_;  // per interface being parsed: text of inline interfaces in it
  std::unordered_map<const content*, where_t> content_where_;
  std::unordered_map<const schema*, where_t> schema_where_;
  std::unordered_map<std::string, const schema*> unit_type_schemas_;
  std::vector<const content*> v2_properties_;
  std::unordered_set<const interface*> cyclic_;
  std::unordered_set<const interface*> cycles_reported_;
  std::unordered_set<const interface*> flattened_;
  std::unordered_set<const interface*> owned_;  // interfaces of this batch
  std::unordered_set<const schema*> cycle_schemas_;
};

}  // namespace doppel::model::detail
