#include "model/registry.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <system_error>
#include <tuple>

#include "core/text.h"
#include "model/detail/builder.h"

namespace doppel::model {

struct model_registry::impl {
  registry_options options;
  mutable std::shared_mutex mu;  // guards everything below
  detail::arena elements;
  detail::id_table ids;
  std::map<std::string, const interface*, std::less<>> interfaces;  // sorted by DTMI
  std::uint64_t generation = 0;  // bumped by every change, so commit() can spot a stale batch
};

struct prepared_batch::impl {
  detail::arena elements;
  detail::id_table ids;
  std::vector<const interface*> top;
  std::uint64_t generation = 0;
};

prepared_batch::prepared_batch() : impl_(std::make_unique<impl>()) {}
prepared_batch::~prepared_batch() = default;
prepared_batch::prepared_batch(prepared_batch&&) noexcept = default;
prepared_batch& prepared_batch::operator=(prepared_batch&&) noexcept = default;
const std::vector<const interface*>& prepared_batch::top_level() const { return impl_->top; }

namespace {}  // namespace

bool is_top_level(const interface& i) {
  std::string_view p = i.where.path;
  if (p.empty() || p == "$") return true;
  if (p.size() < 4 || p.substr(0, 2) != "$[" || p.back() != ']') return false;
  return std::all_of(p.begin() + 2, p.end() - 1, [](char c) { return c >= '0' && c <= '9'; });
}

namespace {

// True when `inner` was written inside `outer`'s text.
bool written_inside(const interface& inner, const interface& outer) {
  const std::string& p = outer.where.path;
  const std::string& q = inner.where.path;
  return inner.where.file == outer.where.file && q.size() > p.size() && q.compare(0, p.size(), p) == 0 &&
         (q[p.size()] == '.' || q[p.size()] == '[');
}

// Whether `i` refers to any interface `gone` holds, by extends, component or relationship target.
bool refers_to(const interface& i, const std::set<std::string_view>& gone) {
  for (const interface* b : i.extends) {
    if (gone.count(b->id)) return true;
  }
  for (const content* c : i.own_contents) {
    if (c->kind == content_kind::component && c->component && gone.count(c->component->id)) return true;
    if (c->kind == content_kind::relationship && !c->target.empty() && gone.count(c->target)) return true;
  }
  return false;
}

}  // namespace

model_registry::model_registry(registry_options options) : impl_(std::make_unique<impl>()) { impl_->options = options; }
model_registry::~model_registry() = default;
model_registry::model_registry(model_registry&&) noexcept = default;
model_registry& model_registry::operator=(model_registry&&) noexcept = default;

load_report model_registry::prepare(std::vector<source> sources, prepared_batch& out) const {
  load_report report;
  report.files = sources.size();
  prepared_batch batch;
  {
    std::shared_lock lock(impl_->mu);
    batch.impl_->generation = impl_->generation;
    detail::build_batch(sources, impl_->options, impl_->ids, batch.impl_->elements, batch.impl_->ids, report);
  }
  if (!report.ok()) {
    // Reading order: by file as given, then by position. The batch is dropped with its elements.
    std::map<std::string_view, std::size_t> file_order;
    for (std::size_t i = 0; i < sources.size(); ++i) file_order.emplace(sources[i].name, i);
    std::stable_sort(report.errors.begin(), report.errors.end(), [&](const diagnostic& a, const diagnostic& b) {
      auto fa = file_order[a.file], fb = file_order[b.file];
      return std::tie(fa, a.line, a.column) < std::tie(fb, b.line, b.column);
    });
    return report;
  }
  report.interfaces = batch.impl_->elements.interfaces.size();
  for (const auto& i : batch.impl_->elements.interfaces) {
    if (is_top_level(*i)) batch.impl_->top.push_back(i.get());
  }
  out = std::move(batch);
  return report;
}

status model_registry::commit(prepared_batch batch) {
  std::unique_lock lock(impl_->mu);
  if (batch.impl_->generation != impl_->generation) {
    return status::failed_precondition("the models changed while the batch was checked; check it again");
  }
  for (const auto& i : batch.impl_->elements.interfaces) impl_->interfaces.emplace(i->id, i.get());
  impl_->ids.merge(batch.impl_->ids);
  impl_->elements.append(std::move(batch.impl_->elements));
  ++impl_->generation;
  return status::ok();
}

load_report model_registry::load(std::vector<source> sources) {
  for (;;) {
    prepared_batch batch;
    load_report report = prepare(sources, batch);
    if (!report.ok() || commit(std::move(batch))) return report;
  }
}

status model_registry::remove(std::string_view dtmi) {
  std::unique_lock lock(impl_->mu);
  auto it = impl_->interfaces.find(dtmi);
  if (it == impl_->interfaces.end()) return status::not_found("model " + quote(dtmi) + " is not loaded");
  const interface& root = *it->second;
  if (!is_top_level(root)) {
    return status::not_found("model " + quote(dtmi) + " is defined inline in another model; remove that one");
  }
  std::set<const interface*> gone{&root};
  std::set<std::string_view> gone_ids{root.id};
  for (const auto& [id, i] : impl_->interfaces) {
    if (written_inside(*i, root)) gone.insert(i), gone_ids.insert(i->id);
  }
  std::vector<std::string> users;
  for (const auto& [id, i] : impl_->interfaces) {
    if (!gone.count(i) && refers_to(*i, gone_ids)) users.push_back(id);
  }
  if (!users.empty()) {
    std::string list;
    for (std::size_t k = 0; k < users.size() && k < 10; ++k) list += (k ? ", " : "") + users[k];
    if (users.size() > 10) list += ", ...";
    return status::failed_precondition("model " + quote(dtmi) + " is used by " + std::to_string(users.size()) +
                                       " other model(s): " + list + "; remove them first");
  }
  for (auto id = impl_->ids.begin(); id != impl_->ids.end();) {
    id = gone.count(id->second.partition) ? impl_->ids.erase(id) : std::next(id);
  }
  // Erased last: gone_ids views the interfaces' own ids, which stay alive in the arena.
  for (const interface* i : gone) impl_->interfaces.erase(i->id);
  ++impl_->generation;
  return status::ok();
}

load_report model_registry::load_paths(const std::vector<std::filesystem::path>& paths) {
  std::vector<diagnostic> errors;
  std::vector<source> sources = read_sources(paths, errors);
  if (!errors.empty()) {
    load_report r;
    r.files = sources.size();
    r.errors = std::move(errors);
    return r;
  }
  return load(std::move(sources));
}

const interface* model_registry::find(std::string_view dtmi) const {
  std::shared_lock lock(impl_->mu);
  auto it = impl_->interfaces.find(dtmi);
  return it == impl_->interfaces.end() ? nullptr : it->second;
}

std::vector<const interface*> model_registry::list() const {
  std::shared_lock lock(impl_->mu);
  std::vector<const interface*> out;
  out.reserve(impl_->interfaces.size());
  for (const auto& [id, i] : impl_->interfaces) out.push_back(i);
  return out;
}

std::size_t model_registry::size() const {
  std::shared_lock lock(impl_->mu);
  return impl_->interfaces.size();
}

std::vector<std::string> model_registry::dependencies(std::string_view dtmi) const {
  const interface* i = find(dtmi);
  if (!i) return {};
  std::set<std::string> deps;
  for (const interface* b : i->extends) deps.insert(b->id);
  for (const content* c : i->own_contents) {
    if (c->kind == content_kind::component && c->component) deps.insert(c->component->id);
    if (c->kind == content_kind::relationship && !c->target.empty()) deps.insert(c->target);
  }
  deps.erase(i->id);
  return {deps.begin(), deps.end()};
}

std::vector<source> read_sources(const std::vector<std::filesystem::path>& paths, std::vector<diagnostic>& errors) {
  namespace fs = std::filesystem;
  std::vector<source> out;
  auto add_file = [&](const fs::path& p) {
    auto text = read_file(p);
    if (!text) {
      errors.push_back({p.string(), "", 0, 0, text.error().message(), "check the path and its permissions"});
      return;
    }
    out.push_back({p.string(), std::move(*text)});
  };
  for (const auto& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<fs::path> files;
      // Entered folders are the last entry seen when an increment fails, so errors can name them.
      fs::path last = path;
      fs::recursive_directory_iterator it(path, ec), end;
      for (; !ec && it != end; it.increment(ec)) {
        last = it->path();
        if (last.extension() != ".json") continue;
        std::error_code stat_error;
        bool regular = it->is_regular_file(stat_error);
        if (stat_error) {
          errors.push_back({last.string(), "", 0, 0, "cannot read the file: " + stat_error.message(),
                            "check the path and its permissions"});
        } else if (regular) {
          files.push_back(last);
        }
      }
      if (ec) {
        errors.push_back(
            {last.string(), "", 0, 0, "cannot list the folder: " + ec.message(), "check the folder's permissions"});
        continue;
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) add_file(f);
    } else if (fs::exists(path, ec)) {
      add_file(path);
    } else {
      errors.push_back({path.string(), "", 0, 0, "no such file or folder", "check the path"});
    }
  }
  return out;
}

}  // namespace doppel::model
