// Importing an FMU (FMI 2.0 or 3.0, co-simulation or model exchange) into this process: the
// archive is unpacked into a private temporary folder, its modelDescription.xml parsed, the
// Linux binary of the chosen kind loaded (dlopen), and instances made that are driven through the
// C API in the order the standard prescribes (instantiate; FMI 2 setupExperiment; enter and exit
// initialization; set and get; doStep, or for model exchange the event and continuous-time
// calls; terminate; free). A model-exchange FMU is also offered as an `instance` whose step
// integrates it (model_exchange.h), so that whoever runs co-simulations runs it unchanged.
//
// An FMU runs native code of unknown quality: it may crash, hang or corrupt memory. Nothing in
// this header protects the caller from that; isolated.h runs FMUs in a child process.
//
// Threading: an fmu may be shared by instances; one instance is used by one thread at a time
// (the FMI rule). Errors come back as status values, with the FMU's own log messages.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "sim/fmi/model_description.h"
#include "sim/fmi/values.h"

namespace doppel::sim::fmi {

// The modelDescription.xml of an FMU file, without unpacking the rest.
result<std::string> read_model_description(const std::filesystem::path& fmu_file);

class fmu;

// What an FMU offers: co-simulation (it integrates itself) or model exchange (the importer
// integrates it). `automatic`: co-simulation when the FMU has it, else model exchange.
enum class fmu_kind : std::uint8_t { automatic, co_simulation, model_exchange };
std::string_view to_string(fmu_kind k);  // "automatic", "co-simulation", "model exchange"
// The kind to use for `md` when `requested` is asked for; invalid_argument when the FMU does not
// offer it.
result<fmu_kind> choose_kind(const model_description& md, fmu_kind requested);

// What both kinds of instance share: initialization, values and the end. Values are exchanged
// per variable, one scalar per element.
class instance_base {
 public:
  virtual ~instance_base() = default;
  // FMI 2: setupExperiment and enterInitializationMode; FMI 3: enterInitializationMode.
  virtual status enter_initialization(double start, std::optional<double> stop, std::optional<double> tolerance) = 0;
  virtual status exit_initialization() = 0;
  virtual status set(const variable& v, std::span<const scalar> values) = 0;
  virtual status get(const variable& v, std::vector<scalar>& values) = 0;
  // Scalar Float64 (FMI 2: Real) variables by value reference, in one call: the hot path of a
  // run that reads every output at every step.
  virtual status get_float64(std::span<const std::uint32_t> value_references, double* values) = 0;
  virtual status terminate() = 0;
};

// One co-simulation instance (or a model-exchange one with its integrator, model_exchange.h).
class instance : public instance_base {
 public:
  // One communication step from t to t + h. `terminate` is set when the FMU asks to stop.
  virtual status step(double t, double h, bool& terminate) = 0;
};

// What one call of the event iteration reports (FMI 2 fmi2NewDiscreteStates' fmi2EventInfo,
// FMI 3 fmi3UpdateDiscreteStates' out arguments).
struct discrete_update {
  bool again = false;  // newDiscreteStatesNeeded / discreteStatesNeedUpdate
  bool terminate = false;
  bool nominals_changed = false;
  bool states_changed = false;  // valuesOfContinuousStatesChanged
  std::optional<double> next_event_time;
};

// One model-exchange instance, the FMI calls one for one. The order (both versions):
//   enter_initialization, set..., exit_initialization            -> Event Mode
//   update_discrete_states until !again, enter_continuous_time_mode -> Continuous-Time Mode
//   per solver evaluation: set_time, set_continuous_states, get_derivatives / get_event_indicators
//   per solver step: completed_integrator_step (it may ask for Event Mode)
//   at an event: enter_event_mode, update_discrete_states until !again,
//                enter_continuous_time_mode, get_continuous_states
//   terminate.
// Spans hold exactly model_description::continuous_states (event_indicators) doubles.
class me_instance : public instance_base {
 public:
  virtual status enter_event_mode() = 0;
  virtual status update_discrete_states(discrete_update& out) = 0;
  virtual status enter_continuous_time_mode() = 0;
  virtual status set_time(double t) = 0;
  virtual status set_continuous_states(std::span<const double> x) = 0;
  virtual status get_continuous_states(std::span<double> x) = 0;
  virtual status get_nominals(std::span<double> nominals) = 0;
  virtual status get_derivatives(std::span<double> dx) = 0;
  virtual status get_event_indicators(std::span<double> z) = 0;
  // `enter_event_mode` is set when the FMU wants Event Mode now (a step event).
  virtual status completed_integrator_step(bool& enter_event_mode, bool& terminate) = 0;
};

// Held by shared_ptr (open() makes it so): each instance keeps its fmu, whose description,
// unpacked folder and loaded binary it uses, alive.
class fmu : public std::enable_shared_from_this<fmu> {
 public:
  // Unpacks `file`, checks it, and loads the binary of `kind` (choose_kind) for this platform.
  // invalid_argument (naming the file and what is wrong) for an archive that is not an FMU, a
  // modelDescription.xml that does not parse, no part of that kind, or no Linux x86-64 binary;
  // io_error when the binary does not load (the loader's message).
  static result<std::shared_ptr<fmu>> open(const std::filesystem::path& file, fmu_kind kind = fmu_kind::automatic);
  ~fmu();
  fmu(const fmu&) = delete;
  fmu& operator=(const fmu&) = delete;

  const model_description& description() const { return md_; }
  // co_simulation or model_exchange: the kind whose binary is loaded.
  fmu_kind kind() const { return kind_; }
  // A new instance named `name`: co-simulation, or model exchange driven by Doppel's integrator
  // (drive_model_exchange with default options).
  result<std::unique_ptr<instance>> instantiate(const std::string& name);
  // A new model-exchange instance, to be driven by the caller; failed_precondition for an fmu
  // opened as co-simulation.
  result<std::unique_ptr<me_instance>> instantiate_model_exchange(const std::string& name);

 private:
  fmu() = default;
  struct library;
  fmu_kind kind_ = fmu_kind::co_simulation;
  model_description md_;
  std::filesystem::path dir_;  // the unpacked archive; removed with the fmu
  std::shared_ptr<library> lib_;
};

}  // namespace doppel::sim::fmi
