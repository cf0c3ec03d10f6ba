#include "sim/expr.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <system_error>
#include <utility>

namespace doppel::sim {

namespace {

// The tape is an accumulator machine: the top of the stack lives in a local (acc) and the rest in
// a small array. A load pushes acc and replaces it; a binary instruction combines acc with the
// value below it (_s), a constant (_c) or a slot (_v). Fusing the right operand into the
// instruction halves the dispatches of typical right-hand sides (`(Tw - Ta) / Rth` is one load
// and two fused instructions).

// Binary operators and two-argument functions: name, how a (left) and b (right) combine, and
// whether a op b == b op a bit for bit (then a simple left operand can be fused like a right one).
#define DOPPEL_EXPR_BINARY(X)                   \
  X(add, a + b, true)                           \
  X(sub, a - b, false)                          \
  X(mul, a* b, true)                            \
  X(div, a / b, false)                          \
  X(mod, std::fmod(a, b), false)                \
  X(pow, std::pow(a, b), false)                 \
  X(lt, a < b ? 1.0 : 0.0, false)               \
  X(le, a <= b ? 1.0 : 0.0, false)              \
  X(gt, a > b ? 1.0 : 0.0, false)               \
  X(ge, a >= b ? 1.0 : 0.0, false)              \
  X(eq, a == b ? 1.0 : 0.0, true)               \
  X(ne, a != b ? 1.0 : 0.0, true)               \
  X(land, (a != 0 && b != 0) ? 1.0 : 0.0, true) \
  X(lor, (a != 0 || b != 0) ? 1.0 : 0.0, true)  \
  X(atan2, std::atan2(a, b), false)             \
  X(hypot, std::hypot(a, b), false)             \
  X(min, nan_min(a, b), false)                  \
  X(max, nan_max(a, b), false)

#define DOPPEL_EXPR_UNARY(X)  \
  X(neg, -a)                  \
  X(lnot, a != 0 ? 0.0 : 1.0) \
  X(sq, a* a)                 \
  X(sin, std::sin(a))         \
  X(cos, std::cos(a))         \
  X(tan, std::tan(a))         \
  X(asin, std::asin(a))       \
  X(acos, std::acos(a))       \
  X(atan, std::atan(a))       \
  X(sinh, std::sinh(a))       \
  X(cosh, std::cosh(a))       \
  X(tanh, std::tanh(a))       \
  X(exp, std::exp(a))         \
  X(log, std::log(a))         \
  X(log10, std::log10(a))     \
  X(sqrt, std::sqrt(a))       \
  X(abs, std::fabs(a))        \
  X(floor, std::floor(a))     \
  X(ceil, std::ceil(a))       \
  X(sign, a > 0 ? 1.0 : (a < 0 ? -1.0 : a))

inline double nan_min(double a, double b) { return (a != a || b != b) ? a + b : (b < a ? b : a); }
inline double nan_max(double a, double b) { return (a != a || b != b) ? a + b : (b > a ? b : a); }
inline double pick(double c, double a, double b) { return c != 0 ? a : b; }
inline double clamp3(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

enum class binop : std::uint8_t {
#define X(name, expr, comm) name,
  DOPPEL_EXPR_BINARY(X)
#undef X
};
enum class unop : std::uint8_t {
#define X(name, expr) name,
  DOPPEL_EXPR_UNARY(X)
#undef X
};

enum opcode : std::uint16_t {
  op_load_c,
  op_load_v,
  op_rsub_c,  // acc = c - acc
  op_rsub_v,
  op_rdiv_c,
  op_rdiv_v,
  op_select,  // stack [c a], acc b
  op_clamp,   // stack [x lo], acc hi
#define X(name, expr) op_##name,
  DOPPEL_EXPR_UNARY(X)
#undef X
#define X(name, expr, comm) op_##name##_s, op_##name##_c, op_##name##_v,
      DOPPEL_EXPR_BINARY(X)
#undef X
};

constexpr const char* k_binary_names[] = {
#define X(name, expr, comm) #name,
    DOPPEL_EXPR_BINARY(X)
#undef X
};
constexpr const char* k_unary_names[] = {
#define X(name, expr) #name,
    DOPPEL_EXPR_UNARY(X)
#undef X
};

double apply(binop o, double a, double b) {
  switch (o) {
#define X(name, expr, comm) \
  case binop::name: return expr;
    DOPPEL_EXPR_BINARY(X)
#undef X
  }
  return 0;
}
double apply(unop o, double a) {
  switch (o) {
#define X(name, expr) \
  case unop::name: return expr;
    DOPPEL_EXPR_UNARY(X)
#undef X
  }
  return 0;
}
bool commutative(binop o) {
  switch (o) {
#define X(name, expr, comm) \
  case binop::name: return comm;
    DOPPEL_EXPR_BINARY(X)
#undef X
  }
  return false;
}
std::uint16_t binary_op(binop o, int form) {
  return static_cast<std::uint16_t>(op_add_s + 3 * static_cast<int>(o) + form);
}
std::uint16_t unary_op(unop o) { return static_cast<std::uint16_t>(op_neg + static_cast<int>(o)); }

enum class fn_kind { unary, binary, nary, select, clamp };
struct function {
  const char* name;
  fn_kind kind;
  int arity;  // for nary: the least
  int code;   // unop or binop
};
constexpr function k_functions[] = {
    {"sin", fn_kind::unary, 1, static_cast<int>(unop::sin)},
    {"cos", fn_kind::unary, 1, static_cast<int>(unop::cos)},
    {"tan", fn_kind::unary, 1, static_cast<int>(unop::tan)},
    {"asin", fn_kind::unary, 1, static_cast<int>(unop::asin)},
    {"acos", fn_kind::unary, 1, static_cast<int>(unop::acos)},
    {"atan", fn_kind::unary, 1, static_cast<int>(unop::atan)},
    {"atan2", fn_kind::binary, 2, static_cast<int>(binop::atan2)},
    {"sinh", fn_kind::unary, 1, static_cast<int>(unop::sinh)},
    {"cosh", fn_kind::unary, 1, static_cast<int>(unop::cosh)},
    {"tanh", fn_kind::unary, 1, static_cast<int>(unop::tanh)},
    {"exp", fn_kind::unary, 1, static_cast<int>(unop::exp)},
    {"log", fn_kind::unary, 1, static_cast<int>(unop::log)},
    {"log10", fn_kind::unary, 1, static_cast<int>(unop::log10)},
    {"sqrt", fn_kind::unary, 1, static_cast<int>(unop::sqrt)},
    {"abs", fn_kind::unary, 1, static_cast<int>(unop::abs)},
    {"min", fn_kind::nary, 2, static_cast<int>(binop::min)},
    {"max", fn_kind::nary, 2, static_cast<int>(binop::max)},
    {"pow", fn_kind::binary, 2, static_cast<int>(binop::pow)},
    {"floor", fn_kind::unary, 1, static_cast<int>(unop::floor)},
    {"ceil", fn_kind::unary, 1, static_cast<int>(unop::ceil)},
    {"sign", fn_kind::unary, 1, static_cast<int>(unop::sign)},
    {"clamp", fn_kind::clamp, 3, 0},
    {"hypot", fn_kind::binary, 2, static_cast<int>(binop::hypot)},
    {"if", fn_kind::select, 3, 0},
};

const function* find_function(std::string_view name) {
  for (const function& f : k_functions) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

std::optional<double> find_constant(std::string_view name) {
  if (name == "pi") return 3.14159265358979323846;
  if (name == "e") return 2.71828182845904523536;
  return std::nullopt;
}

bool name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9') || c == '.'; }
bool digit(char c) { return c >= '0' && c <= '9'; }

bool valid_name(std::string_view s) {
  if (s.empty() || !name_start(s[0])) return false;
  return std::all_of(s.begin(), s.end(), name_char);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

result<std::size_t> symbols::add(std::string_view name) {
  if (!valid_name(name)) {
    return status::invalid_argument("\"" + std::string(name) +
                                    "\" is not a name (letters, digits, _ and ., not first a digit or .)");
  }
  if (find_constant(name) || find_function(name)) {
    return status::invalid_argument("\"" + std::string(name) +
                                    "\" is reserved (a constant or function of the expression language)");
  }
  if (index_.count(name)) return status::already_exists("\"" + std::string(name) + "\" was added before");
  std::size_t slot = names_.size();
  names_.emplace_back(name);
  index_.emplace(names_.back(), slot);
  return slot;
}

std::optional<std::size_t> symbols::find(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

// Recursive descent straight into the tape: no syntax tree, so a long flat chain (`1+1+...+1`,
// 30,000 terms) costs no recursion, and only real nesting, which is limited, does.
class expr_compiler {
 public:
  expr_compiler(std::string_view text, const symbols& names) : text_(text), names_(names) {}

  result<expression> run() {
    if (text_.size() > k_expr_max_source) {
      return status::invalid_argument("the expression is " + std::to_string(text_.size()) +
                                      " bytes long; the limit is " + std::to_string(k_expr_max_source));
    }
    skip_space();
    if (pos_ == text_.size()) return status::invalid_argument("the expression is empty");
    operand r = conditional();
    if (failed_) return std::move(error_);
    skip_space();
    if (pos_ != text_.size()) {
      fail_unexpected();
      return std::move(error_);
    }
    materialize(r);
    expression e;
    e.source_ = std::string(text_);
    e.tape_ = std::move(tape_);
    // Uses come from the final tape, so a folded-away branch does not count.
    std::size_t depth = 0, deepest = 0;
    for (const auto& in : e.tape_) {
      switch (in.op) {
        case op_load_c: ++depth; break;
        case op_load_v:
          ++depth;
          e.uses_.push_back(in.slot);
          break;
        case op_select:
        case op_clamp: depth -= 2; break;
        case op_rsub_v:
        case op_rdiv_v: e.uses_.push_back(in.slot); break;
        default:
          if (in.op >= op_add_s) {
            int form = (in.op - op_add_s) % 3;
            if (form == 0) --depth;
            if (form == 2) e.uses_.push_back(in.slot);
          }
      }
      deepest = std::max(deepest, depth);
    }
    if (deepest > k_expr_max_stack) {
      return status::invalid_argument("the expression needs an operand stack of " + std::to_string(deepest) +
                                      " values; the limit is " + std::to_string(k_expr_max_stack));
    }
    e.stack_depth_ = deepest;
    std::sort(e.uses_.begin(), e.uses_.end());
    e.uses_.erase(std::unique(e.uses_.begin(), e.uses_.end()), e.uses_.end());
    return e;
  }

 private:
  // What a parsed sub-expression is. Constants and names are not on the tape yet (they may fold,
  // or fuse into the instruction that uses them); code is tape_[start, end) leaving its value in
  // acc. A constant or name's start is where its load goes if one is needed.
  struct operand {
    enum kind_t { constant, variable, code } kind = constant;
    double value = 0;
    std::uint32_t slot = 0;
    std::size_t start = 0;
  };

  struct token {
    enum kind_t { k_end, k_number, k_name, k_op } kind = k_end;
    std::string_view text;
    std::size_t column = 0;
    double number = 0;
  };

  // -- errors: the first one wins; the parser unwinds with placeholder operands.
  void fail(std::size_t column, const std::string& what) {
    if (failed_) return;
    failed_ = true;
    error_ = status::invalid_argument("column " + std::to_string(column) + ": " + what);
  }
  static std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
      auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", u);
        out += buf;
      } else {
        out += c;
      }
    }
    return out + "\"";
  }
  void fail_unexpected() {
    token t = peek();
    if (failed_) return;
    if (t.kind == token::k_end) {
      fail(t.column, "unexpected end of the expression");
    } else {
      fail(t.column, "unexpected " + quoted(t.text));
    }
  }

  // -- lexer
  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  token peek() {
    skip_space();
    token t;
    t.column = pos_ + 1;
    if (pos_ >= text_.size()) return t;
    char c = text_[pos_];
    std::size_t end = pos_;
    if (digit(c) || (c == '.' && pos_ + 1 < text_.size() && digit(text_[pos_ + 1]))) {
      t.kind = token::k_number;
      while (end < text_.size() && digit(text_[end])) ++end;
      if (end < text_.size() && text_[end] == '.') {
        ++end;
        while (end < text_.size() && digit(text_[end])) ++end;
      }
      if (end < text_.size() && (text_[end] == 'e' || text_[end] == 'E')) {
        std::size_t e = end + 1;
        if (e < text_.size() && (text_[e] == '+' || text_[e] == '-')) ++e;
        if (e < text_.size() && digit(text_[e])) {
          while (e < text_.size() && digit(text_[e])) ++e;
          end = e;
        } else {
          t.text = text_.substr(pos_, e - pos_);
          fail(t.column, "malformed number " + quoted(t.text) + " (an exponent needs digits)");
          return t;
        }
      }
      t.text = text_.substr(pos_, end - pos_);
      auto [p, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), t.number);
      if (ec != std::errc() || p != t.text.data() + t.text.size() || !std::isfinite(t.number)) {
        fail(t.column, "the number " + quoted(t.text) + " is out of range for a double");
      }
      return t;
    }
    if (name_start(c)) {
      t.kind = token::k_name;
      while (end < text_.size() && name_char(text_[end])) ++end;
      t.text = text_.substr(pos_, end - pos_);
      return t;
    }
    t.kind = token::k_op;
    static constexpr std::string_view two[] = {"<=", ">=", "==", "!=", "&&", "||"};
    for (std::string_view s : two) {
      if (text_.substr(pos_, 2) == s) {
        t.text = s;
        return t;
      }
    }
    t.text = text_.substr(pos_, 1);
    return t;
  }
  bool accept(std::string_view op) {
    token t = peek();
    if (t.kind == token::k_op && t.text == op) {
      pos_ += t.text.size();
      return true;
    }
    return false;
  }

  // -- nesting
  struct nest {
    expr_compiler& c;
    explicit nest(expr_compiler& compiler) : c(compiler) {
      if (++c.depth_ > k_expr_max_nesting) {
        c.fail(c.pos_ + 1, "nested deeper than " + std::to_string(k_expr_max_nesting) + " levels");
      }
    }
    ~nest() { --c.depth_; }
    nest(const nest&) = delete;
    nest& operator=(const nest&) = delete;
  };

  // -- emission
  void emit(std::uint16_t o, std::uint32_t slot = 0, double value = 0) { tape_.push_back({o, slot, value}); }
  expression::instruction load_of(const operand& x) const {
    if (x.kind == operand::constant) return {op_load_c, 0, x.value};
    return {op_load_v, x.slot, 0};
  }
  // Puts a constant or name on the tape where it belongs (its start); code already is.
  void materialize(operand& x) {
    if (x.kind == operand::code) return;
    tape_.insert(tape_.begin() + static_cast<std::ptrdiff_t>(x.start), load_of(x));
    x.kind = operand::code;
  }
  static operand constant_at(double v, std::size_t start) {
    operand r;
    r.value = v;
    r.start = start;
    return r;
  }
  static operand code_at(std::size_t start) {
    operand r;
    r.kind = operand::code;
    r.start = start;
    return r;
  }
  void emit_fused(binop o, const operand& right) {
    if (right.kind == operand::constant) {
      emit(binary_op(o, 1), 0, right.value);
    } else {
      emit(binary_op(o, 2), right.slot);
    }
  }

  operand unary(unop o, operand x) {
    if (failed_) return x;
    if (x.kind == operand::constant) return constant_at(apply(o, x.value), x.start);
    materialize(x);
    emit(unary_op(o));
    return x;
  }

  operand binary(binop o, operand a, operand b) {
    if (failed_) return a;
    if (a.kind == operand::constant && b.kind == operand::constant)
      return constant_at(apply(o, a.value, b.value), a.start);
    if (b.kind != operand::code) {
      materialize(a);
      // x^2 is x*x exactly (pow(x, 2) is correctly rounded), and the pump curves are full of it.
      if (o == binop::pow && b.kind == operand::constant && b.value == 2.0) {
        emit(unary_op(unop::sq));
      } else {
        emit_fused(o, b);
      }
    } else if (a.kind == operand::code) {
      emit(binary_op(o, 0));
    } else if (commutative(o)) {
      emit_fused(o, a);
    } else if (o == binop::sub || o == binop::div) {
      bool c = a.kind == operand::constant;
      emit(o == binop::sub ? (c ? op_rsub_c : op_rsub_v) : (c ? op_rdiv_c : op_rdiv_v), a.slot, a.value);
    } else if (o == binop::lt || o == binop::le || o == binop::gt || o == binop::ge) {
      // c < x is x > c, NaN included.
      binop mirrored = o == binop::lt ? binop::gt : o == binop::le ? binop::ge : o == binop::gt ? binop::lt : binop::le;
      emit_fused(mirrored, a);
    } else {
      materialize(a);
      emit(binary_op(o, 0));
    }
    return code_at(a.start);
  }

  operand choose(operand c, operand a, operand b) {
    if (failed_) return c;
    if (c.kind == operand::constant) {
      // Drop the branch not taken; code is position-independent, so cutting it out is enough.
      if (c.value != 0) {
        tape_.erase(tape_.begin() + static_cast<std::ptrdiff_t>(b.start), tape_.end());
        a.start = c.start;
        return a;
      }
      tape_.erase(tape_.begin() + static_cast<std::ptrdiff_t>(a.start),
                  tape_.begin() + static_cast<std::ptrdiff_t>(b.start));
      b.start = c.start;
      return b;
    }
    materialize(b);
    materialize(a);
    materialize(c);
    emit(op_select);
    return code_at(c.start);
  }

  operand clamp(operand x, operand lo, operand hi) {
    if (failed_) return x;
    if (x.kind == operand::constant && lo.kind == operand::constant && hi.kind == operand::constant) {
      return constant_at(clamp3(x.value, lo.value, hi.value), x.start);
    }
    materialize(hi);
    materialize(lo);
    materialize(x);
    emit(op_clamp);
    return code_at(x.start);
  }

  // -- grammar, loosest first
  operand conditional() {
    operand c = logical_or();
    if (failed_) return c;
    token q = peek();
    if (!accept("?")) return c;
    nest guard(*this);
    if (failed_) return c;
    operand a = conditional();
    if (failed_) return a;
    if (!accept(":")) {
      token t = peek();
      if (!failed_) {
        fail(t.column, "expected \":\" for the \"?\" at column " + std::to_string(q.column) + ", found " +
                           (t.kind == token::k_end ? std::string("the end") : quoted(t.text)));
      }
      return a;
    }
    operand b = conditional();
    return choose(c, a, b);
  }

  template <class Next>
  operand left_assoc(Next next, std::initializer_list<std::pair<std::string_view, binop>> ops) {
    operand a = (this->*next)();
    while (!failed_) {
      token t = peek();
      if (t.kind != token::k_op) return a;
      const std::pair<std::string_view, binop>* hit = nullptr;
      for (const auto& o : ops) {
        if (t.text == o.first) hit = &o;
      }
      if (!hit) return a;
      pos_ += t.text.size();
      operand b = (this->*next)();
      a = binary(hit->second, a, b);
    }
    return a;
  }
  operand logical_or() { return left_assoc(&expr_compiler::logical_and, {{"||", binop::lor}}); }
  operand logical_and() { return left_assoc(&expr_compiler::equality, {{"&&", binop::land}}); }
  operand equality() { return left_assoc(&expr_compiler::relational, {{"==", binop::eq}, {"!=", binop::ne}}); }
  operand relational() {
    return left_assoc(&expr_compiler::additive,
                      {{"<", binop::lt}, {"<=", binop::le}, {">", binop::gt}, {">=", binop::ge}});
  }
  operand additive() { return left_assoc(&expr_compiler::multiplicative, {{"+", binop::add}, {"-", binop::sub}}); }
  operand multiplicative() {
    return left_assoc(&expr_compiler::prefix, {{"*", binop::mul}, {"/", binop::div}, {"%", binop::mod}});
  }

  operand prefix() {
    token t = peek();
    if (t.kind == token::k_op && (t.text == "-" || t.text == "+" || t.text == "!")) {
      nest guard(*this);
      if (failed_) return {};
      pos_ += 1;
      operand x = prefix();
      if (t.text == "+") return x;
      return unary(t.text == "-" ? unop::neg : unop::lnot, x);
    }
    return power();
  }

  operand power() {
    operand a = primary();
    if (failed_) return a;
    if (!accept("^")) return a;
    nest guard(*this);
    if (failed_) return a;
    operand b = prefix();  // right-associative, and 2^-1 is allowed
    return binary(binop::pow, a, b);
  }

  operand primary() {
    token t = peek();
    if (failed_) return {};
    operand r;
    r.start = tape_.size();
    switch (t.kind) {
      case token::k_end: fail_unexpected(); return r;
      case token::k_number:
        pos_ += t.text.size();
        r.value = t.number;
        return r;
      case token::k_op:
        if (t.text == "(") {
          nest guard(*this);
          if (failed_) return r;
          pos_ += 1;
          r = conditional();
          if (failed_) return r;
          if (!accept(")")) close_paren_error(t.column);
          return r;
        }
        fail_unexpected();
        return r;
      case token::k_name: break;
    }
    pos_ += t.text.size();
    token paren = peek();
    if (accept("(")) return call(t, paren.column, r.start);
    if (auto c = find_constant(t.text)) {
      r.value = *c;
      return r;
    }
    if (auto slot = names_.find(t.text)) {
      r.kind = operand::variable;
      r.slot = static_cast<std::uint32_t>(*slot);
      return r;
    }
    if (const function* f = find_function(t.text)) {
      fail(t.column, std::string(f->name) + " is a function: write " + f->name + "(...)");
      return r;
    }
    unknown_name(t);
    return r;
  }

  void close_paren_error(std::size_t open_column) {
    token t = peek();
    if (failed_) return;
    fail(t.column, "expected \")\" to close the \"(\" at column " + std::to_string(open_column) + ", found " +
                       (t.kind == token::k_end ? std::string("the end") : quoted(t.text)));
  }

  void unknown_name(const token& t) {
    std::string what = "unknown name " + quoted(t.text);
    std::vector<std::pair<std::size_t, const std::string*>> near;
    for (const std::string& n : names_.names()) near.emplace_back(edit_distance(t.text, n), &n);
    std::sort(near.begin(), near.end(), [](const auto& x, const auto& y) {
      return x.first != y.first ? x.first < y.first : *x.second < *y.second;
    });
    if (near.empty()) {
      what += "; no names are defined";
    } else {
      what += "; known: ";
      for (std::size_t i = 0; i < near.size() && i < 10; ++i) what += (i ? ", " : "") + *near[i].second;
      if (near.size() > 10) what += ", ... (" + std::to_string(near.size()) + " in all)";
    }
    fail(t.column, what);
  }

  operand call(const token& name, std::size_t paren_column, std::size_t start) {
    const function* f = find_function(name.text);
    if (!f) {
      std::string what = "unknown function " + quoted(name.text) + "; functions:";
      for (const function& g : k_functions) what += std::string(" ") + g.name;
      fail(name.column, what);
      return {};
    }
    nest guard(*this);
    if (failed_) return {};
    std::array<operand, 3> args;
    int count = 0;
    operand acc;  // min/max: the arguments so far, combined as they come
    if (!accept(")")) {
      do {
        operand a = conditional();
        if (failed_) return a;
        if (f->kind == fn_kind::nary) {
          acc = count == 0 ? a : binary(static_cast<binop>(f->code), acc, a);
        } else if (count < 3) {
          args[static_cast<std::size_t>(count)] = a;
        }
        ++count;
      } while (accept(","));
      if (!accept(")")) {
        close_paren_error(paren_column);
        return {};
      }
    }
    if (f->kind == fn_kind::nary) {
      if (count < f->arity) {
        fail(name.column, std::string(f->name) + " needs at least " + std::to_string(f->arity) + " arguments");
        return {};
      }
      return acc;
    }
    if (count != f->arity) {
      fail(name.column, std::string(f->name) + " takes " + std::to_string(f->arity) +
                            (f->arity == 1 ? " argument" : " arguments") + ", got " + std::to_string(count));
      return {};
    }
    operand r;
    switch (f->kind) {
      case fn_kind::unary: r = unary(static_cast<unop>(f->code), args[0]); break;
      case fn_kind::binary: r = binary(static_cast<binop>(f->code), args[0], args[1]); break;
      case fn_kind::select: r = choose(args[0], args[1], args[2]); break;
      case fn_kind::clamp: r = clamp(args[0], args[1], args[2]); break;
      case fn_kind::nary: break;
    }
    r.start = start;
    return r;
  }

  std::string_view text_;
  const symbols& names_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  bool failed_ = false;
  status error_;
  std::vector<expression::instruction> tape_;
};

result<expression> expression::compile(std::string_view text, const symbols& names) {
  return expr_compiler(text, names).run();
}

double expression::eval(const double* values) const {
  double stack[k_expr_max_stack];
  double* sp = stack;
  double acc = 0;
  for (const instruction& in : tape_) {
    switch (in.op) {
      case op_load_c:
        *sp++ = acc;
        acc = in.value;
        break;
      case op_load_v:
        *sp++ = acc;
        acc = values[in.slot];
        break;
      case op_rsub_c: acc = in.value - acc; break;
      case op_rsub_v: acc = values[in.slot] - acc; break;
      case op_rdiv_c: acc = in.value / acc; break;
      case op_rdiv_v: acc = values[in.slot] / acc; break;
      case op_select:
        sp -= 2;
        acc = pick(sp[0], sp[1], acc);
        break;
      case op_clamp:
        sp -= 2;
        acc = clamp3(sp[0], sp[1], acc);
        break;
#define X(name, expr)     \
  case op_##name: {       \
    const double a = acc; \
    acc = expr;           \
    break;                \
  }
        DOPPEL_EXPR_UNARY(X)
#undef X
#define X(name, expr, comm)           \
  case op_##name##_s: {               \
    const double a = *--sp;           \
    const double b = acc;             \
    acc = expr;                       \
    break;                            \
  }                                   \
  case op_##name##_c: {               \
    const double a = acc;             \
    const double b = in.value;        \
    acc = expr;                       \
    break;                            \
  }                                   \
  case op_##name##_v: {               \
    const double a = acc;             \
    const double b = values[in.slot]; \
    acc = expr;                       \
    break;                            \
  }
        DOPPEL_EXPR_BINARY(X)
#undef X
    }
  }
  return acc;
}

void expression::eval_many(const double* values, std::size_t stride, std::size_t count, double* out) const {
  for (std::size_t i = 0; i < count; ++i) out[i] = eval(values + i * stride);
}

std::string expression::disassemble() const {
  std::string out;
  for (const instruction& in : tape_) {
    std::string name;
    int operand = 0;  // 1: constant, 2: slot
    switch (in.op) {
      case op_load_c:
        name = "load";
        operand = 1;
        break;
      case op_load_v:
        name = "load";
        operand = 2;
        break;
      case op_rsub_c:
        name = "rsub";
        operand = 1;
        break;
      case op_rsub_v:
        name = "rsub";
        operand = 2;
        break;
      case op_rdiv_c:
        name = "rdiv";
        operand = 1;
        break;
      case op_rdiv_v:
        name = "rdiv";
        operand = 2;
        break;
      case op_select: name = "select"; break;
      case op_clamp: name = "clamp"; break;
      default:
        if (in.op >= op_add_s) {
          name = k_binary_names[(in.op - op_add_s) / 3];
          operand = (in.op - op_add_s) % 3;
          if (operand == 0) name += "_s";
        } else {
          name = k_unary_names[in.op - op_neg];
        }
    }
    char buf[64];
    if (operand == 1) {
      std::snprintf(buf, sizeof buf, "_c %.17g", in.value);
      name += buf;
    } else if (operand == 2) {
      name += "_v " + std::to_string(in.slot);
    }
    out += name + "\n";
  }
  return out;
}

}  // namespace doppel::sim
