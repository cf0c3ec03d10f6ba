// The latest value and time of each telemetry of each twin: the twin's live telemetry state,
// kept beside its properties. The twin graph owns it (twin_graph::telemetry()) and keeps each
// twin's entry (a handle) with the twin, so nothing here is looked up by id.
//
// Writers: the twin graph makes a twin's entry when it creates (or loads) the twin and closes it
// when it deletes it, so a twin created again under the same id starts without values; the
// telemetry pipeline's shard that owns a twin records its values once they are durable in the
// history (one writer per twin). Reader: the API (GET /digitaltwins/{id}/telemetry, through
// twin_graph::latest_telemetry). Values are typed (f64, i64, u64, boolean, text; JSON text only
// for arrays and objects) and keep the number form the device sent: a double-schema value sent as
// 3 reads back as 3, not 3.0. Telemetry names are interned per stripe, so a value costs a small
// slot, not its name.
//
// An entry is also where the layers above keep per-twin state on the shard that owns the twin
// (attachment(): a stage's counters, a detector's window): the shard takes the twin's model and
// handle in one lookup per run of readings (twin_graph::live), then records and runs its stages
// through the handle.
//
// Threading: safe for concurrent use. Entries are spread over stripes, each guarded by its own
// mutex, held for one record or one read of one twin. Recording into a twin's existing slots
// does not allocate (a string value reuses its slot's capacity). A twin's attachments belong to
// the one thread that records its telemetry (its shard); an attachment is destroyed with the
// entry, on whichever thread lets go of the last handle.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace doppel::twin {

// One telemetry value to record (telemetry_state::record). The views and the pointer are
// borrowed for the call.
struct telemetry_update {
  std::string_view name;                  // "speed", or "motor.power" for a component's
  std::int64_t time_ns = 0;               // Unix nanoseconds
  const nlohmann::json* value = nullptr;  // already checked against the telemetry's schema
  // The value's JSON text when it is an array or object and the caller has it at hand (the
  // pipeline keeps it for the history); empty: record() serializes the value itself.
  std::string_view json_text;
};

// State a layer above keeps for one twin (telemetry_state::attachment).
class twin_attachment {
 public:
  virtual ~twin_attachment() = default;
};

class telemetry_state {
 public:
  class entry;  // one twin's: its latest values and attachments
  // Keeps an entry alive (not its twin: a deleted twin's entry records nothing).
  using handle = std::shared_ptr<entry>;

  explicit telemetry_state(std::size_t stripes = 64);
  telemetry_state(const telemetry_state&) = delete;
  telemetry_state& operator=(const telemetry_state&) = delete;

  // A new entry (no values) for twin `twin` (which picks its stripe). The twin graph calls it
  // and keeps the handle with the twin.
  handle make_entry(std::string_view twin);
  // Drops an entry's values; it records nothing from then on (handles still held keep it, not
  // its values). The twin graph calls it when it deletes the twin.
  void close(entry& twin);

  // Makes each value the latest of its telemetry unless the one held is newer (a late or
  // replayed reading does not replace it). False, recording nothing, when the entry is closed
  // (its twin was deleted after its readings were checked).
  bool record(entry& twin, std::span<const telemetry_update> values);

  // {"name": {"time": RFC 3339 in ms (floored), "value": v}, ...}, names in order; not_found,
  // naming `id`, when the twin has sent none.
  result<nlohmann::json> latest(const entry& twin, std::string_view id) const;

  // A key for attachment(), new each call: each user of the attachments (a telemetry pipeline)
  // takes its own, so that it never finds what an earlier one left with the twins.
  std::uint64_t attachment_owner() { return owners_.fetch_add(1, std::memory_order_relaxed) + 1; }
  // Slot `index` of the attachments `owner` keeps with a twin (null until it sets one), for the
  // thread that records the twin's telemetry only. The first call with a twin allocates `slots`
  // of them, dropping another owner's. An attachment's destructor must not reach its owner.
  static std::unique_ptr<twin_attachment>& attachment(entry& twin, std::uint64_t owner, std::size_t index,
                                                      std::size_t slots);

 private:
  enum class kind : std::uint8_t { f64, i64, u64, boolean, text, json };
  struct slot {
    std::int64_t time_ns = 0;
    std::uint32_t name = 0;  // into stripe::names
    kind type = kind::f64;
    union {
      double f;
      std::int64_t i;
      std::uint64_t u;
    } number{};
    std::string text;  // kind::text and kind::json
  };
  struct stripe {
    mutable std::mutex mu;
    std::vector<std::string> names;                           // guarded by mu; only grows
    std::unordered_map<std::string, std::uint32_t> name_ids;  // guarded by mu
  };

 public:
  class entry {
   public:
    explicit entry(stripe& home) : home_(home) {}

   private:
    friend class telemetry_state;
    stripe& home_;
    std::vector<slot> slots_;  // guarded by home_.mu
    // Its shard thread's, allocated on first use.
    std::unique_ptr<std::unique_ptr<twin_attachment>[]> attachments_;
    std::uint64_t attachment_owner_ = 0;
    std::uint32_t attachment_count_ = 0;
    bool closed_ = false;  // guarded by home_.mu
  };

 private:
  static void set(slot& s, const telemetry_update& u);
  static nlohmann::json value_of(const slot& s);

  std::size_t count_;
  std::unique_ptr<stripe[]> stripes_;
  std::atomic<std::uint64_t> owners_{0};
};

}  // namespace doppel::twin
