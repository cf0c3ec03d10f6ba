#include "sim/fmi/isolated.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
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

// The child's rows on their way to the parent. They go out in blocks (a write per row would cost
// more than a cheap FMU's step), at least every 100 ms. When the FMU crashes or the parent stops
// a hung FMU (SIGTERM), a signal handler sends what is buffered, so that every row computed
// reaches the parent. A handler can only reach it through a global: this one exists in the
// forked child only, and `used` says how much of `bytes` is whole rows at any moment.
struct child_rows {
  int fd = -1;
  char bytes[1 << 16];
  volatile sig_atomic_t used = 0;
};
child_rows* g_rows = nullptr;

void send_rows_and_die(int sig) {
  if (g_rows && g_rows->used > 0) {
    const char* p = g_rows->bytes;
    std::size_t left = static_cast<std::size_t>(g_rows->used);
    while (left > 0) {
      ssize_t n = ::write(g_rows->fd, p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// The child: does the work, streams its CSV to `data`, and its outcome to `outcome` as
// "<code> <message>". Never returns.
[[noreturn]] void child(const child_work& work, int data, int outcome) {
  // An FMU that prints must not mix its text into the CSV the parent may write to stdout.
  ::dup2(2, 1);
  static child_rows rows;
  rows.fd = data;
  g_rows = &rows;
  // A crash may be a stack overflow: the handler runs on a stack of its own.
  static char alt_stack[1 << 16];
  stack_t ss{};
  ss.ss_sp = alt_stack;
  ss.ss_size = sizeof alt_stack;
  ::sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = send_rows_and_die;
  sa.sa_flags = SA_ONSTACK;
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTERM}) ::sigaction(sig, &sa, nullptr);
  auto last = std::chrono::steady_clock::now();
  unsigned rows_since_check = 0;
  auto flush = [&] {
    std::size_t n = static_cast<std::size_t>(rows.used);
    rows.used = 0;
    if (!write_all(data, std::string_view(rows.bytes, n))) _exit(3);  // the parent is gone
    last = std::chrono::steady_clock::now();
  };
  status s = work([&](std::string_view line) {
    if (static_cast<std::size_t>(rows.used) + line.size() > sizeof rows.bytes) flush();
    if (line.size() > sizeof rows.bytes) {
      if (!write_all(data, line)) _exit(3);
    } else {
      std::memcpy(rows.bytes + rows.used, line.data(), line.size());
      rows.used = static_cast<sig_atomic_t>(rows.used + static_cast<sig_atomic_t>(line.size()));
    }
    // The clock is read every 64 rows: a cheap FMU's step costs less than a clock read.
    if (++rows_since_check % 64 == 0 && std::chrono::steady_clock::now() - last >= std::chrono::milliseconds(100)) {
      flush();
    }
  });
  flush();
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
  return run_in_child(
      [&](const std::function<void(std::string_view)>& rows) -> status {
        auto f = fmu::open(fmu_file, options.kind);
        if (!f) return f.error();
        auto inst = (*f)->instantiate((*f)->description().model_name);
        if (!inst) return inst.error();
        return run_cosimulation(**inst, (*f)->description(), options, rows);
      },
      limits, emit);
}

status run_in_child(const child_work& work, const isolation& limits,
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
    child(work, data[1], outcome[1]);
  }
  ::close(data[1]);
  ::close(outcome[1]);

  std::string pending, last_time = "the start";
  bool hung = false;
  char buf[65536];
  for (;;) {
    pollfd p{data[0], POLLIN, 0};
    int r = ::poll(&p, 1, hung ? 1000 : static_cast<int>(limits.timeout.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      if (!hung) {
        // Stopped politely first: the child sends the rows it holds, then dies.
        hung = true;
        ::kill(pid, SIGTERM);
        continue;
      }
      ::kill(pid, SIGKILL);
      break;
    }
    ssize_t n = ::read(data[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the child closed its end: done, failed or dead
    pending.append(buf, static_cast<std::size_t>(n));
    // Whole lines go on; the last one's time is how far the FMU got.
    std::size_t end = pending.rfind('\n');
    if (end == std::string::npos) continue;
    emit(std::string_view(pending.data(), end + 1));
    std::size_t line = end == 0 ? std::string::npos : pending.rfind('\n', end - 1);
    line = line == std::string::npos ? 0 : line + 1;
    std::string_view last(pending.data() + line, end - line);
    last = last.substr(0, last.find(','));  // the time cell (all of it for an FMU without outputs)
    if (last != "time") last_time = "t=" + std::string(last);
    pending.erase(0, end + 1);
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
