#include "twin/declarations.h"

#include <map>

#include "core/text.h"
#include "twin/document.h"
#include "twin/relationship.h"

namespace doppel::twin {

namespace {

struct twin_entry {
  const model::interface* model = nullptr;
  std::string file;
  std::string path;
};

// "$.twins[2]" + "$.mode" -> "$.twins[2].mode"
std::string join(const std::string& base, const std::string& inner) {
  return inner.size() > 1 ? base + inner.substr(1) : base;
}

}  // namespace

declaration_report check_declarations(const std::vector<declared_file>& files, const model::model_registry& models) {
  declaration_report r;
  auto fail = [&](const std::string& file, std::string path, std::string message) {
    r.errors.push_back({file, std::move(path), std::move(message)});
  };
  struct rel_item {
    const declared_file* file;
    std::string path;
    const nlohmann::json* body;
  };
  std::vector<rel_item> rels;
  std::map<std::string, twin_entry, std::less<>> twins;
  for (const auto& f : files) {
    const nlohmann::json* list = nullptr;
    std::string base;
    if (f.content.is_array()) {
      list = &f.content;
      base = "$";
    } else if (f.content.is_object()) {
      for (const auto& [k, v] : f.content.items()) {
        if (k != "twins" && k != "relationships") {
          fail(f.name, "$." + k, "unknown key " + quote(k) + "; a twin file holds \"twins\" and \"relationships\"");
        } else if (!v.is_array()) {
          fail(f.name, "$." + k, k + " must be an array");
        }
      }
      if (f.content.contains("twins") && f.content["twins"].is_array()) {
        list = &f.content["twins"];
        base = "$.twins";
      }
      if (f.content.contains("relationships") && f.content["relationships"].is_array()) {
        const auto& rs = f.content["relationships"];
        for (std::size_t i = 0; i < rs.size(); ++i) {
          rels.push_back({&f, "$.relationships[" + std::to_string(i) + "]", &rs[i]});
        }
      }
    } else {
      fail(f.name, "$", "a twin file holds {\"twins\": [...], \"relationships\": [...]} or an array of twins");
    }
    if (!list) continue;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto& t = (*list)[i];
      std::string at = base + "[" + std::to_string(i) + "]";
      if (!t.is_object() || !t.contains("$dtId") || !t["$dtId"].is_string() ||
          t["$dtId"].get_ref<const std::string&>().empty()) {
        fail(f.name, at, "each twin needs \"$dtId\": a non-empty string id");
        continue;
      }
      const std::string& id = t["$dtId"].get_ref<const std::string&>();
      std::vector<model::value_error> errors;
      const model::interface* m = check_twin(t, id, models, {true}, errors);
      for (const auto& e : errors) fail(f.name, join(at, e.path), e.message);
      auto [it, inserted] = twins.emplace(id, twin_entry{m, f.name, at});
      if (!inserted) {
        fail(f.name, at + ".$dtId",
             "twin " + quote(id) + " is declared twice (first at " + it->second.file + " " + it->second.path + ")");
        continue;
      }
      ++r.twins;
    }
  }
  std::map<std::string, std::string> rel_ids;                          // "source/relId" -> where first declared
  std::map<std::pair<std::string, std::string>, std::int64_t> counts;  // (source, name) -> count
  for (const auto& item : rels) {
    const auto& b = *item.body;
    const std::string& file = item.file->name;
    if (!b.is_object() || !b.contains("$sourceId") || !b["$sourceId"].is_string()) {
      fail(file, item.path, "each relationship needs \"$sourceId\", \"$relationshipName\" and \"$targetId\"");
      continue;
    }
    const std::string& source_id = b["$sourceId"].get_ref<const std::string&>();
    auto src = twins.find(source_id);
    if (src == twins.end()) {
      fail(file, item.path + ".$sourceId", "source twin " + quote(source_id) + " is not declared");
      continue;
    }
    if (!src->second.model) continue;  // the twin's own errors were reported
    const model::interface* target = nullptr;
    if (b.contains("$targetId") && b["$targetId"].is_string()) {
      auto t = twins.find(b["$targetId"].get_ref<const std::string&>());
      if (t != twins.end()) target = t->second.model;
      if (t != twins.end() && !target) continue;
    }
    std::vector<model::value_error> errors;
    const model::content* rel = check_relationship(b, *src->second.model, target, errors);
    for (const auto& e : errors) fail(file, join(item.path, e.path), e.message);
    if (!rel) continue;
    std::string rel_id = b.contains("$relationshipId") && b["$relationshipId"].is_string()
                             ? b["$relationshipId"].get<std::string>()
                             : rel->name + "-" + b["$targetId"].get<std::string>();
    auto [it, inserted] = rel_ids.emplace(source_id + "/" + rel_id, file + " " + item.path);
    if (!inserted) {
      fail(file, item.path,
           "relationship " + quote(rel_id) + " of twin " + quote(source_id) + " is declared twice (first at " +
               it->second + ")");
      continue;
    }
    std::int64_t n = ++counts[{source_id, rel->name}];
    if (rel->max_multiplicity && n > *rel->max_multiplicity) {
      fail(file, item.path,
           "twin " + quote(source_id) + " has more than " + std::to_string(*rel->max_multiplicity) + " " +
               quote(rel->name) + " relationships, the model's maxMultiplicity");
      continue;
    }
    ++r.relationships;
  }
  return r;
}

}  // namespace doppel::twin
