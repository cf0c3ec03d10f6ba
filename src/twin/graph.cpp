#include "twin/graph.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/text.h"
#include "twin/detail/graph_util.h"
#include "twin/errors.h"
#include "twin/relationship.h"

namespace doppel::twin {

using detail::join_errors;
using detail::now_rfc3339;
using detail::to_status;
using detail::wait_for;

using errors::twin_not_found;

namespace {

// The model's refusal of a write, every problem in the message (the API lists them as details).
status validation_failed(const std::vector<model::value_error>& problems) {
  return status::invalid_argument(join_errors(problems)).with_reason(errors::validation_failed);
}

}  // namespace

twin_graph::twin_graph(model::model_registry& models, store::metadata_store& store)
    : models_(models),
      store_(store),
      etag_epoch_(static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count())) {}

twin_graph::~twin_graph() {
  std::unique_lock lock(pending_mu_);
  pending_cv_.wait(lock, [&] { return pending_ == 0; });
}

result<std::unique_ptr<twin_graph>> twin_graph::open(model::model_registry& models, store::metadata_store& store) {
  std::unique_ptr<twin_graph> g(new twin_graph(models, store));
  std::vector<model::source> uploaded;
  for (auto& m : store.all_models()) {
    if (!m.source.empty()) uploaded.push_back({"stored model " + m.id, m.source});
    g->model_states_[m.id] = {std::move(m.source), m.uploaded_ms, m.decommissioned};
  }
  if (!uploaded.empty()) {
    model::load_report report = models.load(std::move(uploaded));
    if (!report.ok()) {
      std::string list;
      for (std::size_t i = 0; i < report.errors.size() && i < 5; ++i) list += "\n  " + format(report.errors[i]);
      return status::invalid_argument(
          "the models uploaded to this server no longer load beside the project's (a project file now defines "
          "one of them, or differs from what they use):" +
          list);
    }
  }
  for (const auto& t : store.all_twins()) {
    auto body = nlohmann::json::parse(t.body, nullptr, false);
    std::vector<model::value_error> errors;
    const model::interface* m = body.is_discarded() ? nullptr : check_twin(body, t.id, models, {true}, errors);
    if (!m) {
      return status::invalid_argument("stored twin " + quote(t.id) + " does not fit the loaded models: " +
                                      (body.is_discarded() ? "its JSON is corrupt" : join_errors(errors)));
    }
    const twin_entry& e = g->twins_[t.id] = {std::move(body), m, g->telemetry_.make_entry(t.id)};
    g->index_.update(t.id, nullptr, &e.body, m);
  }
  for (const auto& r : store.all_relationships()) {
    auto body = nlohmann::json::parse(r.body, nullptr, false);
    if (body.is_discarded()) return status::invalid_argument("stored relationship " + quote(r.id) + " is corrupt");
    g->relationships_[{r.source, r.id}] = std::move(body);
    g->incoming_.emplace(r.target, rel_key{r.source, r.id});
  }
  if (status h = store.health(); !h) {
    // The store opened but cannot write (a full disk at start): serve reads, refuse writes.
    g->failure_ = h.message();
    g->failed_.store(true, std::memory_order_release);
  }
  return g;
}

void twin_graph::set_listener(std::function<void(const change_event&)> listener, std::function<bool()> wanted) {
  listener_ = std::move(listener);
  listener_wanted_ = std::move(wanted);
}

status twin_graph::health() const {
  if (!failed_.load(std::memory_order_acquire)) return status::ok();
  std::lock_guard lock(pending_mu_);
  return status::io_error(failure_);
}

std::string twin_graph::next_etag() {
  char buf[48];
  std::snprintf(buf, sizeof buf, "W/\"%llx-%llx\"", static_cast<unsigned long long>(etag_epoch_),
                static_cast<unsigned long long>(etag_counter_.fetch_add(1, std::memory_order_relaxed) + 1));
  return buf;
}

status twin_graph::check_condition(const nlohmann::json* existing, const condition& c, const std::string& what) const {
  if (c.if_none_match_any && existing) {
    return status::precondition_mismatch(what + " already exists (If-None-Match: *)")
        .with_reason(errors::precondition_failed);
  }
  if (!c.if_match.empty()) {
    if (!existing) {
      return status::precondition_mismatch(what + " does not exist (If-Match)")
          .with_reason(errors::precondition_failed);
    }
    if (c.if_match != "*" && existing->value("$etag", "") != c.if_match) {
      return status::precondition_mismatch(what + " has etag " + existing->value("$etag", "") + ", not " + c.if_match +
                                           " (If-Match): someone changed it; read it again")
          .with_reason(errors::precondition_failed);
    }
  }
  return status::ok();
}

void twin_graph::commit(store::write w, nlohmann::json reply, change_event event, completion<nlohmann::json>& done) {
  std::vector<store::write> writes;
  writes.push_back(std::move(w));  // not {std::move(w)}: an initializer list would copy the body
  commit(std::move(writes), std::move(reply), std::move(event), done);
}

void twin_graph::commit(std::vector<store::write> writes, nlohmann::json reply, change_event event,
                        completion<nlohmann::json>& done) {
  {
    std::lock_guard lock(pending_mu_);
    ++pending_;
  }
  bool notify = !event.kind.empty();
  store_.submit(std::move(writes), [this, reply = std::move(reply), event = std::move(event), notify,
                                    done = std::move(done)](status s) mutable {
    if (!s) {
      bool was = failed_.exchange(true, std::memory_order_acq_rel);
      std::lock_guard lock(pending_mu_);
      if (!was) failure_ = "the metadata store failed a write (" + s.message() + "); restart doppel";
      done(std::move(s));
    } else {
      if (notify) listener_(event);
      done(std::move(reply));
    }
    // Last: once pending_ reaches zero the destructor may run.
    std::lock_guard lock(pending_mu_);
    if (--pending_ == 0) pending_cv_.notify_all();
  });
}

const model::interface* twin_graph::model_of(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto it = twins_.find(id);
  return it == twins_.end() ? nullptr : it->second.model;
}

result<nlohmann::json> twin_graph::latest_telemetry(const std::string& id) const {
  telemetry_state::handle live;
  {
    std::shared_lock lock(mu_);
    auto it = twins_.find(id);
    if (it == twins_.end()) return twin_not_found(id);
    live = it->second.live;
  }
  return telemetry_.latest(*live, id);
}

live_twin twin_graph::live(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto it = twins_.find(id);
  if (it == twins_.end()) return {};
  return {it->second.model, it->second.live};
}

result<nlohmann::json> twin_graph::get_twin(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto it = twins_.find(id);
  if (it == twins_.end()) return twin_not_found(id);
  return it->second.body;
}

status twin_graph::relationship_not_found(const std::string& source, const std::string& rel_id) const {
  if (twins_.find(source) == twins_.end()) return twin_not_found(source);
  return status::not_found("relationship " + quote(rel_id) + " of twin " + quote(source) + " does not exist")
      .with_reason(errors::relationship_not_found);
}

void twin_graph::store_twin(const std::string& id, nlohmann::json body, const model::interface& model,
                            const nlohmann::json* before, bool reply_with_body, completion<nlohmann::json>& done,
                            bool patched) {
  body["$dtId"] = id;
  body["$etag"] = next_etag();
  stamp_metadata(before, body, model, now_rfc3339());
  store::write w;
  w.kind = store::write::op::put_twin;
  w.twin = {id, model.id, body.dump(), body["$etag"].get<std::string>()};
  if (patched) w.log_kind = "twin.patch";
  if (auto stored = twins_.find(id); stored != twins_.end()) {
    // The change log keeps what changed, not the whole twin (a replay patches the state before).
    std::string diff = nlohmann::json::diff(stored->second.body, body).dump();
    if (diff.size() < w.twin.body.size()) w.patch = std::move(diff);
  }
  change_event event;
  if (listening()) event = {before ? "twin.update" : "twin.create", id, "", model.id, body};
  // `before` has the values the index holds for the twin (set_desired passes its new body, but
  // it changes only $metadata, which is not indexed).
  index_.update(id, before, &body, &model);
  nlohmann::json reply = reply_with_body ? body : nlohmann::json{{"$dtId", id}, {"$etag", body["$etag"]}};
  twin_entry& entry = twins_[id];
  entry.body = std::move(body);
  entry.model = &model;
  if (!entry.live) entry.live = telemetry_.make_entry(id);
  commit(std::move(w), std::move(reply), std::move(event), done);
}

void twin_graph::put_twin(const std::string& id, nlohmann::json body, const condition& c, const check_options& options,
                          completion<nlohmann::json> done) {
  if (id.empty()) {
    return done(status::invalid_argument("a twin id must not be empty").with_reason(errors::invalid_argument));
  }
  std::vector<model::value_error> problems;
  const model::interface* m = check_twin(body, id, models_, options, problems);
  if (!m) return done(validation_failed(problems));
  std::unique_lock lock(mu_);
  if (status h = health(); !h) return done(h);
  auto it = twins_.find(id);
  const nlohmann::json* before = it == twins_.end() ? nullptr : &it->second.body;
  if (status s = check_condition(before, c, "twin " + quote(id)); !s) return done(s);
  if (!before || it->second.model != m) {
    if (status s = model_usable(*m); !s) return done(s);
  }
  // A replace keeps the desired state and the lastUpdateTime of unchanged properties.
  store_twin(id, std::move(body), *m, before, options.reply_with_body, done);
}

void twin_graph::patch_twin(const std::string& id, const nlohmann::json& patch, const condition& c,
                            const check_options& options, completion<nlohmann::json> done) {
  if (patch.is_array() && patch.empty()) {
    // Nothing to change: not a write (no new etag, no event), but the condition still counts.
    std::shared_lock lock(mu_);
    auto it = twins_.find(id);
    if (it == twins_.end()) return done(twin_not_found(id));
    if (status s = check_condition(&it->second.body, c, "twin " + quote(id)); !s) return done(s);
    return done(options.reply_with_body ? it->second.body
                                        : nlohmann::json{{"$dtId", id}, {"$etag", it->second.body["$etag"]}});
  }
  // The patch is applied and checked under the shared lock, so that writers to different twins
  // do this work in parallel; the exclusive lock is taken only to install the result, if the
  // twin has not changed meanwhile (else the work is done again).
  for (int attempt = 0;; ++attempt) {
    nlohmann::json after;
    const model::interface* model = nullptr;
    std::string etag;
    {
      std::shared_lock lock(mu_);
      if (status h = health(); !h) return done(h);
      auto it = twins_.find(id);
      if (it == twins_.end()) return done(twin_not_found(id));
      if (status s = check_condition(&it->second.body, c, "twin " + quote(id)); !s) return done(s);
      model = it->second.model;
      etag = it->second.body.value("$etag", "");
      std::vector<model::value_error> problems;
      bool patch_invalid = false;
      if (!twin::patched_twin(it->second.body, patch, id, models_, options, problems, after, model, &patch_invalid)) {
        if (patch_invalid) {
          return done(status::invalid_argument(join_errors(problems)).with_reason(errors::json_patch_invalid));
        }
        return done(validation_failed(problems));
      }
    }
    std::unique_lock lock(mu_);
    if (status h = health(); !h) return done(h);
    auto it = twins_.find(id);
    if (it == twins_.end()) return done(twin_not_found(id));
    if (it->second.body.value("$etag", "") != etag && attempt < 8) continue;  // changed meanwhile: again
    if (it->second.body.value("$etag", "") != etag) {
      return done(status::failed_precondition("twin " + quote(id) + " changes too often to patch; retry"));
    }
    store_twin(id, std::move(after), *model, &it->second.body, options.reply_with_body, done, true);
    return;
  }
}

void twin_graph::set_desired(const std::string& id, const nlohmann::json& desired, const condition& c,
                             completion<nlohmann::json> done) {
  std::unique_lock lock(mu_);
  if (status h = health(); !h) return done(h);
  auto it = twins_.find(id);
  if (it == twins_.end()) return done(twin_not_found(id));
  if (status s = check_condition(&it->second.body, c, "twin " + quote(id)); !s) return done(s);
  nlohmann::json body = it->second.body;
  std::vector<model::value_error> problems;
  if (!twin::set_desired(body, desired, *it->second.model, now_rfc3339(), problems)) {
    return done(validation_failed(problems));
  }
  // Stamped against itself: only $metadata changed, and the desired fields are the new ones.
  nlohmann::json with_desired = body;
  store_twin(id, std::move(body), *it->second.model, &with_desired, true, done);
}

result<nlohmann::json> twin_graph::desired_state(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto it = twins_.find(id);
  if (it == twins_.end()) return twin_not_found(id);
  return desired_view(it->second.body, *it->second.model);
}

void twin_graph::delete_twin(const std::string& id, const condition& c, completion<nlohmann::json> done) {
  std::unique_lock lock(mu_);
  if (status h = health(); !h) return done(h);
  auto it = twins_.find(id);
  if (it == twins_.end()) return done(twin_not_found(id));
  if (status s = check_condition(&it->second.body, c, "twin " + quote(id)); !s) return done(s);
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
    return done(status::failed_precondition("twin " + quote(id) + " still has " + std::to_string(held.size()) +
                                            " relationship(s): " + list + "; delete them first")
                    .with_reason(errors::relationships_not_deleted));
  }
  store::write w;
  w.kind = store::write::op::delete_twin;
  w.twin.id = id;
  change_event event;
  if (listening()) event = {"twin.delete", id, "", it->second.model->id, it->second.body};
  index_.update(id, &it->second.body, nullptr, nullptr);
  telemetry_.close(*it->second.live);  // a twin created again under this id starts without values
  twins_.erase(it);
  commit(std::move(w), nullptr, std::move(event), done);
}

void twin_graph::put_relationship(const std::string& source, const std::string& rel_id, nlohmann::json body,
                                  const condition& c, completion<nlohmann::json> done) {
  if (rel_id.empty()) {
    return done(status::invalid_argument("a relationship id must not be empty").with_reason(errors::invalid_argument));
  }
  if (!body.is_object()) {
    return done(
        status::invalid_argument("$: a relationship must be a JSON object").with_reason(errors::invalid_argument));
  }
  for (const auto& [key, expected] : {std::pair<const char*, const std::string*>{"$sourceId", &source},
                                      std::pair<const char*, const std::string*>{"$relationshipId", &rel_id}}) {
    if (body.contains(key) && body[key] != *expected) {
      return done(status::invalid_argument(std::string("$.") + key + ": must be " + quote(*expected))
                      .with_reason(errors::invalid_argument));
    }
  }
  std::unique_lock lock(mu_);
  if (status h = health(); !h) return done(h);
  auto src = twins_.find(source);
  if (src == twins_.end()) {
    return done(status::not_found("source twin " + quote(source) + " does not exist")
                    .with_reason(errors::digital_twin_not_found));
  }
  const model::interface* target = nullptr;
  std::string target_id;
  if (body.contains("$targetId") && body["$targetId"].is_string()) {
    target_id = body["$targetId"].get<std::string>();
    auto t = twins_.find(target_id);
    if (t != twins_.end()) target = t->second.model;
  }
  std::vector<model::value_error> problems;
  const model::content* rel = check_relationship(body, *src->second.model, target, problems);
  if (!rel) {
    // As ADT names them: a missing target first, then the relationship itself (its name or
    // target model), then its properties.
    std::string_view reason = errors::validation_failed;
    for (const auto& p : problems) {
      if (p.path == "$.$relationshipName" || p.path == "$.$targetId") reason = errors::invalid_relationship;
    }
    if (!target_id.empty() && !target) {
      return done(status::not_found(join_errors(problems)).with_reason(errors::target_twin_not_found));
    }
    return done(status::invalid_argument(join_errors(problems)).with_reason(reason));
  }
  for (const model::content* p : rel->properties) {  // 1e2 for an integer property is stored as 100
    if (auto v = body.find(p->name); v != body.end() && p->type) model::normalize_integers(*p->type, *v);
  }
  rel_key key{source, rel_id};
  auto existing = relationships_.find(key);
  std::string what = "relationship " + quote(rel_id) + " of twin " + quote(source);
  if (status s = check_condition(existing == relationships_.end() ? nullptr : &existing->second, c, what); !s) {
    return done(s);
  }
  if (rel->max_multiplicity) {
    std::int64_t count = 0;
    for (auto r = relationships_.lower_bound({source, ""}); r != relationships_.end() && r->first.first == source;
         ++r) {
      if (r->first != key && r->second.value("$relationshipName", "") == rel->name) ++count;
    }
    if (count >= *rel->max_multiplicity) {
      return done(status::failed_precondition("twin " + quote(source) + " already has " + std::to_string(count) + " " +
                                              quote(rel->name) + " relationships, the model's maxMultiplicity")
                      .with_reason(errors::invalid_relationship));
    }
  }
  body["$sourceId"] = source;
  body["$relationshipId"] = rel_id;
  body["$etag"] = next_etag();
  store::write w;
  w.kind = store::write::op::put_relationship;
  w.relationship = {source, rel_id, rel->name, target_id, body.dump(), body["$etag"].get<std::string>()};
  bool replaced = existing != relationships_.end();
  if (replaced) {
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
  change_event event;
  if (listening()) {
    event = {replaced ? "relationship.update" : "relationship.create", source, rel_id, src->second.model->id, body};
  }
  commit(std::move(w), std::move(body), std::move(event), done);
}

result<nlohmann::json> twin_graph::get_relationship(const std::string& source, const std::string& rel_id) const {
  std::shared_lock lock(mu_);
  auto it = relationships_.find({source, rel_id});
  if (it == relationships_.end()) return relationship_not_found(source, rel_id);
  return it->second;
}

void twin_graph::delete_relationship(const std::string& source, const std::string& rel_id, const condition& c,
                                     completion<nlohmann::json> done) {
  std::unique_lock lock(mu_);
  if (status h = health(); !h) return done(h);
  rel_key key{source, rel_id};
  auto it = relationships_.find(key);
  std::string what = "relationship " + quote(rel_id) + " of twin " + quote(source);
  if (it == relationships_.end()) return done(relationship_not_found(source, rel_id));
  if (status s = check_condition(&it->second, c, what); !s) return done(s);
  store::write w;
  w.kind = store::write::op::delete_relationship;
  w.relationship.source = source;
  w.relationship.id = rel_id;
  auto [from, to] = incoming_.equal_range(it->second.value("$targetId", ""));
  for (auto r = from; r != to; ++r) {
    if (r->second == key) {
      incoming_.erase(r);
      break;
    }
  }
  change_event event;
  if (listening()) {
    auto src = twins_.find(source);
    event = {"relationship.delete", source, rel_id, src == twins_.end() ? "" : src->second.model->id, it->second};
  }
  relationships_.erase(it);
  commit(std::move(w), nullptr, std::move(event), done);
}

// The waiting forms.

result<nlohmann::json> twin_graph::put_twin(const std::string& id, nlohmann::json body, const condition& c,
                                            const check_options& options) {
  return wait_for([&](completion<nlohmann::json> done) { put_twin(id, std::move(body), c, options, std::move(done)); });
}

result<nlohmann::json> twin_graph::patch_twin(const std::string& id, const nlohmann::json& patch, const condition& c,
                                              const check_options& options) {
  return wait_for([&](completion<nlohmann::json> done) { patch_twin(id, patch, c, options, std::move(done)); });
}

status twin_graph::delete_twin(const std::string& id, const condition& c) {
  return to_status(wait_for([&](completion<nlohmann::json> done) { delete_twin(id, c, std::move(done)); }));
}

result<nlohmann::json> twin_graph::set_desired(const std::string& id, const nlohmann::json& desired,
                                               const condition& c) {
  return wait_for([&](completion<nlohmann::json> done) { set_desired(id, desired, c, std::move(done)); });
}

result<nlohmann::json> twin_graph::put_relationship(const std::string& source, const std::string& rel_id,
                                                    nlohmann::json body, const condition& c) {
  return wait_for(
      [&](completion<nlohmann::json> done) { put_relationship(source, rel_id, std::move(body), c, std::move(done)); });
}

status twin_graph::delete_relationship(const std::string& source, const std::string& rel_id, const condition& c) {
  return to_status(
      wait_for([&](completion<nlohmann::json> done) { delete_relationship(source, rel_id, c, std::move(done)); }));
}

// Reads.

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

std::size_t twin_graph::relationship_count() const {
  std::shared_lock lock(mu_);
  return relationships_.size();
}

std::vector<std::string> twin_graph::twin_ids(std::string_view first, std::size_t max) const {
  std::vector<std::string> out;
  std::shared_lock lock(mu_);
  for (auto it = twins_.lower_bound(first); it != twins_.end() && out.size() < max; ++it) out.push_back(it->first);
  return out;
}

// The graph's maps as a query_source; only used while query() holds the shared lock.
class twin_graph::query_reader final : public query_source {
 public:
  explicit query_reader(const twin_graph& g) : g_(g) {}

  const model::model_registry& models() const override { return g_.models_; }
  std::size_t twin_count() const override { return g_.twins_.size(); }
  void scan_twins(std::string_view from, const twin_visitor& visit) const override {
    for (auto it = g_.twins_.lower_bound(from); it != g_.twins_.end(); ++it) {
      if (!visit(it->first, it->second.body)) return;
    }
  }
  const nlohmann::json* find_twin(std::string_view id) const override {
    auto it = g_.twins_.find(id);
    return it == g_.twins_.end() ? nullptr : &it->second.body;
  }
  void scan_outgoing(std::string_view from_source, std::string_view from_id,
                     const relationship_visitor& visit) const override {
    for (auto it = g_.relationships_.lower_bound({std::string(from_source), std::string(from_id)});
         it != g_.relationships_.end() && it->first.first == from_source; ++it) {
      if (!visit(it->first.first, it->first.second, it->second)) return;
    }
  }
  void scan_relationships(std::string_view from_source, std::string_view from_id,
                          const relationship_visitor& visit) const override {
    for (auto it = g_.relationships_.lower_bound({std::string(from_source), std::string(from_id)});
         it != g_.relationships_.end(); ++it) {
      if (!visit(it->first.first, it->first.second, it->second)) return;
    }
  }
  const twin_index* index() const override { return &g_.index_; }

 private:
  const twin_graph& g_;
};

result<nlohmann::json> twin_graph::query(std::string_view text, const query_options& options) const {
  std::shared_lock lock(mu_);
  return run_query(text, query_reader(*this), options);
}

void twin_graph::report(const std::string& id, const model::interface& checked, std::vector<reported_value> values,
                        completion<nlohmann::json> done) {
  std::unique_lock lock(mu_);
  if (status h = health(); !h) return done(h);
  auto it = twins_.find(id);
  if (it == twins_.end()) return done(twin_not_found(id));
  if (it->second.model != &checked) {
    return done(status::invalid_argument("twin " + quote(id) + " was given another model (" + it->second.model->id +
                                         ") after its readings were checked against " + checked.id +
                                         "; send them again"));
  }
  // The values fit their schemas and the rest of the twin is valid for its model already, so
  // setting them keeps the twin valid: no patch, no check of the whole twin.
  nlohmann::json after = it->second.body;
  for (reported_value& v : values) {
    nlohmann::json* holder = &after;
    if (!v.component.empty()) {
      auto comp = after.find(v.component);
      if (comp == after.end() || !comp->is_object()) {
        return done(status::invalid_argument("twin " + quote(id) + " has no component " + quote(v.component) +
                                             " to report " + quote(v.component + "." + v.name) +
                                             " in; give the twin the component first (PATCH or PUT)"));
      }
      holder = &*comp;
    }
    (*holder)[v.name] = std::move(v.value);
  }
  store_twin(id, std::move(after), checked, &it->second.body, false, done, true);
}

}  // namespace doppel::twin
