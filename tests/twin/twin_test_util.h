// Shared by the twin tests: the pump-station example's models, loaded once per test binary.
#pragma once

#include <gtest/gtest.h>

#include "model/registry.h"

namespace doppel::twin::testing {

inline const model::model_registry& pump_station() {
  static const model::model_registry r = [] {
    model::model_registry reg;
    auto report = reg.load_paths({DOPPEL_SOURCE_DIR "/examples/pump-station/models"});
    EXPECT_TRUE(report.ok());
    return reg;
  }();
  return r;
}

}  // namespace doppel::twin::testing
