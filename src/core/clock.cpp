#include "core/clock.h"

#include <cassert>
#include <chrono>

namespace doppel {

namespace {

class system_clocks final : public clock {
 public:
  instant_ns now() const override { return unix_time_ns(); }

  std::int64_t monotonic() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, std::int64_t deadline,
                  const std::function<bool()>& done) const override {
    std::chrono::steady_clock::time_point at{std::chrono::nanoseconds(deadline)};
    return cv.wait_until(lock, at, done);
  }
};

}  // namespace

std::shared_ptr<clock> real_clock() { return std::make_shared<system_clocks>(); }

bool manual_clock::wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, std::int64_t deadline,
                              const std::function<bool()>& done) const {
  while (!done()) {
    if (monotonic() >= deadline) return false;
    cv.wait_for(lock, std::chrono::milliseconds(1));
  }
  return true;
}

void manual_clock::advance(duration_ns by) {
  assert(by >= 0);
  now_.fetch_add(by);
  monotonic_.fetch_add(by);
}

}  // namespace doppel
