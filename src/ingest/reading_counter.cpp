#include "ingest/reading_counter.h"

#include "core/prometheus.h"

namespace doppel::ingest {

namespace {

// One writer per counter (its shard thread): a load and a store, no locked read-modify-write.
void add(std::atomic<std::uint64_t>& counter, std::uint64_t n) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// A twin's stage state: where its count is (a twin keeps its count when deleted and created again).
struct twin_count final : twin::twin_attachment {
  explicit twin_count(std::atomic<std::uint64_t>& n) : count(n) {}
  std::atomic<std::uint64_t>& count;
};

}  // namespace

void reading_counter::start(int shards) {
  shards_.clear();
  for (int i = 0; i < shards; ++i) shards_.push_back(std::make_unique<shard_counts>());
}

void reading_counter::run(int shard, const twin_readings& readings) {
  shard_counts& c = *shards_[static_cast<std::size_t>(shard)];
  std::unique_ptr<twin::twin_attachment>& state = *readings.state;
  if (!state) {
    // Only this thread inserts into its shard's map, so it may look up without the lock.
    auto it = c.by_twin.find(readings.twin);
    if (it == c.by_twin.end()) {
      std::lock_guard lock(c.mu);
      it = c.by_twin.try_emplace(std::string(readings.twin), 0).first;
    }
    state = std::make_unique<twin_count>(it->second);
  }
  add(static_cast<twin_count&>(*state).count, readings.samples.size());
  add(c.total, readings.samples.size());
}

std::uint64_t reading_counter::count(std::string_view twin) const {
  for (const auto& c : shards_) {
    std::lock_guard lock(c->mu);
    if (auto it = c->by_twin.find(twin); it != c->by_twin.end()) return it->second.load(std::memory_order_relaxed);
  }
  return 0;
}

std::uint64_t reading_counter::total() const {
  std::uint64_t n = 0;
  for (const auto& c : shards_) n += c->total.load(std::memory_order_relaxed);
  return n;
}

void reading_counter::render_metrics(std::string& out) const {
  std::size_t twins = 0;
  for (const auto& c : shards_) {
    std::lock_guard lock(c->mu);
    twins += c->by_twin.size();
  }
  prometheus::writer(out)
      .counter("doppel_twin_readings_total", "Telemetry readings accepted, counted per twin (sum over twins).", total())
      .gauge("doppel_twin_readings_twins", "Twins that have sent telemetry since the start.", twins);
}

}  // namespace doppel::ingest
