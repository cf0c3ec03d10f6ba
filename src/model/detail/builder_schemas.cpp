// Parsing schemas: standard terms, references, complex schemas (Array, Enum, Map, Object) and
// the named schemas in them (fields, map keys and values, command payloads).
#include "model/detail/builder_impl.h"

namespace doppel::model::detail {

void builder::parse_schema_value(const jnode& n, const where_t& w, const schema** slot, const interface* partition) {
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

const schema* builder::unit_type_schema(const std::string& unit_type) {
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

schema* builder::parse_complex_schema(const jnode& n, const where_t& w, const interface* partition, bool require_id) {
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

schema* builder::parse_complex_schema_in_context(const jnode& n, const where_t& w, const interface* partition,
                                                 bool require_id) {
  std::string material;
  if (const jnode* t = n.find("@type")) {
    auto consider = [&](const jnode& v) {
      if (!v.is_string()) return;
      std::string term = normalise_type(v.text);
      if ((term == "Array" || term == "Enum" || term == "Map" || term == "Object") && material.empty()) material = term;
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
  s->id = read_id(m, require_id, false, {id_entry::kind::schema, s, partition, {}});
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
      if (s->map_key.type &&
          !(s->map_key.type->type == schema::kind::primitive && s->map_key.type->primitive == primitive_kind::string)) {
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

void builder::parse_enum(members& m, schema& s, const where_t& w, const interface* partition) {
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
  // Values are registered by address (dependent references name them): no reallocation.
  s.values.reserve(count);
  auto each = [&](const jnode& item, const where_t& iw) {
    pending_element_ref ref;
    ref.what = pending_element_ref::kind::enum_value;
    ref.partition = partition;
    ref.enumeration = &s;
    if (item.is_string() && looks_like_dtmi(item.text)) {
      s.values.emplace_back();
      ref.slot = &s.values.back();
      (void)element_reference(item, iw, std::move(ref));
      return;
    }
    if (!item.is_object()) {
      error(iw, "enumValues entries must be EnumValue objects with name and enumValue",
            "or the @id of an EnumValue defined elsewhere in this interface");
      return;
    }
    active_context saved = ctx_;
    if (!enter_nested_context(item, iw) || !v3_only_here(saved, iw, "EnumValue")) {
      ctx_ = saved;
      return;
    }
    members vm(*this, item, iw, "EnumValue");
    vm.take("@context");
    classified_types types = read_types(vm, "EnumValue", false);
    enum_value& v = s.values.emplace_back();
    v.id = read_id(vm, false, false, {id_entry::kind::enum_value, &v, partition, {}});
    v.name = read_name(vm);
    read_common(vm, v);
    const jnode* raw = vm.take("enumValue");
    const where_t& rw = vm.where_of("enumValue");
    const jnode* val = literal(single(raw, rw, "enumValue", true), rw, integer_enum ? "integer" : "string");
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
          error(rw,
                "this Enum's valueSchema is integer, so enumValue must be a 32-bit integer, not " + a_kind(val->type));
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
    ctx_ = saved;
  };
  for_each_value(*ev, evw, each);
}

bool builder::v3_only_here(const active_context& outer, const where_t& w, std::string_view material) {
  if (outer.version != dtdl_version::v3 || ctx_.version != dtdl_version::v2) return true;
  error(w, article(material) + " inside a DTDL v3 element must be DTDL v3 as well",
        "drop the \"dtmi:dtdl:context;2\" @context of this " + std::string(material));
  return false;
}

bool builder::element_reference(const jnode& n, const where_t& w, pending_element_ref ref) {
  if (!n.is_string() || !looks_like_dtmi(n.text)) return false;
  std::string problem = dtmi_problem(n.text, ctx_.version);
  if (!problem.empty()) {
    error(w, quote(n.text) + " is not a valid DTMI: " + problem,
          "write the element inline, or give the @id of one defined in this interface");
    return true;
  }
  ref.dtmi = std::string(n.text);
  ref.where = w;
  pending_elements_.push_back(std::move(ref));
  return true;
}

void builder::parse_named_schema(const jnode& n, const where_t& w, std::string_view material, named_schema& into,
                                 const interface* partition, const void* index_scope) {
  pending_element_ref ref;
  ref.what = pending_element_ref::kind::named;
  ref.slot = &into;
  ref.partition = partition;
  ref.material = material;
  if (element_reference(n, w, std::move(ref))) return;
  if (!n.is_object()) {
    error(w, "expected " + article(material) + " object with name and schema, not " + a_kind(n.type),
          "or the @id of " + article(material) + " defined elsewhere in this interface");
    return;
  }
  if (n.is_object() && n.find("@type") == nullptr && n.members.empty()) {
    error(w, article(material) + " needs \"name\" and \"schema\"");
    return;
  }
  active_context saved = ctx_;
  if (!enter_nested_context(n, w) || !v3_only_here(saved, w, material)) {
    ctx_ = saved;
    return;
  }
  members m(*this, n, w, material);
  m.take("@context");
  classified_types types = read_types(m, material, false);
  into.id = read_id(m, false, false, {id_entry::kind::named, &into, partition, material});
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

}  // namespace doppel::model::detail
