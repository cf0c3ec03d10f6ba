#include "model/diagnostic.h"

#include <nlohmann/json.hpp>

namespace doppel::model {

std::string format(const diagnostic& d) {
  std::string out = d.file;
  if (d.line) out += ":" + std::to_string(d.line) + ":" + std::to_string(d.column);
  out += ": error: " + d.message;
  if (!d.path.empty()) out += " [at " + d.path + "]";
  if (!d.hint.empty()) out += "\n  hint: " + d.hint;
  return out;
}

std::string to_json(const std::vector<diagnostic>& ds) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& d : ds) {
    arr.push_back({{"file", d.file},
                   {"path", d.path},
                   {"line", d.line},
                   {"column", d.column},
                   {"message", d.message},
                   {"hint", d.hint}});
  }
  // Replace invalid UTF-8 from user input rather than throwing.
  return arr.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace doppel::model
