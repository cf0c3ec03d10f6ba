// A system of simulation components (FMUs, co-simulation or model exchange, and equation
// models) whose outputs feed each other's inputs, run by a master algorithm at a fixed
// communication step: `doppel sim system` (src/app/sim_files.h reads the system file).
//
// The master steps every component from t to t + H, each in sub-steps of its own when it has a
// smaller step (its inputs held over them). Two orders:
//   - gauss_seidel (the default): the components in their listed order, each one's inputs set
//     from the latest outputs just before it steps, so a component listed after its source sees
//     the source's values at t + H. Accurate for chains listed upstream first (a pump before the
//     tank it fills) and stable for the loops a step too large for Jacobi makes oscillate.
//   - jacobi: every input set from the outputs at t, then every component stepped: the result
//     does not depend on the listing order (each component sees the others one step late).
// Only Float64 scalars are exchanged and written.
//
// Callers: `doppel sim system`; tests. Not thread-safe: one thread runs a system. FMUs run in
// this process: call it from a child process (isolated.h's run_in_child) to survive a crash.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "sim/equation_model.h"
#include "sim/fmi/fmu.h"

namespace doppel::sim {

// One participant, with named Float64 inputs and outputs. Order of calls: start, then any
// number of (set_input..., step, outputs), then finish.
class component {
 public:
  virtual ~component() = default;
  virtual const std::vector<std::string>& input_names() const = 0;
  virtual const std::vector<std::string>& output_names() const = 0;
  // From t0, with a known stop time; the component is ready to step and its outputs are valid.
  virtual status start(double t0, double stop) = 0;
  virtual status set_input(std::size_t i, double value) = 0;
  // From t to t + h; `terminate` set when the component asks the run to end there.
  virtual status step(double t, double h, bool& terminate) = 0;
  // The outputs now, output_names() order.
  virtual status outputs(std::span<double> out) = 0;
  virtual status finish() = 0;
};

// An FMU file as a component: inputs are its Float64 scalar inputs, outputs its Float64 scalar
// outputs. `values` (NAME, VALUE as text) are set before initialization. invalid_argument for a
// file that is not a usable FMU, an unknown name or a value that does not fit.
result<std::unique_ptr<component>> fmu_component(const std::filesystem::path& file, fmi::fmu_kind kind,
                                                 std::vector<std::pair<std::string, std::string>> values);
// An equation model as a component: inputs are its inputs, outputs its states then its
// outputs. `values` set parameters (at the start) or inputs (until connected ones overwrite
// them); invalid_argument for a name that is neither.
result<std::unique_ptr<component>> equation_component(std::shared_ptr<const equation_model> model,
                                                      std::vector<std::pair<std::string, double>> values);

enum class master_algorithm { gauss_seidel, jacobi };

struct system_component {
  std::string name;
  std::unique_ptr<component> c;
  double step = 0;  // its sub-step; 0: the system's step
};

struct system_connection {
  std::size_t from = 0, output = 0;  // component, output index
  std::size_t to = 0, input = 0;     // component, input index
};

struct system_options {
  double start = 0, stop = 1, step = 0.01;  // checked: stop >= start, step > 0, sub-steps <= step
  master_algorithm algorithm = master_algorithm::gauss_seidel;
};

// Runs the system from start to stop and hands each CSV line to `emit`: a header
// `time,<component.output ...>` (components in order, each one's outputs in order), then a row
// at the start and after each communication step (the last one shortened to end at stop).
// invalid_argument for bad options or connections (an input fed twice, an index out of range);
// a component's own error (naming it) otherwise.
status run_system(std::vector<system_component>& components, const std::vector<system_connection>& connections,
                  const system_options& options, const std::function<void(std::string_view)>& emit);

}  // namespace doppel::sim
