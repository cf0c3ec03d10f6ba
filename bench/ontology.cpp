#include "ontology.h"

#include <algorithm>

namespace doppel::bench {

namespace {

std::string id_of(std::size_t i) { return "dtmi:com:example:plant:Equipment" + std::to_string(i) + ";1"; }

struct quantity {
  const char* semantic;
  const char* unit;
};
constexpr quantity k_quantities[] = {
    {"Temperature", "degreeCelsius"},
    {"Pressure", "bar"},
    {"VolumeFlowRate", "litrePerSecond"},
    {"Power", "kilowatt"},
    {"Current", "ampere"},
    {"Voltage", "volt"},
    {"AngularVelocity", "revolutionPerMinute"},
    {"Length", "metre"},
    {"Frequency", "hertz"},
    {"Energy", "kilowattHour"},
};

// Interface i: every 10th is a small "component" part (no components of its own); the others
// extend an earlier or later interface so that extends chains are up to 6 deep.
std::string interface_json(std::size_t i, std::size_t n) {
  bool part = i % 10 == 9;
  std::string id = id_of(i);
  std::string s;
  s += "  {\n    \"@context\": [\"dtmi:dtdl:context;3\", \"dtmi:dtdl:extension:quantitativeTypes;1\"],\n";
  s += "    \"@id\": \"" + id + "\",\n    \"@type\": \"Interface\",\n";
  s += "    \"displayName\": {\"en\": \"Equipment " + std::to_string(i) + "\", \"de\": \"Anlage " + std::to_string(i) +
       "\"},\n";
  s += "    \"description\": \"Synthetic equipment type number " + std::to_string(i) +
       " of a generated plant ontology.\",\n";
  // Bases: a chain within blocks of 6 so depth stays well inside DTDL's limit of 10.
  if (!part && i % 6 != 0) {
    std::size_t base = i - 1;
    if (base % 10 == 9) base = base >= 1 ? base - 1 : 0;
    if (base != i && base % 10 != 9) s += "    \"extends\": \"" + id_of(base) + "\",\n";
  }
  std::string enum_id = "dtmi:com:example:plant:Equipment" + std::to_string(i) + ":state;1";
  s += "    \"schemas\": [{\"@id\": \"" + enum_id +
       "\", \"@type\": \"Enum\", \"valueSchema\": \"string\", \"enumValues\": ["
       "{\"name\": \"running\", \"enumValue\": \"running\"}, {\"name\": \"stopped\", \"enumValue\": \"stopped\"}, "
       "{\"name\": \"fault\", \"enumValue\": \"fault\"}]}],\n";
  s += "    \"contents\": [\n";
  std::string p = "e" + std::to_string(i) + "_";
  std::vector<std::string> items;
  for (std::size_t k = 0; k < 4; ++k) {
    const quantity& q = k_quantities[(i + k) % std::size(k_quantities)];
    items.push_back("{\"@type\": [\"Telemetry\", \"" + std::string(q.semantic) + "\"], \"name\": \"" + p + "t" +
                    std::to_string(k) + "\", \"schema\": \"double\", \"unit\": \"" + q.unit + "\"}");
  }
  items.push_back("{\"@type\": \"Property\", \"name\": \"" + p + "serial\", \"schema\": \"string\"}");
  items.push_back("{\"@type\": \"Property\", \"name\": \"" + p + "state\", \"writable\": true, \"schema\": \"" +
                  enum_id + "\"}");
  items.push_back("{\"@type\": \"Property\", \"name\": \"" + p +
                  "service\", \"writable\": true, \"schema\": {\"@type\": \"Object\", \"fields\": ["
                  "{\"name\": \"last\", \"schema\": \"dateTime\"}, {\"name\": \"interval\", \"schema\": \"duration\"}, "
                  "{\"name\": \"limits\", \"schema\": {\"@type\": \"Map\", \"mapKey\": {\"name\": \"k\", \"schema\": "
                  "\"string\"}, \"mapValue\": {\"name\": \"v\", \"schema\": \"double\"}}}]}}");
  items.push_back("{\"@type\": \"Command\", \"name\": \"" + p +
                  "reset\", \"request\": {\"name\": \"reason\", \"schema\": \"string\"}, \"response\": {\"name\": "
                  "\"ok\", \"schema\": \"boolean\"}}");
  if (!part) {
    std::size_t target = (i * 7 + 3) % n;
    items.push_back("{\"@type\": \"Relationship\", \"name\": \"" + p + "feeds\", \"target\": \"" + id_of(target) +
                    "\", \"maxMultiplicity\": 10, \"properties\": [{\"@type\": \"Property\", \"name\": \"order\", "
                    "\"schema\": \"integer\"}]}");
    std::size_t comp = (i / 10) * 10 + 9;
    if (comp < n) {
      items.push_back("{\"@type\": \"Component\", \"name\": \"" + p + "part\", \"schema\": \"" + id_of(comp) + "\"}");
    }
  }
  for (std::size_t k = 0; k < items.size(); ++k) s += "      " + items[k] + (k + 1 < items.size() ? ",\n" : "\n");
  s += "    ]\n  }";
  return s;
}

}  // namespace

std::vector<model::source> generate_ontology(const ontology_options& options) {
  std::vector<model::source> files;
  std::size_t n = options.interfaces;
  for (std::size_t start = 0; start < n; start += options.per_file) {
    std::string text = "[\n";
    std::size_t end = std::min(n, start + options.per_file);
    for (std::size_t i = start; i < end; ++i) text += interface_json(i, n) + (i + 1 < end ? ",\n" : "\n");
    text += "]\n";
    files.push_back({"ontology/part" + std::to_string(start / options.per_file) + ".json", std::move(text)});
  }
  // Load the files back to front so that most extends and component references point to
  // files that come later: resolution must not depend on load order.
  std::reverse(files.begin(), files.end());
  return files;
}

}  // namespace doppel::bench
