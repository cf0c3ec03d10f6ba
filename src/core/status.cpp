#include "core/status.h"

namespace doppel {

std::string_view to_string(status_code code) {
  switch (code) {
    case status_code::ok: return "ok";
    case status_code::invalid_argument: return "invalid_argument";
    case status_code::not_found: return "not_found";
    case status_code::already_exists: return "already_exists";
    case status_code::failed_precondition: return "failed_precondition";
    case status_code::io_error: return "io_error";
    case status_code::unavailable: return "unavailable";
    case status_code::internal: return "internal";
    case status_code::precondition_mismatch: return "precondition_mismatch";
  }
  return "unknown";
}

std::string status::to_string() const {
  if (is_ok()) return "ok";
  std::string out(doppel::to_string(code_));
  out += ": ";
  out += message_;
  return out;
}

}  // namespace doppel
