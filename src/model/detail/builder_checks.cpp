// Whole-model checks once references are resolved: names, limits, annotations, IoT Central
// co-types, schema depth and cycles, initial values.
#include "model/detail/builder_impl.h"

namespace doppel::model::detail {

void builder::check_iotcentral() {
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
      error(chk.where,
            "co-type " + quote(chk.co_type) + " needs the schema to be " + std::string(want) + ", not " + s->describe(),
            "change the schema or drop the co-type");
    }
  }
}

void builder::check_own_names(const interface& i, const interface_info& info) {
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

void builder::check_contents() {
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

void builder::check_all_names(const interface& iface, const interface_info& info) {
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
      error(where_of(c, info.where), "name " + quote(c->name) + " is already inherited from " + first->declared_in->id,
            "rename it: an interface cannot redeclare an inherited name");
    } else if (!clash_inherited_from_one_base(*i, first, c)) {
      error(info.where,
            i->id + " inherits two different elements named " + quote(c->name) + " (from " + first->declared_in->id +
                " and " + c->declared_in->id + ")",
            "rename one of them in its base interface");
    }
  }
}

void builder::check_limits(const interface& iface, const interface_info& info) {
  const interface* i = &iface;
  if (i->version == dtdl_version::v2 && i->contents.size() > k_v2_max_contents) {
    error(
        info.where,
        i->id + " has " + std::to_string(i->contents.size()) + " contents including inherited ones; DTDL v2 allows 300",
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

void builder::check_annotations() {
  for (const auto& a : annotations_) {
    const interface* owner = a.element->declared_in;
    const content* target = owner ? owner->find(a.annotates) : nullptr;
    if (!target || (target->kind != content_kind::property && target->kind != content_kind::telemetry)) {
      error(a.where,
            "annotates " + quote(a.annotates) + " does not name a Property or Telemetry of the same interface");
    }
  }
}

bool builder::clash_inherited_from_one_base(const interface& i, const content* a, const content* b) {
  return std::any_of(i.extends.begin(), i.extends.end(), [&](const interface* base) {
    if (!base) return false;
    const auto& cs = base->contents;
    return std::find(cs.begin(), cs.end(), a) != cs.end() && std::find(cs.begin(), cs.end(), b) != cs.end();
  });
}

where_t builder::where_of(const content* c, const where_t& fallback) const {
  auto it = content_where_.find(c);
  return it == content_where_.end() ? fallback : it->second;
}

void builder::check_schemas() {
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

void builder::check_initial_values() {
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

}  // namespace doppel::model::detail
