#include "twin/index.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace doppel::twin {

namespace {

// A name a query can write as one path segment and that is not a system name ($dtId, ...).
bool indexable_name(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; });
}

bool is_key(const nlohmann::json& v) { return v.is_number() || v.is_string(); }

std::string_view model_of(const nlohmann::json& body) {
  auto meta = body.find("$metadata");
  if (meta == body.end() || !meta->is_object()) return {};
  auto m = meta->find("$model");
  return m != meta->end() && m->is_string() ? std::string_view(m->get_ref<const std::string&>()) : std::string_view();
}

}  // namespace

bool twin_index::indexable(const std::vector<std::string>& segments) {
  return !segments.empty() && segments.size() <= 2 &&
         std::all_of(segments.begin(), segments.end(), [](const std::string& s) { return indexable_name(s); });
}

void twin_index::values_of(const nlohmann::json& body, std::vector<value_ref>& out) {
  if (!body.is_object()) return;
  for (const auto& [name, value] : body.items()) {
    if (!indexable_name(name)) continue;
    if (is_key(value)) {
      out.push_back({name, &value});
    } else if (value.is_object()) {
      for (const auto& [inner, v] : value.items()) {
        if (indexable_name(inner) && is_key(v)) out.push_back({name + "." + inner, &v});
      }
    }
  }
  // Sorted by path so that two versions of a twin can be compared in one pass.
  std::sort(out.begin(), out.end(), [](const value_ref& a, const value_ref& b) { return a.path < b.path; });
}

void twin_index::add(const std::vector<value_ref>& values, const std::string* id) {
  for (const auto& v : values) {
    auto p = postings_.find(v.path);
    if (p == postings_.end()) p = postings_.emplace(v.path, posting{}).first;
    if (v.value->is_number()) {
      p->second.numbers.emplace(v.value->get<double>(), id);
    } else {
      p->second.strings.emplace(v.value->get<std::string>(), id);
    }
    ++entries_;
  }
}

void twin_index::remove(const std::vector<value_ref>& values, const std::string* id) {
  for (const auto& v : values) {
    auto p = postings_.find(v.path);
    if (p == postings_.end()) continue;
    std::size_t erased = v.value->is_number() ? p->second.numbers.erase({v.value->get<double>(), id})
                                              : p->second.strings.erase({v.value->get<std::string>(), id});
    entries_ -= erased;
  }
}

void twin_index::update(std::string_view id, const nlohmann::json* before, const nlohmann::json* after,
                        const model::interface* model) {
  std::string_view after_model = after ? (model ? std::string_view(model->id) : model_of(*after)) : std::string_view();
  auto old_entry = models_.end();
  const std::string* old_id = nullptr;
  if (before) {
    old_entry = models_.find(model_of(*before));
    if (old_entry != models_.end()) {
      auto it = old_entry->second.ids.find(id);
      if (it != old_entry->second.ids.end()) old_id = &*it;
    }
  }
  std::vector<value_ref> old_values, new_values;
  if (old_id) values_of(*before, old_values);
  if (after) values_of(*after, new_values);

  if (old_id && after && old_entry->first == after_model) {
    // Same model: the id keeps its place; only changed values move (a patch touches few).
    std::vector<value_ref> gone, added;
    auto o = old_values.begin();
    auto n = new_values.begin();
    while (o != old_values.end() || n != new_values.end()) {
      if (n == new_values.end() || (o != old_values.end() && o->path < n->path)) {
        gone.push_back(*o++);
      } else if (o == old_values.end() || n->path < o->path) {
        added.push_back(*n++);
      } else {
        if (o->value->type() != n->value->type() || *o->value != *n->value) {
          gone.push_back(*o);
          added.push_back(*n);
        }
        ++o;
        ++n;
      }
    }
    remove(gone, old_id);
    add(added, old_id);
    if (model) old_entry->second.model = model;
    return;
  }
  if (old_id) {
    remove(old_values, old_id);
    old_entry->second.ids.erase(old_entry->second.ids.find(id));
    --twins_;
    if (old_entry->second.ids.empty()) models_.erase(old_entry);
  }
  if (after) {
    auto e = models_.find(after_model);
    if (e == models_.end()) e = models_.emplace(std::string(after_model), model_entry{}).first;
    if (model) e->second.model = model;
    auto [it, inserted] = e->second.ids.emplace(id);
    if (!inserted) return;  // already indexed under this model: the caller passed a wrong `before`
    ++twins_;
    add(new_values, &*it);
  }
}

std::vector<const twin_index::id_set*> twin_index::twins_of_model(std::string_view dtmi, bool exact) const {
  std::vector<const id_set*> out;
  for (const auto& [id, entry] : models_) {
    bool match = id == dtmi || (!exact && entry.model && entry.model->is_a(dtmi));
    if (match) out.push_back(&entry.ids);
  }
  return out;
}

void twin_index::scan_numbers(std::string_view path, std::optional<double> lo, std::optional<double> hi,
                              const id_visitor& visit) const {
  auto p = postings_.find(path);
  if (p == postings_.end()) return;
  const auto& set = p->second.numbers;
  for (auto it = lo ? set.lower_bound(*lo) : set.begin(); it != set.end(); ++it) {
    if (hi && it->first > *hi) break;
    if (!visit(*it->second)) return;
  }
}

void twin_index::scan_strings(std::string_view path, std::optional<std::string_view> lo,
                              std::optional<std::string_view> hi, const id_visitor& visit) const {
  auto p = postings_.find(path);
  if (p == postings_.end()) return;
  const auto& set = p->second.strings;
  for (auto it = lo ? set.lower_bound(*lo) : set.begin(); it != set.end(); ++it) {
    if (hi && std::string_view(it->first) > *hi) break;
    if (!visit(*it->second)) return;
  }
}

}  // namespace doppel::twin
