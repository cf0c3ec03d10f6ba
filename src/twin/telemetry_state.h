// The latest value and time of each telemetry of each twin: the twin's live telemetry state,
// kept beside its properties (the twin graph owns it, twin_graph::telemetry()).
//
// Writers: the twin graph gives a twin an entry when it creates (or loads) it and drops the
// entry when it deletes it, so a twin created again under the same id starts without values;
// the telemetry pipeline's shard that owns a twin records its values once they are durable in
// the history (one writer per twin). Reader: the API (GET /digitaltwins/{id}/telemetry).
// Values are typed (f64, i64, u64, boolean, text; JSON text only for arrays and objects) and keep
// the number form the device sent: a double-schema value sent as 3 reads back as 3, not 3.0.
// Telemetry names are interned per stripe, so a value costs a small slot, not its name.
//
// Threading: safe for concurrent use. Twins are spread over stripes, each guarded by its own
// mutex, held for one record or one read of one twin. Recording into a twin's existing slots
// does not allocate (a string value reuses its slot's capacity).
#pragma once

#include <nlohmann/json.hpp>

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

class telemetry_state {
 public:
  explicit telemetry_state(std::size_t stripes = 64);
  telemetry_state(const telemetry_state&) = delete;
  telemetry_state& operator=(const telemetry_state&) = delete;

  // Gives a twin an entry (no values yet); nothing when it has one. The twin graph calls it.
  void add_twin(const std::string& twin);
  // Drops a twin's entry and values; nothing when it has none. The twin graph calls it.
  void remove_twin(const std::string& twin);

  // Makes each value the latest of its telemetry unless the one held is newer (a late or
  // replayed reading does not replace it). False, recording nothing, when the twin has no entry
  // (it was deleted after its readings were checked).
  bool record(const std::string& twin, std::span<const telemetry_update> values);

  // {"name": {"time": RFC 3339 in ms (floored), "value": v}, ...}, names in order; not_found
  // when the twin has no values (or does not exist).
  result<nlohmann::json> latest(const std::string& twin) const;

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
    std::unordered_map<std::string, std::vector<slot>> twins;  // guarded by mu
    std::vector<std::string> names;                            // guarded by mu; only grows
    std::unordered_map<std::string, std::uint32_t> name_ids;   // guarded by mu
  };
  stripe& stripe_of(const std::string& twin) const;
  static void set(slot& s, const telemetry_update& u);
  static nlohmann::json value_of(const slot& s);

  std::size_t count_;
  std::unique_ptr<stripe[]> stripes_;
};

}  // namespace doppel::twin
