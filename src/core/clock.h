// The clock behind a small interface (in the spirit of LevelDB's Env), so code that waits for
// time to pass (history retention; later rules' `for` durations) runs in tests on a clock the
// test moves, without sleeping. Two readings: wall-clock time (Unix nanoseconds, which may jump
// when the system's time is set) and a monotonic reading (nanoseconds from an arbitrary zero,
// never going back) for intervals and deadlines.
// Callers: src/app passes real_clock() down to what it builds; tests pass a manual_clock.
// Threading: every clock is safe for concurrent use.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "core/time.h"

namespace doppel {

class clock {
 public:
  virtual ~clock() = default;

  // Wall-clock time as Unix nanoseconds.
  virtual instant_ns now() const = 0;
  // Nanoseconds from an arbitrary zero; never smaller than an earlier reading.
  virtual std::int64_t monotonic() const = 0;

  // Blocks until `done()` holds or monotonic() reaches `deadline`, and returns done(). `lock`
  // (of the mutex guarding what done() reads) is held on entry and on return and released while
  // waiting, as std::condition_variable does; whoever makes done() true notifies `cv`.
  virtual bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, std::int64_t deadline,
                          const std::function<bool()>& done) const = 0;
};

// The system's clocks (std::chrono::system_clock and steady_clock). Holds no state.
std::shared_ptr<clock> real_clock();

// A clock for tests that stands still until told: advance() moves both readings, set() makes
// the wall clock jump (either way) as an operator or NTP might.
class manual_clock final : public clock {
 public:
  explicit manual_clock(instant_ns now = 0) : now_(now) {}

  instant_ns now() const override { return now_.load(); }
  std::int64_t monotonic() const override { return monotonic_.load(); }
  // Waits in slices of a millisecond of real time, looking at the readings after each: the clock
  // does not know the condition variables of its waiters, and tests wait only briefly.
  bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, std::int64_t deadline,
                  const std::function<bool()>& done) const override;

  // Moves both readings forward by `by` nanoseconds (by >= 0).
  void advance(duration_ns by);
  // Sets the wall clock to `now`; the monotonic reading does not move.
  void set(instant_ns now) { now_.store(now); }

 private:
  std::atomic<instant_ns> now_;
  std::atomic<std::int64_t> monotonic_{0};
};

}  // namespace doppel
