// The dead-letter store: messages and readings that could not be applied (malformed payloads,
// unknown twins or names, values of the wrong type, properties a device may not report), kept
// with the reason and the raw text so that nothing is dropped silently.
//
// Durable: with open(FILE) the letters live in a SQLite database of their own (DATA/deadletters.db),
// each add committed (fsync) before it returns, so a refused MQTT message that is then
// acknowledged is still listed after a restart, with the same sequence numbers (GET /deadletters
// pages with ?after=seq across restarts). Without open() they live in an in-memory database.
// Bounded by count and by bytes (raw text + message): the oldest letters make room for new ones,
// and `dropped` counts those (durably). The counters by reason (for /metrics) count every letter
// since the start, kept or not.
//
// Callers: the connectors and the pipeline (add), the API (GET /deadletters, /metrics), `doppel
// serve` (open). Threading: safe for concurrent use (one mutex; adds come in batches).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "ingest/readings.h"

struct sqlite3;

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
  // capacity: letters kept (default 10,000); max_bytes: raw text and messages kept (64 MiB).
  explicit dead_letters(std::size_t capacity = 10000, std::size_t max_bytes = 64 << 20);
  ~dead_letters();
  dead_letters(const dead_letters&) = delete;
  dead_letters& operator=(const dead_letters&) = delete;

  // Keeps the letters in `file` (created if missing; its letters are kept, trimmed to the
  // bounds). Call once, before the first add. io_error when it cannot be opened or is not a
  // dead-letter database.
  status open(const std::filesystem::path& file);

  // Stores a batch, durably when opened on a file, dropping the oldest letters past the bounds.
  // io_error when the file could not be written (the caller must not acknowledge the message).
  status add(const std::string& source, const std::string& twin, std::vector<rejection> batch);
  // The same with a twin per letter (twins[k] for batch[k]; missing ones are empty): one commit.
  status add(const std::string& source, const std::vector<std::string>& twins, std::vector<rejection> batch);

  // Letters after `after`, oldest first, at most `limit`, optionally of one reason, as
  // {"value": [...], "dropped": n} (n: letters that no longer fit the store).
  nlohmann::json list(std::uint64_t after, std::size_t limit, const std::string& reason) const;

  // doppel_ingest_dead_letters_total{reason=...}, the number and bytes kept, the number dropped.
  void render_metrics(std::string& out) const;

 private:
  status init_locked();  // schema and totals of the database in db_
  status trim_locked();  // drops the oldest letters past the bounds

  std::size_t capacity_, max_bytes_;
  mutable std::mutex mu_;
  sqlite3* db_ = nullptr;                        // guarded by mu_
  std::map<std::string, std::uint64_t> counts_;  // by reason; guarded by mu_
  std::uint64_t kept_ = 0, kept_bytes_ = 0;      // guarded by mu_
  std::uint64_t dropped_ = 0;                    // guarded by mu_; durable in the meta table
  std::string init_error_;                       // guarded by mu_: the in-memory database failed
};

}  // namespace doppel::ingest
