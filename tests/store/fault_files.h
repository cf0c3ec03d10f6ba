// A file_io for tests (LevelDB's FaultInjectionTestEnv in spirit): the real files underneath,
// plus a record of every write and sync, faults to arm (a write that stops halfway, a failed
// sync, a full disk), and a simulated power loss that drops what was never synced.
// Threading: safe for concurrent use (one mutex).
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/timeseries/file_io.h"

namespace doppel::testing {

class fault_files final : public ts::file_io, public std::enable_shared_from_this<fault_files> {
 public:
  struct op {
    enum kind_t { write, sync, truncate } kind;
    std::string file;        // file name only
    std::uint64_t size = 0;  // the file's size after the op (as the history's handle sees it)
    bool failed = false;
  };

  static std::shared_ptr<fault_files> make() { return std::shared_ptr<fault_files>(new fault_files()); }

  // The next append writes only its first `bytes` bytes, then fails (EIO).
  void fail_next_write(std::uint64_t bytes) {
    std::lock_guard lock(mu_);
    write_fails_after_ = bytes;
  }
  // The next sync fails (EIO) without making anything durable.
  void fail_next_sync() { fail_nth_sync(1); }
  // The n-th sync from now (1: the next) fails so.
  void fail_nth_sync(int n) {
    std::lock_guard lock(mu_);
    syncs_until_failure_ = n;
  }
  // While full, appends write nothing and fail with ENOSPC.
  void set_disk_full(bool full) {
    std::lock_guard lock(mu_);
    full_ = full;
  }
  std::vector<op> ops() const {
    std::lock_guard lock(mu_);
    return ops_;
  }
  std::uint64_t syncs() const {
    std::lock_guard lock(mu_);
    std::uint64_t n = 0;
    for (const op& o : ops_) n += o.kind == op::sync && !o.failed;
    return n;
  }
  // A power loss: each file written through this is cut to the size it had at its last
  // successful sync (what the page cache held is gone). Call with no file open.
  void lose_unsynced() {
    std::lock_guard lock(mu_);
    for (const auto& [path, synced] : synced_) {
      std::error_code ec;
      if (std::filesystem::exists(path, ec) && std::filesystem::file_size(path, ec) > synced) {
        std::filesystem::resize_file(path, synced, ec);
      }
    }
  }

  result<std::unique_ptr<ts::log_file>> open(const std::filesystem::path& path, bool truncate) override {
    auto f = real_->open(path, truncate);
    if (!f) return f.error();
    std::lock_guard lock(mu_);
    // A file opened here was durable as it is (written before this test's faults, or replayed).
    if (!synced_.count(path.string()) || truncate) synced_[path.string()] = (*f)->size();
    return std::unique_ptr<ts::log_file>(new file(shared_from_this(), path, std::move(*f)));
  }
  status read(const std::filesystem::path& path, std::string& out) override { return real_->read(path, out); }
  status rename(const std::filesystem::path& from, const std::filesystem::path& to) override {
    if (status st = real_->rename(from, to); !st) return st;
    std::lock_guard lock(mu_);
    auto it = synced_.find(from.string());
    if (it != synced_.end()) {
      synced_[to.string()] = it->second;
      synced_.erase(it);
    }
    return status::ok();
  }
  status sync_dir(const std::filesystem::path& dir) override { return real_->sync_dir(dir); }

 private:
  fault_files() = default;

  class file final : public ts::log_file {
   public:
    file(std::shared_ptr<fault_files> owner, std::filesystem::path path, std::unique_ptr<ts::log_file> real)
        : owner_(std::move(owner)), path_(std::move(path)), real_(std::move(real)) {}

    status append(std::string_view bytes) override {
      fault_files& o = *owner_;
      std::unique_lock lock(o.mu_);
      status st;
      if (o.full_) {
        st = error(ENOSPC);
      } else if (o.write_fails_after_) {
        std::uint64_t n = std::min<std::uint64_t>(*o.write_fails_after_, bytes.size());
        o.write_fails_after_.reset();
        st = real_->append(bytes.substr(0, n));
        if (st) st = error(EIO);
      } else {
        st = real_->append(bytes);
      }
      o.ops_.push_back({op::write, path_.filename().string(), real_->size(), !st});
      return st;
    }
    status sync() override {
      fault_files& o = *owner_;
      std::lock_guard lock(o.mu_);
      status st;
      if (o.syncs_until_failure_ > 0 && --o.syncs_until_failure_ == 0) {
        st = error(EIO);
      } else {
        st = real_->sync();
      }
      if (st) o.synced_[path_.string()] = real_->size();
      o.ops_.push_back({op::sync, path_.filename().string(), real_->size(), !st});
      return st;
    }
    status truncate(std::uint64_t size) override {
      fault_files& o = *owner_;
      std::lock_guard lock(o.mu_);
      status st = real_->truncate(size);
      o.ops_.push_back({op::truncate, path_.filename().string(), real_->size(), !st});
      return st;
    }
    std::uint64_t size() const override { return real_->size(); }

   private:
    status error(int err) const {
      return status::io_error("cannot write " + path_.string() + ": " + std::strerror(err));
    }

    std::shared_ptr<fault_files> owner_;
    std::filesystem::path path_;
    std::unique_ptr<ts::log_file> real_;
  };

  std::shared_ptr<ts::file_io> real_ = ts::real_files();
  mutable std::mutex mu_;
  std::vector<op> ops_;
  std::map<std::string, std::uint64_t> synced_;  // path -> its size at its last successful sync
  std::optional<std::uint64_t> write_fails_after_;
  int syncs_until_failure_ = 0;  // counts syncs down to the one that fails; 0: none armed
  bool full_ = false;
};

}  // namespace doppel::testing
