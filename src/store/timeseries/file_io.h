// The file I/O of the time-series store's logs behind a small interface (in the spirit of
// LevelDB's Env), so that tests can count syncs and inject faults (a failed write, a failed sync,
// a full disk) into the real code path. The history writes its write-ahead logs and its carry log
// through it; the SQLite chunk store does its own I/O.
// Callers: history (history.h), and tests that wrap real_files() to inject faults.
// Threading: a file_io is safe for concurrent use; a log_file is used by one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace doppel::ts {

// A file opened for appending.
class log_file {
 public:
  virtual ~log_file() = default;

  // Appends all of `bytes`. io_error with the system's reason ("No space left on device") when
  // not all of them were written; any prefix of them may then be in the file, and the caller
  // cuts it off with truncate(). Must not allocate on success: it runs once per shard pass.
  virtual status append(std::string_view bytes) = 0;
  // Makes the appended bytes durable (fdatasync). io_error when they may not be: the caller
  // must not report them as durable, and must not assume that a later sync will make them so.
  virtual status sync() = 0;
  // Cuts the file to `size` bytes (not durable until sync()).
  virtual status truncate(std::uint64_t size) = 0;
  // The file's size as this handle left it.
  virtual std::uint64_t size() const = 0;
};

class file_io {
 public:
  virtual ~file_io() = default;

  // Opens `path` for appending, creating it when missing and emptying it when `truncate`.
  // io_error when it cannot be opened.
  virtual result<std::unique_ptr<log_file>> open(const std::filesystem::path& path, bool truncate) = 0;
  // Reads the whole of `path` into `out` (replacing its content). io_error when it cannot.
  virtual status read(const std::filesystem::path& path, std::string& out) = 0;
  // Renames `from` to `to`, replacing `to` atomically. io_error when it cannot.
  virtual status rename(const std::filesystem::path& from, const std::filesystem::path& to) = 0;
  // Makes `dir`'s entries (files created or renamed in it) durable. io_error when it cannot.
  virtual status sync_dir(const std::filesystem::path& dir) = 0;
};

// The operating system's files (POSIX: write, fdatasync, ftruncate, rename, fsync of the
// directory). Holds no state: each call returns a new instance.
std::shared_ptr<file_io> real_files();

}  // namespace doppel::ts
