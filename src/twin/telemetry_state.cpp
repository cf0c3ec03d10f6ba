#include "twin/telemetry_state.h"

#include <functional>
#include <limits>

#include "core/time.h"

namespace doppel::twin {

telemetry_state::telemetry_state(std::size_t stripes)
    : count_(stripes ? stripes : 1), stripes_(std::make_unique<stripe[]>(count_)) {}

telemetry_state::handle telemetry_state::make_entry(std::string_view twin) {
  return std::make_shared<entry>(stripes_[std::hash<std::string_view>{}(twin) % count_]);
}

void telemetry_state::close(entry& twin) {
  std::lock_guard lock(twin.home_.mu);
  twin.closed_ = true;
  twin.slots_ = {};
}

bool telemetry_state::record(entry& twin, std::span<const telemetry_update> values) {
  stripe& s = twin.home_;
  std::lock_guard lock(s.mu);
  if (twin.closed_) return false;
  std::vector<slot>& held = twin.slots_;
  for (std::size_t k = 0; k < values.size(); ++k) {
    const telemetry_update& u = values[k];
    // A device sends its values in the same order each time: the k-th is most often in the
    // k-th slot, so the common case compares one name, not all of them.
    slot* target = k < held.size() && s.names[held[k].name] == u.name ? &held[k] : nullptr;
    for (std::size_t i = 0; !target && i < held.size(); ++i) {
      if (s.names[held[i].name] == u.name) target = &held[i];
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

std::unique_ptr<twin_attachment>& telemetry_state::attachment(entry& twin, std::uint64_t owner, std::size_t index,
                                                              std::size_t slots) {
  if (twin.attachment_owner_ != owner) {
    twin.attachments_.reset();
    twin.attachment_count_ = 0;
    twin.attachment_owner_ = owner;
  }
  if (twin.attachment_count_ < slots) {
    auto grown = std::make_unique<std::unique_ptr<twin_attachment>[]>(slots);
    for (std::size_t i = 0; i < twin.attachment_count_; ++i) grown[i] = std::move(twin.attachments_[i]);
    twin.attachments_ = std::move(grown);
    twin.attachment_count_ = static_cast<std::uint32_t>(slots);
  }
  return twin.attachments_[index];
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

result<nlohmann::json> telemetry_state::latest(const entry& twin, std::string_view id) const {
  const stripe& s = twin.home_;
  std::lock_guard lock(s.mu);
  if (twin.slots_.empty()) return status::not_found("twin \"" + std::string(id) + "\" has sent no telemetry");
  nlohmann::json out = nlohmann::json::object();
  for (const slot& h : twin.slots_) {
    out[s.names[h.name]] = {{"value", value_of(h)}, {"time", rfc3339_floor_ms(h.time_ns)}};
  }
  return out;
}

}  // namespace doppel::twin
