// twin_graph's models: ADT's /models operations over the registry, kept durable in the store.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "core/json_input.h"
#include "core/text.h"
#include "core/time.h"
#include "twin/detail/graph_util.h"
#include "twin/errors.h"
#include "twin/graph.h"

namespace doppel::twin {

using detail::wait_for;

namespace {

nlohmann::json language_map(const model::localized& text) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [lang, value] : text.values) out[lang] = value;
  return out;
}

// When a project model's file last changed: its "uploadTime". 0 when the file is gone.
std::int64_t file_time_ms(const std::string& file) {
  std::error_code ec;
  auto t = std::filesystem::last_write_time(file, ec);
  if (ec) return 0;
  auto sys = std::chrono::file_clock::to_sys(t);
  return std::chrono::duration_cast<std::chrono::milliseconds>(sys.time_since_epoch()).count();
}

// The element at `path` ("$" or "$[i]", model::is_top_level) of a document; null when absent.
nlohmann::json element_at(nlohmann::json doc, const std::string& path) {
  if (doc.is_discarded()) return nullptr;
  if (path.empty() || path == "$") return doc;
  std::size_t index = std::strtoul(path.c_str() + 2, nullptr, 10);
  if (!doc.is_array() || index >= doc.size()) return nullptr;
  return std::move(doc[index]);
}

status model_not_found(std::string_view dtmi) {
  return status::not_found("model " + quote(dtmi) + " is not loaded; GET /models lists them")
      .with_reason(errors::model_not_found);
}

nlohmann::json parse_or_discard(const std::string& text) {
  return nlohmann::json::parse(skip_utf8_bom(text), nullptr, false);  // a model file may start with one
}

// Diagnostics as "path: message (line L, column C) ..." joined by "; ", the shape the API turns
// into error details.
std::string join_diagnostics(const std::vector<model::diagnostic>& errors) {
  std::string out;
  for (const auto& d : errors) {
    out += out.empty() ? "" : "; ";
    out += (d.path.empty() ? "$" : d.path) + ": " + d.message;
    if (d.line) out += " (line " + std::to_string(d.line) + ", column " + std::to_string(d.column) + ")";
    if (!d.hint.empty()) out += ", hint: " + d.hint;
  }
  return out;
}

}  // namespace

status twin_graph::model_usable(const model::interface& m) const {
  if (models_.find(m.id) != &m) {
    return status::failed_precondition("model " + quote(m.id) + " was deleted meanwhile; GET /models lists them")
        .with_reason(errors::validation_failed);
  }
  auto st = model_states_.find(m.id);
  if (st != model_states_.end() && st->second.decommissioned) {
    return status::failed_precondition("model " + quote(m.id) +
                                       " is decommissioned: no new twins of it; use a newer version of the model")
        .with_reason(errors::model_decommissioned);
  }
  return status::ok();
}

nlohmann::json twin_graph::model_json(const model::interface& m, bool definition) const {
  auto st = model_states_.find(m.id);
  bool uploaded = st != model_states_.end() && !st->second.source.empty();
  std::int64_t at =
      st != model_states_.end() && st->second.uploaded_ms ? st->second.uploaded_ms : file_time_ms(m.where.file);
  nlohmann::json out = {{"id", m.id},
                        {"displayName", language_map(m.display_name)},
                        {"description", language_map(m.description)},
                        {"uploadTime", rfc3339_ms(at)},
                        {"decommissioned", st != model_states_.end() && st->second.decommissioned},
                        {"origin", uploaded ? "api" : "project"}};
  if (definition) {
    // An uploaded model is stored as its own document; a project model is read from its file.
    std::string text;
    if (uploaded) {
      text = st->second.source;
    } else if (auto t = read_file(m.where.file)) {
      text = std::move(*t);
    }
    out["model"] = element_at(parse_or_discard(text), uploaded ? "$" : m.where.path);
  }
  return out;
}

result<nlohmann::json> twin_graph::model_data(std::string_view dtmi, bool definition) const {
  std::shared_lock lock(mu_);
  const model::interface* m = models_.find(dtmi);
  if (!m) return model_not_found(dtmi);
  return model_json(*m, definition);
}

result<nlohmann::json> twin_graph::list_models(const std::vector<std::string>& dependencies_for,
                                               bool definition) const {
  std::shared_lock lock(mu_);
  std::vector<const model::interface*> chosen;
  if (dependencies_for.empty()) {
    for (const model::interface* m : models_.list()) {
      if (model::is_top_level(*m)) chosen.push_back(m);
    }
  } else {
    std::set<std::string> seen;
    std::vector<std::string> todo = dependencies_for;
    while (!todo.empty()) {
      std::string id = std::move(todo.back());
      todo.pop_back();
      if (!seen.insert(id).second) continue;
      const model::interface* m = models_.find(id);
      if (!m) return model_not_found(id);
      for (auto& d : models_.dependencies(id)) todo.push_back(std::move(d));
    }
    for (const auto& id : seen) chosen.push_back(models_.find(id));
  }
  nlohmann::json out = nlohmann::json::array();
  for (const model::interface* m : chosen) out.push_back(model_json(*m, definition));
  return out;
}

void twin_graph::add_models(std::vector<model::source> sources, completion<nlohmann::json> done) {
  std::lock_guard ops(model_ops_);
  if (status h = health(); !h) return done(h);
  // Each upload's documents get names of their own: the registry tells which interfaces a
  // document wrote inline by its name and JSON path, and every request body starts at "$".
  ++uploads_;
  for (auto& src : sources) src.name = "upload " + std::to_string(uploads_) + ": " + src.name;
  model::prepared_batch batch;
  model::load_report report = models_.prepare(sources, batch);
  if (!report.ok()) {
    // ADT answers an upload of a DTMI it has with a conflict, whatever else is wrong.
    bool exists = std::any_of(report.errors.begin(), report.errors.end(), [](const model::diagnostic& d) {
      return d.message.find("is already loaded") != std::string::npos;  // builder.cpp read_id
    });
    std::string message = join_diagnostics(report.errors);
    return done(exists ? status::already_exists(message).with_reason(errors::model_already_exists)
                       : status::invalid_argument(message).with_reason(errors::dtdl_parser_error));
  }
  if (batch.top_level().empty()) {
    return done(status::invalid_argument("$: no interfaces to add").with_reason(errors::invalid_argument));
  }
  // Each model is stored as its own document, so that it can be loaded (and deleted) alone.
  std::vector<store::write> writes;
  std::map<std::string, nlohmann::json> parsed;  // source name -> document, for arrays of models
  for (const model::interface* m : batch.top_level()) {
    store::write w;
    w.kind = store::write::op::put_model;
    w.model.id = m->id;
    w.model.uploaded_ms = unix_time_ms();
    for (const auto& src : sources) {
      if (src.name != m->where.file) continue;
      if (m->where.path == "$" || m->where.path.empty()) {
        w.model.source = src.text;
      } else {
        auto it = parsed.find(src.name);
        if (it == parsed.end()) it = parsed.emplace(src.name, parse_or_discard(src.text)).first;
        std::size_t index = std::strtoul(m->where.path.c_str() + 2, nullptr, 10);  // "$[i]"
        w.model.source = it->second.at(index).dump();
      }
      break;
    }
    writes.push_back(std::move(w));
  }
  std::unique_lock lock(mu_);
  // Visible now, under the lock twin writes take to queue theirs: a twin of a new model is
  // queued after the model, so the store never holds a twin without its model.
  if (status s = models_.commit(std::move(batch)); !s) return done(s);
  nlohmann::json reply = nlohmann::json::array();
  for (const auto& w : writes) {
    model_states_[w.model.id] = {w.model.source, w.model.uploaded_ms, false};
    reply.push_back(model_json(*models_.find(w.model.id), false));
  }
  commit(std::move(writes), std::move(reply), {}, done);
}

void twin_graph::decommission_model(const std::string& dtmi, completion<nlohmann::json> done) {
  std::unique_lock lock(mu_);
  if (status h = health(); !h) return done(h);
  const model::interface* m = models_.find(dtmi);
  if (!m) return done(model_not_found(dtmi));
  model_state& st = model_states_[dtmi];
  if (st.decommissioned) return done(nlohmann::json(nullptr));
  st.decommissioned = true;
  if (!st.uploaded_ms) st.uploaded_ms = file_time_ms(m->where.file);
  store::write w;
  w.kind = store::write::op::put_model;
  w.model = {dtmi, st.source, st.uploaded_ms, true};
  commit(std::move(w), nullptr, {}, done);
}

void twin_graph::delete_model(const std::string& dtmi, completion<nlohmann::json> done) {
  std::lock_guard ops(model_ops_);
  std::unique_lock lock(mu_);
  if (status h = health(); !h) return done(h);
  const model::interface* m = models_.find(dtmi);
  if (!m) return done(model_not_found(dtmi));
  auto st = model_states_.find(dtmi);
  if (st == model_states_.end() || st->second.source.empty()) {
    return done(status::failed_precondition("model " + quote(dtmi) + " is declared in the project folder (" +
                                            m->where.file +
                                            "): remove it there and restart, or decommission it (PATCH)"));
  }
  std::size_t twins = 0;
  std::string example;
  for (const auto* ids : index_.twins_of_model(dtmi, true)) {
    twins += ids->size();
    if (example.empty() && !ids->empty()) example = *ids->begin();
  }
  if (twins) {
    return done(status::failed_precondition("model " + quote(dtmi) + " still has " + std::to_string(twins) +
                                            " twin(s), e.g. " + quote(example) +
                                            "; delete them first, or decommission the model instead"));
  }
  if (status s = models_.remove(dtmi); !s) {
    // Other models use it (extend it, have it as a component or relationship target).
    bool used = s.code() == status_code::failed_precondition;
    return done(std::move(s).with_reason(used ? errors::model_references_not_deleted : errors::model_not_found));
  }
  model_states_.erase(st);
  store::write w;
  w.kind = store::write::op::delete_model;
  w.model.id = dtmi;
  commit(std::move(w), nullptr, {}, done);
}

result<nlohmann::json> twin_graph::add_models(std::vector<model::source> sources) {
  return wait_for([&](completion<nlohmann::json> done) { add_models(std::move(sources), std::move(done)); });
}

result<nlohmann::json> twin_graph::decommission_model(const std::string& dtmi) {
  return wait_for([&](completion<nlohmann::json> done) { decommission_model(dtmi, std::move(done)); });
}

result<nlohmann::json> twin_graph::delete_model(const std::string& dtmi) {
  return wait_for([&](completion<nlohmann::json> done) { delete_model(dtmi, std::move(done)); });
}

}  // namespace doppel::twin
