#include "twin/telemetry_state.h"

#include <functional>
#include <limits>

#include "core/time.h"

namespace doppel::twin {

telemetry_state::telemetry_state(std::size_t stripes)
    : count_(stripes ? stripes : 1), stripes_(std::make_unique<stripe[]>(count_)) {}

telemetry_state::stripe& telemetry_state::stripe_of(const std::string& twin) const {
  return stripes_[std::hash<std::string>{}(twin) % count_];
}

void telemetry_state::add_twin(const std::string& twin) {
  stripe& s = stripe_of(twin);
  std::lock_guard lock(s.mu);
  s.twins.try_emplace(twin);
}

void telemetry_state::remove_twin(const std::string& twin) {
  stripe& s = stripe_of(twin);
  std::lock_guard lock(s.mu);
  s.twins.erase(twin);
}

bool telemetry_state::record(const std::string& twin, std::span<const telemetry_update> values) {
  stripe& s = stripe_of(twin);
  std::lock_guard lock(s.mu);
  auto it = s.twins.find(twin);
  if (it == s.twins.end()) return false;
  std::vector<slot>& held = it->second;
  for (const telemetry_update& u : values) {
    slot* target = nullptr;
    for (slot& h : held) {
      if (s.names[h.name] == u.name) {
        target = &h;
        break;
      }
    }
    if (!target) {
      // A telemetry the twin has not sent before: the only allocations of this path.
      auto [id, added] = s.name_ids.try_emplace(std::string(u.name), static_cast<std::uint32_t>(s.names.size()));
      if (added) s.names.emplace_back(u.name);
      target = &held.emplace_back();
      target->name = id->second;
      target->time_ns = std::numeric_limits<std::int64_t>::min();
    }
    if (target->time_ns > u.time_ns) continue;  // the value held is newer
    target->time_ns = u.time_ns;
    set(*target, u);
  }
  return true;
}

void telemetry_state::set(slot& s, const telemetry_update& u) {
  const nlohmann::json& v = *u.value;
  // The number form as sent: nlohmann keeps 3 an integer and 3.0 a double, and prints them so.
  switch (v.type()) {
    case nlohmann::json::value_t::number_float:
      s.type = kind::f64;
      s.number.f = v.get<double>();
      return;
    case nlohmann::json::value_t::number_integer:
      s.type = kind::i64;
      s.number.i = v.get<std::int64_t>();
      return;
    case nlohmann::json::value_t::number_unsigned:
      s.type = kind::u64;
      s.number.u = v.get<std::uint64_t>();
      return;
    case nlohmann::json::value_t::boolean:
      s.type = kind::boolean;
      s.number.i = v.get<bool>() ? 1 : 0;
      return;
    case nlohmann::json::value_t::string:
      s.type = kind::text;
      s.text.assign(v.get_ref<const std::string&>());
      return;
    default:
      s.type = kind::json;
      if (u.json_text.empty()) {
        s.text = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      } else {
        s.text.assign(u.json_text);
      }
      return;
  }
}

nlohmann::json telemetry_state::value_of(const slot& s) {
  switch (s.type) {
    case kind::f64: return s.number.f;
    case kind::i64: return s.number.i;
    case kind::u64: return s.number.u;
    case kind::boolean: return s.number.i != 0;
    case kind::text: return s.text;
    case kind::json: break;
  }
  return nlohmann::json::parse(s.text, nullptr, false);
}

result<nlohmann::json> telemetry_state::latest(const std::string& twin) const {
  stripe& s = stripe_of(twin);
  std::lock_guard lock(s.mu);
  auto it = s.twins.find(twin);
  if (it == s.twins.end() || it->second.empty()) {
    return status::not_found("twin \"" + twin + "\" has sent no telemetry");
  }
  nlohmann::json out = nlohmann::json::object();
  for (const slot& h : it->second) {
    out[s.names[h.name]] = {{"value", value_of(h)}, {"time", rfc3339_floor_ms(h.time_ns)}};
  }
  return out;
}

}  // namespace doppel::twin
