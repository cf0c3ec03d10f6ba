// The query language's internals: the checked syntax tree the parser (query_parser.cpp) hands
// to the evaluator (query_eval.cpp), and the continuation token both ends of a page agree on.
// Not a public interface: only src/twin includes it. Plain values; single-threaded use.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "twin/query.h"

namespace doppel::twin::detail {

// Where a token starts in the query text: 1-based line and column (in code points).
struct text_pos {
  std::uint32_t line = 1;
  std::uint32_t column = 1;
};

// "3:14: " for messages.
std::string at(text_pos p);

enum class collection_kind : std::uint8_t { twins, relationships };

// A named set of documents a row binds one of: the FROM collection, or a JOIN's target twins or
// relationships. The index of a collection is its slot in a row.
struct collection {
  std::string alias;  // empty when the query gave none
  collection_kind kind = collection_kind::twins;
  std::size_t level = 0;  // 0: FROM; i: bound by the i-th JOIN
  text_pos where;
};

// JOIN <target> RELATED <source>.<relationship> [<relation>]
struct join_clause {
  std::size_t source = 0;    // twin collection the relationships start at
  std::string relationship;  // relationship name
  std::size_t target = 0;    // twin collection the relationships reach
  std::size_t relation = 0;  // relationship collection (named or not)
  text_pos where;
};

// A value inside a bound document: collection + property names. No names: the whole document.
struct path {
  std::size_t collection = 0;
  std::vector<std::string> segments;
  std::string text;  // as written, for messages and default column names
  text_pos where;
};

enum class cmp_op : std::uint8_t { eq, ne, lt, le, gt, ge };

enum class function : std::uint8_t {
  is_of_model,
  is_defined,
  is_null,
  is_bool,
  is_number,
  is_string,
  is_object,
  is_primitive,
  startswith,
  endswith,
  contains,
};

struct expr {
  enum class kind : std::uint8_t { literal, path, compare, in, and_, or_, not_, call };
  kind type = kind::literal;
  text_pos where;
  nlohmann::json value;    // literal; in: the list (an array)
  detail::path ref;        // path; is_of_model: its collection
  cmp_op op = cmp_op::eq;  // compare
  bool negated = false;    // in: NIN
  function fn = function::is_defined;
  std::string model;           // is_of_model: the DTMI
  bool exact = false;          // is_of_model: no inheritance
  std::size_t slot = 0;        // is_of_model: index of its model set in the evaluator
  std::vector<expr> children;  // compare: 2 operands; in: 1; and/or: 2+; not: 1; call: its arguments
};

enum class aggregate : std::uint8_t { none, count, sum, avg, min, max };

struct projection {
  aggregate agg = aggregate::none;
  detail::path ref;       // none, sum, avg, min, max: the value; none with no segments: a collection
  std::string name;       // the key in a row
  std::size_t group = 0;  // agg == none with GROUP BY: the GROUP BY path it repeats
  text_pos where;
};

struct query_ast {
  std::string text;
  bool select_star = false;
  std::optional<std::int64_t> top;
  std::vector<projection> projections;
  std::vector<collection> collections;  // [0] is FROM
  std::vector<join_clause> joins;       // joins[i] binds collections at level i + 1
  std::optional<expr> where;
  std::vector<detail::path> group_by;
  bool aggregates = false;       // COUNT/SUM/AVG/MIN/MAX or GROUP BY: one row per group
  std::size_t model_checks = 0;  // IS_OF_MODEL calls (expr::slot < model_checks)
};

// Parses and checks a query: syntax, aliases, projections against GROUP BY, limits.
result<query_ast> parse_query(std::string_view text, const query_limits& limits);

// The continuation token: the query it belongs to, the sort key of the last row returned
// (twin id and relationship ids, or a group key), and how many rows came before (for TOP).
struct continuation {
  std::string query;
  nlohmann::json key;  // an array
  std::uint64_t returned = 0;
};

std::string encode_token(const continuation& c);
result<continuation> decode_token(std::string_view token, const query_limits& limits);

// Runs a parsed query and returns one page.
result<nlohmann::json> evaluate(const query_ast& q, const query_source& source, const query_options& options,
                                const continuation* resume);

}  // namespace doppel::twin::detail
