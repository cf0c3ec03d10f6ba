// kill -9 of the real `doppel serve` while clients stream telemetry over HTTP (JSON to
// /telemetry/{id}, line protocol to /write): after a restart every reading that was acknowledged
// (204) is in its history. The kill lands mid-stream, between a fifth and four fifths of the
// stream acknowledged, and the test says so.
#include "api/api_fixture.h"

#include <gtest/gtest.h>

#include <signal.h>

#include <array>
#include <atomic>
#include <thread>
#include <vector>

namespace doppel::api {
namespace {

constexpr std::int64_t k_base_ms = 1764064800000;  // 2025-11-25T10:00:00Z

struct series {
  const char* twin;
  const char* name;
};
constexpr std::array<series, 4> k_series{
    {{"pump-1", "speed"}, {"pump-1", "flow"}, {"pump-2", "speed"}, {"pump-2", "flow"}}};

class telemetry_kill : public api_fixture {
 protected:
  // One writer per series sends readings 0, 1, ... (value k at k_base_ms + k) until the server
  // dies; the server is killed once a fifth of everything is acknowledged.
  void stream_kill_and_check(bool line_protocol) {
    constexpr int k_each = 1500, k_all = k_each * static_cast<int>(k_series.size());
    start();
    std::array<std::atomic<int>, k_series.size()> acked{};
    std::atomic<int> total{0}, running{static_cast<int>(k_series.size())};
    std::vector<std::thread> writers;
    for (std::size_t w = 0; w < k_series.size(); ++w) {
      acked[w] = -1;
      writers.emplace_back([&, w] {
        auto c = http_client::connect("127.0.0.1", server_.port());
        const series& s = k_series[w];
        for (int k = 0; c && k < k_each; ++k) {
          std::string time = std::to_string(k_base_ms + k), value = std::to_string(k);
          request r = line_protocol
                          ? request{"POST",
                                    "/write?precision=ms",
                                    {{"Authorization", "Token " + tokens_["operator"]}},
                                    std::string("pumps,twin=") + s.twin + " " + s.name + "=" + value + " " + time}
                          : request{"POST",
                                    std::string("/telemetry/") + s.twin,
                                    {{"Authorization", "Bearer " + tokens_["operator"]}},
                                    std::string(R"({")") + s.name + R"(": )" + value + R"(, "$ts": )" + time + "}"};
          auto res = (*c)->send(r);
          if (!res || res->status != 204) break;  // the server is gone
          acked[w] = k;
          ++total;
        }
        --running;
      });
    }
    while (total < k_all / 5 && running > 0) std::this_thread::yield();
    server_.kill(SIGKILL);
    for (auto& t : writers) t.join();
    // Mid-stream: at least a fifth acknowledged, and no more than four fifths.
    ASSERT_GE(total.load(), k_all / 5) << "the writers stopped before the kill";
    EXPECT_LE(total.load(), 4 * k_all / 5) << "the kill came too late to be mid-stream";
    start();
    for (std::size_t w = 0; w < k_series.size(); ++w) {
      const series& s = k_series[w];
      SCOPED_TRACE(std::string(s.twin) + " " + s.name);
      json h = body(call("GET", std::string("/digitaltwins/") + s.twin + "/telemetry/" + s.name + "?limit=100000"));
      ASSERT_TRUE(h["value"].is_array()) << h;
      // Every acknowledged reading, in order; the one in flight at the kill may be there too.
      std::size_t n = h["value"].size();
      ASSERT_GE(n, static_cast<std::size_t>(acked[w] + 1)) << "acknowledged readings are missing";
      ASSERT_LE(n, static_cast<std::size_t>(acked[w] + 2));
      for (std::size_t k = 0; k < n; ++k) ASSERT_EQ(h["value"][k]["value"], static_cast<double>(k)) << k;
    }
  }
};

TEST_F(telemetry_kill, AcknowledgedJsonTelemetrySurvivesKill9) { stream_kill_and_check(false); }

TEST_F(telemetry_kill, AcknowledgedLineProtocolWritesSurviveKill9) { stream_kill_and_check(true); }

}  // namespace
}  // namespace doppel::api
