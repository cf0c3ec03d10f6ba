// Shared by the FMU tests that read a run's CSV as numbers (model_exchange_test, system_test):
// where the test FMUs are, and a CSV of numbers as columns by name.
#pragma once

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace doppel::testing {

inline std::string fmu_path(const std::string& name) { return std::string(DOPPEL_TEST_FMU_DIR) + "/" + name + ".fmu"; }

struct table {
  std::vector<std::string> names;
  std::vector<std::vector<double>> rows;
  std::size_t column(const std::string& name) const {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) return i;
    }
    ADD_FAILURE() << "no column " << name;
    return 0;
  }
};

// A header line of names, then rows of numbers.
inline table parse_csv(const std::string& text) {
  table t;
  std::istringstream in(text);
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    std::vector<std::string> cells(1);
    for (char c : line) {
      if (c == ',') {
        cells.emplace_back();
      } else {
        cells.back() += c;
      }
    }
    if (header) {
      t.names = cells;
      header = false;
      continue;
    }
    auto& row = t.rows.emplace_back();
    for (const auto& c : cells) row.push_back(std::stod(c));
  }
  return t;
}

}  // namespace doppel::testing
