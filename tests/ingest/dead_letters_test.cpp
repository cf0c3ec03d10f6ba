// The dead-letter store: durable across a reopen, bounded by count and bytes (oldest first).
#include "ingest/dead_letters.h"

#include <gtest/gtest.h>

#include "common/temp_dir.h"

namespace doppel::ingest {
namespace {

TEST(DeadLetters, SurviveAReopenWithTheirSequenceNumbers) {
  doppel::testing::temp_dir dir{"doppel-dead-letters"};
  auto file = dir.path() / "deadletters.db";
  {
    dead_letters letters(3);
    ASSERT_TRUE(letters.open(file));
    ASSERT_TRUE(letters.add("mqtt", std::vector<std::string>{"pump-1", "pump-2"},
                            {{"wrong_type", "m1", "r1"}, {"unknown_name", "m2", "r2"}}));
    ASSERT_TRUE(letters.add("http", "pump-3", {{"wrong_type", "m3", "r3"}, {"wrong_type", "m4", "r4"}}));
  }
  dead_letters letters(3);
  ASSERT_TRUE(letters.open(file));
  auto all = letters.list(0, 10, "");
  ASSERT_EQ(all["value"].size(), 3u) << all.dump();
  EXPECT_EQ(all["dropped"], 1);
  EXPECT_EQ(all["value"][0]["seq"], 2);
  EXPECT_EQ(all["value"][0]["twin"], "pump-2");
  EXPECT_EQ(all["value"][2]["raw"], "r4");
  EXPECT_EQ(letters.list(0, 10, "wrong_type")["value"].size(), 2u);
  EXPECT_EQ(letters.list(3, 10, "")["value"].size(), 1u);
  ASSERT_TRUE(letters.add("mqtt", "", {{"malformed_json", "m5", "r5"}}));
  EXPECT_EQ(letters.list(4, 10, "")["value"][0]["seq"], 5);  // numbers go on, never reused
}

TEST(DeadLettersBound, BytesHoldAndOneHugeLetterIsCut) {
  constexpr std::size_t max_bytes = 65536;
  dead_letters letters(1000, max_bytes);
  for (int k = 0; k < 40; ++k) {
    ASSERT_TRUE(letters.add("mqtt", "", {{"malformed_json", "m", std::string(5000, 'x')}}));
  }
  std::string metrics;
  letters.render_metrics(metrics);
  auto value = [&](const std::string& name) {
    auto at = metrics.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stoll(metrics.substr(at + name.size() + 2));
  };
  EXPECT_LE(value("doppel_ingest_dead_letters_kept_bytes"), static_cast<long long>(max_bytes)) << metrics;
  EXPECT_EQ(value("doppel_ingest_dead_letters_kept") + value("doppel_ingest_dead_letters_dropped_total"), 40);
  EXPECT_GT(value("doppel_ingest_dead_letters_dropped_total"), 0);
  auto kept = letters.list(0, 1000, "")["value"];
  EXPECT_EQ(kept.back()["seq"], 40);  // the newest stay
  ASSERT_TRUE(letters.add("mqtt", "", {{"malformed_json", "m", std::string(1 << 20, 'y')}}));
  std::string raw = letters.list(40, 10, "")["value"][0]["raw"];
  EXPECT_LT(raw.size(), max_bytes / 8 + 100);
  EXPECT_NE(raw.find("1048576 bytes"), std::string::npos);
}

}  // namespace
}  // namespace doppel::ingest
