#include "store/timeseries/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace doppel::ts {

namespace {

status os_error(std::string_view what, const std::filesystem::path& path, int err) {
  return status::io_error(std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

class posix_log final : public log_file {
 public:
  posix_log(int fd, std::filesystem::path path, std::uint64_t size) : fd_(fd), path_(std::move(path)), size_(size) {}
  ~posix_log() override { ::close(fd_); }
  posix_log(const posix_log&) = delete;
  posix_log& operator=(const posix_log&) = delete;

  status append(std::string_view bytes) override {
    for (std::size_t at = 0; at < bytes.size();) {
      ssize_t n = ::write(fd_, bytes.data() + at, bytes.size() - at);
      if (n < 0) {
        if (errno == EINTR) continue;
        return os_error("cannot write", path_, errno);
      }
      at += static_cast<std::size_t>(n);
      size_ += static_cast<std::uint64_t>(n);
    }
    return status::ok();
  }

  status sync() override {
    if (::fdatasync(fd_) != 0) return os_error("cannot sync", path_, errno);
    return status::ok();
  }

  status truncate(std::uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return os_error("cannot truncate", path_, errno);
    size_ = size;
    return status::ok();
  }

  std::uint64_t size() const override { return size_; }

 private:
  int fd_;
  std::filesystem::path path_;
  std::uint64_t size_;
};

class posix_files final : public file_io {
 public:
  result<std::unique_ptr<log_file>> open(const std::filesystem::path& path, bool truncate) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0644);
    if (fd < 0) return os_error("cannot open", path, errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return os_error("cannot stat", path, err);
    }
    return std::unique_ptr<log_file>(new posix_log(fd, path, static_cast<std::uint64_t>(st.st_size)));
  }

  status read(const std::filesystem::path& path, std::string& out) override {
    out.clear();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return os_error("cannot open", path, errno);
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        return os_error("cannot read", path, err);
      }
      if (n == 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return status::ok();
  }

  status rename(const std::filesystem::path& from, const std::filesystem::path& to) override {
    if (std::rename(from.c_str(), to.c_str()) != 0) return os_error("cannot rename", from, errno);
    return status::ok();
  }

  status sync_dir(const std::filesystem::path& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return os_error("cannot open", dir, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return os_error("cannot sync", dir, err);
    return status::ok();
  }
};

}  // namespace

std::shared_ptr<file_io> real_files() { return std::make_shared<posix_files>(); }

}  // namespace doppel::ts
