// Secondary indexes over twins for the query planner (query.h): which twins have each model, and
// for every property path one or two names deep ("targetSpeed", "motor.ratedPower") which twins
// hold which number or string there. Lets model filters, property ranges and STARTSWITH find
// their candidate twins without reading every twin.
//
// What is indexed is decided by the JSON alone, never by the models, so the index is complete
// by construction: every number and string at depth 1 or 2 under a name that a query can write
// (letters, digits, _; not starting with $) is in it, whatever model declared it. The planner
// only has to re-check the condition on the candidates, never to doubt that a twin is missing.
//
// Callers: the owner of the twins (twin_graph, memory_source) calls update() on every write,
// with the exact body it replaces; the query evaluator reads. Threading: not synchronised;
// the owner's lock covers it (writes exclusive, reads shared).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/model.h"

namespace doppel::twin {

class twin_index {
 public:
  using id_set = std::set<std::string, std::less<>>;

  twin_index() = default;
  twin_index(const twin_index&) = delete;  // postings point into the id sets
  twin_index& operator=(const twin_index&) = delete;

  // Moves twin `id` from `before` (its previous body; nullptr when it is new) to `after` (its
  // new body with model `model`; nullptr and nullptr when it was deleted).
  void update(std::string_view id, const nlohmann::json* before, const nlohmann::json* after,
              const model::interface* model);

  // The sorted ids of the twins whose model is `dtmi` or, unless `exact`, extends it: one set
  // per model that has twins.
  std::vector<const id_set*> twins_of_model(std::string_view dtmi, bool exact) const;

  // Visits (in no particular order) the ids of twins whose value at `path` (names joined with
  // '.') is a number in [lo, hi] or a string in [lo, hi]; an absent bound is open. Stops when
  // visit returns false. Paths deeper than two names are never indexed: see indexable().
  using id_visitor = std::function<bool(const std::string& id)>;
  void scan_numbers(std::string_view path, std::optional<double> lo, std::optional<double> hi,
                    const id_visitor& visit) const;
  void scan_strings(std::string_view path, std::optional<std::string_view> lo, std::optional<std::string_view> hi,
                    const id_visitor& visit) const;

  // True when scan_numbers/scan_strings cover `segments` completely: one or two names a query
  // can write, none starting with '$'.
  static bool indexable(const std::vector<std::string>& segments);

  std::size_t twin_count() const { return twins_; }
  std::size_t entry_count() const { return entries_; }

 private:
  // Ordered by value, then by id pointer (only to keep equal values apart); transparent, so
  // ranges are looked up by the value alone.
  struct by_number {
    using is_transparent = void;
    using entry = std::pair<double, const std::string*>;
    bool operator()(const entry& a, const entry& b) const {
      return a.first < b.first || (a.first == b.first && std::less<const std::string*>()(a.second, b.second));
    }
    bool operator()(const entry& a, double b) const { return a.first < b; }
    bool operator()(double a, const entry& b) const { return a < b.first; }
  };
  struct by_string {
    using is_transparent = void;
    using entry = std::pair<std::string, const std::string*>;
    bool operator()(const entry& a, const entry& b) const {
      int c = a.first.compare(b.first);
      return c < 0 || (c == 0 && std::less<const std::string*>()(a.second, b.second));
    }
    bool operator()(const entry& a, std::string_view b) const { return std::string_view(a.first) < b; }
    bool operator()(std::string_view a, const entry& b) const { return a < std::string_view(b.first); }
  };
  struct posting {
    std::set<std::pair<double, const std::string*>, by_number> numbers;
    std::set<std::pair<std::string, const std::string*>, by_string> strings;
  };
  struct model_entry {
    const model::interface* model = nullptr;
    id_set ids;
  };
  // One indexed value of a twin: where, and the number or string.
  struct value_ref {
    std::string path;
    const nlohmann::json* value;
  };

  static void values_of(const nlohmann::json& body, std::vector<value_ref>& out);
  void add(const std::vector<value_ref>& values, const std::string* id);
  void remove(const std::vector<value_ref>& values, const std::string* id);

  std::map<std::string, model_entry, std::less<>> models_;  // by DTMI
  std::map<std::string, posting, std::less<>> postings_;    // by path
  std::size_t twins_ = 0;
  std::size_t entries_ = 0;
};

}  // namespace doppel::twin
