// Twin query latency over 100,050 twins of the pump-station models held in memory as JSON:
// stations -hasPump-> pumps -drivenBy-> motors, plus tanks. Each query runs through the planner
// (the index, $dtId lookups) and, as the anchor in the same run, as a naive full scan of the same
// data through the same evaluator (query_options::use_indexes = false). Prints a table; absolute
// times on a shared machine are noise, the ratio is the figure.
#include <malloc.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "model/registry.h"
#include "twin/index.h"
#include "twin/memory_source.h"
#include "twin/query.h"

namespace {

using nlohmann::json;
using clock_type = std::chrono::steady_clock;

// Pumps that drive a motor twin: the example's Pump with one more relationship, because the
// example models keep the motor as a component only.
constexpr const char* k_bench_models = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:doppel:bench:DrivenPump;1", "@type": "Interface",
  "extends": "dtmi:doppel:example:Pump;1",
  "contents": [{"@type": "Relationship", "name": "drivenBy", "target": "dtmi:doppel:example:Motor;1"}]})";

constexpr int k_stations = 4000;
constexpr int k_pumps_per_station = 12;
constexpr int k_tanks = 50;

std::string id(const char* prefix, int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s-%05d", prefix, n);
  return buf;
}

void must(const doppel::status& s) {
  if (!s) {
    std::fprintf(stderr, "bench data rejected: %s\n", s.to_string().c_str());
    std::exit(1);
  }
}

void build(doppel::twin::memory_source& src) {
  const char* modes[] = {"auto", "manual", "off"};
  const char* makers[] = {"KSB", "Grundfos", "Xylem", "Wilo", "Sulzer"};
  int pump = 0;
  for (int s = 0; s < k_stations; ++s) {
    std::string station = id("station", s);
    must(src.put_twin(station, {{"$metadata", {{"$model", "dtmi:doppel:example:PumpStation;1"}}},
                                {"name", "Station " + std::to_string(s)}}));
    for (int p = 0; p < k_pumps_per_station; ++p, ++pump) {
      std::string pid = id("pump", pump), mid = id("motor", pump);
      // Speeds spread over 1000..1499.95 rpm in 0.05 steps, not in id order.
      double speed = 1000 + ((pump * 7919) % 10000) * 0.05;
      int power = 30 + (pump * 31) % 60;
      char serial[32], date[16];
      std::snprintf(serial, sizeof serial, "SN-%07d", pump);
      std::snprintf(date, sizeof date, "20%02d-%02d-%02d", 15 + pump % 10, 1 + pump % 12, 1 + pump % 28);
      json body = {{"$metadata", {{"$model", "dtmi:doppel:bench:DrivenPump;1"}}},
                   {"serialNumber", serial},
                   {"manufacturer", makers[pump % 5]},
                   {"installedOn", date},
                   {"targetSpeed", speed},
                   {"mode", modes[pump % 3]},
                   {"ratedFlow", 80 + pump % 80},
                   {"maintenance", {{"lastService", "2026-03-01T08:00:00Z"}, {"interval", "P180D"}}},
                   {"motor", {{"$metadata", json::object()}, {"ratedPower", power}}}};
      must(src.put_twin(pid, std::move(body)));
      must(src.put_twin(mid, {{"$metadata", {{"$model", "dtmi:doppel:example:Motor;1"}}}, {"ratedPower", power}}));
      must(src.put_relationship({{"$sourceId", station},
                                 {"$relationshipId", "has-" + pid},
                                 {"$relationshipName", "hasPump"},
                                 {"$targetId", pid},
                                 {"position", p}}));
      must(src.put_relationship(
          {{"$sourceId", pid}, {"$relationshipId", "drive"}, {"$relationshipName", "drivenBy"}, {"$targetId", mid}}));
    }
  }
  for (int t = 0; t < k_tanks; ++t) {
    std::string tank = id("tank", t), station = id("station", t * (k_stations / k_tanks));
    must(src.put_twin(tank, {{"$metadata", {{"$model", "dtmi:doppel:example:Tank;1"}}}, {"capacity", 1000 + t}}));
    must(src.put_relationship(
        {{"$sourceId", station}, {"$relationshipId", "feeds"}, {"$relationshipName", "feeds"}, {"$targetId", tank}}));
  }
}

struct measure {
  std::size_t rows = 0;
  double p50 = 0, p99 = 0;  // milliseconds
};

measure run(const doppel::twin::memory_source& src, const std::string& text, bool indexed, int runs) {
  doppel::twin::query_options o;
  o.use_indexes = indexed;
  std::vector<double> ms;
  measure m;
  for (int r = 0; r < runs; ++r) {
    auto t0 = clock_type::now();
    auto page = doppel::twin::run_query(text, src, o);
    ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    if (!page) {
      std::fprintf(stderr, "query failed: %s\n  %s\n", page.error().to_string().c_str(), text.c_str());
      std::exit(1);
    }
    m.rows = (*page)["value"].size();
  }
  std::sort(ms.begin(), ms.end());
  m.p50 = ms[ms.size() / 2];
  m.p99 = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::stoi(argv[1]) : 300;
  int scan_runs = argc > 2 ? std::stoi(argv[2]) : 30;
  std::string only = argc > 3 ? argv[3] : "";  // run only the queries whose label contains this

  doppel::model::model_registry models;
  if (!models.load_paths({DOPPEL_SOURCE_DIR "/examples/pump-station/models"}).ok() ||
      !models.load({{"bench.json", k_bench_models}}).ok()) {
    std::fprintf(stderr, "the bench models did not load\n");
    return 1;
  }
  std::size_t heap0 = mallinfo2().uordblks;
  auto t0 = clock_type::now();
  doppel::twin::memory_source src(models);
  build(src);
  double build_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::size_t heap1 = mallinfo2().uordblks;
  // The index's share: a second index over the same twins, measured on its own.
  std::size_t index_bytes = 0;
  {
    auto index = std::make_unique<doppel::twin::twin_index>();
    std::size_t before = mallinfo2().uordblks;
    src.scan_twins("", [&](std::string_view twin_id, const json& body) {
      index->update(twin_id, nullptr, &body, models.find(body["$metadata"]["$model"].get<std::string>()));
      return true;
    });
    index_bytes = mallinfo2().uordblks - before;
  }
  std::size_t twins = src.twin_count();

  struct query {
    const char* label;
    std::string text;
  };
  const std::vector<query> queries = {
      {"model filter (Tank, exact model set)",
       "SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:doppel:example:Tank;1')"},
      {"property range (targetSpeed, 0.5 rpm wide)",
       "SELECT T.$dtId, T.targetSpeed FROM DIGITALTWINS T WHERE T.targetSpeed >= 1234.5 AND T.targetSpeed < 1235"},
      {"2-hop JOIN station -> pumps -> motors",
       "SELECT P.$dtId, M.ratedPower FROM DIGITALTWINS S JOIN P RELATED S.hasPump JOIN M RELATED P.drivenBy "
       "WHERE S.$dtId = 'station-01234'"},
      {"inherited model (Asset), first page of 100",
       "SELECT T.$dtId FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:doppel:example:Asset;1')"},
      {"GROUP BY mode over all 48,000 pumps",
       "SELECT T.mode, COUNT(), AVG(T.targetSpeed) FROM DIGITALTWINS T "
       "WHERE IS_OF_MODEL(T, 'dtmi:doppel:example:Pump;1') GROUP BY T.mode"},
  };

  std::printf("\nTwin queries: %zu twins, %zu relationships in memory, %d runs per query (%d for full scans)\n", twins,
              src.relationship_count(), runs, scan_runs);
  std::printf("| %-44s | %5s | %9s | %9s | %10s | %10s | %9s |\n", "query", "rows", "p50 ms", "p99 ms", "scan p50",
              "scan p99", "speed-up");
  std::printf("|%s|%s|%s|%s|%s|%s|%s|\n", std::string(46, '-').c_str(), std::string(7, '-').c_str(),
              std::string(11, '-').c_str(), std::string(11, '-').c_str(), std::string(12, '-').c_str(),
              std::string(12, '-').c_str(), std::string(11, '-').c_str());
  for (const auto& q : queries) {
    if (std::string(q.label).find(only) == std::string::npos) continue;
    measure ours = run(src, q.text, true, runs);
    measure scan = run(src, q.text, false, scan_runs);
    if (ours.rows != scan.rows) {
      std::fprintf(stderr, "indexed and scanned results differ for %s\n", q.label);
      return 1;
    }
    std::printf("| %-44s | %5zu | %9.3f | %9.3f | %10.2f | %10.2f | %8.1fx |\n", q.label, ours.rows, ours.p50, ours.p99,
                scan.p50, scan.p99, scan.p50 / ours.p50);
  }
  double mib = 1024.0 * 1024.0;
  std::printf("| %-44s | %5s | %9.1f | %9s | %10s | %10s | %9s |\n", "load: twins + relationships + index (s)", "-",
              build_s, "-", "-", "-", "-");
  std::printf("| %-44s | %5s | %9.1f | %9s | %10s | %10s | %9s |\n", "heap: twins + relationships + index (MiB)", "-",
              static_cast<double>(heap1 - heap0) / mib, "-", "-", "-", "-");
  std::printf("| %-44s | %5s | %9.1f | %9s | %10s | %10s | %9s |\n", "heap: the index alone (MiB)", "-",
              static_cast<double>(index_bytes) / mib, "-", "-", "-", "-");
  std::printf("| %-44s | %5s | %9.0f | %9s | %10s | %10s | %9s |\n", "index bytes per twin", "-",
              static_cast<double>(index_bytes) / static_cast<double>(twins), "-", "-", "-", "-");
  std::printf(
      "p50/p99 of one page (100 rows at most) through the planner; scan = the same query scanning every twin; "
      "speed-up = scan p50 / p50.\n");
  return 0;
}
