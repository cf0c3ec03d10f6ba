// The model registry: the DTDL v3 (and v2) front end and the set of models it accepted.
//
// Callers: the CLI (`doppel validate`, `doppel serve`), later the twin graph and the API. A batch
// of documents is parsed, validated against every rule of the DTDL specification and linked to
// the models already in the registry; references may cross files in any order. A batch is
// all-or-nothing: with any error the registry is left unchanged and every error is reported.
//
// Models can also be added and removed while the registry is in use (uploads over the API):
// load(), prepare() + commit() and remove() serialize among themselves, and readers see a batch
// appear, or a model disappear, at once.
//
// Threading: every member function is safe to call concurrently. Elements handed out stay valid
// and unchanged for the life of the registry, even after remove() (their memory is reclaimed
// when the registry is destroyed), so a reader holding a pointer is never left dangling.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
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

// A batch that prepare() parsed and validated but did not add yet.
class prepared_batch {
 public:
  prepared_batch();
  ~prepared_batch();
  prepared_batch(prepared_batch&&) noexcept;
  prepared_batch& operator=(prepared_batch&&) noexcept;
  // The top-level interfaces of the batch (not the inline ones), in document order.
  const std::vector<const interface*>& top_level() const;

 private:
  friend class model_registry;
  struct impl;
  std::unique_ptr<impl> impl_;
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

  // load() in two steps, for callers that must make a batch visible at a moment of their
  // choosing (after they have queued its durable write, under their own lock). prepare()
  // validates `sources` against the registry as it is and keeps the result in `out` (on
  // success); commit() adds it. failed_precondition when the registry changed in between
  // (another load or remove): prepare again.
  load_report prepare(std::vector<source> sources, prepared_batch& out) const;
  status commit(prepared_batch batch);

  // Removes an interface loaded at the top level of its document, with the inline interfaces
  // and ids its document defined, so the DTMI can be loaded again. not_found when it is not
  // loaded or is an inline one; failed_precondition, naming them, while other interfaces extend,
  // hold (component) or target (relationship) it.
  status remove(std::string_view dtmi);

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

// True for an interface written as a whole document or as an entry of a top-level array: a
// model in its own right, not one defined inline in another (a component's schema).
bool is_top_level(const interface& i);

// Collects the *.json files under `paths` as sources (sorted, recursive). Errors name the path.
std::vector<source> read_sources(const std::vector<std::filesystem::path>& paths, std::vector<diagnostic>& errors);

}  // namespace doppel::model
