#include "sim/system.h"

#include <cmath>

#include "sim/fmi/values.h"

namespace doppel::sim {

namespace {

class fmu_part final : public component {
 public:
  fmu_part(std::shared_ptr<fmi::fmu> f, std::vector<std::pair<const fmi::variable*, fmi::scalar>> values)
      : fmu_(std::move(f)), values_(std::move(values)) {
    const fmi::model_description& md = fmu_->description();
    for (const fmi::variable& v : md.variables) {
      if (v.type != fmi::var_type::float64 || !v.shape.empty()) continue;
      if (v.causality == fmi::causality::input) {
        inputs_.push_back(&v);
        input_names_.push_back(v.name);
      } else if (v.causality == fmi::causality::output) {
        output_refs_.push_back(v.value_reference);
        output_names_.push_back(v.name);
      }
    }
  }
  const std::vector<std::string>& input_names() const override { return input_names_; }
  const std::vector<std::string>& output_names() const override { return output_names_; }
  status start(double t0, double stop) override {
    auto inst = fmu_->instantiate(fmu_->description().model_name);
    if (!inst) return inst.error();
    inst_ = std::move(*inst);
    for (const auto& [v, x] : values_) {
      if (status s = inst_->set(*v, std::span<const fmi::scalar>(&x, 1)); !s) return s;
    }
    if (status s = inst_->enter_initialization(t0, stop, fmu_->description().experiment.tolerance); !s) return s;
    return inst_->exit_initialization();
  }
  status set_input(std::size_t i, double value) override {
    const fmi::scalar x = value;
    return inst_->set(*inputs_[i], std::span<const fmi::scalar>(&x, 1));
  }
  status step(double t, double h, bool& terminate) override { return inst_->step(t, h, terminate); }
  status outputs(std::span<double> out) override {
    if (output_refs_.empty()) return {};
    return inst_->get_float64(output_refs_, out.data());
  }
  status finish() override { return inst_ ? inst_->terminate() : status{}; }

 private:
  std::shared_ptr<fmi::fmu> fmu_;
  std::vector<std::pair<const fmi::variable*, fmi::scalar>> values_;
  std::unique_ptr<fmi::instance> inst_;
  std::vector<const fmi::variable*> inputs_;
  std::vector<std::uint32_t> output_refs_;
  std::vector<std::string> input_names_, output_names_;
};

class equation_part final : public component {
 public:
  equation_part(std::shared_ptr<const equation_model> model, std::vector<std::pair<std::string, double>> parameters,
                std::vector<std::pair<std::string, double>> inputs)
      : model_(std::move(model)), parameters_(std::move(parameters)), start_inputs_(std::move(inputs)) {
    const equation_spec& spec = model_->spec();
    for (const auto& in : spec.inputs) input_names_.push_back(in.name);
    for (std::size_t i = 0; i < spec.states.size(); ++i) {
      output_names_.push_back(spec.states[i].name);
      slots_.push_back(model_->state_slot(i));
    }
    for (std::size_t i = 0; i < spec.outputs.size(); ++i) {
      output_names_.push_back(spec.outputs[i].name);
      slots_.push_back(model_->output_slot(i));
    }
  }
  const std::vector<std::string>& input_names() const override { return input_names_; }
  const std::vector<std::string>& output_names() const override { return output_names_; }
  status start(double t0, double) override {
    auto run = equation_run::start(model_, t0, parameters_);
    if (!run) return run.error();
    run_ = std::move(*run);
    for (const auto& [name, value] : start_inputs_) {
      if (status s = run_->set(name, value); !s) return s;
    }
    return {};
  }
  status set_input(std::size_t i, double value) override { return run_->set(input_names_[i], value); }
  status step(double t, double h, bool& terminate) override {
    terminate = false;
    return run_->advance(t + h);
  }
  status outputs(std::span<double> out) override {
    for (std::size_t i = 0; i < slots_.size(); ++i) out[i] = run_->values()[slots_[i]];
    return {};
  }
  status finish() override { return {}; }

 private:
  std::shared_ptr<const equation_model> model_;
  std::vector<std::pair<std::string, double>> parameters_, start_inputs_;
  std::unique_ptr<equation_run> run_;
  std::vector<std::string> input_names_, output_names_;
  std::vector<std::size_t> slots_;
};

status in_component(const system_component& c, const status& s) {
  if (s) return s;
  return status{s.code(), "component " + c.name + ": " + s.message()};
}

}  // namespace

result<std::unique_ptr<component>> fmu_component(const std::filesystem::path& file, fmi::fmu_kind kind,
                                                 std::vector<std::pair<std::string, std::string>> values) {
  auto f = fmi::fmu::open(file, kind);
  if (!f) return f.error();
  std::vector<std::pair<const fmi::variable*, fmi::scalar>> parsed;
  for (const auto& [name, text] : values) {
    const fmi::variable* v = (*f)->description().find(name);
    if (!v) return status::invalid_argument(file.string() + ": the FMU has no variable \"" + name + "\"");
    if (!v->shape.empty()) return status::invalid_argument(name + " is an array; set scalars only");
    fmi::scalar x;
    if (status s = fmi::parse_scalar(v->type, text, x); !s) return status::invalid_argument(name + ": " + s.message());
    parsed.emplace_back(v, std::move(x));
  }
  return std::unique_ptr<component>(std::make_unique<fmu_part>(std::move(*f), std::move(parsed)));
}

result<std::unique_ptr<component>> equation_component(std::shared_ptr<const equation_model> model,
                                                      std::vector<std::pair<std::string, double>> values) {
  std::vector<std::pair<std::string, double>> parameters, inputs;
  const equation_spec& spec = model->spec();
  for (auto& [name, value] : values) {
    bool parameter = false, input = false;
    for (const auto& p : spec.parameters) parameter = parameter || p.name == name;
    for (const auto& in : spec.inputs) input = input || in.name == name;
    if (parameter) {
      parameters.emplace_back(name, value);
    } else if (input) {
      inputs.emplace_back(name, value);
    } else {
      return status::invalid_argument("the model " + spec.name + " has no parameter or input \"" + name + "\"");
    }
  }
  return std::unique_ptr<component>(
      std::make_unique<equation_part>(std::move(model), std::move(parameters), std::move(inputs)));
}

status run_system(std::vector<system_component>& components, const std::vector<system_connection>& connections,
                  const system_options& o, const std::function<void(std::string_view)>& emit) {
  if (!std::isfinite(o.start) || !std::isfinite(o.stop) || o.stop < o.start) {
    return status::invalid_argument("the stop time is before the start time");
  }
  if (!(o.step > 0) || !std::isfinite(o.step)) return status::invalid_argument("the step must be positive");
  const double span = o.stop - o.start;
  if (span / o.step > 1e8) return status::invalid_argument("the run would write over 100 million rows");
  const std::size_t n = components.size();
  std::vector<std::vector<const system_connection*>> feeds(n);  // the connections into each component
  std::vector<std::vector<bool>> fed(n);
  for (std::size_t i = 0; i < n; ++i) {
    const system_component& c = components[i];
    if (!c.c) return status::invalid_argument("component " + c.name + " is missing");
    if (c.step < 0 || c.step > o.step * (1 + 1e-12) || !std::isfinite(c.step)) {
      return status::invalid_argument("component " + c.name + ": its step must be positive and at most the system's");
    }
    fed[i].assign(c.c->input_names().size(), false);
  }
  for (const system_connection& k : connections) {
    if (k.from >= n || k.to >= n || k.output >= components[k.from].c->output_names().size() ||
        k.input >= components[k.to].c->input_names().size()) {
      return status::invalid_argument("a connection points at no component output or input");
    }
    if (fed[k.to][k.input]) {
      return status::invalid_argument("the input " + components[k.to].name + "." +
                                      components[k.to].c->input_names()[k.input] + " is fed twice");
    }
    fed[k.to][k.input] = true;
    feeds[k.to].push_back(&k);
  }

  std::vector<std::vector<double>> out(n);
  std::string line = "time";
  for (std::size_t i = 0; i < n; ++i) {
    out[i].assign(components[i].c->output_names().size(), 0.0);
    for (const std::string& name : components[i].c->output_names()) line += "," + components[i].name + "." + name;
  }
  line += "\n";
  auto feed = [&](std::size_t i, const std::vector<std::vector<double>>& from) -> status {
    for (const system_connection* k : feeds[i]) {
      if (status s = components[i].c->set_input(k->input, from[k->from][k->output]); !s) return s;
    }
    return {};
  };
  auto read = [&](std::size_t i) { return components[i].c->outputs(out[i]); };
  auto row = [&](double t) {
    line.clear();
    fmi::format_scalar(fmi::var_type::float64, t, line);
    for (const auto& values : out) {
      for (double x : values) {
        line.push_back(',');
        fmi::format_scalar(fmi::var_type::float64, x, line);
      }
    }
    line.push_back('\n');
    emit(line);
  };
  auto finish_all = [&](status result) {
    for (auto& c : components) {
      if (status s = in_component(c, c.c->finish()); !s && result) result = s;
    }
    return result;
  };
  for (std::size_t i = 0; i < n; ++i) {
    if (status s = in_component(components[i], components[i].c->start(o.start, o.stop)); !s) return s;
    if (status s = in_component(components[i], read(i)); !s) return finish_all(s);
  }
  emit(line);
  // The first exchange in order, so that each component starts from its sources' start values.
  for (std::size_t i = 0; i < n; ++i) {
    if (status s = in_component(components[i], feed(i, out)); !s) return finish_all(s);
    if (status s = in_component(components[i], read(i)); !s) return finish_all(s);
  }
  row(o.start);

  const auto steps = static_cast<std::uint64_t>(std::ceil(span / o.step - 1e-9));
  double t = o.start;
  for (std::uint64_t k = 1; k <= steps; ++k) {
    const double next = k == steps ? o.stop : o.start + static_cast<double>(k) * o.step;
    bool terminate = false;
    for (std::size_t i = 0; i < n; ++i) {
      system_component& c = components[i];
      // Jacobi reads every output after all have stepped, so `out` still holds the values at t.
      if (status s = in_component(c, feed(i, out)); !s) return finish_all(s);
      // Sub-steps of equal length, at most the component's step, ending exactly at next.
      const double h = next - t;
      const auto pieces = c.step > 0
                              ? std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(h / c.step - 1e-9)))
                              : std::uint64_t{1};
      double from = t;
      bool stop = false;
      for (std::uint64_t j = 1; j <= pieces && !stop; ++j) {
        const double to = j == pieces ? next : t + h * static_cast<double>(j) / static_cast<double>(pieces);
        if (status s = in_component(c, c.c->step(from, to - from, stop)); !s) return finish_all(s);
        from = to;
      }
      terminate = terminate || stop;
      if (o.algorithm == master_algorithm::gauss_seidel) {
        if (status s = in_component(c, read(i)); !s) return finish_all(s);
      }
    }
    if (o.algorithm == master_algorithm::jacobi) {
      for (std::size_t i = 0; i < n; ++i) {
        if (status s = in_component(components[i], read(i)); !s) return finish_all(s);
      }
    }
    t = next;
    row(t);
    if (terminate) break;  // a component asked to stop: the others' values at t are the last
  }
  return finish_all({});
}

}  // namespace doppel::sim
