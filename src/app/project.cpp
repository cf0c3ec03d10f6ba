#include "app/project.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <system_error>

#include "app/live_bindings.h"
#include "app/sim_files.h"
#include "core/json_input.h"
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

namespace {

// YAML scalars typed as YAML's core schema does: null, booleans, integers, floats, else strings
// (quoted scalars are always strings).
nlohmann::json yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Sequence: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& item : n) a.push_back(yaml_to_json(item));
      return a;
    }
    case YAML::NodeType::Map: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& kv : n) o[kv.first.Scalar()] = yaml_to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Scalar: break;
  }
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted
  if (s == "null" || s == "~" || s.empty()) return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  auto number = nlohmann::json::parse(s, nullptr, false);
  if (!number.is_discarded() && number.is_number()) return number;
  return s;
}

// 1-based line and column of a byte offset.
std::pair<std::size_t, std::size_t> line_column(const std::string& text, std::size_t offset) {
  std::size_t line = 1, col = 1;
  // A byte order mark takes no column, as in the model files' positions (core/json_input.h).
  for (std::size_t i = utf8_bom_size(text); i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

// Reads the twin declaration files under `paths` (*.json, *.yaml, *.yml, recursively, sorted).
std::vector<twin::declared_file> read_twin_files(const std::vector<fs::path>& paths,
                                                 std::vector<model::diagnostic>& errors) {
  std::vector<twin::declared_file> out;
  std::vector<fs::path> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      for (fs::recursive_directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec)) {
        auto ext = it->path().extension();
        if (it->is_regular_file(ec) && (ext == ".json" || ext == ".yaml" || ext == ".yml")) files.push_back(it->path());
      }
    } else {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    auto text = read_file(f);
    if (!text) {
      errors.push_back({f.string(), "", 0, 0, text.error().message(), ""});
      continue;
    }
    if (f.extension() == ".json") {
      // The JSON policy of every entry point (core/json_input.h): UTF-8, depth, numbers.
      json_check why;
      auto parsed = parse_json(*text, &why);
      if (parsed) {
        out.push_back({f.string(), std::move(*parsed)});
      } else {
        auto [l, c] = line_column(*text, why.offset);
        errors.push_back({f.string(), "", static_cast<std::uint32_t>(l), static_cast<std::uint32_t>(c),
                          "invalid JSON: " + why.message, ""});
      }
    } else if (std::size_t bad = find_invalid_utf8(*text); bad != std::string::npos) {
      auto [l, c] = line_column(*text, bad);
      errors.push_back({f.string(), "", static_cast<std::uint32_t>(l), static_cast<std::uint32_t>(c),
                        "the file is not valid UTF-8 here; save it as UTF-8", ""});
    } else {
      try {
        nlohmann::json j = yaml_to_json(YAML::Load(*text));
        // The JSON policy's depth limit holds for YAML declarations too (core/json_input.h).
        if (json_check deep = check_json_text(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
            !deep.ok()) {
          errors.push_back(
              {f.string(), "", 0, 0,
               "the declarations nest deeper than " + std::to_string(k_max_json_depth) + " levels; flatten them", ""});
          continue;
        }
        out.push_back({f.string(), std::move(j)});
      } catch (const YAML::Exception& e) {
        errors.push_back({f.string(), "", static_cast<std::uint32_t>(e.mark.line + 1),
                          static_cast<std::uint32_t>(e.mark.column + 1), "invalid YAML: " + e.msg, ""});
      }
    }
  }
  return out;
}

// Empty when `e` names a property of a loaded model (or of one of its components); else what is wrong.
std::string check_device_reported(const model::model_registry& registry, const device_reported_entry& e) {
  std::string where = "ingest.device_reported." + e.model + ": ";
  const model::interface* m = registry.find(e.model);
  if (!m) return where + "no model " + e.model + " is loaded; write the id of an interface in models/";
  const model::content* c = m->find(e.name);
  auto dot = e.name.find('.');
  if (!c && dot != std::string::npos) {
    const model::content* comp = m->find(std::string_view(e.name).substr(0, dot));
    if (!comp || comp->kind != model::content_kind::component || !comp->component) {
      return where + quote(e.name.substr(0, dot)) + " is not a component of " + e.model +
             "; name a component's property as component.property";
    }
    c = comp->component->find(std::string_view(e.name).substr(dot + 1));
  }
  if (!c) return where + e.model + " has no property " + quote(e.name) + "; GET /models/" + e.model + " lists them";
  if (c->kind != model::content_kind::property) {
    return where + quote(e.name) + " is a " + std::string(model::to_string(c->kind)) +
           ", not a property (telemetry needs no declaration: devices always send it)";
  }
  return {};
}

// The equation models in DIR/sim (NAME.yaml), each compiled as `doppel sim run` would.
void check_sim_files(const fs::path& dir, project_report& r) {
  std::error_code ec;
  if (!fs::is_directory(dir / "sim", ec)) return;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir / "sim", ec)) {
    if (entry.path().extension() == ".yaml" || entry.path().extension() == ".yml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    auto spec = load_equation_model(f);
    if (spec) {
      ++r.sim_models;
      continue;
    }
    // "FILE:LINE:COLUMN: message" or "FILE: message", as load_equation_model writes it.
    config_error e{f.string(), 0, 0, spec.error().message()};
    std::string_view m = e.message;
    if (m.starts_with(e.file + ":")) {
      m.remove_prefix(e.file.size() + 1);
      unsigned line = 0, column = 0;
      int used = 0;
      std::string head(m.substr(0, std::min<std::size_t>(m.size(), 32)));
      if (std::sscanf(head.c_str(), "%u:%u:%n", &line, &column, &used) == 2 && used > 0) {
        e.line = line;
        e.column = column;
        m.remove_prefix(static_cast<std::size_t>(used));
      }
      while (!m.empty() && m.front() == ' ') m.remove_prefix(1);
      e.message = std::string(m);
    }
    r.errors.push_back(format(e));
    r.config_errors.push_back(std::move(e));
  }
}

}  // namespace

project_report load_projects(const validate_targets& targets, model::model_registry& registry,
                             std::vector<project_config>* configs, std::vector<twin::declared_file>* declared) {
  project_report r;
  std::vector<std::pair<fs::path, std::vector<device_reported_entry>>> reported;  // checked once models load
  std::vector<std::pair<fs::path, simulation_config>> live;                       // likewise
  std::vector<fs::path> model_paths = targets.model_paths;
  std::vector<fs::path> twin_paths;
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
    for (const auto& t : cfg.config.twins) {
      fs::path p = dir / t;
      std::error_code ec;
      if (!fs::exists(p, ec)) {
        config_error e{(dir / "doppel.yaml").string(), 0, 0,
                       "twins path " + quote(t) + " does not exist in " + dir.string() +
                           "; create it or fix `twins:` (twins: [] for none)"};
        r.errors.push_back(format(e));
        r.config_errors.push_back(std::move(e));
        continue;
      }
      twin_paths.push_back(p);
    }
    check_sim_files(dir, r);
    if (!cfg.config.ingest.device_reported.empty()) reported.emplace_back(dir, cfg.config.ingest.device_reported);
    if (!cfg.config.simulation.live.empty()) live.emplace_back(dir, cfg.config.simulation);
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
  if (lr.ok()) {
    for (const auto& [dir, entries] : reported) {
      for (const auto& entry : entries) {
        std::string problem = check_device_reported(registry, entry);
        if (problem.empty()) continue;
        config_error e{(dir / "doppel.yaml").string(), entry.line, entry.column, problem};
        r.errors.push_back(format(e));
        r.config_errors.push_back(std::move(e));
      }
    }
    for (const auto& [dir, sim] : live) {
      live_bindings bound = bind_live_simulations(dir, sim, registry);
      r.live_bindings += bound.bindings.size();
      for (auto& e : bound.errors) {
        r.errors.push_back(format(e));
        r.config_errors.push_back(std::move(e));
      }
    }
  }
  if (!lr.ok() || twin_paths.empty()) return r;
  std::vector<model::diagnostic> twin_errors;
  std::vector<twin::declared_file> files = read_twin_files(twin_paths, twin_errors);
  r.twin_files = files.size() + twin_errors.size();
  twin::declaration_report dr = twin::check_declarations(files, registry);
  r.twins = dr.twins;
  r.relationships = dr.relationships;
  for (auto& e : dr.errors) twin_errors.push_back({e.file, e.path, 0, 0, e.message, ""});
  for (auto& d : twin_errors) {
    r.errors.push_back(model::format(d));
    r.twin_errors.push_back(std::move(d));
  }
  if (declared) *declared = std::move(files);
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
