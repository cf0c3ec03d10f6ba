// The twin query language: the Azure Digital Twins SQL subset plus aggregates, evaluated over
// twins and relationships held in memory as JSON.
//
//   SELECT P.$dtId, M.ratedPower FROM DIGITALTWINS S
//     JOIN P RELATED S.hasPump R JOIN M RELATED P.drivenBy
//   WHERE S.$dtId = 'station-1' AND R.position < 3
//   SELECT T.mode, COUNT(), AVG(T.targetSpeed) FROM DIGITALTWINS T
//   WHERE IS_OF_MODEL(T, 'dtmi:doppel:example:Pump;1') GROUP BY T.mode
//
// docs/query.md is the user guide (grammar, row shapes, paging, limits). Results come in pages
// shaped like the ADT data plane's: {"value": [rows...], "continuationToken": "..."} with the
// token omitted on the last page. A token records the query and the sort key of the last row
// returned, so the next page resumes after that key even if the data changed in between.
//
// Callers: twin_graph::query() (the API's POST /query) under its read lock, `doppel query`, the
// tests and benches over a memory_source. Reads go through `query_source`, so the evaluator
// never touches the graph's maps or text; a twin_index, when the source has one, turns model,
// $dtId and property conditions into lookups instead of scans.
//
// Threading: run_query() and check_query() are pure functions of their arguments. The source
// must not change while run_query() reads it (the graph holds its shared lock).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "model/registry.h"

namespace doppel::twin {

class twin_index;

// What one query may cost, so a hostile or careless query cannot exhaust the server. Every
// limit is reported as invalid_argument with what was exceeded and how to narrow the query.
struct query_limits {
  std::size_t max_text_bytes = 8 * 1024;  // like ADT
  std::size_t max_depth = 32;             // nesting of parentheses and NOT
  std::size_t max_joins = 5;              // JOIN hops, like ADT
  std::size_t max_page_size = 1000;
  std::size_t max_groups = 10'000;          // GROUP BY groups held at once
  std::uint64_t max_work = 20'000'000;      // evaluation steps per page: twins and relationships
                                            // visited, each weighted by the conditions tested on it
  std::size_t max_token_bytes = 64 * 1024;  // continuation tokens (they carry the query text)
};

struct query_options {
  std::size_t page_size = 100;     // rows per page, 1..limits.max_page_size
  std::string continuation_token;  // from the previous page; empty for the first page
  // False: scan the FROM collection in full instead of using $dtId lookups and the index. The
  // results are the same; benches use it as the anchor and tests to check the index.
  bool use_indexes = true;
  query_limits limits;
};

using twin_visitor = std::function<bool(std::string_view id, const nlohmann::json& twin)>;
using relationship_visitor =
    std::function<bool(std::string_view source, std::string_view rel_id, const nlohmann::json& relationship)>;

// What the evaluator reads. Twins are the documents with $dtId and $metadata.$model;
// relationships carry $sourceId, $relationshipId, $relationshipName and $targetId. Every
// scan visits in key order and stops early when the visitor returns false.
class query_source {
 public:
  virtual ~query_source() = default;

  // The models of the twins (IS_OF_MODEL's inheritance).
  virtual const model::model_registry& models() const = 0;
  virtual std::size_t twin_count() const = 0;
  // Twins with id >= from, in id order.
  virtual void scan_twins(std::string_view from, const twin_visitor& visit) const = 0;
  // The twin with this id, or nullptr.
  virtual const nlohmann::json* find_twin(std::string_view id) const = 0;
  // Relationships of `source` with relationship id >= from_id, in relationship id order.
  virtual void scan_outgoing(std::string_view source, std::string_view from_id,
                             const relationship_visitor& visit) const = 0;
  // All relationships with (source, id) >= (from_source, from_id), in that order.
  virtual void scan_relationships(std::string_view from_source, std::string_view from_id,
                                  const relationship_visitor& visit) const = 0;
  // Model and property lookups, or nullptr when the source keeps none (then queries scan).
  virtual const twin_index* index() const { return nullptr; }
};

// Runs a query and returns one page: {"value": [...], "continuationToken": "..."}. `text` may
// be empty when options.continuation_token is set (the token carries its query); when both are
// given they must agree. invalid_argument for syntax errors ("line:column: expected ... but
// found ..."), semantic errors (with their position), malformed tokens and exceeded limits.
result<nlohmann::json> run_query(std::string_view text, const query_source& source, const query_options& options);

// Parses and checks a query without running it (same errors as run_query's, except those that
// need data). For early rejection and the fuzzer.
status check_query(std::string_view text, const query_limits& limits = {});

}  // namespace doppel::twin
