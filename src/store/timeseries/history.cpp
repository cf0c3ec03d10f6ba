#include "store/timeseries/history.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace doppel::ts {

namespace {

constexpr std::size_t k_record_header = 12;         // u32 length + u64 hash
constexpr std::uint32_t k_max_record = 256u << 20;  // a larger length is corruption

template <class T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

template <class T>
bool get(std::string_view& in, T& v) {
  if (in.size() < sizeof(T)) return false;
  std::memcpy(&v, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return true;
}

bool get_bytes(std::string_view& in, std::size_t n, std::string_view& out) {
  if (in.size() < n) return false;
  out = in.substr(0, n);
  in.remove_prefix(n);
  return true;
}

std::string key_of(std::string_view twin, std::string_view name) {
  std::string k;
  k.reserve(twin.size() + 1 + name.size());
  k.append(twin);
  k.push_back('\0');  // twin ids hold no NUL
  k.append(name);
  return k;
}

struct series {
  mutable std::mutex mu;
  column_batch points;  // guarded by mu; times strictly increasing
};

// Places one point in time order; an equal time replaces the value held.
void insert(column_batch& c, const sample& s) {
  std::size_t at = c.t.size();
  bool replace = false;
  if (!c.t.empty() && s.time_ns <= c.t.back()) {
    auto it = std::lower_bound(c.t.begin(), c.t.end(), s.time_ns);
    at = static_cast<std::size_t>(it - c.t.begin());
    replace = it != c.t.end() && *it == s.time_ns;
  }
  auto pos = [at](auto& v) { return v.begin() + static_cast<std::ptrdiff_t>(at); };
  if (!replace) c.t.insert(pos(c.t), s.time_ns);
  switch (c.type) {
    case value_type::f64:
      if (replace)
        c.f[at] = s.f;
      else
        c.f.insert(pos(c.f), s.f);
      break;
    case value_type::i64:
      if (replace)
        c.i[at] = s.i;
      else
        c.i.insert(pos(c.i), s.i);
      break;
    case value_type::boolean: {
      auto v = static_cast<std::uint8_t>(s.i != 0);
      if (replace)
        c.b[at] = v;
      else
        c.b.insert(pos(c.b), v);
      break;
    }
    case value_type::string:
      if (replace)
        c.s[at] = std::string(s.s);
      else
        c.s.insert(pos(c.s), std::string(s.s));
      break;
  }
}

}  // namespace

struct history::impl {
  history_options o;
  std::vector<int> fds;  // one log per writer
  // Per writer, reused by its appends: the log record, a key, the series of each sample.
  struct scratch {
    std::string record, key;
    std::vector<series*> series_of;
  };
  std::vector<scratch> scratches;
  mutable std::shared_mutex map_mu;
  std::unordered_map<std::string, std::unique_ptr<series>> heads;      // guarded by map_mu
  std::map<std::string, std::vector<std::string>, std::less<>> names;  // twin -> its series; guarded by map_mu
  std::atomic<std::uint64_t> points{0}, appended{0}, syncs{0}, log_bytes{0};
  std::uint64_t replayed = 0, torn = 0;
  std::string replay_key;
  double replay_seconds = 0;

  ~impl() {
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  }

  // The series of (twin, name), created with `type` when new. `key` is scratch space.
  series* find_or_add(std::string_view twin, std::string_view name, value_type type, std::string& key) {
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
      slot->points.type = type;
      names[std::string(twin)].emplace_back(name);
    }
    return slot.get();
  }

  void apply(series* se, const sample& s) {
    std::lock_guard lock(se->mu);
    if (se->points.type != s.type) return;  // checked before logging; a replayed log was written so
    std::size_t before = se->points.size();
    insert(se->points, s);
    if (se->points.size() > before) points.fetch_add(1, std::memory_order_relaxed);
  }

  // Replays one log; cuts a torn or corrupt tail off.
  status replay(const std::filesystem::path& file) {
    int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return status::io_error("cannot open " + file.string() + ": " + std::strerror(errno));
    std::string data;
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        ::close(fd);
        return status::io_error("cannot read " + file.string() + ": " + std::strerror(errno));
      }
      if (n == 0) break;
      data.append(buf, static_cast<std::size_t>(n));
    }
    std::string_view in = data;
    std::size_t good = 0;
    while (in.size() >= k_record_header) {
      std::string_view rec = in;
      std::uint32_t len = 0;
      std::uint64_t hash = 0;
      get(rec, len);
      get(rec, hash);
      if (len > k_max_record || rec.size() < len) break;
      std::string_view payload = rec.substr(0, len);
      if (XXH3_64bits(payload.data(), payload.size()) != hash) break;
      if (!replay_record(payload)) break;
      in.remove_prefix(k_record_header + len);
      good += k_record_header + len;
    }
    if (good < data.size()) {
      torn += data.size() - good;
      if (::ftruncate(fd, static_cast<off_t>(good)) != 0) {
        ::close(fd);
        return status::io_error("cannot cut the torn end of " + file.string() + ": " + std::strerror(errno));
      }
    }
    log_bytes.fetch_add(good);
    ::close(fd);
    return status::ok();
  }

  bool replay_record(std::string_view p) {
    while (!p.empty()) {
      sample s;
      std::uint16_t tl = 0, nl = 0;
      std::uint8_t type = 0;
      if (!get(p, tl) || !get_bytes(p, tl, s.twin) || !get(p, nl) || !get_bytes(p, nl, s.name) || !get(p, type) ||
          type > 3 || !get(p, s.time_ns)) {
        return false;
      }
      s.type = static_cast<value_type>(type);
      switch (s.type) {
        case value_type::f64:
          if (!get(p, s.f)) return false;
          break;
        case value_type::i64:
          if (!get(p, s.i)) return false;
          break;
        case value_type::boolean: {
          std::uint8_t b = 0;
          if (!get(p, b)) return false;
          s.i = b;
          break;
        }
        case value_type::string: {
          std::uint32_t sl = 0;
          if (!get(p, sl) || !get_bytes(p, sl, s.s)) return false;
          break;
        }
      }
      apply(find_or_add(s.twin, s.name, s.type, replay_key), s);
      ++replayed;
    }
    return true;
  }
};

history::history(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
history::~history() = default;

result<std::unique_ptr<history>> history::open(history_options options) {
  auto i = std::make_unique<impl>();
  i->o = std::move(options);
  if (i->o.writers < 1) i->o.writers = 1;
  std::error_code ec;
  std::filesystem::create_directories(i->o.dir, ec);
  if (ec) return status::io_error("cannot create " + i->o.dir.string() + ": " + ec.message());
  auto started = std::chrono::steady_clock::now();
  // Every log, also those of writers a previous start had and this one has not.
  std::vector<std::filesystem::path> logs;
  for (const auto& e : std::filesystem::directory_iterator(i->o.dir, ec)) {
    auto name = e.path().filename().string();
    if (name.starts_with("wal-") && name.ends_with(".log")) logs.push_back(e.path());
  }
  std::sort(logs.begin(), logs.end());
  for (const auto& l : logs) {
    if (status s = i->replay(l); !s) return s;
  }
  i->replay_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (int w = 0; w < i->o.writers; ++w) {
    auto path = i->o.dir / ("wal-" + std::to_string(w) + ".log");
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return status::io_error("cannot open " + path.string() + ": " + std::strerror(errno));
    i->fds.push_back(fd);
  }
  i->scratches.resize(static_cast<std::size_t>(i->o.writers));
  // The directory entries of new logs must survive a crash too.
  int dfd = ::open(i->o.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return std::unique_ptr<history>(new history(std::move(i)));
}

status history::append(int writer, const std::vector<sample>& samples) {
  auto& i = *impl_;
  if (writer < 0 || writer >= i.o.writers) return status::internal("history writer out of range");
  if (samples.empty()) return status::ok();
  auto& w = i.scratches[static_cast<std::size_t>(writer)];
  // Each sample's series (one lookup each), and types checked: a refused append writes nothing.
  w.series_of.clear();
  for (const sample& s : samples) {
    if (s.twin.size() > 0xffff || s.name.size() > 0xffff) {
      return status::invalid_argument("a twin id or telemetry name is longer than 65,535 bytes");
    }
    series* se = i.find_or_add(s.twin, s.name, s.type, w.key);
    if (se->points.type != s.type) {  // a series' type never changes once created
      return status::invalid_argument("telemetry \"" + std::string(s.name) + "\" of twin \"" + std::string(s.twin) +
                                      "\" has history of type " + std::string(to_string(se->points.type)) + ", not " +
                                      std::string(to_string(s.type)));
    }
    w.series_of.push_back(se);
  }
  std::string& rec = w.record;
  rec.assign(k_record_header, '\0');
  for (const sample& s : samples) {
    put(rec, static_cast<std::uint16_t>(s.twin.size()));
    rec.append(s.twin);
    put(rec, static_cast<std::uint16_t>(s.name.size()));
    rec.append(s.name);
    put(rec, static_cast<std::uint8_t>(s.type));
    put(rec, s.time_ns);
    switch (s.type) {
      case value_type::f64: put(rec, s.f); break;
      case value_type::i64: put(rec, s.i); break;
      case value_type::boolean: put(rec, static_cast<std::uint8_t>(s.i != 0)); break;
      case value_type::string:
        put(rec, static_cast<std::uint32_t>(s.s.size()));
        rec.append(s.s);
        break;
    }
  }
  auto len = static_cast<std::uint32_t>(rec.size() - k_record_header);
  std::uint64_t hash = XXH3_64bits(rec.data() + k_record_header, len);
  std::memcpy(rec.data(), &len, 4);
  std::memcpy(rec.data() + 4, &hash, 8);
  int fd = i.fds[static_cast<std::size_t>(writer)];
  for (std::size_t at = 0; at < rec.size();) {
    ssize_t n = ::write(fd, rec.data() + at, rec.size() - at);
    if (n < 0) {
      if (errno == EINTR) continue;
      return status::io_error(std::string("cannot write the telemetry log: ") + std::strerror(errno));
    }
    at += static_cast<std::size_t>(n);
  }
  if (i.o.sync) {
    if (::fdatasync(fd) != 0)
      return status::io_error(std::string("cannot sync the telemetry log: ") + std::strerror(errno));
    i.syncs.fetch_add(1, std::memory_order_relaxed);
  }
  i.log_bytes.fetch_add(rec.size(), std::memory_order_relaxed);
  for (std::size_t k = 0; k < samples.size(); ++k) i.apply(w.series_of[k], samples[k]);
  i.appended.fetch_add(samples.size(), std::memory_order_relaxed);
  return status::ok();
}

result<column_batch> history::read(std::string_view twin, std::string_view name, std::int64_t from, std::int64_t to,
                                   std::size_t limit, bool* truncated) const {
  const auto& i = *impl_;
  const series* se = nullptr;
  {
    std::shared_lock lock(i.map_mu);
    auto it = i.heads.find(key_of(twin, name));
    if (it == i.heads.end()) {
      return status::not_found("twin \"" + std::string(twin) + "\" has no history of \"" + std::string(name) + "\"");
    }
    se = it->second.get();  // series are never removed while open
  }
  column_batch out;
  std::lock_guard lock(se->mu);
  const column_batch& c = se->points;
  out.type = c.type;
  auto lo = static_cast<std::size_t>(std::lower_bound(c.t.begin(), c.t.end(), from) - c.t.begin());
  auto hi = static_cast<std::size_t>(std::lower_bound(c.t.begin(), c.t.end(), to) - c.t.begin());
  if (hi < lo) hi = lo;
  std::size_t end = std::min(hi, lo + limit);
  if (truncated) *truncated = end < hi;
  auto range = [&](const auto& v, auto& dst) {
    dst.assign(v.begin() + static_cast<std::ptrdiff_t>(lo), v.begin() + static_cast<std::ptrdiff_t>(end));
  };
  range(c.t, out.t);
  switch (c.type) {
    case value_type::f64: range(c.f, out.f); break;
    case value_type::i64: range(c.i, out.i); break;
    case value_type::boolean: range(c.b, out.b); break;
    case value_type::string: range(c.s, out.s); break;
  }
  return out;
}

std::vector<std::string> history::series_of(std::string_view twin) const {
  const auto& i = *impl_;
  std::shared_lock lock(i.map_mu);
  auto it = i.names.find(twin);
  if (it == i.names.end()) return {};
  std::vector<std::string> out = it->second;
  std::sort(out.begin(), out.end());
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
  s.torn_bytes = i.torn;
  return s;
}

}  // namespace doppel::ts
