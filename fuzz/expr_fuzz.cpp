// libFuzzer target for the expression language: the input is an expression over x, y, z and
// motor.power. Whatever compiles must evaluate (on ordinary values, zeros, infinities and NaN)
// without a crash or undefined behaviour, stay within the documented bounds (tape no longer than
// the source, stack within eval()'s array), and compile again from its own source() to the same
// tape and the same results. Never a crash.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>

#include "sim/expr.h"

namespace {

using doppel::sim::expression;
using doppel::sim::symbols;

const symbols& names() {
  static const symbols s = [] {
    symbols r;
    for (const char* n : {"x", "y", "z", "motor.power"}) {
      if (!r.add(n)) __builtin_trap();
    }
    return r;
  }();
  return s;
}

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto e = expression::compile(text, names());
  if (!e) {
    if (e.error().message().empty()) __builtin_trap();
    return 0;
  }
  if (e->tape_size() > text.size() + 1 || e->stack_depth() > doppel::sim::k_expr_max_stack) __builtin_trap();
  for (std::size_t slot : e->uses()) {
    if (slot >= names().size()) __builtin_trap();
  }
  auto again = expression::compile(e->source(), names());
  if (!again || again->tape_size() != e->tape_size() || again->disassemble() != e->disassemble()) __builtin_trap();
  const double inf = std::numeric_limits<double>::infinity();
  const double rows[][4] = {
      {1.5, -2, 0.25, 4000}, {0, -0.0, 0, 0}, {inf, -inf, std::nan(""), 1e308}, {-1, 1e-310, 3, -7}};
  for (const auto& row : rows) {
    if (!same(e->eval(row), again->eval(row))) __builtin_trap();
  }
  return 0;
}
