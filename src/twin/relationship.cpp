#include "twin/relationship.h"

#include <nlohmann/json.hpp>

#include <string>

#include "core/text.h"
#include "model/dtmi.h"

namespace doppel::twin {

const model::content* check_relationship(const nlohmann::json& body, const model::interface& source,
                                         const model::interface* target, std::vector<model::value_error>& errors) {
  std::size_t before = errors.size();
  if (!body.is_object()) {
    errors.push_back({"$", "a relationship must be a JSON object with $relationshipName and $targetId"});
    return nullptr;
  }
  auto text = [&](const char* key) -> const std::string* {
    auto it = body.find(key);
    if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
      errors.push_back({std::string("$.") + key, std::string("missing ") + key + " (a non-empty string)"});
      return nullptr;
    }
    return &it->get_ref<const std::string&>();
  };
  const std::string* name = text("$relationshipName");
  const std::string* target_id = text("$targetId");
  const model::content* rel = nullptr;
  if (name) {
    rel = source.find(*name);
    if (!rel || rel->kind != model::content_kind::relationship) {
      std::string names;
      for (const model::content* c : source.contents) {
        if (c->kind == model::content_kind::relationship) names += (names.empty() ? "" : ", ") + c->name;
      }
      errors.push_back({"$.$relationshipName", "model " + source.id + " has no relationship " + quote(*name) +
                                                   (names.empty() ? "; it declares none" : "; it has: " + names)});
      rel = nullptr;
    }
  }
  if (target_id && !target) {
    errors.push_back({"$.$targetId", "target twin " + quote(*target_id) + " does not exist"});
  }
  if (rel && target && !rel->target.empty() && !target->is_a(rel->target)) {
    errors.push_back({"$.$targetId", "relationship " + quote(rel->name) + " must target a " + rel->target +
                                         ", but twin " + quote(*target_id) + " is a " + target->id});
  }
  for (const auto& [key, value] : body.items()) {
    if (!key.empty() && key[0] == '$') {
      if (key != "$relationshipId" && key != "$sourceId" && key != "$relationshipName" && key != "$targetId" &&
          key != "$etag") {
        errors.push_back({"$[" + quote(key) + "]", "unknown key " + quote(key) + " in a relationship"});
      }
      continue;
    }
    if (!rel) continue;
    const model::content* prop = nullptr;
    for (const model::content* p : rel->properties) {
      if (p->name == key) prop = p;
    }
    std::string at = model::is_valid_name(key) ? "$." + key : "$[" + quote(key) + "]";
    if (!prop) {
      errors.push_back({at, "relationship " + quote(rel->name) + " has no property " + quote(key)});
      continue;
    }
    if (prop->type) model::check_value(*prop->type, value, errors, at);
  }
  return errors.size() == before ? rel : nullptr;
}

}  // namespace doppel::twin
