// Waits for a condition another thread or process brings about, without asserting how long it
// takes: polls `f` until it holds or `limit` passes (a generous bound that only ends a hung test).
#pragma once

#include <chrono>
#include <thread>

namespace doppel::testing {

template <class F>
bool eventually(F f, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return f();
}

}  // namespace doppel::testing
