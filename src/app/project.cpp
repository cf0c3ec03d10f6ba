#include "app/project.h"

#include <system_error>

#include "core/text.h"

namespace doppel::app {

namespace fs = std::filesystem;

validate_targets classify_paths(const std::vector<fs::path>& paths) {
  validate_targets t;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec) && fs::exists(p / "doppel.yaml", ec)) {
      t.projects.push_back(p);
    } else if (p.filename() == "doppel.yaml") {
      t.projects.push_back(p.has_parent_path() ? p.parent_path() : fs::path("."));
    } else {
      t.model_paths.push_back(p);
    }
  }
  return t;
}

project_report load_projects(const validate_targets& targets, model::model_registry& registry,
                             std::vector<project_config>* configs) {
  project_report r;
  std::vector<fs::path> model_paths = targets.model_paths;
  for (const auto& dir : targets.projects) {
    config_result cfg = load_config(dir);
    for (auto& e : cfg.errors) {
      r.errors.push_back(format(e));
      r.config_errors.push_back(std::move(e));
    }
    if (!cfg.ok()) continue;
    for (const auto& m : cfg.config.models) {
      fs::path p = dir / m;
      std::error_code ec;
      if (!fs::exists(p, ec)) {
        config_error e{
            (dir / "doppel.yaml").string(), 0, 0,
            "models path " + quote(m) + " does not exist in " + dir.string() + "; create it or fix `models:`"};
        r.errors.push_back(format(e));
        r.config_errors.push_back(std::move(e));
        continue;
      }
      model_paths.push_back(p);
    }
    if (configs) configs->push_back(std::move(cfg.config));
  }
  std::vector<model::diagnostic> read_errors;
  std::vector<model::source> sources = model::read_sources(model_paths, read_errors);
  r.model_files = sources.size();
  for (auto& d : read_errors) {
    r.errors.push_back(model::format(d));
    r.model_errors.push_back(std::move(d));
  }
  if (!read_errors.empty()) return r;
  model::load_report lr = registry.load(std::move(sources));
  r.interfaces = lr.interfaces;
  for (auto& d : lr.errors) {
    r.errors.push_back(model::format(d));
    r.model_errors.push_back(std::move(d));
  }
  return r;
}

namespace {

// A DTMI path segment derived from a project name: letters, digits and '_', starting with a letter.
std::string dtmi_segment(const std::string& name) {
  std::string seg;
  for (char c : name) {
    bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    seg += word ? c : '_';
  }
  while (!seg.empty() && seg.back() == '_') seg.pop_back();
  if (seg.empty() || !((seg[0] >= 'a' && seg[0] <= 'z') || (seg[0] >= 'A' && seg[0] <= 'Z'))) seg = "p" + seg;
  return seg;
}

}  // namespace

std::string init_project(const fs::path& dir, const std::string& name) {
  std::error_code ec;
  if (fs::exists(dir / "doppel.yaml", ec)) {
    return (dir / "doppel.yaml").string() + " already exists; not overwriting an existing project";
  }
  fs::create_directories(dir / "models", ec);
  if (!ec) fs::create_directories(dir / "twins", ec);
  if (ec) return "cannot create " + dir.string() + ": " + ec.message();
  if (auto s = write_file(dir / "doppel.yaml", default_config_text(name)); !s) return s.message();
  std::string seg = dtmi_segment(name);
  std::string model = R"({
  "@context": "dtmi:dtdl:context;3",
  "@id": "dtmi:)" + seg +
                      R"(:Device;1",
  "@type": "Interface",
  "displayName": "Device",
  "description": "A starting point: edit it, or add your own models next to it.",
  "contents": [
    { "@type": "Property", "name": "serialNumber", "schema": "string" },
    { "@type": "Telemetry", "name": "temperature", "schema": "double" }
  ]
}
)";
  if (auto s = write_file(dir / "models" / "device.json", model); !s) return s.message();
  if (auto s = write_file(dir / "twins" / ".keep", ""); !s) return s.message();
  return {};
}

}  // namespace doppel::app
