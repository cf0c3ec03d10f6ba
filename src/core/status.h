// Status and Result<T>: how expected failures cross module boundaries in Doppel.
//
// Every function that can fail for a reason the caller should handle (bad input, not found,
// I/O) returns a Status or a Result<T> instead of throwing. Exceptions thrown by third-party
// libraries are caught inside the module that called the library and turned into these.
// Both types are plain values: safe to copy and move between threads, not internally synchronized.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace doppel {

enum class status_code {
  ok = 0,
  invalid_argument,       // the input is malformed or breaks a rule; the message says which
  not_found,              // a named thing does not exist
  already_exists,         // a create collided with an existing thing
  failed_precondition,    // the system is not in a state where this can be done
  precondition_mismatch,  // a conditional write's If-Match / If-None-Match did not hold (HTTP 412)
  io_error,               // the operating system refused (open, read, write)
  unavailable,            // busy for now (a queue is full): retry later
  internal,               // a bug: should never reach a user
};

// The lower-case identifier of a code, used in JSON error bodies ("invalid_argument").
std::string_view to_string(status_code code);

class [[nodiscard]] status {
 public:
  status() = default;  // ok
  status(status_code code, std::string message) : code_(code), message_(std::move(message)) {
    assert(code != status_code::ok);
  }

  static status ok() { return {}; }
  static status invalid_argument(std::string m) { return {status_code::invalid_argument, std::move(m)}; }
  static status not_found(std::string m) { return {status_code::not_found, std::move(m)}; }
  static status already_exists(std::string m) { return {status_code::already_exists, std::move(m)}; }
  static status failed_precondition(std::string m) { return {status_code::failed_precondition, std::move(m)}; }
  static status io_error(std::string m) { return {status_code::io_error, std::move(m)}; }
  static status unavailable(std::string m) { return {status_code::unavailable, std::move(m)}; }
  static status internal(std::string m) { return {status_code::internal, std::move(m)}; }
  static status precondition_mismatch(std::string m) { return {status_code::precondition_mismatch, std::move(m)}; }

  bool is_ok() const { return code_ == status_code::ok; }
  explicit operator bool() const { return is_ok(); }
  status_code code() const { return code_; }
  const std::string& message() const { return message_; }
  // A stable name of this particular failure, for programs, where the code alone is too coarse:
  // the twin layer names its failures as Azure Digital Twins does ("DigitalTwinNotFound",
  // "ValidationFailed"), and the API sends the name as error.code. Empty when the code says enough.
  std::string_view reason() const { return reason_; }
  // This status with `reason`, which must be a string literal (it is kept as a view).
  status with_reason(std::string_view reason) const& {
    status s = *this;
    s.reason_ = reason;
    return s;
  }
  status with_reason(std::string_view reason) && {
    reason_ = reason;
    return std::move(*this);
  }

  // "invalid_argument: <message>", or "ok".
  std::string to_string() const;

 private:
  status_code code_ = status_code::ok;
  std::string message_;
  std::string_view reason_;
};

// A value or the status saying why there is none. Accessing value() of a failed result is a
// caller bug and asserts.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like std::expected
  result(status s) : v_(std::move(s)) { assert(!std::get<status>(v_).is_ok()); }

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }

  T& value() & {
    assert(is_ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(is_ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(is_ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The failure; ok() when this holds a value.
  status error() const { return is_ok() ? status::ok() : std::get<1>(v_); }

 private:
  std::variant<T, status> v_;
};

}  // namespace doppel
