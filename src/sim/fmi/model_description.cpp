#include "sim/fmi/model_description.h"

#include <pugixml.hpp>

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <set>

#include "sim/fmi/values.h"

namespace doppel::sim::fmi {

namespace {

struct type_name {
  const char* xml;
  var_type type;
};
constexpr type_name k_fmi3_types[] = {
    {"Float32", var_type::float32}, {"Float64", var_type::float64},
    {"Int8", var_type::int8},       {"UInt8", var_type::uint8},
    {"Int16", var_type::int16},     {"UInt16", var_type::uint16},
    {"Int32", var_type::int32},     {"UInt32", var_type::uint32},
    {"Int64", var_type::int64},     {"UInt64", var_type::uint64},
    {"Boolean", var_type::boolean}, {"String", var_type::string},
    {"Binary", var_type::binary},   {"Enumeration", var_type::enumeration},
    {"Clock", var_type::clock},
};

// Parsing state: the document's text for line numbers, and the first error.
class parser {
 public:
  parser(std::string_view xml, std::string_view file) : xml_(xml), file_(file) {}

  result<model_description> run();

 private:
  std::size_t line_of(const pugi::xml_node& n) const {
    auto offset = n.offset_debug();
    if (offset < 0 || static_cast<std::size_t>(offset) > xml_.size()) return 0;
    return 1 + static_cast<std::size_t>(std::count(xml_.begin(), xml_.begin() + offset, '\n'));
  }
  status fail(const pugi::xml_node& n, const std::string& message) const {
    return status::invalid_argument(std::string(file_) + ":" + std::to_string(line_of(n)) + ": <" + n.name() +
                                    ">: " + message);
  }
  status required(const pugi::xml_node& n, const char* attribute, std::string& out) const {
    pugi::xml_attribute a = n.attribute(attribute);
    if (!a) return fail(n, std::string("the attribute ") + attribute + " is required; add " + attribute + "=\"...\"");
    out = a.value();
    return {};
  }
  status optional_double(const pugi::xml_node& n, const char* attribute, std::optional<double>& out) const {
    pugi::xml_attribute a = n.attribute(attribute);
    if (!a) return {};
    double v = 0;
    if (!parse_double(a.value(), v)) {
      return fail(n, std::string(attribute) + "=\"" + a.value() + "\" is not a number; write it like 0.001 or 1e-3");
    }
    out = v;
    return {};
  }
  status boolean_attribute(const pugi::xml_node& n, const char* attribute, bool& out) const {
    pugi::xml_attribute a = n.attribute(attribute);
    if (!a) return {};
    std::string_view v = a.value();
    if (v == "true" || v == "1") {
      out = true;
    } else if (v == "false" || v == "0") {
      out = false;
    } else {
      return fail(n, std::string(attribute) + "=\"" + a.value() + "\" must be true or false");
    }
    return {};
  }
  status implementation_of(const pugi::xml_node& n, implementation& out) const;
  status variable_common(const pugi::xml_node& n, variable& v) const;
  status fmi2_variables(const pugi::xml_node& list, model_description& md) const;
  status fmi3_variables(const pugi::xml_node& list, model_description& md) const;
  status check_start(const pugi::xml_node& n, const variable& v) const;
  status model_structure(const pugi::xml_node& root, model_description& md) const;
  status unsigned_attribute(const pugi::xml_node& n, const char* attribute, std::uint64_t& out) const {
    pugi::xml_attribute a = n.attribute(attribute);
    if (!a) return fail(n, std::string("the attribute ") + attribute + " is required; add " + attribute + "=\"...\"");
    if (!parse_unsigned(a.value(), out)) {
      return fail(n, std::string(attribute) + "=\"" + a.value() + "\" must be an unsigned integer");
    }
    return {};
  }

  std::string_view xml_, file_;
};

status parser::implementation_of(const pugi::xml_node& n, implementation& out) const {
  if (!n) return {};
  out.present = true;
  if (status s = required(n, "modelIdentifier", out.model_identifier); !s) return s;
  if (out.model_identifier.empty() || out.model_identifier.find_first_of("/\\") != std::string::npos ||
      out.model_identifier == "." || out.model_identifier == "..") {
    return fail(n, "modelIdentifier=\"" + out.model_identifier +
                       "\" must be a file name (the binary is binaries/<platform>/<modelIdentifier>.so)");
  }
  if (status s = boolean_attribute(n, "canHandleVariableCommunicationStepSize", out.can_handle_variable_step); !s) {
    return s;
  }
  if (status s = boolean_attribute(n, "needsExecutionTool", out.needs_execution_tool); !s) return s;
  if (status s = boolean_attribute(n, "hasEventMode", out.has_event_mode); !s) return s;
  if (status s = boolean_attribute(n, "canReturnEarlyAfterIntermediateUpdate", out.can_return_early); !s) return s;
  return optional_double(n, "fixedInternalStepSize", out.fixed_step);
}

status parser::variable_common(const pugi::xml_node& n, variable& v) const {
  v.line = line_of(n);
  if (status s = required(n, "name", v.name); !s) return s;
  if (v.name.empty()) return fail(n, "name must not be empty");
  std::string vr;
  if (status s = required(n, "valueReference", vr); !s) return s;
  std::uint64_t r = 0;
  if (!parse_unsigned(vr, r) || r > std::numeric_limits<std::uint32_t>::max()) {
    return fail(n, "valueReference=\"" + vr + "\" of " + v.name + " must be an unsigned 32-bit integer");
  }
  v.value_reference = static_cast<std::uint32_t>(r);
  v.description = n.attribute("description").value();
  if (pugi::xml_attribute a = n.attribute("causality")) {
    static const std::pair<const char*, causality> names[] = {{"parameter", causality::parameter},
                                                              {"calculatedParameter", causality::calculated_parameter},
                                                              {"input", causality::input},
                                                              {"output", causality::output},
                                                              {"local", causality::local},
                                                              {"independent", causality::independent},
                                                              {"structuralParameter", causality::structural_parameter}};
    auto it = std::find_if(std::begin(names), std::end(names),
                           [&](const auto& p) { return std::string_view(p.first) == a.value(); });
    if (it == std::end(names)) {
      return fail(n, "causality=\"" + std::string(a.value()) + "\" of " + v.name +
                         " is not one of parameter, calculatedParameter, input, output, local, independent" +
                         " (structuralParameter in FMI 3)");
    }
    v.causality = it->second;
  }
  if (pugi::xml_attribute a = n.attribute("variability")) {
    static const std::pair<const char*, variability> names[] = {{"constant", variability::constant},
                                                                {"fixed", variability::fixed},
                                                                {"tunable", variability::tunable},
                                                                {"discrete", variability::discrete},
                                                                {"continuous", variability::continuous}};
    auto it = std::find_if(std::begin(names), std::end(names),
                           [&](const auto& p) { return std::string_view(p.first) == a.value(); });
    if (it == std::end(names)) {
      return fail(n, "variability=\"" + std::string(a.value()) + "\" of " + v.name +
                         " is not one of constant, fixed, tunable, discrete, continuous");
    }
    v.variability = it->second;
  }
  if (pugi::xml_attribute a = n.attribute("initial")) {
    v.initial = a.value();
    if (v.initial != "exact" && v.initial != "approx" && v.initial != "calculated") {
      return fail(n, "initial=\"" + v.initial + "\" of " + v.name + " is not one of exact, approx, calculated");
    }
  }
  return {};
}

status parser::check_start(const pugi::xml_node& n, const variable& v) const {
  if (v.start.empty()) return {};
  if (!v.shape.empty() && v.start.size() != v.elements() && v.start.size() != 1) {
    return fail(n, "the start value of " + v.name + " has " + std::to_string(v.start.size()) +
                       " elements, but its dimensions make " + std::to_string(v.elements()) +
                       "; give one per element (or one for all)");
  }
  for (const std::string& text : v.start) {
    scalar out;
    if (status s = parse_scalar(v.type, text, out); !s) {
      return fail(n, "start of " + v.name + ": " + s.message());
    }
  }
  return {};
}

status parser::fmi2_variables(const pugi::xml_node& list, model_description& md) const {
  std::map<std::pair<var_type, std::uint32_t>, std::string> references;  // FMI 2: unique per type
  std::size_t list_size = 0;
  for (pugi::xml_node sv : list.children()) list_size += sv.type() == pugi::node_element ? 1 : 0;
  std::vector<pugi::xml_node> nodes;  // each variable's type element
  for (pugi::xml_node sv : list.children()) {
    if (sv.type() != pugi::node_element) continue;
    if (std::string_view(sv.name()) != "ScalarVariable") {
      return fail(sv, "FMI 2.0 lists variables as <ScalarVariable>; this element does not belong in <ModelVariables>");
    }
    variable v;
    if (status s = variable_common(sv, v); !s) return s;
    pugi::xml_node typed;
    for (pugi::xml_node c : sv.children()) {
      if (c.type() != pugi::node_element) continue;
      std::string_view name = c.name();
      if (name == "Real") {
        v.type = var_type::float64;
      } else if (name == "Integer") {
        v.type = var_type::int32;
      } else if (name == "Boolean") {
        v.type = var_type::boolean;
      } else if (name == "String") {
        v.type = var_type::string;
      } else if (name == "Enumeration") {
        v.type = var_type::enumeration;
      } else if (name == "Annotations") {
        continue;
      } else {
        return fail(c, "the type of " + v.name + " must be Real, Integer, Boolean, String or Enumeration");
      }
      typed = c;
      break;
    }
    if (!typed) return fail(sv, v.name + " has no type element (<Real/>, <Integer/>, <Boolean/>, <String/>, ...)");
    if (!sv.attribute("variability") && v.type != var_type::float64) v.variability = variability::discrete;
    if (pugi::xml_attribute a = typed.attribute("start")) v.start.emplace_back(a.value());
    v.unit = typed.attribute("unit").value();
    if (status s = check_start(typed, v); !s) return s;
    if (typed.attribute("derivative")) {
      // FMI 2 names the state by its 1-based index in ModelVariables; resolved once all are read.
      std::uint64_t index = 0;
      if (v.type != var_type::float64) return fail(typed, v.name + ": only a Real can be a derivative");
      if (status s = unsigned_attribute(typed, "derivative", index); !s) return s;
      if (index == 0 || index > list_size) {
        return fail(typed, "derivative=\"" + std::to_string(index) + "\" of " + v.name + " must be the index (1 to " +
                               std::to_string(list_size) + ") of a variable in <ModelVariables>");
      }
      v.derivative_of = static_cast<std::size_t>(index - 1);
    }
    auto [it, added] =
        references.try_emplace({v.type == var_type::enumeration ? var_type::int32 : v.type, v.value_reference}, v.name);
    if (!added) {
      return fail(sv, "valueReference " + std::to_string(v.value_reference) + " of " + v.name + " is already used by " +
                          it->second + " (of the same type)");
    }
    md.variables.push_back(std::move(v));
    nodes.push_back(typed);
  }
  for (std::size_t i = 0; i < md.variables.size(); ++i) {
    const variable& v = md.variables[i];
    if (v.derivative_of && md.variables[*v.derivative_of].type != var_type::float64) {
      return fail(nodes[i], v.name + " is the derivative of " + md.variables[*v.derivative_of].name +
                                ", which is not a Real; a state must be a Real");
    }
  }
  return {};
}

status parser::fmi3_variables(const pugi::xml_node& list, model_description& md) const {
  std::map<std::uint32_t, std::size_t> by_reference;               // FMI 3: unique across all variables
  std::vector<std::pair<std::size_t, pugi::xml_node>> dimensions;  // (variable, <Dimension>) to resolve
  std::vector<pugi::xml_node> nodes;                               // each variable's element
  std::vector<std::pair<std::size_t, std::uint64_t>> derivatives;  // (variable, its state's reference)
  for (pugi::xml_node n : list.children()) {
    if (n.type() != pugi::node_element) continue;
    auto type = std::find_if(std::begin(k_fmi3_types), std::end(k_fmi3_types),
                             [&](const type_name& t) { return std::string_view(t.xml) == n.name(); });
    if (type == std::end(k_fmi3_types)) {
      return fail(n,
                  "not an FMI 3.0 variable type (Float32, Float64, Int8 ... UInt64, Boolean, String, Binary, "
                  "Enumeration, Clock)");
    }
    variable v;
    v.type = type->type;
    if (status s = variable_common(n, v); !s) return s;
    if (!n.attribute("variability") && v.type != var_type::float32 && v.type != var_type::float64) {
      v.variability = variability::discrete;
    }
    v.unit = n.attribute("unit").value();
    if (n.attribute("derivative")) {
      if (v.type != var_type::float32 && v.type != var_type::float64) {
        return fail(n, v.name + ": only a Float32 or Float64 can be a derivative");
      }
      std::uint64_t ref = 0;
      if (status s = unsigned_attribute(n, "derivative", ref); !s) return s;
      derivatives.emplace_back(md.variables.size(), ref);
    }
    if (v.type == var_type::string || v.type == var_type::binary) {
      for (pugi::xml_node start : n.children("Start")) v.start.emplace_back(start.attribute("value").value());
    } else if (pugi::xml_attribute a = n.attribute("start")) {
      std::string_view text = a.value();
      std::size_t i = 0;
      while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
        std::size_t j = i;
        while (j < text.size() && text[j] != ' ' && text[j] != '\t' && text[j] != '\n' && text[j] != '\r') ++j;
        if (j > i) v.start.emplace_back(text.substr(i, j - i));
        i = j;
      }
    }
    std::size_t index = md.variables.size();
    for (pugi::xml_node d : n.children("Dimension")) dimensions.emplace_back(index, d);
    auto [it, added] = by_reference.try_emplace(v.value_reference, index);
    if (!added) {
      return fail(n, "valueReference " + std::to_string(v.value_reference) + " of " + v.name + " is already used by " +
                         md.variables[it->second].name + " (FMI 3.0 value references are unique across all variables)");
    }
    md.variables.push_back(std::move(v));
    nodes.push_back(n);
  }
  // Dimensions: a fixed size, or the start of a structural parameter (by value reference).
  for (const auto& [index, d] : dimensions) {
    variable& v = md.variables[index];
    std::uint64_t size = 0;
    if (pugi::xml_attribute a = d.attribute("start")) {
      if (!parse_unsigned(a.value(), size)) {
        return fail(
            d, "start=\"" + std::string(a.value()) + "\" of a dimension of " + v.name + " must be an unsigned integer");
      }
    } else if (pugi::xml_attribute r = d.attribute("valueReference")) {
      std::uint64_t ref = 0;
      auto it =
          parse_unsigned(r.value(), ref) ? by_reference.find(static_cast<std::uint32_t>(ref)) : by_reference.end();
      if (it == by_reference.end() || md.variables[it->second].start.size() != 1 ||
          !parse_unsigned(md.variables[it->second].start[0], size)) {
        return fail(d, "the dimension of " + v.name + " refers to valueReference " + r.value() +
                           ", which is not a variable with an unsigned integer start value");
      }
    } else {
      return fail(d, "a dimension of " + v.name + " needs start=\"N\" or valueReference=\"...\"");
    }
    v.shape.push_back(static_cast<std::size_t>(size));
  }
  for (std::size_t i = 0; i < md.variables.size(); ++i) {
    const variable& v = md.variables[i];
    if (v.elements() > (1u << 24)) {
      return fail(nodes[i], v.name + " has more than 16,777,216 elements; Doppel does not import arrays that large");
    }
    if (v.shape.empty() && v.start.size() > 1) {
      return fail(nodes[i], v.name + " is not an array (no <Dimension>) but has " + std::to_string(v.start.size()) +
                                " start values");
    }
    if (status s = check_start(nodes[i], v); !s) return s;
  }
  for (const auto& [index, ref] : derivatives) {
    variable& v = md.variables[index];
    auto it = ref <= std::numeric_limits<std::uint32_t>::max() ? by_reference.find(static_cast<std::uint32_t>(ref))
                                                               : by_reference.end();
    if (it == by_reference.end() ||
        (md.variables[it->second].type != var_type::float32 && md.variables[it->second].type != var_type::float64)) {
      return fail(nodes[index], "derivative=\"" + std::to_string(ref) + "\" of " + v.name +
                                    " must be the valueReference of a Float32 or Float64 variable (its state)");
    }
    if (md.variables[it->second].elements() != v.elements()) {
      return fail(nodes[index], v.name + " has " + std::to_string(v.elements()) + " elements, its state " +
                                    md.variables[it->second].name + " " +
                                    std::to_string(md.variables[it->second].elements()));
    }
    v.derivative_of = it->second;
  }
  return {};
}

status parser::model_structure(const pugi::xml_node& root, model_description& md) const {
  pugi::xml_node structure = root.child("ModelStructure");
  auto add_derivative = [&](const pugi::xml_node& n, std::size_t index) -> status {
    const variable& v = md.variables[index];
    if (!v.derivative_of) {
      return fail(n, v.name +
                         " is listed as a state derivative but has no derivative=\"...\" attribute naming its "
                         "state");
    }
    if (std::find(md.derivatives.begin(), md.derivatives.end(), index) != md.derivatives.end()) {
      return fail(n, v.name + " is listed as a state derivative twice");
    }
    md.derivatives.push_back(index);
    md.continuous_states += v.elements();
    return {};
  };
  if (md.fmi_major == 2) {
    if (pugi::xml_attribute a = root.attribute("numberOfEventIndicators")) {
      std::uint64_t n = 0;
      if (!parse_unsigned(a.value(), n) || n > (1u << 24)) {
        return fail(root, "numberOfEventIndicators=\"" + std::string(a.value()) +
                              "\" must be an unsigned integer (below 16,777,216)");
      }
      md.event_indicators = static_cast<std::size_t>(n);
    }
    for (pugi::xml_node u : structure.child("Derivatives").children()) {
      if (u.type() != pugi::node_element) continue;
      if (std::string_view(u.name()) != "Unknown") return fail(u, "<Derivatives> lists <Unknown index=\"...\"/>");
      std::uint64_t index = 0;
      if (status s = unsigned_attribute(u, "index", index); !s) return s;
      if (index == 0 || index > md.variables.size()) {
        return fail(u, "index=\"" + std::to_string(index) + "\" must be the index (1 to " +
                           std::to_string(md.variables.size()) + ") of a variable in <ModelVariables>");
      }
      if (status s = add_derivative(u, static_cast<std::size_t>(index - 1)); !s) return s;
    }
    return {};
  }
  auto by_reference = [&](const pugi::xml_node& n, std::size_t& out) -> status {
    std::uint64_t ref = 0;
    if (status s = unsigned_attribute(n, "valueReference", ref); !s) return s;
    for (std::size_t i = 0; i < md.variables.size(); ++i) {
      if (md.variables[i].value_reference == ref) {
        out = i;
        return {};
      }
    }
    return fail(n, "valueReference=\"" + std::to_string(ref) + "\" names no variable in <ModelVariables>");
  };
  for (pugi::xml_node n : structure.children()) {
    if (n.type() != pugi::node_element) continue;
    std::string_view name = n.name();
    std::size_t index = 0;
    if (name == "ContinuousStateDerivative") {
      if (status s = by_reference(n, index); !s) return s;
      if (status s = add_derivative(n, index); !s) return s;
    } else if (name == "EventIndicator") {
      if (status s = by_reference(n, index); !s) return s;
      const variable& v = md.variables[index];
      if (v.type != var_type::float32 && v.type != var_type::float64) {
        return fail(n, v.name + " is an event indicator but not a Float32 or Float64 variable");
      }
      md.event_indicators += v.elements();
    }
  }
  return {};
}

result<model_description> parser::run() {
  pugi::xml_document doc;
  pugi::xml_parse_result parsed = doc.load_buffer(xml_.data(), xml_.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!parsed) {
    std::size_t line =
        1 + static_cast<std::size_t>(
                std::count(xml_.begin(), xml_.begin() + std::min<std::ptrdiff_t>(parsed.offset, xml_.size()), '\n'));
    return status::invalid_argument(std::string(file_) + ":" + std::to_string(line) + ": not well-formed XML (" +
                                    parsed.description() + ")");
  }
  pugi::xml_node root = doc.child("fmiModelDescription");
  if (!root) {
    return status::invalid_argument(std::string(file_) +
                                    ":1: the root element must be <fmiModelDescription>; is this an FMU's "
                                    "modelDescription.xml?");
  }
  model_description md;
  if (status s = required(root, "fmiVersion", md.fmi_version); !s) return s;
  if (md.fmi_version.starts_with("2.")) {
    md.fmi_major = 2;
  } else if (md.fmi_version.starts_with("3.")) {
    md.fmi_major = 3;
  } else {
    return fail(root, "fmiVersion=\"" + md.fmi_version + "\": Doppel imports FMI 2.0 and 3.0 FMUs");
  }
  if (status s = required(root, "modelName", md.model_name); !s) return s;
  if (status s = required(root, md.fmi_major == 2 ? "guid" : "instantiationToken", md.token); !s) return s;
  md.description = root.attribute("description").value();
  md.generation_tool = root.attribute("generationTool").value();
  if (status s = implementation_of(root.child("CoSimulation"), md.co_simulation); !s) return s;
  if (status s = implementation_of(root.child("ModelExchange"), md.model_exchange); !s) return s;
  if (!md.co_simulation.present && !md.model_exchange.present) {
    return fail(root, "the FMU offers neither <CoSimulation> nor <ModelExchange>; one of them is required");
  }
  if (pugi::xml_node e = root.child("DefaultExperiment")) {
    if (status s = optional_double(e, "startTime", md.experiment.start_time); !s) return s;
    if (status s = optional_double(e, "stopTime", md.experiment.stop_time); !s) return s;
    if (status s = optional_double(e, "tolerance", md.experiment.tolerance); !s) return s;
    if (status s = optional_double(e, "stepSize", md.experiment.step_size); !s) return s;
  }
  pugi::xml_node list = root.child("ModelVariables");
  if (!list) return fail(root, "<ModelVariables> is missing");
  if (status s = md.fmi_major == 2 ? fmi2_variables(list, md) : fmi3_variables(list, md); !s) return s;
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < md.variables.size(); ++i) {
    const variable& v = md.variables[i];
    if (!names.insert(v.name).second) {
      return status::invalid_argument(std::string(file_) + ":" + std::to_string(v.line) + ": the variable name " +
                                      v.name + " is used twice; names must be unique");
    }
    if (v.causality == causality::output) md.outputs.push_back(i);
  }
  if (status s = model_structure(root, md); !s) return s;
  return md;
}

}  // namespace

std::string_view to_string(var_type t) {
  if (t == var_type::float64) return "Float64";
  for (const type_name& n : k_fmi3_types) {
    if (n.type == t) return n.xml;
  }
  return "?";
}

std::string_view to_string(causality c) {
  switch (c) {
    case causality::parameter: return "parameter";
    case causality::calculated_parameter: return "calculatedParameter";
    case causality::input: return "input";
    case causality::output: return "output";
    case causality::local: return "local";
    case causality::independent: return "independent";
    case causality::structural_parameter: return "structuralParameter";
  }
  return "?";
}

std::string_view to_string(variability v) {
  switch (v) {
    case variability::constant: return "constant";
    case variability::fixed: return "fixed";
    case variability::tunable: return "tunable";
    case variability::discrete: return "discrete";
    case variability::continuous: return "continuous";
  }
  return "?";
}

std::size_t variable::elements() const {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  return n;
}

const variable* model_description::find(std::string_view name) const {
  for (const variable& v : variables) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

result<model_description> parse_model_description(std::string_view xml, std::string_view file) {
  return parser(xml, file).run();
}

}  // namespace doppel::sim::fmi
