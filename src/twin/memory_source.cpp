#include "twin/memory_source.h"

#include "core/text.h"
#include "twin/document.h"

namespace doppel::twin {

status memory_source::put_twin(const std::string& id, nlohmann::json body) {
  if (id.empty()) return status::invalid_argument("a twin id must not be empty");
  std::vector<model::value_error> errors;
  const model::interface* m = check_twin(body, id, models_, {true}, errors);
  if (!m) {
    std::string message = "twin " + quote(id) + " does not fit its model: ";
    for (std::size_t i = 0; i < errors.size(); ++i)
      message += (i ? "; " : "") + errors[i].path + ": " + errors[i].message;
    return status::invalid_argument(message);
  }
  body["$dtId"] = id;
  auto it = twins_.find(id);
  if (it == twins_.end()) {
    it = twins_.emplace(id, std::move(body)).first;
    index_.update(id, nullptr, &it->second, m);
  } else {
    index_.update(id, &it->second, &body, m);
    it->second = std::move(body);
  }
  return status::ok();
}

status memory_source::erase_twin(const std::string& id) {
  auto it = twins_.find(id);
  if (it == twins_.end()) return status::not_found("twin " + quote(id) + " does not exist");
  index_.update(id, &it->second, nullptr, nullptr);
  twins_.erase(it);
  return status::ok();
}

status memory_source::put_relationship(nlohmann::json body) {
  for (const char* key : {"$sourceId", "$relationshipId", "$relationshipName", "$targetId"}) {
    if (!body.is_object() || !body.contains(key) || !body[key].is_string() ||
        body[key].get_ref<const std::string&>().empty()) {
      return status::invalid_argument(std::string("$.") + key + ": a relationship needs it as a non-empty string");
    }
  }
  rel_key key{body["$sourceId"].get<std::string>(), body["$relationshipId"].get<std::string>()};
  relationships_[std::move(key)] = std::move(body);
  return status::ok();
}

status memory_source::erase_relationship(const std::string& source, const std::string& rel_id) {
  if (relationships_.erase({source, rel_id}) == 0) {
    return status::not_found("relationship " + quote(rel_id) + " of twin " + quote(source) + " does not exist");
  }
  return status::ok();
}

void memory_source::scan_twins(std::string_view from, const twin_visitor& visit) const {
  for (auto it = twins_.lower_bound(from); it != twins_.end(); ++it) {
    if (!visit(it->first, it->second)) return;
  }
}

const nlohmann::json* memory_source::find_twin(std::string_view id) const {
  auto it = twins_.find(id);
  return it == twins_.end() ? nullptr : &it->second;
}

void memory_source::scan_outgoing(std::string_view source, std::string_view from_id,
                                  const relationship_visitor& visit) const {
  for (auto it = relationships_.lower_bound({std::string(source), std::string(from_id)});
       it != relationships_.end() && it->first.first == source; ++it) {
    if (!visit(it->first.first, it->first.second, it->second)) return;
  }
}

void memory_source::scan_relationships(std::string_view from_source, std::string_view from_id,
                                       const relationship_visitor& visit) const {
  for (auto it = relationships_.lower_bound({std::string(from_source), std::string(from_id)});
       it != relationships_.end(); ++it) {
    if (!visit(it->first.first, it->first.second, it->second)) return;
  }
}

}  // namespace doppel::twin
