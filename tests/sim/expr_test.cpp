#include "sim/expr.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using doppel::status_code;
using doppel::sim::expression;
using doppel::sim::symbols;

symbols xyz() {
  symbols s;
  for (const char* n : {"x", "y", "z", "motor.power", "pressure", "speed"}) EXPECT_TRUE(s.add(n).is_ok()) << n;
  return s;
}

// x = 1.5, y = -2, z = 0.25, motor.power = 4000, pressure = 3, speed = 1450.
const double k_values[] = {1.5, -2, 0.25, 4000, 3, 1450};

double eval(const std::string& text, const double* values = k_values) {
  auto e = expression::compile(text, xyz());
  EXPECT_TRUE(e.is_ok()) << text << ": " << e.error().message();
  if (!e) return std::nan("");
  return e->eval(values);
}

std::string error_of(const std::string& text) {
  auto e = expression::compile(text, xyz());
  EXPECT_FALSE(e.is_ok()) << text;
  if (e) return "";
  EXPECT_EQ(e.error().code(), status_code::invalid_argument);
  return e.error().message();
}

bool same(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return std::memcmp(&a, &b, sizeof a) == 0;
}

TEST(Expr, PrecedenceAndAssociativity) {
  EXPECT_EQ(eval("-2^2"), -4);
  EXPECT_EQ(eval("2^3^2"), 512);
  EXPECT_EQ(eval("2^-1"), 0.5);
  EXPECT_EQ(eval("1 - 2 - 3"), -4);
  EXPECT_EQ(eval("8 / 4 / 2"), 1);
  EXPECT_EQ(eval("2 * 3 % 4"), 2);
  EXPECT_EQ(eval("2 + 3 * 4"), 14);
  EXPECT_EQ(eval("(2 + 3) * 4"), 20);
  EXPECT_EQ(eval("1 < 2 == 1"), 1);
  EXPECT_EQ(eval("3 > 2 > 1"), 0);  // (3 > 2) > 1
  EXPECT_EQ(eval("0 || 1 && 0"), 0);
  EXPECT_EQ(eval("1 || 0 && 0"), 1);
  EXPECT_EQ(eval("1 ? 2 : 3 ? 4 : 5"), 2);
  EXPECT_EQ(eval("0 ? 2 : 3 ? 4 : 5"), 4);
  EXPECT_EQ(eval("0 ? 2 : 0 ? 4 : 5"), 5);
  EXPECT_EQ(eval("1 ? 0 ? 6 : 7 : 8"), 7);
  EXPECT_EQ(eval("!0 + !3"), 1);
  EXPECT_EQ(eval("- -x"), 1.5);
  EXPECT_EQ(eval("+x"), 1.5);
  EXPECT_EQ(eval("-x^2"), -2.25);
  EXPECT_EQ(eval("1 + 2 < 4 && 2 * 2 == 4"), 1);
  EXPECT_EQ(eval("x <= 1.5"), 1);
  EXPECT_EQ(eval("x >= 1.6"), 0);
  EXPECT_EQ(eval("x != 1.5"), 0);
  EXPECT_EQ(eval(".5 + 1e-3 + 2.5E2 + 1."), 251.501);
}

TEST(Expr, VariablesAndConstants) {
  EXPECT_EQ(eval("x"), 1.5);
  EXPECT_EQ(eval("motor.power / 1000"), 4);
  EXPECT_EQ(eval("pressure * speed"), 4350);
  EXPECT_EQ(eval("pi"), M_PI);
  EXPECT_EQ(eval("e"), M_E);
  EXPECT_EQ(eval("2 * pi * x"), 2 * M_PI * 1.5);
  EXPECT_EQ(eval("y - x"), -3.5);
  EXPECT_EQ(eval("1 - x"), -0.5);  // a constant left of a name
  EXPECT_EQ(eval("1 / (x + 0.5)"), 0.5);
  EXPECT_EQ(eval("2 < x * 2"), 1);  // mirrored comparison
  EXPECT_EQ(eval("2 > x * 2"), 0);
  EXPECT_EQ(eval("2 % (x + 0.5)"), 0);
}

TEST(Expr, FunctionsMatchCmath) {
  const double a = 0.3, b = -1.7, c = 2.2;
  double v[] = {a, b, c, 0, 0, 0};
  auto at = [&](const std::string& t) { return eval(t, v); };
  EXPECT_EQ(at("sin(x)"), std::sin(a));
  EXPECT_EQ(at("cos(x)"), std::cos(a));
  EXPECT_EQ(at("tan(x)"), std::tan(a));
  EXPECT_EQ(at("asin(x)"), std::asin(a));
  EXPECT_EQ(at("acos(x)"), std::acos(a));
  EXPECT_EQ(at("atan(y)"), std::atan(b));
  EXPECT_EQ(at("atan2(y, z)"), std::atan2(b, c));
  EXPECT_EQ(at("sinh(y)"), std::sinh(b));
  EXPECT_EQ(at("cosh(y)"), std::cosh(b));
  EXPECT_EQ(at("tanh(y)"), std::tanh(b));
  EXPECT_EQ(at("exp(z)"), std::exp(c));
  EXPECT_EQ(at("log(z)"), std::log(c));
  EXPECT_EQ(at("log10(z)"), std::log10(c));
  EXPECT_EQ(at("sqrt(z)"), std::sqrt(c));
  EXPECT_EQ(at("abs(y)"), 1.7);
  EXPECT_EQ(at("floor(y)"), -2);
  EXPECT_EQ(at("ceil(y)"), -1);
  EXPECT_EQ(at("sign(y)"), -1);
  EXPECT_EQ(at("sign(z)"), 1);
  EXPECT_EQ(at("sign(0)"), 0);
  EXPECT_TRUE(std::isnan(at("sign(0/0)")));
  EXPECT_EQ(at("pow(z, x)"), std::pow(c, a));
  EXPECT_EQ(at("z ^ x"), std::pow(c, a));
  EXPECT_EQ(at("z ^ 2"), c * c);
  EXPECT_EQ(at("hypot(y, z)"), std::hypot(b, c));
  EXPECT_EQ(at("min(x, y)"), b);
  EXPECT_EQ(at("min(x, y, z, -5, 3)"), -5);
  EXPECT_EQ(at("max(x, y)"), a);
  EXPECT_EQ(at("max(x, y, z)"), c);
  EXPECT_EQ(at("clamp(z, 0, 1)"), 1);
  EXPECT_EQ(at("clamp(y, 0, 1)"), 0);
  EXPECT_EQ(at("clamp(x, 0, 1)"), a);
  EXPECT_EQ(at("if(x > 0, 10, 20)"), 10);
  EXPECT_EQ(at("if(y > 0, 10, 20)"), 20);
  EXPECT_EQ(at("x > 0 ? z : y"), c);
  EXPECT_EQ(at("z % 1"), std::fmod(c, 1.0));
  EXPECT_EQ(at("y % 1"), std::fmod(b, 1.0));
}

TEST(Expr, IeeeSemantics) {
  EXPECT_EQ(eval("1 / 0"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(eval("-1 / 0"), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(eval("x / (y + 2)"), std::numeric_limits<double>::infinity());  // at run time too
  EXPECT_TRUE(std::isnan(eval("sqrt(-1)")));
  EXPECT_TRUE(std::isnan(eval("sqrt(y)")));
  EXPECT_TRUE(std::isnan(eval("0 / 0")));
  EXPECT_TRUE(std::isnan(eval("x % 0")));
  EXPECT_TRUE(std::isnan(eval("log(y)")));
  double nan[] = {std::nan(""), 1, 2, 0, 0, 0};
  EXPECT_TRUE(std::isnan(eval("x + 1", nan)));
  EXPECT_TRUE(std::isnan(eval("sin(x) * y", nan)));
  EXPECT_TRUE(std::isnan(eval("min(y, x)", nan)));
  EXPECT_TRUE(std::isnan(eval("max(x, y)", nan)));
  EXPECT_TRUE(std::isnan(eval("clamp(x, 0, 1)", nan)));
  EXPECT_EQ(eval("x == x", nan), 0);
  EXPECT_EQ(eval("x != x", nan), 1);
  EXPECT_EQ(eval("x < 1 || x >= 1", nan), 0);
  EXPECT_EQ(eval("x ? 5 : 6", nan), 5);  // NaN is non-zero, so true
  EXPECT_EQ(eval("!x", nan), 0);
}

TEST(Expr, ConstantFolding) {
  symbols s = xyz();
  ASSERT_TRUE(s.add("a").is_ok());
  ASSERT_TRUE(s.add("b").is_ok());
  auto folded = expression::compile("2*3*x", s);
  auto plain = expression::compile("a*b*x", s);
  ASSERT_TRUE(folded && plain);
  EXPECT_LT(folded->tape_size(), plain->tape_size()) << folded->disassemble() << "--\n" << plain->disassemble();
  auto whole = expression::compile("2 * pi * 3 + sqrt(16) - max(1, 2, 3) ^ 2", s);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->tape_size(), 1u);
  EXPECT_EQ(whole->eval(k_values), 2 * M_PI * 3 + 4 - 9);
  auto pi2x = expression::compile("2*pi*x", s);
  ASSERT_TRUE(pi2x);
  EXPECT_EQ(pi2x->tape_size(), 2u) << pi2x->disassemble();  // load x; mul by 2*pi
  // A constant condition drops the branch not taken, and its names from uses().
  auto branch = expression::compile("1 < 2 ? x * y : z + speed", s);
  ASSERT_TRUE(branch);
  EXPECT_EQ(branch->uses(), (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(branch->eval(k_values), -3);
  auto other = expression::compile("if(0, x * y, z + speed)", s);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->uses(), (std::vector<std::size_t>{2, 5}));
  EXPECT_EQ(other->eval(k_values), 1450.25);
}

TEST(Expr, UsesSourceAndBatch) {
  auto e = expression::compile("speed * x + x / pressure - motor.power", xyz());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->uses(), (std::vector<std::size_t>{0, 3, 4, 5}));
  EXPECT_EQ(e->source(), "speed * x + x / pressure - motor.power");
  auto again = expression::compile(e->source(), xyz());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->eval(k_values), e->eval(k_values));
  std::vector<double> rows = {1, 0, 0, 0, 1, 2, 2, 0, 0, 0, 2, 3};
  double out[2];
  e->eval_many(rows.data(), 6, 2, out);
  EXPECT_EQ(out[0], 2 * 1 + 1.0 / 1);
  EXPECT_EQ(out[1], 3 * 2 + 2.0 / 2);
}

TEST(Expr, Symbols) {
  symbols s;
  EXPECT_EQ(*s.add("a"), 0u);
  EXPECT_EQ(*s.add("motor.power"), 1u);
  EXPECT_EQ(*s.add("_x9"), 2u);
  EXPECT_EQ(s.add("a").error().code(), status_code::already_exists);
  EXPECT_EQ(s.add("pi").error().code(), status_code::invalid_argument);
  EXPECT_EQ(s.add("e").error().code(), status_code::invalid_argument);
  EXPECT_EQ(s.add("sin").error().code(), status_code::invalid_argument);
  EXPECT_EQ(s.add("9a").error().code(), status_code::invalid_argument);
  EXPECT_EQ(s.add(".a").error().code(), status_code::invalid_argument);
  EXPECT_EQ(s.add("a-b").error().code(), status_code::invalid_argument);
  EXPECT_EQ(s.add("").error().code(), status_code::invalid_argument);
  EXPECT_EQ(s.find("motor.power"), 1u);
  EXPECT_FALSE(s.find("motor"));
  EXPECT_EQ(s.names(), (std::vector<std::string>{"a", "motor.power", "_x9"}));
}

TEST(Expr, ErrorMessages) {
  EXPECT_EQ(error_of("x + presure"),
            "column 5: unknown name \"presure\"; known: pressure, speed, x, y, z, motor.power");
  EXPECT_EQ(error_of("(1 + x"), "column 7: expected \")\" to close the \"(\" at column 1, found the end");
  EXPECT_EQ(error_of("(1 + x]"), "column 7: expected \")\" to close the \"(\" at column 1, found \"]\"");
  EXPECT_EQ(error_of("1 + max(2)"), "column 5: max needs at least 2 arguments");
  EXPECT_EQ(error_of("min()"), "column 1: min needs at least 2 arguments");
  EXPECT_EQ(error_of("atan2(1, 2, 3)"), "column 1: atan2 takes 2 arguments, got 3");
  EXPECT_EQ(error_of("x * sin()"), "column 5: sin takes 1 argument, got 0");
  EXPECT_EQ(error_of("clamp(x, 1)"), "column 1: clamp takes 3 arguments, got 2");
  EXPECT_EQ(error_of("max(x, 1"), "column 9: expected \")\" to close the \"(\" at column 4, found the end");
  EXPECT_EQ(error_of("1 + 2 * * 3"), "column 9: unexpected \"*\"");
  EXPECT_EQ(error_of("1 +"), "column 4: unexpected end of the expression");
  EXPECT_EQ(error_of("x y"), "column 3: unexpected \"y\"");
  EXPECT_EQ(error_of("x = 1"), "column 3: unexpected \"=\"");
  EXPECT_EQ(error_of("x @ 1"), "column 3: unexpected \"@\"");
  EXPECT_EQ(error_of("x \xff"), "column 3: unexpected \"\\xff\"");
  EXPECT_EQ(error_of(""), "the expression is empty");
  EXPECT_EQ(error_of("  \t\n"), "the expression is empty");
  EXPECT_EQ(error_of("1 ? 2"), "column 6: expected \":\" for the \"?\" at column 3, found the end");
  EXPECT_EQ(error_of("foo(1)"),
            "column 1: unknown function \"foo\"; functions: sin cos tan asin acos atan atan2 "
            "sinh cosh tanh exp log log10 sqrt abs min max pow floor ceil sign clamp hypot if");
  EXPECT_EQ(error_of("2 * sin"), "column 5: sin is a function: write sin(...)");
  EXPECT_EQ(error_of("1e"), "column 1: malformed number \"1e\" (an exponent needs digits)");
  EXPECT_EQ(error_of("x + 1e400"), "column 5: the number \"1e400\" is out of range for a double");
  EXPECT_EQ(error_of("()"), "column 2: unexpected \")\"");
  // Unknown names with no symbols at all, and more than ten of them.
  auto none = expression::compile("q", symbols{});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message(), "column 1: unknown name \"q\"; no names are defined");
  symbols many;
  for (int i = 0; i < 15; ++i) ASSERT_TRUE(many.add("v" + std::to_string(i)).is_ok());
  auto lots = expression::compile("v99", many);
  ASSERT_FALSE(lots);
  EXPECT_NE(lots.error().message().find(", ... (15 in all)"), std::string::npos) << lots.error().message();
}

TEST(Expr, NestingAndLengthLimits) {
  auto timed = [](const std::string& text) {
    auto t0 = std::chrono::steady_clock::now();
    auto e = expression::compile(text, xyz());
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(s, 1.0) << text.size();
    return e;
  };
  // Too long for the source limit.
  auto deep_paren = timed(std::string(100000, '(') + "1" + std::string(100000, ')'));
  ASSERT_FALSE(deep_paren);
  EXPECT_EQ(deep_paren.error().message(), "the expression is 200001 bytes long; the limit is 65536");
  auto deep_minus = timed(std::string(100000, '-') + "1");
  ASSERT_FALSE(deep_minus);
  EXPECT_NE(deep_minus.error().message().find("the limit is 65536"), std::string::npos);
  // Within the length limit, refused by the nesting limit.
  auto parens = timed(std::string(60000, '(') + "1");
  ASSERT_FALSE(parens);
  EXPECT_EQ(parens.error().message(), "column 129: nested deeper than 128 levels");
  auto minus = timed(std::string(60000, '-') + "x");
  ASSERT_FALSE(minus);
  EXPECT_EQ(minus.error().message(), "column 129: nested deeper than 128 levels");
  std::string pows;
  for (int i = 0; i < 200; ++i) pows += "x^";
  pows += "x";
  auto right = timed(pows);
  ASSERT_FALSE(right);
  EXPECT_NE(right.error().message().find("nested deeper than 128 levels"), std::string::npos);
  std::string calls;
  for (int i = 0; i < 200; ++i) calls += "sin(";
  auto nested_calls = timed(calls + "x" + std::string(200, ')'));
  ASSERT_FALSE(nested_calls);
  EXPECT_NE(nested_calls.error().message().find("nested deeper than 128 levels"), std::string::npos);
  // 128 levels are fine, and so is a long flat chain.
  auto ok = timed(std::string(128, '(') + "x" + std::string(128, ')'));
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->eval(k_values), 1.5);
  auto ok_minus = timed(std::string(128, '-') + "x");
  ASSERT_TRUE(ok_minus) << ok_minus.error().message();
  EXPECT_EQ(ok_minus->eval(k_values), 1.5);
  std::string flat = "x";
  while (flat.size() < 60000) flat += "+x";
  auto chain = timed(flat);
  ASSERT_TRUE(chain) << chain.error().message();
  EXPECT_LE(chain->tape_size(), flat.size());
  EXPECT_LE(chain->stack_depth(), 2u);
  EXPECT_EQ(chain->eval(k_values), 1.5 * static_cast<double>((flat.size() + 1) / 2));
  // Deep right-leaning nesting that needs more stack than eval() has is refused, not run.
  std::string ternary;
  for (int i = 0; i < 127; ++i) ternary += "x*y ? y*z : ";
  ternary += "x";
  auto t = timed(ternary);
  if (t) {
    EXPECT_LE(t->stack_depth(), doppel::sim::k_expr_max_stack);
  } else {
    EXPECT_NE(t.error().message().find("operand stack"), std::string::npos) << t.error().message();
  }
}

// Random expression trees, printed fully parenthesized, compiled, and evaluated both through the
// tape and directly here: the results must agree bit for bit (or both be NaN).
struct node {
  int kind = 0;  // 0 constant, 1 variable, 2 unary, 3 binary, 4 ternary, 5 clamp, 6 min/max n-ary
  double value = 0;
  int index = 0;  // variable slot, or which operator
  std::vector<std::unique_ptr<node>> kids;
};

const char* const k_unary[] = {"-",    "!",    "+",   "sin", "cos",   "tan",  "asin", "acos",  "atan", "sinh",
                               "cosh", "tanh", "exp", "log", "log10", "sqrt", "abs",  "floor", "ceil", "sign"};
const char* const k_binary[] = {
    "+", "-", "*", "/", "%", "^", "<", "<=", ">", ">=", "==", "!=", "&&", "||", "atan2", "hypot", "pow", "min", "max"};

double ref_min(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::nan("");
  return b < a ? b : a;
}
double ref_max(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::nan("");
  return b > a ? b : a;
}

double reference(const node& n, const double* v) {
  switch (n.kind) {
    case 0: return n.value;
    case 1: return v[n.index];
    case 2: {
      double a = reference(*n.kids[0], v);
      switch (n.index) {
        case 0: return -a;
        case 1: return a == 0 ? 1 : 0;
        case 2: return a;
        case 3: return std::sin(a);
        case 4: return std::cos(a);
        case 5: return std::tan(a);
        case 6: return std::asin(a);
        case 7: return std::acos(a);
        case 8: return std::atan(a);
        case 9: return std::sinh(a);
        case 10: return std::cosh(a);
        case 11: return std::tanh(a);
        case 12: return std::exp(a);
        case 13: return std::log(a);
        case 14: return std::log10(a);
        case 15: return std::sqrt(a);
        case 16: return std::fabs(a);
        case 17: return std::floor(a);
        case 18: return std::ceil(a);
        default: return std::isnan(a) ? a : (a > 0 ? 1 : (a < 0 ? -1 : a));
      }
    }
    case 3: {
      double a = reference(*n.kids[0], v), b = reference(*n.kids[1], v);
      switch (n.index) {
        case 0: return a + b;
        case 1: return a - b;
        case 2: return a * b;
        case 3: return a / b;
        case 4: return std::fmod(a, b);
        case 5: return std::pow(a, b);
        case 6: return a < b;
        case 7: return a <= b;
        case 8: return a > b;
        case 9: return a >= b;
        case 10: return a == b;
        case 11: return a != b;
        case 12: return a != 0 && b != 0;
        case 13: return a != 0 || b != 0;
        case 14: return std::atan2(a, b);
        case 15: return std::hypot(a, b);
        case 16: return std::pow(a, b);
        case 17: return ref_min(a, b);
        default: return ref_max(a, b);
      }
    }
    case 4: {
      double c = reference(*n.kids[0], v), a = reference(*n.kids[1], v), b = reference(*n.kids[2], v);
      return c != 0 ? a : b;
    }
    case 5: {
      double x = reference(*n.kids[0], v), lo = reference(*n.kids[1], v), hi = reference(*n.kids[2], v);
      if (x < lo) return lo;
      if (x > hi) return hi;
      return x;
    }
    default: {
      double r = reference(*n.kids[0], v);
      for (std::size_t i = 1; i < n.kids.size(); ++i) {
        double b = reference(*n.kids[i], v);
        r = n.index == 0 ? ref_min(r, b) : ref_max(r, b);
      }
      return r;
    }
  }
}

std::string print(const node& n) {
  char buf[40];
  switch (n.kind) {
    case 0: std::snprintf(buf, sizeof buf, "%.17g", n.value); return n.value < 0 ? std::string("(") + buf + ")" : buf;
    case 1: return "v" + std::to_string(n.index);
    case 2: {
      std::string op = k_unary[n.index];
      if (n.index < 3) return "(" + op + print(*n.kids[0]) + ")";
      return op + "(" + print(*n.kids[0]) + ")";
    }
    case 3: {
      std::string op = k_binary[n.index];
      if (n.index >= 14) return op + "(" + print(*n.kids[0]) + ", " + print(*n.kids[1]) + ")";
      return "(" + print(*n.kids[0]) + " " + op + " " + print(*n.kids[1]) + ")";
    }
    case 4:
      if (n.value > 0) return "if(" + print(*n.kids[0]) + ", " + print(*n.kids[1]) + ", " + print(*n.kids[2]) + ")";
      return "(" + print(*n.kids[0]) + " ? " + print(*n.kids[1]) + " : " + print(*n.kids[2]) + ")";
    case 5: return "clamp(" + print(*n.kids[0]) + ", " + print(*n.kids[1]) + ", " + print(*n.kids[2]) + ")";
    default: {
      std::string s = n.index == 0 ? "min(" : "max(";
      for (std::size_t i = 0; i < n.kids.size(); ++i) s += (i ? ", " : "") + print(*n.kids[i]);
      return s + ")";
    }
  }
}

std::unique_ptr<node> random_tree(std::mt19937_64& rng, int depth) {
  auto n = std::make_unique<node>();
  std::uniform_int_distribution<int> pick(0, 99);
  int p = pick(rng);
  if (depth <= 0 || p < 30) {
    if (pick(rng) < 40) {
      static const double constants[] = {0, 1, 2, 0.5, -1, 3, 1e-3, 2.5, -0.0, 10, 0.1, 7};
      n->value = constants[std::uniform_int_distribution<int>(0, 11)(rng)];
    } else {
      n->kind = 1;
      n->index = std::uniform_int_distribution<int>(0, 3)(rng);
    }
    return n;
  }
  int arity = 0;
  if (p < 50) {
    n->kind = 2, n->index = std::uniform_int_distribution<int>(0, 19)(rng), arity = 1;
  } else if (p < 85) {
    n->kind = 3, n->index = std::uniform_int_distribution<int>(0, 18)(rng), arity = 2;
  } else if (p < 91) {
    n->kind = 4, n->value = pick(rng) < 50 ? 1 : 0, arity = 3;
  } else if (p < 95) {
    n->kind = 5, arity = 3;
  } else {
    n->kind = 6, n->index = pick(rng) % 2, arity = 2 + pick(rng) % 4;
  }
  for (int i = 0; i < arity; ++i) n->kids.push_back(random_tree(rng, depth - 1));
  return n;
}

TEST(Expr, RandomTreesMatchDirectEvaluation) {
  symbols s;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(s.add("v" + std::to_string(i)).is_ok());
  std::mt19937_64 rng(20261203);
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<std::vector<double>> rows = {
      {0.5, -1.25, 3, 0}, {0, -0.0, 1, -1}, {2, 10, -7.5, 0.001}, {inf, -inf, std::nan(""), 1}, {1e300, -1e-300, 4, 2}};
  int compared = 0;
  for (int t = 0; t < 4000; ++t) {
    auto tree = random_tree(rng, 1 + t % 7);
    std::string text = print(*tree);
    auto e = expression::compile(text, s);
    ASSERT_TRUE(e) << text << ": " << e.error().message();
    EXPECT_LE(e->tape_size(), text.size());
    for (const auto& row : rows) {
      double want = reference(*tree, row.data()), got = e->eval(row.data());
      ASSERT_TRUE(same(want, got)) << text << "\n  v = " << row[0] << ", " << row[1] << ", " << row[2] << ", " << row[3]
                                   << "\n  want " << want << ", got " << got << "\n"
                                   << e->disassemble();
      ++compared;
    }
  }
  EXPECT_EQ(compared, 4000 * 5);
}

}  // namespace
