#include "store/timeseries/history.h"

#include "store/timeseries/history_impl.h"

namespace doppel::ts {

history::history(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

history::~history() {
  {
    std::lock_guard lock(impl_->sealer_mu);
    impl_->stopping = true;
  }
  impl_->sealer_cv.notify_all();
  if (impl_->sealer.joinable()) impl_->sealer.join();
  // Sealed at a clean stop, the next start has nothing to replay. If it fails, the logs keep all.
  if (impl_->o.seal_on_close) (void)impl_->checkpoint(true);
}

status history::checkpoint(bool everything) { return impl_->checkpoint(everything); }

result<std::unique_ptr<history>> history::open(history_options options) {
  auto i = std::make_unique<impl>();
  i->o = std::move(options);
  if (i->o.writers < 1) i->o.writers = 1;
  i->io = i->o.io ? i->o.io : real_files();
  if (!i->o.clock) i->o.clock = real_clock();
  std::error_code ec;
  std::filesystem::create_directories(i->o.dir, ec);
  if (ec) return status::io_error("cannot create " + i->o.dir.string() + ": " + ec.message());
  auto started = std::chrono::steady_clock::now();
  if (status st = i->open_store(); !st) return st;
  // Every log, also those of writers a previous start had and this one has not: the first
  // format's (older), then the carry log, then the writers' logs (newer, so they win equal times).
  std::vector<std::filesystem::path> logs;
  bool v1 = false;
  for (const auto& e : std::filesystem::directory_iterator(i->o.dir, ec)) {
    auto name = e.path().filename().string();
    if (is_v1_log(name) || is_log(name) || name == k_carry) logs.push_back(e.path());
    v1 = v1 || is_v1_log(name);
  }
  auto rank = [](const std::filesystem::path& p) {
    auto name = p.filename().string();
    return std::pair(is_v1_log(name) ? 0 : name == k_carry ? 1 : 2, name);
  };
  std::sort(logs.begin(), logs.end(), [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  for (const auto& l : logs) {
    if (status s = i->replay(l); !s) return s;
  }
  i->replay_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  i->report.replayed = i->replayed;
  for (int w = 0; w < i->o.writers; ++w) {
    auto log = i->io->open(i->o.dir / ("log-" + std::to_string(w) + ".wal"), false);
    if (!log) return log.error();
    i->logs.push_back(std::move(*log));
  }
  i->scratches.resize(static_cast<std::size_t>(i->o.writers));
  // The directory entries of new logs must survive a crash too.
  if (status st = i->io->sync_dir(i->o.dir); !st) return st;
  // Logs of the first format are sealed (or carried into the new format) at once.
  if (v1) {
    if (status st = i->checkpoint(true); !st) return st;
  }
  impl* raw = i.get();
  i->sealer = std::thread([raw] { raw->run_sealer(); });
  return std::unique_ptr<history>(new history(std::move(i)));
}

status history::append(int writer, const std::vector<sample>& samples) { return append_impl(writer, samples, nullptr); }

status history::append(int writer, std::span<const sample> samples,
                       std::vector<std::pair<std::size_t, value_type>>& mismatched) {
  return append_impl(writer, samples, &mismatched);
}

status history::append_impl(int writer, std::span<const sample> samples,
                            std::vector<std::pair<std::size_t, value_type>>* mismatched) {
  auto& i = *impl_;
  if (writer < 0 || writer >= i.o.writers) return status::internal("history writer out of range");
  if (samples.empty()) return status::ok();
  std::shared_lock cp(i.checkpoint_mu);  // a checkpoint does not see half an append
  auto& w = i.scratches[static_cast<std::size_t>(writer)];
  // Each sample's series (one lookup each), and types checked: a refused append writes nothing;
  // a left-out point has no series (nullptr).
  w.series_of.clear();
  std::size_t kept = 0;
  for (std::size_t k = 0; k < samples.size(); ++k) {
    const sample& s = samples[k];
    if (s.twin.size() > 0xffff || s.name.size() > 0xffff) {
      return status::invalid_argument("a twin id or telemetry name is longer than 65,535 bytes");
    }
    series* se = i.writer_series(w, s);
    if (se->points.type != s.type) {  // a series' type never changes once created
      if (mismatched) {
        mismatched->emplace_back(k, se->points.type);
        w.series_of.push_back(nullptr);
        continue;
      }
      return status::invalid_argument("telemetry \"" + std::string(s.name) + "\" of twin \"" + std::string(s.twin) +
                                      "\" has history of type " + std::string(to_string(se->points.type)) + ", not " +
                                      std::string(to_string(s.type)));
    }
    w.series_of.push_back(se);
    ++kept;
  }
  if (kept == 0) return status::ok();
  log_file& log = *i.logs[static_cast<std::size_t>(writer)];
  std::uint64_t end = log.size();
  if (end >= w.redefine_at) {  // this record defines its series again (see k_redefine_bytes)
    ++w.epoch;
    w.redefine_at = end + k_redefine_bytes;
  }
  std::string& rec = w.record;
  rec.assign(k_record_header, '\0');
  std::int64_t prev_t = 0;
  for (std::size_t k = 0; k < samples.size(); ++k) {
    if (!w.series_of[k]) continue;
    const series& se = *w.series_of[k];
    if (w.defined.size() <= se.index) w.defined.resize(se.index + 1, 0);
    if (w.defined[se.index] != w.epoch) {
      put_define(rec, se);
      w.defined[se.index] = w.epoch;
    }
    put_point(rec, se.index, prev_t, samples[k]);
  }
  seal_record(rec);
  // A failed write or sync: the record is cut off again (a later record must not follow half of
  // one; were the cut to fail too, replay skips the half record and reports it) and this writer
  // defines its series anew. The points are not applied: the caller acknowledges nothing.
  auto undo = [&](const char* what, const status& cause) {
    (void)log.truncate(end);
    ++w.epoch;
    return status::io_error(std::string(what) + cause.message());
  };
  if (status st = log.append(rec); !st) return undo("cannot write the telemetry log: ", st);
  if (i.o.sync) {
    if (status st = log.sync(); !st) return undo("cannot sync the telemetry log: ", st);
    i.syncs.fetch_add(1, std::memory_order_relaxed);
  }
  i.log_bytes.fetch_add(rec.size(), std::memory_order_relaxed);
  for (std::size_t k = 0; k < samples.size(); ++k) {
    if (w.series_of[k]) i.apply(w.series_of[k], samples[k]);
  }
  i.appended.fetch_add(kept, std::memory_order_relaxed);
  if (i.due()) i.sealer_cv.notify_one();
  return status::ok();
}

result<column_batch> history::read(std::string_view twin, std::string_view name, std::int64_t from, std::int64_t to,
                                   std::size_t limit, bool* truncated) const {
  const auto& i = *impl_;
  const series* se = i.find(twin, name);
  if (!se) return impl::no_history(twin, name);
  // Sources in rising precedence: the chunks in sealing order, then the head. A time held by
  // several (a late point sealed after its neighbours, a log replayed after a crash) keeps the
  // value of the latest source.
  snapshot snap;
  impl::take(*se, from, to, snap);
  column_batch& head = snap.head;
  std::vector<column_batch> chunks;
  chunks.reserve(snap.chunks.size());
  for (const chunk_ref& c : snap.chunks) {
    bool found = false;
    chunks.emplace_back();
    if (status st = i.load_chunk(c.rowid, chunks.back(), found); !st) return st;
    if (!found) chunks.pop_back();  // expired since it was listed
  }
  column_batch out;
  out.type = head.type;
  if (chunks.empty()) {
    out = std::move(head);
  } else {
    // (time, source, index), sorted by time then by precedence; the last of equal times wins.
    struct ref {
      std::int64_t t;
      std::uint32_t source, index;
    };
    std::vector<ref> all;
    auto add = [&](const column_batch& c, std::uint32_t source) {
      for (std::size_t k = 0; k < c.t.size(); ++k) {
        if (c.t[k] >= from && before_end(c.t[k], to)) all.push_back({c.t[k], source, static_cast<std::uint32_t>(k)});
      }
    };
    for (std::size_t k = 0; k < chunks.size(); ++k) add(chunks[k], static_cast<std::uint32_t>(k));
    add(head, static_cast<std::uint32_t>(chunks.size()));
    std::sort(all.begin(), all.end(),
              [](const ref& a, const ref& b) { return a.t != b.t ? a.t < b.t : a.source < b.source; });
    for (std::size_t k = 0; k < all.size(); ++k) {
      if (k + 1 < all.size() && all[k + 1].t == all[k].t) continue;  // a later source has this time
      const column_batch& c = all[k].source < chunks.size() ? chunks[all[k].source] : head;
      std::size_t at = all[k].index;
      out.t.push_back(c.t[at]);
      switch (c.type) {
        case value_type::f64: out.f.push_back(c.f[at]); break;
        case value_type::i64: out.i.push_back(c.i[at]); break;
        case value_type::boolean: out.b.push_back(c.b[at]); break;
        case value_type::string: out.s.push_back(c.s[at]); break;
      }
    }
  }
  if (truncated) *truncated = out.size() > limit;
  if (out.size() > limit) {
    column_batch cut;
    slice(out, 0, limit, cut);
    return cut;
  }
  return out;
}

result<std::vector<bucket>> history::aggregate(std::string_view twin, std::string_view name, std::int64_t from,
                                               std::int64_t to, std::int64_t step, std::size_t max_raw,
                                               bool percentiles) const {
  const auto& i = *impl_;
  if (step <= 0) return status::invalid_argument("step must be positive");
  const series* se = i.find(twin, name);
  if (!se) return impl::no_history(twin, name);
  std::int64_t tier = 0;  // the coarsest tier whose buckets fit whole in the step's
  for (std::int64_t t : tier_steps_ns) {
    if (step % t == 0) tier = t;
  }
  snapshot snap;
  impl::take(*se, from, to, snap);
  std::sort(snap.chunks.begin(), snap.chunks.end(),
            [](const chunk_ref& a, const chunk_ref& b) { return a.t_min < b.t_min; });
  // Buckets from rollups are exact only where no two sources hold the same time (a late point
  // sealed after its neighbours, a replayed log): those ranges are merged point by point.
  bool disjoint = snap.head.type != value_type::string;
  for (std::size_t k = 1; k < snap.chunks.size() && disjoint; ++k) {
    disjoint = snap.chunks[k].t_min > snap.chunks[k - 1].t_max;
  }
  if (disjoint && !snap.chunks.empty() && snap.head.size()) disjoint = snap.head.t.front() > snap.chunks.back().t_max;
  if (!tier || !disjoint || percentiles) {
    bool truncated = false;
    auto raw = read(twin, name, from, to, max_raw, &truncated);
    if (!raw) return raw.error();
    if (truncated && percentiles) {
      return status::invalid_argument("percentiles need every point, and the range holds more than " +
                                      std::to_string(max_raw) + "; narrow from and to");
    }
    if (truncated) {
      return status::invalid_argument("the range holds more than " + std::to_string(max_raw) +
                                      " points to aggregate one by one; narrow from and to, or use a step that is a "
                                      "multiple of 1m so the downsampled tiers answer");
    }
    auto buckets = ts::aggregate(*raw, step);
    if (buckets && percentiles) add_percentiles(*raw, step, *buckets);
    return buckets;
  }
  std::vector<bucket> fine;  // buckets of the tier, in time order; one split by chunks appears twice
  column_batch points;
  for (const chunk_ref& c : snap.chunks) {
    bool found = false;
    if (c.tiers && c.t_min >= from && before_end(c.t_max, to)) {
      if (status st = i.load_rollup(c.rowid, tier, fine, found); !st) return st;
      continue;
    }
    // A chunk cut by the range's ends (or sealed before tiers existed): its points in range.
    if (status st = i.load_chunk(c.rowid, points, found); !st) return st;
    if (!found) continue;
    auto lo = static_cast<std::size_t>(std::lower_bound(points.t.begin(), points.t.end(), from) - points.t.begin());
    auto hi = static_cast<std::size_t>(end_of_range(points.t, to) - points.t.begin());
    column_batch part;
    slice(points, lo, hi, part);
    auto b = ts::aggregate(part, tier);
    if (!b) return b.error();
    fine.insert(fine.end(), b->begin(), b->end());
  }
  auto b = ts::aggregate(snap.head, tier);
  if (!b) return b.error();
  fine.insert(fine.end(), b->begin(), b->end());
  return regroup(fine, step);
}

std::optional<std::int64_t> history::newest(std::string_view twin, std::string_view name) const {
  const series* se = impl_->find(twin, name);
  if (!se) return std::nullopt;
  std::int64_t t = se->newest.load(std::memory_order_relaxed);
  if (t == INT64_MIN) return std::nullopt;
  return t;
}

result<std::uint64_t> history::drop_expired(std::int64_t now_ns) { return impl_->drop_expired(now_ns); }

std::vector<std::string> history::series_of(std::string_view twin) const {
  const auto& i = *impl_;
  std::shared_lock lock(i.map_mu);
  auto it = i.twins.find(twin);
  if (it == i.twins.end()) return {};
  std::vector<std::string> out;
  for (const series* se : it->second) out.push_back(se->name);
  std::sort(out.begin(), out.end());
  return out;
}

const recovery_report& history::recovery() const { return impl_->report; }

std::vector<std::string> recovery_report::describe() const {
  std::vector<std::string> out;
  for (const skipped_range& r : skipped) {
    out.push_back("history: skipped " + std::to_string(r.bytes) + " damaged bytes at offset " +
                  std::to_string(r.offset) + " of " + r.file.string() + " (" + r.reason + ")");
  }
  if (skipped_ranges > skipped.size()) {
    out.push_back("history: ... and " + std::to_string(skipped_ranges - skipped.size()) + " more damaged range(s), " +
                  std::to_string(skipped_bytes) + " bytes skipped in all");
  }
  return out;
}

history_stats history::stats() const {
  const auto& i = *impl_;
  history_stats s;
  {
    std::shared_lock lock(i.map_mu);
    s.series = i.heads.size();
  }
  s.points = i.points.load();
  s.appended = i.appended.load();
  s.syncs = i.syncs.load();
  s.log_bytes = i.log_bytes.load();
  s.replayed = i.replayed;
  s.replay_seconds = i.replay_seconds;
  s.torn_bytes = i.report.torn_bytes;
  s.skipped_ranges = i.report.skipped_ranges;
  s.skipped_bytes = i.report.skipped_bytes;
  s.chunks = i.chunk_count.load();
  s.chunk_bytes = i.chunk_bytes.load();
  s.tier_bytes = i.tier_bytes.load();
  s.chunks_decoded = i.chunks_decoded.load();
  s.rollups_read = i.rollups_read.load();
  s.expired_chunks = i.expired.load();
  s.sealed_points = i.sealed_points.load();
  s.checkpoints = i.checkpoints.load();
  return s;
}

}  // namespace doppel::ts
