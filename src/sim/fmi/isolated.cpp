#include "sim/fmi/isolated.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace doppel::sim::fmi {

namespace {

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// The child: runs the FMU, streams CSV lines to `data`, and its outcome to `result` as
// "<code digit><message>". Never returns.
[[noreturn]] void child(const std::filesystem::path& file, const run_options& options, int data, int outcome) {
  // An FMU that prints must not mix its text into the CSV the parent may write to stdout.
  ::dup2(2, 1);
  status s;
  {
    auto f = fmu::open(file);
    if (!f) {
      s = f.error();
    } else {
      auto inst = (*f)->instantiate((*f)->description().model_name);
      if (!inst) {
        s = inst.error();
      } else {
        s = run_cosimulation(**inst, (*f)->description(), options, [&](std::string_view line) {
          if (!write_all(data, line)) _exit(3);  // the parent is gone
        });
      }
    }
  }
  std::string message = std::to_string(static_cast<int>(s.code())) + " " + s.message();
  write_all(outcome, message);
  _exit(s ? 0 : 1);
}

std::string signal_name(int sig) {
  const char* d = strsignal(sig);
  return std::string(d ? d : "signal") + " (signal " + std::to_string(sig) + ")";
}

}  // namespace

status run_isolated(const std::filesystem::path& fmu_file, const run_options& options, const isolation& limits,
                    const std::function<void(std::string_view)>& emit) {
  int data[2], outcome[2];
  if (::pipe2(data, O_CLOEXEC) != 0) return status::io_error(std::string("pipe: ") + std::strerror(errno));
  if (::pipe2(outcome, O_CLOEXEC) != 0) {
    ::close(data[0]);
    ::close(data[1]);
    return status::io_error(std::string("pipe: ") + std::strerror(errno));
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    for (int fd : {data[0], data[1], outcome[0], outcome[1]}) ::close(fd);
    return status::io_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::close(data[0]);
    ::close(outcome[0]);
    child(fmu_file, options, data[1], outcome[1]);
  }
  ::close(data[1]);
  ::close(outcome[1]);

  std::string pending, last_time = "the start";
  bool hung = false;
  char buf[65536];
  for (;;) {
    pollfd p{data[0], POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(limits.timeout.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      hung = true;
      ::kill(pid, SIGKILL);
      break;
    }
    ssize_t n = ::read(data[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the child closed its end: done, failed or dead
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(pending.data() + start, nl + 1 - start);
      emit(line);
      if (auto comma = line.find(','); comma != std::string_view::npos && line.substr(0, comma) != "time") {
        last_time = "t=" + std::string(line.substr(0, comma));
      }
    }
    pending.erase(0, start);
  }
  ::close(data[0]);
  std::string message;
  for (;;) {
    ssize_t n = ::read(outcome[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    message.append(buf, static_cast<std::size_t>(n));
  }
  ::close(outcome[0]);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (hung) {
    return status::failed_precondition("the FMU did not finish a step within " +
                                       std::to_string(limits.timeout.count()) + " ms after " + last_time +
                                       " (it hangs?); it was stopped");
  }
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) return {};
  // No outcome from the child: it died in the FMU (a signal, or a sanitizer's or the FMU's own
  // exit), which is a crash whatever the way.
  auto space = message.find(' ');
  if (space == std::string::npos) {
    std::string how = WIFSIGNALED(wstatus) ? "with " + signal_name(WTERMSIG(wstatus))
                                           : "(its process exited with code " +
                                                 std::to_string(WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1) + ")";
    return status::failed_precondition("the FMU crashed " + how + " after " + last_time +
                                       "; the results up to there were written");
  }
  int code = std::atoi(message.substr(0, space).c_str());
  std::string text = message.substr(space + 1);
  if (code == static_cast<int>(status_code::invalid_argument)) return status::invalid_argument(text);
  if (code == static_cast<int>(status_code::io_error)) return status::io_error(text);
  return status::failed_precondition(text + " (after " + last_time + ")");
}

}  // namespace doppel::sim::fmi
