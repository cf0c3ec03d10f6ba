#include "sim/fmi/fmu.h"

#include <dlfcn.h>
#include <unistd.h>
#include <zip.h>

#include <cctype>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <type_traits>

#include "sim/fmi/fmi2_api.h"
#include "sim/fmi/fmi3_api.h"
#include "sim/fmi/model_exchange.h"

namespace doppel::sim::fmi {

namespace fs = std::filesystem;

namespace {

// What an archive may hold before Doppel refuses to unpack it (a zip bomb guard).
constexpr std::uint64_t k_max_unpacked = 4ull << 30;
constexpr std::int64_t k_max_entries = 100000;

struct zip_closer {
  void operator()(zip_t* z) const { zip_discard(z); }
};
using zip_ptr = std::unique_ptr<zip_t, zip_closer>;

result<zip_ptr> open_zip(const fs::path& file) {
  int err = 0;
  zip_t* z = zip_open(file.c_str(), ZIP_RDONLY, &err);
  if (!z) {
    zip_error_t e;
    zip_error_init_with_code(&e, err);
    std::string message = file.string() + ": not an FMU archive (" + zip_error_strerror(&e) +
                          "); an .fmu file is a zip archive with modelDescription.xml at its root";
    zip_error_fini(&e);
    return status::invalid_argument(std::move(message));
  }
  return zip_ptr(z);
}

result<std::string> read_entry(zip_t* z, zip_uint64_t index, const fs::path& file, const char* name) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(z, index, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) || st.size > k_max_unpacked) {
    return status::invalid_argument(file.string() + ": cannot read " + name + " in the archive");
  }
  zip_file_t* f = zip_fopen_index(z, index, 0);
  if (!f) return status::invalid_argument(file.string() + ": cannot open " + name + " in the archive");
  std::string out(static_cast<std::size_t>(st.size), '\0');
  zip_int64_t n = out.empty() ? 0 : zip_fread(f, out.data(), out.size());
  zip_fclose(f);
  if (n < 0 || static_cast<zip_uint64_t>(n) != st.size) {
    return status::invalid_argument(file.string() + ": " + name + " in the archive is damaged");
  }
  return out;
}

// A name from the archive as a path below `dest`, or nothing when it would leave it.
std::optional<fs::path> safe_path(const fs::path& dest, std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find('\\') != std::string_view::npos) return std::nullopt;
  fs::path rel(name);
  for (const auto& part : rel) {
    if (part == "..") return std::nullopt;
  }
  return dest / rel;
}

status unpack(const fs::path& file, const fs::path& dest) {
  auto z = open_zip(file);
  if (!z) return z.error();
  zip_int64_t entries = zip_get_num_entries(z->get(), 0);
  if (entries < 0 || entries > k_max_entries) {
    return status::invalid_argument(file.string() + ": the archive has too many entries");
  }
  std::uint64_t total = 0;
  for (zip_int64_t i = 0; i < entries; ++i) {
    const char* name = zip_get_name(z->get(), static_cast<zip_uint64_t>(i), 0);
    if (!name) return status::invalid_argument(file.string() + ": an entry of the archive has no name");
    std::optional<fs::path> out = safe_path(dest, name);
    if (!out) {
      return status::invalid_argument(file.string() + ": the entry \"" + name +
                                      "\" points outside the archive's folder; refusing to unpack it");
    }
    if (std::string_view(name).ends_with('/')) {
      std::error_code ec;
      fs::create_directories(*out, ec);
      continue;
    }
    auto text = read_entry(z->get(), static_cast<zip_uint64_t>(i), file, name);
    if (!text) return text.error();
    total += text->size();
    if (total > k_max_unpacked) return status::invalid_argument(file.string() + ": the archive unpacks to over 4 GiB");
    std::error_code ec;
    fs::create_directories(out->parent_path(), ec);
    std::ofstream f(*out, std::ios::binary);
    f.write(text->data(), static_cast<std::streamsize>(text->size()));
    if (!f) return status::io_error("cannot write " + out->string() + " while unpacking " + file.string());
  }
  return {};
}

// FMI 2 URIs: file:// and the absolute path, with what a URI may not hold percent-encoded.
std::string file_uri(const fs::path& p) {
  std::string out = "file://";
  for (unsigned char c : p.string()) {
    if (std::isalnum(c) || std::strchr("/-._~", c)) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// The FMU's log, kept per instance: the last messages, for the status of a failed call.
struct log_sink {
  std::deque<std::string> lines;
  void add(std::string line) {
    if (lines.size() == 20) lines.pop_front();
    lines.push_back(std::move(line));
  }
  std::string tail() const {
    std::string out;
    for (const auto& l : lines) out += "\n  " + l;
    return out;
  }
};

}  // namespace

struct fmu::library {
  void* handle = nullptr;
  ~library() {
    if (handle) dlclose(handle);
  }
};

result<std::string> read_model_description(const fs::path& fmu_file) {
  auto z = open_zip(fmu_file);
  if (!z) return z.error();
  zip_int64_t index = zip_name_locate(z->get(), "modelDescription.xml", 0);
  if (index < 0) {
    return status::invalid_argument(fmu_file.string() +
                                    ": no modelDescription.xml at the root of the archive; is this an FMU?");
  }
  return read_entry(z->get(), static_cast<zip_uint64_t>(index), fmu_file, "modelDescription.xml");
}

namespace {

std::string status_name(int s) {
  static const char* names[] = {"OK", "Warning", "Discard", "Error", "Fatal", "Pending"};
  return s >= 0 && s < 6 ? names[s] : "status " + std::to_string(s);
}

// ---------------------------------------------------------------- FMI 2

// A call's status as a status value. Both versions number OK 0 and Warning 1, then the failures.
// `call` names the call for the message: a string, or what makes one (built only on failure,
// since gets and steps run every communication step).
template <class Name>
status check_call(int s, const Name& call, const log_sink& log) {
  static_assert(fmi2OK == 0 && fmi2Warning == 1 && fmi3OK == 0 && fmi3Warning == 1);
  if (s == 0 || s == 1) return {};
  std::string name;
  if constexpr (std::is_invocable_v<Name>) {
    name = call();
  } else {
    name = call;
  }
  return status::failed_precondition(name + " returned " + status_name(s) + log.tail());
}

void fmi2_log(fmi2ComponentEnvironment env, fmi2String instance, fmi2Status s, fmi2String category, fmi2String message,
              ...) {
  char buf[2048];
  va_list args;
  va_start(args, message);
  std::vsnprintf(buf, sizeof buf, message ? message : "", args);
  va_end(args);
  static_cast<log_sink*>(env)->add(std::string(instance ? instance : "") + " [" + status_name(s) + "] " +
                                   (category ? category : "") + ": " + buf);
}

struct fmi2_functions {
  fmi2InstantiateTYPE* instantiate;
  fmi2FreeInstanceTYPE* free_instance;
  fmi2SetupExperimentTYPE* setup;
  fmi2EnterInitializationModeTYPE* enter_init;
  fmi2ExitInitializationModeTYPE* exit_init;
  fmi2TerminateTYPE* terminate;
  fmi2GetRealTYPE* get_real;
  fmi2GetIntegerTYPE* get_integer;
  fmi2GetBooleanTYPE* get_boolean;
  fmi2GetStringTYPE* get_string;
  fmi2SetRealTYPE* set_real;
  fmi2SetIntegerTYPE* set_integer;
  fmi2SetBooleanTYPE* set_boolean;
  fmi2SetStringTYPE* set_string;
  fmi2DoStepTYPE* do_step;  // co-simulation
  // Model exchange.
  fmi2EnterEventModeTYPE* enter_event_mode;
  fmi2NewDiscreteStatesTYPE* new_discrete_states;
  fmi2EnterContinuousTimeModeTYPE* enter_continuous_time_mode;
  fmi2CompletedIntegratorStepTYPE* completed_integrator_step;
  fmi2SetTimeTYPE* set_time;
  fmi2SetContinuousStatesTYPE* set_continuous_states;
  fmi2GetDerivativesTYPE* get_derivatives;
  fmi2GetEventIndicatorsTYPE* get_event_indicators;
  fmi2GetContinuousStatesTYPE* get_continuous_states;
  fmi2GetNominalsOfContinuousStatesTYPE* get_nominals;
};

// What the co-simulation and model-exchange instances of FMI 2 share: instantiation, values,
// initialization and the end. `Interface` is instance or me_instance.
template <class Interface>
class fmi2_common : public Interface {
 public:
  fmi2_common(std::shared_ptr<const void> keep, const fmi2_functions& f, const model_description& md)
      : keep_(std::move(keep)), f_(f), md_(md) {}
  ~fmi2_common() override {
    if (!c_) return;
    if (initialized_ && !terminated_) f_.terminate(c_);
    f_.free_instance(c_);
  }
  status create(const std::string& name, const fs::path& resources, fmi2Type type) {
    callbacks_ = {fmi2_log, std::calloc, std::free, nullptr, &log_};
    std::string uri = file_uri(resources);
    c_ = f_.instantiate(name.c_str(), type, md_.token.c_str(), uri.c_str(), &callbacks_, fmi2False, fmi2False);
    if (!c_) return status::failed_precondition("fmi2Instantiate failed" + log_.tail());
    return {};
  }
  status enter_initialization(double start, std::optional<double> stop, std::optional<double> tolerance) override {
    if (status s = check(f_.setup(c_, tolerance ? fmi2True : fmi2False, tolerance.value_or(0), start,
                                  stop ? fmi2True : fmi2False, stop.value_or(0)),
                         "fmi2SetupExperiment");
        !s) {
      return s;
    }
    if (status s = check(f_.enter_init(c_), "fmi2EnterInitializationMode"); !s) return s;
    initialized_ = true;
    return {};
  }
  status exit_initialization() override { return check(f_.exit_init(c_), "fmi2ExitInitializationMode"); }
  status set(const variable& v, std::span<const scalar> values) override {
    if (values.size() != 1) return status::invalid_argument(v.name + " takes one value");
    const fmi2ValueReference vr = v.value_reference;
    const scalar& x = values[0];
    switch (v.type) {
      case var_type::float64: {
        fmi2Real r = std::get<double>(x);
        return check(f_.set_real(c_, &vr, 1, &r), [&] { return "fmi2SetReal(" + v.name + ")"; });
      }
      case var_type::int32:
      case var_type::enumeration: {
        fmi2Integer i = static_cast<fmi2Integer>(std::get<std::int64_t>(x));
        return check(f_.set_integer(c_, &vr, 1, &i), [&] { return "fmi2SetInteger(" + v.name + ")"; });
      }
      case var_type::boolean: {
        fmi2Boolean b = std::get<bool>(x) ? fmi2True : fmi2False;
        return check(f_.set_boolean(c_, &vr, 1, &b), [&] { return "fmi2SetBoolean(" + v.name + ")"; });
      }
      case var_type::string: {
        fmi2String s = std::get<std::string>(x).c_str();
        return check(f_.set_string(c_, &vr, 1, &s), [&] { return "fmi2SetString(" + v.name + ")"; });
      }
      default: return status::invalid_argument(v.name + ": not an FMI 2 type");
    }
  }
  status get(const variable& v, std::vector<scalar>& values) override {
    values.resize(1);
    const fmi2ValueReference vr = v.value_reference;
    switch (v.type) {
      case var_type::float64: {
        fmi2Real r = 0;
        status s = check(f_.get_real(c_, &vr, 1, &r), [&] { return "fmi2GetReal(" + v.name + ")"; });
        values[0] = r;
        return s;
      }
      case var_type::int32:
      case var_type::enumeration: {
        fmi2Integer i = 0;
        status s = check(f_.get_integer(c_, &vr, 1, &i), [&] { return "fmi2GetInteger(" + v.name + ")"; });
        values[0] = std::int64_t{i};
        return s;
      }
      case var_type::boolean: {
        fmi2Boolean b = 0;
        status s = check(f_.get_boolean(c_, &vr, 1, &b), [&] { return "fmi2GetBoolean(" + v.name + ")"; });
        values[0] = b != fmi2False;
        return s;
      }
      case var_type::string: {
        fmi2String text = nullptr;
        status s = check(f_.get_string(c_, &vr, 1, &text), [&] { return "fmi2GetString(" + v.name + ")"; });
        values[0] = std::string(text ? text : "");
        return s;
      }
      default: return status::invalid_argument(v.name + ": not an FMI 2 type");
    }
  }
  status get_float64(std::span<const std::uint32_t> vrs, double* values) override {
    return check(f_.get_real(c_, vrs.data(), vrs.size(), values), "fmi2GetReal");
  }
  status terminate() override {
    terminated_ = true;
    return check(f_.terminate(c_), "fmi2Terminate");
  }

 protected:
  template <class Name>
  status check(fmi2Status s, const Name& call) {
    return check_call(s, call, log_);
  }
  std::shared_ptr<const void> keep_;  // the fmu (description, folder, binary) lives while an instance does
  fmi2_functions f_;
  const model_description& md_;
  fmi2CallbackFunctions callbacks_{};
  log_sink log_;
  fmi2Component c_ = nullptr;
  bool initialized_ = false, terminated_ = false;
};

class fmi2_instance final : public fmi2_common<instance> {
 public:
  using fmi2_common::fmi2_common;
  status step(double t, double h, bool& terminate) override {
    terminate = false;
    return check(f_.do_step(c_, t, h, fmi2True), [&] { return "fmi2DoStep at t=" + std::to_string(t); });
  }
};

class fmi2_me_instance final : public fmi2_common<me_instance> {
 public:
  using fmi2_common::fmi2_common;
  status enter_event_mode() override { return check(f_.enter_event_mode(c_), "fmi2EnterEventMode"); }
  status update_discrete_states(discrete_update& out) override {
    fmi2EventInfo info{};
    if (status s = check(f_.new_discrete_states(c_, &info), "fmi2NewDiscreteStates"); !s) return s;
    out.again = info.newDiscreteStatesNeeded != fmi2False;
    out.terminate = info.terminateSimulation != fmi2False;
    out.nominals_changed = info.nominalsOfContinuousStatesChanged != fmi2False;
    out.states_changed = info.valuesOfContinuousStatesChanged != fmi2False;
    out.next_event_time.reset();
    if (info.nextEventTimeDefined != fmi2False) out.next_event_time = info.nextEventTime;
    return {};
  }
  status enter_continuous_time_mode() override {
    return check(f_.enter_continuous_time_mode(c_), "fmi2EnterContinuousTimeMode");
  }
  status set_time(double t) override {
    return check(f_.set_time(c_, t), [&] { return "fmi2SetTime(" + std::to_string(t) + ")"; });
  }
  status set_continuous_states(std::span<const double> x) override {
    return check(f_.set_continuous_states(c_, x.data(), x.size()), "fmi2SetContinuousStates");
  }
  status get_continuous_states(std::span<double> x) override {
    return check(f_.get_continuous_states(c_, x.data(), x.size()), "fmi2GetContinuousStates");
  }
  status get_nominals(std::span<double> nominals) override {
    return check(f_.get_nominals(c_, nominals.data(), nominals.size()), "fmi2GetNominalsOfContinuousStates");
  }
  status get_derivatives(std::span<double> dx) override {
    return check(f_.get_derivatives(c_, dx.data(), dx.size()), "fmi2GetDerivatives");
  }
  status get_event_indicators(std::span<double> z) override {
    return check(f_.get_event_indicators(c_, z.data(), z.size()), "fmi2GetEventIndicators");
  }
  status completed_integrator_step(bool& enter_event_mode, bool& terminate) override {
    fmi2Boolean event = fmi2False, stop = fmi2False;
    status s = check(f_.completed_integrator_step(c_, fmi2True, &event, &stop), "fmi2CompletedIntegratorStep");
    enter_event_mode = event != fmi2False;
    terminate = stop != fmi2False;
    return s;
  }
};

// ---------------------------------------------------------------- FMI 3

void fmi3_log(fmi3InstanceEnvironment env, fmi3Status s, fmi3String category, fmi3String message) {
  static_cast<log_sink*>(env)->add("[" + status_name(s) + "] " + (category ? category : "") + ": " +
                                   (message ? message : ""));
}

struct fmi3_functions {
  fmi3InstantiateCoSimulationTYPE* instantiate;
  fmi3FreeInstanceTYPE* free_instance;
  fmi3EnterInitializationModeTYPE* enter_init;
  fmi3ExitInitializationModeTYPE* exit_init;
  fmi3EnterEventModeTYPE* enter_event_mode;
  fmi3UpdateDiscreteStatesTYPE* update_discrete_states;
  fmi3EnterStepModeTYPE* enter_step_mode;
  fmi3TerminateTYPE* terminate;
  fmi3DoStepTYPE* do_step;
  fmi3GetFloat32TYPE* get_f32;
  fmi3GetFloat64TYPE* get_f64;
  fmi3GetInt8TYPE* get_i8;
  fmi3GetUInt8TYPE* get_u8;
  fmi3GetInt16TYPE* get_i16;
  fmi3GetUInt16TYPE* get_u16;
  fmi3GetInt32TYPE* get_i32;
  fmi3GetUInt32TYPE* get_u32;
  fmi3GetInt64TYPE* get_i64;
  fmi3GetUInt64TYPE* get_u64;
  fmi3GetBooleanTYPE* get_bool;
  fmi3GetStringTYPE* get_string;
  fmi3GetBinaryTYPE* get_binary;
  fmi3SetFloat32TYPE* set_f32;
  fmi3SetFloat64TYPE* set_f64;
  fmi3SetInt8TYPE* set_i8;
  fmi3SetUInt8TYPE* set_u8;
  fmi3SetInt16TYPE* set_i16;
  fmi3SetUInt16TYPE* set_u16;
  fmi3SetInt32TYPE* set_i32;
  fmi3SetUInt32TYPE* set_u32;
  fmi3SetInt64TYPE* set_i64;
  fmi3SetUInt64TYPE* set_u64;
  fmi3SetBooleanTYPE* set_bool;
  fmi3SetStringTYPE* set_string;
  fmi3SetBinaryTYPE* set_binary;
  // Model exchange.
  fmi3InstantiateModelExchangeTYPE* instantiate_me;
  fmi3EnterContinuousTimeModeTYPE* enter_continuous_time_mode;
  fmi3CompletedIntegratorStepTYPE* completed_integrator_step;
  fmi3SetTimeTYPE* set_time;
  fmi3SetContinuousStatesTYPE* set_continuous_states;
  fmi3GetContinuousStateDerivativesTYPE* get_derivatives;
  fmi3GetEventIndicatorsTYPE* get_event_indicators;
  fmi3GetContinuousStatesTYPE* get_continuous_states;
  fmi3GetNominalsOfContinuousStatesTYPE* get_nominals;
};

// What the co-simulation and model-exchange instances of FMI 3 share: values, initialization
// and the end. `Interface` is instance or me_instance.
template <class Interface>
class fmi3_common : public Interface {
 public:
  fmi3_common(std::shared_ptr<const void> keep, const fmi3_functions& f, const model_description& md)
      : keep_(std::move(keep)), f_(f), md_(md) {}
  ~fmi3_common() override {
    if (!c_) return;
    if (initialized_ && !terminated_) f_.terminate(c_);
    f_.free_instance(c_);
  }
  status enter_initialization(double start, std::optional<double> stop, std::optional<double> tolerance) override {
    if (status s = check(
            f_.enter_init(c_, tolerance.has_value(), tolerance.value_or(0), start, stop.has_value(), stop.value_or(0)),
            "fmi3EnterInitializationMode");
        !s) {
      return s;
    }
    initialized_ = true;
    return {};
  }
  status set(const variable& v, std::span<const scalar> values) override;
  status get(const variable& v, std::vector<scalar>& values) override;
  status get_float64(std::span<const std::uint32_t> vrs, double* values) override {
    return check(f_.get_f64(c_, vrs.data(), vrs.size(), values, vrs.size()), "fmi3GetFloat64");
  }
  status terminate() override {
    terminated_ = true;
    return check(f_.terminate(c_), "fmi3Terminate");
  }

 protected:
  template <class Name>
  status check(fmi3Status s, const Name& call) {
    return check_call(s, call, log_);
  }
  // Arrays, not vectors: std::vector<bool> has no data() to hand to the FMU.
  template <class T, class Get>
  status get_numbers(Get* fn, const variable& v, std::vector<scalar>& values, const char* name) {
    const std::size_t n = v.elements();
    // A scalar (the common case) needs no allocation.
    T one{};
    std::unique_ptr<T[]> many;
    T* raw = &one;
    if (n > 1) {
      many = std::make_unique<T[]>(n);
      raw = many.get();
    }
    const fmi3ValueReference vr = v.value_reference;
    status s = check(fn(c_, &vr, 1, raw, n), [&] { return std::string(name) + "(" + v.name + ")"; });
    values.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      if constexpr (std::is_floating_point_v<T>) {
        values[i] = static_cast<double>(raw[i]);
      } else if constexpr (std::is_same_v<T, bool>) {
        values[i] = raw[i];
      } else if constexpr (std::is_signed_v<T>) {
        values[i] = static_cast<std::int64_t>(raw[i]);
      } else {
        values[i] = static_cast<std::uint64_t>(raw[i]);
      }
    }
    return s;
  }
  template <class T, class Set>
  status set_numbers(Set* fn, const variable& v, std::span<const scalar> values, const char* name) {
    const std::size_t n = values.size();
    // A scalar (the common case) needs no allocation.
    T one{};
    std::unique_ptr<T[]> many;
    T* raw = &one;
    if (n > 1) {
      many = std::make_unique<T[]>(n);
      raw = many.get();
    }
    for (std::size_t i = 0; i < n; ++i) {
      if constexpr (std::is_floating_point_v<T>) {
        raw[i] = static_cast<T>(std::get<double>(values[i]));
      } else if constexpr (std::is_same_v<T, bool>) {
        raw[i] = std::get<bool>(values[i]);
      } else if constexpr (std::is_signed_v<T>) {
        raw[i] = static_cast<T>(std::get<std::int64_t>(values[i]));
      } else {
        raw[i] = static_cast<T>(std::get<std::uint64_t>(values[i]));
      }
    }
    const fmi3ValueReference vr = v.value_reference;
    return check(fn(c_, &vr, 1, raw, n), [&] { return std::string(name) + "(" + v.name + ")"; });
  }

  std::shared_ptr<const void> keep_;  // the fmu (description, folder, binary) lives while an instance does
  fmi3_functions f_;
  const model_description& md_;
  log_sink log_;
  fmi3Instance c_ = nullptr;
  bool initialized_ = false, terminated_ = false;
};

class fmi3_instance final : public fmi3_common<instance> {
 public:
  using fmi3_common::fmi3_common;
  status create(const std::string& name, const fs::path& resources) {
    std::string path = resources.string() + "/";
    event_mode_ =
        md_.co_simulation.has_event_mode && f_.enter_event_mode && f_.update_discrete_states && f_.enter_step_mode;
    c_ = f_.instantiate(name.c_str(), md_.token.c_str(), path.c_str(), false, false, event_mode_, false, nullptr, 0,
                        &log_, fmi3_log, nullptr);
    if (!c_) return status::failed_precondition("fmi3InstantiateCoSimulation failed" + log_.tail());
    return {};
  }
  status exit_initialization() override {
    if (status s = check(f_.exit_init(c_), "fmi3ExitInitializationMode"); !s) return s;
    // With event mode, the FMU is in event mode after initialization: settle it, then step.
    if (event_mode_) {
      bool terminate = false;
      if (status s = settle_events(terminate); !s) return s;
    }
    return {};
  }
  status step(double t, double h, bool& terminate) override {
    terminate = false;
    bool event = false, stop = false, early = false;
    double last = t;
    if (status s = check(f_.do_step(c_, t, h, true, &event, &stop, &early, &last),
                         [&] { return "fmi3DoStep at t=" + std::to_string(t); });
        !s) {
      return s;
    }
    if (stop) {
      terminate = true;
      return {};
    }
    if (event && event_mode_) {
      if (status s = check(f_.enter_event_mode(c_), "fmi3EnterEventMode"); !s) return s;
      return settle_events(terminate);
    }
    return {};
  }

 private:
  status settle_events(bool& terminate) {
    // Event iteration: update discrete states until the FMU needs no more, then step mode.
    for (int i = 0; i < 1000; ++i) {
      bool again = false, stop = false, nominals = false, values = false, next_defined = false;
      double next = 0;
      if (status s = check(f_.update_discrete_states(c_, &again, &stop, &nominals, &values, &next_defined, &next),
                           "fmi3UpdateDiscreteStates");
          !s) {
        return s;
      }
      if (stop) {
        terminate = true;
        return {};
      }
      if (!again) return check(f_.enter_step_mode(c_), "fmi3EnterStepMode");
    }
    return status::failed_precondition("the FMU's event iteration did not settle in 1,000 updates" + log_.tail());
  }
  bool event_mode_ = false;
};

class fmi3_me_instance final : public fmi3_common<me_instance> {
 public:
  using fmi3_common::fmi3_common;
  status create(const std::string& name, const fs::path& resources) {
    std::string path = resources.string() + "/";
    c_ = f_.instantiate_me(name.c_str(), md_.token.c_str(), path.c_str(), false, false, &log_, fmi3_log);
    if (!c_) return status::failed_precondition("fmi3InstantiateModelExchange failed" + log_.tail());
    return {};
  }
  status exit_initialization() override { return check(f_.exit_init(c_), "fmi3ExitInitializationMode"); }
  status enter_event_mode() override { return check(f_.enter_event_mode(c_), "fmi3EnterEventMode"); }
  status update_discrete_states(discrete_update& out) override {
    bool again = false, stop = false, nominals = false, values = false, next_defined = false;
    double next = 0;
    if (status s = check(f_.update_discrete_states(c_, &again, &stop, &nominals, &values, &next_defined, &next),
                         "fmi3UpdateDiscreteStates");
        !s) {
      return s;
    }
    out.again = again;
    out.terminate = stop;
    out.nominals_changed = nominals;
    out.states_changed = values;
    out.next_event_time.reset();
    if (next_defined) out.next_event_time = next;
    return {};
  }
  status enter_continuous_time_mode() override {
    return check(f_.enter_continuous_time_mode(c_), "fmi3EnterContinuousTimeMode");
  }
  status set_time(double t) override {
    return check(f_.set_time(c_, t), [&] { return "fmi3SetTime(" + std::to_string(t) + ")"; });
  }
  status set_continuous_states(std::span<const double> x) override {
    return check(f_.set_continuous_states(c_, x.data(), x.size()), "fmi3SetContinuousStates");
  }
  status get_continuous_states(std::span<double> x) override {
    return check(f_.get_continuous_states(c_, x.data(), x.size()), "fmi3GetContinuousStates");
  }
  status get_nominals(std::span<double> nominals) override {
    return check(f_.get_nominals(c_, nominals.data(), nominals.size()), "fmi3GetNominalsOfContinuousStates");
  }
  status get_derivatives(std::span<double> dx) override {
    return check(f_.get_derivatives(c_, dx.data(), dx.size()), "fmi3GetContinuousStateDerivatives");
  }
  status get_event_indicators(std::span<double> z) override {
    return check(f_.get_event_indicators(c_, z.data(), z.size()), "fmi3GetEventIndicators");
  }
  status completed_integrator_step(bool& enter_event_mode, bool& terminate) override {
    bool event = false, stop = false;
    status s = check(f_.completed_integrator_step(c_, true, &event, &stop), "fmi3CompletedIntegratorStep");
    enter_event_mode = event;
    terminate = stop;
    return s;
  }
};

template <class Interface>
status fmi3_common<Interface>::set(const variable& v, std::span<const scalar> values) {
  if (values.size() != v.elements()) {
    return status::invalid_argument(v.name + " takes " + std::to_string(v.elements()) + " values");
  }
  switch (v.type) {
    case var_type::float32: return set_numbers<float>(f_.set_f32, v, values, "fmi3SetFloat32");
    case var_type::float64: return set_numbers<double>(f_.set_f64, v, values, "fmi3SetFloat64");
    case var_type::int8: return set_numbers<std::int8_t>(f_.set_i8, v, values, "fmi3SetInt8");
    case var_type::uint8: return set_numbers<std::uint8_t>(f_.set_u8, v, values, "fmi3SetUInt8");
    case var_type::int16: return set_numbers<std::int16_t>(f_.set_i16, v, values, "fmi3SetInt16");
    case var_type::uint16: return set_numbers<std::uint16_t>(f_.set_u16, v, values, "fmi3SetUInt16");
    case var_type::int32: return set_numbers<std::int32_t>(f_.set_i32, v, values, "fmi3SetInt32");
    case var_type::uint32: return set_numbers<std::uint32_t>(f_.set_u32, v, values, "fmi3SetUInt32");
    case var_type::int64:
    case var_type::enumeration: return set_numbers<std::int64_t>(f_.set_i64, v, values, "fmi3SetInt64");
    case var_type::uint64: return set_numbers<std::uint64_t>(f_.set_u64, v, values, "fmi3SetUInt64");
    case var_type::boolean: return set_numbers<bool>(f_.set_bool, v, values, "fmi3SetBoolean");
    case var_type::string: {
      std::vector<fmi3String> raw;
      for (const scalar& x : values) raw.push_back(std::get<std::string>(x).c_str());
      const fmi3ValueReference vr = v.value_reference;
      return check(f_.set_string(c_, &vr, 1, raw.data(), raw.size()), [&] { return "fmi3SetString(" + v.name + ")"; });
    }
    case var_type::binary: {
      std::vector<fmi3Binary> raw;
      std::vector<std::size_t> sizes;
      for (const scalar& x : values) {
        raw.push_back(std::get<bytes>(x).data());
        sizes.push_back(std::get<bytes>(x).size());
      }
      const fmi3ValueReference vr = v.value_reference;
      return check(f_.set_binary(c_, &vr, 1, sizes.data(), raw.data(), raw.size()),
                   [&] { return "fmi3SetBinary(" + v.name + ")"; });
    }
    case var_type::clock: return status::invalid_argument(v.name + " is a clock; clocks are not set as values");
  }
  return status::internal("unknown type");
}

template <class Interface>
status fmi3_common<Interface>::get(const variable& v, std::vector<scalar>& values) {
  switch (v.type) {
    case var_type::float32: return get_numbers<float>(f_.get_f32, v, values, "fmi3GetFloat32");
    case var_type::float64: return get_numbers<double>(f_.get_f64, v, values, "fmi3GetFloat64");
    case var_type::int8: return get_numbers<std::int8_t>(f_.get_i8, v, values, "fmi3GetInt8");
    case var_type::uint8: return get_numbers<std::uint8_t>(f_.get_u8, v, values, "fmi3GetUInt8");
    case var_type::int16: return get_numbers<std::int16_t>(f_.get_i16, v, values, "fmi3GetInt16");
    case var_type::uint16: return get_numbers<std::uint16_t>(f_.get_u16, v, values, "fmi3GetUInt16");
    case var_type::int32: return get_numbers<std::int32_t>(f_.get_i32, v, values, "fmi3GetInt32");
    case var_type::uint32: return get_numbers<std::uint32_t>(f_.get_u32, v, values, "fmi3GetUInt32");
    case var_type::int64:
    case var_type::enumeration: return get_numbers<std::int64_t>(f_.get_i64, v, values, "fmi3GetInt64");
    case var_type::uint64: return get_numbers<std::uint64_t>(f_.get_u64, v, values, "fmi3GetUInt64");
    case var_type::boolean: return get_numbers<bool>(f_.get_bool, v, values, "fmi3GetBoolean");
    case var_type::string: {
      std::vector<fmi3String> raw(v.elements(), nullptr);
      const fmi3ValueReference vr = v.value_reference;
      status s =
          check(f_.get_string(c_, &vr, 1, raw.data(), raw.size()), [&] { return "fmi3GetString(" + v.name + ")"; });
      values.clear();
      for (fmi3String x : raw) values.emplace_back(std::string(x ? x : ""));
      return s;
    }
    case var_type::binary: {
      std::vector<fmi3Binary> raw(v.elements(), nullptr);
      std::vector<std::size_t> sizes(v.elements(), 0);
      const fmi3ValueReference vr = v.value_reference;
      status s = check(f_.get_binary(c_, &vr, 1, sizes.data(), raw.data(), raw.size()),
                       [&] { return "fmi3GetBinary(" + v.name + ")"; });
      values.clear();
      for (std::size_t i = 0; i < raw.size(); ++i) {
        values.emplace_back(raw[i] ? bytes(raw[i], raw[i] + sizes[i]) : bytes());
      }
      return s;
    }
    case var_type::clock: return status::invalid_argument(v.name + " is a clock; clocks are not read as values");
  }
  return status::internal("unknown type");
}

}  // namespace

fmu::~fmu() {
  lib_.reset();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string_view to_string(fmu_kind k) {
  switch (k) {
    case fmu_kind::automatic: return "automatic";
    case fmu_kind::co_simulation: return "co-simulation";
    case fmu_kind::model_exchange: return "model exchange";
  }
  return "?";
}

result<fmu_kind> choose_kind(const model_description& md, fmu_kind requested) {
  switch (requested) {
    case fmu_kind::automatic: return md.co_simulation.present ? fmu_kind::co_simulation : fmu_kind::model_exchange;
    case fmu_kind::co_simulation:
      if (!md.co_simulation.present) {
        return status::invalid_argument("the FMU has no co-simulation part (<CoSimulation>); run it as model exchange");
      }
      return requested;
    case fmu_kind::model_exchange:
      if (!md.model_exchange.present) {
        return status::invalid_argument(
            "the FMU has no model-exchange part (<ModelExchange>); run it as co-simulation");
      }
      return requested;
  }
  return status::invalid_argument("unknown FMU kind");
}

result<std::shared_ptr<fmu>> fmu::open(const fs::path& file, fmu_kind requested) {
  auto xml = read_model_description(file);
  if (!xml) return xml.error();
  auto md = parse_model_description(*xml, file.string() + "!/modelDescription.xml");
  if (!md) return md.error();
  auto kind = choose_kind(*md, requested);
  if (!kind) return status::invalid_argument(file.string() + ": " + kind.error().message());
  std::shared_ptr<fmu> f(new fmu());
  f->kind_ = *kind;
  f->md_ = std::move(*md);
  std::string pattern = (fs::temp_directory_path() / "doppel-fmu-XXXXXX").string();
  if (!mkdtemp(pattern.data())) return status::io_error("cannot make a temporary folder to unpack " + file.string());
  f->dir_ = pattern;
  if (status s = unpack(file, f->dir_); !s) return s;
  const char* platform = f->md_.fmi_major == 2 ? "linux64" : "x86_64-linux";
  const std::string& identifier = f->kind_ == fmu_kind::model_exchange ? f->md_.model_exchange.model_identifier
                                                                       : f->md_.co_simulation.model_identifier;
  fs::path binary = f->dir_ / "binaries" / platform / (identifier + ".so");
  if (!fs::exists(binary)) {
    return status::invalid_argument(file.string() + ": no binary for this platform (binaries/" + platform + "/" +
                                    identifier + ".so); the FMU must be exported for Linux x86-64");
  }
  f->lib_ = std::make_shared<library>();
  f->lib_->handle = dlopen(binary.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!f->lib_->handle) {
    const char* why = dlerror();
    return status::io_error(file.string() + ": the binary does not load: " + (why ? why : "?"));
  }
  return f;
}

namespace {

// Looks up each function an instance needs, collecting the names of those that are missing.
class symbols {
 public:
  explicit symbols(void* handle) : handle_(handle) {}
  template <class F>
  void need(F*& slot, const char* name) {
    slot = reinterpret_cast<F*>(dlsym(handle_, name));
    if (!slot) missing_ += (missing_.empty() ? "" : ", ") + std::string(name);
  }
  template <class F>
  void want(F*& slot, const char* name) {
    slot = reinterpret_cast<F*>(dlsym(handle_, name));
  }
  status check(fmu_kind kind) const {
    if (missing_.empty()) return {};
    return status::invalid_argument(
        "the FMU's binary does not export " + missing_ + " (the FMI standard requires them of a " +
        std::string(kind == fmu_kind::model_exchange ? "model-exchange" : "co-simulation") + " FMU)");
  }

 private:
  void* handle_;
  std::string missing_;
};

void fmi2_common_functions(symbols& l, fmi2_functions& f) {
  l.need(f.instantiate, "fmi2Instantiate");
  l.need(f.free_instance, "fmi2FreeInstance");
  l.need(f.setup, "fmi2SetupExperiment");
  l.need(f.enter_init, "fmi2EnterInitializationMode");
  l.need(f.exit_init, "fmi2ExitInitializationMode");
  l.need(f.terminate, "fmi2Terminate");
  l.need(f.get_real, "fmi2GetReal");
  l.need(f.get_integer, "fmi2GetInteger");
  l.need(f.get_boolean, "fmi2GetBoolean");
  l.need(f.get_string, "fmi2GetString");
  l.need(f.set_real, "fmi2SetReal");
  l.need(f.set_integer, "fmi2SetInteger");
  l.need(f.set_boolean, "fmi2SetBoolean");
  l.need(f.set_string, "fmi2SetString");
}

void fmi3_common_functions(symbols& l, fmi3_functions& f) {
  l.need(f.free_instance, "fmi3FreeInstance");
  l.need(f.enter_init, "fmi3EnterInitializationMode");
  l.need(f.exit_init, "fmi3ExitInitializationMode");
  l.need(f.terminate, "fmi3Terminate");
  l.need(f.get_f32, "fmi3GetFloat32");
  l.need(f.get_f64, "fmi3GetFloat64");
  l.need(f.get_i8, "fmi3GetInt8");
  l.need(f.get_u8, "fmi3GetUInt8");
  l.need(f.get_i16, "fmi3GetInt16");
  l.need(f.get_u16, "fmi3GetUInt16");
  l.need(f.get_i32, "fmi3GetInt32");
  l.need(f.get_u32, "fmi3GetUInt32");
  l.need(f.get_i64, "fmi3GetInt64");
  l.need(f.get_u64, "fmi3GetUInt64");
  l.need(f.get_bool, "fmi3GetBoolean");
  l.need(f.get_string, "fmi3GetString");
  l.need(f.get_binary, "fmi3GetBinary");
  l.need(f.set_f32, "fmi3SetFloat32");
  l.need(f.set_f64, "fmi3SetFloat64");
  l.need(f.set_i8, "fmi3SetInt8");
  l.need(f.set_u8, "fmi3SetUInt8");
  l.need(f.set_i16, "fmi3SetInt16");
  l.need(f.set_u16, "fmi3SetUInt16");
  l.need(f.set_i32, "fmi3SetInt32");
  l.need(f.set_u32, "fmi3SetUInt32");
  l.need(f.set_i64, "fmi3SetInt64");
  l.need(f.set_u64, "fmi3SetUInt64");
  l.need(f.set_bool, "fmi3SetBoolean");
  l.need(f.set_string, "fmi3SetString");
  l.need(f.set_binary, "fmi3SetBinary");
}

}  // namespace

result<std::unique_ptr<me_instance>> fmu::instantiate_model_exchange(const std::string& name) {
  if (kind_ != fmu_kind::model_exchange) {
    return status::failed_precondition("the FMU was opened for co-simulation; open it as model exchange");
  }
  symbols l(lib_->handle);
  fs::path resources = dir_ / "resources";
  std::shared_ptr<const void> keep = shared_from_this();
  if (md_.fmi_major == 2) {
    fmi2_functions f{};
    fmi2_common_functions(l, f);
    l.need(f.enter_event_mode, "fmi2EnterEventMode");
    l.need(f.new_discrete_states, "fmi2NewDiscreteStates");
    l.need(f.enter_continuous_time_mode, "fmi2EnterContinuousTimeMode");
    l.need(f.completed_integrator_step, "fmi2CompletedIntegratorStep");
    l.need(f.set_time, "fmi2SetTime");
    l.need(f.set_continuous_states, "fmi2SetContinuousStates");
    l.need(f.get_derivatives, "fmi2GetDerivatives");
    l.need(f.get_event_indicators, "fmi2GetEventIndicators");
    l.need(f.get_continuous_states, "fmi2GetContinuousStates");
    l.need(f.get_nominals, "fmi2GetNominalsOfContinuousStates");
    if (status s = l.check(kind_); !s) return s;
    auto i = std::make_unique<fmi2_me_instance>(keep, f, md_);
    if (status s = i->create(name, resources, fmi2ModelExchange); !s) return s;
    return std::unique_ptr<me_instance>(std::move(i));
  }
  fmi3_functions f{};
  fmi3_common_functions(l, f);
  l.need(f.instantiate_me, "fmi3InstantiateModelExchange");
  l.need(f.enter_event_mode, "fmi3EnterEventMode");
  l.need(f.update_discrete_states, "fmi3UpdateDiscreteStates");
  l.need(f.enter_continuous_time_mode, "fmi3EnterContinuousTimeMode");
  l.need(f.completed_integrator_step, "fmi3CompletedIntegratorStep");
  l.need(f.set_time, "fmi3SetTime");
  l.need(f.set_continuous_states, "fmi3SetContinuousStates");
  l.need(f.get_derivatives, "fmi3GetContinuousStateDerivatives");
  l.need(f.get_event_indicators, "fmi3GetEventIndicators");
  l.need(f.get_continuous_states, "fmi3GetContinuousStates");
  l.need(f.get_nominals, "fmi3GetNominalsOfContinuousStates");
  if (status s = l.check(kind_); !s) return s;
  auto i = std::make_unique<fmi3_me_instance>(keep, f, md_);
  if (status s = i->create(name, resources); !s) return s;
  return std::unique_ptr<me_instance>(std::move(i));
}

result<std::unique_ptr<instance>> fmu::instantiate(const std::string& name) {
  if (kind_ == fmu_kind::model_exchange) {
    auto me = instantiate_model_exchange(name);
    if (!me) return me.error();
    return drive_model_exchange(std::move(*me), md_);
  }
  symbols l(lib_->handle);
  fs::path resources = dir_ / "resources";
  std::shared_ptr<const void> keep = shared_from_this();
  if (md_.fmi_major == 2) {
    fmi2_functions f{};
    fmi2_common_functions(l, f);
    l.need(f.do_step, "fmi2DoStep");
    if (status s = l.check(kind_); !s) return s;
    auto i = std::make_unique<fmi2_instance>(keep, f, md_);
    if (status s = i->create(name, resources, fmi2CoSimulation); !s) return s;
    return std::unique_ptr<instance>(std::move(i));
  }
  fmi3_functions f{};
  fmi3_common_functions(l, f);
  l.need(f.instantiate, "fmi3InstantiateCoSimulation");
  l.need(f.do_step, "fmi3DoStep");
  if (status s = l.check(kind_); !s) return s;
  // Event mode: only when the FMU declares it (hasEventMode); then these must exist too.
  l.want(f.enter_event_mode, "fmi3EnterEventMode");
  l.want(f.update_discrete_states, "fmi3UpdateDiscreteStates");
  l.want(f.enter_step_mode, "fmi3EnterStepMode");
  auto i = std::make_unique<fmi3_instance>(keep, f, md_);
  if (status s = i->create(name, resources); !s) return s;
  return std::unique_ptr<instance>(std::move(i));
}

}  // namespace doppel::sim::fmi
