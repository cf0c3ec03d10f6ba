// A Doppel project folder: doppel.yaml plus the models (and later twins) it names. Loading a
// project reads and checks everything and reports every problem at once.
// Called by the CLI's validate and serve commands. Not thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "app/config.h"
#include "model/registry.h"
#include "twin/declarations.h"

namespace doppel::app {

struct project_report {
  std::vector<std::string> errors;  // formatted, one problem each, with file:line:column
  std::size_t model_files = 0;
  std::size_t interfaces = 0;
  std::vector<model::diagnostic> model_errors;  // the model part of `errors`, structured
  std::vector<config_error> config_errors;      // the doppel.yaml part of `errors`
  std::size_t twin_files = 0;
  std::size_t twins = 0;  // declared in the projects' twins/ folders, all valid
  std::size_t relationships = 0;
  std::vector<model::diagnostic> twin_errors;  // the twins/ part of `errors`
  std::size_t sim_models = 0;                  // equation models in the projects' sim/ folders, valid
  std::size_t live_bindings = 0;               // simulation.live entries, bound
  bool ok() const { return errors.empty(); }
};

// What `doppel validate` was pointed at, sorted into projects and loose model paths.
struct validate_targets {
  std::vector<std::filesystem::path> projects;     // folders holding doppel.yaml
  std::vector<std::filesystem::path> model_paths;  // model files or folders of them
};

validate_targets classify_paths(const std::vector<std::filesystem::path>& paths);

// Loads the config of every project and every model (the projects' model folders plus the
// loose paths) into `registry` as one batch. `declared`, when given, receives the twin
// declaration files read (valid only when the report is ok).
project_report load_projects(const validate_targets& targets, model::model_registry& registry,
                             std::vector<project_config>* configs = nullptr,
                             std::vector<twin::declared_file>* declared = nullptr);

// Writes a new project into `dir` (created if missing). Fails if dir/doppel.yaml exists.
// On success returns an empty string, else the reason.
std::string init_project(const std::filesystem::path& dir, const std::string& name);

}  // namespace doppel::app
