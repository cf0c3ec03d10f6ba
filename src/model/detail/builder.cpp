#include "model/detail/builder.h"

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
#include "model/detail/json_doc.h"
#include "model/detail/units.h"
#include "model/dtmi.h"

namespace doppel::model::detail {

void arena::append(arena&& other) {
  for (auto& p : other.interfaces) interfaces.push_back(std::move(p));
  for (auto& p : other.contents) contents.push_back(std::move(p));
  for (auto& p : other.schemas) schemas.push_back(std::move(p));
  other = arena{};
}

const schema* primitive_schema(primitive_kind k) {
  // Immutable constants, built once.
  static const std::vector<schema> table = [] {
    std::vector<schema> t;
    for (int i = 0; i <= static_cast<int>(primitive_kind::vector); ++i) {
      schema s;
      s.type = schema::kind::primitive;
      s.primitive = static_cast<primitive_kind>(i);
      t.push_back(std::move(s));
    }
    return t;
  }();
  return &table[static_cast<std::size_t>(k)];
}

namespace {

constexpr std::size_t k_max_source_bytes = 64u << 20;
constexpr int k_max_extends_depth = 10;
constexpr int k_max_schema_depth = 5;
constexpr std::size_t k_v2_max_contents = 300;
constexpr std::size_t k_v2_max_extends = 2;
constexpr std::size_t k_v3_max_extends_closure = 1024;
constexpr std::size_t k_v3_max_elements = 100000;
constexpr std::size_t k_v3_max_interface_bytes = 1u << 20;

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

constexpr extension_info k_extensions[] = {
    {"dtmi:dtdl:extension:quantitativeTypes;1", ext_quantitative, dtdl_version::v3},
    {"dtmi:dtdl:extension:historization;1", ext_historization, dtdl_version::v3},
    {"dtmi:dtdl:extension:annotation;1", ext_annotation, dtdl_version::v3},
    {"dtmi:dtdl:extension:overriding;1", ext_overriding, dtdl_version::v3},
    {"dtmi:dtdl:extension:mqtt;1", ext_mqtt, dtdl_version::v3},
    {"dtmi:dtdl:extension:requirement;1", ext_requirement, dtdl_version::v3},
    {"dtmi:iotcentral:context;2", ext_iotcentral, dtdl_version::v2},
    {"dtmi:dtdl:extension:initialization;1", ext_initialization, dtdl_version::v3, true},
};

constexpr std::string_view k_supported_extensions =
    "dtmi:dtdl:extension:quantitativeTypes;1, historization;1, annotation;1, overriding;1, mqtt;1, "
    "requirement;1 (DTDL v3), initialization;1 (DTDL v2 and v3) and dtmi:iotcentral:context;2 (DTDL v2)";

// Adjunct types an extension adds, the material types they may co-type, and their members.
struct adjunct_info {
  std::string_view term;
  std::uint32_t ext;
  std::string_view applies_to;  // comma-separated material types
};

constexpr adjunct_info k_adjuncts[] = {
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

bool list_has(std::string_view list, std::string_view item) {
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    if (list.substr(start, comma == std::string_view::npos ? comma : comma - start) == item) return true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}

constexpr std::string_view k_material_types[] = {
    "Interface",       "Telemetry", "Property", "Command", "Relationship",   "Component",
    "Array",           "Enum",      "Map",      "Object",  "CommandPayload", "CommandRequest",
    "CommandResponse", "EnumValue", "Field",    "MapKey",  "MapValue"};

// Class and prefix terms DTDL v2 reserves besides the material types, semantic types, unit
// types and units: they are defined, so they cannot serve as undefined (informal) co-types.
constexpr std::string_view k_v2_reserved_types[] = {
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

// Member terms DTDL defines: an informal co-type admits undefined members, not these where they
// do not belong.
constexpr std::string_view k_reserved_members[] = {
    "comment",         "contents",        "description", "displayName",
    "extends",         "schemas",         "name",        "schema",
    "writable",        "request",         "response",    "commandType",
    "minMultiplicity", "maxMultiplicity", "target",      "properties",
    "elementSchema",   "valueSchema",     "enumValues",  "enumValue",
    "mapKey",          "mapValue",        "fields",      "languageMajorVersion",
    "baseUnit",        "prefix",          "topUnit",     "bottomUnit",
    "symbol",          "exponent"};

bool is_material_type(std::string_view t) {
  return std::find(std::begin(k_material_types), std::end(k_material_types), t) != std::end(k_material_types);
}

struct active_context {
  dtdl_version version = dtdl_version::v3;
  std::uint32_t extensions = 0;
  bool unknown_extension = false;  // tolerated by option: its terms are accepted unchecked
  bool has(std::uint32_t bit) const { return (extensions & bit) != 0; }
};

std::string member_path(const std::string& parent, std::string_view key) {
  bool plain = is_valid_name(key) || key == "@id" || key == "@type" || key == "@context";
  if (plain) return parent + "." + std::string(key);
  return parent + "[" + quote(key) + "]";
}

std::string index_path(const std::string& parent, std::size_t i) { return parent + "[" + std::to_string(i) + "]"; }

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
bool same_json(const jnode& a, const jnode& b) {
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

nlohmann::json to_json(const jnode& n) {
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
std::optional<std::string_view> strip_dtmi(std::string_view s, std::string_view prefix, std::string_view versions) {
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

std::string primitive_list(dtdl_version) {
  return "boolean, date, dateTime, double, duration, float, integer, long, string, time, or a geospatial "
         "schema (point, multiPoint, lineString, multiLineString, polygon, multiPolygon)";
}

// "an Interface", "a Property", ... for messages.
std::string article(std::string_view term) {
  bool vowel = !term.empty() && std::strchr("AEIOUaeiou", term[0]) != nullptr;
  return (vowel ? "an " : "a ") + std::string(term);
}

// "an object", "a string", ... for messages.
std::string a_kind(jnode::kind k) {
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

  void parse_file(std::uint32_t f) {
    const source& src = sources_[f];
    where_t top{f, "$", 1, 1};
    if (src.text.size() > k_max_source_bytes) {
      error(top, "model file is larger than 64 MiB", "split the models over several files");
      return;
    }
    json_parse_result parsed = parse_json(src.text, static_cast<std::uint32_t>(doppel::k_max_json_depth));
    if (!parsed.root) {
      top.line = parsed.error.line;
      top.column = parsed.error.column;
      error(top, parsed.error.message, "fix the JSON syntax at this position");
      return;
    }
    const jnode& root = *parsed.root;
    if (root.is_array()) {
      if (root.items.empty()) {
        error(top.at(root, "$"), "the file holds an empty array", "put one or more Interface objects in it");
      }
      for (std::size_t i = 0; i < root.items.size(); ++i) {
        parse_top_level(root.items[i], top.at(root.items[i], index_path("$", i)));
      }
    } else if (root.is_object()) {
      parse_top_level(root, top.at(root, "$"));
    } else {
      error(top.at(root, "$"),
            "a model file must hold an Interface object or an array of them, not " + a_kind(root.type));
    }
    // Kept for the batch: duplicate-@id checks compare definitions across files, and
    // initialValue is checked once schemas are resolved.
    documents_.push_back(std::move(parsed));
  }

  void parse_top_level(const jnode& n, const where_t& w) {
    if (!n.is_object()) {
      error(w, "expected an Interface object here, not " + a_kind(n.type));
      return;
    }
    const jnode* context = n.find("@context");
    if (!context) {
      error(w, "a top-level Interface needs \"@context\"",
            "add \"@context\": \"dtmi:dtdl:context;3\" (or \"dtmi:dtdl:context;2\" for DTDL v2)");
      return;
    }
    active_context saved = ctx_;
    ctx_ = active_context{};
    if (read_context(*context, w.at(*context, member_path(w.path.str(), "@context")), true)) {
      parse_interface(n, w, nullptr);
    }
    ctx_ = saved;
  }

  // Applies an "@context" value to ctx_. Returns false when the element cannot be read.
  bool read_context(const jnode& n, const where_t& w, bool top_level) {
    std::vector<std::pair<std::string, where_t>> values;
    if (n.is_string()) {
      values.emplace_back(n.text, w);
    } else if (n.is_array() && !n.items.empty()) {
      for (std::size_t i = 0; i < n.items.size(); ++i) {
        const jnode& it = n.items[i];
        where_t iw = w.at(it, index_path(w.path.str(), i));
        if (!it.is_string()) {
          error(iw, "each @context value must be a string DTMI, not " + a_kind(it.type));
          return false;
        }
        values.emplace_back(it.text, iw);
      }
    } else {
      error(w, "@context must be a string or a non-empty array of strings",
            "write \"@context\": \"dtmi:dtdl:context;3\"");
      return false;
    }
    std::optional<dtdl_version> dtdl;
    std::size_t dtdl_index = 0;
    std::optional<std::size_t> first_extension;
    bool ok = true;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < values.size(); ++i) {
      const auto& [v, vw] = values[i];
      if (!seen.insert(v).second) continue;  // a repeat is pointless but harmless
      if (v.size() > k_max_dtmi_length) {
        error(vw,
              "@context value is " + std::to_string(v.size()) + " characters long; DTDL allows at most " +
                  std::to_string(k_max_dtmi_length),
              "check the value: extension contexts are short DTMIs such as dtmi:dtdl:extension:historization;1");
        ok = false;
        continue;
      }
      if (v == "dtmi:dtdl:context;2" || v == "dtmi:dtdl:context;3") {
        // Several DTDL contexts are allowed (if discouraged); the last one in the array wins.
        dtdl = v.back() == '2' ? dtdl_version::v2 : dtdl_version::v3;
        dtdl_index = i;
        continue;
      }
      std::string problem = dtmi_problem(v, dtdl_version::v3);
      if (!problem.empty()) {
        error(vw, "@context value " + quote(v) + " is not a valid DTMI: " + problem);
        ok = false;
        continue;
      }
      if (v.find(';') == std::string::npos) {
        error(vw, "@context value " + quote(v) + " needs a version", "append the version, e.g. " + v + ";1");
        ok = false;
        continue;
      }
      if (v.rfind("dtmi:dtdl:context;", 0) == 0) {
        error(vw, "DTDL language version " + quote(v) + " is not supported",
              "Doppel reads DTDL v2 (dtmi:dtdl:context;2) and v3 (dtmi:dtdl:context;3)");
        ok = false;
        continue;
      }
      if (!first_extension) first_extension = i;
      const extension_info* ext = nullptr;
      for (const auto& e : k_extensions) {
        if (e.context == v) ext = &e;
      }
      if (!ext) {
        if (options_.allow_unknown_extensions) {
          ctx_.unknown_extension = true;
        } else {
          error(vw, "unknown extension context " + quote(v),
                "Doppel supports " + std::string(k_supported_extensions) +
                    "; remove the context or the terms that need it");
          ok = false;
        }
        continue;
      }
      pending_extensions_.emplace_back(ext, vw);
    }
    if (dtdl && first_extension && *first_extension < dtdl_index) {
      bool iotc_first = *dtdl == dtdl_version::v2 && dtdl_index == 1 && values[0].first == "dtmi:iotcentral:context;2";
      if (!iotc_first) {
        error(values[dtdl_index].second, "the DTDL context must come before extension contexts in @context",
              "move " + quote(values[dtdl_index].first) + " to the front of the @context array");
        ok = false;
      }
    } else if (dtdl == dtdl_version::v2 && dtdl_index != 0) {
      error(values[dtdl_index].second, "\"dtmi:dtdl:context;2\" must be the first value of @context",
            "remove the other DTDL contexts before it");
      ok = false;
    }
    if (dtdl && !top_level && ctx_.version == dtdl_version::v2 && *dtdl == dtdl_version::v3) {
      error(w, "a DTDL v2 element cannot contain DTDL v3 elements",
            "write this element in DTDL v2, or move the outer element to DTDL v3");
      ok = false;
    }
    if (!dtdl) {
      if (top_level) {
        error(w, "@context does not name a DTDL version",
              "start @context with \"dtmi:dtdl:context;3\" (or \"dtmi:dtdl:context;2\")");
        pending_extensions_.clear();
        return false;
      }
    } else {
      if (!top_level && *dtdl != ctx_.version) {
        // An element may switch language version; its extensions start afresh.
        ctx_.extensions = 0;
      }
      ctx_.version = *dtdl;
    }
    for (const auto& [ext, vw] : pending_extensions_) {
      if (ext->version != ctx_.version && !(ext->also_v2 && ctx_.version == dtdl_version::v2)) {
        error(vw, "extension " + quote(ext->context) + " is for DTDL v" +
                      std::to_string(static_cast<int>(ext->version)) + ", but this element is DTDL v" +
                      std::to_string(static_cast<int>(ctx_.version)));
        ok = false;
        continue;
      }
      ctx_.extensions |= ext->bit;
    }
    pending_extensions_.clear();
    if (ctx_.has(ext_overriding) && !ctx_.has(ext_annotation)) {
      error(w, "the overriding extension needs the annotation extension",
            "add \"dtmi:dtdl:extension:annotation;1\" to @context");
      ok = false;
    }
    return ok;
  }

  // A nested element may carry its own @context; returns the context to restore afterwards.
  bool enter_nested_context(const jnode& n, const where_t& w) {
    const jnode* c = n.find("@context");
    if (!c) return true;
    return read_context(*c, w.at(*c, member_path(w.path.str(), "@context")), false);
  }

  // ---------------------------------------------------------------- member readers

 public:
  // A single-valued member may also be written as an array of one value.
  const jnode* single(const jnode* n, const where_t& w, std::string_view name, bool required) {
    if (!n) return nullptr;
    if (n->is_array()) {
      if (n->items.empty()) {
        if (required) error(w, std::string(name) + " needs a value, not an empty array");
        return nullptr;
      }
      if (n->items.size() > 1) {
        error(w, std::string(name) + " takes one value, not " + std::to_string(n->items.size()), "keep a single value");
        return nullptr;
      }
      return &n->items[0];
    }
    return n;
  }

  // {"@value": x, "@type": "xsd:..."} literal objects stand for x.
  const jnode* literal(const jnode* n, const where_t& w) {
    if (!n || !n->is_object()) return n;
    const jnode* v = n->find("@value");
    if (!v) return n;
    for (const auto& [k, val] : n->members) {
      if (k.empty() || k[0] != '@' || k == "@id" || k == "@context" || k == "@graph") {
        error(w, "a value object may only hold @value and @type, not " + quote(k));
        return nullptr;
      }
      if (ctx_.version == dtdl_version::v3 && k != "@value" && k != "@type") {
        error(w, "a value object may only hold @value and @type, not " + quote(k));
        return nullptr;
      }
    }
    return v;
  }

  std::optional<std::string> read_string(const jnode* raw, const where_t& w, std::string_view name, bool required,
                                         std::size_t max_len = 0) {
    const jnode* n = literal(single(raw, w, name, required), w);
    if (!n) {
      if (required && !raw) error(w, "missing required member " + quote(name));
      return std::nullopt;
    }
    if (!n->is_string()) {
      error(w, std::string(name) + " must be a string, not " + a_kind(n->type));
      return std::nullopt;
    }
    if (max_len && utf8_length(n->text) > max_len) {
      error(w,
            std::string(name) + " is " + std::to_string(utf8_length(n->text)) + " characters long; DTDL v" +
                std::to_string(static_cast<int>(ctx_.version)) + " allows at most " + std::to_string(max_len),
            "shorten it");
      return std::nullopt;
    }
    return std::string(n->text);
  }

  std::optional<std::int64_t> read_integer(const jnode* raw, const where_t& w, std::string_view name, bool required) {
    const jnode* n = literal(single(raw, w, name, required), w);
    if (!n) {
      if (required && !raw) error(w, "missing required member " + quote(name));
      return std::nullopt;
    }
    if (!n->is_integer() || n->integer < std::numeric_limits<std::int32_t>::min() ||
        n->integer > std::numeric_limits<std::int32_t>::max()) {
      error(w,
            std::string(name) + " must be a 32-bit integer, not " +
                (n->type == jnode::kind::number ? std::string("a fractional or too large number") : a_kind(n->type)));
      return std::nullopt;
    }
    return n->integer;
  }

  std::optional<bool> read_bool(const jnode* raw, const where_t& w, std::string_view name) {
    const jnode* n = literal(single(raw, w, name, false), w);
    if (!n) return std::nullopt;
    if (n->type != jnode::kind::boolean) {
      error(w, std::string(name) + " must be true or false, not " + a_kind(n->type));
      return std::nullopt;
    }
    return n->boolean;
  }

 private:
  static bool valid_language(std::string_view tag) {
    // ^[a-z]{2,4}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$
    std::size_t i = 0;
    while (i < tag.size() && tag[i] >= 'a' && tag[i] <= 'z') ++i;
    if (i < 2 || i > 4) return false;
    auto rest = tag.substr(i);
    auto all = [](std::string_view s, auto pred) { return std::all_of(s.begin(), s.end(), pred); };
    auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
    auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (rest.size() >= 5 && rest[0] == '-' && upper(rest[1]) && all(rest.substr(2, 3), lower) &&
        (rest.size() == 5 || rest[5] == '-')) {
      rest = rest.substr(5);
    }
    if (rest.empty()) return true;
    if (rest[0] != '-') return false;
    rest = rest.substr(1);
    return (rest.size() == 2 && all(rest, upper)) || (rest.size() == 3 && all(rest, digit));
  }

  localized read_localized(const jnode* n, const where_t& w, std::string_view name, std::size_t max_len) {
    localized out;
    if (!n) return out;
    auto add = [&](std::string lang, const jnode& v, const where_t& vw) {
      if (!v.is_string()) {
        error(vw, std::string(name) + " text must be a string, not " + a_kind(v.type));
        return;
      }
      if (utf8_length(v.text) > max_len) {
        error(vw,
              std::string(name) + " is " + std::to_string(utf8_length(v.text)) + " characters long; DTDL v" +
                  std::to_string(static_cast<int>(ctx_.version)) + " allows at most " + std::to_string(max_len),
              "shorten it");
        return;
      }
      for (const auto& [l, t] : out.values) {
        if (l == lang) {
          error(vw, std::string(name) + " gives language " + quote(lang) + " twice", "keep one text per language");
          return;
        }
      }
      out.values.emplace_back(std::move(lang), v.text);
    };
    if (n->is_string()) {
      add("en", *n, w);
    } else if (n->is_object()) {
      if (n->find("@value")) {
        error(w, "a {\"@value\", \"@language\"} text object must be inside an array",
              "write " + std::string(name) + ": [{\"@value\": \"...\", \"@language\": \"en\"}] or a language map");
        return out;
      }
      for (const auto& [lang, v] : n->members) {
        where_t vw = w.at(v, member_path(w.path.str(), lang));
        if (!valid_language(lang)) {
          error(vw, "language tag " + quote(lang) + " is not valid",
                "use a tag such as \"en\", \"de\", \"en-US\" or \"zh-Hans\"");
          continue;
        }
        add(std::string(lang), v, vw);
      }
    } else if (n->is_array()) {
      bool has_default = false;
      for (std::size_t i = 0; i < n->items.size(); ++i) {
        const jnode& it = n->items[i];
        where_t iw = w.at(it, index_path(w.path.str(), i));
        std::string lang = "en";
        const jnode* text = &it;
        bool is_default = true;
        if (it.is_object()) {
          text = it.find("@value");
          if (!text) {
            error(iw, "a text object in " + std::string(name) + " needs \"@value\"");
            continue;
          }
          for (const auto& [k, v] : it.members) {
            // DTDL v2 only discourages other keywords here; v3 forbids them.
            bool tolerated = ctx_.version == dtdl_version::v2 && !k.empty() && k[0] == '@' && k != "@id" &&
                             k != "@context" && k != "@graph";
            if (k != "@value" && k != "@language" && !tolerated) {
              error(iw.at(v, member_path(iw.path.str(), k)),
                    "a text object may only hold @value and @language, not " + quote(k));
            }
          }
          if (const jnode* l = it.find("@language")) {
            if (!l->is_string() || !valid_language(l->text)) {
              error(iw.at(*l, member_path(iw.path.str(), "@language")),
                    "@language must be a language tag such as \"en\"");
              continue;
            }
            lang = l->text;
            is_default = lang == "en";
          }
        } else if (!it.is_string()) {
          error(iw, std::string(name) + " entries must be strings or {\"@value\", \"@language\"} objects");
          continue;
        }
        if (is_default) {
          if (has_default) {
            error(iw, std::string(name) + " has more than one English/default text", "keep one");
            continue;
          }
          has_default = true;
        }
        add(lang, *text, iw);
      }
    } else {
      error(w, std::string(name) + " must be a string, a language map or an array of texts, not " + a_kind(n->type));
    }
    return out;
  }

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

  std::string read_name(members& m) {
    const jnode* raw = m.take("name");
    const where_t& w = m.where_of("name");
    if (!raw) {
      error(m.where(), article(m.element()) + " needs a \"name\"",
            "add \"name\": \"myName\" (a letter, then letters, digits or '_')");
      return {};
    }
    auto s = read_string(raw, w, "name", true, max_name_length());
    if (!s) return {};
    if (!is_valid_name(*s)) {
      error(w, "name " + quote(*s) + " is not a valid DTDL name",
            "start with a letter, use only letters, digits and '_', and do not end with '_'");
      return {};
    }
    return *s;
  }

  // Reads "@id"; registers it. Returns the id or empty.
  std::string read_id(members& m, bool required, bool is_interface, id_entry entry) {
    const jnode* raw = m.take("@id");
    const where_t& w = m.where_of("@id");
    if (!raw) {
      if (required) {
        error(m.where(), article(m.element()) + " needs an \"@id\"",
              "add \"@id\": \"dtmi:com:example:" + std::string(m.element()) + ";1\"");
      }
      return {};
    }
    if (!raw->is_string()) {
      error(w, "@id must be a string DTMI, not " + a_kind(raw->type));
      return {};
    }
    const std::string id(raw->text);
    std::string problem = dtmi_problem(id, ctx_.version);
    if (!problem.empty()) {
      error(w, "@id " + quote(id) + " is not a valid DTMI: " + problem, "write it like dtmi:com:example:Thing;1");
      return {};
    }
    std::size_t limit = is_interface ? k_max_interface_dtmi_length : k_max_dtmi_length;
    if (id.size() > limit) {
      error(w,
            "@id is " + std::to_string(id.size()) + " characters long; an " +
                std::string(is_interface ? "Interface" : "element") + " DTMI may have at most " + std::to_string(limit),
            "shorten the DTMI");
      return {};
    }
    if (id.rfind("dtmi:dtdl:", 0) == 0 || id.rfind("dtmi:standard:", 0) == 0) {
      error(w, "@id " + quote(id) + " uses a prefix reserved for DTDL itself",
            "use your own namespace, e.g. dtmi:com:yourcompany:...");
      return {};
    }
    auto existing = existing_.find(id);
    if (existing != existing_.end()) {
      error(w, "@id " + quote(id) + " is already loaded",
            "each DTMI may be defined once; bump the version to change a model");
      return {};
    }
    auto [it, inserted] = ids_.emplace(id, entry);
    if (!inserted) {
      auto prev = id_where_.find(id);
      // JSON-LD reads two identical definitions of one @id as one element described twice, and
      // published ontologies (RealEstateCore) repeat shared properties this way: accept them.
      // Interfaces are not repeated so: two files defining one is a copy to clean up.
      if (!is_interface && prev != id_where_.end() && prev->second.node && same_json(*prev->second.node, m.node())) {
        return id;
      }
      std::string at = prev != id_where_.end()
                           ? " (first defined at " + sources_[prev->second.file].name + ":" +
                                 std::to_string(prev->second.line) + ":" + std::to_string(prev->second.column) + ")"
                           : "";
      error(w, "@id " + quote(id) + " is defined twice" + at, "give each element its own DTMI");
      return {};
    }
    id_where_.emplace(id, place{w.file, w.line, w.column, &m.node()});
    return id;
  }

  // Normalises an @type value to its term.
  std::string normalise_type(std::string_view t) {
    if (!looks_like_dtmi(t)) return std::string(t);
    if (auto s = strip_dtmi(t, "dtmi:dtdl:class:", own_version())) return std::string(*s);
    if (auto s = strip_dtmi(t, "dtmi:standard:class:", own_version())) return std::string(*s);
    if (auto s = strip_dtmi(t, "dtmi:dtdl:extension:quantitativeTypes:v1:class:", "")) return std::string(*s);
    for (std::string_view ext :
         {"historization", "annotation", "overriding", "mqtt", "requirement", "initialization"}) {
      std::string prefix = "dtmi:dtdl:extension:" + std::string(ext) + ":v1:";
      if (auto s = strip_dtmi(t, prefix, "")) return std::string(*s);
    }
    if (auto s = strip_dtmi(t, "dtmi:iotcentral:class:", "2")) return std::string(*s);
    return std::string(t);
  }

  // Reads @type and checks that it holds `material` and only co-types allowed on it.
  classified_types read_types(members& m, std::string_view material, bool required) {
    classified_types out;
    const jnode* raw = m.take("@type");
    const where_t& w = m.where_of("@type");
    if (!raw) {
      if (required) {
        error(m.where(), "missing \"@type\"; this element must say what it is",
              "add \"@type\": \"" + std::string(material) + "\"");
        out.ok = false;
      }
      return out;
    }
    // The terms and, built only for messages, where each is.
    std::vector<const jnode*> terms;
    auto where_of_term = [&](std::size_t k) {
      return raw->is_array() ? w.at(*terms[k], index_path(w.path.str(), k)) : w;
    };
    if (raw->is_string()) {
      terms.push_back(raw);
    } else if (raw->is_array() && !raw->items.empty()) {
      for (std::size_t i = 0; i < raw->items.size(); ++i) {
        const jnode& it = raw->items[i];
        if (!it.is_string()) {
          error(w.at(it, index_path(w.path.str(), i)), "@type values must be strings");
          out.ok = false;
          return out;
        }
        terms.push_back(&it);
      }
    } else {
      error(w, "@type must be a string or a non-empty array of strings");
      out.ok = false;
      return out;
    }
    bool has_material = false;
    std::vector<std::pair<std::string, where_t>> others;  // other material types
    for (std::size_t k = 0; k < terms.size(); ++k) {
      std::string_view t = terms[k]->text;
      if (looks_like_dtmi(t)) {
        std::string problem = dtmi_problem(t, ctx_.version);
        if (!problem.empty()) {
          error(where_of_term(k), "@type value " + quote(t) + " is not a valid DTMI: " + problem);
          out.ok = false;
          continue;
        }
      }
      std::string term = normalise_type(t);
      if (term == material) {
        has_material = true;
        continue;
      }
      if (is_material_type(term)) {
        others.emplace_back(term, where_of_term(k));
        out.ok = false;
        continue;
      }
      if (classify_co_type(term, material, where_of_term(k), out)) continue;
      out.ok = false;
    }
    if (!has_material) {
      std::string instead = others.empty() ? std::string() : ", not " + quote(others.front().first);
      error(w, "@type must include " + quote(material) + " here" + instead,
            "write \"@type\": \"" + std::string(material) + "\" (co-types go in an array after it)");
      out.ok = false;
    } else {
      for (const auto& [term, tw] : others) {
        error(tw, "@type says both " + std::string(material) + " and " + term,
              "an element has one kind; keep \"" + std::string(material) + "\"");
      }
    }
    return out;
  }

  bool semantic_allowed(std::string_view material) const {
    if (ctx_.version == dtdl_version::v2) return material == "Telemetry" || material == "Property";
    return material == "Telemetry" || material == "Property" || material == "CommandRequest" ||
           material == "CommandResponse" || material == "Field" || material == "MapValue";
  }

  std::optional<unit_table> semantic_table() const {
    if (ctx_.version == dtdl_version::v2) return unit_table::v2;
    if (ctx_.has(ext_quantitative)) return unit_table::quantitative_types_v1;
    return std::nullopt;
  }

  bool classify_co_type(const std::string& term, std::string_view material, const where_t& w, classified_types& out) {
    // Semantic types.
    auto table = semantic_table();
    bool known_v2_semantic = !unit_type_of(unit_table::v2, term).empty();
    bool known_qt_semantic = !unit_type_of(unit_table::quantitative_types_v1, term).empty();
    if (table && !unit_type_of(*table, term).empty()) {
      if (!semantic_allowed(material)) {
        error(w, "semantic type " + quote(term) + " cannot be used on " + article(material),
              ctx_.version == dtdl_version::v2 ? "DTDL v2 allows semantic types on Telemetry and Property only"
                                               : "semantic types apply to Telemetry, Property, CommandRequest, "
                                                 "CommandResponse, Field and MapValue");
        return false;
      }
      if (!out.semantic_type.empty()) {
        if (ctx_.version == dtdl_version::v2 || unit_type_of(*table, term) != unit_type_of(*table, out.semantic_type)) {
          error(w, "an element may have one semantic type; it has " + quote(out.semantic_type) + " and " + quote(term),
                "keep one semantic type");
          return false;
        }
      } else {
        out.semantic_type = term;
      }
      out.co_types.push_back(term);
      return true;
    }
    // Extension adjunct types.
    for (const auto& a : k_adjuncts) {
      if (a.term != term) continue;
      if (!ctx_.has(a.ext)) break;  // not active: fall through to the undefined-term rules
      if (!list_has(a.applies_to, material)) {
        error(w, "co-type " + quote(term) + " cannot be used on " + article(material),
              "it applies to " + std::string(a.applies_to));
        return false;
      }
      out.co_types.push_back(term);
      return true;
    }
    if (ctx_.unknown_extension) {
      out.informal = true;
      out.co_types.push_back(term);
      return true;
    }
    if (ctx_.version == dtdl_version::v2) {
      // DTDL v2 is open-world: an undefined co-type is allowed and opens the element to
      // members of its own. Terms DTDL reserves are not undefined.
      bool reserved = known_v2_semantic || is_unit_type(unit_table::v2, term) || is_unit(unit_table::v2, term) ||
                      std::find(std::begin(k_v2_reserved_types), std::end(k_v2_reserved_types), term) !=
                          std::end(k_v2_reserved_types);
      if (!reserved) {
        out.informal = true;
        out.co_types.push_back(term);
        return true;
      }
      error(w, "co-type " + quote(term) + " cannot be used on " + article(material));
      return false;
    }
    if (known_qt_semantic) {
      error(w, "semantic type " + quote(term) + " needs the QuantitativeTypes extension",
            "use \"@context\": [\"dtmi:dtdl:context;3\", \"dtmi:dtdl:extension:quantitativeTypes;1\"]");
      return false;
    }
    for (const auto& a : k_adjuncts) {
      if (a.term == term) {
        const extension_info* ext = nullptr;
        for (const auto& e : k_extensions) {
          if (e.bit == a.ext) ext = &e;
        }
        error(w, "co-type " + quote(term) + " needs the extension " + quote(ext ? ext->context : "?"),
              "add it to @context after dtmi:dtdl:context;3");
        return false;
      }
    }
    error(w, "unknown @type term " + quote(term),
          "DTDL v3 only allows terms the language or an extension in @context defines");
    return false;
  }

  // unit member of semantically-typed elements; also checks the schema is numeric.
  void read_semantic_unit(members& m, const classified_types& types, std::string& semantic, std::string& unit,
                          const jnode* schema_node) {
    const jnode* raw = m.take("unit");
    const where_t& w = m.where_of("unit");
    bool vector_unit = types.has("VelocityVector") || types.has("AccelerationVector");
    if (types.semantic_type.empty()) {
      if (raw && vector_unit) {
        std::string_view unit_type = types.has("VelocityVector") ? "VelocityUnit" : "AccelerationUnit";
        if (auto u = read_string(raw, w, "unit", false)) {
          std::string term = *u;
          if (auto t = strip_dtmi(term, "dtmi:standard:unit:", own_version())) term = std::string(*t);
          if (unit_belongs(unit_table::v2, unit_type, term)) {
            unit = term;
          } else {
            error(w, "unit " + quote(*u) + " is not a unit of " + std::string(unit_type),
                  "use one of: " + std::string(example_units(unit_table::v2, unit_type)));
          }
        }
        return;
      }
      if (raw && !types.informal) {
        error(w, "unit is only allowed together with a semantic type",
              ctx_.version == dtdl_version::v2
                  ? "add a semantic type, e.g. \"@type\": [\"Telemetry\", \"Temperature\"]"
                  : "add the QuantitativeTypes extension and a semantic type, e.g. [\"Telemetry\", \"Temperature\"]");
      }
      return;
    }
    semantic = types.semantic_type;
    auto table = *semantic_table();
    std::string_view unit_type = unit_type_of(table, semantic);
    if (!raw) {
      error(m.where(), "semantic type " + quote(semantic) + " needs a \"unit\"",
            "add \"unit\" with one of: " + std::string(example_units(table, unit_type)));
    } else if (auto u = read_string(raw, w, "unit", true)) {
      std::string term = *u;
      if (auto s = strip_dtmi(term, "dtmi:standard:unit:", own_version())) term = std::string(*s);
      if (auto s = strip_dtmi(term, "dtmi:dtdl:extension:quantitativeTypes:v1:unit:", "")) term = std::string(*s);
      if (!unit_belongs(table, unit_type, term)) {
        error(w, "unit " + quote(*u) + " is not a unit of " + std::string(unit_type) + " (for " + semantic + ")",
              "use one of: " + std::string(example_units(table, unit_type)));
      } else {
        unit = term;
      }
    }
    // The schema of a semantically typed element must be numeric.
    // A malformed schema member is reported where it is read; here only a readable one counts.
    const jnode* s = schema_node;
    if (s && s->is_array()) s = s->items.size() == 1 ? &s->items[0] : nullptr;
    if (s) {
      std::optional<primitive_kind> p = s->is_string() ? standard_schema(s->text) : std::nullopt;
      // An unknown schema term is reported as such; saying it is not numeric would repeat that.
      bool unknown_term = s->is_string() && !p && !looks_like_dtmi(s->text) &&
                          !(ctx_.has(ext_quantitative) && is_unit_type(unit_table::quantitative_types_v1, s->text));
      if (!unknown_term && (!p || !is_numeric(*p))) {
        error(m.where_of("schema"), "semantic type " + quote(semantic) + " needs a numeric schema",
              "use double, float, integer or long");
      }
    }
  }

  // Standard schema term or DTMI -> primitive, or nullopt.
  std::optional<primitive_kind> standard_schema(std::string_view s) const {
    static constexpr std::pair<std::string_view, primitive_kind> terms[] = {
        {"boolean", primitive_kind::boolean},
        {"date", primitive_kind::date},
        {"dateTime", primitive_kind::date_time},
        {"double", primitive_kind::double_},
        {"duration", primitive_kind::duration},
        {"float", primitive_kind::float_},
        {"integer", primitive_kind::integer},
        {"long", primitive_kind::long_},
        {"string", primitive_kind::string},
        {"time", primitive_kind::time},
        {"point", primitive_kind::point},
        {"multiPoint", primitive_kind::multi_point},
        {"lineString", primitive_kind::line_string},
        {"multiLineString", primitive_kind::multi_line_string},
        {"polygon", primitive_kind::polygon},
        {"multiPolygon", primitive_kind::multi_polygon},
    };
    std::string_view term = s;
    if (auto t = strip_dtmi(s, "dtmi:dtdl:instance:Schema:", usable_versions()))
      term = *t;
    else if (auto g = strip_dtmi(s, "dtmi:standard:schema:geospatial:", usable_versions()))
      term = *g;
    else if (looks_like_dtmi(s)) {
      if (ctx_.has(ext_iotcentral)) {
        if (s == "dtmi:iotcentral:schema:geopoint;2") return primitive_kind::geopoint;
        if (s == "dtmi:iotcentral:schema:vector;2") return primitive_kind::vector;
      }
      return std::nullopt;
    }
    for (const auto& [name, kind] : terms) {
      if (name == term) return kind;
    }
    if (ctx_.has(ext_iotcentral)) {
      if (term == "geopoint") return primitive_kind::geopoint;
      if (term == "vector") return primitive_kind::vector;
    }
    return std::nullopt;
  }

  // ---------------------------------------------------------------- elements

  interface* parse_interface(const jnode& n, const where_t& w, const interface* /*parent*/) {
    members m(*this, n, w, "Interface");
    auto iface = std::make_unique<interface>();
    interface* self = iface.get();
    out_.interfaces.push_back(std::move(iface));
    self->version = ctx_.version;
    self->where = {sources_[w.file].name, w.path.str(), w.line, w.column};
    if (const jnode* c = n.find("@context")) {
      if (c->is_string()) self->context.emplace_back(c->text);
      for (const auto& it : c->items) {
        if (it.is_string()) self->context.emplace_back(it.text);
      }
    }
    m.take("@context");
    classified_types types = read_types(m, "Interface", true);
    self->co_types = types.co_types;
    self->id = read_id(m, true, true, {id_entry::kind::interface, self, self});
    read_common(m, *self);
    interface_info info{self, w, {}, n.end - n.offset};
    inline_bytes_.push_back(0);
    read_mqtt_members(m, types);

    // extends
    if (const jnode* ext = m.take("extends")) {
      const where_t& ew = m.where_of("extends");
      std::vector<std::pair<const jnode*, where_t>> values;
      if (ext->is_array()) {
        for (std::size_t i = 0; i < ext->items.size(); ++i) {
          values.emplace_back(&ext->items[i], ew.at(ext->items[i], index_path(ew.path.str(), i)));
        }
      } else {
        values.emplace_back(ext, ew);
      }
      if (ctx_.version == dtdl_version::v2 && values.size() > k_v2_max_extends) {
        error(ew,
              "a DTDL v2 Interface may extend at most 2 interfaces, this one lists " + std::to_string(values.size()),
              "combine bases into an intermediate interface, or move the model to DTDL v3");
      }
      self->extends.resize(values.size(), nullptr);
      info.extends_where.resize(values.size());
      for (std::size_t i = 0; i < values.size(); ++i) {
        const auto& [v, vw] = values[i];
        info.extends_where[i] = vw;
        reference_interface(*v, vw, &self->extends[i], "extends");
      }
    }

    // schemas
    if (const jnode* sch = m.take("schemas")) {
      const where_t& sw = m.where_of("schemas");
      auto each = [&](const jnode& item, const where_t& iw) {
        if (!item.is_object()) {
          error(iw, "schemas entries must be Array, Enum, Map or Object definitions, not " + a_kind(item.type));
          return;
        }
        if (const schema* s = parse_complex_schema(item, iw, self, true)) self->schemas.push_back(s);
      };
      for_each_value(*sch, sw, each);
    }

    // contents
    if (const jnode* cont = m.take("contents")) {
      const where_t& cw = m.where_of("contents");
      auto each = [&](const jnode& item, const where_t& iw) {
        if (!item.is_object()) {
          error(iw,
                "contents entries must be Telemetry, Property, Command, Relationship or Component objects, not " +
                    a_kind(item.type),
                "define the element inline here");
          return;
        }
        if (content* c = parse_content(item, iw, self)) {
          c->declared_in = self;
          self->own_contents.push_back(c);
        }
      };
      for_each_value(*cont, cw, each);
    }
    m.finish(types.informal, "@id, @type, @context, comment, contents, description, displayName, extends, schemas");
    // The 1 MiB limit excludes the text of inline interfaces (components, bases) nested in this one.
    info.text_bytes -= inline_bytes_.back();
    inline_bytes_.pop_back();
    if (!inline_bytes_.empty()) inline_bytes_.back() += n.end - n.offset;
    new_interfaces_.push_back(std::move(info));
    return self;
  }

  void read_mqtt_members(members& m, const classified_types& types) {
    if (!types.has("Mqtt")) return;
    static constexpr std::string_view formats[] = {"avro", "cbor", "json", "proto2", "proto3", "raw"};
    auto pf = read_string(m.take("payloadFormat"), m.where_of("payloadFormat"), "payloadFormat", true);
    if (pf && std::find(std::begin(formats), std::end(formats), *pf) == std::end(formats)) {
      error(m.where_of("payloadFormat"), "payloadFormat " + quote(*pf) + " is not one the mqtt extension defines",
            "use avro, cbor, json, proto2, proto3 or raw");
    }
    for (std::string_view k : {"telemetryTopic", "commandTopic"}) {
      if (const jnode* t = m.take(k)) (void)read_string(t, m.where_of(k), k, false);
    }
  }

  template <class F>
  void for_each_value(const jnode& n, const where_t& w, F&& f) {
    if (n.is_array()) {
      for (std::size_t i = 0; i < n.items.size(); ++i) f(n.items[i], w.item(n.items[i], i));
    } else {
      f(n, w);
    }
  }

  // An Interface given by DTMI (resolved later) or inline.
  void reference_interface(const jnode& v, const where_t& w, const interface** slot, std::string_view what) {
    if (v.is_string()) {
      std::string problem = dtmi_problem(v.text, ctx_.version);
      if (!problem.empty()) {
        error(w, std::string(what) + " value " + quote(v.text) + " is not a valid DTMI: " + problem);
        return;
      }
      pending_interfaces_.push_back({slot, std::string(v.text), w, what, ctx_.version});
    } else if (v.is_object()) {
      active_context saved = ctx_;
      if (enter_nested_context(v, w)) *slot = parse_interface(v, w, nullptr);
      ctx_ = saved;
    } else {
      error(w, std::string(what) + " must be an Interface DTMI or an inline Interface, not " + a_kind(v.type));
    }
  }

  content* parse_content(const jnode& n, const where_t& w, interface* owner) {
    const jnode* type = n.find("@type");
    std::string material;
    if (type) {
      auto consider = [&](const jnode& t) {
        if (!t.is_string()) return;
        std::string term = normalise_type(t.text);
        if (term == "Telemetry" || term == "Property" || term == "Command" || term == "Relationship" ||
            term == "Component") {
          if (material.empty()) material = term;
        }
      };
      if (type->is_array()) {
        for (const auto& t : type->items) consider(t);
      } else {
        consider(*type);
      }
    }
    if (material.empty()) {
      error(type ? w.at(*type, member_path(w.path.str(), "@type")) : w,
            type ? "@type of a contents element must be Telemetry, Property, Command, Relationship or Component"
                 : "a contents element needs \"@type\"",
            "add \"@type\": \"Property\" (or Telemetry, Command, Relationship, Component)");
      return nullptr;
    }
    active_context saved = ctx_;
    content* c = nullptr;
    if (enter_nested_context(n, w)) c = parse_content_as(n, w, owner, material);
    ctx_ = saved;
    return c;
  }

  content* parse_content_as(const jnode& n, const where_t& w, interface* owner, const std::string& material) {
    members m(*this, n, w, material);
    m.take("@context");
    auto owned = std::make_unique<content>();
    content* c = owned.get();
    out_.contents.push_back(std::move(owned));
    classified_types types = read_types(m, material, true);
    c->co_types = types.co_types;
    c->id = read_id(m, false, false, {id_entry::kind::other, c, owner});
    c->name = read_name(m);
    read_common(m, *c);
    content_where_[c] = w;
    std::string allowed = "@id, @type, comment, description, displayName, name";
    if (material == "Telemetry" || material == "Property") {
      c->kind = material == "Telemetry" ? content_kind::telemetry : content_kind::property;
      const jnode* sn = m.take("schema");
      const where_t& sw = m.where_of("schema");
      if (!sn) {
        error(w, "a " + material + " needs a \"schema\"", "add e.g. \"schema\": \"double\"");
      } else if (const jnode* s = single(sn, sw, "schema", true)) {
        parse_schema_value(*s, sw, &c->type, owner);
      }
      read_semantic_unit(m, types, c->semantic_type, c->unit, sn);
      allowed += ", schema";
      if (!c->semantic_type.empty()) allowed += ", unit";
      if (material == "Property") {
        if (auto wr = read_bool(m.take("writable"), m.where_of("writable"), "writable")) c->writable = *wr;
        allowed += ", writable";
        if (ctx_.version == dtdl_version::v2) v2_properties_.push_back(c);
      }
      read_adjunct_members(m, types, c, owner);
    } else if (material == "Command") {
      c->kind = content_kind::command;
      std::string_view req = ctx_.version == dtdl_version::v2 ? "CommandPayload" : "CommandRequest";
      std::string_view resp = ctx_.version == dtdl_version::v2 ? "CommandPayload" : "CommandResponse";
      if (const jnode* r = m.take("request")) {
        const where_t& rw = m.where_of("request");
        if (const jnode* v = single(r, rw, "request", false)) {
          c->request = std::make_unique<named_schema>();
          parse_named_schema(*v, rw, req, *c->request, owner);
        }
      }
      if (const jnode* r = m.take("response")) {
        const where_t& rw = m.where_of("response");
        if (const jnode* v = single(r, rw, "response", false)) {
          c->response = std::make_unique<named_schema>();
          parse_named_schema(*v, rw, resp, *c->response, owner);
        }
      }
      if (const jnode* ct = m.take("commandType")) {
        auto s = read_string(ct, m.where_of("commandType"), "commandType", false);
        if (s) {
          std::string v = *s;
          if (auto t = strip_dtmi(v, "dtmi:dtdl:instance:CommandType:", own_version())) v = std::string(*t);
          if (v != "synchronous" && v != "asynchronous") {
            error(m.where_of("commandType"), "commandType must be \"synchronous\" or \"asynchronous\"",
                  "or leave it out: it is deprecated");
          }
        }
      }
      if (types.has("Cacheable")) {
        auto ttl = read_string(m.take("ttl"), m.where_of("ttl"), "ttl", true);
        if (ttl && !looks_like_duration(*ttl)) {
          error(m.where_of("ttl"), "ttl must be an ISO 8601 duration such as \"PT30S\"");
        }
      }
      allowed += ", request, response, commandType";
    } else if (material == "Relationship") {
      c->kind = content_kind::relationship;
      if (const jnode* mn = m.take("minMultiplicity")) {
        auto v = read_integer(mn, m.where_of("minMultiplicity"), "minMultiplicity", false);
        if (v && *v != 0) {
          error(m.where_of("minMultiplicity"), "minMultiplicity must be 0 in DTDL v2 and v3",
                "remove it or set it to 0");
        }
      }
      if (const jnode* mx = m.take("maxMultiplicity")) {
        const where_t& mw = m.where_of("maxMultiplicity");
        auto v = read_integer(mx, mw, "maxMultiplicity", false);
        if (v) {
          if (*v < 1) {
            error(mw, "maxMultiplicity must be at least 1", "remove it for no limit");
          } else if (ctx_.version == dtdl_version::v2 && *v > 500) {
            error(mw, "maxMultiplicity may be at most 500 in DTDL v2", "lower it, or move to DTDL v3");
          } else {
            c->max_multiplicity = *v;
          }
        }
      }
      if (const jnode* t = m.take("target")) {
        const where_t& tw = m.where_of("target");
        if (auto s = read_string(t, tw, "target", false)) {
          std::string problem = dtmi_problem(*s, ctx_.version);
          if (!problem.empty()) {
            error(tw, "target " + quote(*s) + " is not a valid DTMI: " + problem);
          } else if (s->size() > k_max_dtmi_length) {
            error(tw, "target is longer than 2048 characters");
          } else {
            c->target = *s;
          }
        }
      }
      if (auto wr = read_bool(m.take("writable"), m.where_of("writable"), "writable")) c->writable = *wr;
      if (const jnode* props = m.take("properties")) {
        const where_t& pw = m.where_of("properties");
        std::unordered_map<std::string, const content*> names;
        auto each = [&](const jnode& item, const where_t& iw) {
          if (!item.is_object()) {
            error(iw, "Relationship properties must be Property objects, not " + a_kind(item.type));
            return;
          }
          content* p = nullptr;
          active_context saved = ctx_;
          if (enter_nested_context(item, iw)) p = parse_content_as(item, iw, owner, "Property");
          ctx_ = saved;
          if (!p) return;
          p->declared_in = owner;
          if (!p->name.empty() && !names.emplace(p->name, p).second) {
            error(iw, "Relationship property name " + quote(p->name) + " is used twice", "rename one");
          }
          c->properties.push_back(p);
        };
        for_each_value(*props, pw, each);
        if (ctx_.version == dtdl_version::v2 && c->properties.size() > 300) {
          error(pw, "a DTDL v2 Relationship may have at most 300 properties");
        }
      }
      allowed += ", minMultiplicity, maxMultiplicity, target, writable, properties";
    } else {  // Component
      c->kind = content_kind::component;
      const jnode* sn = m.take("schema");
      const where_t& sw = m.where_of("schema");
      if (!sn) {
        error(w, "a Component needs a \"schema\": the DTMI of the Interface it holds");
      } else if (const jnode* s = single(sn, sw, "schema", true)) {
        reference_interface(*s, sw, &c->component, "Component schema");
      }
      allowed += ", schema";
    }
    m.finish(types.informal, allowed);
    return c;
  }

  void read_adjunct_members(members& m, const classified_types& types, content* c, interface* owner) {
    if (types.has("ValueAnnotation")) {
      if (auto a = read_string(m.take("annotates"), m.where_of("annotates"), "annotates", true)) {
        annotations_.push_back({c, *a, m.where_of("annotates")});
      }
    }
    if (types.has("Override")) {
      if (!types.has("ValueAnnotation")) {
        error(m.where(), "an Override must also be a ValueAnnotation",
              "write \"@type\": [\"Property\", \"ValueAnnotation\", \"Override\"]");
      }
      (void)read_string(m.take("overrides"), m.where_of("overrides"), "overrides", true);
    }
    if (types.has("Indexed")) read_index(m, owner);
    if (types.has("Initialized")) {
      const jnode* v = m.take("initialValue");
      if (!v) {
        error(m.where(), "an Initialized Property needs \"initialValue\"", "add a value of the property's schema");
      } else {
        initial_values_.push_back({c, v, m.where_of("initialValue")});
      }
    }
    for (std::string_view t : {"State", "Event", "Location", "VelocityVector", "AccelerationVector"}) {
      if (types.has(t)) iotcentral_checks_.push_back({c, std::string(t), m.where_of("schema")});
    }
  }

  // "index" of an Indexed element (mqtt extension): 1 or more, and unique among the siblings
  // that share `scope` (an interface's telemetries, an object's fields, an enum's values).
  void read_index(members& m, const void* scope) {
    const where_t& w = m.where_of("index");
    auto idx = read_integer(m.take("index"), w, "index", true);
    if (!idx) return;
    if (*idx < 1) {
      error(w, "index must be 1 or more");
    } else if (!indexes_[scope].insert(*idx).second) {
      error(w, "index " + std::to_string(*idx) + " is used twice among the Indexed siblings here",
            "give each Indexed element its own index");
    }
  }

  static bool looks_like_duration(std::string_view s);

  // A schema value: a standard term, a DTMI of a reusable schema, or an inline definition.
  void parse_schema_value(const jnode& n, const where_t& w, const schema** slot, const interface* partition) {
    if (n.is_string()) {
      if (auto p = standard_schema(n.text)) {
        *slot = primitive_schema(*p);
        return;
      }
      if (ctx_.has(ext_quantitative) && is_unit_type(unit_table::quantitative_types_v1, n.text)) {
        *slot = unit_type_schema(std::string(n.text));
        return;
      }
      if (looks_like_dtmi(n.text)) {
        std::string problem = dtmi_problem(n.text, ctx_.version);
        if (!problem.empty()) {
          error(w, "schema " + quote(n.text) + " is not a valid DTMI: " + problem);
          return;
        }
        pending_schemas_.push_back({slot, std::string(n.text), w, partition});
        return;
      }
      error(w, "unknown schema " + quote(n.text),
            "use " + primitive_list(ctx_.version) +
                ", an inline Array/Enum/Map/Object, or the DTMI of a schema "
                "declared in this interface's \"schemas\"");
      return;
    }
    if (n.is_object()) {
      *slot = parse_complex_schema(n, w, partition, false);
      return;
    }
    error(w, "schema must be a string or an inline schema object, not " + a_kind(n.type));
  }

  const schema* unit_type_schema(const std::string& unit_type) {
    auto it = unit_type_schemas_.find(unit_type);
    if (it != unit_type_schemas_.end()) return it->second;
    auto s = std::make_unique<schema>();
    s->type = schema::kind::enumeration;
    s->value_schema = primitive_kind::string;
    s->id = "dtmi:dtdl:extension:quantitativeTypes:v1:enum:" + unit_type;
    for (const std::string& u : units_of(unit_table::quantitative_types_v1, unit_type)) {
      enum_value v;
      v.name = u;
      v.string_value = u;
      s->values.push_back(std::move(v));
    }
    const schema* p = s.get();
    out_.schemas.push_back(std::move(s));
    unit_type_schemas_.emplace(unit_type, p);
    return p;
  }

  schema* parse_complex_schema(const jnode& n, const where_t& w, const interface* partition, bool require_id) {
    active_context saved = ctx_;
    schema* s = nullptr;
    if (enter_nested_context(n, w)) {
      // `require_id` marks an Interface's `schemas` entry; a v3 Interface takes only v3 ones there.
      if (require_id && saved.version == dtdl_version::v3 && ctx_.version == dtdl_version::v2) {
        error(w, "the schemas of a DTDL v3 Interface must be DTDL v3 elements",
              "drop the DTDL v2 @context of this schema, or define it inline where it is used");
      } else {
        s = parse_complex_schema_in_context(n, w, partition, require_id);
      }
    }
    ctx_ = saved;
    return s;
  }

  schema* parse_complex_schema_in_context(const jnode& n, const where_t& w, const interface* partition,
                                          bool require_id) {
    std::string material;
    if (const jnode* t = n.find("@type")) {
      auto consider = [&](const jnode& v) {
        if (!v.is_string()) return;
        std::string term = normalise_type(v.text);
        if ((term == "Array" || term == "Enum" || term == "Map" || term == "Object") && material.empty())
          material = term;
      };
      if (t->is_array()) {
        for (const auto& v : t->items) consider(v);
      } else {
        consider(*t);
      }
    }
    if (material.empty()) {
      error(w, "an inline schema needs \"@type\": \"Array\", \"Enum\", \"Map\" or \"Object\"");
      return nullptr;
    }
    members m(*this, n, w, material);
    m.take("@context");
    auto owned = std::make_unique<schema>();
    schema* s = owned.get();
    out_.schemas.push_back(std::move(owned));
    classified_types types = read_types(m, material, true);
    s->id = read_id(m, require_id, false, {id_entry::kind::schema, s, partition});
    read_common(m, *s);
    schema_where_[s] = w;
    std::string allowed = "@id, @type, comment, description, displayName";
    if (material == "Array") {
      s->type = schema::kind::array;
      const jnode* e = m.take("elementSchema");
      const where_t& ew = m.where_of("elementSchema");
      if (!e) {
        error(w, "an Array needs \"elementSchema\"", "add e.g. \"elementSchema\": \"double\"");
      } else if (const jnode* v = single(e, ew, "elementSchema", true)) {
        parse_schema_value(*v, ew, &s->element, partition);
      }
      allowed += ", elementSchema";
    } else if (material == "Enum") {
      parse_enum(m, *s, w, partition);
      allowed += ", valueSchema, enumValues";
    } else if (material == "Map") {
      s->type = schema::kind::map;
      const jnode* k = m.take("mapKey");
      const where_t& kw = m.where_of("mapKey");
      if (!k) {
        error(w, "a Map needs \"mapKey\"", "add \"mapKey\": {\"name\": \"key\", \"schema\": \"string\"}");
      } else if (const jnode* v = single(k, kw, "mapKey", true)) {
        parse_named_schema(*v, kw, "MapKey", s->map_key, partition);
        if (s->map_key.type && !(s->map_key.type->type == schema::kind::primitive &&
                                 s->map_key.type->primitive == primitive_kind::string)) {
          error(kw, "a map key's schema must be \"string\"");
        }
      }
      const jnode* v = m.take("mapValue");
      const where_t& vw = m.where_of("mapValue");
      if (!v) {
        error(w, "a Map needs \"mapValue\"", "add \"mapValue\": {\"name\": \"value\", \"schema\": \"double\"}");
      } else if (const jnode* vv = single(v, vw, "mapValue", true)) {
        parse_named_schema(*vv, vw, "MapValue", s->map_value, partition);
      }
      allowed += ", mapKey, mapValue";
    } else {
      s->type = schema::kind::object;
      const jnode* f = m.take("fields");
      const where_t& fw = m.where_of("fields");
      if (!f) {
        if (ctx_.version == dtdl_version::v2) {
          error(w, "a DTDL v2 Object needs \"fields\" (1 to 30)");
        }
      } else {
        std::size_t count = f->is_array() ? f->items.size() : 1;
        if (ctx_.version == dtdl_version::v2 && (count < 1 || count > 30)) {
          error(fw, "a DTDL v2 Object has 1 to 30 fields, this one has " + std::to_string(count));
        }
        s->fields.reserve(count);
        std::unordered_set<std::string> names;
        auto each = [&](const jnode& item, const where_t& iw) {
          s->fields.emplace_back();
          parse_named_schema(item, iw, "Field", s->fields.back(), partition, s);
          const std::string& name = s->fields.back().name;
          if (!name.empty() && !names.insert(name).second) {
            error(iw, "field name " + quote(name) + " is used twice in this Object", "rename one");
          }
        };
        for_each_value(*f, fw, each);
      }
      allowed += ", fields";
    }
    m.finish(types.informal, allowed);
    return s;
  }

  void parse_enum(members& m, schema& s, const where_t& w, const interface* partition) {
    s.type = schema::kind::enumeration;
    const jnode* vs = m.take("valueSchema");
    const where_t& vsw = m.where_of("valueSchema");
    bool integer_enum = false;
    bool value_schema_ok = false;
    if (!vs) {
      error(w, "an Enum needs \"valueSchema\": \"integer\" or \"string\"");
    } else if (auto t = read_string(vs, vsw, "valueSchema", true)) {
      auto p = standard_schema(*t);
      if (!p && (*t == "dtmi:dtdl:instance:Schema:integer;2" || *t == "dtmi:dtdl:instance:Schema:string;2")) {
        p = t->find("integer") != std::string::npos ? primitive_kind::integer : primitive_kind::string;
      }
      if (p == primitive_kind::integer || p == primitive_kind::string) {
        s.value_schema = *p;
        integer_enum = *p == primitive_kind::integer;
        value_schema_ok = true;
      } else {
        error(vsw, "an Enum's valueSchema must be \"integer\" or \"string\", not " + quote(*t));
      }
    }
    const jnode* ev = m.take("enumValues");
    const where_t& evw = m.where_of("enumValues");
    if (!ev) {
      if (ctx_.version == dtdl_version::v2) error(w, "a DTDL v2 Enum needs \"enumValues\" (1 to 100)");
      return;
    }
    std::size_t count = ev->is_array() ? ev->items.size() : 1;
    if (ctx_.version == dtdl_version::v2 && (count < 1 || count > 100)) {
      error(evw, "a DTDL v2 Enum has 1 to 100 enumValues, this one has " + std::to_string(count));
    }
    std::unordered_set<std::string> names;
    std::set<std::int64_t> ints;
    std::set<std::string> strings;
    auto each = [&](const jnode& item, const where_t& iw) {
      if (!item.is_object()) {
        error(iw, "enumValues entries must be EnumValue objects with name and enumValue");
        return;
      }
      members vm(*this, item, iw, "EnumValue");
      vm.take("@context");
      classified_types types = read_types(vm, "EnumValue", false);
      enum_value v;
      v.id = read_id(vm, false, false, {id_entry::kind::other, nullptr, partition});
      v.name = read_name(vm);
      read_common(vm, v);
      const jnode* raw = vm.take("enumValue");
      const where_t& rw = vm.where_of("enumValue");
      const jnode* val = literal(single(raw, rw, "enumValue", true), rw);
      if (!raw) {
        error(iw, "an EnumValue needs \"enumValue\"");
      } else if (val && value_schema_ok) {
        if (integer_enum) {
          if (val->is_integer() && val->integer >= std::numeric_limits<std::int32_t>::min() &&
              val->integer <= std::numeric_limits<std::int32_t>::max()) {
            v.integer_value = val->integer;
            if (!ints.insert(val->integer).second) {
              error(rw, "enumValue " + std::to_string(val->integer) + " is used twice in this Enum");
            }
          } else {
            error(rw, "this Enum's valueSchema is integer, so enumValue must be a 32-bit integer, not " +
                          a_kind(val->type));
          }
        } else if (val->is_string()) {
          v.string_value = val->text;
          if (!strings.insert(std::string(val->text)).second) {
            error(rw, "enumValue " + quote(val->text) + " is used twice in this Enum");
          }
        } else {
          error(rw, "this Enum's valueSchema is string, so enumValue must be a string, not " + a_kind(val->type));
        }
      }
      if (types.has("Indexed")) read_index(vm, &s);
      if (!v.name.empty() && !names.insert(v.name).second) {
        error(iw, "enum value name " + quote(v.name) + " is used twice in this Enum", "rename one");
      }
      vm.finish(types.informal, "@id, @type, comment, description, displayName, name, enumValue");
      s.values.push_back(std::move(v));
    };
    for_each_value(*ev, evw, each);
  }

  // Field, MapKey, MapValue, CommandPayload / CommandRequest / CommandResponse.
  void parse_named_schema(const jnode& n, const where_t& w, std::string_view material, named_schema& into,
                          const interface* partition, const void* index_scope = nullptr) {
    if (!n.is_object()) {
      error(w, "expected " + article(material) + " object with name and schema, not " + a_kind(n.type));
      return;
    }
    if (n.is_object() && n.find("@type") == nullptr && n.members.empty()) {
      error(w, article(material) + " needs \"name\" and \"schema\"");
      return;
    }
    active_context saved = ctx_;
    if (!enter_nested_context(n, w)) {
      ctx_ = saved;
      return;
    }
    members m(*this, n, w, material);
    m.take("@context");
    classified_types types = read_types(m, material, false);
    into.id = read_id(m, false, false, {id_entry::kind::other, nullptr, partition});
    into.name = read_name(m);
    read_common(m, into);
    const jnode* sn = m.take("schema");
    const where_t& sw = m.where_of("schema");
    if (!sn) {
      error(w, article(material) + " needs a \"schema\"", "add e.g. \"schema\": \"string\"");
    } else if (const jnode* s = single(sn, sw, "schema", true)) {
      parse_schema_value(*s, sw, &into.type, partition);
    }
    std::string allowed = "@id, @type, comment, description, displayName, name, schema";
    read_semantic_unit(m, types, into.semantic_type, into.unit, sn);
    if (!into.semantic_type.empty()) allowed += ", unit";
    into.required = types.has("Required");
    if (types.has("Indexed")) read_index(m, index_scope);
    m.finish(types.informal, allowed);
    ctx_ = saved;
  }

  // ---------------------------------------------------------------- resolution

  struct interface_info {
    interface* self;
    where_t where;
    std::vector<where_t> extends_where;
    std::uint32_t text_bytes;
  };

  const id_entry* lookup(const std::string& id) const {
    auto it = ids_.find(id);
    if (it != ids_.end()) return &it->second;
    auto ex = existing_.find(id);
    if (ex != existing_.end()) return &ex->second;
    return nullptr;
  }

  void resolve() {
    for (const auto& i : out_.interfaces) owned_.insert(i.get());
    for (auto& p : pending_interfaces_) {
      const id_entry* e = lookup(p.dtmi);
      if (!e) {
        error(p.where, std::string(p.what) + " names " + quote(p.dtmi) + ", which is not defined in any loaded model",
              "load the file that defines it, or fix the DTMI");
      } else if (e->what != id_entry::kind::interface) {
        error(p.where, std::string(p.what) + " names " + quote(p.dtmi) + ", which is not an Interface");
      } else if (p.from == dtdl_version::v2 && static_cast<const interface*>(e->element)->version == dtdl_version::v3) {
        error(p.where,
              std::string(p.what) + " names " + quote(p.dtmi) +
                  ", a DTDL v3 Interface, but a DTDL v2 element can only use DTDL v2 interfaces",
              "move this interface to DTDL v3 as well");
      } else {
        *p.slot = static_cast<const interface*>(e->element);
      }
    }
    for (auto& p : pending_schemas_) {
      const id_entry* e = lookup(p.dtmi);
      if (!e) {
        error(p.where, "schema " + quote(p.dtmi) + " is not defined in any loaded model",
              "declare it in this interface's \"schemas\", or fix the DTMI");
      } else if (e->what != id_entry::kind::schema) {
        error(p.where, "schema " + quote(p.dtmi) + " names an element that is not an Array, Enum, Map or Object");
      } else if (e->partition != p.partition) {
        error(p.where,
              "schema " + quote(p.dtmi) + " belongs to another interface (" +
                  (e->partition ? e->partition->id : std::string("?")) +
                  "); DTDL lets an interface use only the "
                  "schemas declared within it",
              "copy the schema into this interface's \"schemas\" under its own DTMI, or define it inline");
      } else {
        *p.slot = static_cast<const schema*>(e->element);
      }
    }
    check_iotcentral();
    check_initial_values();
    check_extends();
    for (auto& info : new_interfaces_) flatten(info.self);
    check_contents();
    check_schemas();
  }

  // The schemas the IoT Central adjunct types require, once references are resolved.
  void check_iotcentral() {
    for (const auto& chk : iotcentral_checks_) {
      const schema* s = chk.element->type;
      if (!s) continue;  // already reported
      bool prim = s->type == schema::kind::primitive;
      std::string_view want;
      if (chk.co_type == "State") {
        if (s->type != schema::kind::enumeration) want = "an Enum";
      } else if (chk.co_type == "Event") {
        if (!prim || !(is_numeric(s->primitive) || s->primitive == primitive_kind::string)) {
          want = "double, float, integer, long or string";
        }
      } else if (chk.co_type == "Location") {
        if (!prim || !(is_geospatial(s->primitive) || s->primitive == primitive_kind::geopoint)) {
          want = "geopoint or a geospatial schema";
        }
      } else if (!prim || s->primitive != primitive_kind::vector) {
        want = "vector";
      }
      if (!want.empty()) {
        error(
            chk.where,
            "co-type " + quote(chk.co_type) + " needs the schema to be " + std::string(want) + ", not " + s->describe(),
            "change the schema or drop the co-type");
      }
    }
  }

  // Cycles and depth of extends. Iterative: a chain may be as long as the input is large.
  void check_extends() {
    std::unordered_map<const interface*, int> state;  // 1 visiting, 2 done
    std::unordered_map<const interface*, int> depth;
    std::unordered_map<const interface*, const interface_info*> info_of;
    for (const auto& info : new_interfaces_) info_of[info.self] = &info;
    struct frame {
      const interface* self;
      std::size_t next = 0;  // the next base to visit
      int depth = 0;         // hops below `self` seen so far
      bool cycle = false;    // a cycle lies below: its error explains the depth
    };
    std::unordered_set<const interface*> above_cycle;
    std::vector<frame> stack;
    auto report_cycle = [&](const interface* i) {
      if (!cycles_reported_.insert(i).second) return;
      const interface* closer = stack.back().self;
      auto ci = info_of.find(closer);
      if (ci == info_of.end()) return;
      auto from = std::find_if(stack.begin(), stack.end(), [&](const frame& f) { return f.self == i; });
      std::size_t length = static_cast<std::size_t>(stack.end() - from);
      std::string chain;
      for (auto it = from; it != stack.end(); ++it) {
        std::size_t k = static_cast<std::size_t>(it - from);
        if (length > 8 && k == 4) chain += "... -> ";
        if (length > 8 && k >= 4 && k < length - 3) continue;
        chain += it->self->id + " -> ";
      }
      chain += i->id;
      where_t w = ci->second->where;
      for (std::size_t k = 0; k < closer->extends.size(); ++k) {
        if (closer->extends[k] == i && k < ci->second->extends_where.size()) w = ci->second->extends_where[k];
      }
      error(w, "extends forms a cycle: " + chain, "an interface cannot extend itself, directly or not");
    };
    for (const auto& info : new_interfaces_) {
      if (state.count(info.self)) continue;
      state[info.self] = 1;
      stack.push_back({info.self});
      while (!stack.empty()) {
        frame& top = stack.back();
        if (top.next < top.self->extends.size()) {
          const interface* b = top.self->extends[top.next++];
          if (!b) continue;
          auto st = state.find(b);
          if (st == state.end()) {
            state[b] = 1;
            stack.push_back({b});  // `top` is invalid from here on
          } else if (st->second == 2) {
            top.depth = std::max(top.depth, 1 + depth[b]);
            top.cycle = top.cycle || above_cycle.count(b) > 0;
          } else {
            report_cycle(b);
            cyclic_.insert(b);
            top.depth = std::max(top.depth, 1);
            top.cycle = true;
          }
          continue;
        }
        const interface* done = top.self;
        int d = top.depth;
        bool cycle = top.cycle;
        stack.pop_back();
        state[done] = 2;
        depth[done] = d;
        if (cycle) above_cycle.insert(done);
        if (!stack.empty()) {
          stack.back().depth = std::max(stack.back().depth, 1 + d);
          stack.back().cycle = stack.back().cycle || cycle;
        }
      }
    }
    for (const auto& info : new_interfaces_) {
      int d = depth[info.self];
      if (d <= k_max_extends_depth) continue;
      cyclic_.insert(info.self);  // unusable for flattening
      // Reported where the chain first gets too deep; interfaces above it inherit the problem.
      if (d == k_max_extends_depth + 1 && !above_cycle.count(info.self)) {
        error(info.where,
              "the extends chain below " + info.self->id + " is " + std::to_string(d) + " levels deep; DTDL allows 10",
              "flatten the hierarchy");
      }
    }
  }

  // Computes ancestors and flattened contents (bases first), reporting duplicate names.
  void flatten(interface* i) {
    if (flattened_.count(i)) return;
    flattened_.insert(i);
    if (cyclic_.count(i)) {
      i->contents = i->own_contents;
      return;
    }
    std::vector<const interface*> ancestors;
    std::vector<const content*> contents;
    const interface* only_base = single_base(*i);
    if (only_base) {
      // The common case: the base's lists are already free of repeats.
      if (owned_.count(only_base)) flatten(const_cast<interface*>(only_base));
      ancestors.reserve(only_base->ancestors.size() + 1);
      ancestors = only_base->ancestors;
      if (std::find(ancestors.begin(), ancestors.end(), only_base) == ancestors.end()) ancestors.push_back(only_base);
      contents.reserve(only_base->contents.size() + i->own_contents.size());
      contents = only_base->contents;
      contents.insert(contents.end(), i->own_contents.begin(), i->own_contents.end());
      i->ancestors = std::move(ancestors);
      i->contents = std::move(contents);
      return;
    }
    std::unordered_set<const interface*> seen_anc;
    std::unordered_set<const content*> seen_content;
    for (const interface* b : i->extends) {
      if (!b) continue;
      if (owned_.count(b)) flatten(const_cast<interface*>(b));
      for (const interface* a : b->ancestors) {
        if (seen_anc.insert(a).second) ancestors.push_back(a);
      }
      if (seen_anc.insert(b).second) ancestors.push_back(b);
      for (const content* c : b->contents) {
        if (seen_content.insert(c).second) contents.push_back(c);
      }
    }
    for (const content* c : i->own_contents) contents.push_back(c);
    i->ancestors = std::move(ancestors);
    i->contents = std::move(contents);
  }

  // The one resolved base of `i`, or nullptr when it has none or several.
  static const interface* single_base(const interface& i) {
    const interface* only = nullptr;
    for (const interface* b : i.extends) {
      if (!b) continue;
      if (only) return nullptr;
      only = b;
    }
    return only;
  }

  // With at most one base, inherited names were checked where they were declared: only the
  // interface's own names can clash, with each other or with an inherited one.
  void check_own_names(const interface& i, const interface_info& info) {
    const auto& own = i.own_contents;
    std::unordered_map<std::string_view, const content*> index;  // for long lists only
    constexpr std::size_t linear_limit = 32;
    if (own.size() > linear_limit) {
      for (const content* c : own) index.emplace(c->name, c);
    }
    auto find_own = [&](std::string_view name) -> const content* {
      if (own.size() > linear_limit) {
        auto it = index.find(name);
        return it == index.end() ? nullptr : it->second;
      }
      for (const content* c : own) {
        if (c->name == name) return c;
      }
      return nullptr;
    };
    for (const content* c : own) {
      if (c->name.empty()) continue;
      const content* first = find_own(c->name);  // the first one of that name
      if (first && first != c) {
        error(where_of(c, info.where), "name " + quote(c->name) + " is used twice in the contents of " + i.id,
              "rename one of them");
      }
    }
    std::size_t inherited = i.contents.size() - own.size();
    for (std::size_t k = 0; k < inherited; ++k) {
      const content* base = i.contents[k];
      if (base->name.empty()) continue;
      if (const content* c = find_own(base->name)) {
        error(where_of(c, info.where), "name " + quote(c->name) + " is already inherited from " + base->declared_in->id,
              "rename it: an interface cannot redeclare an inherited name");
      }
    }
  }

  void check_contents() {
    for (const auto& info : new_interfaces_) {
      interface* i = info.self;
      // Duplicate names among own and inherited contents.
      if (i->extends.size() <= 1 && !cyclic_.count(i)) {
        check_own_names(*i, info);
      } else {
        check_all_names(*i, info);
      }
      check_limits(*i, info);
    }
    check_annotations();
  }

  void check_all_names(const interface& iface, const interface_info& info) {
    const interface* i = &iface;
    std::unordered_map<std::string_view, const content*> names;
    for (const content* c : i->contents) {
      if (c->name.empty()) continue;
      auto [it, inserted] = names.emplace(c->name, c);
      if (inserted) continue;
      const content* first = it->second;
      bool own = c->declared_in == i;
      if (own && first->declared_in == i) {
        error(where_of(c, info.where), "name " + quote(c->name) + " is used twice in the contents of " + i->id,
              "rename one of them");
      } else if (own) {
        error(where_of(c, info.where),
              "name " + quote(c->name) + " is already inherited from " + first->declared_in->id,
              "rename it: an interface cannot redeclare an inherited name");
      } else if (!clash_inherited_from_one_base(*i, first, c)) {
        error(info.where,
              i->id + " inherits two different elements named " + quote(c->name) + " (from " + first->declared_in->id +
                  " and " + c->declared_in->id + ")",
              "rename one of them in its base interface");
      }
    }
  }

  // Contents and extends limits, the text size limit and nested components.
  void check_limits(const interface& iface, const interface_info& info) {
    const interface* i = &iface;
    if (i->version == dtdl_version::v2 && i->contents.size() > k_v2_max_contents) {
      error(info.where,
            i->id + " has " + std::to_string(i->contents.size()) +
                " contents including inherited ones; DTDL v2 allows 300",
            "split it into components, or move it to DTDL v3");
    }
    if (i->version == dtdl_version::v3) {
      std::size_t closure = i->extends.size();
      for (const interface* a : i->ancestors) closure += a->extends.size();
      if (closure > k_v3_max_extends_closure) {
        error(info.where,
              i->id + " has " + std::to_string(closure) + " extends values across its hierarchy; DTDL v3 allows 1024");
      }
      if (info.text_bytes > k_v3_max_interface_bytes) {
        error(info.where,
              "the JSON text of " + i->id + " is " + std::to_string(info.text_bytes) +
                  " bytes; DTDL v3 allows 1 MiB per Interface",
              "split it into several interfaces");
      }
    }
    // Components may not hold interfaces that themselves have components.
    for (const content* c : i->own_contents) {
      if (c->kind != content_kind::component || !c->component) continue;
      for (const content* inner : c->component->contents) {
        if (inner->kind == content_kind::component) {
          error(where_of(c, info.where),
                "component " + quote(c->name) + " uses " + c->component->id + ", which itself has component " +
                    quote(inner->name),
                "DTDL does not nest components; make the inner one a component of " + i->id + " instead");
          break;
        }
      }
    }
  }

  void check_annotations() {
    for (const auto& a : annotations_) {
      const interface* owner = a.element->declared_in;
      const content* target = owner ? owner->find(a.annotates) : nullptr;
      if (!target || (target->kind != content_kind::property && target->kind != content_kind::telemetry)) {
        error(a.where,
              "annotates " + quote(a.annotates) + " does not name a Property or Telemetry of the same interface");
      }
    }
  }

  // True when one direct base of `i` already holds both contents: the clash is reported there.
  static bool clash_inherited_from_one_base(const interface& i, const content* a, const content* b) {
    return std::any_of(i.extends.begin(), i.extends.end(), [&](const interface* base) {
      if (!base) return false;
      const auto& cs = base->contents;
      return std::find(cs.begin(), cs.end(), a) != cs.end() && std::find(cs.begin(), cs.end(), b) != cs.end();
    });
  }

  where_t where_of(const content* c, const where_t& fallback) const {
    auto it = content_where_.find(c);
    return it == content_where_.end() ? fallback : it->second;
  }

  // Schema nesting depth, reference cycles, v2 property restrictions, v3 element counts.
  void check_schemas() {
    std::unordered_map<const schema*, int> depth;
    std::unordered_set<const schema*> visiting;
    std::unordered_set<const schema*> children;
    // Recursion is capped: a chain of schema references may be as long as the input is large,
    // and anything past the cap is far too deep anyway.
    constexpr int recursion_cap = 64;
    int level = 0;
    std::function<int(const schema*)> depth_of = [&](const schema* s) -> int {
      if (!s || s->type == schema::kind::primitive) return 0;
      auto d = depth.find(s);
      if (d != depth.end()) return d->second;
      if (level >= recursion_cap) return recursion_cap;
      if (!visiting.insert(s).second) {
        if (cycle_schemas_.insert(s).second) {
          auto w = schema_where_.find(s);
          if (w != schema_where_.end()) {
            error(w->second,
                  "schema " + (s->id.empty() ? std::string("here") : quote(s->id)) +
                      " contains itself; DTDL schemas cannot be recursive",
                  "break the cycle");
          }
        }
        return 1000;
      }
      int r = 1;
      auto child = [&](const schema* c) {
        if (c && c->type != schema::kind::primitive) children.insert(c);
        ++level;
        r = std::max(r, 1 + depth_of(c));
        --level;
      };
      switch (s->type) {
        case schema::kind::array: child(s->element); break;
        case schema::kind::map: child(s->map_value.type); break;
        case schema::kind::object:
          for (const auto& f : s->fields) child(f.type);
          break;
        default: break;
      }
      visiting.erase(s);
      depth[s] = r;
      return r;
    };
    // In parse order, so that which schema of a cycle is reported does not depend on addresses.
    for (const auto& owned : out_.schemas) depth_of(owned.get());
    for (const auto& owned : out_.schemas) {
      const schema* s = owned.get();
      auto w = schema_where_.find(s);
      if (w == schema_where_.end()) continue;
      int d = depth[s];
      if (d > k_max_schema_depth && d < 1000 && !children.count(s)) {
        std::string levels = d >= recursion_cap ? "more than " + std::to_string(recursion_cap) : std::to_string(d);
        error(w->second, "schema is nested " + levels + " levels deep; DTDL allows 5 levels of Array, Map and Object",
              "flatten the schema, e.g. by moving parts into separate properties");
      }
    }
    // Schemas already reported as too deep or recursive are not walked again.
    auto too_deep = [&](const schema* s) {
      auto d = depth.find(s);
      return d != depth.end() && d->second > k_max_schema_depth;
    };
    // v2 Properties may not hold Arrays or geospatial values anywhere.
    for (const content* p : v2_properties_) {
      std::unordered_set<const schema*> seen;
      std::string found;
      std::function<void(const schema*)> walk = [&](const schema* s) {
        if (!s || !found.empty() || !seen.insert(s).second || too_deep(s)) return;
        if (s->type == schema::kind::array)
          found = "an Array";
        else if (s->type == schema::kind::primitive && is_geospatial(s->primitive))
          found = "a geospatial " + std::string(to_string(s->primitive));
        else if (s->type == schema::kind::map)
          walk(s->map_value.type);
        else if (s->type == schema::kind::object)
          for (const auto& f : s->fields) walk(f.type);
      };
      walk(p->type);
      if (!found.empty()) {
        error(where_of(p, {}),
              "DTDL v2 Property " + quote(p->name) + " contains " + found + ", which v2 does not allow in properties",
              "use Telemetry, or move the model to DTDL v3 (which allows it)");
      }
    }
    // v3: at most 100,000 elements per interface, counted through contents and schemas.
    std::unordered_map<const schema*, std::size_t> counted;
    std::function<std::size_t(const schema*)> count = [&](const schema* s) -> std::size_t {
      if (!s) return 0;
      if (s->type == schema::kind::primitive) return 1;
      if (too_deep(s)) return 1;
      auto it = counted.find(s);
      if (it != counted.end()) return it->second;
      if (cycle_schemas_.count(s)) return 1;
      counted[s] = 1;  // guards cycles reported above
      std::size_t n = 1;
      switch (s->type) {
        case schema::kind::array: n += count(s->element); break;
        case schema::kind::map: n += 2 + count(s->map_value.type) + count(s->map_key.type); break;
        case schema::kind::object:
          for (const auto& f : s->fields) n += 1 + count(f.type);
          break;
        case schema::kind::enumeration: n += s->values.size(); break;
        default: break;
      }
      counted[s] = n;
      return n;
    };
    for (const auto& info : new_interfaces_) {
      if (info.self->version != dtdl_version::v3) continue;
      std::size_t n = 1;
      for (const content* c : info.self->contents) {
        n += 1 + count(c->type);
        if (c->request) n += 1 + count(c->request->type);
        if (c->response) n += 1 + count(c->response->type);
        for (const content* p : c->properties) n += 1 + count(p->type);
      }
      if (n > k_v3_max_elements) {
        error(info.where,
              info.self->id + " has " + std::to_string(n) +
                  " elements counting contents and schemas; DTDL v3 allows 100,000",
              "split it into several interfaces");
      }
    }
  }

  // initialValue (initialization extension) must be a value of the property's schema.
  void check_initial_values() {
    for (const auto& iv : initial_values_) {
      nlohmann::json value = to_json(*iv.value);
      if (iv.element->type) {
        std::vector<value_error> problems;
        if (!check_value(*iv.element->type, value, problems)) {
          for (const auto& p : problems) {
            error(iv.where, "initialValue is not a valid " + iv.element->type->describe() + ": " + p.message +
                                (p.path == "$" ? std::string() : " (at " + p.path + " in the value)"));
          }
          continue;
        }
      }
      iv.element->initial_value = value.dump();
    }
  }

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

bool builder::looks_like_duration(std::string_view s) {
  return s.size() >= 2 && s[0] == 'P' &&
         std::all_of(s.begin() + 1, s.end(), [](char c) { return std::strchr("0123456789.YMWDTHS", c) != nullptr; });
}

// ---- members ------------------------------------------------------------------------------

std::string_view normalise_member(std::string_view key, dtdl_version v) {
  if (!looks_like_dtmi(key)) return key;
  if (auto s = strip_dtmi(key, "dtmi:dtdl:property:", v == dtdl_version::v2 ? "2" : "3")) return *s;
  if (auto s = strip_dtmi(key, "dtmi:dtdl:extension:quantitativeTypes:v1:property:", "")) return *s;
  return key;
}

members::members(builder& b, const jnode& obj, const where_t& w, std::string_view element)
    : b_(b), obj_(obj), where_(w), element_(element) {
  entries_.reserve(obj.members.size());
  for (const auto& [k, v] : obj.members) {
    std::string_view term = normalise_member(k, b_.version());
    for (const auto& e : entries_) {
      if (e.term == term) {
        b_.error(w.at(v, member_path(w.path.str(), k)),
                 "member " + quote(term) + " is given twice (as " + quote(e.key) + " and " + quote(k) + ")",
                 "keep one spelling");
      }
    }
    entries_.push_back({term, k, &v, false, false, {}});
  }
}

const jnode* members::take(std::string_view term) {
  for (auto& e : entries_) {
    if (e.term == term && !e.taken) {
      e.taken = true;
      return e.value;
    }
  }
  return nullptr;
}

const where_t& members::where_of(std::string_view term) const {
  for (const auto& e : entries_) {
    if (e.term != term) continue;
    if (!e.has_where) {
      e.where.file = where_.file;
      e.where.path.defer(where_.path, e.key);
      e.where.line = e.value->line;
      e.where.column = e.value->column;
      e.has_where = true;
    }
    return e.where;
  }
  return where_;
}

void members::finish(bool tolerate_unknown, std::string_view allowed) {
  for (const auto& e : entries_) {
    if (e.taken) continue;
    where_t w = where_.at(*e.value, member_path(where_.path.str(), e.key));
    if (!e.key.empty() && e.key[0] == '@') {
      if (e.key == "@graph" || b_.version() == dtdl_version::v3) {
        b_.error(w, "keyword " + quote(e.key) + " is not allowed in a DTDL element",
                 "DTDL elements use only @id, @type and @context");
      }
      continue;  // DTDL v2 tolerates other JSON-LD keywords
    }
    bool reserved =
        std::find(std::begin(k_reserved_members), std::end(k_reserved_members), e.term) != std::end(k_reserved_members);
    if (tolerate_unknown && !(reserved && !b_.unknown_extension())) continue;
    if (reserved) {
      b_.error(w, "member " + quote(e.key) + " does not belong in " + article(element_),
               "allowed members are: " + std::string(allowed));
      continue;
    }
    b_.error(w, "unknown member " + quote(e.key) + " in " + article(element_),
             "allowed members are: " + std::string(allowed));
  }
}

}  // namespace

void build_batch(const std::vector<source>& sources, const registry_options& options, const id_table& existing_ids,
                 arena& out, id_table& new_ids, load_report& report) {
  builder b(sources, options, existing_ids, out, new_ids, report);
  b.run();
}

}  // namespace doppel::model::detail
