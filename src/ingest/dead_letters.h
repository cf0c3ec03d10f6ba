// The dead-letter store: messages and readings that could not be applied (malformed payloads,
// unknown twins or names, values of the wrong type), kept with the reason and the raw text so
// that nothing is dropped silently. Bounded: the oldest letters make room for new ones, and the
// counters by reason (for /metrics) count every letter, kept or not.
//
// Callers: the connectors and the pipeline (add), the API (GET /deadletters, /metrics).
// Threading: safe for concurrent use (one mutex; adds come in batches).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "ingest/readings.h"

namespace doppel::ingest {

struct dead_letter {
  std::uint64_t seq = 0;   // increasing; a client pages with ?after=seq
  std::int64_t at_ms = 0;  // Unix ms when it was refused
  std::string source;      // "http", "line-protocol", "mqtt"
  std::string twin;        // when known
  rejection why;
};

class dead_letters {
 public:
  explicit dead_letters(std::size_t capacity = 10000) : capacity_(capacity) {}

  void add(const std::string& source, const std::string& twin, std::vector<rejection> batch);

  // Letters after `after`, oldest first, at most `limit`, optionally of one reason, as
  // {"value": [...], "dropped": n} (n: letters that no longer fit the store).
  nlohmann::json list(std::uint64_t after, std::size_t limit, const std::string& reason) const;

  // doppel_ingest_dead_letters_total{reason=...} and the number kept.
  void render_metrics(std::string& out) const;

 private:
  std::size_t capacity_;
  mutable std::mutex mu_;
  std::deque<dead_letter> letters_;              // guarded by mu_
  std::map<std::string, std::uint64_t> counts_;  // by reason; guarded by mu_
  std::uint64_t next_seq_ = 1;                   // guarded by mu_
  std::uint64_t dropped_ = 0;                    // guarded by mu_
};

}  // namespace doppel::ingest
