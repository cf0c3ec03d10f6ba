// A built-in stage (stage.h): counts each twin's accepted telemetry readings since the server
// started. The first user of the stage seam, and what the API can ask how much a twin has sent.
// Callers: `doppel serve` registers it for every twin; /metrics (render_metrics); the API (count).
// Threading: run() on the shard threads (each writes its own shard's counts, taking a lock only
// to add a twin it has not counted before; a twin's count is then reached through the twin's
// stage state, without a lookup); count, total and render_metrics from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ingest/stage.h"

namespace doppel::ingest {

class reading_counter final : public stage {
 public:
  std::string_view name() const override { return "reading_counter"; }
  void start(int shards) override;
  void run(int shard, const twin_readings& readings) override;
  // doppel_twin_readings_total (all twins) and doppel_twin_readings_twins (twins counted).
  void render_metrics(std::string& out) const override;

  // The readings counted for `twin`; 0 when it has sent none (or start() was not called).
  std::uint64_t count(std::string_view twin) const;
  // The readings counted for all twins.
  std::uint64_t total() const;

 private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // One shard's counts. Only its shard thread inserts, so that thread reads the map without the
  // lock; it takes the lock to insert, and readers on other threads take it to look up.
  using count_map = std::unordered_map<std::string, std::atomic<std::uint64_t>, string_hash, std::equal_to<>>;
  struct shard_counts {
    mutable std::mutex mu;
    count_map by_twin;  // a node stays where it is: a twin's stage state points at its count
    std::atomic<std::uint64_t> total{0};
  };
  std::vector<std::unique_ptr<shard_counts>> shards_;
};

}  // namespace doppel::ingest
