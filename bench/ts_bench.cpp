// The time-series store against InfluxDB 1.6 (Debian `influxdb`) and VictoriaMetrics (Debian
// `victoria-metrics`), all three loaded with the same points in the same run (issue 6):
//
//   data      a realistic IoT set in the spirit of TSBS "iot": PUMPS pumps x SECONDS at 1 Hz x 8
//             fields (pressures, flow, temperature and vibration with 1-3 decimals and sensor
//             noise on slow cycles, rpm and a start counter as integers, `running` as a boolean;
//             stopped pumps read 0), and a high-entropy set (PUMPS/4 pumps x 5 fields of random
//             full-precision doubles) as the worst case; plus one pump with 30 days of one field
//             (2.6 M points) for the long-range queries.
//   size      bytes on disk per point once flushed and compacted.
//   ingest    points/s into ts::history alone (append from 2 writer threads, fdatasync per
//             batch, as the pipeline's shards do) and through line protocol over HTTP (5,000-line
//             requests over 2 keep-alive connections) to `doppel serve`, InfluxDB and VM.
//   queries   p50/p99 over repetitions (warm) of: 1 day raw, 1 day at 1 minute, 30 days at 1 hour
//             of one series, and the mean per 5 minutes of one field across all pumps.
//   recovery  a process appending RECOVERY points to ts::history with nothing sealed is killed
//             with SIGKILL; then the replay in-process, and `doppel serve` from start to
//             `listening on` and to the points being readable.
//
// Usage: bench_ts PATH/TO/doppel [PUMPS] [SECONDS] [RECOVERY_POINTS] [REPETITIONS]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <string>
#include <thread>
#include <vector>

#include <simdjson.h>
#include <sqlite3.h>

#include "api/auth.h"
#include "api/client.h"
#include "bench_util.h"
#include "store/timeseries/history.h"

namespace fs = std::filesystem;
namespace ts = doppel::ts;
using clock_type = std::chrono::steady_clock;
using doppel::bench::free_port;
using doppel::bench::spawn;
using doppel::bench::stop;
using doppel::bench::wait_ready;
using headers_t = std::vector<std::pair<std::string, std::string>>;

namespace {

constexpr int k_batch_lines = 5000;          // lines per line-protocol request
constexpr int k_connections = 2;             // keep-alive connections loading a server
constexpr int k_writers = 2;                 // ts::history writer threads (the pipeline's shards)
constexpr std::size_t k_store_batch = 4000;  // points per append (and fdatasync), at least
constexpr int k_real_fields = 8;
constexpr int k_noise_fields = 5;
constexpr std::int64_t k_day = 86400;
constexpr std::int64_t k_long_days = 30;
constexpr double k_gorilla = 1.37;  // bytes per point in the Gorilla paper (Pelkonen et al., 2015)
constexpr std::int64_t k_ns = 1000000000;

const char* const k_real_names[k_real_fields] = {"dischargePressure", "suctionPressure", "flow",   "temperature",
                                                 "vibration",         "speed",           "starts", "running"};

std::uint64_t mix(std::uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Uniform in [-1, 1), fixed by (pump, field, second).
double noise(std::int64_t pump, int field, std::int64_t t) {
  std::uint64_t h = mix(static_cast<std::uint64_t>(pump) * 1000003u + static_cast<std::uint64_t>(field) * 7919u +
                        static_cast<std::uint64_t>(t) * 0x2545f4914f6cdd1dull);
  return static_cast<double>(h >> 11) * 0x1p-52 - 1.0;
}

double round_to(double x, double scale) { return std::round(x * scale) / scale; }

// One second of one pump of the realistic set.
struct reading {
  double discharge, suction, flow, temperature, vibration;
  std::int64_t speed, starts;
  bool running;
};

reading realistic(std::int64_t pump, std::int64_t t) {
  std::int64_t cycle = 5400 + (pump * 131) % 3600;  // a pump runs, then stops for 10 minutes
  std::int64_t in_cycle = (t + pump * 977) % cycle;
  bool running = in_cycle < cycle - 600;
  double slow = std::sin(2 * std::numbers::pi * static_cast<double>(t + pump * 613) /
                         static_cast<double>(7200 + (pump % 11) * 600));
  reading r{};
  r.running = running;
  r.starts = (pump % 50) * 10 + (t + pump * 977) / cycle;
  r.temperature = round_to(45 + 15 * slow + 0.1 * noise(pump, 3, t), 10);
  r.suction = round_to(0.8 + 0.05 * slow + 0.01 * noise(pump, 1, t), 100);
  if (running) {
    r.discharge = round_to(4.0 + 0.4 * slow + 0.02 * noise(pump, 0, t), 100);
    r.flow = round_to(40 + 6 * slow + 0.3 * noise(pump, 2, t), 10);
    r.vibration = round_to(0.2 + 0.02 * slow + 0.005 * noise(pump, 4, t), 1000);
    r.speed = 1450 + std::lround(25 * slow + 2 * noise(pump, 5, t));
  } else {
    r.discharge = r.suction;
    r.flow = 0;
    r.vibration = round_to(0.002 * std::fabs(noise(pump, 4, t)), 1000);
    r.speed = 0;
  }
  return r;
}

// The high-entropy set: uniform in [1, 101) with every mantissa bit random.
double random_value(std::int64_t pump, int field, std::int64_t t) {
  return 1 + 100 *
                 static_cast<double>(
                     mix(mix(static_cast<std::uint64_t>(pump * 64 + field)) ^ static_cast<std::uint64_t>(t)) >> 11) *
                 0x1p-53;
}

struct dataset {
  std::string name;
  std::int64_t pumps = 0, seconds = 0, start = 0;  // start: Unix seconds
  int fields = 0;
  std::vector<std::string> batches;  // line protocol
  std::int64_t points() const { return pumps * seconds * fields; }
};

// Line protocol, time-major (every pump's second, then the next second), as collectors send.
void make_lines(dataset& d, bool real) {
  std::string cur;
  char buf[512];
  std::int64_t lines = 0;
  for (std::int64_t s = 0; s < d.seconds; ++s) {
    std::int64_t t = d.start + s;
    for (std::int64_t p = 0; p < d.pumps; ++p) {
      int n;
      if (real) {
        reading r = realistic(p, t);
        n = std::snprintf(buf, sizeof buf,
                          "pump,twin=pump-%lld dischargePressure=%.2f,suctionPressure=%.2f,flow=%.1f,temperature=%.1f,"
                          "vibration=%.3f,speed=%lldi,starts=%lldi,running=%s %lld\n",
                          static_cast<long long>(p), r.discharge, r.suction, r.flow, r.temperature, r.vibration,
                          static_cast<long long>(r.speed), static_cast<long long>(r.starts), r.running ? "t" : "f",
                          static_cast<long long>(t * k_ns));
      } else {
        n = std::snprintf(buf, sizeof buf,
                          "pump,twin=pump-%lld dischargePressure=%.17g,suctionPressure=%.17g,flow=%.17g,"
                          "temperature=%.17g,vibration=%.17g %lld\n",
                          static_cast<long long>(p), random_value(p, 0, t), random_value(p, 1, t),
                          random_value(p, 2, t), random_value(p, 3, t), random_value(p, 4, t),
                          static_cast<long long>(t * k_ns));
      }
      cur.append(buf, static_cast<std::size_t>(n));
      if (++lines % k_batch_lines == 0) d.batches.push_back(std::move(cur)), cur.clear();
    }
  }
  if (!cur.empty()) d.batches.push_back(std::move(cur));
}

// The long series: pump-long's dischargePressure (the values of pump number `pumps`).
std::vector<std::string> long_lines(std::int64_t pump, std::int64_t start, std::int64_t seconds) {
  std::vector<std::string> out;
  std::string cur;
  char buf[128];
  for (std::int64_t s = 0; s < seconds; ++s) {
    std::int64_t t = start + s;
    int n = std::snprintf(buf, sizeof buf, "pump,twin=pump-long dischargePressure=%.2f %lld\n",
                          realistic(pump, t).discharge, static_cast<long long>(t * k_ns));
    cur.append(buf, static_cast<std::size_t>(n));
    if ((s + 1) % k_batch_lines == 0) out.push_back(std::move(cur)), cur.clear();
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// Samples of one second of the given pumps.
void add_samples(std::vector<ts::sample>& out, const std::vector<std::string>& twins, std::int64_t first_pump,
                 std::int64_t step, std::int64_t pumps, std::int64_t t, bool real) {
  for (std::int64_t p = first_pump; p < pumps; p += step) {
    const std::string& twin = twins[static_cast<std::size_t>(p)];
    std::int64_t ns = t * k_ns;
    if (real) {
      reading r = realistic(p, t);
      const double f[5] = {r.discharge, r.suction, r.flow, r.temperature, r.vibration};
      for (int k = 0; k < 5; ++k) out.push_back({twin, k_real_names[k], ts::value_type::f64, ns, f[k], 0, {}});
      out.push_back({twin, k_real_names[5], ts::value_type::i64, ns, 0, r.speed, {}});
      out.push_back({twin, k_real_names[6], ts::value_type::i64, ns, 0, r.starts, {}});
      out.push_back({twin, k_real_names[7], ts::value_type::boolean, ns, 0, r.running ? 1 : 0, {}});
    } else {
      for (int k = 0; k < k_noise_fields; ++k) {
        out.push_back({twin, k_real_names[k], ts::value_type::f64, ns, random_value(p, k, t), 0, {}});
      }
    }
  }
}

// Bytes of the files under `dir` (only those whose name ends with `suffix`, when given).
std::uint64_t dir_bytes(const fs::path& dir, const std::string& suffix = "") {
  std::uint64_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path().filename().string().ends_with(suffix)) n += it->file_size(ec);
  }
  return n;
}

// Waits until `dir` holds the same bytes for `quiet` consecutive seconds (at most `limit`).
std::uint64_t settle_dir(const fs::path& dir, int quiet, int limit) {
  std::uint64_t last = dir_bytes(dir);
  for (int same = 0, k = 0; same < quiet && k < limit; ++k) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    std::uint64_t now = dir_bytes(dir);
    same = now == last ? same + 1 : 0;
    last = now;
  }
  return last;
}

// ---------------------------------------------------------------------------------------------
// ts::history alone.

// Opens DATA/history in-process (nothing to replay after a clean stop) for its chunk figures.
void chunk_stats(const fs::path& history, std::uint64_t& chunk_bytes, std::uint64_t& sealed,
                 std::uint64_t& tier_bytes) {
  auto h = ts::history::open({history, 1, true});
  if (!h) return;
  auto st = (*h)->stats();
  chunk_bytes = st.chunk_bytes;
  sealed = st.sealed_points;
  tier_bytes = st.tier_bytes;
}

struct store_result {
  double rate = 0, seal_seconds = 0;
  std::uint64_t chunk_bytes = 0, sealed = 0, dir = 0;
};

store_result store_alone(const fs::path& dir, const dataset& d, bool real, const std::vector<std::string>& twins) {
  store_result out;
  auto h = ts::history::open({dir, k_writers, true});
  if (!h) {
    std::fprintf(stderr, "history: %s\n", h.error().message().c_str());
    return out;
  }
  std::atomic<bool> failed{false};
  auto t0 = clock_type::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < k_writers; ++w) {
    threads.emplace_back([&, w] {
      std::vector<ts::sample> batch;
      for (std::int64_t s = 0; s < d.seconds;) {  // one batch: whole seconds of this writer's pumps
        batch.clear();
        while (s < d.seconds && batch.size() < k_store_batch)
          add_samples(batch, twins, w, k_writers, d.pumps, d.start + s++, real);
        if (auto st = (*h)->append(w, batch); !st) {
          if (!failed.exchange(true)) std::fprintf(stderr, "append: %s\n", st.message().c_str());
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  out.rate =
      failed ? 0 : static_cast<double>(d.points()) / std::chrono::duration<double>(clock_type::now() - t0).count();
  auto t1 = clock_type::now();
  (void)(*h)->checkpoint(true);
  out.seal_seconds = std::chrono::duration<double>(clock_type::now() - t1).count();
  h->reset();
  out.dir = dir_bytes(dir);
  // Read back at a reopen, from chunks.db itself (as the serve path below).
  std::uint64_t tiers = 0;
  chunk_stats(dir, out.chunk_bytes, out.sealed, tiers);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Queries.

struct query_result {
  std::vector<double> ms;
  long count = -1;  // points or buckets in the answer; -1 failed
  std::string note;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t k = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  return v[std::min(k, v.size() - 1)];
}

// Runs `once` (which returns the answer's count, or -1) once to warm up, then `reps` times.
template <class F>
query_result timed(int reps, F once) {
  query_result q;
  q.count = once();
  if (q.count < 0) return q;
  for (int k = 0; k < reps; ++k) {
    auto t0 = clock_type::now();
    long n = once();
    q.ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    if (n != q.count) q.count = -1;
  }
  return q;
}

std::string url_encode(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string rfc3339(std::int64_t unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The element count of the array at `path` ("a/b/0/c": keys and indexes) in a JSON answer.
long array_size(simdjson::dom::parser& parser, const std::string& body, const std::string& path) {
  simdjson::dom::element e;
  if (parser.parse(body).get(e)) return -1;
  auto r = e.at_pointer("/" + path);
  simdjson::dom::array a;
  if (r.get(a)) return -1;
  return static_cast<long>(a.size());
}

struct query_plan {
  std::int64_t raw_from, raw_to;      // one day of pump-long
  std::int64_t long_from, long_to;    // its 30 days
  std::int64_t cross_from, cross_to;  // the realistic set's first hour (or less)
};

struct system_queries {
  query_result raw, minute, hour, cross;
};

system_queries doppel_queries(unsigned short port, const std::string& token, const query_plan& q, int reps) {
  auto c = doppel::api::http_client::connect("127.0.0.1", port);
  system_queries out;
  if (!c) return out;
  auto& client = **c;
  simdjson::dom::parser parser;
  headers_t auth{{"Authorization", "Token " + token}};
  auto series = [&](std::string target, const std::string& path) {
    long n = 0;
    while (!target.empty()) {  // follows nextLink
      auto r = client.send({"GET", target, auth, ""});
      if (!r || r->status != 200) return -1L;
      long k = array_size(parser, r->body, path);
      if (k < 0) return -1L;
      n += k;
      simdjson::dom::element e;
      std::string_view next;
      target.clear();
      if (!parser.parse(r->body).get(e) && !e["nextLink"].get(next)) {
        target = std::string(next);
        if (auto at = target.find("/digitaltwins/"); at != std::string::npos) target = target.substr(at);
      }
    }
    return n;
  };
  const std::string base = "/digitaltwins/pump-long/telemetry/dischargePressure?";
  auto range = [](std::int64_t from, std::int64_t to) {
    return "from=" + std::to_string(from * 1000) + "&to=" + std::to_string(to * 1000);
  };
  out.raw = timed(reps, [&] { return series(base + range(q.raw_from, q.raw_to) + "&limit=100000", "value"); });
  out.minute = timed(
      reps, [&] { return series(base + range(q.raw_from, q.raw_to) + "&step=1m&agg=mean&limit=100000", "value"); });
  out.hour = timed(
      reps, [&] { return series(base + range(q.long_from, q.long_to) + "&step=1h&agg=mean&limit=100000", "value"); });
  std::string body = R"j({"query": "SELECT T FROM DIGITALTWINS T WHERE IS_OF_MODEL('dtmi:doppel:bench:IotPump;1')", )j"
                     R"j("name": "dischargePressure", "from": ")j" +
                     rfc3339(q.cross_from) + R"j(", "to": ")j" + rfc3339(q.cross_to) +
                     R"j(", "step": "5m", "agg": "mean"})j";
  auto first = client.send(
      {"POST", "/query/telemetry", {{"Authorization", "Token " + token}, {"Content-Type", "application/json"}}, body});
  if (!first || first->status != 200) {
    bool absent = first && (first->status == 404 || first->status == 405);
    out.cross.note = !first   ? "n/a (" + first.error().message() + ")"
                     : absent ? "n/a (route not available)"
                              : "n/a (HTTP " + std::to_string(first->status) + ")";
    if (first && !absent) std::fprintf(stderr, "doppel /query/telemetry: %s\n", first->body.substr(0, 300).c_str());
    return out;
  }
  out.cross = timed(reps, [&] {
    auto r = client.send({"POST",
                          "/query/telemetry",
                          {{"Authorization", "Token " + token}, {"Content-Type", "application/json"}},
                          body});
    return r && r->status == 200 ? array_size(parser, r->body, "value") : -1L;
  });
  return out;
}

system_queries influx_queries(unsigned short port, const query_plan& q, int reps) {
  auto c = doppel::api::http_client::connect("127.0.0.1", port);
  system_queries out;
  if (!c) return out;
  auto& client = **c;
  simdjson::dom::parser parser;
  auto run = [&](const std::string& influxql) {
    auto r = client.send({"GET", "/query?db=bench&epoch=ms&q=" + url_encode(influxql), {}, ""});
    if (!r || r->status != 200) {
      if (r) std::fprintf(stderr, "influxdb: %s\n", r->body.substr(0, 200).c_str());
      return -1L;
    }
    return array_size(parser, r->body, "results/0/series/0/values");
  };
  auto where = [](std::int64_t from, std::int64_t to) {
    return " WHERE time >= " + std::to_string(from * k_ns) + " AND time < " + std::to_string(to * k_ns);
  };
  out.raw = timed(reps, [&] {
    return run("SELECT dischargePressure FROM pump" + where(q.raw_from, q.raw_to) + " AND twin = 'pump-long'");
  });
  out.minute = timed(reps, [&] {
    return run("SELECT mean(dischargePressure) FROM pump" + where(q.raw_from, q.raw_to) +
               " AND twin = 'pump-long' GROUP BY time(1m)");
  });
  out.hour = timed(reps, [&] {
    return run("SELECT mean(dischargePressure) FROM pump" + where(q.long_from, q.long_to) +
               " AND twin = 'pump-long' GROUP BY time(1h)");
  });
  out.cross = timed(reps, [&] {
    return run("SELECT mean(dischargePressure) FROM pump" + where(q.cross_from, q.cross_to) + " GROUP BY time(5m)");
  });
  return out;
}

system_queries vm_queries(unsigned short port, const query_plan& q, int reps) {
  auto c = doppel::api::http_client::connect("127.0.0.1", port);
  system_queries out;
  if (!c) return out;
  auto& client = **c;
  simdjson::dom::parser parser;
  // query_range: the value at t covers (t - window, t], so a bucket [a, a + step) is asked at a + step.
  auto range = [&](const std::string& promql, std::int64_t from, std::int64_t to, std::int64_t step) {
    auto r = client.send({"GET",
                          "/api/v1/query_range?nocache=1&query=" + url_encode(promql) +
                              "&start=" + std::to_string(from + step) + "&end=" + std::to_string(to) +
                              "&step=" + std::to_string(step),
                          {},
                          ""});
    if (!r || r->status != 200) {
      if (r) std::fprintf(stderr, "victoria-metrics: %s\n", r->body.substr(0, 200).c_str());
      return -1L;
    }
    return array_size(parser, r->body, "data/result/0/values");
  };
  const std::string sel = R"(pump_dischargePressure{twin="pump-long"})";
  out.raw = timed(reps, [&] {
    // /api/v1/export: one JSON object per series and line, "timestamps" holding its points.
    auto r = client.send({"GET",
                          "/api/v1/export?match[]=" + url_encode(sel) + "&start=" + std::to_string(q.raw_from) +
                              "&end=" + std::to_string(q.raw_to - 1),
                          {},
                          ""});
    if (!r || r->status != 200) return -1L;
    long n = 0;
    for (std::size_t at = 0; at < r->body.size();) {
      std::size_t end = r->body.find('\n', at);
      if (end == std::string::npos) end = r->body.size();
      if (end > at) {
        long k = array_size(parser, r->body.substr(at, end - at), "timestamps");
        if (k < 0) return -1L;
        n += k;
      }
      at = end + 1;
    }
    return n;
  });
  out.minute = timed(reps, [&] { return range("avg_over_time(" + sel + "[1m])", q.raw_from, q.raw_to, 60); });
  out.hour = timed(reps, [&] { return range("avg_over_time(" + sel + "[1h])", q.long_from, q.long_to, 3600); });
  out.cross = timed(
      reps, [&] { return range("avg(avg_over_time(pump_dischargePressure[5m]))", q.cross_from, q.cross_to, 300); });
  return out;
}

// ---------------------------------------------------------------------------------------------
// The three systems.

struct system_result {
  double lp_rate[2] = {0, 0};  // realistic, entropy
  std::uint64_t disk[2] = {0, 0};
  std::uint64_t chunk_bytes[2] = {0, 0}, sealed[2] = {0, 0}, tier_bytes[2] = {0, 0};  // doppel
  std::uint64_t wal[2] = {0, 0};         // influx: WAL bytes left in `disk`
  std::uint64_t held[2] = {0, 0};        // points: sealed (doppel), count(*) (InfluxDB), rows inserted (VM)
  std::string files;                     // doppel: DATA/history's files after the realistic set
  std::string breakdown;                 // doppel: chunks.db per telemetry name, after the realistic set
  std::uint64_t data_files[2] = {0, 0};  // chunks (doppel), TSM files (InfluxDB), data/ without indexdb (VM)
  system_queries q;
  bool ran = false;
};

const char* k_model = R"({
  "@context": "dtmi:dtdl:context;3",
  "@id": "dtmi:doppel:bench:IotPump;1",
  "@type": "Interface",
  "displayName": "Benchmark IoT pump",
  "contents": [
    { "@type": "Telemetry", "name": "dischargePressure", "schema": "double" },
    { "@type": "Telemetry", "name": "suctionPressure", "schema": "double" },
    { "@type": "Telemetry", "name": "flow", "schema": "double" },
    { "@type": "Telemetry", "name": "temperature", "schema": "double" },
    { "@type": "Telemetry", "name": "vibration", "schema": "double" },
    { "@type": "Telemetry", "name": "speed", "schema": "integer" },
    { "@type": "Telemetry", "name": "starts", "schema": "long" },
    { "@type": "Telemetry", "name": "running", "schema": "boolean" }
  ]
})";

struct doppel_server {
  std::string binary;
  fs::path project, data;
  std::string token;
  doppel::bench::child c;

  bool start() {
    c = doppel::bench::spawn_listening(
        {binary, "serve", project.string(), "--listen", "127.0.0.1:0", "--data", data.string(), "--mqtt", "off"});
    if (!c.port) std::fprintf(stderr, "doppel serve did not start (data %s)\n", data.c_str());
    return c.port != 0;
  }
  void stop() { doppel::bench::stop(c.pid), c = {}; }
};

// Per telemetry name in DATA/history/chunks.db: chunk bytes per point and points per chunk; then
// the file's pages (what the whole directory holds beyond the chunks).
std::string chunk_breakdown(const fs::path& file) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return sqlite3_close(db), out;
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT s.name, sum(length(c.data)), sum(c.points), count(*), (SELECT sum(length(r.data)) FROM "
                     "rollups r JOIN chunks c2 ON c2.id = r.chunk JOIN series s2 ON s2.id = c2.series WHERE s2.name = "
                     "s.name) FROM chunks c JOIN series s ON s.id = c.series GROUP BY s.name ORDER BY s.name",
                     -1, &q, nullptr);
  char buf[160];
  while (q && sqlite3_step(q) == SQLITE_ROW) {
    double bytes = sqlite3_column_double(q, 1), points = sqlite3_column_double(q, 2),
           chunks = sqlite3_column_double(q, 3);
    std::snprintf(buf, sizeof buf, "  %-18s %.3f B/pt in chunks, %.3f B/pt in tiers, %.0f points per chunk\n",
                  reinterpret_cast<const char*>(sqlite3_column_text(q, 0)), bytes / points,
                  sqlite3_column_double(q, 4) / points, points / chunks);
    out += buf;
  }
  sqlite3_finalize(q);
  std::int64_t pragmas[3] = {0, 0, 0};
  const char* names[3] = {"PRAGMA page_size", "PRAGMA page_count", "PRAGMA freelist_count"};
  for (int k = 0; k < 3; ++k) {
    sqlite3_prepare_v2(db, names[k], -1, &q, nullptr);
    if (q && sqlite3_step(q) == SQLITE_ROW) pragmas[k] = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
  }
  std::snprintf(buf, sizeof buf, "  chunks.db: %lld pages of %lld bytes, %lld free\n",
                static_cast<long long>(pragmas[1]), static_cast<long long>(pragmas[0]),
                static_cast<long long>(pragmas[2]));
  out += buf;
  sqlite3_close(db);
  return out;
}

system_result run_doppel(const std::string& binary, const fs::path& dir, const dataset* sets,
                         const std::vector<std::string>& long_batches, std::int64_t long_points, const query_plan& q,
                         int reps) {
  system_result out;
  for (int k = 0; k < 2; ++k) {
    doppel_server s{binary, dir / "project", dir / ("doppel-" + std::to_string(k)), "", {}};
    fs::create_directories(s.data);
    auto token = doppel::api::create_token(s.data / "tokens.json", "bench", doppel::api::role::admin);
    if (!token) return out;
    s.token = *token;
    if (!s.start()) return out;
    headers_t auth{{"Authorization", "Token " + s.token}};
    out.lp_rate[k] =
        doppel::bench::load(s.c.port, "/write", sets[k].batches, auth, sets[k].points(), "doppel", k_connections);
    s.stop();  // a clean stop seals every head
    out.disk[k] = dir_bytes(s.data / "history");
    if (k == 0) {
      for (const auto& e : fs::directory_iterator(s.data / "history")) {
        out.files += (out.files.empty() ? "" : ", ") + e.path().filename().string() + " " +
                     std::to_string(e.is_regular_file() ? e.file_size() : 0);
      }
      out.breakdown = chunk_breakdown(s.data / "history/chunks.db");  // after listing: it adds chunks.db-shm
    }
    chunk_stats(s.data / "history", out.chunk_bytes[k], out.sealed[k], out.tier_bytes[k]);
    out.data_files[k] = out.chunk_bytes[k];
    out.held[k] = out.sealed[k];
    if (k == 0) {  // the long series, then queries on a restarted (sealed) store
      if (!s.start()) return out;
      doppel::bench::load(s.c.port, "/write", long_batches, auth, long_points, "doppel", k_connections);
      s.stop();
      if (!s.start()) return out;
      out.q = doppel_queries(s.c.port, s.token, q, reps);
      s.stop();
    }
    fs::remove_all(s.data);
  }
  out.ran = true;
  return out;
}

struct influx_server {
  fs::path dir;
  unsigned short port = 0;
  pid_t pid = -1;

  bool start() {
    port = free_port();
    unsigned short rpc = free_port();
    // Defaults but for the cold durations: a shard idle for 1 s has its cache written to TSM
    // files and is fully compacted (defaults: 10 min and 4 h), so the size can be measured now.
    std::ofstream(dir / "influxdb.conf") << "reporting-disabled = true\nbind-address = \"127.0.0.1:" << rpc
                                         << "\"\n[meta]\n  dir = \"" << (dir / "meta").string()
                                         << "\"\n[data]\n  dir = \"" << (dir / "data").string() << "\"\n  wal-dir = \""
                                         << (dir / "wal").string()
                                         << "\"\n  query-log-enabled = false\n  cache-snapshot-write-cold-duration = "
                                            "\"1s\"\n  compact-full-write-cold-duration = \"1s\"\n[http]\n  "
                                            "bind-address = \"127.0.0.1:"
                                         << port << "\"\n  log-enabled = false\n[monitor]\n  store-enabled = false\n";
    pid = spawn({"influxd", "run", "-config", (dir / "influxdb.conf").string()}, dir / "influxdb.log");
    if (!wait_ready(port, "/ping")) {
      std::fprintf(stderr, "influxd did not start (is Debian's influxdb installed? see %s)\n",
                   (dir / "influxdb.log").c_str());
      return false;
    }
    auto c = doppel::api::http_client::connect("127.0.0.1", port);
    auto created = c ? (*c)->send({"POST", "/query?q=CREATE%20DATABASE%20bench", {}, ""}) : c.error();
    return created && created->status / 100 == 2;
  }
  // Waits until the cache is snapshotted (WAL emptied) and compactions stopped changing the files.
  void settle() {
    for (int k = 0; k < 120 && dir_bytes(dir / "wal") > 0; ++k) std::this_thread::sleep_for(std::chrono::seconds(1));
    settle_dir(dir / "data", 5, 180);
  }
};

system_result run_influx(const fs::path& dir, const dataset* sets, const std::vector<std::string>& long_batches,
                         std::int64_t long_points, const query_plan& q, int reps) {
  system_result out;
  for (int k = 0; k < 2; ++k) {
    influx_server s{dir / ("influx-" + std::to_string(k))};
    fs::create_directories(s.dir);
    if (!s.start()) return stop(s.pid), out;
    out.lp_rate[k] = doppel::bench::load(s.port, "/write?db=bench", sets[k].batches, {}, sets[k].points(), "influxdb",
                                         k_connections);
    s.settle();
    out.wal[k] = dir_bytes(s.dir / "wal");
    out.disk[k] = dir_bytes(s.dir / "data") + out.wal[k];
    out.data_files[k] = dir_bytes(s.dir / "data", ".tsm");
    if (auto c = doppel::api::http_client::connect("127.0.0.1", s.port)) {
      auto r = (*c)->send({"GET", "/query?db=bench&q=" + url_encode("SELECT count(*) FROM pump"), {}, ""});
      simdjson::dom::parser parser;
      simdjson::dom::array counts;  // [time (a string), count of each field...]
      if (r && r->status == 200 && !parser.parse(r->body).at_pointer("/results/0/series/0/values/0").get(counts)) {
        for (auto x : counts) {
          std::uint64_t n = 0;
          if (!x.get(n)) out.held[k] += n;
        }
      }
    }
    if (k == 0) {
      doppel::bench::load(s.port, "/write?db=bench", long_batches, {}, long_points, "influxdb", k_connections);
      s.settle();
      out.q = influx_queries(s.port, q, reps);
    }
    stop(s.pid);
    fs::remove_all(s.dir);
  }
  out.ran = true;
  return out;
}

system_result run_vm(const fs::path& dir, const dataset* sets, const std::vector<std::string>& long_batches,
                     std::int64_t long_points, const query_plan& q, int reps) {
  system_result out;
  for (int k = 0; k < 2; ++k) {
    fs::path data = dir / ("vm-" + std::to_string(k));
    unsigned short port = free_port();
    pid_t pid = spawn(
        {"victoria-metrics", "-storageDataPath=" + data.string(), "-httpListenAddr=127.0.0.1:" + std::to_string(port),
         "-loggerLevel=ERROR", "-retentionPeriod=100y", "-search.disableCache"},
        dir / ("vm-" + std::to_string(k) + ".log"));
    if (!wait_ready(port, "/health")) {
      std::fprintf(stderr, "victoria-metrics did not start (is Debian's victoria-metrics installed?)\n");
      return stop(pid), out;
    }
    out.lp_rate[k] =
        doppel::bench::load(port, "/write", sets[k].batches, {}, sets[k].points(), "victoria-metrics", k_connections);
    auto flush = [&] {
      auto c = doppel::api::http_client::connect("127.0.0.1", port);
      if (!c) return;
      (void)(*c)->send({"GET", "/internal/force_flush", {}, ""});
      (void)(*c)->send({"GET", "/internal/force_merge", {}, ""});
      settle_dir(data, 5, 180);
    };
    flush();
    out.disk[k] = dir_bytes(data);
    out.data_files[k] = dir_bytes(data / "data");
    if (auto c = doppel::api::http_client::connect("127.0.0.1", port)) {
      auto m = (*c)->send({"GET", "/metrics", {}, ""});
      const std::string key = "vm_rows_inserted_total{type=\"influx\"} ";
      auto at = m ? m->body.find(key) : std::string::npos;
      if (at != std::string::npos) out.held[k] = std::stoull(m->body.substr(at + key.size()));
    }
    if (k == 0) {
      doppel::bench::load(port, "/write", long_batches, {}, long_points, "victoria-metrics", k_connections);
      flush();
      out.q = vm_queries(port, q, reps);
    }
    stop(pid);
    fs::remove_all(data);
  }
  out.ran = true;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Recovery.

struct recovery_result {
  std::uint64_t points = 0, log_bytes = 0, replayed = 0;
  double replay_seconds = 0, listening = 0, readable = 0;
  std::string serve_said;
  bool ok = false;
};

recovery_result recovery(const std::string& binary, const fs::path& dir, std::int64_t pumps, std::int64_t points,
                         std::int64_t start, const std::vector<std::string>& twins) {
  recovery_result out;
  fs::path data = dir / "doppel-recovery";
  fs::path history = data / "history";
  fs::create_directories(data);
  auto token = doppel::api::create_token(data / "tokens.json", "bench", doppel::api::role::admin);
  if (!token) return out;
  std::int64_t seconds = (points + pumps * k_real_fields - 1) / (pumps * k_real_fields);
  {  // a first start creates the project's twins (one commit each), as a server that crashes has them
    doppel_server first{binary, dir / "project", data, *token, {}};
    if (!first.start()) return out;
    first.stop();
  }
  // A child appends (nothing seals: the checkpoint threshold is out of reach), says so, and is
  // killed with SIGKILL.
  int fds[2];
  if (pipe(fds) != 0) return out;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    ts::history_options o{history, 1, true, std::uint64_t(1) << 50, 1024, false};
    auto h = ts::history::open(o);
    if (!h) _exit(1);
    std::vector<ts::sample> batch;
    for (std::int64_t s = 0; s < seconds; ++s) {
      batch.clear();
      add_samples(batch, twins, 0, 1, pumps, start + s, true);
      if (!(*h)->append(0, batch)) _exit(1);
    }
    auto st = (*h)->stats();
    char msg[64];
    int n = std::snprintf(msg, sizeof msg, "%llu %llu\n", static_cast<unsigned long long>(st.points),
                          static_cast<unsigned long long>(st.log_bytes));
    if (write(fds[1], msg, static_cast<std::size_t>(n)) != n) _exit(1);
    for (;;) pause();
  }
  close(fds[1]);
  char msg[64] = {};
  ssize_t got = read(fds[0], msg, sizeof msg - 1);
  close(fds[0]);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  unsigned long long held = 0, log_bytes = 0;
  if (got <= 0 || std::sscanf(msg, "%llu %llu", &held, &log_bytes) != 2) return out;
  out.points = held;
  out.log_bytes = log_bytes;
  {  // in-process replay; closed as a crash would, so the logs stay for doppel serve
    auto h = ts::history::open({history, 1, true, std::uint64_t(1) << 50, 1024, false});
    if (!h) return out;
    auto st = (*h)->stats();
    out.replayed = st.replayed;
    out.replay_seconds = st.replay_seconds;
  }
  // doppel serve: from start to `listening on`, and to the last second of the last pump readable.
  doppel_server s{binary, dir / "project", data, *token, {}};
  auto t0 = clock_type::now();
  if (!s.start()) return out;
  out.listening = std::chrono::duration<double>(clock_type::now() - t0).count();
  out.serve_said = s.c.output;
  auto c = doppel::api::http_client::connect("127.0.0.1", s.c.port);
  std::string target = "/digitaltwins/" + twins[static_cast<std::size_t>(pumps - 1)] +
                       "/telemetry/dischargePressure?limit=100000&from=" + std::to_string(start * 1000);
  simdjson::dom::parser parser;
  for (int k = 0; c && k < 6000; ++k) {
    auto r = (*c)->send({"GET", target, {{"Authorization", "Token " + s.token}}, ""});
    if (r && r->status == 200 && array_size(parser, r->body, "value") == seconds) {
      out.readable = std::chrono::duration<double>(clock_type::now() - t0).count();
      out.ok = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(s.c.pid, SIGKILL);
  waitpid(s.c.pid, nullptr, 0);
  fs::remove_all(data);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The table.

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

void row(const std::string& measure, const std::string& d, const std::string& i, const std::string& v,
         const std::string& ri, const std::string& rv) {
  std::printf("| %-52s | %25s | %15s | %15s | %10s | %10s |\n", measure.c_str(), d.c_str(), i.c_str(), v.c_str(),
              ri.c_str(), rv.c_str());
}

std::string ratio(double a, double b) { return a > 0 && b > 0 ? fmt("%.2fx", a / b) : "-"; }

std::string latency(const query_result& q) {
  if (!q.note.empty()) return q.note;
  if (q.count < 0 || q.ms.empty()) return "failed";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f / %.1f", percentile(q.ms, 0.5), percentile(q.ms, 0.99));
  return buf;
}

std::string count(const query_result& q) {
  return q.count < 0 ? (q.note.empty() ? "failed" : "n/a") : std::to_string(q.count);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_ts PATH/TO/doppel [PUMPS] [SECONDS] [RECOVERY_POINTS] [REPETITIONS]\n");
    return 2;
  }
  std::string binary = argv[1];
  std::int64_t pumps = argc > 2 ? std::stoll(argv[2]) : 1000;
  std::int64_t seconds = argc > 3 ? std::stoll(argv[3]) : 1800;
  std::int64_t recovery_points = argc > 4 ? std::stoll(argv[4]) : 10000000;
  int reps = argc > 5 ? std::stoi(argv[5]) : 20;
  if (pumps < 4 || seconds < 300) return std::fprintf(stderr, "at least 4 pumps and 300 seconds\n"), 2;

  fs::path dir = fs::temp_directory_path() / ("doppel-bench-ts-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::vector<std::string> twins;
  std::vector<std::pair<std::string, std::string>> declared;
  for (std::int64_t p = 0; p < pumps; ++p) twins.push_back("pump-" + std::to_string(p));
  for (const auto& t : twins) declared.emplace_back(t, "dtmi:doppel:bench:IotPump;1");
  declared.emplace_back("pump-long", "dtmi:doppel:bench:IotPump;1");
  doppel::bench::write_project(dir / "project", {{"iot-pump.json", k_model}}, declared, "name: bench-ts\n");

  // Times: the 30 days of pump-long end where the sets start; the sets end before the last full
  // hour (VictoriaMetrics refuses points far in the future; its retention is set to 100 years).
  auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::int64_t start = (now / 3600 - (seconds + 3599) / 3600 - 1) * 3600;
  dataset sets[2];
  sets[0] = {"realistic", pumps, seconds, start, k_real_fields, {}};
  sets[1] = {"high-entropy", pumps / 4, seconds, start, k_noise_fields, {}};
  make_lines(sets[0], true);
  make_lines(sets[1], false);
  std::int64_t long_points = k_long_days * k_day;
  auto long_batches = long_lines(pumps, start - long_points, long_points);
  query_plan q{start - k_day, start, start - long_points, start, start, start + std::min<std::int64_t>(seconds, 3600)};
  q.cross_to -= (q.cross_to - q.cross_from) % 300;

  std::fprintf(stderr, "bench_ts: ts::history alone...\n");
  store_result alone[2];
  for (int k = 0; k < 2; ++k) {
    alone[k] = store_alone(dir / ("alone-" + std::to_string(k)), sets[k], k == 0, twins);
    fs::remove_all(dir / ("alone-" + std::to_string(k)));
  }
  std::fprintf(stderr, "bench_ts: doppel serve...\n");
  system_result d = run_doppel(binary, dir, sets, long_batches, long_points, q, reps);
  std::fprintf(stderr, "bench_ts: InfluxDB...\n");
  system_result i = run_influx(dir, sets, long_batches, long_points, q, reps);
  std::fprintf(stderr, "bench_ts: VictoriaMetrics...\n");
  system_result v = run_vm(dir, sets, long_batches, long_points, q, reps);
  std::fprintf(stderr, "bench_ts: recovery...\n");
  recovery_result rec = recovery(binary, dir, pumps, recovery_points, start, twins);
  fs::remove_all(dir);

  std::printf(
      "\nTime-series store: realistic set %lld pumps x %lld s at 1 Hz x %d fields = %lld points; high-entropy "
      "set %lld pumps x %lld s x %d fields = %lld points; pump-long: %lld days of 1 field = %lld points\n",
      static_cast<long long>(sets[0].pumps), static_cast<long long>(seconds), k_real_fields,
      static_cast<long long>(sets[0].points()), static_cast<long long>(sets[1].pumps), static_cast<long long>(seconds),
      k_noise_fields, static_cast<long long>(sets[1].points()), static_cast<long long>(k_long_days),
      static_cast<long long>(long_points));
  row("measure", "doppel", "InfluxDB 1.6", "VictoriaMetrics", "d / Influx", "d / VM");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(54, '-').c_str(), std::string(27, '-').c_str(),
              std::string(17, '-').c_str(), std::string(17, '-').c_str(), std::string(12, '-').c_str(),
              std::string(12, '-').c_str());
  for (int k = 0; k < 2; ++k) {
    double pts = static_cast<double>(sets[k].points());
    std::string n = sets[k].name + ": ";
    double db = static_cast<double>(d.disk[k]) / pts, ib = static_cast<double>(i.disk[k]) / pts,
           vb = static_cast<double>(v.disk[k]) / pts;
    row(n + "bytes/point on disk (whole dir)", fmt("%.3f", db), fmt("%.3f", ib), fmt("%.3f", vb), ratio(db, ib),
        ratio(db, vb));
    double cb = d.sealed[k] ? static_cast<double>(d.chunk_bytes[k]) / static_cast<double>(d.sealed[k]) : 0;
    double ddf = static_cast<double>(d.data_files[k]) / pts, idf = static_cast<double>(i.data_files[k]) / pts,
           vdf = static_cast<double>(v.data_files[k]) / pts;
    row(n + "B/pt in data files (chunks/TSM/VM data)", fmt("%.3f", ddf), fmt("%.3f", idf), fmt("%.3f", vdf),
        ratio(ddf, idf), ratio(ddf, vdf));
    row(n + "doppel tier (1 min + 1 h rollup) B/pt", fmt("%.3f", static_cast<double>(d.tier_bytes[k]) / pts), "", "",
        "", "");
    row(n + "doppel chunk B/pt / 1.37 B/pt (Gorilla)", fmt("%.2fx", cb / k_gorilla), "", "", "", "");
    row(n + "doppel whole dir / 1.37 B/pt (Gorilla)", fmt("%.2fx", db / k_gorilla), "", "", "", "");
    row(n + "points held (of " + fmt("%.0f", pts) + ")", fmt("%.0f", static_cast<double>(d.held[k])),
        fmt("%.0f", static_cast<double>(i.held[k])), fmt("%.0f", static_cast<double>(v.held[k])), "", "");
    row(n + "ingest points/s, ts::history alone", fmt("%.0f", alone[k].rate), "", "", "", "");
    double acb = alone[k].sealed ? static_cast<double>(alone[k].chunk_bytes) / static_cast<double>(alone[k].sealed) : 0;
    row(n + "  alone: chunk B/pt, checkpoint(true) s", fmt("%.3f", acb) + ", " + fmt("%.1f s", alone[k].seal_seconds),
        "", "", "", "");
    row(n + "ingest points/s, line protocol / HTTP", fmt("%.0f", d.lp_rate[k]), fmt("%.0f", i.lp_rate[k]),
        fmt("%.0f", v.lp_rate[k]), ratio(d.lp_rate[k], i.lp_rate[k]), ratio(d.lp_rate[k], v.lp_rate[k]));
  }
  auto qrow = [&](const char* name, const query_result& qd, const query_result& qi, const query_result& qv) {
    double pd = qd.ms.empty() ? 0 : percentile(qd.ms, 0.5), pi = qi.ms.empty() ? 0 : percentile(qi.ms, 0.5),
           pv = qv.ms.empty() ? 0 : percentile(qv.ms, 0.5);
    row(std::string(name) + " ms p50 / p99", latency(qd), latency(qi), latency(qv), ratio(pd, pi), ratio(pd, pv));
    long ref = qd.count >= 0 ? qd.count : qi.count;
    bool agree = qi.count == ref && qv.count == ref;
    row(std::string("  points/buckets answered") + (agree ? "" : " (DIFFER)"), count(qd), count(qi), count(qv), "", "");
  };
  qrow("1 day raw (86,400 points)", d.q.raw, i.q.raw, v.q.raw);
  qrow("1 day at 1 min (mean)", d.q.minute, i.q.minute, v.q.minute);
  qrow("30 days at 1 h (mean)", d.q.hour, i.q.hour, v.q.hour);
  qrow(("all " + std::to_string(pumps) + " pumps, 5 min means over " +
        std::to_string((q.cross_to - q.cross_from) / 60) + " min")
           .c_str(),
       d.q.cross, i.q.cross, v.q.cross);
  double m = static_cast<double>(rec.points) / 1e6;
  row("recovery: points in the log at SIGKILL (log MB)", fmt("%.0f", static_cast<double>(rec.points)),
      fmt("%.0f MB", static_cast<double>(rec.log_bytes) / 1e6), "", "", "");
  row("recovery: ts::history replay s (s per million)", fmt("%.2f", rec.replay_seconds),
      fmt("%.3f s/M", m > 0 ? rec.replay_seconds / m : 0), "", "", "");
  row("recovery: doppel serve start -> `listening on` s", fmt("%.2f", rec.listening), "", "", "", "");
  row("recovery: doppel serve start -> points readable s", rec.ok ? fmt("%.2f", rec.readable) : "failed", "", "", "",
      "");
  std::printf("doppel DATA/history after the realistic set (bytes): %s\n", d.files.c_str());
  std::printf("doppel chunks of the realistic set by field:\n%s", d.breakdown.c_str());
  std::printf("doppel serve said: %s", rec.serve_said.empty() ? "(nothing)\n" : rec.serve_said.c_str());
  std::printf(
      "\nNotes:\n"
      "- Acknowledged when: doppel, once the points are in its history log and fdatasync'd (ts::history alone: %d "
      "writer threads, each appending whole seconds of its pumps, at least %zu points and one fdatasync per append); "
      "InfluxDB 1.6, once in its WAL (fsync'd by "
      "default); VictoriaMetrics, once in memory (flushed about every second).\n"
      "- On disk: doppel, DATA/history after a clean stop (every head sealed into chunks.db; SQLite file, no VACUUM, "
      "plus empty logs); InfluxDB, data dir (TSM + index) plus what is left in the WAL dir (%.0f / %.0f bytes), once "
      "the WAL was snapshotted and the files stopped changing for 5 s (cold durations set to 1 s); VictoriaMetrics, "
      "the whole -storageDataPath (data + indexdb) after /internal/force_flush and /internal/force_merge, once it "
      "stopped changing for 5 s. The data-files row leaves out indexes and fixed overheads: doppel's chunk bytes "
      "(stats().chunk_bytes; the rest of chunks.db is SQLite pages and the series table), InfluxDB's *.tsm files (not "
      "its preallocated _series files), VictoriaMetrics' data/ (not indexdb/).\n"
      "- Queries: %d warm repetitions after one warm-up, over one keep-alive connection, timed to the full answer; "
      "p99 of %d is about the maximum. doppel: GET .../telemetry/dischargePressure (limit=100000, nextLink followed) "
      "and POST /query/telemetry; InfluxDB: InfluxQL (epoch=ms); VictoriaMetrics: /api/v1/export for raw, "
      "query_range with avg_over_time (nocache=1, -search.disableCache) otherwise (its buckets are (t - step, t], "
      "one second off the others'; its cross-twin figure is the mean of per-pump means, equal here as every pump has "
      "a point each second).\n"
      "- Recovery: doppel serve has no setting that keeps 10 M points unsealed (it checkpoints every 64 MB of log), so "
      "a child process of this bench appends them through ts::history with the checkpoint threshold out of reach and "
      "is killed with SIGKILL; then ts::history replays them in-process, then doppel serve starts on that data (a "
      "clean "
      "start before the child ran created the project's twins, so this start only replays; then `listening on`; "
      "readable = all points of the last pump's dischargePressure answered).\n",
      k_writers, k_store_batch, static_cast<double>(i.wal[0]), static_cast<double>(i.wal[1]), reps, reps);
  return d.ran && i.ran && v.ran ? 0 : 1;
}
