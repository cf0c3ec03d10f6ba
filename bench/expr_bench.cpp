// Right-hand-side evaluations per second of the expression language (compiled tape, eval()) and,
// as the anchor in the same run, of the same functions written in C++ and compiled with the same
// flags, called through a function pointer the optimizer cannot see through. Realistic RHS of a
// pump twin: a motor's thermal model, a pump curve, and a conditional (a check valve's flow).
// Both sides sum their results over varying inputs; the sums must agree, and are printed.
// Absolute rates on a shared machine are noise; the ratio is the figure.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "sim/expr.h"

namespace {

using clock_type = std::chrono::steady_clock;

// Slots: P eta Tw Ta Rth Cth H0 Q Qmax n n0 dp k
enum slot { P, eta, Tw, Ta, Rth, Cth, H0, Q, Qmax, n, n0, dp, k, slots };
const char* const k_names[] = {"P", "eta", "Tw", "Ta", "Rth", "Cth", "H0", "Q", "Qmax", "n", "n0", "dp", "k"};

double thermal(const double* v) { return (v[P] * (1 - v[eta]) - (v[Tw] - v[Ta]) / v[Rth]) / v[Cth]; }
double pump_curve(const double* v) {
  double q = v[Q] / v[Qmax], s = v[n] / v[n0];
  return v[H0] * (1 - q * q) * (s * s);
}
double valve(const double* v) { return v[dp] > 0 ? v[k] * std::sqrt(v[dp]) : -0.01 * v[k] * std::sqrt(-v[dp]); }

struct rhs {
  const char* label;
  const char* text;
  double (*native)(const double*);
};

// The optimizer must not inline or hoist the native function: call it through this.
double (*volatile g_native)(const double*) = nullptr;

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 0.5;  // per measurement
  doppel::sim::symbols names;
  for (const char* name : k_names) {
    if (!names.add(name)) return 1;
  }
  const rhs cases[] = {
      {"motor thermal dTw/dt", "(P * (1 - eta) - (Tw - Ta) / Rth) / Cth", thermal},
      {"pump curve head", "H0 * (1 - (Q/Qmax)^2) * (n/n0)^2", pump_curve},
      {"check valve flow (?:)", "dp > 0 ? k * sqrt(dp) : -0.01 * k * sqrt(-dp)", valve},
  };
  // 1024 input rows, varied so neither side can cache a result.
  constexpr std::size_t rows = 1024;
  std::vector<double> inputs(rows * slots);
  for (std::size_t r = 0; r < rows; ++r) {
    double* v = &inputs[r * slots];
    double t = static_cast<double>(r) / rows;
    v[P] = 4000 + 1000 * t, v[eta] = 0.9 - 0.05 * t, v[Tw] = 40 + 30 * t, v[Ta] = 20, v[Rth] = 0.05, v[Cth] = 2e4;
    v[H0] = 32, v[Q] = 100 * t, v[Qmax] = 120, v[n] = 1450 - 200 * t, v[n0] = 1450;
    v[dp] = 2 * t - 0.5, v[k] = 0.8;
  }
  std::printf("\nExpression language: right-hand-side evaluations per second, tape vs the same C++ (%zu input rows)\n",
              rows);
  std::printf("| %-24s | %5s | %14s | %14s | %7s | %22s |\n", "rhs", "tape", "expr evals/s", "C++ evals/s", "ratio",
              "sums (expr = C++)");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(26, '-').c_str(), std::string(7, '-').c_str(),
              std::string(16, '-').c_str(), std::string(16, '-').c_str(), std::string(9, '-').c_str(),
              std::string(24, '-').c_str());
  bool all_equal = true;
  for (const rhs& c : cases) {
    auto e = doppel::sim::expression::compile(c.text, names);
    if (!e) {
      std::fprintf(stderr, "%s: %s\n", c.label, e.error().message().c_str());
      return 1;
    }
    g_native = c.native;
    // Each measurement: whole passes over the rows until `seconds` have gone by.
    auto measure = [&](auto&& one, double& sum) {
      std::size_t evals = 0;
      sum = 0;
      auto t0 = clock_type::now();
      double elapsed = 0;
      do {
        for (std::size_t p = 0; p < 64; ++p) {
          for (std::size_t r = 0; r < rows; ++r) sum += one(&inputs[r * slots]);
        }
        evals += 64 * rows;
        elapsed = std::chrono::duration<double>(clock_type::now() - t0).count();
      } while (elapsed < seconds);
      return static_cast<double>(evals) / elapsed;
    };
    // Same number of passes on both sides for the checked sums.
    double expr_check = 0, native_check = 0;
    for (std::size_t r = 0; r < rows; ++r) {
      expr_check += e->eval(&inputs[r * slots]);
      native_check += g_native(&inputs[r * slots]);
    }
    double expr_sum = 0, native_sum = 0;
    double expr_rate = measure([&](const double* v) { return e->eval(v); }, expr_sum);
    double native_rate = measure([](const double* v) { return g_native(v); }, native_sum);
    bool equal = expr_check == native_check;
    all_equal = all_equal && equal;
    char sums[64];
    std::snprintf(sums, sizeof sums, "%.6g %s", expr_check, equal ? "(equal)" : "(DIFFER)");
    std::printf("| %-24s | %5zu | %14.3g | %14.3g | %6.2fx | %22s |\n", c.label, e->tape_size(), expr_rate, native_rate,
                expr_rate / native_rate, sums);
    if (!equal) std::fprintf(stderr, "%s: expr sum %.17g, C++ sum %.17g\n", c.label, expr_check, native_check);
    if (expr_sum == 0.123456789 || native_sum == 0.123456789) std::printf("\n");  // keeps the sums alive
  }
  std::printf("ratio = expression evals/s / C++ evals/s (1.00x would be as fast as compiled C++)\n");
  return all_equal ? 0 : 1;
}
