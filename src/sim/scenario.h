// What-if scenarios: the live runs of a set of twins (live.h) forked where they stand, changed
// (parameters, inputs, injected faults as parameter changes, a schedule of them), run faster
// than real time for a horizon, and kept as a named result with its series; optionally a sweep
// of one input or parameter over a grid, run in parallel and ranked by a declared objective and
// constraints. A scenario never touches the live twins: it copies their runs' values.
//
// Callers: the API (POST /scenarios and friends, api/routes/scenarios.cpp) parses a request
// (parse_scenario_request), forks the twins (fork_twins), runs it (run_scenario) and keeps it
// (scenario_store); compare() and compare_with_reality() answer /scenarios/{id}/compare.
// Threading: run_scenario runs variants on `threads` threads of its own and returns when all
// are done; scenario_store is safe for concurrent use; the rest are pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "sim/live.h"

namespace doppel::sim {

struct scenario_change {
  double at = 0;                                    // seconds after the fork
  std::string twin;                                 // empty: every twin of the scenario
  std::vector<std::pair<std::string, double>> set;  // inputs or parameters, from `at` on
};

struct scenario_spec {
  std::string id;  // letters, digits, '.', '_', '-'; 1-64
  std::string description;
  double horizon = 0, step = 0;  // seconds
  // From the start, for every twin whose equations have it (a fault is a parameter changed:
  // a bearing's friction, a pipe's loss).
  std::vector<std::pair<std::string, double>> parameters;
  std::vector<scenario_change> schedule;  // in time order
  std::string sweep;                      // an input or parameter swept over sweep_values; empty: none
  std::vector<double> sweep_values;
  // Over the aggregates (mean_<s>, min_<s>, max_<s>, final_<s>, total_<s> of each series s, see
  // scenario_variant): an expression to minimize (or maximize), and constraints that must hold
  // (non-zero). Empty: none.
  std::string objective;
  bool maximize = false;
  std::vector<std::string> constraints;
};

// Reads a POST /scenarios body (docs/simulation.md): {"id", "description", "horizon": "1h" | s,
// "step": "1m" | s, "parameters": {...}, "schedule": [{"at": "10m" | s, "twin"?, "set": {...}}],
// "sweep": {"name", "values": [...] | "from", "to", "count"}, "objective": {"minimize" |
// "maximize": EXPR}, "constraints": [EXPR]}; the twins ("twins": [...] or "query") are the
// caller's. invalid_argument naming the key and how to fix it; the bounds: at most 100,000
// points per series and 1,000 sweep values.
result<scenario_spec> parse_scenario_request(const nlohmann::json& body);

// One twin as a scenario starts it.
struct scenario_twin {
  std::string twin;
  std::shared_ptr<const live_binding> binding;
  std::int64_t fork_ns = 0;    // where it starts (its live run's time, or now)
  std::vector<double> values;  // every slot of its equations (equation_model::slots())
  bool from_live = false;      // forked from its live run; else from its start values
};

// The twins' starting points: a twin with a live run on `board` where that run stands, another
// from its equations' start values, its properties and latest telemetry, at now_ns. A twin
// whose model has no binding is left out (its id goes to `skipped`).
std::vector<scenario_twin> fork_twins(const twin::twin_graph& graph, const live_board& board,
                                      const std::vector<std::shared_ptr<const live_binding>>& bindings,
                                      const std::vector<std::string>& twins, std::int64_t now_ns,
                                      std::vector<std::string>& skipped);

// A series of one twin: the binding's output `name` at fork + k * step, k = 0..points-1.
struct scenario_series {
  std::string twin, name;
  std::vector<double> values;
};

struct scenario_variant {
  double sweep_value = 0;  // when the scenario sweeps
  std::vector<scenario_series> series;
  // Per series name s, over the twins: mean_s (mean over time of the sum over twins), min_s and
  // max_s (over twins and time), final_s (sum of the last values), total_s (sum of the time
  // integrals, trapezoidal, in the unit times seconds).
  std::map<std::string, double> aggregates;
  double objective = 0;               // when the scenario has one
  std::vector<std::string> violated;  // the constraints that did not hold
  int rank = 0;                       // 1: best (fewest violations, then the objective); failed last
  std::string error;                  // the run failed (the solver gave up): why
};

struct scenario_result {
  scenario_spec spec;
  std::int64_t created_ns = 0;
  struct twin_info {
    std::string twin, equations;
    std::int64_t fork_ns = 0;
    bool from_live = false;
  };
  std::vector<twin_info> twins;
  std::vector<std::string> skipped;        // selected, but without a live binding
  std::vector<scenario_variant> variants;  // one, or one per sweep value in its order
  double seconds = 0;                      // wall time the runs took
};

// Runs `spec` for `twins` (at least one) on up to `threads` threads. invalid_argument for a name
// in the spec that no twin's equations have as an input or parameter, or an objective or
// constraint that does not compile (naming the aggregates it may use); a run the solver cannot
// finish is not an error of the whole: its variant carries the error and ranks last.
result<scenario_result> run_scenario(scenario_spec spec, std::vector<scenario_twin> twins, int threads,
                                     std::int64_t now_ns);

// The result as the API shows it: without series (a summary), or with every series.
nlohmann::json to_json(const scenario_result& r, bool series);
// The result back from to_json(r, true) (the store's files); invalid_argument when it is not one.
result<scenario_result> from_json(const nlohmann::json& j);

// The variant a comparison uses: the one ranked first.
const scenario_variant& best_variant(const scenario_result& r);

// {"scenario", "with", "series": [{"twin", "name", "points", "meanDifference", "rmsDifference",
// "maxAbsDifference"}], "aggregates": {name: {"scenario", "with", "difference"}}, "objective"?}:
// a's best variant minus b's, per series both have, over the points both have.
nlohmann::json compare(const scenario_result& a, const scenario_result& b);

// The scenario against what happened: each series against the twin's measurement of it (the
// binding's measured telemetry, scaled) or, for one no sensor measures, its live virtual sensor
// (sim.<name>), taking the last point at or before each scenario time; times still in the
// future (after now_ns) are counted as pending.
nlohmann::json compare_with_reality(const scenario_result& a,
                                    const std::vector<std::shared_ptr<const live_binding>>& bindings,
                                    const history_reader& read, std::int64_t now_ns);

// Scenarios kept as files DIR/<id>.json (written whole, synced, then renamed in place).
class scenario_store {
 public:
  // Reads every scenario in `dir` (made when missing); io_error when it cannot.
  static result<std::unique_ptr<scenario_store>> open(const std::filesystem::path& dir);
  // already_exists when the id is taken; io_error when the file cannot be written.
  status put(std::shared_ptr<const scenario_result> r);
  std::shared_ptr<const scenario_result> get(const std::string& id) const;
  std::vector<std::shared_ptr<const scenario_result>> list() const;  // by id
  // not_found when there is none.
  status remove(const std::string& id);

 private:
  explicit scenario_store(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const scenario_result>> scenarios_;  // guarded by mu_
};

}  // namespace doppel::sim
