// Checkpoints seal heads into chunks and rewrite the rest into the carry log; the background
// thread runs them (and retention) when due.
#include "store/timeseries/history_impl.h"

namespace doppel::ts {

status history::impl::checkpoint(bool everything) {
  std::unique_lock cp(checkpoint_mu);
  if (log_bytes.load() == 0) return status::ok();
  std::vector<series*> all, carried;
  {
    std::shared_lock lock(map_mu);
    for (auto& [k, se] : heads) {
      if (se->points.size() == 0) continue;
      (everything || se->points.size() >= o.seal_points ? all : carried).push_back(se.get());
    }
  }
  std::lock_guard db_lock(db_mu);
  if (auto st = sql("BEGIN IMMEDIATE"); !st) return st;
  sqlite3_stmt* add_series = nullptr;
  sqlite3_stmt* add_chunk = nullptr;
  sqlite3_stmt* add_rollup = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO rollups(chunk, step, data) VALUES(?, ?, ?)", -1, &add_rollup, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO series(twin, name, type) VALUES(?, ?, ?)", -1, &add_series, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO chunks(series, t_min, t_max, points, data) VALUES(?, ?, ?, ?, ?)", -1, &add_chunk,
                     nullptr);
  struct sealed {
    series* se;
    chunk_ref ref;
  };
  std::vector<sealed> made;
  std::vector<series*> fresh;  // series given their id in this transaction
  std::string bytes;
  column_batch part;
  status failure;
  std::uint64_t new_points = 0, new_bytes = 0, new_tier_bytes = 0;
  for (series* se : all) {
    if (!se->id) {
      sqlite3_reset(add_series);
      sqlite3_bind_text(add_series, 1, se->twin.data(), static_cast<int>(se->twin.size()), SQLITE_STATIC);
      sqlite3_bind_text(add_series, 2, se->name.data(), static_cast<int>(se->name.size()), SQLITE_STATIC);
      sqlite3_bind_int(add_series, 3, static_cast<int>(se->points.type));
      if (sqlite3_step(add_series) != SQLITE_DONE) {
        failure = status::io_error(std::string("the history's chunk store: ") + sqlite3_errmsg(db));
        break;
      }
      se->id = sqlite3_last_insert_rowid(db);
      fresh.push_back(se);
    }
    const column_batch& h = se->points;  // no appends run: the head is stable
    for (std::size_t at = 0; at < h.size() && failure.is_ok(); at += max_chunk_points) {
      std::size_t end = std::min(h.size(), at + static_cast<std::size_t>(max_chunk_points));
      const column_batch* src = &h;
      if (at != 0 || end != h.size()) {
        slice(h, at, end, part);
        src = &part;
      }
      bytes.clear();
      if (auto st = encode_chunk(*src, bytes); !st) {
        failure = st;
        break;
      }
      chunk_ref ref{0, src->t.front(), src->t.back()};
      sqlite3_reset(add_chunk);
      sqlite3_bind_int64(add_chunk, 1, se->id);
      sqlite3_bind_int64(add_chunk, 2, ref.t_min);
      sqlite3_bind_int64(add_chunk, 3, ref.t_max);
      sqlite3_bind_int64(add_chunk, 4, static_cast<sqlite3_int64>(src->size()));
      sqlite3_bind_blob(add_chunk, 5, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
      if (sqlite3_step(add_chunk) != SQLITE_DONE) {
        failure = status::io_error(std::string("the history's chunk store: ") + sqlite3_errmsg(db));
        break;
      }
      ref.rowid = sqlite3_last_insert_rowid(db);
      new_bytes += bytes.size();  // before `bytes` holds the rollups
      if (src->type != value_type::string) {
        // The chunk's downsampling tiers, in the same transaction: a chunk never lacks them.
        for (std::int64_t step : tier_steps_ns) {
          if (auto st = encode_rollup(*src, step, bytes); !st) {
            failure = st;
            break;
          }
          sqlite3_reset(add_rollup);
          sqlite3_bind_int64(add_rollup, 1, ref.rowid);
          sqlite3_bind_int64(add_rollup, 2, step / 1000000000);
          sqlite3_bind_blob(add_rollup, 3, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
          if (sqlite3_step(add_rollup) != SQLITE_DONE) {
            failure = status::io_error(std::string("the history's chunk store: ") + sqlite3_errmsg(db));
            break;
          }
          new_tier_bytes += bytes.size();
        }
        if (!failure.is_ok()) break;
        ref.tiers = true;
      }
      made.push_back({se, ref});
      new_points += src->size();
    }
    if (!failure.is_ok()) break;
  }
  sqlite3_finalize(add_series);
  sqlite3_finalize(add_chunk);
  sqlite3_finalize(add_rollup);
  if (!failure.is_ok() || !(failure = sql("COMMIT")).is_ok()) {
    (void)sql("ROLLBACK");
    for (series* se : fresh) se->id = 0;  // given in the rolled-back transaction
    last_checkpoint_error = failure.message();
    return failure;
  }
  // The chunks are durable. What stays in the heads is written to a new carry log, which
  // replaces the old one at once (rename), so it is never missing; then the writers' logs go.
  std::uint64_t carry = 0;
  if (status st = write_carry(carried, carry); !st) {
    last_checkpoint_error = st.message();
    return st;
  }
  for (auto& log : logs) {
    status st = log->truncate(0);
    if (st) st = log->sync();
    if (!st) return status::io_error("cannot empty a history log: " + st.message());
  }
  for (scratch& w : scratches) {  // the emptied logs define no series now
    ++w.epoch;
    w.redefine_at = k_redefine_bytes;
  }
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(o.dir, ec)) {
    auto name = e.path().filename().string();
    // The first format's logs, and logs of writers this start has not: all sealed or carried.
    if (is_v1_log(name) || (is_log(name) && std::atoi(name.c_str() + 4) >= o.writers)) {
      std::filesystem::remove(e.path(), ec);
    }
  }
  for (const sealed& m : made) {
    std::lock_guard lock(m.se->mu);
    m.se->chunks.push_back(m.ref);
  }
  for (series* se : all) {
    std::lock_guard lock(se->mu);
    se->points.clear();
    se->points.t.shrink_to_fit();
    se->points.f.shrink_to_fit();
    se->points.i.shrink_to_fit();
    se->points.b.shrink_to_fit();
    se->points.s.shrink_to_fit();
  }
  std::uint64_t left = 0;
  for (series* se : carried) left += se->points.size();
  points.store(left);
  log_bytes.store(carry);
  carry_bytes = carry;
  chunk_count.fetch_add(made.size());
  chunk_bytes.fetch_add(new_bytes);
  tier_bytes.fetch_add(new_tier_bytes);
  sealed_points.fetch_add(new_points);
  checkpoints.fetch_add(1);
  last_checkpoint_error.clear();
  return status::ok();
}

status history::impl::write_carry(const std::vector<series*>& carried, std::uint64_t& bytes) {
  auto tmp = o.dir / "carry.tmp";
  auto final_path = o.dir / k_carry;
  std::string rec;
  auto file = io->open(tmp, true);
  if (!file) return status::io_error("cannot write the history's carry log: " + file.error().message());
  status st;
  bytes = 0;
  auto flush = [&] {
    if (rec.size() <= k_record_header) return;
    seal_record(rec);
    if (st) st = (*file)->append(rec);
    bytes += rec.size();
    rec.assign(k_record_header, '\0');
  };
  rec.assign(k_record_header, '\0');
  std::int64_t prev_t = 0;
  for (series* se : carried) {
    const column_batch& h = se->points;
    put_define(rec, *se);  // definitions hold for the rest of the file
    for (std::size_t k = 0; k < h.size(); ++k) {
      sample smp;
      smp.type = h.type;
      smp.time_ns = h.t[k];
      switch (h.type) {
        case value_type::f64: smp.f = h.f[k]; break;
        case value_type::i64: smp.i = h.i[k]; break;
        case value_type::boolean: smp.i = h.b[k]; break;
        case value_type::string: smp.s = h.s[k]; break;
      }
      put_point(rec, se->index, prev_t, smp);
      if (rec.size() >= (1u << 20)) {
        flush();
        prev_t = 0;
      }
    }
  }
  flush();
  if (st) st = (*file)->sync();
  file->reset();
  if (st) st = io->rename(tmp, final_path);
  // The rename must be durable before the writers' logs are emptied, or a crash could bring
  // back the old carry log without the points the emptied logs held.
  if (st) st = io->sync_dir(o.dir);
  if (!st) return status::io_error("cannot write the history's carry log: " + st.message());
  return status::ok();
}

void history::impl::run_sealer() {
  std::unique_lock lock(sealer_mu);
  const std::int64_t interval = std::chrono::duration_cast<std::chrono::nanoseconds>(o.retention_interval).count();
  std::int64_t next_retention = o.clock->monotonic() + interval;
  for (;;) {
    if (o.retention) {
      o.clock->wait_until(lock, sealer_cv, next_retention, [&] { return stopping || due(); });
    } else {
      sealer_cv.wait(lock, [&] { return stopping || due(); });
    }
    if (stopping) return;
    lock.unlock();
    status st;
    if (due()) st = checkpoint(false);
    if (o.retention && o.clock->monotonic() >= next_retention) {
      // A failed pass is tried again at the next; nothing is lost by waiting.
      (void)drop_expired(o.clock->now());
      next_retention = o.clock->monotonic() + interval;
    }
    lock.lock();
    // A failed checkpoint is retried later; the logs still hold everything.
    if (!st) sealer_cv.wait_for(lock, std::chrono::seconds(5), [&] { return stopping; });
  }
}

}  // namespace doppel::ts
