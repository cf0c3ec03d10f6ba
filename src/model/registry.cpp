#include "model/registry.h"

#include <algorithm>
#include <map>
#include <set>
#include <system_error>
#include <tuple>

#include "core/text.h"
#include "model/detail/builder.h"

namespace doppel::model {

struct model_registry::impl {
  registry_options options;
  detail::arena elements;
  detail::id_table ids;
  std::map<std::string, const interface*, std::less<>> interfaces;  // sorted by DTMI
};

model_registry::model_registry(registry_options options) : impl_(std::make_unique<impl>()) { impl_->options = options; }
model_registry::~model_registry() = default;
model_registry::model_registry(model_registry&&) noexcept = default;
model_registry& model_registry::operator=(model_registry&&) noexcept = default;

load_report model_registry::load(std::vector<source> sources) {
  load_report report;
  report.files = sources.size();
  detail::arena batch;
  detail::id_table new_ids;
  detail::build_batch(sources, impl_->options, impl_->ids, batch, new_ids, report);
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
  for (const auto& i : batch.interfaces) impl_->interfaces.emplace(i->id, i.get());
  report.interfaces = batch.interfaces.size();
  impl_->ids.merge(new_ids);
  impl_->elements.append(std::move(batch));
  return report;
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
  auto it = impl_->interfaces.find(dtmi);
  return it == impl_->interfaces.end() ? nullptr : it->second;
}

std::vector<const interface*> model_registry::list() const {
  std::vector<const interface*> out;
  out.reserve(impl_->interfaces.size());
  for (const auto& [id, i] : impl_->interfaces) out.push_back(i);
  return out;
}

std::size_t model_registry::size() const { return impl_->interfaces.size(); }

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
