#include "app/config.h"

#include <yaml-cpp/yaml.h>

#include <set>

#include "core/text.h"

namespace doppel::app {

namespace {

class checker {
 public:
  checker(const std::string& file, std::vector<config_error>& errors) : file_(file), errors_(errors) {}

  void error(const YAML::Mark& m, std::string message) {
    config_error e;
    e.file = file_;
    if (!m.is_null()) {
      e.line = static_cast<std::uint32_t>(m.line + 1);
      e.column = static_cast<std::uint32_t>(m.column + 1);
    }
    e.message = std::move(message);
    errors_.push_back(std::move(e));
  }

  bool scalar_string(const YAML::Node& n, std::string_view key, std::string& out) {
    if (!n.IsScalar()) {
      error(n.Mark(), std::string(key) + " must be a string, not " + shape(n));
      return false;
    }
    out = n.Scalar();
    return true;
  }

  void string_list(const YAML::Node& n, std::string_view key, std::vector<std::string>& out) {
    out.clear();
    if (n.IsScalar()) {  // a single path is allowed as shorthand
      out.push_back(n.Scalar());
    } else if (n.IsSequence()) {
      for (const auto& item : n) {
        std::string s;
        if (scalar_string(item, std::string(key) + " entries", s)) out.push_back(std::move(s));
      }
    } else {
      error(n.Mark(), std::string(key) + " must be a list of paths, e.g. " + std::string(key) + ": [" +
                          std::string(key) + "], not " + shape(n));
      return;
    }
    for (const auto& p : out) {
      if (p.empty()) error(n.Mark(), std::string(key) + " has an empty path; write a folder relative to the project");
      std::filesystem::path path(p);
      if (path.is_absolute()) {
        error(n.Mark(), std::string(key) + " path " + quote(p) +
                            " is absolute; write it relative to the project folder so the project can move");
      }
    }
  }

  static std::string shape(const YAML::Node& n) {
    switch (n.Type()) {
      case YAML::NodeType::Null: return "null";
      case YAML::NodeType::Scalar: return "a scalar";
      case YAML::NodeType::Sequence: return "a list";
      case YAML::NodeType::Map: return "a mapping";
      case YAML::NodeType::Undefined: return "nothing";
    }
    return "something else";
  }

 private:
  const std::string& file_;
  std::vector<config_error>& errors_;
};

bool valid_project_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

config_result parse_config(std::string_view text, const std::string& file) {
  config_result r;
  checker ck(file, r.errors);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    ck.error(e.mark, "invalid YAML: " + e.msg);
    return r;
  }
  if (!root.IsMap()) {
    YAML::Mark m = root.Mark();
    if (m.is_null()) m = YAML::Mark();  // an empty document has no mark; point at the start
    ck.error(m, "doppel.yaml must be a mapping of keys such as `name: my-project`, not " + checker::shape(root));
    return r;
  }
  static const std::set<std::string, std::less<>> known{"name", "description", "models", "twins"};
  std::set<std::string, std::less<>> seen;
  bool has_name = false;
  try {
    for (const auto& kv : root) {
      const YAML::Node& k = kv.first;
      const YAML::Node& v = kv.second;
      if (!k.IsScalar()) {
        ck.error(k.Mark(), "keys must be plain words such as `name`");
        continue;
      }
      const std::string& key = k.Scalar();
      if (!seen.insert(key).second) {
        ck.error(k.Mark(), "key " + quote(key) + " appears twice; keep one");
        continue;
      }
      if (!known.count(key)) {
        ck.error(k.Mark(), "unknown key " + quote(key) + "; known keys are name, description, models, twins");
        continue;
      }
      if (key == "name") {
        has_name = true;
        if (ck.scalar_string(v, key, r.config.name) && !valid_project_name(r.config.name)) {
          ck.error(v.Mark(), "name " + quote(r.config.name) +
                                 " must be 1-64 letters, digits, '.', '_' or '-', e.g. `name: pump-station`");
        }
      } else if (key == "description") {
        ck.scalar_string(v, key, r.config.description);
      } else if (key == "models") {
        ck.string_list(v, key, r.config.models);
      } else if (key == "twins") {
        ck.string_list(v, key, r.config.twins);
      }
    }
  } catch (const YAML::Exception& e) {
    ck.error(e.mark, "invalid doppel.yaml: " + e.msg);
  }
  if (!has_name) ck.error(root.Mark(), "missing key `name`; add e.g. `name: pump-station`");
  return r;
}

config_result load_config(const std::filesystem::path& project_dir) {
  auto file = project_dir / "doppel.yaml";
  auto text = read_file(file);
  if (!text) {
    config_result r;
    r.errors.push_back({file.string(), 0, 0,
                        "cannot read the project file: " + text.error().message() + " (create one with `doppel init " +
                            project_dir.string() + "`)"});
    return r;
  }
  return parse_config(*text, file.string());
}

std::string format(const config_error& e) {
  std::string out = e.file;
  if (e.line) out += ":" + std::to_string(e.line) + ":" + std::to_string(e.column);
  out += ": error: " + e.message;
  return out;
}

std::string default_config_text(std::string_view name) {
  std::string out;
  out += "# Doppel project file: see docs/project.md\n";
  out += "name: " + std::string(name) + "\n";
  out += "description: \"\"\n";
  out += "# DTDL v3 (or v2) model files, loaded together; references may cross files.\n";
  out += "models: [models]\n";
  out += "# Twin declarations (loaded by `doppel serve` once the twin graph is available).\n";
  out += "twins: [twins]\n";
  return out;
}

}  // namespace doppel::app
