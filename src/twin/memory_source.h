// Twins and relationships held in plain maps, with a twin_index, to run queries over without a
// metadata store: `doppel query` over a project's declared twins, the tests, the query fuzzer
// and the query bench. Twins are checked against their models as the graph checks them (with
// read-only properties allowed), so the index sees exactly what the graph would hold.
//
// Threading: not synchronised. Fill it, then query it from any number of threads; writes must
// not overlap with anything.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <utility>

#include "twin/index.h"
#include "twin/query.h"

namespace doppel::twin {

class memory_source final : public query_source {
 public:
  explicit memory_source(const model::model_registry& models) : models_(models) {}

  // Adds or replaces twin `id` ($dtId is set to it). invalid_argument when the body does not fit
  // its model (the message has the JSON paths).
  status put_twin(const std::string& id, nlohmann::json body);
  // not_found when there is no such twin. Relationships are left alone.
  status erase_twin(const std::string& id);
  // Adds or replaces a relationship. It needs string $sourceId, $relationshipId,
  // $relationshipName and $targetId; the endpoints and the model are not checked.
  status put_relationship(nlohmann::json body);
  status erase_relationship(const std::string& source, const std::string& rel_id);

  std::size_t relationship_count() const { return relationships_.size(); }

  const model::model_registry& models() const override { return models_; }
  std::size_t twin_count() const override { return twins_.size(); }
  void scan_twins(std::string_view from, const twin_visitor& visit) const override;
  const nlohmann::json* find_twin(std::string_view id) const override;
  void scan_outgoing(std::string_view source, std::string_view from_id,
                     const relationship_visitor& visit) const override;
  void scan_relationships(std::string_view from_source, std::string_view from_id,
                          const relationship_visitor& visit) const override;
  const twin_index* index() const override { return &index_; }

 private:
  using rel_key = std::pair<std::string, std::string>;  // (source, relationship id)

  const model::model_registry& models_;
  std::map<std::string, nlohmann::json, std::less<>> twins_;
  std::map<rel_key, nlohmann::json> relationships_;
  twin_index index_;
};

}  // namespace doppel::twin
