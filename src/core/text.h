// Small helpers shared by every layer: reading whole files, quoting for messages, UTF-8
// length, wall-clock time as Unix time and as RFC 3339 text. Safe for concurrent use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace doppel {

// Reads the whole file as bytes. io_error names the path and the OS reason.
result<std::string> read_file(const std::filesystem::path& path);

// Writes bytes to path, replacing it. io_error names the path and the OS reason.
status write_file(const std::filesystem::path& path, std::string_view bytes);

// Writes a file only its owner may read (mode 0600: tokens, passwords), creating its folder:
// to PATH.tmp, fsynced, then renamed over PATH, so a reader never sees half of it.
status write_private_file(const std::filesystem::path& path, std::string_view bytes);

// The number of Unicode code points in valid UTF-8 text (continuation bytes are not counted).
std::size_t utf8_length(std::string_view text);

// `text` in double quotes with control characters and quotes escaped, cut to max_len code
// points with an ellipsis: for putting user input into error messages safely.
std::string quote(std::string_view text, std::size_t max_len = 80);

// Unix milliseconds as RFC 3339 UTC with milliseconds ("2026-11-25T10:00:00.000Z"), the form
// ADT writes lastUpdateTime in; fixed width for years 0-9999, so text order is time order.
std::string rfc3339_ms(std::int64_t unix_ms);

// Unix nanoseconds as RFC 3339 UTC: milliseconds when the time is a whole millisecond
// ("...T10:00:00.000Z"), else nanoseconds ("...T10:00:00.000000123Z").
std::string rfc3339_ns(std::int64_t unix_ns);
// rfc3339_ns(unix_ns) appended to `out`.
void append_rfc3339_ns(std::string& out, std::int64_t unix_ns);

// The system clock as Unix time (milliseconds, nanoseconds).
std::int64_t unix_time_ms();
std::int64_t unix_time_ns();

}  // namespace doppel
