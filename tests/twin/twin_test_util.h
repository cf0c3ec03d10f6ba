// Shared by the twin tests: the pump-station example's models, loaded once per test binary.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "common/temp_dir.h"
#include "model/registry.h"
#include "store/metadata_store.h"
#include "twin/graph.h"

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

// A metadata store in a fresh folder and the live graph over it; reopen() is a restart.
// Fixtures override models() to use other models than the pump station's.
class live_graph : public ::testing::Test {
 protected:
  virtual const model::model_registry& models() { return pump_station(); }
  void SetUp() override { reopen(); }
  void TearDown() override {
    graph_.reset();
    store_.reset();
  }
  void reopen() {
    graph_.reset();
    store_.reset();
    auto s = store::metadata_store::open(dir_.path() / "doppel.db");
    ASSERT_TRUE(s) << s.error().to_string();
    store_ = std::move(*s);
    auto g = twin_graph::open(models(), *store_);
    ASSERT_TRUE(g) << g.error().to_string();
    graph_ = std::move(*g);
  }

  doppel::testing::temp_dir dir_{"doppel-graph-test"};
  std::unique_ptr<store::metadata_store> store_;
  std::unique_ptr<twin_graph> graph_;
};

}  // namespace doppel::twin::testing
