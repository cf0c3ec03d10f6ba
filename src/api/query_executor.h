// Runs twin queries off the HTTP I/O threads: a few worker threads take queries from a bounded
// wait queue, so that heavy JOINs do not hold up simple GETs, and a token may run only a few
// queries at once, so that one client cannot take every worker.
//
// Callers: the router (submit, for POST /query and POST /query/telemetry) and /metrics
// (render_metrics). Threading: submit, stop and render_metrics are safe from any thread; a job
// runs on a worker thread. stop() (and the destructor) drops the jobs still waiting, lets the
// running ones finish and joins the workers; submits after it are refused as queue_full.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace doppel::api {

struct query_executor_options {
  std::size_t workers = 0;    // 0: cores - 1, at least one (the I/O threads keep the rest)
  std::size_t queue = 64;     // queries waiting for a worker; past it submit refuses (503)
  std::size_t per_token = 2;  // queries of one token running or waiting; past it: 429
};

class query_executor {
 public:
  explicit query_executor(query_executor_options options);
  ~query_executor();
  query_executor(const query_executor&) = delete;
  query_executor& operator=(const query_executor&) = delete;

  enum class admission { accepted, queue_full, token_busy };
  // Queues `job` for `token` (its name; empty counts as one anonymous token). accepted: `job`
  // will run on a worker; otherwise it was not taken (and is not called).
  admission submit(const std::string& token, std::function<void()> job);
  void stop();

  const query_executor_options& options() const { return options_; }
  // doppel_queries_* families: running, queued, workers, refusals.
  void render_metrics(std::string& out) const;

 private:
  struct job {
    std::string token;
    std::function<void()> run;
  };
  void work();

  query_executor_options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<job> queue_;                                          // guarded by mu_
  std::unordered_map<std::string, std::size_t> by_token_;          // guarded by mu_: running + queued
  std::size_t running_ = 0;                                        // guarded by mu_
  std::uint64_t done_ = 0, refused_full_ = 0, refused_token_ = 0;  // guarded by mu_
  bool stopping_ = false;                                          // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace doppel::api
