// End-to-end MQTT ingest: simulated pumps publish JSON telemetry (nine values each, 10,000 twins)
// to Mosquitto; Doppel (the real binary, subscribed to that broker) applies it to the twins and
// their history. Anchor, measured in the same run on the same broker and stream: a bare
// subscriber that only counts messages (and acknowledges QoS 1 at once): the broker's ceiling.
// Both at QoS 0 and QoS 1. Also: CPU of the doppel process, and latency from publish to the
// value visible in GET /digitaltwins/{id}/telemetry on an idle server.
//
// Usage: bench_mqtt PATH/TO/doppel [MESSAGES]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "api/auth.h"
#include "api/client.h"
#include "bench_util.h"
#include "ingest/broker_auth.h"
#include "ingest/managed_broker.h"
#include "loadgen/mqtt_load.h"

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr long k_twins = 10000;

double cpu_seconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields;
  std::string cur;
  for (char ch : text.substr(close + 2)) {
    if (ch == ' ') {
      fields.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the state field.
  if (fields.size() < 13) return 0;
  return static_cast<double>(std::stoll(fields[11]) + std::stoll(fields[12])) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Who logs in to the managed broker (it refuses anonymous clients): a fleet device for the
// publishers, Doppel's own user for the bare subscriber (only it may subscribe to doppel/...).
struct broker_login {
  unsigned short port = 0;
  std::string device_password, doppel_user, doppel_password;
};

// Publishes `n` messages round-robin over the pumps; returns false on failure.
bool publish(const broker_login& b, long n, int qos, long first_seq, const std::string& id) {
  doppel::loadgen::mqtt_client pub;
  if (!pub.connect(b.port, id, doppel::ingest::mqtt::v5, "bench", b.device_password))
    return std::fprintf(stderr, "publisher: %s\n", pub.error().c_str()), false;
  for (long k = 0; k < n; ++k) {
    long twin = k % k_twins, seq = first_seq + k / k_twins;
    if (!pub.publish("doppel/twins/pump-" + std::to_string(twin) + "/telemetry",
                     doppel::loadgen::pump_payload(twin, seq, 1764064800000LL + seq), static_cast<std::uint8_t>(qos))) {
      return std::fprintf(stderr, "publisher: %s\n", pub.error().c_str()), false;
    }
  }
  bool ok = pub.wait_acks(std::chrono::seconds(300));
  if (!ok) std::fprintf(stderr, "publisher: %s\n", pub.error().c_str());
  pub.disconnect();
  return ok;
}

// Messages/s the broker delivers to a subscriber that only counts.
double ceiling(const broker_login& b, long n, int qos) {
  doppel::loadgen::mqtt_client sub;
  if (!sub.connect(b.port, "bare-subscriber-" + std::to_string(qos), doppel::ingest::mqtt::v5, b.doppel_user,
                   b.doppel_password) ||
      !sub.subscribe("doppel/twins/+/telemetry", static_cast<std::uint8_t>(qos))) {
    std::fprintf(stderr, "bare subscriber: %s\n", sub.error().c_str());
    return 0;
  }
  auto t0 = clock_type::now();
  long seen = 0;
  std::thread counter([&] { seen = sub.count_until(n, std::chrono::seconds(10)); });
  publish(b, n, qos, 0, "loadgen-bare");
  counter.join();
  double s = std::chrono::duration<double>(clock_type::now() - t0).count();
  sub.disconnect();
  if (seen < n) std::fprintf(stderr, "bare subscriber saw %ld of %ld messages\n", seen, n);
  return static_cast<double>(seen) / s;
}

double accepted_readings(doppel::api::http_client& http, const std::string& token) {
  auto r = http.send({"GET", "/metrics", {{"Authorization", "Bearer " + token}}, ""});
  if (!r) return -1;
  const std::string key = "doppel_ingest_readings_total{outcome=\"accepted\"} ";
  auto at = r->body.find(key);
  return at == std::string::npos ? -1 : std::stod(r->body.substr(at + key.size()));
}

struct doppel_run {
  double rate = 0, cpu = 0;
  std::vector<double> latencies;  // seconds
  bool ok = false;
};

doppel_run run_doppel(const std::string& doppel, const fs::path& dir, const broker_login& broker, long n, int qos) {
  doppel_run out;
  // The subscription's QoS comes from the project file.
  std::ofstream(dir / "project/doppel.yaml")
      << "name: bench\nmqtt:\n  qos: " << qos << "\n  client_id: bench-" << qos
      << "\n  username: " << broker.doppel_user << "\n  password: " << broker.doppel_password << "\n";
  auto token =
      doppel::api::create_token(dir / "data/tokens.json", "bench-" + std::to_string(qos), doppel::api::role::admin);
  if (!token) return out;
  doppel::bench::child server = doppel::bench::spawn_listening(
      {doppel, "serve", (dir / "project").string(), "--listen", "127.0.0.1:0", "--data", (dir / "data").string(),
       "--mqtt", "mqtt://127.0.0.1:" + std::to_string(broker.port)});
  if (server.port == 0) return std::fprintf(stderr, "doppel serve did not start\n"), out;
  auto http = doppel::api::http_client::connect("127.0.0.1", server.port);
  if (!http) return out;
  double base = accepted_readings(**http, *token);
  double want = base + static_cast<double>(n) * doppel::loadgen::pump_payload_fields;
  double cpu0 = cpu_seconds(server.pid);
  auto t0 = clock_type::now();
  bool published = publish(broker, n, qos, 1000000L * (qos + 1), "loadgen-doppel");
  double got = base;
  while (published && got < want && clock_type::now() - t0 < std::chrono::seconds(600)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    got = accepted_readings(**http, *token);
  }
  double s = std::chrono::duration<double>(clock_type::now() - t0).count();
  out.cpu = (cpu_seconds(server.pid) - cpu0) / s;
  out.rate = (got - base) / doppel::loadgen::pump_payload_fields / s;
  out.ok = got >= want;
  if (!out.ok) std::fprintf(stderr, "doppel applied %.0f of %.0f readings\n", got - base, want - base);
  // Latency on an idle server: one message, then poll the twin until it shows.
  doppel::loadgen::mqtt_client pub;
  if (pub.connect(broker.port, "loadgen-latency", doppel::ingest::mqtt::v5, "bench", broker.device_password)) {
    for (int k = 0; k < 200; ++k) {
      std::string speed = std::to_string(2000 + k + 1000 * qos);
      auto s0 = clock_type::now();
      pub.publish("doppel/twins/pump-1/telemetry", "{\"speed\": " + speed + "}", static_cast<std::uint8_t>(qos));
      pub.wait_acks();
      for (int tries = 0; tries < 100000; ++tries) {
        auto r = (*http)->send({"GET", "/digitaltwins/pump-1/telemetry", {{"Authorization", "Bearer " + *token}}, ""});
        if (r && r->body.find("\"value\":" + speed) != std::string::npos) break;
      }
      out.latencies.push_back(std::chrono::duration<double>(clock_type::now() - s0).count());
    }
    pub.disconnect();
  }
  kill(server.pid, SIGTERM);
  waitpid(server.pid, nullptr, 0);
  return out;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_mqtt PATH/TO/doppel [MESSAGES]\n");
    return 2;
  }
  std::string doppel = argv[1];
  long n = argc > 2 ? std::stol(argv[2]) : 100000;
  fs::path dir = fs::temp_directory_path() / ("doppel-bench-mqtt-" + std::to_string(getpid()));
  fs::create_directories(dir / "data");
  doppel::ingest::broker_options bo;
  bo.port = 0;
  bo.dir = dir / "broker";
  bo.devices_file = dir / "broker" / "devices.json";
  auto device_password = doppel::ingest::add_device(bo.devices_file, "bench", {});
  if (!device_password) {
    std::fprintf(stderr, "bench_mqtt: %s\n", device_password.error().message().c_str());
    return 1;
  }
  auto broker = doppel::ingest::managed_broker::start(bo);
  if (!broker) {
    std::fprintf(stderr, "bench_mqtt: %s\n", broker.error().message().c_str());
    return 1;
  }
  broker_login port{(*broker)->port(), *device_password, (*broker)->username(), (*broker)->password()};
  // Doppel connects to this broker as to one of the user's: with the credentials in doppel.yaml.
  doppel::bench::write_pump_project(dir / "project", k_twins, "name: bench\n");

  double ceil0 = ceiling(port, n, 0), ceil1 = ceiling(port, n, 1);
  doppel_run d0 = run_doppel(doppel, dir, port, n, 0);
  doppel_run d1 = run_doppel(doppel, dir, port, n, 1);
  broker->reset();
  fs::remove_all(dir);

  std::printf(
      "\nMQTT ingest end to end: %ld messages from %ld simulated pumps, %d telemetry values each (JSON),\n"
      "Mosquitto 2 on loopback; Doppel applies each to the twin and its history (QoS 1: PUBACK after fdatasync)\n",
      n, k_twins, doppel::loadgen::pump_payload_fields);
  std::printf("| %-38s | %11s | %11s | %9s | %9s | %9s | %11s |\n", "measure", "doppel", "bare sub", "ratio", "p50 ms",
              "p99 ms", "doppel CPU");
  std::printf("|%s|%s|%s|%s|%s|%s|%s|\n", std::string(40, '-').c_str(), std::string(13, '-').c_str(),
              std::string(13, '-').c_str(), std::string(11, '-').c_str(), std::string(11, '-').c_str(),
              std::string(11, '-').c_str(), std::string(13, '-').c_str());
  for (auto [name, d, c] : {std::tuple{"QoS 0: messages/s", &d0, ceil0}, std::tuple{"QoS 1: messages/s", &d1, ceil1}}) {
    std::printf("| %-38s | %11.0f | %11.0f | %9.3f | %9.2f | %9.2f | %10.0f%% |\n", name, d->rate, c, d->rate / c,
                percentile(d->latencies, 0.5) * 1e3, percentile(d->latencies, 0.99) * 1e3, d->cpu * 100);
    std::printf("| %-38s | %11.0f | %11s | %9s | %9s | %9s | %11s |\n", "  points/s",
                d->rate * doppel::loadgen::pump_payload_fields, "", "", "", "", "");
    if (!d->ok)
      std::printf("| %-38s | %11s | %11s | %9s | %9s | %9s | %11s |\n", "  INCOMPLETE (see stderr)", "", "", "", "", "",
                  "");
  }
  std::printf(
      "ratio = doppel / bare subscriber (the broker's ceiling: the same publisher and broker, a subscriber that\n"
      "only counts); target >= 0.8. Latency: publish to the value visible over HTTP, one message at a time,\n"
      "idle server. CPU: the doppel process over the run (100%% = one core).\n");
  return 0;
}
