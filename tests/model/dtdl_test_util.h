// Helpers for the DTDL front-end tests: wrap contents into interface documents, load them and
// match diagnostics by message, line, JSON path and file, printing every error on a mismatch.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/diagnostic.h"
#include "model/registry.h"

namespace doppel::model::testing {

inline constexpr std::string_view k_file = "test.json";
inline constexpr std::string_view k_id = "dtmi:test:I;1";
inline constexpr std::string_view k_v2 = R"("dtmi:dtdl:context;2")";
inline constexpr std::string_view k_v3 = R"("dtmi:dtdl:context;3")";

// One Interface document. Line 1 holds everything up to the opening `[` of "contents"; the
// contents text follows from line 2 (a leading newline in `contents` is dropped), so a raw
// string literal that starts with a newline puts its first line on line 2, its second on
// line 3, ... and the line numbers in a test read the same as the literal's lines.
// `extra` holds more members for line 1, each followed by a comma.
inline std::string interface_doc(std::string_view context, std::string_view contents, std::string_view id = k_id,
                                 std::string_view extra = {}) {
  if (!contents.empty() && contents.front() == '\n') contents.remove_prefix(1);
  std::string out = "{\"@context\": " + std::string(context) + ", \"@id\": \"" + std::string(id) +
                    "\", \"@type\": \"Interface\", " + std::string(extra) + "\"contents\": [\n";
  out += contents;
  out += "\n]}";
  return out;
}

// A DTDL v3 / v2 Interface holding `contents` (see interface_doc for the line layout).
inline std::string v3(std::string_view contents, std::string_view id = k_id, std::string_view extra = {}) {
  return interface_doc(k_v3, contents, id, extra);
}
inline std::string v2(std::string_view contents, std::string_view id = k_id, std::string_view extra = {}) {
  return interface_doc(k_v2, contents, id, extra);
}
// A DTDL v3 Interface whose @context adds `extension` (a DTMI without quotes).
inline std::string v3_with(std::string_view extension, std::string_view contents, std::string_view id = k_id) {
  return interface_doc("[\"dtmi:dtdl:context;3\", \"" + std::string(extension) + "\"]", contents, id);
}

inline load_report load(std::vector<source> sources, registry_options options = {}) {
  model_registry registry(options);
  return registry.load(std::move(sources));
}
inline load_report load(std::string text, registry_options options = {}) {
  std::vector<source> sources;
  sources.push_back({std::string(k_file), std::move(text)});
  return load(std::move(sources), options);
}

inline std::string all_errors(const load_report& r) {
  std::string out;
  for (const auto& d : r.errors) out += "  " + format(d) + "\n";
  return out.empty() ? std::string("  (no errors)\n") : out;
}

inline ::testing::AssertionResult loads_ok(const load_report& r) {
  if (r.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected the model to load, but got " << r.errors.size() << " error(s):\n"
                                       << all_errors(r);
}

// What an expected error must match; empty / zero fields match anything.
struct where {
  std::uint32_t line = 0;
  std::string path;
  std::uint32_t column = 0;
  std::string file;
};

inline bool matches(const diagnostic& d, std::string_view text, const where& w) {
  bool text_ok = d.message.find(text) != std::string::npos || d.hint.find(text) != std::string::npos;
  return text_ok && (w.line == 0 || d.line == w.line) && (w.path.empty() || d.path == w.path) &&
         (w.column == 0 || d.column == w.column) && (w.file.empty() || d.file == w.file);
}

// True when some error mentions `text` (in its message or hint) at `w`.
inline ::testing::AssertionResult has_error(const load_report& r, std::string_view text, where w = {}) {
  for (const auto& d : r.errors) {
    if (matches(d, text, w)) {
      if (d.file.empty()) return ::testing::AssertionFailure() << "error without a file: " << format(d);
      return ::testing::AssertionSuccess();
    }
  }
  auto f = ::testing::AssertionFailure();
  f << "no error mentioning \"" << text << "\"";
  if (w.line) f << " on line " << w.line;
  if (w.column) f << " column " << w.column;
  if (!w.path.empty()) f << " at " << w.path;
  if (!w.file.empty()) f << " in " << w.file;
  return f << "; the errors were:\n" << all_errors(r);
}
inline ::testing::AssertionResult has_error(const load_report& r, std::string_view text, std::uint32_t line,
                                            std::string path = {}, std::uint32_t column = 0) {
  return has_error(r, text, where{line, std::move(path), column, std::string(k_file)});
}

// Exactly one error, and it matches.
inline ::testing::AssertionResult has_only_error(const load_report& r, std::string_view text, std::uint32_t line = 0,
                                                 std::string path = {}) {
  if (r.errors.size() != 1) {
    return ::testing::AssertionFailure() << "expected exactly one error mentioning \"" << text << "\", got "
                                         << r.errors.size() << ":\n"
                                         << all_errors(r);
  }
  return has_error(r, text, line, std::move(path));
}

}  // namespace doppel::model::testing
