#include "model/detail/units.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace doppel::model::detail {

namespace {

struct semantic_entry {
  const char* semantic;
  const char* unit_type;
};
struct unit_entry {
  const char* unit_type;
  const char* unit;
};

#include "model/units_table.inc"

struct table {
  std::map<std::string, std::string, std::less<>> semantic;            // semantic -> unit type
  std::map<std::string, std::vector<std::string>, std::less<>> units;  // unit type -> units
  std::map<std::string, std::string, std::less<>> examples;            // unit type -> "a, b, c"

  template <std::size_t N, std::size_t M>
  table(const semantic_entry (&s)[N], const unit_entry (&u)[M]) {
    for (const auto& e : s) semantic.emplace(e.semantic, e.unit_type);
    for (const auto& e : u) units[e.unit_type].push_back(e.unit);
    for (auto& [type, list] : units) {
      std::sort(list.begin(), list.end());
      std::string ex;
      for (std::size_t i = 0; i < list.size() && i < 8; ++i) ex += (i ? ", " : "") + list[i];
      if (list.size() > 8) ex += ", ...";
      examples.emplace(type, std::move(ex));
    }
  }
};

// Built once on first use from constant data and never modified: not mutable global state.
const table& get(unit_table t) {
  static const table v2(k_units_v2_semantic, k_units_v2_units);
  static const table qt1(k_units_qt1_semantic, k_units_qt1_units);
  return t == unit_table::v2 ? v2 : qt1;
}

}  // namespace

std::string_view unit_type_of(unit_table t, std::string_view semantic_type) {
  const auto& m = get(t).semantic;
  auto it = m.find(semantic_type);
  return it == m.end() ? std::string_view{} : std::string_view(it->second);
}

bool unit_belongs(unit_table t, std::string_view unit_type, std::string_view unit) {
  const auto& m = get(t).units;
  auto it = m.find(unit_type);
  return it != m.end() && std::binary_search(it->second.begin(), it->second.end(), unit);
}

bool is_unit_type(unit_table t, std::string_view name) { return get(t).units.count(name) > 0; }

bool is_unit(unit_table t, std::string_view unit) {
  for (const auto& [type, list] : get(t).units) {
    if (std::binary_search(list.begin(), list.end(), unit)) return true;
  }
  return false;
}

const std::vector<std::string>& units_of(unit_table t, std::string_view unit_type) {
  static const std::vector<std::string> none;
  const auto& m = get(t).units;
  auto it = m.find(unit_type);
  return it == m.end() ? none : it->second;
}

std::string_view example_units(unit_table t, std::string_view unit_type) {
  const auto& m = get(t).examples;
  auto it = m.find(unit_type);
  return it == m.end() ? std::string_view{} : std::string_view(it->second);
}

}  // namespace doppel::model::detail
