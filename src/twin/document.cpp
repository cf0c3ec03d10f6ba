#include "twin/document.h"

#include <nlohmann/json.hpp>

#include <string>

#include "core/text.h"
#include "model/dtmi.h"

namespace doppel::twin {

namespace {

using model::value_error;

std::string child(const std::string& path, const std::string& key) {
  if (model::is_valid_name(key)) return path + "." + key;
  return path + "[" + quote(key) + "]";
}

// The members of a twin or component body: properties and components of `iface`.
void check_members(const nlohmann::json& body, const model::interface& iface, const std::string& path,
                   const check_options& options, std::vector<value_error>& errors) {
  for (const auto& [key, value] : body.items()) {
    std::string at = child(path, key);
    if (!key.empty() && key[0] == '$') continue;  // checked by the caller
    const model::content* c = iface.find(key);
    if (!c) {
      errors.push_back({at, "unknown property " + quote(key) + " for model " + iface.id +
                                "; GET /models/{dtmi} lists its contents"});
      continue;
    }
    switch (c->kind) {
      case model::content_kind::property:
        if (!c->writable && !options.allow_read_only) {
          errors.push_back({at, "property " + quote(key) + " is not writable in " + c->declared_in->id +
                                    "; it holds what the device reports"});
        }
        if (c->type) model::check_value(*c->type, value, errors, at);
        break;
      case model::content_kind::component:
        if (!value.is_object()) {
          errors.push_back({at, "component " + quote(key) + " must be an object such as {\"$metadata\": {}}"});
          break;
        }
        if (!value.contains("$metadata") || !value["$metadata"].is_object()) {
          errors.push_back({at, "component " + quote(key) + " needs \"$metadata\": {}"});
        }
        for (const auto& [k, v] : value.items()) {
          if (!k.empty() && k[0] == '$' && k != "$metadata") {
            errors.push_back({child(at, k), "unknown key " + quote(k) + " in a component; only $metadata is allowed"});
          }
        }
        if (c->component) check_members(value, *c->component, at, options, errors);
        break;
      case model::content_kind::telemetry:
        errors.push_back({at, quote(key) + " is Telemetry: it is streamed, not stored as a twin property"});
        break;
      case model::content_kind::relationship:
        errors.push_back({at, quote(key) + " is a Relationship: create it under /digitaltwins/{id}/relationships"});
        break;
      case model::content_kind::command:
        errors.push_back({at, quote(key) + " is a Command: invoke it, it holds no value"});
        break;
    }
  }
  for (const model::content* c : iface.contents) {
    if (c->kind == model::content_kind::component && !body.contains(c->name)) {
      errors.push_back(
          {path, "missing component " + quote(c->name) + "; add \"" + c->name + "\": {\"$metadata\": {}}"});
    }
  }
}

// "/motor/power" -> {"motor", "power"} (RFC 6901 unescaping); false for a malformed pointer.
bool split_pointer(const std::string& pointer, std::vector<std::string>& out) {
  if (pointer.empty()) return true;
  if (pointer[0] != '/') return false;
  std::string token;
  for (std::size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      out.push_back(token);
      token.clear();
    } else if (pointer[i] == '~') {
      if (i + 1 >= pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1')) return false;
      token += pointer[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      token += pointer[i];
    }
  }
  return true;
}

// Checks one pointer of an operation: not into $-keys, and (for API writes) only into
// writable properties.
// `malformed` is set when the operation itself is wrong (not a pointer, into a $-key), as opposed
// to a model rule it breaks.
void check_target(const std::string& pointer, const std::string& at, const model::interface& iface,
                  const check_options& options, std::vector<value_error>& errors, bool& malformed) {
  std::vector<std::string> tokens;
  if (!split_pointer(pointer, tokens)) {
    errors.push_back({at, "not a JSON Pointer: " + quote(pointer) + "; write e.g. \"/targetSpeed\""});
    malformed = true;
    return;
  }
  if (tokens.empty()) {
    errors.push_back({at, "a patch may not replace the whole twin; use PUT for that"});
    malformed = true;
    return;
  }
  const model::interface* scope = &iface;
  for (std::size_t i = 0; i < tokens.size() && scope; ++i) {
    const std::string& t = tokens[i];
    if (!t.empty() && t[0] == '$') {
      errors.push_back({at, quote(pointer) + " points into " + quote(t) + ", which the server maintains"});
      malformed = true;
      return;
    }
    const model::content* c = scope->find(t);
    if (!c) return;  // the check of the patched twin names the unknown property
    if (c->kind == model::content_kind::component) {
      scope = c->component;
      continue;
    }
    if (c->kind == model::content_kind::property && !c->writable && !options.allow_read_only) {
      errors.push_back({at, "property " + quote(t) + " is not writable in " + c->declared_in->id +
                                "; it holds what the device reports"});
    }
    return;
  }
}

// Read-only properties whose value differs between `before` and `after` (added, removed or
// replaced), also inside components. Catches what per-operation paths cannot see, such as a
// whole component replaced with new read-only values in it.
void read_only_changes(const nlohmann::json& before, const nlohmann::json& after, const model::interface& iface,
                       const std::string& path, std::vector<value_error>& errors) {
  static const nlohmann::json empty = nlohmann::json::object();
  for (const model::content* c : iface.contents) {
    auto b = before.find(c->name);
    auto a = after.find(c->name);
    const nlohmann::json* bv = b == before.end() ? nullptr : &*b;
    const nlohmann::json* av = a == after.end() ? nullptr : &*a;
    if (c->kind == model::content_kind::property && !c->writable) {
      if ((bv == nullptr) != (av == nullptr) || (bv && *bv != *av)) {
        errors.push_back({child(path, c->name), "property " + quote(c->name) + " is not writable in " +
                                                    c->declared_in->id + "; it holds what the device reports"});
      }
    } else if (c->kind == model::content_kind::component && c->component) {
      const nlohmann::json& bo = bv && bv->is_object() ? *bv : empty;
      const nlohmann::json& ao = av && av->is_object() ? *av : empty;
      read_only_changes(bo, ao, *c->component, child(path, c->name), errors);
    }
  }
}

}  // namespace

const model::interface* check_twin(const nlohmann::json& body, std::string_view id, const model::model_registry& models,
                                   const check_options& options, std::vector<value_error>& errors) {
  std::size_t before = errors.size();
  if (!body.is_object()) {
    errors.push_back({"$", "a twin must be a JSON object with \"$metadata\": {\"$model\": \"dtmi:...\"}"});
    return nullptr;
  }
  const model::interface* iface = nullptr;
  auto meta = body.find("$metadata");
  if (meta == body.end() || !meta->is_object()) {
    errors.push_back({"$", "missing \"$metadata\": {\"$model\": \"dtmi:...\"} naming the twin's model"});
  } else {
    auto m = meta->find("$model");
    if (m == meta->end() || !m->is_string()) {
      errors.push_back({"$.$metadata", "missing \"$model\": the DTMI of the twin's model"});
    } else {
      const std::string& dtmi = m->get_ref<const std::string&>();
      iface = models.find(dtmi);
      if (!iface) {
        errors.push_back(
            {"$.$metadata.$model",
             "model " + quote(dtmi) + " is not loaded; add its DTDL file to the project's models and restart"});
      }
    }
  }
  for (const auto& [key, value] : body.items()) {
    if (key.empty() || key[0] != '$') continue;
    if (key == "$dtId") {
      if (!value.is_string() || value.get_ref<const std::string&>() != id) {
        errors.push_back({"$.$dtId", "$dtId must equal the twin id " + quote(id)});
      }
    } else if (key != "$metadata" && key != "$etag") {
      errors.push_back(
          {child("$", key), "unknown key " + quote(key) + "; the $-keys of a twin are $dtId, $etag and $metadata"});
    }
  }
  if (iface) check_members(body, *iface, "$", options, errors);
  return errors.size() == before ? iface : nullptr;
}

bool patch_twin(nlohmann::json& body, const nlohmann::json& patch, std::string_view id,
                const model::model_registry& models, const check_options& options, std::vector<value_error>& errors,
                const model::interface* model, bool* patch_invalid) {
  nlohmann::json after;
  if (!patched_twin(body, patch, id, models, options, errors, after, model, patch_invalid)) return false;
  body = std::move(after);
  return true;
}

bool patched_twin(const nlohmann::json& body, const nlohmann::json& patch, std::string_view id,
                  const model::model_registry& models, const check_options& options, std::vector<value_error>& errors,
                  nlohmann::json& after, const model::interface* model, bool* patch_invalid) {
  std::size_t before = errors.size();
  bool ignored = false;
  bool& malformed = patch_invalid ? *patch_invalid : ignored;  // the patch itself is wrong
  malformed = false;
  check_options existing = options;
  existing.allow_read_only = true;  // what is already stored was accepted when it was written
  const model::interface* iface = model ? model : check_twin(body, id, models, existing, errors);
  if (!iface) return false;
  if (!patch.is_array()) {
    errors.push_back({"$",
                      "a JSON Patch is an array of operations such as "
                      "[{\"op\": \"replace\", \"path\": \"/targetSpeed\", \"value\": 1450}]"});
    malformed = true;
    return false;
  }
  for (std::size_t i = 0; i < patch.size(); ++i) {
    std::string at = "$[" + std::to_string(i) + "]";
    const auto& op = patch[i];
    if (!op.is_object() || !op.contains("op") || !op["op"].is_string() || !op.contains("path") ||
        !op["path"].is_string()) {
      errors.push_back({at, "each operation needs \"op\" and \"path\" strings"});
      malformed = true;
      continue;
    }
    const std::string& name = op["op"].get_ref<const std::string&>();
    if (name != "add" && name != "remove" && name != "replace" && name != "move" && name != "copy" && name != "test") {
      errors.push_back({at + ".op", "unknown op " + quote(name) + "; use add, remove, replace, move, copy or test"});
      malformed = true;
      continue;
    }
    if (name != "test") {
      check_target(op["path"].get_ref<const std::string&>(), at + ".path", *iface, options, errors, malformed);
    }
    if (name == "move" || name == "copy") {
      if (!op.contains("from") || !op["from"].is_string()) {
        errors.push_back({at, quote(name) + " needs a \"from\" string"});
        malformed = true;
      } else if (name == "move") {
        check_target(op["from"].get_ref<const std::string&>(), at + ".from", *iface, options, errors, malformed);
      }
    }
  }
  if (errors.size() != before) return false;
  nlohmann::json result;
  try {
    result = body.patch(patch);
  } catch (const nlohmann::json::exception& e) {
    // nlohmann names the failing operation and path in its message.
    std::string what = e.what();
    auto bracket = what.find("] ");
    errors.push_back(
        {"$", "the patch cannot be applied: " + (bracket == std::string::npos ? what : what.substr(bracket + 2))});
    malformed = true;
    return false;
  }
  check_options relaxed = options;
  relaxed.allow_read_only = true;  // writability is judged on what changed, below
  if (!check_twin(result, id, models, relaxed, errors)) return false;
  if (!options.allow_read_only) {
    read_only_changes(body, result, *iface, "$", errors);
    if (errors.size() != before) return false;
  }
  after = std::move(result);
  return true;
}

}  // namespace doppel::twin

namespace doppel::twin {

namespace {

constexpr const char* desired_keys[] = {"desiredValue", "desiredVersion", "desiredTime",
                                        "ackVersion",   "ackCode",        "ackDescription"};

// Stamps one level (the twin or a component): `before` and `after` are its bodies.
void stamp_level(const nlohmann::json* before, nlohmann::json& after, const model::interface& iface,
                 std::string_view now, bool top) {
  const nlohmann::json* old_meta = nullptr;
  if (before && before->is_object()) {
    auto m = before->find("$metadata");
    if (m != before->end() && m->is_object()) old_meta = &*m;
  }
  nlohmann::json meta = nlohmann::json::object();
  if (auto m = after.find("$metadata"); m != after.end() && m->is_object() && m->contains("$model")) {
    meta["$model"] = (*m)["$model"];
  }
  for (const char* key : {"$desiredVersion"}) {
    if (old_meta && old_meta->contains(key)) meta[key] = (*old_meta)[key];
  }
  // The twin's time moves on every write; a component's only when something in it changed.
  bool component_unchanged = false;
  if (!top && before && before->is_object() && old_meta && old_meta->contains("$lastUpdateTime")) {
    component_unchanged = true;
    for (const auto& [k, v] : after.items()) {
      if (k == "$metadata") continue;
      auto o = before->find(k);
      if (o == before->end() || *o != v) component_unchanged = false;
    }
    for (const auto& [k, v] : before->items()) {
      if (k != "$metadata" && !after.contains(k)) component_unchanged = false;
    }
  }
  meta["$lastUpdateTime"] = component_unchanged ? (*old_meta)["$lastUpdateTime"] : nlohmann::json(now);
  for (const model::content* c : iface.contents) {
    if (c->kind == model::content_kind::component) {
      auto value = after.find(c->name);
      if (value == after.end() || !value->is_object() || !c->component) continue;
      const nlohmann::json* old_value = nullptr;
      if (before && before->is_object()) {
        auto o = before->find(c->name);
        if (o != before->end()) old_value = &*o;
      }
      stamp_level(old_value, *value, *c->component, now, false);
      continue;
    }
    if (c->kind != model::content_kind::property) continue;
    nlohmann::json entry = nlohmann::json::object();
    const nlohmann::json* old_entry = nullptr;
    if (old_meta) {
      auto o = old_meta->find(c->name);
      if (o != old_meta->end() && o->is_object()) old_entry = &*o;
    }
    if (old_entry) {
      for (const char* k : desired_keys) {
        if (old_entry->contains(k)) entry[k] = (*old_entry)[k];
      }
    }
    auto value = after.find(c->name);
    if (value != after.end()) {
      // 1e2 for an integer property is stored as 100 (every twin write passes here).
      if (c->type) model::normalize_integers(*c->type, *value);
      bool changed = true;
      if (before && before->is_object()) {
        auto o = before->find(c->name);
        changed = o == before->end() || *o != *value;
      }
      if (!changed && old_entry && old_entry->contains("lastUpdateTime")) {
        entry["lastUpdateTime"] = (*old_entry)["lastUpdateTime"];
      } else {
        entry["lastUpdateTime"] = now;
      }
      if (entry.contains("desiredValue") && entry["desiredValue"] == *value && entry.contains("desiredVersion")) {
        entry["ackVersion"] = entry["desiredVersion"];
        entry["ackCode"] = 200;
        entry.erase("ackDescription");
      }
    }
    if (!entry.empty()) meta[c->name] = std::move(entry);
  }
  after["$metadata"] = std::move(meta);
}

// Merges one level of a desired-state document; see set_desired.
void merge_desired(nlohmann::json& body, const nlohmann::json& desired, const model::interface& iface,
                   const std::string& path, const nlohmann::json& version, std::string_view now,
                   std::vector<value_error>& errors) {
  if (!desired.is_object()) {
    errors.push_back({path, "desired state is a JSON object of writable property names and values"});
    return;
  }
  for (const auto& [key, value] : desired.items()) {
    std::string at = child(path, key);
    const model::content* c = iface.find(key);
    if (!c || (c->kind != model::content_kind::property && c->kind != model::content_kind::component)) {
      errors.push_back({at, "model " + iface.id + " has no property " + quote(key)});
      continue;
    }
    if (c->kind == model::content_kind::component) {
      if (!body.contains(key) || !c->component) {
        errors.push_back({at, "component " + quote(key) + " is missing from the twin"});
        continue;
      }
      merge_desired(body[key], value, *c->component, at, version, now, errors);
      continue;
    }
    if (!c->writable) {
      errors.push_back({at, "property " + quote(key) + " is not writable in " + c->declared_in->id +
                                "; only writable properties have a desired state"});
      continue;
    }
    nlohmann::json& meta = body["$metadata"];
    if (value.is_null()) {
      if (meta.contains(key) && meta[key].is_object()) {
        for (const char* k : desired_keys) meta[key].erase(k);
        if (meta[key].empty()) meta.erase(key);
      }
      continue;
    }
    if (c->type && !model::check_value(*c->type, value, errors, at)) continue;
    nlohmann::json& entry = meta[key];
    if (!entry.is_object()) entry = nlohmann::json::object();
    entry["desiredValue"] = value;
    if (c->type) model::normalize_integers(*c->type, entry["desiredValue"]);
    entry["desiredVersion"] = version;
    entry["desiredTime"] = now;
    entry.erase("ackVersion");
    entry.erase("ackCode");
    entry.erase("ackDescription");
    auto reported = body.find(key);
    if (reported != body.end() && *reported == value) {
      entry["ackVersion"] = version;
      entry["ackCode"] = 200;
    }
  }
}

void view_level(const nlohmann::json& body, const model::interface& iface, nlohmann::json& desired,
                nlohmann::json& reported, nlohmann::json& delta) {
  const nlohmann::json* meta = nullptr;
  if (auto m = body.find("$metadata"); m != body.end() && m->is_object()) meta = &*m;
  for (const model::content* c : iface.contents) {
    if (c->kind == model::content_kind::component) {
      auto value = body.find(c->name);
      if (value == body.end() || !c->component) continue;
      nlohmann::json d = nlohmann::json::object(), r = nlohmann::json::object(), x = nlohmann::json::object();
      view_level(*value, *c->component, d, r, x);
      if (!d.empty()) desired[c->name] = std::move(d);
      if (!r.empty()) reported[c->name] = std::move(r);
      if (!x.empty()) delta[c->name] = std::move(x);
      continue;
    }
    if (c->kind != model::content_kind::property) continue;
    auto value = body.find(c->name);
    if (value != body.end()) reported[c->name] = *value;
    if (!meta) continue;
    auto entry = meta->find(c->name);
    if (entry == meta->end() || !entry->is_object() || !entry->contains("desiredValue")) continue;
    const nlohmann::json& want = (*entry)["desiredValue"];
    desired[c->name] = want;
    if (value == body.end() || *value != want) delta[c->name] = want;
  }
}

}  // namespace

void stamp_metadata(const nlohmann::json* before, nlohmann::json& after, const model::interface& iface,
                    std::string_view now) {
  stamp_level(before, after, iface, now, true);
}

bool set_desired(nlohmann::json& body, const nlohmann::json& desired, const model::interface& iface,
                 std::string_view now, std::vector<value_error>& errors) {
  std::size_t before = errors.size();
  nlohmann::json result = body;
  nlohmann::json& meta = result["$metadata"];
  std::int64_t version = meta.value("$desiredVersion", std::int64_t{0}) + 1;
  merge_desired(result, desired, iface, "$", version, now, errors);
  if (errors.size() != before) return false;
  result["$metadata"]["$desiredVersion"] = version;
  body = std::move(result);
  return true;
}

nlohmann::json desired_view(const nlohmann::json& body, const model::interface& iface) {
  nlohmann::json desired = nlohmann::json::object(), reported = nlohmann::json::object(),
                 delta = nlohmann::json::object();
  view_level(body, iface, desired, reported, delta);
  nlohmann::json out = nlohmann::json::object();
  out["$dtId"] = body.value("$dtId", "");
  out["version"] = body.contains("$metadata") ? body["$metadata"].value("$desiredVersion", std::int64_t{0}) : 0;
  out["desired"] = std::move(desired);
  out["reported"] = std::move(reported);
  out["delta"] = std::move(delta);
  return out;
}

}  // namespace doppel::twin
