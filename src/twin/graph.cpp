#include "twin/graph.h"

#include <chrono>
#include <cstdio>
#include <mutex>

#include "core/text.h"
#include "twin/relationship.h"

namespace doppel::twin {

namespace {

std::string join_errors(const std::vector<model::value_error>& errors) {
  std::string out;
  for (const auto& e : errors) out += (out.empty() ? "" : "; ") + e.path + ": " + e.message;
  return out;
}

}  // namespace

twin_graph::twin_graph(const model::model_registry& models, store::metadata_store& store)
    : models_(models),
      store_(store),
      etag_epoch_(static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count())) {}

result<std::unique_ptr<twin_graph>> twin_graph::open(const model::model_registry& models,
                                                     store::metadata_store& store) {
  std::unique_ptr<twin_graph> g(new twin_graph(models, store));
  for (const auto& t : store.all_twins()) {
    auto body = nlohmann::json::parse(t.body, nullptr, false);
    std::vector<model::value_error> errors;
    const model::interface* m = body.is_discarded() ? nullptr : check_twin(body, t.id, models, {true}, errors);
    if (!m) {
      return status::invalid_argument("stored twin " + quote(t.id) + " does not fit the loaded models: " +
                                      (body.is_discarded() ? "its JSON is corrupt" : join_errors(errors)));
    }
    g->twins_[t.id] = {std::move(body), m};
  }
  for (const auto& r : store.all_relationships()) {
    auto body = nlohmann::json::parse(r.body, nullptr, false);
    if (body.is_discarded()) return status::invalid_argument("stored relationship " + quote(r.id) + " is corrupt");
    g->relationships_[{r.source, r.id}] = std::move(body);
    g->incoming_.emplace(r.target, rel_key{r.source, r.id});
  }
  return g;
}

std::string twin_graph::next_etag() {
  char buf[48];
  std::snprintf(buf, sizeof buf, "W/\"%llx-%llx\"", static_cast<unsigned long long>(etag_epoch_),
                static_cast<unsigned long long>(++etag_counter_));
  return buf;
}

status twin_graph::check_condition(const nlohmann::json* existing, const condition& c, const std::string& what) const {
  if (c.if_none_match_any && existing) {
    return status::precondition_mismatch(what + " already exists (If-None-Match: *)");
  }
  if (!c.if_match.empty()) {
    if (!existing) return status::precondition_mismatch(what + " does not exist (If-Match)");
    if (c.if_match != "*" && existing->value("$etag", "") != c.if_match) {
      return status::precondition_mismatch(what + " has etag " + existing->value("$etag", "") + ", not " + c.if_match +
                                           " (If-Match): someone changed it; read it again");
    }
  }
  return status::ok();
}

result<nlohmann::json> twin_graph::get_twin(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto it = twins_.find(id);
  if (it == twins_.end()) return status::not_found("twin " + quote(id) + " does not exist");
  return it->second.body;
}

result<nlohmann::json> twin_graph::store_twin(const std::string& id, nlohmann::json body,
                                              const model::interface& model) {
  body["$dtId"] = id;
  body["$etag"] = next_etag();
  store::write w;
  w.kind = store::write::op::put_twin;
  w.twin = {id, model.id, body.dump(), body["$etag"].get<std::string>()};
  if (status s = store_.apply({std::move(w)}); !s) return s;
  twins_[id] = {body, &model};
  return body;
}

result<nlohmann::json> twin_graph::put_twin(const std::string& id, nlohmann::json body, const condition& c,
                                            const check_options& options) {
  if (id.empty()) return status::invalid_argument("a twin id must not be empty");
  std::vector<model::value_error> errors;
  const model::interface* m = check_twin(body, id, models_, options, errors);
  if (!m) return status::invalid_argument(join_errors(errors));
  std::unique_lock lock(mu_);
  auto it = twins_.find(id);
  if (status s = check_condition(it == twins_.end() ? nullptr : &it->second.body, c, "twin " + quote(id)); !s) return s;
  return store_twin(id, std::move(body), *m);
}

result<nlohmann::json> twin_graph::patch_twin(const std::string& id, const nlohmann::json& patch, const condition& c,
                                              const check_options& options) {
  std::unique_lock lock(mu_);
  auto it = twins_.find(id);
  if (it == twins_.end()) return status::not_found("twin " + quote(id) + " does not exist");
  if (status s = check_condition(&it->second.body, c, "twin " + quote(id)); !s) return s;
  nlohmann::json body = it->second.body;
  std::vector<model::value_error> errors;
  if (!twin::patch_twin(body, patch, id, models_, options, errors))
    return status::invalid_argument(join_errors(errors));
  return store_twin(id, std::move(body), *it->second.model);
}

status twin_graph::delete_twin(const std::string& id, const condition& c) {
  std::unique_lock lock(mu_);
  auto it = twins_.find(id);
  if (it == twins_.end()) return status::not_found("twin " + quote(id) + " does not exist");
  if (status s = check_condition(&it->second.body, c, "twin " + quote(id)); !s) return s;
  std::vector<std::string> held;
  for (auto r = relationships_.lower_bound({id, ""}); r != relationships_.end() && r->first.first == id; ++r) {
    held.push_back("outgoing " + r->first.second);
  }
  auto [from, to] = incoming_.equal_range(id);
  for (auto r = from; r != to; ++r) held.push_back("incoming " + r->second.second + " from " + r->second.first);
  if (!held.empty()) {
    std::string list;
    for (std::size_t i = 0; i < held.size() && i < 10; ++i) list += (i ? ", " : "") + held[i];
    if (held.size() > 10) list += ", ...";
    return status::failed_precondition("twin " + quote(id) + " still has " + std::to_string(held.size()) +
                                       " relationship(s): " + list + "; delete them first");
  }
  store::write w;
  w.kind = store::write::op::delete_twin;
  w.twin.id = id;
  if (status s = store_.apply({std::move(w)}); !s) return s;
  twins_.erase(it);
  return status::ok();
}

result<nlohmann::json> twin_graph::put_relationship(const std::string& source, const std::string& rel_id,
                                                    nlohmann::json body, const condition& c) {
  if (rel_id.empty()) return status::invalid_argument("a relationship id must not be empty");
  if (!body.is_object()) return status::invalid_argument("$: a relationship must be a JSON object");
  for (const auto& [key, expected] : {std::pair<const char*, const std::string*>{"$sourceId", &source},
                                      std::pair<const char*, const std::string*>{"$relationshipId", &rel_id}}) {
    if (body.contains(key) && body[key] != *expected) {
      return status::invalid_argument(std::string("$.") + key + ": must be " + quote(*expected));
    }
  }
  std::unique_lock lock(mu_);
  auto src = twins_.find(source);
  if (src == twins_.end()) return status::not_found("source twin " + quote(source) + " does not exist");
  const model::interface* target = nullptr;
  std::string target_id;
  if (body.contains("$targetId") && body["$targetId"].is_string()) {
    target_id = body["$targetId"].get<std::string>();
    auto t = twins_.find(target_id);
    if (t != twins_.end()) target = t->second.model;
  }
  std::vector<model::value_error> errors;
  const model::content* rel = check_relationship(body, *src->second.model, target, errors);
  if (!rel) return status::invalid_argument(join_errors(errors));
  rel_key key{source, rel_id};
  auto existing = relationships_.find(key);
  std::string what = "relationship " + quote(rel_id) + " of twin " + quote(source);
  if (status s = check_condition(existing == relationships_.end() ? nullptr : &existing->second, c, what); !s) return s;
  if (rel->max_multiplicity) {
    std::int64_t count = 0;
    for (auto r = relationships_.lower_bound({source, ""}); r != relationships_.end() && r->first.first == source;
         ++r) {
      if (r->first != key && r->second.value("$relationshipName", "") == rel->name) ++count;
    }
    if (count >= *rel->max_multiplicity) {
      return status::failed_precondition("twin " + quote(source) + " already has " + std::to_string(count) + " " +
                                         quote(rel->name) + " relationships, the model's maxMultiplicity");
    }
  }
  body["$sourceId"] = source;
  body["$relationshipId"] = rel_id;
  body["$etag"] = next_etag();
  store::write w;
  w.kind = store::write::op::put_relationship;
  w.relationship = {source, rel_id, rel->name, target_id, body.dump(), body["$etag"].get<std::string>()};
  if (status s = store_.apply({std::move(w)}); !s) return s;
  if (existing != relationships_.end()) {
    std::string old_target = existing->second.value("$targetId", "");
    auto [from, to] = incoming_.equal_range(old_target);
    for (auto r = from; r != to; ++r) {
      if (r->second == key) {
        incoming_.erase(r);
        break;
      }
    }
  }
  relationships_[key] = body;
  incoming_.emplace(target_id, key);
  return body;
}

result<nlohmann::json> twin_graph::get_relationship(const std::string& source, const std::string& rel_id) const {
  std::shared_lock lock(mu_);
  auto it = relationships_.find({source, rel_id});
  if (it == relationships_.end()) {
    return status::not_found("relationship " + quote(rel_id) + " of twin " + quote(source) + " does not exist");
  }
  return it->second;
}

status twin_graph::delete_relationship(const std::string& source, const std::string& rel_id, const condition& c) {
  std::unique_lock lock(mu_);
  rel_key key{source, rel_id};
  auto it = relationships_.find(key);
  std::string what = "relationship " + quote(rel_id) + " of twin " + quote(source);
  if (it == relationships_.end()) return status::not_found(what + " does not exist");
  if (status s = check_condition(&it->second, c, what); !s) return s;
  store::write w;
  w.kind = store::write::op::delete_relationship;
  w.relationship.source = source;
  w.relationship.id = rel_id;
  if (status s = store_.apply({std::move(w)}); !s) return s;
  auto [from, to] = incoming_.equal_range(it->second.value("$targetId", ""));
  for (auto r = from; r != to; ++r) {
    if (r->second == key) {
      incoming_.erase(r);
      break;
    }
  }
  relationships_.erase(it);
  return status::ok();
}

std::vector<nlohmann::json> twin_graph::outgoing(const std::string& source) const {
  std::shared_lock lock(mu_);
  std::vector<nlohmann::json> out;
  for (auto r = relationships_.lower_bound({source, ""}); r != relationships_.end() && r->first.first == source; ++r) {
    out.push_back(r->second);
  }
  return out;
}

std::vector<nlohmann::json> twin_graph::incoming(const std::string& target) const {
  std::shared_lock lock(mu_);
  std::vector<rel_key> keys;
  auto [from, to] = incoming_.equal_range(target);
  for (auto r = from; r != to; ++r) keys.push_back(r->second);
  std::sort(keys.begin(), keys.end());
  std::vector<nlohmann::json> out;
  for (const auto& k : keys) out.push_back(relationships_.at(k));
  return out;
}

std::size_t twin_graph::twin_count() const {
  std::shared_lock lock(mu_);
  return twins_.size();
}

}  // namespace doppel::twin
