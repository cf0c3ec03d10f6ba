#include "ingest/dead_letters.h"

#include "core/text.h"

namespace doppel::ingest {

void dead_letters::add(const std::string& source, const std::string& twin, std::vector<rejection> batch) {
  if (batch.empty()) return;
  std::int64_t now = unix_time_ms();
  std::lock_guard lock(mu_);
  for (auto& r : batch) {
    ++counts_[r.reason];
    letters_.push_back({next_seq_++, now, source, twin, std::move(r)});
    if (letters_.size() > capacity_) {
      letters_.pop_front();
      ++dropped_;
    }
  }
}

nlohmann::json dead_letters::list(std::uint64_t after, std::size_t limit, const std::string& reason) const {
  nlohmann::json value = nlohmann::json::array();
  std::lock_guard lock(mu_);
  for (const auto& l : letters_) {
    if (l.seq <= after || (!reason.empty() && l.why.reason != reason)) continue;
    if (value.size() >= limit) break;
    nlohmann::json e = {
        {"seq", l.seq},    {"at", l.at_ms}, {"source", l.source}, {"reason", l.why.reason}, {"message", l.why.message},
        {"raw", l.why.raw}};
    if (!l.twin.empty()) e["twin"] = l.twin;
    value.push_back(std::move(e));
  }
  return {{"value", std::move(value)}, {"dropped", dropped_}};
}

void dead_letters::render_metrics(std::string& out) const {
  std::lock_guard lock(mu_);
  out += "# HELP doppel_ingest_dead_letters_total Messages and readings refused, by reason.\n";
  out += "# TYPE doppel_ingest_dead_letters_total counter\n";
  for (const auto& [reason, n] : counts_) {
    out += "doppel_ingest_dead_letters_total{reason=\"" + reason + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP doppel_ingest_dead_letters_kept Dead letters held for GET /deadletters.\n";
  out += "# TYPE doppel_ingest_dead_letters_kept gauge\n";
  out += "doppel_ingest_dead_letters_kept " + std::to_string(letters_.size()) + "\n";
}

}  // namespace doppel::ingest
