// Resolution and linking: references by DTMI, extends (cycles and depth) and the flattening of
// inherited contents.
#include "model/detail/builder_impl.h"

namespace doppel::model::detail {

const id_entry* builder::lookup(const std::string& id) const {
  auto it = ids_.find(id);
  if (it != ids_.end()) return &it->second;
  auto ex = existing_.find(id);
  if (ex != existing_.end()) return &ex->second;
  return nullptr;
}

void builder::resolve() {
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
  resolve_element_refs();
  check_iotcentral();
  check_initial_values();
  check_extends();
  for (auto& info : new_interfaces_) flatten(info.self);
  check_contents();
  check_schemas();
}

void builder::resolve_element_refs() {
  for (auto& p : pending_elements_) {
    std::string_view expected = p.what == pending_element_ref::kind::named        ? p.material
                                : p.what == pending_element_ref::kind::enum_value ? std::string_view("EnumValue")
                                                                                  : std::string_view("Property");
    const id_entry* e = lookup(p.dtmi);
    if (!e) {
      error(p.where, quote(p.dtmi) + " names no element defined in any loaded model",
            "define " + article(expected) + " with this @id in the same interface, or write it inline here");
      continue;
    }
    if (e->partition != p.partition) {
      error(p.where,
            quote(p.dtmi) + " is defined in another interface (" +
                (e->partition ? e->partition->id : std::string("?")) +
                "); an element can be named by @id only within the interface that defines it",
            "write the " + std::string(expected) + " inline here");
      continue;
    }
    bool fits = false;
    if (p.what == pending_element_ref::kind::named) {
      fits = e->what == id_entry::kind::named && e->material == p.material;
    } else if (p.what == pending_element_ref::kind::enum_value) {
      fits = e->what == id_entry::kind::enum_value;
    } else {
      fits =
          e->what == id_entry::kind::content && static_cast<const content*>(e->element)->kind == content_kind::property;
    }
    if (!fits) {
      error(p.where, quote(p.dtmi) + " does not name " + article(expected) + ", which is what DTDL expects here",
            "give the @id of " + article(expected) + " defined in this interface, or write it inline");
      continue;
    }
    if (p.what == pending_element_ref::kind::named) {
      *static_cast<named_schema*>(p.slot) = *static_cast<const named_schema*>(e->element);
    } else if (p.what == pending_element_ref::kind::enum_value) {
      const auto& v = *static_cast<const enum_value*>(e->element);
      bool integer_enum = p.enumeration->value_schema == primitive_kind::integer;
      if (integer_enum != v.integer_value.has_value()) {
        error(p.where,
              quote(p.dtmi) + " is an EnumValue with " + (integer_enum ? "a string" : "an integer") +
                  " enumValue, but this Enum's valueSchema is " + (integer_enum ? "integer" : "string"),
              "name an EnumValue of the same kind, or write one inline");
        continue;
      }
      *static_cast<enum_value*>(p.slot) = v;
    } else {
      static_cast<content*>(p.slot)->properties.push_back(static_cast<const content*>(e->element));
    }
  }
}

void builder::check_extends() {
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

void builder::flatten(interface* i) {
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

const interface* builder::single_base(const interface& i) {
  const interface* only = nullptr;
  for (const interface* b : i.extends) {
    if (!b) continue;
    if (only) return nullptr;
    only = b;
  }
  return only;
}

}  // namespace doppel::model::detail
