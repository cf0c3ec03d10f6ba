#include "ingest/pipeline.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <span>
#include <thread>

#include "core/prometheus.h"
#include "core/text.h"
#include "core/time.h"
#include "ingest/stage.h"
#include "model/conformance.h"

namespace doppel::ingest {

namespace {

// The content a reading names: "speed", or "motor.power" for a component's (DTDL names hold no
// '.', so the split is never ambiguous).
const model::content* find_value(const model::interface& m, const std::string& name) {
  if (const model::content* c = m.find(name)) return c;
  auto dot = name.find('.');
  if (dot == std::string::npos) return nullptr;
  const model::content* comp = m.find(std::string_view(name).substr(0, dot));
  if (!comp || comp->kind != model::content_kind::component || !comp->component) return nullptr;
  return comp->component->find(std::string_view(name).substr(dot + 1));
}

// A telemetry value as history holds it: numbers and booleans as themselves, anything else
// (enums, objects, dates, ...) as its JSON text, or its text when it is a string. The sample's
// views point into `r`; a string's text goes to `texts` (views into it are set before the append).
void keep_sample(std::vector<ts::sample>& samples, std::vector<std::string>& texts, const reading& r,
                 const model::schema& type) {
  ts::sample s;
  s.twin = r.twin;
  s.name = r.name;
  s.time_ns = r.time_ns;
  std::string text;
  bool primitive = type.type == model::schema::kind::primitive;
  auto p = type.primitive;
  if (primitive && (p == model::primitive_kind::double_ || p == model::primitive_kind::float_) && r.value.is_number()) {
    s.type = ts::value_type::f64;
    s.f = r.value.get<double>();
  } else if (primitive && (p == model::primitive_kind::integer || p == model::primitive_kind::long_) &&
             r.value.is_number_integer()) {
    s.type = ts::value_type::i64;
    s.i = r.value.get<std::int64_t>();
  } else if (primitive && p == model::primitive_kind::boolean && r.value.is_boolean()) {
    s.type = ts::value_type::boolean;
    s.i = r.value.get<bool>() ? 1 : 0;
  } else {
    s.type = ts::value_type::string;
    text = r.value.is_string() ? r.value.get<std::string>() : r.value.dump();
  }
  samples.push_back(s);
  texts.push_back(std::move(text));
}

std::string describe(const reading& r) {
  return nlohmann::json{{"twin", r.twin}, {"name", r.name}, {"value", r.value}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

// One submit: counts the shard batches and twin writes still open; the last to finish answers.
struct telemetry_pipeline::request {
  std::string source;
  std::function<void(result<ingest_result>)> done;
  std::atomic<int> open{0};
  std::atomic<std::size_t> accepted{0};
  std::mutex mu;
  std::vector<rejection> rejected;  // guarded by mu
  std::vector<std::string> twins;   // guarded by mu: the twin of each rejection, for dead letters
  status failure;                   // guarded by mu: the history could not be written
  dead_letters* letters = nullptr;

  void fail(const status& s) {
    std::lock_guard lock(mu);
    failure = s;
  }

  void reject(const std::string& twin, rejection r) {
    std::lock_guard lock(mu);
    twins.push_back(twin);
    rejected.push_back(std::move(r));
  }
  void finish_one() {
    if (open.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    ingest_result out;
    out.accepted = accepted.load();
    {
      std::lock_guard lock(mu);
      if (!failure.is_ok()) return done(failure);
      // Stored (durably) before anyone is answered: an MQTT message is acknowledged after this.
      if (status s = letters->add(source, twins, rejected); !s) return done(s);
      out.rejected = std::move(rejected);
    }
    done(std::move(out));
  }
};

// What one stage cost on one shard. Single writer (the shard thread): load + store, no RMW.
struct stage_stats {
  std::atomic<std::uint64_t> ns{0}, readings{0};
  void add(std::uint64_t t, std::uint64_t n) {
    ns.store(ns.load(std::memory_order_relaxed) + t, std::memory_order_relaxed);
    readings.store(readings.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

struct telemetry_pipeline::shard {
  // One run of a twin's readings whose telemetry was accepted: samples [first, last) of its pass.
  struct accepted_run {
    request* req = nullptr;  // the pass holds it
    const model::interface* model = nullptr;
    twin::telemetry_state::handle live;  // the twin's live state, taken with its model
    std::size_t first = 0, last = 0;
  };

  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<std::shared_ptr<request>, std::vector<reading>>> queue;  // guarded by mu
  // For the lag metric: when each entry of `queue` was queued, and when the oldest entry the
  // pass in progress took was (busy: a pass is applying). Guarded by mu.
  std::deque<std::chrono::steady_clock::time_point> queued_at;
  std::chrono::steady_clock::time_point pass_oldest{};
  bool busy = false;
  std::size_t queued = 0;  // readings; guarded by mu
  bool stopping = false;   // guarded by mu
  std::thread thread;
  int index = 0;
  // Shard thread only, reused: the telemetry accepted in the current pass, held back until the
  // pass's append is durable (then it becomes latest, events and stage input). samples[k] is the
  // typed value of reading *accepted[k] (views into the pass's readings, which live until it is
  // answered; texts[k] holds its text when it is a string); runs group them by run of a twin's
  // readings. The rest is scratch for one run.
  std::vector<ts::sample> samples;
  std::vector<std::string> texts;
  std::vector<reading*> accepted;
  std::vector<accepted_run> runs;
  std::vector<std::pair<std::size_t, ts::value_type>> mismatched;
  std::vector<model::value_error> errors;
  std::vector<twin::telemetry_update> updates;  // one run's, for the twin's latest telemetry
  // What the stages derived in this pass (stage.h), and where each run's ends in it; their
  // values as JSON for the latest telemetry.
  std::vector<ts::sample> derived;
  std::vector<std::size_t> derived_end;
  std::vector<nlohmann::json> derived_values;
  // Time and readings per stage (options.stages' order); written by the shard thread only.
  std::unique_ptr<stage_stats[]> stages;
};

telemetry_pipeline::telemetry_pipeline(twin::twin_graph& graph, dead_letters& letters, pipeline_options options)
    : graph_(graph), letters_(letters), options_(options), attachments_(graph.telemetry().attachment_owner()) {
  int n = shard_count(options_.shards);
  for (int i = 0; i < n; ++i) {
    shards_.push_back(std::make_unique<shard>());
    shards_.back()->index = i;
    shards_.back()->stages = std::make_unique<stage_stats[]>(options_.stages.size());
  }
  for (const stage_entry& e : options_.stages) e.stage->start(n);
  for (auto& s : shards_) s->thread = std::thread([this, raw = s.get()] { run(*raw); });
}

telemetry_pipeline::~telemetry_pipeline() {
  for (auto& s : shards_) {
    {
      std::lock_guard lock(s->mu);
      s->stopping = true;
    }
    s->cv.notify_all();
  }
  for (auto& s : shards_) s->thread.join();
  // Twin writes the shards started complete on the store's thread and use this object.
  std::unique_lock lock(writes_mu_);
  writes_cv_.wait(lock, [&] { return writes_ == 0; });
}

int telemetry_pipeline::shard_count(int requested) {
  return requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency() / 2));
}

std::size_t telemetry_pipeline::shard_of(const std::string& twin) const {
  return std::hash<std::string>{}(twin) % shards_.size();
}

void telemetry_pipeline::set_listener(std::function<void(const twin::change_event&)> listener,
                                      std::function<bool()> wanted) {
  listener_ = std::move(listener);
  wanted_ = std::move(wanted);
}

void telemetry_pipeline::submit(const std::string& source, std::vector<reading> readings,
                                std::function<void(result<ingest_result>)> done) {
  if (readings.size() > options_.queue_readings) {
    // Retrying would never help: the batch is larger than an empty queue.
    return done(status::invalid_argument(std::to_string(readings.size()) + " readings in one batch; at most " +
                                         std::to_string(options_.queue_readings) +
                                         " fit (ingest.queue_readings): send smaller batches"));
  }
  if (!try_submit(source, readings, done)) {
    done(status::unavailable("the ingest queues are full (" + std::to_string(options_.queue_readings) +
                             " readings per shard); retry in a moment"));
  }
}

bool telemetry_pipeline::try_submit(const std::string& source, std::vector<reading>& readings,
                                    std::function<void(result<ingest_result>)>& done) {
  if (readings.empty()) {
    done(ingest_result{});
    return true;
  }
  // Count by owning shard first: a refused submit leaves `readings` as they were.
  std::vector<std::uint32_t> owner(readings.size());
  std::vector<std::size_t> counts(shards_.size());
  for (std::size_t k = 0; k < readings.size(); ++k) {
    owner[k] = static_cast<std::uint32_t>(shard_of(readings[k].twin));
    ++counts[owner[k]];
  }
  // All parts fit, or none is queued: a half-queued submit could not be answered simply.
  std::vector<std::unique_lock<std::mutex>> locks;
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    if (!counts[i]) continue;
    locks.emplace_back(shards_[i]->mu);
    if (shards_[i]->queued + counts[i] > options_.queue_readings) {
      refused_busy_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  }
  // Split, keeping each twin's readings in order.
  std::vector<std::vector<reading>> parts(shards_.size());
  for (std::size_t i = 0; i < shards_.size(); ++i) parts[i].reserve(counts[i]);
  for (std::size_t k = 0; k < readings.size(); ++k) parts[owner[k]].push_back(std::move(readings[k]));
  readings.clear();
  auto req = std::make_shared<request>();
  req->source = source;
  req->done = std::move(done);
  req->letters = &letters_;
  int n = 0;
  for (std::size_t c : counts) n += c ? 1 : 0;
  req->open.store(n);
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    if (parts[i].empty()) continue;
    shards_[i]->queued += parts[i].size();
    shards_[i]->queued_at.push_back(std::chrono::steady_clock::now());
    shards_[i]->queue.emplace_back(req, std::move(parts[i]));
  }
  locks.clear();
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    if (counts[i]) shards_[i]->cv.notify_one();
  }
  return true;
}

result<ingest_result> telemetry_pipeline::submit(const std::string& source, std::vector<reading> readings) {
  std::promise<result<ingest_result>> promise;
  auto future = promise.get_future();
  submit(source, std::move(readings), [&promise](result<ingest_result> r) { promise.set_value(std::move(r)); });
  return future.get();
}

void telemetry_pipeline::run(shard& s) {
  for (;;) {
    std::deque<std::pair<std::shared_ptr<request>, std::vector<reading>>> work;
    {
      std::unique_lock lock(s.mu);
      s.cv.wait(lock, [&] { return s.stopping || !s.queue.empty(); });
      if (s.queue.empty()) return;  // stopping, and everything applied
      work.swap(s.queue);
      s.busy = true;  // the lag counts until this pass is answered
      s.pass_oldest = s.queued_at.front();
      s.queued_at.clear();
    }
    std::size_t n = 0;
    for (auto& [req, readings] : work) {
      n += readings.size();
      apply(s, req, readings);
    }
    // Texts moved while `texts` grew: point string samples at their final place now.
    for (std::size_t k = 0; k < s.samples.size(); ++k) {
      if (s.samples[k].type == ts::value_type::string) s.samples[k].s = s.texts[k];
    }
    // One durable append for everything this pass accepted, before any of it is answered, seen
    // (latest, events, stages) or counted: a failed append fails every submit of the pass, which
    // the senders retry, so nothing of it may show. A sample whose series holds another type is
    // left out of it and becomes a dead letter, instead of failing the pass for one reading.
    status st;
    s.mismatched.clear();
    if (options_.history && !s.samples.empty()) st = options_.history->append(s.index, s.samples, s.mismatched);
    if (st) {
      if (!s.mismatched.empty()) drop_type_changes(s);
      publish(s);
    } else {
      for (auto& w : work) w.first->fail(st);
    }
    s.samples.clear();
    s.texts.clear();
    s.accepted.clear();
    s.runs.clear();
    {
      std::lock_guard lock(s.mu);
      s.queued -= n;
      s.busy = false;
    }
    for (auto& w : work) w.first->finish_one();
  }
}

void telemetry_pipeline::apply(shard& s, const std::shared_ptr<request>& req, std::vector<reading>& readings) {
  // Runs of one twin's readings, in submit order (collectors send a twin's values together; a
  // twin in several runs is applied run after run, still in order).
  for (std::size_t begin = 0; begin < readings.size();) {
    std::size_t end = begin;
    while (end < readings.size() && readings[end].twin == readings[begin].twin) ++end;
    const std::string& twin = readings[begin].twin;
    twin::live_twin live = graph_.live(twin);
    const model::interface* m = live.model;
    std::vector<twin::reported_value> reported;
    const std::size_t run_first = s.samples.size();
    for (std::size_t k = begin; k < end; ++k) {
      reading& r = readings[k];
      auto refuse = [&](const char* reason, std::string message) {
        rejected_.fetch_add(1, std::memory_order_relaxed);
        req->reject(twin, {reason, std::move(message), describe(r)});
      };
      if (!m) {
        refuse("unknown_twin",
               "twin \"" + twin + "\" does not exist; create it first (PUT /digitaltwins/" + twin + ")");
        continue;
      }
      const model::content* c = find_value(*m, r.name);
      if (!c) {
        refuse("unknown_name", "model " + m->id + " of twin \"" + twin + "\" has no telemetry or property \"" + r.name +
                                   "\" (a component's are named component.name); GET /models/" + m->id +
                                   " lists its contents");
        continue;
      }
      if (c->kind != model::content_kind::telemetry && c->kind != model::content_kind::property) {
        refuse("not_a_value", "\"" + r.name + "\" of model " + m->id + " is a " +
                                  std::string(model::to_string(c->kind)) + ", not a telemetry or property");
        continue;
      }
      if (c->kind == model::content_kind::property && !reportable(*m, r.name, *c)) {
        refuse("not_reportable",
               "\"" + r.name + "\" of model " + m->id +
                   " is not writable and not declared device-reported, so telemetry may not change it (its value "
                   "comes from the twin's declaration in twins/); if the device reports it, list it in doppel.yaml "
                   "under ingest.device_reported: {\"" +
                   m->id + "\": [" + r.name + "]}");
        continue;
      }
      model::normalize_integers(*c->type, r.value);
      s.errors.clear();
      if (!model::check_value(*c->type, r.value, s.errors, "$")) {
        // Checked again with the reading's name in the path, only for the message.
        s.errors.clear();
        model::check_value(*c->type, r.value, s.errors, "$." + r.name);
        refuse("wrong_type", s.errors.empty() ? "\"" + r.name + "\" does not fit " + c->type->describe()
                                              : s.errors[0].path + ": " + s.errors[0].message);
        continue;
      }
      if (c->kind == model::content_kind::property) {
        auto dot = r.name.find('.');
        if (dot == std::string::npos) {
          reported.push_back({"", r.name, std::move(r.value)});
        } else {
          reported.push_back({r.name.substr(0, dot), r.name.substr(dot + 1), std::move(r.value)});
        }
      } else {
        if (options_.late_window_ns > 0 && options_.history) {
          auto newest = options_.history->newest(twin, r.name);
          if (newest && *newest > r.time_ns && *newest - r.time_ns > options_.late_window_ns) {
            refuse("too_late", "\"" + r.name + "\" at " + rfc3339_floor_ms(r.time_ns) +
                                   " is older than the newest point (" + rfc3339_floor_ms(*newest) +
                                   ") by more than history.late_window; widen the window in doppel.yaml to accept it");
            continue;
          }
        }
        keep_sample(s.samples, s.texts, r, *c->type);
        s.accepted.push_back(&r);
      }
    }
    if (s.samples.size() > run_first)
      s.runs.push_back({req.get(), m, std::move(live.state), run_first, s.samples.size()});
    if (!reported.empty()) {
      // Reported state (writable or declared device-reported properties), already checked above:
      // the graph's typed report path installs it. Durable before the answer.
      std::size_t properties = reported.size();
      req->open.fetch_add(1, std::memory_order_relaxed);
      {
        std::lock_guard lock(writes_mu_);
        ++writes_;
      }
      graph_.report(twin, *m, std::move(reported), [this, req, twin, properties](result<nlohmann::json> r) {
        if (r) {
          accepted_.fetch_add(properties, std::memory_order_relaxed);
          req->accepted.fetch_add(properties, std::memory_order_relaxed);
        } else if (r.error().code() == status_code::io_error || r.error().code() == status_code::unavailable) {
          // The store failed, not the reading: the whole submit fails (HTTP 503, MQTT not
          // acknowledged) so that it is sent again, instead of a refusal that blames the data.
          req->fail(r.error());
        } else {
          rejected_.fetch_add(properties, std::memory_order_relaxed);
          req->reject(twin, {r.error().code() == status_code::invalid_argument ? "wrong_type" : "write_failed",
                             r.error().message(), twin});
        }
        req->finish_one();
        std::lock_guard lock(writes_mu_);
        if (--writes_ == 0) writes_cv_.notify_all();
      });
    }
    begin = end;
  }
}

void telemetry_pipeline::drop_type_changes(shard& s) {
  // Compacts the samples, runs shrinking around the refused ones (an emptied run goes).
  std::size_t out = 0, next = 0, kept_runs = 0;
  for (shard::accepted_run& run : s.runs) {
    const std::size_t first = out;
    for (std::size_t k = run.first; k < run.last; ++k) {
      if (next < s.mismatched.size() && s.mismatched[next].first == k) {
        const reading& r = *s.accepted[k];
        const ts::value_type held = s.mismatched[next++].second;
        rejected_.fetch_add(1, std::memory_order_relaxed);
        run.req->reject(
            r.twin,
            {"type_changed",
             "\"" + r.name + "\" of twin \"" + r.twin + "\" is " + std::string(ts::to_string(s.samples[k].type)) +
                 " in the twin's model now, but its history holds " + std::string(ts::to_string(held)) +
                 " values (a series keeps the type of its first point): give the telemetry "
                 "its former schema again, or a new name for the new type",
             describe(r)});
        continue;
      }
      if (out != k) {
        s.samples[out] = s.samples[k];
        s.texts[out] = std::move(s.texts[k]);
        if (s.samples[out].type == ts::value_type::string) s.samples[out].s = s.texts[out];  // it moved
        s.accepted[out] = s.accepted[k];
      }
      ++out;
    }
    if (out > first) {
      run.first = first;
      run.last = out;
      if (&s.runs[kept_runs] != &run) s.runs[kept_runs] = std::move(run);
      ++kept_runs;
    }
  }
  s.samples.resize(out);
  s.texts.resize(out);
  s.accepted.resize(out);
  s.runs.resize(kept_runs);
}

void telemetry_pipeline::publish(shard& s) {
  const bool listening = listener_ && (!wanted_ || wanted_());
  // The stages first, for every run, so that what they derive is appended once for the pass.
  s.derived.clear();
  s.derived_end.clear();
  if (!options_.stages.empty()) {
    for (const shard::accepted_run& run : s.runs) {
      const std::string& twin = s.accepted[run.first]->twin;
      derived_telemetry derived(twin, s.derived);
      twin_readings view{twin, *run.model, {s.samples.data() + run.first, run.last - run.first}, nullptr, &derived};
      auto t = std::chrono::steady_clock::now();
      for (std::size_t i = 0; i < options_.stages.size(); ++i) {
        const stage_entry& e = options_.stages[i];
        if (!e.model.empty() && !run.model->is_a(e.model)) continue;
        view.state = &twin::telemetry_state::attachment(*run.live, attachments_, i, options_.stages.size());
        e.stage->run(s.index, view);
        auto t1 = std::chrono::steady_clock::now();
        s.stages[i].add(static_cast<std::uint64_t>(std::chrono::nanoseconds(t1 - t).count()), run.last - run.first);
        t = t1;
      }
      s.derived_end.push_back(s.derived.size());
    }
    if (!s.derived.empty()) keep_derived(s);
  }
  for (std::size_t i = 0; i < s.runs.size(); ++i) {
    const shard::accepted_run& run = s.runs[i];
    const std::string& twin = s.accepted[run.first]->twin;
    const std::size_t derived_first = i == 0 || s.derived_end.empty() ? 0 : s.derived_end[i - 1];
    const std::size_t derived_last = s.derived_end.empty() ? 0 : s.derived_end[i];
    nlohmann::json event;
    if (listening) {
      event = nlohmann::json::object();
      for (std::size_t k = run.first; k < run.last; ++k) {
        const reading& r = *s.accepted[k];
        event[r.name] = {{"value", r.value}, {"time", rfc3339_floor_ms(r.time_ns)}};
      }
    }
    // The twin's latest telemetry lives beside its properties (twin/telemetry_state.h); an
    // array's or object's JSON text is already in the sample, made for the history.
    s.updates.clear();
    for (std::size_t k = run.first; k < run.last; ++k) {
      const reading& r = *s.accepted[k];
      const bool structured = r.value.is_array() || r.value.is_object();
      s.updates.push_back({r.name, r.time_ns, &r.value, structured ? s.samples[k].s : std::string_view()});
    }
    for (std::size_t k = derived_first; k < derived_last; ++k) {
      const ts::sample& d = s.derived[k];
      if (d.name.empty()) continue;  // not kept (keep_derived)
      s.updates.push_back({d.name, d.time_ns, &s.derived_values[k], {}});
      if (listening) event[std::string(d.name)] = {{"value", d.f}, {"time", rfc3339_floor_ms(d.time_ns)}};
    }
    graph_.telemetry().record(*run.live, s.updates);
    if (listening) listener_({"twin.telemetry", twin, "", run.model->id, std::move(event)});
    accepted_.fetch_add(run.last - run.first, std::memory_order_relaxed);
    run.req->accepted.fetch_add(run.last - run.first, std::memory_order_relaxed);
  }
}

void telemetry_pipeline::keep_derived(shard& s) {
  // Derived values are durable before they are seen, as readings are; when the append fails
  // they are dropped (their readings stay applied: they were durable already).
  std::size_t dropped = 0;
  if (options_.history) {
    s.mismatched.clear();
    if (status st = options_.history->append(s.index, s.derived, s.mismatched); !st) {
      for (ts::sample& d : s.derived) d.name = {};
      dropped = s.derived.size();
    } else {
      for (const auto& [k, held] : s.mismatched) s.derived[k].name = {};  // its series holds another type
      dropped = s.mismatched.size();
    }
  }
  s.derived_values.resize(s.derived.size());
  for (std::size_t k = 0; k < s.derived.size(); ++k) s.derived_values[k] = s.derived[k].f;
  derived_dropped_.fetch_add(dropped, std::memory_order_relaxed);
  derived_written_.fetch_add(s.derived.size() - dropped, std::memory_order_relaxed);
}

bool telemetry_pipeline::reportable(const model::interface& m, const std::string& name, const model::content& c) const {
  if (c.writable) return true;
  auto dot = name.find('.');
  const model::interface* comp = nullptr;
  if (dot != std::string::npos) {
    if (const model::content* holder = m.find(std::string_view(name).substr(0, dot))) comp = holder->component;
  }
  for (const auto& [model_id, declared] : options_.device_reported) {
    if (declared == name && m.is_a(model_id)) return true;
    if (comp && comp->is_a(model_id) && std::string_view(declared) == std::string_view(name).substr(dot + 1)) {
      return true;
    }
  }
  return false;
}

void telemetry_pipeline::render_metrics(std::string& out) const {
  prometheus::writer w(out);
  w.family("doppel_ingest_readings_total", "Readings applied (accepted) or refused (rejected).",
           prometheus::metric_type::counter);
  w.sample("doppel_ingest_readings_total", {{"outcome", "accepted"}}, accepted_.load());
  w.sample("doppel_ingest_readings_total", {{"outcome", "rejected"}}, rejected_.load());
  w.counter("doppel_ingest_busy_total", "Submits refused because the shard queues were full.", refused_busy_.load());
  w.family("doppel_ingest_queue_readings", "Readings waiting in each shard's queue.", prometheus::metric_type::gauge);
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    std::size_t queued = 0;
    {
      std::lock_guard lock(shards_[i]->mu);
      queued = shards_[i]->queued;
    }
    w.sample("doppel_ingest_queue_readings", {{"shard", std::to_string(i)}}, queued);
  }
  if (!options_.stages.empty()) {
    w.family("doppel_stage_seconds_total", "Time the shards spent in each stage.", prometheus::metric_type::counter);
    for (std::size_t i = 0; i < options_.stages.size(); ++i) {
      std::uint64_t ns = 0;
      for (const auto& sh : shards_) ns += sh->stages[i].ns.load(std::memory_order_relaxed);
      w.sample("doppel_stage_seconds_total", {{"stage", options_.stages[i].stage->name()}},
               static_cast<double>(ns) / 1e9);
    }
    w.family("doppel_stage_readings_total", "Telemetry readings each stage was given.",
             prometheus::metric_type::counter);
    for (std::size_t i = 0; i < options_.stages.size(); ++i) {
      std::uint64_t n = 0;
      for (const auto& sh : shards_) n += sh->stages[i].readings.load(std::memory_order_relaxed);
      w.sample("doppel_stage_readings_total", {{"stage", options_.stages[i].stage->name()}}, n);
    }
    w.family("doppel_stage_derived_total",
             "Telemetry the stages derived (virtual sensors, residuals, scores): written, or dropped when the "
             "history could not take it.",
             prometheus::metric_type::counter);
    w.sample("doppel_stage_derived_total", {{"outcome", "written"}}, derived_written_.load());
    w.sample("doppel_stage_derived_total", {{"outcome", "dropped"}}, derived_dropped_.load());
    for (const stage_entry& e : options_.stages) e.stage->render_metrics(out);
  }
  w.family("doppel_ingest_lag_seconds", "How long the oldest reading a shard holds has waited (0 when idle).",
           prometheus::metric_type::gauge);
  auto now = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    shard& sh = *shards_[i];
    double lag = 0;
    {
      std::lock_guard lock(sh.mu);
      if (sh.busy) {
        lag = std::chrono::duration<double>(now - sh.pass_oldest).count();
      } else if (!sh.queued_at.empty()) {
        lag = std::chrono::duration<double>(now - sh.queued_at.front()).count();
      }
    }
    w.sample("doppel_ingest_lag_seconds", {{"shard", std::to_string(i)}}, lag);
  }
}

}  // namespace doppel::ingest
