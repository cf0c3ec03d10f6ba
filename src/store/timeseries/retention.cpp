// Retention: dropping chunks and head points older than a twin's retention.
#include "store/timeseries/history_impl.h"

namespace doppel::ts {

result<std::uint64_t> history::impl::drop_expired(std::int64_t now) {
  if (!o.retention) return std::uint64_t{0};
  struct victim {
    series* se;
    std::int64_t cutoff;
  };
  std::vector<victim> victims;
  {
    std::shared_lock lock(map_mu);
    for (auto& [k, se] : heads) {
      std::int64_t keep = o.retention(se->twin);
      if (keep <= 0) continue;
      victims.push_back({se.get(), now > INT64_MIN + keep ? now - keep : INT64_MIN});
    }
  }
  std::uint64_t dropped = 0;
  for (const victim& v : victims) {
    std::vector<std::int64_t> gone;
    {
      std::lock_guard lock(v.se->mu);
      for (const chunk_ref& c : v.se->chunks) {
        if (c.t_max < v.cutoff) gone.push_back(c.rowid);
      }
      // Head points past retention go too (a crash replays them; the next pass drops them again).
      column_batch& h = v.se->points;
      auto n = static_cast<std::size_t>(std::lower_bound(h.t.begin(), h.t.end(), v.cutoff) - h.t.begin());
      if (n) {
        column_batch rest;
        slice(h, n, h.size(), rest);
        h = std::move(rest);
        points.fetch_sub(n);
      }
    }
    if (gone.empty()) continue;
    {
      std::lock_guard db_lock(db_mu);
      if (auto st = sql("BEGIN IMMEDIATE"); !st) return st;
      sqlite3_stmt* del_chunk = nullptr;
      sqlite3_stmt* del_rollups = nullptr;
      sqlite3_prepare_v2(db, "DELETE FROM chunks WHERE id = ?", -1, &del_chunk, nullptr);
      sqlite3_prepare_v2(db, "DELETE FROM rollups WHERE chunk = ?", -1, &del_rollups, nullptr);
      bool ok = del_chunk && del_rollups;
      for (std::int64_t id : gone) {
        for (sqlite3_stmt* q : {del_chunk, del_rollups}) {
          if (!ok) break;
          sqlite3_reset(q);
          sqlite3_bind_int64(q, 1, id);
          ok = sqlite3_step(q) == SQLITE_DONE;
        }
      }
      sqlite3_finalize(del_chunk);
      sqlite3_finalize(del_rollups);
      if (!ok) {
        std::string m = sqlite3_errmsg(db);
        (void)sql("ROLLBACK");
        return status::io_error("the history's chunk store: " + m);
      }
      if (auto st = sql("COMMIT"); !st) {
        (void)sql("ROLLBACK");
        return st;
      }
    }
    std::lock_guard lock(v.se->mu);
    std::erase_if(v.se->chunks, [&](const chunk_ref& c) { return c.t_max < v.cutoff; });
    dropped += gone.size();
  }
  chunk_count.fetch_sub(std::min(chunk_count.load(), dropped));
  expired.fetch_add(dropped);
  return dropped;
}

}  // namespace doppel::ts
