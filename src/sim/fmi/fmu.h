// Importing an FMU (FMI 2.0 or 3.0, co-simulation) into this process: the archive is unpacked
// into a private temporary folder, its modelDescription.xml parsed, its Linux binary loaded
// (dlopen), and instances made that are driven through the C API in the order the standard
// prescribes (instantiate; FMI 2 setupExperiment; enter and exit initialization; set and get;
// doStep; terminate; free).
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
#include <vector>

#include "core/status.h"
#include "sim/fmi/model_description.h"
#include "sim/fmi/values.h"

namespace doppel::sim::fmi {

// The modelDescription.xml of an FMU file, without unpacking the rest.
result<std::string> read_model_description(const std::filesystem::path& fmu_file);

class fmu;

// One co-simulation instance. Values are exchanged per variable, one scalar per element.
class instance {
 public:
  virtual ~instance() = default;
  // FMI 2: setupExperiment and enterInitializationMode; FMI 3: enterInitializationMode.
  virtual status enter_initialization(double start, std::optional<double> stop, std::optional<double> tolerance) = 0;
  virtual status exit_initialization() = 0;
  virtual status set(const variable& v, std::span<const scalar> values) = 0;
  virtual status get(const variable& v, std::vector<scalar>& values) = 0;
  // Scalar Float64 (FMI 2: Real) variables by value reference, in one call: the hot path of a
  // run that reads every output at every step.
  virtual status get_float64(std::span<const std::uint32_t> value_references, double* values) = 0;
  // One communication step from t to t + h. `terminate` is set when the FMU asks to stop.
  virtual status step(double t, double h, bool& terminate) = 0;
  virtual status terminate() = 0;
};

// Held by shared_ptr (open() makes it so): each instance keeps its fmu, whose description,
// unpacked folder and loaded binary it uses, alive.
class fmu : public std::enable_shared_from_this<fmu> {
 public:
  // Unpacks `file`, checks it, and loads the co-simulation binary for this platform.
  // invalid_argument (naming the file and what is wrong) for an archive that is not an FMU, a
  // modelDescription.xml that does not parse, no co-simulation part, or no Linux x86-64 binary;
  // io_error when the binary does not load (the loader's message).
  static result<std::shared_ptr<fmu>> open(const std::filesystem::path& file);
  ~fmu();
  fmu(const fmu&) = delete;
  fmu& operator=(const fmu&) = delete;

  const model_description& description() const { return md_; }
  // A new co-simulation instance named `name`.
  result<std::unique_ptr<instance>> instantiate(const std::string& name);

 private:
  fmu() = default;
  struct library;
  model_description md_;
  std::filesystem::path dir_;  // the unpacked archive; removed with the fmu
  std::shared_ptr<library> lib_;
};

}  // namespace doppel::sim::fmi
