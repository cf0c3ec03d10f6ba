// Small helpers shared by every layer: reading whole files, quoting for messages, UTF-8
// length. Safe for concurrent use. Time as text is in core/time.h.
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

}  // namespace doppel
