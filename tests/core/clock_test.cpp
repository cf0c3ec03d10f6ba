#include "core/clock.h"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <thread>

namespace doppel {
namespace {

TEST(Clock, ManualClockMovesOnlyWhenTold) {
  manual_clock c(1000);
  EXPECT_EQ(c.now(), 1000);
  EXPECT_EQ(c.monotonic(), 0);
  c.advance(k_ns_per_s);
  EXPECT_EQ(c.now(), 1000 + k_ns_per_s);
  EXPECT_EQ(c.monotonic(), k_ns_per_s);
  c.set(-5);  // the wall clock jumps back; the monotonic reading does not
  EXPECT_EQ(c.now(), -5);
  EXPECT_EQ(c.monotonic(), k_ns_per_s);
}

TEST(Clock, ManualClockWaitEndsWhenTheClockReachesTheDeadline) {
  manual_clock c;
  std::mutex mu;
  std::condition_variable cv;
  bool woke = false, result = true;
  std::thread waiter([&] {
    std::unique_lock lock(mu);
    result = c.wait_until(lock, cv, 10 * k_ns_per_s, [] { return false; });
    woke = true;
  });
  c.advance(9 * k_ns_per_s);
  {
    std::unique_lock lock(mu);
    EXPECT_FALSE(woke);  // a second short of the deadline
  }
  c.advance(k_ns_per_s);
  waiter.join();
  EXPECT_TRUE(woke);
  EXPECT_FALSE(result);  // the deadline, not the condition, ended it
}

TEST(Clock, WaitEndsWhenTheConditionHolds) {
  for (std::shared_ptr<clock> c : {real_clock(), std::shared_ptr<clock>(std::make_shared<manual_clock>())}) {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::thread waiter([&] {
      std::unique_lock lock(mu);
      EXPECT_TRUE(c->wait_until(lock, cv, c->monotonic() + 3600 * k_ns_per_s, [&] { return done; }));
    });
    {
      std::lock_guard lock(mu);
      done = true;
    }
    cv.notify_all();
    waiter.join();
  }
}

TEST(Clock, RealClockReadsTheSystemClock) {
  auto c = real_clock();
  std::int64_t before = unix_time_ns();
  std::int64_t now = c->now();
  EXPECT_LE(before, now);
  EXPECT_LE(now, unix_time_ns());
  std::int64_t m = c->monotonic();
  EXPECT_LE(m, c->monotonic());
}

}  // namespace
}  // namespace doppel
