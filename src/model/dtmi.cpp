#include "model/dtmi.h"

namespace doppel::model {

namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word(char c) { return is_alpha(c) || is_digit(c) || c == '_'; }

// A run of digits with no leading zero, at most max_digits long.
bool valid_number(std::string_view s, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits || s[0] == '0') return false;
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

}  // namespace

bool is_valid_name(std::string_view s) {
  if (s.empty() || !is_alpha(s[0]) || s.back() == '_') return false;
  for (char c : s) {
    if (!is_word(c)) return false;
  }
  return true;
}

std::string dtmi_problem(std::string_view s, dtdl_version version) {
  if (!looks_like_dtmi(s)) return "a DTMI starts with \"dtmi:\"";
  std::string_view rest = s.substr(5);
  std::size_t semi = rest.find(';');
  std::string_view path = rest.substr(0, semi);
  if (path.empty()) return "a DTMI needs a path after \"dtmi:\", e.g. dtmi:com:example:Pump;1";
  std::size_t start = 0;
  while (true) {
    std::size_t colon = path.find(':', start);
    std::string_view seg = path.substr(start, colon == std::string_view::npos ? colon : colon - start);
    if (seg.empty()) return "a DTMI path segment is empty (two ':' in a row or a trailing ':')";
    if (seg[0] == '_')
      return "path segment \"" + std::string(seg) + "\" starts with '_', which is reserved for system segments";
    if (!is_alpha(seg[0])) return "path segment \"" + std::string(seg) + "\" must start with a letter";
    if (seg.back() == '_') return "path segment \"" + std::string(seg) + "\" must not end with '_'";
    for (char c : seg) {
      if (!is_word(c)) {
        return "path segment \"" + std::string(seg) + "\" may only hold letters, digits and '_'";
      }
    }
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (semi == std::string_view::npos) {
    if (version == dtdl_version::v2) return "a DTDL v2 DTMI needs a version, e.g. ;1 at the end";
    return {};
  }
  std::string_view ver = rest.substr(semi + 1);
  std::size_t dot = ver.find('.');
  if (dot == std::string_view::npos) {
    if (!valid_number(ver, 9))
      return "the version after ';' must be a number from 1 to 999999999 without leading zeros";
    return {};
  }
  if (version == dtdl_version::v2) return "a DTDL v2 DTMI version is a whole number (no minor version after '.')";
  if (!valid_number(ver.substr(0, dot), 9)) {
    return "the major version after ';' must be a number from 1 to 999999999 without leading zeros";
  }
  if (!valid_number(ver.substr(dot + 1), 6)) {
    return "the minor version after '.' must be a number from 1 to 999999 without leading zeros";
  }
  return {};
}

}  // namespace doppel::model
