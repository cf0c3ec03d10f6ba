// Reading the members of DTDL elements: single values, literals, strings, integers, localized
// text, @id, @type and its co-types, semantic units, standard schema terms; the members reader.
#include "model/detail/builder_impl.h"

namespace doppel::model::detail {

const jnode* builder::single(const jnode* n, const where_t& w, std::string_view name, bool required) {
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

const jnode* builder::literal(const jnode* n, const where_t& w, std::string_view xsd) {
  if (!n || !n->is_object()) return n;
  const jnode* v = n->find("@value");
  if (!v) return n;
  if (const jnode* t = n->find("@type")) {
    // The datatype is one IRI, in full or compact form, alone or as the only array item.
    const jnode* one = t->is_array() && t->items.size() == 1 ? &t->items[0] : t;
    bool ok = one->is_string() && (one->text == "xsd:" + std::string(xsd) ||
                                   one->text == "http://www.w3.org/2001/XMLSchema#" + std::string(xsd));
    if (!ok) {
      error(w, "this value object's @type must be \"xsd:" + std::string(xsd) + "\", the datatype of the member",
            "write {\"@value\": ..., \"@type\": \"xsd:" + std::string(xsd) + "\"}, or just the value");
      return nullptr;
    }
  }
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

std::optional<std::string> builder::read_string(const jnode* raw, const where_t& w, std::string_view name,
                                                bool required, std::size_t max_len) {
  const jnode* n = literal(single(raw, w, name, required), w, "string");
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

std::optional<std::int64_t> builder::read_integer(const jnode* raw, const where_t& w, std::string_view name,
                                                  bool required) {
  const jnode* n = literal(single(raw, w, name, required), w, "integer");
  if (!n) {
    if (required && !raw) error(w, "missing required member " + quote(name));
    return std::nullopt;
  }
  if (!n->is_integer() || n->integer < std::numeric_limits<std::int32_t>::min() ||
      n->integer > std::numeric_limits<std::int32_t>::max()) {
    error(w, std::string(name) + " must be a 32-bit integer, not " +
                 (n->type == jnode::kind::number ? std::string("a fractional or too large number") : a_kind(n->type)));
    return std::nullopt;
  }
  return n->integer;
}

std::optional<bool> builder::read_bool(const jnode* raw, const where_t& w, std::string_view name) {
  const jnode* n = literal(single(raw, w, name, false), w, "boolean");
  if (!n) return std::nullopt;
  if (n->type != jnode::kind::boolean) {
    error(w, std::string(name) + " must be true or false, not " + a_kind(n->type));
    return std::nullopt;
  }
  return n->boolean;
}

bool builder::valid_language(std::string_view tag) {
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

localized builder::read_localized(const jnode* n, const where_t& w, std::string_view name, std::size_t max_len) {
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

std::string builder::read_name(members& m) {
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

std::string builder::read_id(members& m, bool required, bool is_interface, id_entry entry) {
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

std::string builder::normalise_type(std::string_view t) {
  if (!looks_like_dtmi(t)) return std::string(t);
  if (auto s = strip_dtmi(t, "dtmi:dtdl:class:", own_version())) return std::string(*s);
  if (auto s = strip_dtmi(t, "dtmi:standard:class:", own_version())) return std::string(*s);
  if (auto s = strip_dtmi(t, "dtmi:dtdl:extension:quantitativeTypes:v1:class:", "")) return std::string(*s);
  for (std::string_view ext : {"historization", "annotation", "overriding", "mqtt", "requirement", "initialization"}) {
    std::string prefix = "dtmi:dtdl:extension:" + std::string(ext) + ":v1:";
    if (auto s = strip_dtmi(t, prefix, "")) return std::string(*s);
  }
  if (auto s = strip_dtmi(t, "dtmi:iotcentral:class:", "2")) return std::string(*s);
  return std::string(t);
}

classified_types builder::read_types(members& m, std::string_view material, bool required) {
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

bool builder::semantic_allowed(std::string_view material) const {
  if (ctx_.version == dtdl_version::v2) return material == "Telemetry" || material == "Property";
  return material == "Telemetry" || material == "Property" || material == "CommandRequest" ||
         material == "CommandResponse" || material == "Field" || material == "MapValue";
}

std::optional<unit_table> builder::semantic_table() const {
  if (ctx_.version == dtdl_version::v2) return unit_table::v2;
  if (ctx_.has(ext_quantitative)) return unit_table::quantitative_types_v1;
  return std::nullopt;
}

bool builder::classify_co_type(const std::string& term, std::string_view material, const where_t& w,
                               classified_types& out) {
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
    if (term == out.semantic_type) return true;  // named twice (as term and DTMI): one @type set entry
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
    if (looks_like_dtmi(term)) {
      // An IRI that is a DTMI names a DTDL type or nothing: only plain terms are open-world.
      error(w, "co-type " + quote(term) + " is a DTMI that names no DTDL v2 type",
            "remove it, or write an undefined co-type as a plain term such as \"Foobar\"");
      return false;
    }
    bool reserved = known_v2_semantic || is_unit_type(unit_table::v2, term) || is_unit(unit_table::v2, term) ||
                    std::find(std::begin(k_v2_reserved_types), std::end(k_v2_reserved_types), term) !=
                        std::end(k_v2_reserved_types);
    bool other_term =
        term == "unit" ||
        std::find(std::begin(k_v2_reserved_terms), std::end(k_v2_reserved_terms), term) !=
            std::end(k_v2_reserved_terms) ||
        std::find(std::begin(k_reserved_members), std::end(k_reserved_members), term) != std::end(k_reserved_members);
    if (other_term) {
      error(w, quote(term) + " is a DTDL v2 term for a value or a member, not a type, so it cannot be a co-type",
            "remove it from @type");
      return false;
    }
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

void builder::read_semantic_unit(members& m, const classified_types& types, std::string& semantic, std::string& unit,
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

std::optional<primitive_kind> builder::standard_schema(std::string_view s) const {
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

bool builder::looks_like_duration(std::string_view s) {
  return s.size() >= 2 && s[0] == 'P' &&
         std::all_of(s.begin() + 1, s.end(), [](char c) { return std::strchr("0123456789.YMWDTHS", c) != nullptr; });
}

namespace {

std::string_view normalise_member(std::string_view key, dtdl_version v) {
  if (!looks_like_dtmi(key)) return key;
  if (auto s = strip_dtmi(key, "dtmi:dtdl:property:", v == dtdl_version::v2 ? "2" : "3")) return *s;
  if (auto s = strip_dtmi(key, "dtmi:dtdl:extension:quantitativeTypes:v1:property:", "")) return *s;
  return key;
}

}  // namespace

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

}  // namespace doppel::model::detail
