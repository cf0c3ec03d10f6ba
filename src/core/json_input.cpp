#include "core/json_input.h"

#include <cstdint>
#include <cstring>

namespace doppel {

namespace {

// nlohmann's DOM builder, keeping the place and kind of the first error instead of throwing:
// json::parse throws parse_error for syntax but out_of_range for a number like 1e400.
class located_dom_parser : public nlohmann::detail::json_sax_dom_parser<nlohmann::json> {
 public:
  explicit located_dom_parser(nlohmann::json& out) : json_sax_dom_parser(out, false) {}

  template <class Exception>
  bool parse_error(std::size_t position, const std::string& token, const Exception& ex) {
    position_ = position;
    token_ = token;
    id_ = ex.id;
    what_ = ex.what();
    return false;
  }

  std::size_t position_ = 0;
  std::string token_, what_;
  int id_ = 0;
};

std::string at_byte(std::size_t offset) { return "at byte " + std::to_string(offset); }

}  // namespace

std::string_view to_string(json_refusal kind) {
  switch (kind) {
    case json_refusal::none: return "ok";
    case json_refusal::invalid_utf8: return "invalid_utf8";
    case json_refusal::too_deep: return "too_deep";
    case json_refusal::malformed: return "malformed_json";
    case json_refusal::number_out_of_range: return "number_out_of_range";
  }
  return "malformed_json";
}

std::size_t find_invalid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t n = text.size(), i = 0;
  while (i < n) {
    // ASCII, eight bytes at a time: almost all of what arrives.
    if (i + 8 <= n) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // RFC 3629's table: the lead byte fixes the length and the range of the second byte.
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
      return i;
    }
    if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

json_check check_json_text(std::string_view text, std::size_t max_depth) {
  if (std::size_t bad = find_invalid_utf8(text); bad != std::string_view::npos) {
    return {json_refusal::invalid_utf8, bad,
            "the text is not valid UTF-8 " + at_byte(bad) + "; send UTF-8 text (other bytes as \\u escapes or base64)"};
  }
  std::size_t start = utf8_bom_size(text);
  if (start > 0 && utf8_bom_size(text.substr(start)) > 0) {
    // nlohmann would skip this one too; the other parsers would not. One mark, at the start only.
    return {json_refusal::malformed, start,
            "the text is not valid JSON " + at_byte(start) +
                ": a second byte order mark; save the file with at most one (UTF-8, with or without BOM)"};
  }
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = start; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, whatever it is
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > max_depth) {
          return {json_refusal::too_deep, i,
                  "the JSON nests deeper than " + std::to_string(max_depth) + " levels " + at_byte(i) +
                      "; objects and arrays may be nested at most " + std::to_string(max_depth) +
                      " deep: flatten the document"};
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default: break;
    }
  }
  return {};
}

result<nlohmann::json> parse_json(std::string_view text, json_check* why, std::size_t max_depth) {
  json_check check = check_json_text(text, max_depth);
  nlohmann::json out;
  if (check.ok()) {
    located_dom_parser sax(out);
    bool parsed = false;
    try {
      // nlohmann skips a byte order mark itself, but only this one helper decides what a JSON
      // input may start with; offsets below count from the start of `text`.
      parsed = nlohmann::json::sax_parse(skip_utf8_bom(text), &sax);
    } catch (const nlohmann::json::exception& e) {  // not expected with a non-throwing handler
      sax.id_ = e.id;
      sax.what_ = e.what();
    }
    if (!parsed) {
      // The position is just past the offending token; its start is what a reader looks for.
      std::size_t at =
          (sax.position_ >= sax.token_.size() ? sax.position_ - sax.token_.size() : 0) + utf8_bom_size(text);
      std::string reason = sax.what_;
      if (auto colon = reason.find(": "); colon != std::string::npos) reason = reason.substr(colon + 2);
      if (sax.id_ == 406) {  // out_of_range: a number a double cannot hold
        check = {json_refusal::number_out_of_range, at,
                 "the number " + at_byte(at) +
                     " is out of range: a JSON number must fit a 64-bit double (at most about 1.8e308); "
                     "send it within that range, or as a string"};
      } else {
        check = {json_refusal::malformed, at, "the text is not valid JSON " + at_byte(at) + ": " + reason};
      }
    }
  }
  if (why) *why = check;
  if (!check.ok()) return status::invalid_argument(check.message);
  return out;
}

}  // namespace doppel
