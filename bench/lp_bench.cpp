// Line protocol over HTTP: the same generated file (10,000 pumps, nine fields per line, 1 s apart)
// written in 5,000-line requests over keep-alive connections to Doppel's /write, to InfluxDB 1.6
// (Debian `influxdb`) and to VictoriaMetrics (Debian `victoria-metrics`), each started by this
// benchmark on loopback ports with its data in a temporary folder. Points/s acknowledged by each;
// and Doppel's resident memory per series afterwards.
//
// What an acknowledgement means differs, and the table says so: Doppel answers once the points
// are in its history log and fdatasync'd; InfluxDB 1.6 once they are in its WAL (fsync'd by
// default); VictoriaMetrics once they are in memory (it flushes about every second).
//
// Usage: bench_lp PATH/TO/doppel [LINES]
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "api/auth.h"
#include "api/client.h"
#include "bench_util.h"

namespace fs = std::filesystem;
using doppel::bench::free_port;
using doppel::bench::rss_mib;
using doppel::bench::spawn;
using doppel::bench::stop;
using doppel::bench::wait_ready;

namespace {

constexpr long k_twins = 10000;
constexpr int k_fields = 9;
constexpr int k_batch = 5000;
constexpr int k_connections = 2;

std::vector<std::string> make_batches(long lines) {
  std::vector<std::string> out;
  std::string cur;
  char buf[400];
  for (long k = 0; k < lines; ++k) {
    long twin = k % k_twins, seq = k / k_twins;
    double phase = static_cast<double>((twin * 7 + seq) % 600) / 600.0;
    int n = std::snprintf(buf, sizeof buf,
                          "pump,twin=pump-%ld dischargePressure=%.2f,suctionPressure=%.2f,flow=%.1f,speed=%.0f,"
                          "vibration=%.3f,running=true,motor.power=%.1f,motor.current=%.1f,"
                          "motor.windingTemperature=%.1f %lld\n",
                          twin, 4.0 + phase, 0.8 + phase / 10, 40.0 + 5 * phase, 1450.0 + 30 * phase, 0.2 + phase / 50,
                          55.0 + 3 * phase, 98.0 + 4 * phase, 61.0 + phase, (1764064800LL + seq) * 1000000000LL);
    cur.append(buf, static_cast<std::size_t>(n));
    if ((k + 1) % k_batch == 0) out.push_back(std::move(cur)), cur.clear();
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// Points/s acknowledged for every batch (k_connections keep-alive connections share them).
double load(unsigned short port, const std::string& target, const std::vector<std::string>& batches,
            const std::vector<std::pair<std::string, std::string>>& headers, long lines, const char* name) {
  return doppel::bench::load(port, target, batches, headers, lines * k_fields, name, k_connections);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_lp PATH/TO/doppel [LINES]\n");
    return 2;
  }
  std::string doppel = argv[1];
  long lines = argc > 2 ? std::stol(argv[2]) : 200000;
  fs::path dir = fs::temp_directory_path() / ("doppel-bench-lp-" + std::to_string(getpid()));
  fs::create_directories(dir / "data");
  doppel::bench::write_pump_project(dir / "project", k_twins, "name: bench\n");
  auto batches = make_batches(lines);

  // Doppel.
  auto token = doppel::api::create_token(dir / "data/tokens.json", "bench", doppel::api::role::admin);
  if (!token) return 1;
  unsigned short dport = free_port();
  pid_t dpid = spawn({doppel, "serve", (dir / "project").string(), "--listen", "127.0.0.1:" + std::to_string(dport),
                      "--data", (dir / "data").string(), "--mqtt", "off"},
                     dir / "doppel.log");
  if (!wait_ready(dport, "/healthz")) return std::fprintf(stderr, "doppel did not start\n"), 1;
  double rss0 = rss_mib(dpid);
  double doppel_rate = load(dport, "/write", batches, {{"Authorization", "Token " + *token}}, lines, "doppel");
  double rss1 = rss_mib(dpid);
  stop(dpid);

  // InfluxDB 1.6.
  unsigned short iport = free_port(), irpc = free_port();
  std::ofstream(dir / "influxdb.conf") << "reporting-disabled = true\nbind-address = \"127.0.0.1:" << irpc
                                       << "\"\n[meta]\n  dir = \"" << (dir / "influx/meta").string()
                                       << "\"\n[data]\n  dir = \"" << (dir / "influx/data").string()
                                       << "\"\n  wal-dir = \"" << (dir / "influx/wal").string()
                                       << "\"\n  query-log-enabled = false\n[http]\n  bind-address = \"127.0.0.1:"
                                       << iport << "\"\n  log-enabled = false\n[monitor]\n  store-enabled = false\n";
  pid_t ipid = spawn({"influxd", "run", "-config", (dir / "influxdb.conf").string()}, dir / "influxdb.log");
  double influx_rate = 0;
  if (wait_ready(iport, "/ping")) {
    auto c = doppel::api::http_client::connect("127.0.0.1", iport);
    auto created = c ? (*c)->send({"POST", "/query?q=CREATE%20DATABASE%20bench", {}, ""}) : c.error();
    if (!created || created->status / 100 != 2) std::fprintf(stderr, "influxdb: CREATE DATABASE failed\n");
    influx_rate = load(iport, "/write?db=bench", batches, {}, lines, "influxdb");
  } else {
    std::fprintf(stderr, "influxd did not start (is Debian's influxdb installed?)\n");
  }
  stop(ipid);

  // VictoriaMetrics.
  unsigned short vport = free_port();
  pid_t vpid = spawn({"victoria-metrics", "-storageDataPath=" + (dir / "vm").string(),
                      "-httpListenAddr=127.0.0.1:" + std::to_string(vport), "-loggerLevel=ERROR"},
                     dir / "vm.log");
  double vm_rate = 0, vm_rows = 0;
  if (wait_ready(vport, "/health")) {
    vm_rate = load(vport, "/write", batches, {}, lines, "victoria-metrics");
    // Check it took every point (its own counter of inserted rows).
    auto c = doppel::api::http_client::connect("127.0.0.1", vport);
    auto m = c ? (*c)->send({"GET", "/metrics", {}, ""}) : c.error();
    const std::string key = "vm_rows_inserted_total{type=\"influx\"} ";
    auto at = m ? m->body.find(key) : std::string::npos;
    vm_rows = at == std::string::npos ? -1 : std::stod(m->body.substr(at + key.size()));
  } else {
    std::fprintf(stderr, "victoria-metrics did not start (is Debian's victoria-metrics installed?)\n");
  }
  stop(vpid);
  fs::remove_all(dir);

  std::printf(
      "\nLine protocol over HTTP: %ld lines (%ld points: %ld pumps x %d fields), %d-line requests, %d "
      "keep-alive connections\n",
      lines, lines * k_fields, k_twins, k_fields, k_batch, k_connections);
  std::printf("| %-40s | %13s | %13s | %13s |\n", "measure", "doppel", "InfluxDB 1.6", "VictoriaMetrics");
  std::printf("|%s|%s|%s|%s|\n", std::string(42, '-').c_str(), std::string(15, '-').c_str(),
              std::string(15, '-').c_str(), std::string(15, '-').c_str());
  std::printf("| %-40s | %13.0f | %13.0f | %13.0f |\n", "points/s acknowledged", doppel_rate, influx_rate, vm_rate);
  std::printf("| %-40s | %13s | %12.2fx | %12.2fx |\n", "doppel / anchor (targets: >= 2x, >= 1x)", "",
              influx_rate > 0 ? doppel_rate / influx_rate : 0.0, vm_rate > 0 ? doppel_rate / vm_rate : 0.0);
  std::printf("| %-40s | %13s | %13s | %13s |\n", "acknowledged when", "fdatasync'd", "in WAL (fsync)", "in memory");
  std::printf("| %-40s | %13s | %13s | %13.0f |\n", "points the server counts as inserted", "", "", vm_rows);
  long series = k_twins * k_fields;
  std::printf("| %-40s | %13.0f | %13s | %13s |\n", "doppel RSS per series (bytes)",
              (rss1 - rss0) * 1048576.0 / static_cast<double>(series), "", "");
  std::printf("(%ld series, %ld points each: heads under 1,024 points stay in memory, so this includes them)\n", series,
              lines / k_twins);
  return 0;
}
