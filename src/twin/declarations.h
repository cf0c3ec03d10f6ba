// Twins and relationships declared in a project's twins/ folder, checked as one graph against
// the models: every twin against its model, ids unique, every relationship against its source
// model with existing endpoints and within maxMultiplicity. Called by the CLI (validate, serve)
// at start. Pure function of its arguments; not thread-safe with a registry being loaded.
//
// A declaration file holds {"twins": [twin...], "relationships": [relationship...]} (either key
// may be absent) or a plain array of twins; the app reads JSON and YAML files into this form.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "model/registry.h"

namespace doppel::twin {

struct declared_file {
  std::string name;  // labels errors (the file's path)
  nlohmann::json content;
};

struct declaration_error {
  std::string file;
  std::string path;  // JSON path in the file, e.g. $.twins[2].targetSpeed
  std::string message;
};

struct declaration_report {
  std::vector<declaration_error> errors;
  std::size_t twins = 0;
  std::size_t relationships = 0;
  bool ok() const { return errors.empty(); }
};

declaration_report check_declarations(const std::vector<declared_file>& files, const model::model_registry& models);

}  // namespace doppel::twin
