// The write-ahead logs' records as replay reads them: framing, checksums, the search for the
// next valid record after a damaged one, and decoding (both formats). See history.h.
#include "store/timeseries/history_impl.h"

namespace doppel::ts {

std::size_t history::impl::record_end(std::string_view data, std::size_t at) {
  if (data.size() - at < k_record_header) return data.size() + 1;
  std::uint32_t len = 0;
  std::memcpy(&len, data.data() + at, 4);
  if (len == 0 || len > k_max_record) return 0;
  if (data.size() - at - k_record_header < len) return data.size() + 1;
  return at + k_record_header + len;
}

std::size_t history::impl::record_at(std::string_view data, std::size_t at) {
  std::size_t end = record_end(data, at);
  if (end == 0 || end > data.size()) return 0;
  std::uint64_t hash = 0;
  std::memcpy(&hash, data.data() + at + 4, 8);
  std::size_t len = end - at - k_record_header;
  if (XXH3_64bits(data.data() + at + k_record_header, len) != hash) return 0;
  return end - at;
}

std::size_t history::impl::resync_at(std::string_view data, std::size_t at) {
  std::size_t p = at;
  for (int hop = 0; hop < 4 && p < data.size(); ++hop) {
    p = record_end(data, p);
    if (p == 0) return 0;
  }
  return record_at(data, at);
}

void history::impl::skip(const std::filesystem::path& file, std::size_t offset, std::size_t bytes, std::string reason) {
  ++report.skipped_ranges;
  report.skipped_bytes += bytes;
  if (report.skipped.size() < recovery_report::k_max_listed) {
    report.skipped.push_back({file, offset, bytes, std::move(reason)});
  }
}

status history::impl::replay(const std::filesystem::path& file) {
  bool v1 = is_v1_log(file.filename().string());
  replay_ids.clear();
  std::string data;
  if (status st = io->read(file, data); !st) return st;
  std::string_view all = data;
  std::size_t at = 0;
  while (at < all.size()) {
    std::size_t n = record_at(all, at);
    std::size_t damaged = at;
    if (!n) {
      do {
        ++at;
      } while (at < all.size() && !(n = resync_at(all, at)));
      if (!n) {  // no valid record after it: a torn end
        at = damaged;
        break;
      }
      skip(file, damaged, at - damaged, "no valid record (length or checksum mismatch)");
    }
    std::string_view payload = all.substr(at + k_record_header, n - k_record_header);
    // A record whose checksum holds but which does not decode: written so (a bug), or its
    // points belong to a series defined in a skipped record. Its decoded points are kept.
    if (!(v1 ? replay_record_v1(payload) : replay_record(payload))) {
      skip(file, at, n, "undecodable record (a series defined in a skipped record?)");
    }
    at += n;
  }
  if (at < all.size()) {
    report.torn_bytes += all.size() - at;
    auto log = io->open(file, false);
    status st = log ? (*log)->truncate(at) : log.error();
    if (st) st = (*log)->sync();
    if (!st) return status::io_error("cannot cut the torn end of " + file.string() + ": " + st.message());
  }
  log_bytes.fetch_add(at);
  return status::ok();
}

bool history::impl::replay_record(std::string_view p) {
  std::int64_t prev_t = 0;
  while (!p.empty()) {
    std::uint64_t head = 0;
    if (!detail::get_varint(p, head) || (head >> 1) > 0xffffffffu) return false;
    auto id = static_cast<std::size_t>(head >> 1);
    if (head & 1) {
      std::uint8_t type = 0;
      std::uint64_t tl = 0, nl = 0;
      std::string_view twin, name;
      if (!detail::get_raw(p, type) || type > 3 || !detail::get_varint(p, tl) || tl > 0xffff ||
          !get_bytes(p, tl, twin) || !detail::get_varint(p, nl) || nl > 0xffff || !get_bytes(p, nl, name)) {
        return false;
      }
      if (replay_ids.size() <= id) replay_ids.resize(id + 1, nullptr);
      replay_ids[id] = find_or_add(twin, name, static_cast<value_type>(type), replay_key);
      continue;
    }
    if (id >= replay_ids.size() || !replay_ids[id]) return false;  // a point of a series not defined
    series* se = replay_ids[id];
    sample s;
    s.type = se->points.type;
    std::uint64_t dt = 0, v = 0;
    if (!detail::get_varint(p, dt)) return false;
    s.time_ns = static_cast<std::int64_t>(static_cast<std::uint64_t>(prev_t) +
                                          static_cast<std::uint64_t>(detail::unzigzag(dt)));
    prev_t = s.time_ns;
    switch (s.type) {
      case value_type::f64:
        if (!detail::get_raw(p, s.f)) return false;
        break;
      case value_type::i64:
        if (!detail::get_varint(p, v)) return false;
        s.i = detail::unzigzag(v);
        break;
      case value_type::boolean: {
        std::uint8_t b = 0;
        if (!detail::get_raw(p, b)) return false;
        s.i = b;
        break;
      }
      case value_type::string:
        if (!detail::get_varint(p, v) || !get_bytes(p, v, s.s)) return false;
        break;
    }
    apply(se, s);
    ++replayed;
  }
  return true;
}

bool history::impl::replay_record_v1(std::string_view p) {
  while (!p.empty()) {
    sample s;
    std::uint16_t tl = 0, nl = 0;
    std::uint8_t type = 0;
    if (!detail::get_raw(p, tl) || !get_bytes(p, tl, s.twin) || !detail::get_raw(p, nl) || !get_bytes(p, nl, s.name) ||
        !detail::get_raw(p, type) || type > 3 || !detail::get_raw(p, s.time_ns)) {
      return false;
    }
    s.type = static_cast<value_type>(type);
    switch (s.type) {
      case value_type::f64:
        if (!detail::get_raw(p, s.f)) return false;
        break;
      case value_type::i64:
        if (!detail::get_raw(p, s.i)) return false;
        break;
      case value_type::boolean: {
        std::uint8_t b = 0;
        if (!detail::get_raw(p, b)) return false;
        s.i = b;
        break;
      }
      case value_type::string: {
        std::uint32_t sl = 0;
        if (!detail::get_raw(p, sl) || !get_bytes(p, sl, s.s)) return false;
        break;
      }
    }
    apply(find_or_add(s.twin, s.name, s.type, replay_key), s);
    ++replayed;
  }
  return true;
}

}  // namespace doppel::ts
