// The heads: the in-memory series, found or created per sample, and what a query takes of them.
#include "store/timeseries/history_impl.h"

namespace doppel::ts {

series* history::impl::writer_series(scratch& w, const sample& s) {
  if (s.twin != w.twin) {
    w.twin.assign(s.twin);
    w.twin_series.clear();
    std::shared_lock lock(map_mu);
    auto it = twins.find(s.twin);
    if (it != twins.end()) w.twin_series = it->second;
  }
  for (series* se : w.twin_series) {
    if (se->name == s.name) return se;
  }
  series* se = find_or_add(s.twin, s.name, s.type, w.key);
  w.twin_series.push_back(se);
  return se;
}

series* history::impl::find_or_add(std::string_view twin, std::string_view name, value_type type, std::string& key) {
  key.assign(twin);
  key.push_back('\0');  // twin ids hold no NUL
  key.append(name);
  {
    std::shared_lock lock(map_mu);
    auto it = heads.find(key);
    if (it != heads.end()) return it->second.get();
  }
  std::unique_lock lock(map_mu);
  auto& slot = heads[key];
  if (!slot) {
    slot = std::make_unique<series>();
    slot->index = next_index++;
    slot->points.type = type;
    slot->twin = std::string(twin);
    slot->name = std::string(name);
    twins[std::string(twin)].push_back(slot.get());
  }
  return slot.get();
}

void history::impl::apply(series* se, const sample& s) {
  std::lock_guard lock(se->mu);
  if (se->points.type != s.type) return;  // checked before logging; a replayed log was written so
  std::size_t before = se->points.size();
  insert(se->points, s);
  if (s.time_ns > se->newest.load(std::memory_order_relaxed)) se->newest.store(s.time_ns, std::memory_order_relaxed);
  if (se->points.size() > before) points.fetch_add(1, std::memory_order_relaxed);
}

const series* history::impl::find(std::string_view twin, std::string_view name) const {
  std::shared_lock lock(map_mu);
  auto it = heads.find(key_of(twin, name));
  return it == heads.end() ? nullptr : it->second.get();  // series are never removed while open
}

status history::impl::no_history(std::string_view twin, std::string_view name) {
  return status::not_found("twin \"" + std::string(twin) + "\" has no history of \"" + std::string(name) + "\"");
}

void history::impl::take(const series& se, std::int64_t from, std::int64_t to, snapshot& out) {
  std::lock_guard lock(se.mu);
  for (const chunk_ref& c : se.chunks) {
    if (c.t_max >= from && before_end(c.t_min, to)) out.chunks.push_back(c);
  }
  const column_batch& h = se.points;
  auto lo = static_cast<std::size_t>(std::lower_bound(h.t.begin(), h.t.end(), from) - h.t.begin());
  auto hi = static_cast<std::size_t>(end_of_range(h.t, to) - h.t.begin());
  if (hi > lo) slice(h, lo, hi, out.head);
  out.head.type = h.type;
}

}  // namespace doppel::ts
