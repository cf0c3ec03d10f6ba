// A diagnostic is one problem found in a model file: where (file, JSON path, line:column), what
// is wrong, and what to do about it. The DTDL front end returns all of them in one run.
// Plain values; safe to copy between threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace doppel::model {

struct diagnostic {
  std::string file;          // the name the source was loaded under (usually its path)
  std::string path;          // JSON path inside the file, e.g. $[0].contents[2].schema
  std::uint32_t line = 0;    // 1-based; 0 when the problem has no single place
  std::uint32_t column = 0;  // 1-based byte column
  std::string message;       // what is wrong
  std::string hint;          // how to fix it; may be empty
};

// "file:line:column: error: message [at path]" and, when there is one, "\n  hint: ...".
std::string format(const diagnostic& d);

// Diagnostics as a JSON array of objects {file, path, line, column, message, hint}.
std::string to_json(const std::vector<diagnostic>& ds);

}  // namespace doppel::model
