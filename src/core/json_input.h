// One policy for every JSON text Doppel reads (HTTP bodies, MQTT payloads, project files,
// token files, model files): valid UTF-8, an optional leading byte order mark, at most
// k_max_json_depth levels of nesting, numbers a double can hold. check_json_text() scans the bytes before any parser
// sees them, so the recursive code after a parse (nlohmann's copy and dump, the schema checks, simdjson-to-nlohmann
// conversion) never meets a document deeper than the limit; parse_json() is that check plus nlohmann's parse with every
// exception caught. Pure functions; safe for concurrent use.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace doppel {

// Objects and arrays inside each other at most this deep ({"a": [1]} is 2 levels). DTDL
// documents nest about 20 deep at most (schemas nest 5 deep); nothing Doppel stores needs more.
inline constexpr std::size_t k_max_json_depth = 64;

// Why a JSON text was refused. to_string() gives the dead-letter reason of each.
enum class json_refusal {
  none,
  invalid_utf8,         // "invalid_utf8"
  too_deep,             // "too_deep"
  malformed,            // "malformed_json": a syntax error
  number_out_of_range,  // "number_out_of_range": 1e400 (a double holds up to about 1.8e308)
};
std::string_view to_string(json_refusal kind);

struct json_check {
  json_refusal kind = json_refusal::none;
  std::size_t offset = 0;  // byte offset of the problem in the text
  std::string message;     // what, where (byte offset) and how to fix it; empty when kind is none

  bool ok() const { return kind == json_refusal::none; }
};

// The offset of the first byte of `text` that is not part of valid UTF-8 (overlong forms,
// surrogates and code points above U+10FFFF are invalid), or std::string_view::npos.
std::size_t find_invalid_utf8(std::string_view text);
inline bool is_valid_utf8(std::string_view text) { return find_invalid_utf8(text) == std::string_view::npos; }

// A UTF-8 byte order mark (U+FEFF as EF BB BF). RFC 8259 section 8.1 lets a parser ignore one
// at the start of a text, Azure Digital Twins accepts it, and published DTDL ontologies
// (RealEstateCore, the energy grid and smart cities ontologies) start every file with one.
inline constexpr std::string_view k_utf8_bom = "\xEF\xBB\xBF";

// The size of the byte order mark at the start of `text`: 3, or 0 when there is none. Every
// parser of a JSON input starts reading at this offset and keeps reporting positions as byte
// offsets of the whole text (so "at byte N" still counts the mark).
inline std::size_t utf8_bom_size(std::string_view text) { return text.starts_with(k_utf8_bom) ? k_utf8_bom.size() : 0; }

// `text` without its leading byte order mark, if it has one (a view into `text`).
inline std::string_view skip_utf8_bom(std::string_view text) { return text.substr(utf8_bom_size(text)); }

// Checks the bytes of a JSON text (a leading byte order mark is skipped; offsets count it): valid UTF-8 and nesting at
// most `max_depth` levels (strings are skipped, so brackets inside them do not count). Syntax is left to the parser.
json_check check_json_text(std::string_view text, std::size_t max_depth = k_max_json_depth);

// check_json_text(), then nlohmann's parse of the text after any byte order mark. Every failure is invalid_argument
// with a message saying what, at which byte, and how to fix it; `why`, when given, receives the kind and offset. Never
// throws.
result<nlohmann::json> parse_json(std::string_view text, json_check* why = nullptr,
                                  std::size_t max_depth = k_max_json_depth);

}  // namespace doppel
