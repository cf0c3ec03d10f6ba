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
// Fixtures override load_models() to start from other models than the pump station's.
class live_graph : public ::testing::Test {
 protected:
  // Fills a fresh registry (each reopen() starts one, as a restarted server does).
  virtual void load_models(model::model_registry& reg) {
    EXPECT_TRUE(reg.load_paths({DOPPEL_SOURCE_DIR "/examples/pump-station/models"}).ok());
  }
  void SetUp() override { reopen(); }
  void TearDown() override {
    graph_.reset();
    store_.reset();
  }
  void reopen() {
    graph_.reset();
    store_.reset();
    registry_ = std::make_unique<model::model_registry>();
    load_models(*registry_);
    auto s = store::metadata_store::open(dir_.path() / "doppel.db", store_options_);
    ASSERT_TRUE(s) << s.error().to_string();
    store_ = std::move(*s);
    auto g = twin_graph::open(*registry_, *store_);
    ASSERT_TRUE(g) << g.error().to_string();
    graph_ = std::move(*g);
  }

  doppel::testing::temp_dir dir_{"doppel-graph-test"};
  store::store_options store_options_;               // a fixture's constructor may set them (e.g. a fault VFS)
  std::unique_ptr<model::model_registry> registry_;  // declared first: outlives the graph
  std::unique_ptr<store::metadata_store> store_;
  std::unique_ptr<twin_graph> graph_;
};

}  // namespace doppel::twin::testing
