// The live twin graph: twins and relationships in memory, every change checked against the
// models (document.h, relationship.h) and made durable in the metadata store before it is
// acknowledged, with optimistic concurrency through etags (If-Match / If-None-Match).
//
// Callers: the API layer (one call per request) and `doppel serve` at start (open()).
// Threading: safe for concurrent use. Reads share a lock; a write holds it exclusively until its
// store commit has returned, so what a reader sees is always durable. The models and the store
// must outlive the graph.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/registry.h"
#include "store/metadata_store.h"
#include "twin/document.h"

namespace doppel::twin {

// The conditions of a conditional write, as HTTP states them.
struct condition {
  std::string if_match;            // empty: none; "*": the target must exist; else its etag
  bool if_none_match_any = false;  // "If-None-Match: *": the target must not exist (create only)
};

class twin_graph {
 public:
  // Loads every twin and relationship the store holds. invalid_argument when a stored twin no
  // longer fits the loaded models (the message names it).
  static result<std::unique_ptr<twin_graph>> open(const model::model_registry& models, store::metadata_store& store);

  // The twin with $dtId, $etag and $metadata.$model; not_found when there is none.
  result<nlohmann::json> get_twin(const std::string& id) const;
  // Creates or replaces a twin. invalid_argument with every problem (JSON paths) when the body
  // does not fit its model, precondition_mismatch when `c` does not hold, io_error when the
  // store fails. Returns the stored twin with its new $etag.
  result<nlohmann::json> put_twin(const std::string& id, nlohmann::json body, const condition& c,
                                  const check_options& options);
  // Applies a JSON Patch (document.h: patch_twin); not_found when the twin does not exist.
  result<nlohmann::json> patch_twin(const std::string& id, const nlohmann::json& patch, const condition& c,
                                    const check_options& options);
  // Deletes a twin; failed_precondition (naming them) while relationships start or end at it.
  status delete_twin(const std::string& id, const condition& c);

  // Creates or replaces relationship `rel_id` of twin `source` (body as in relationship.h; its
  // $sourceId and $relationshipId, when present, must match).
  result<nlohmann::json> put_relationship(const std::string& source, const std::string& rel_id, nlohmann::json body,
                                          const condition& c);
  result<nlohmann::json> get_relationship(const std::string& source, const std::string& rel_id) const;
  status delete_relationship(const std::string& source, const std::string& rel_id, const condition& c);
  // Relationships starting at / ending at a twin, ordered by source and id.
  std::vector<nlohmann::json> outgoing(const std::string& source) const;
  std::vector<nlohmann::json> incoming(const std::string& target) const;

  std::size_t twin_count() const;

 private:
  twin_graph(const model::model_registry& models, store::metadata_store& store);
  std::string next_etag();
  status check_condition(const nlohmann::json* existing, const condition& c, const std::string& what) const;
  result<nlohmann::json> store_twin(const std::string& id, nlohmann::json body, const model::interface& model);

  struct twin_entry {
    nlohmann::json body;
    const model::interface* model = nullptr;
  };
  using rel_key = std::pair<std::string, std::string>;  // (source, relationship id)

  const model::model_registry& models_;
  store::metadata_store& store_;
  mutable std::shared_mutex mu_;
  std::map<std::string, twin_entry, std::less<>> twins_;  // guarded by mu_
  std::map<rel_key, nlohmann::json> relationships_;       // guarded by mu_
  std::multimap<std::string, rel_key> incoming_;          // target -> relationship; guarded by mu_
  std::uint64_t etag_counter_ = 0;                        // guarded by mu_ (exclusive)
  std::uint64_t etag_epoch_ = 0;                          // differs between runs
};

}  // namespace doppel::twin
