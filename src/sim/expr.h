// The expression language of Doppel's equation models: right-hand sides of ODEs, outputs and
// event conditions. An expression is compiled once into a flat tape for a small stack machine
// (constants folded, operands fused into the instructions that use them) and then evaluated many
// times, 10^5 to 10^7 times a second inside an integrator, without allocating or re-parsing.
// Callers: the equation-model loader (compile, once per model) and the integrator (eval, hot).
// Threading: `symbols` and `expression` are plain values; a compiled expression is immutable, so
// any number of threads may call eval() on it at once.
//
// The language (docs/simulation.md, "The expression language"):
//   numbers   1  2.5  1e-3  .5                 (finite doubles; 1e400 is refused)
//   names     [A-Za-z_][A-Za-z0-9_.]*          (motor.power is one name), resolved at compile time
//   constants pi  e                            (reserved: no model variable may be called so)
//   operators, loosest first:
//     c ? a : b                                 right-associative
//     ||   &&                                   non-zero (NaN too) is true; result 1 or 0
//     == !=   < <= > >=                         result 1 or 0 (NaN compares unequal to everything)
//     + -   * / %                               left-associative; % is fmod
//     unary - + !                               so -2^2 = -4
//     ^                                         power, right-associative: 2^3^2 = 512
//   functions sin cos tan asin acos atan atan2(y,x) sinh cosh tanh exp log log10 sqrt abs floor
//             ceil sign pow(a,b) hypot(a,b) min(a,b,...) max(a,b,...) clamp(x,lo,hi) if(c,a,b)
// Arithmetic is IEEE double: 1/0 is inf, sqrt(-1) is NaN, nothing traps. min, max and sign
// propagate NaN; if() and ?: compute both branches (nothing has side effects).
// Bounded by construction: no loops, assignment, I/O or user functions; source at most 64 KiB,
// nesting at most 128 levels, tape no longer than the source, evaluation linear in the tape.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace doppel::sim {

inline constexpr std::size_t k_expr_max_source = 64 * 1024;
inline constexpr int k_expr_max_nesting = 128;
// eval() keeps its operand stack in a local array of this many doubles; an expression needing
// more is refused at compile time (the nesting limit keeps ordinary ones far below it).
inline constexpr std::size_t k_expr_max_stack = 256;

// The names an expression may use, each a slot index into the value array eval() reads. The
// caller decides the layout (states, inputs, parameters side by side) by the order of add().
class symbols {
 public:
  // The next slot for `name`. invalid_argument when it is not a name of the language or is
  // reserved (pi, e, a function's name); already_exists when it was added before.
  result<std::size_t> add(std::string_view name);
  std::optional<std::size_t> find(std::string_view name) const;
  // Every name, by slot.
  const std::vector<std::string>& names() const { return names_; }
  std::size_t size() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

class expression {
 public:
  // invalid_argument saying where (1-based column) and what, e.g.
  // `column 7: unknown name "presure"; known: pressure, speed`.
  static result<expression> compile(std::string_view text, const symbols& names);

  // The value for `values` (indexed by slot; at least as many as the symbols' slots this
  // expression uses). No allocation, no exceptions.
  double eval(const double* values) const;
  // eval() for `count` value arrays `stride` doubles apart, into out[0..count).
  void eval_many(const double* values, std::size_t stride, std::size_t count, double* out) const;

  std::string_view source() const { return source_; }
  // The slots the expression reads (sorted, unique): for dependency analysis. A branch removed by
  // constant folding (`0 ? a : b`) does not count.
  const std::vector<std::size_t>& uses() const { return uses_; }
  // Instructions on the tape, and the operand stack depth it needs: for tests and diagnostics.
  std::size_t tape_size() const { return tape_.size(); }
  std::size_t stack_depth() const { return stack_depth_; }
  // The tape, one instruction a line ("load_v 3", "mul_c 2"): for tests and diagnostics.
  std::string disassemble() const;

  struct instruction {
    std::uint16_t op;
    std::uint32_t slot;  // for instructions reading a value
    double value;        // for instructions with a constant operand
  };

 private:
  friend class expr_compiler;
  std::string source_;
  std::vector<instruction> tape_;
  std::vector<std::size_t> uses_;
  std::size_t stack_depth_ = 0;
};

}  // namespace doppel::sim
