// Parsing elements: interfaces, their contents (telemetry, properties, commands, relationships,
// components) and the members of adjunct (extension) types.
#include "model/detail/builder_impl.h"

namespace doppel::model::detail {

interface* builder::parse_interface(const jnode& n, const where_t& w, const interface* /*parent*/) {
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
  self->id = read_id(m, true, true, {id_entry::kind::interface, self, self, {}});
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
      error(ew, "a DTDL v2 Interface may extend at most 2 interfaces, this one lists " + std::to_string(values.size()),
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

void builder::read_mqtt_members(members& m, const classified_types& types) {
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

void builder::reference_interface(const jnode& v, const where_t& w, const interface** slot, std::string_view what) {
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

content* builder::parse_content(const jnode& n, const where_t& w, interface* owner) {
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

content* builder::parse_content_as(const jnode& n, const where_t& w, interface* owner, const std::string& material) {
  members m(*this, n, w, material);
  m.take("@context");
  auto owned = std::make_unique<content>();
  content* c = owned.get();
  out_.contents.push_back(std::move(owned));
  classified_types types = read_types(m, material, true);
  c->co_types = types.co_types;
  c->id = read_id(m, false, false, {id_entry::kind::content, c, owner, {}});
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
        error(m.where_of("minMultiplicity"), "minMultiplicity must be 0 in DTDL v2 and v3", "remove it or set it to 0");
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
      const jnode* one = single(t, tw, "target", false);
      if (one && one->is_object()) {
        // target is an IRI, not a literal: a {"@value": ...} object names nothing.
        error(tw, "target must be an Interface DTMI written as a string, not an object",
              "write \"target\": \"dtmi:com:example:Thing;1\"");
      } else if (auto s = one ? read_string(one, tw, "target", false) : std::nullopt) {
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
        pending_element_ref ref;
        ref.what = pending_element_ref::kind::property;
        ref.slot = c;
        ref.partition = owner;
        if (element_reference(item, iw, std::move(ref))) return;
        if (!item.is_object()) {
          error(iw, "Relationship properties must be Property objects, not " + a_kind(item.type),
                "or the @id of a Property defined elsewhere in this interface");
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

void builder::read_adjunct_members(members& m, const classified_types& types, content* c, interface* owner) {
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

void builder::read_index(members& m, const void* scope) {
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

}  // namespace doppel::model::detail
