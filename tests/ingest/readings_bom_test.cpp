// Telemetry payloads that start with a UTF-8 byte order mark (issue 13): simdjson leaves the mark
// to its caller, so every JSON payload form skips it (core/json_input.h), and refusals still
// place mistakes by their byte in the payload as received.
#include "ingest/readings.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace doppel::ingest {
namespace {

constexpr std::int64_t k_now = 1764064800000000000;
const std::string k_bom = "\xEF\xBB\xBF";

TEST(ReadingsBom, EveryJsonFormSkipsALeadingMark) {
  std::vector<reading> out;
  std::vector<rejection> rejected;
  parse_json_readings(k_bom + R"({"speed": 1450.5})", "pump-1", k_now, out, rejected);
  parse_json_readings(k_bom + R"([{"$dtId": "pump-2", "speed": 7}])", "", k_now, out, rejected);
  parse_json_fields(k_bom + R"({"p": {"discharge": 2.5}})", "pump-1", {{"/p/discharge", "dischargePressure", 1, 0}},
                    k_now, out, rejected);
  parse_sparkplug_readings(k_bom + R"({"metrics": [{"name": "motor/power", "value": 4.2}]})", "pump-1", k_now, out,
                           rejected);
  EXPECT_TRUE(rejected.empty()) << rejected[0].message;
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].name, "speed");
  EXPECT_EQ(out[0].value, 1450.5);
  EXPECT_EQ(out[1].twin, "pump-2");
  EXPECT_EQ(out[2].name, "dischargePressure");
  EXPECT_EQ(out[2].value, 2.5);
  EXPECT_EQ(out[3].name, "motor.power");
}

TEST(ReadingsBom, RefusalsCountTheMarkAndKeepThePayloadAsReceived) {
  std::vector<reading> out;
  std::vector<rejection> rejected;
  std::string plain = R"({"speed": 1e400})";
  parse_json_readings(plain, "pump-1", k_now, out, rejected);
  parse_json_readings(k_bom + plain, "pump-1", k_now, out, rejected);
  parse_json_readings(k_bom + k_bom + R"({"speed": 1})", "pump-1", k_now, out, rejected);  // one mark only
  EXPECT_TRUE(out.empty());
  ASSERT_EQ(rejected.size(), 3u);
  EXPECT_EQ(rejected[0].reason, "number_out_of_range");
  EXPECT_NE(rejected[0].message.find("at byte 10"), std::string::npos) << rejected[0].message;
  EXPECT_EQ(rejected[1].reason, "number_out_of_range");
  EXPECT_NE(rejected[1].message.find("at byte 13"), std::string::npos) << rejected[1].message;
  EXPECT_EQ(rejected[1].raw, k_bom + plain);
  EXPECT_EQ(rejected[2].reason, "malformed_json");
}

}  // namespace
}  // namespace doppel::ingest
