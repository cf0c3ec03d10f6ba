// Recovery of the telemetry history against the real binary: a record damaged amid a log after a
// kill -9 is skipped, the readings after it are kept, and /healthz and the start log say so.
#include <cstring>
#include <fstream>

#include "api/api_fixture.h"

namespace doppel::api {
namespace {

class history_recovery : public api_fixture {};

TEST_F(history_recovery, ADamagedLogRecordIsSkippedAndShownInHealthz) {
  without_simulation();  // its virtual sensors would add records of their own
  start();
  // One request at a time: each shard pass, so each log record, holds one reading.
  for (int k = 0; k < 3; ++k) {
    std::string reading = R"([{"$dtId": "pump-1", "speed": )" + std::to_string(1450 + k) + R"(, "$ts": )" +
                          std::to_string(1764064800000LL + k * 1000LL) + "}]";
    ASSERT_EQ(call("POST", "/telemetry", "operator", reading).status, 204u);
  }
  json health = body(call("GET", "/healthz", "viewer"));
  EXPECT_EQ(health["history"]["skippedRanges"], 0) << health.dump();
  server_.kill(SIGKILL);  // the logs stay as they are: nothing is sealed

  // The log holding the three records; flip a byte in the second one's payload.
  fs::path log;
  for (const auto& e : fs::directory_iterator(data_ / "history")) {
    if (e.path().extension() == ".wal" && fs::file_size(e.path()) > 0) log = e.path();
  }
  ASSERT_FALSE(log.empty());
  std::string bytes;
  {
    std::ifstream in(log, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::uint32_t first = 0, len = 0;
  std::memcpy(&first, bytes.data(), 4);
  std::size_t second = 12 + first;
  ASSERT_LT(second + 13, bytes.size());
  std::memcpy(&len, bytes.data() + second, 4);
  bytes[second + 13] = static_cast<char>(bytes[second + 13] ^ 0x5a);
  std::ofstream(log, std::ios::binary | std::ios::trunc) << bytes;

  start();
  std::string said = "history: skipped " + std::to_string(12 + len) + " damaged bytes at offset " +
                     std::to_string(second) + " of " + log.string();
  EXPECT_NE(server_.output().find(said), std::string::npos) << server_.output();
  health = body(call("GET", "/healthz", "viewer"));
  EXPECT_EQ(health["status"], "ok");
  EXPECT_EQ(health["history"]["skippedRanges"], 1) << health.dump();
  EXPECT_EQ(health["history"]["skippedBytes"], 12 + len);
  ASSERT_EQ(health["history"]["skipped"].size(), 1u);
  EXPECT_EQ(health["history"]["skipped"][0]["file"], log.filename().string());
  EXPECT_EQ(health["history"]["skipped"][0]["offset"], second);
  // The readings before and after the damaged one are there.
  json h = body(call("GET", "/digitaltwins/pump-1/telemetry/speed?from=2025-11-25T10:00:00Z", "viewer"));
  EXPECT_NE(h.dump().find("1450"), std::string::npos) << h.dump();
  EXPECT_NE(h.dump().find("1452"), std::string::npos) << h.dump();
  EXPECT_EQ(h.dump().find("1451"), std::string::npos) << h.dump();
}

}  // namespace
}  // namespace doppel::api
