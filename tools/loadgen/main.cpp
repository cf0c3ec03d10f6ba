// doppel-loadgen: simulated pumps publishing telemetry to an MQTT broker, for trying Doppel under
// load and for the MQTT benchmark. Each message is one pump's nine telemetries as JSON on
// doppel/twins/pump-N/telemetry, stamped with its own "$ts".
//
//   doppel-loadgen --port 1883 --twins 2 --first 1 --messages 1000 --qos 1 -u NAME -P PASSWORD
//   (pump-1, pump-2; the managed broker wants a fleet credential from `doppel device add`)
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

#include "loadgen/mqtt_load.h"

int main(int argc, char** argv) {
  CLI::App app{"Publishes simulated pump telemetry to an MQTT broker"};
  unsigned short port = 1883;
  long twins = 10000, messages = 100000, first = 0;
  int qos = 1;
  std::string prefix = "pump-", username, password;
  app.add_option("--port", port, "The broker's port on 127.0.0.1")->capture_default_str();
  app.add_option("--twins", twins, "Simulated pumps, named PREFIX<first> .. PREFIX<first+N-1>")
      ->check(CLI::Range(1L, 10000000L));
  app.add_option("--messages", messages, "Messages in all, round-robin over the pumps")
      ->check(CLI::Range(1L, 1L << 40));
  app.add_option("--qos", qos, "0 or 1")->check(CLI::Range(0, 1));
  app.add_option("--prefix", prefix, "Twin id prefix")->capture_default_str();
  app.add_option("--first", first, "Number of the first pump (PREFIX<first> ...)")->capture_default_str();
  app.add_option("-u,--username", username, "MQTT user name (a fleet device of `doppel device add`)");
  app.add_option("-P,--password", password, "MQTT password");
  CLI11_PARSE(app, argc, argv);

  doppel::loadgen::mqtt_client pub;
  if (!pub.connect(port, "doppel-loadgen", doppel::ingest::mqtt::v5, username, password)) {
    std::fprintf(stderr, "doppel-loadgen: cannot connect to 127.0.0.1:%u: %s\n", port, pub.error().c_str());
    return 1;
  }
  auto start = std::chrono::steady_clock::now();
  auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  for (long k = 0; k < messages; ++k) {
    long twin = k % twins, seq = k / twins;
    if (!pub.publish("doppel/twins/" + prefix + std::to_string(first + twin) + "/telemetry",
                     doppel::loadgen::pump_payload(twin, seq, now_ms + seq), static_cast<std::uint8_t>(qos))) {
      std::fprintf(stderr, "doppel-loadgen: publish failed: %s\n", pub.error().c_str());
      return 1;
    }
  }
  if (!pub.wait_acks()) {
    std::fprintf(stderr, "doppel-loadgen: %s\n", pub.error().c_str());
    return 1;
  }
  pub.disconnect();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("published %ld messages (%ld points) at QoS %d in %.2f s: %.0f messages/s\n", messages,
              messages * doppel::loadgen::pump_payload_fields, qos, s, static_cast<double>(messages) / s);
  return 0;
}
