// The model registry: the DTDL v3 (and v2) front end and the set of models it accepted.
//
// Callers: the CLI (`doppel validate`, `doppel serve`), later the twin graph and the API. A batch
// of documents is parsed, validated against every rule of the DTDL specification and linked to
// the models already in the registry; references may cross files in any order. A batch is
// all-or-nothing: with any error the registry is left unchanged and every error is reported.
//
// Threading: load() mutates and must not run concurrently with anything else; all const
// member functions may run concurrently with each other. Elements handed out stay valid and
// unchanged for the life of the registry.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/diagnostic.h"
#include "model/model.h"

namespace doppel::model {

// One model document: `name` labels diagnostics (usually the file path), `text` is its JSON.
struct source {
  std::string name;
  std::string text;
};

struct load_report {
  std::vector<diagnostic> errors;  // empty on success
  std::size_t files = 0;           // documents in the batch
  std::size_t interfaces = 0;      // interfaces added (top-level and inline)
  bool ok() const { return errors.empty(); }
};

// The reasons a registry may refuse documents it would otherwise accept.
struct registry_options {
  // Extension contexts that Doppel does not know are errors by default, as the DTDL
  // specification recommends; with this set they are accepted and their terms tolerated.
  bool allow_unknown_extensions = false;
};

class model_registry {
 public:
  explicit model_registry(registry_options options = {});
  ~model_registry();
  model_registry(model_registry&&) noexcept;
  model_registry& operator=(model_registry&&) noexcept;
  model_registry(const model_registry&) = delete;
  model_registry& operator=(const model_registry&) = delete;

  // Parses, validates and links `sources` together with the models already loaded. On success
  // adds them all; on any error adds nothing. Never throws on bad input.
  load_report load(std::vector<source> sources);

  // Reads every *.json file under each path (a file or a folder, searched recursively, in
  // sorted order) and loads them as one batch. Unreadable paths are reported as errors.
  load_report load_paths(const std::vector<std::filesystem::path>& paths);

  // The interface with this exact DTMI, or nullptr.
  const interface* find(std::string_view dtmi) const;

  // All interfaces, sorted by DTMI.
  std::vector<const interface*> list() const;
  std::size_t size() const;

  // The DTMIs an interface needs: its bases, component interfaces and relationship targets
  // (sorted, each once). Empty when the DTMI is unknown.
  std::vector<std::string> dependencies(std::string_view dtmi) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Collects the *.json files under `paths` as sources (sorted, recursive). Errors name the path.
std::vector<source> read_sources(const std::vector<std::filesystem::path>& paths, std::vector<diagnostic>& errors);

}  // namespace doppel::model
