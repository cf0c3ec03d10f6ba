#include "store/timeseries/chunk.h"

#include <gtest/gtest.h>
#include <xxhash.h>
#include <zstd.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <limits>
#include <random>
#include <tuple>

namespace doppel::ts {
namespace {

constexpr std::int64_t second = 1'000'000'000;
constexpr std::int64_t start = 1'764'064'800LL * second;  // 2025-11-25T10:00:00Z

column_batch f64_batch(std::vector<std::int64_t> t, std::vector<double> v) {
  column_batch b;
  b.type = value_type::f64;
  b.t = std::move(t);
  b.f = std::move(v);
  return b;
}

std::vector<std::int64_t> regular(std::size_t n, std::int64_t step = second, std::int64_t from = start) {
  std::vector<std::int64_t> t(n);
  // Unsigned: k * step may leave int64 although from + k * step does not.
  for (std::size_t k = 0; k < n; ++k) {
    t[k] = static_cast<std::int64_t>(static_cast<std::uint64_t>(from) + k * static_cast<std::uint64_t>(step));
  }
  return t;
}

std::string encode_or_die(const column_batch& in) {
  std::string out;
  status s = encode_chunk(in, out);
  EXPECT_TRUE(s) << s.to_string();
  return out;
}

// Decodes and compares bit for bit (NaN payloads and the sign of zero included).
void expect_round_trip(const column_batch& in, std::string* encoded = nullptr) {
  std::string bytes = encode_or_die(in);
  if (encoded) *encoded = bytes;
  auto h = read_chunk_header(bytes);
  ASSERT_TRUE(h) << h.error().to_string();
  EXPECT_EQ(h->type, in.type);
  EXPECT_EQ(h->count, in.size());
  EXPECT_EQ(h->first_time, in.t.front());
  EXPECT_EQ(h->last_time, in.t.back());
  column_batch out;
  out.f = {1.0};  // stale contents must go
  out.s = {"stale"};
  status s = decode_chunk(bytes, out);
  ASSERT_TRUE(s) << s.to_string();
  ASSERT_EQ(out.type, in.type);
  ASSERT_EQ(out.t, in.t);
  switch (in.type) {
    case value_type::f64:
      ASSERT_EQ(out.f.size(), in.f.size());
      for (std::size_t k = 0; k < in.f.size(); ++k) {
        ASSERT_EQ(std::bit_cast<std::uint64_t>(out.f[k]), std::bit_cast<std::uint64_t>(in.f[k])) << "at " << k;
      }
      break;
    case value_type::i64: ASSERT_EQ(out.i, in.i); break;
    case value_type::boolean: ASSERT_EQ(out.b, in.b); break;
    case value_type::string: ASSERT_EQ(out.s, in.s); break;
  }
  if (in.type != value_type::f64) {
    EXPECT_TRUE(out.f.empty());
  }
  if (in.type != value_type::string) {
    EXPECT_TRUE(out.s.empty());
  }
}

// Puts a fresh checksum on a chunk whose bytes a test changed on purpose, so the decoder has to
// find what is wrong in the body itself.
void reseal(std::string& bytes) {
  std::uint64_t sum = XXH3_64bits(bytes.data(), bytes.size() - 8);
  for (unsigned k = 0; k < 8; ++k) bytes[bytes.size() - 8 + k] = static_cast<char>(sum >> (8 * k));
}

// A temperature-like reading at 1 Hz: slow drift plus sensor noise, reported with 2 decimals
// the way a device prints it (the double nearest the decimal text).
std::vector<double> sensor_series(std::size_t n, int decimals, double noise, unsigned seed = 7) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> jitter(0, noise);
  std::vector<double> v(n);
  double scale = std::pow(10.0, decimals);
  for (std::size_t k = 0; k < n; ++k) {
    double x = 20 + 2 * std::sin(static_cast<double>(k) / 600) + jitter(rng);
    v[k] = std::round(x * scale) / scale;
  }
  return v;
}

TEST(ChunkCodec, RoundTripsOnePointOfEachType) {
  for (std::int64_t t : {std::int64_t{0}, start, std::numeric_limits<std::int64_t>::min(),
                         std::numeric_limits<std::int64_t>::max(), std::int64_t{-1}}) {
    expect_round_trip(f64_batch({t}, {3.25}));
    column_batch i;
    i.type = value_type::i64;
    i.t = {t};
    i.i = {std::numeric_limits<std::int64_t>::min()};
    expect_round_trip(i);
    column_batch b;
    b.type = value_type::boolean;
    b.t = {t};
    b.b = {1};
    expect_round_trip(b);
    column_batch s;
    s.type = value_type::string;
    s.t = {t};
    s.s = {""};
    expect_round_trip(s);
  }
}

TEST(ChunkCodec, RoundTripsSpecialDoublesBitExactly) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> v = {0.0,
                           -0.0,
                           std::numeric_limits<double>::quiet_NaN(),
                           -std::numeric_limits<double>::quiet_NaN(),
                           std::bit_cast<double>(std::uint64_t{0x7ff0000000000001}),  // signalling NaN
                           std::bit_cast<double>(std::uint64_t{0x7ff8dead0000beef}),  // NaN with a payload
                           inf,
                           -inf,
                           std::numeric_limits<double>::denorm_min(),
                           -std::numeric_limits<double>::denorm_min(),
                           std::numeric_limits<double>::min(),
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::lowest(),
                           1.0,
                           1.0,
                           -0.0,
                           0.1,
                           0.30000000000000004};
  expect_round_trip(f64_batch(regular(v.size()), v));
  // Decimals with one value that is not: -0.0 must keep its sign, so the chunk falls back to XOR.
  std::vector<double> d = {0.5, 0.25, -0.0, 1.75};
  expect_round_trip(f64_batch(regular(d.size()), d));
  std::vector<double> nan_only(100, std::numeric_limits<double>::quiet_NaN());
  expect_round_trip(f64_batch(regular(nan_only.size()), nan_only));
}

TEST(ChunkCodec, RoundTripsDecimalsOfEveryScale) {
  std::mt19937_64 rng(3);
  for (int decimals = 0; decimals <= 17; ++decimals) {
    std::vector<double> v(500);
    double scale = std::pow(10.0, decimals);
    for (auto& x : v) x = std::round(std::uniform_real_distribution<double>(-1e3, 1e3)(rng) * scale) / scale;
    expect_round_trip(f64_batch(regular(v.size()), v));
  }
  // Integral doubles at the edge of exactness, and beyond it.
  std::vector<double> big = {9007199254740992.0, -9007199254740992.0, 9007199254740991.0, 1e300, 4503599627370496.5};
  expect_round_trip(f64_batch(regular(big.size()), big));
}

TEST(ChunkCodec, RoundTripsRandomFloats) {
  std::mt19937_64 rng(11);
  std::vector<double> v(5000);
  for (auto& x : v) x = std::bit_cast<double>(rng());
  expect_round_trip(f64_batch(regular(v.size()), v));
  for (auto& x : v) x = std::uniform_real_distribution<double>(-1, 1)(rng);
  expect_round_trip(f64_batch(regular(v.size()), v));
}

TEST(ChunkCodec, RoundTripsExtremeAndIrregularTimestamps) {
  const std::int64_t lo = std::numeric_limits<std::int64_t>::min(), hi = std::numeric_limits<std::int64_t>::max();
  expect_round_trip(f64_batch({lo, hi}, {1, 2}));
  expect_round_trip(f64_batch({lo, lo + 1, -1, 0, 1, hi - 1, hi}, {1, 2, 3, 4, 5, 6, 7}));
  expect_round_trip(f64_batch({-5 * second, -4 * second, -3 * second, 0}, {1, 2, 3, 4}));

  std::mt19937_64 rng(5);
  std::vector<std::int64_t> t;
  std::int64_t now = -1'000'000 * second;
  for (int k = 0; k < 5000; ++k) {
    switch (rng() % 4) {
      case 0: now += 1; break;                                                       // 1 ns
      case 1: now += second + static_cast<std::int64_t>(rng() % 20'000'000); break;  // jitter
      case 2: now += static_cast<std::int64_t>(rng() % (1LL << 40)) + 1; break;
      default: now += second; break;
    }
    t.push_back(now);
  }
  expect_round_trip(f64_batch(t, std::vector<double>(t.size(), 1.5)));
  // Millisecond stamps with jitter, and gaps that all share a power of ten.
  t.clear();
  for (int k = 0; k < 1000; ++k) t.push_back(start + k * second + static_cast<std::int64_t>(rng() % 40) * 1'000'000);
  expect_round_trip(f64_batch(t, std::vector<double>(t.size(), 1.5)));
  expect_round_trip(f64_batch(regular(19, 1'000'000'000'000'000'000LL, lo), std::vector<double>(19, 2.0)));
}

TEST(ChunkCodec, RoundTripsIntegers) {
  const std::int64_t lo = std::numeric_limits<std::int64_t>::min(), hi = std::numeric_limits<std::int64_t>::max();
  column_batch b;
  b.type = value_type::i64;
  b.i = {lo, hi, lo, hi, 0, -1, 1, lo, lo, hi, hi, 0};
  b.t = regular(b.i.size());
  expect_round_trip(b);

  std::mt19937_64 rng(9);
  b.i.clear();
  for (int k = 0; k < 3000; ++k) b.i.push_back(static_cast<std::int64_t>(rng()));
  b.t = regular(b.i.size());
  expect_round_trip(b);

  b.i.clear();  // a counter: delta-of-delta territory
  for (std::int64_t k = 0; k < 3000; ++k) b.i.push_back(1'000'000 + 250 * k + (k % 100 == 0 ? 1 : 0));
  expect_round_trip(b);

  b.i.assign(3000, 42);
  expect_round_trip(b);
  b.i.assign(3000, lo);
  expect_round_trip(b);
  b.i = {7, 7};
  b.t = regular(2);
  expect_round_trip(b);
}

TEST(ChunkCodec, RoundTripsBooleans) {
  column_batch b;
  b.type = value_type::boolean;
  for (int k = 0; k < 1000; ++k) b.b.push_back(static_cast<std::uint8_t>(k % 2));
  b.t = regular(b.b.size());
  expect_round_trip(b);
  b.b.assign(100'000, 1);  // one long run
  b.t = regular(b.b.size());
  expect_round_trip(b);
  std::mt19937_64 rng(1);
  for (auto& x : b.b) x = static_cast<std::uint8_t>(rng() % 7 == 0);
  expect_round_trip(b);
}

TEST(ChunkCodec, RoundTripsStrings) {
  column_batch b;
  b.type = value_type::string;
  b.s = {"", "", "auto", "", "manual", "manual", std::string("nul\0inside", 10), "auto", std::string(5000, 'x'), ""};
  b.t = regular(b.s.size());
  expect_round_trip(b);

  b.s.clear();  // every value distinct
  for (int k = 0; k < 5000; ++k) b.s.push_back("event " + std::to_string(k * 7919 % 5003));
  b.t = regular(b.s.size());
  expect_round_trip(b);

  b.s.assign(50'000, "running");  // one long run
  b.t = regular(b.s.size());
  expect_round_trip(b);

  b.s.assign(1, "");
  b.t = regular(1);
  expect_round_trip(b);
}

TEST(ChunkCodec, RoundTripsTheLargestChunk) {
  column_batch b = f64_batch(regular(max_chunk_points, 1), sensor_series(max_chunk_points, 3, 0.02));
  expect_round_trip(b);
}

TEST(ChunkCodec, RefusesWhatItCannotEncode) {
  std::string out = "old";
  column_batch b = f64_batch({}, {});
  EXPECT_FALSE(encode_chunk(b, out));
  EXPECT_TRUE(out.empty());

  b = f64_batch({1, 2, 2}, {1, 2, 3});
  status s = encode_chunk(b, out);
  EXPECT_EQ(s.code(), status_code::invalid_argument);
  EXPECT_NE(s.message().find("strictly increasing: point 2"), std::string::npos) << s.message();
  EXPECT_FALSE(encode_chunk(f64_batch({3, 2}, {1, 2}), out));
  EXPECT_FALSE(encode_chunk(f64_batch({std::numeric_limits<std::int64_t>::max(), 0}, {1, 2}), out));
  EXPECT_FALSE(encode_chunk(f64_batch({1, 2}, {1}), out));  // columns of different lengths

  b = f64_batch(regular(3), {});
  b.type = value_type::i64;
  b.i = {1, 2};
  EXPECT_FALSE(encode_chunk(b, out));

  b = f64_batch(regular(2), {});
  b.type = value_type::boolean;
  b.b = {1, 2};
  s = encode_chunk(b, out);
  EXPECT_NE(s.message().find("neither 0 nor 1"), std::string::npos) << s.message();

  b.type = static_cast<value_type>(9);
  EXPECT_FALSE(encode_chunk(b, out));

  b = f64_batch(regular(max_chunk_points + 1, 1), std::vector<double>(max_chunk_points + 1));
  s = encode_chunk(b, out);
  EXPECT_NE(s.message().find("at most"), std::string::npos) << s.message();

  b = f64_batch(regular(65), {});
  b.type = value_type::string;
  b.s.assign(65, std::string(1 << 20, 'x'));
  s = encode_chunk(b, out);
  EXPECT_NE(s.message().find("64 MiB"), std::string::npos) << s.message();
}

// Chunks of each type to corrupt.
std::vector<std::string> sample_chunks() {
  std::vector<std::string> chunks;
  chunks.push_back(encode_or_die(f64_batch(regular(40), sensor_series(40, 2, 0.05))));
  chunks.push_back(encode_or_die(f64_batch({1, 5, 7, 100, 101}, {0.1, -0.0, 1e300, 3.0, 2.5})));
  column_batch i;
  i.type = value_type::i64;
  i.t = regular(40);
  for (int k = 0; k < 40; ++k) i.i.push_back(k * k - 300);
  chunks.push_back(encode_or_die(i));
  column_batch b;
  b.type = value_type::boolean;
  b.t = regular(40);
  for (int k = 0; k < 40; ++k) b.b.push_back(static_cast<std::uint8_t>(k / 3 % 2));
  chunks.push_back(encode_or_die(b));
  column_batch s;
  s.type = value_type::string;
  s.t = regular(40);
  for (int k = 0; k < 40; ++k) s.s.push_back(k % 5 == 0 ? "alarm" : "ok");
  chunks.push_back(encode_or_die(s));
  // Long enough that zstd wins: a compressed body.
  s.s.assign(2000, "the same long state text, repeated");
  for (int k = 0; k < 2000; k += 3) s.s[static_cast<std::size_t>(k)] = "other";
  s.t = regular(2000);
  chunks.push_back(encode_or_die(s));
  return chunks;
}

TEST(ChunkCodec, EveryBitFlipAndTruncationIsAnError) {
  bool saw_compressed = false;
  for (const std::string& good : sample_chunks()) {
    auto h = read_chunk_header(good);
    ASSERT_TRUE(h);
    saw_compressed |= h->compressed;
    column_batch out;
    for (std::size_t at = 0; at < good.size(); ++at) {
      for (unsigned bit = 0; bit < 8; ++bit) {
        std::string bad = good;
        bad[at] = static_cast<char>(bad[at] ^ (1 << bit));
        EXPECT_FALSE(read_chunk_header(bad)) << "flip of bit " << bit << " of byte " << at;
        status s = decode_chunk(bad, out);
        ASSERT_FALSE(s) << "flip of bit " << bit << " of byte " << at;
        EXPECT_EQ(s.code(), status_code::invalid_argument);
        EXPECT_TRUE(out.t.empty());
      }
    }
    for (std::size_t len = 0; len < good.size(); ++len) {
      status s = decode_chunk(std::string_view(good).substr(0, len), out);
      ASSERT_FALSE(s) << "truncated to " << len;
    }
    EXPECT_FALSE(decode_chunk(good + '\0', out));
  }
  EXPECT_TRUE(saw_compressed);
}

TEST(ChunkCodec, ErrorsSayWhatIsWrong) {
  std::string good = encode_or_die(f64_batch(regular(40), sensor_series(40, 2, 0.05)));
  column_batch out;
  auto message = [&](std::string_view bytes) { return decode_chunk(bytes, out).message(); };
  EXPECT_NE(message(good.substr(0, 10)).find("truncated to 10 bytes"), std::string::npos);
  EXPECT_NE(message(good.substr(0, good.size() - 1)).find("truncated"), std::string::npos);
  std::string bad = good;
  bad[40] ^= 1;
  EXPECT_NE(message(bad).find("checksum mismatch"), std::string::npos) << message(bad);
  bad = good;
  bad[0] = 'X';
  EXPECT_NE(message(bad).find("magic"), std::string::npos);
  bad = good;
  bad[4] = 2;
  EXPECT_NE(message(bad).find("format version 2"), std::string::npos);
  // With the checksum made right again, the decoder's own checks speak.
  bad = good;
  bad[8] = 0;  // count 0
  bad[9] = 0;
  reseal(bad);
  EXPECT_NE(message(bad).find("point count 0"), std::string::npos) << message(bad);
  bad = good;
  bad[8] = static_cast<char>(bad[8] + 1);  // one point more than the body holds
  reseal(bad);
  EXPECT_NE(message(bad).find("corrupt"), std::string::npos) << message(bad);
  bad = good;
  bad[20] = static_cast<char>(bad[20] + 1);  // last time off by one
  reseal(bad);
  EXPECT_NE(message(bad).find("last time"), std::string::npos) << message(bad);
}

// A valid checksum over a damaged body (a bug upstream, or a forged chunk): whatever the
// decoder makes of it, it must stay inside the input and, when it succeeds, return a batch
// that meets the encoder's contract.
TEST(ChunkCodec, SurvivesDamagedBodiesWithValidChecksums) {
  std::size_t accepted = 0, refused = 0;
  for (const std::string& good : sample_chunks()) {
    for (std::size_t at = chunk_header_bytes; at + 8 < good.size(); ++at) {
      for (unsigned bit = 0; bit < 8; ++bit) {
        std::string bad = good;
        bad[at] = static_cast<char>(bad[at] ^ (1 << bit));
        reseal(bad);
        column_batch out;
        if (!decode_chunk(bad, out)) {
          ++refused;
          continue;
        }
        ++accepted;
        std::string again;
        ASSERT_TRUE(encode_chunk(out, again)) << "decoded a batch the encoder refuses";
      }
    }
  }
  std::cout << "damaged bodies with valid checksums: " << refused << " refused, " << accepted
            << " decoded to other valid points\n";
  EXPECT_GT(refused, 0u);
}

// The raw body of a chunk (decompressed when zstd won), to check the encoder's choices against
// the format chunk.h documents.
std::string raw_body(const std::string& chunk) {
  auto h = read_chunk_header(chunk);
  EXPECT_TRUE(h);
  if (!h) return {};
  std::string body = chunk.substr(chunk_header_bytes, h->body_bytes);
  if (!h->compressed) return body;
  std::string raw(h->raw_body_bytes, '\0');
  std::size_t z = ZSTD_decompress(raw.data(), raw.size(), body.data(), body.size());
  EXPECT_EQ(z, raw.size());
  return raw;
}

TEST(ChunkFormat, PicksTheCheapestForms) {
  // 33 regular points: the line form, whose one block of zeros fills the second byte of the body,
  // so the value encoding is the body's fourth byte.
  auto forms = [](const column_batch& b) {
    std::string bytes;
    expect_round_trip(b, &bytes);
    std::string body = raw_body(bytes);
    return std::tuple<int, int, int>(body.at(0), body.at(1), body.at(3));
  };
  std::vector<double> decimals = sensor_series(33, 2, 0.05);
  EXPECT_EQ(forms(f64_batch(regular(33), decimals)), std::make_tuple(9, 2, 1));  // seconds; line; delta
  std::vector<double> random(33);
  std::mt19937_64 rng(8);
  for (auto& x : random) x = std::uniform_real_distribution<double>(0, 1)(rng);
  EXPECT_EQ(forms(f64_batch(regular(33, 1'000'003), random)), std::make_tuple(0, 2, 0));  // ns; line; xor
  column_batch counter;
  counter.type = value_type::i64;
  counter.t = regular(33);
  for (std::int64_t k = 0; k < 33; ++k) counter.i.push_back(5000 + 1000 * k);
  EXPECT_EQ(std::get<2>(forms(counter)), 2);  // delta-of-delta
  for (std::int64_t k = 0; k < 33; ++k) counter.i[static_cast<std::size_t>(k)] = 5000 + (k * 7919) % 13;
  EXPECT_EQ(std::get<2>(forms(counter)), 1);  // delta

  // Mostly regular with rare big gaps: Gorilla's delta-of-delta.
  std::vector<std::int64_t> t = regular(3000);
  for (std::size_t k = 1000; k < t.size(); ++k) t[k] += 3600 * second;
  EXPECT_EQ(std::get<1>(forms(f64_batch(t, std::vector<double>(t.size(), 1.0)))), 0);
  // Jitter around a clock that misses one sample: offsets from the mean gap.
  t.clear();
  for (std::int64_t k = 0; k < 3000; ++k) {
    t.push_back(start + (k < 1500 ? k : k + 1) * second + static_cast<std::int64_t>(rng() % 21) * 1'000'000);
  }
  EXPECT_EQ(std::get<1>(forms(f64_batch(t, std::vector<double>(t.size(), 1.0)))), 1);
  // The same jitter without the miss: the line.
  for (std::size_t k = 1500; k < t.size(); ++k) t[k] -= second;
  EXPECT_EQ(std::get<1>(forms(f64_batch(t, std::vector<double>(t.size(), 1.0)))), 2);
}

double bytes_per_point(const column_batch& b, const char* name) {
  std::string bytes = encode_or_die(b);
  double bpp = static_cast<double>(bytes.size()) / static_cast<double>(b.size());
  auto h = read_chunk_header(bytes);
  std::cout << "  " << name << ": " << bytes.size() << " bytes for " << b.size() << " points = " << bpp
            << " bytes/point" << (h && h->compressed ? " (zstd)" : "") << "\n";
  ::testing::Test::RecordProperty(name, std::to_string(bpp));
  column_batch out;
  EXPECT_TRUE(decode_chunk(bytes, out));
  return bpp;
}

TEST(ChunkCodec, CompressesRealisticSeries) {
  const std::size_t n = 3600;  // an hour at 1 Hz
  std::cout << "chunk sizes, 3600 points at 1 Hz (timestamps included):\n";
  EXPECT_LT(bytes_per_point(f64_batch(regular(n), sensor_series(n, 2, 0.05)), "f64 sensor, 2 decimals, noise 0.05"),
            0.9);
  EXPECT_LT(bytes_per_point(f64_batch(regular(n), sensor_series(n, 2, 0.01)), "f64 sensor, 2 decimals, noise 0.01"),
            0.7);
  EXPECT_LT(bytes_per_point(f64_batch(regular(n), sensor_series(n, 1, 0.05)), "f64 sensor, 1 decimal, noise 0.05"),
            0.5);
  EXPECT_LT(bytes_per_point(f64_batch(regular(n), sensor_series(n, 3, 0.002)), "f64 pressure, 3 decimals"), 0.8);
  EXPECT_LT(bytes_per_point(f64_batch(regular(n), std::vector<double>(n, 21.5)), "f64 constant"), 0.05);

  // The same sensor stamped by a gateway to the millisecond, with up to 20 ms of jitter.
  std::mt19937_64 rng(2);
  std::vector<std::int64_t> jittered(n);
  for (std::size_t k = 0; k < n; ++k) {
    jittered[k] = start + static_cast<std::int64_t>(k) * second + static_cast<std::int64_t>(rng() % 21) * 1'000'000;
  }
  EXPECT_LT(bytes_per_point(f64_batch(jittered, sensor_series(n, 2, 0.05)), "f64 sensor, ms timestamps with jitter"),
            1.45);

  column_batch steps;  // a setpoint that moves every ten minutes
  steps.type = value_type::i64;
  steps.t = regular(n);
  for (std::size_t k = 0; k < n; ++k) steps.i.push_back(1450 + static_cast<std::int64_t>(k / 600) * 25);
  EXPECT_LT(bytes_per_point(steps, "i64 stepping setpoint"), 0.2);
  column_batch counter;  // an energy counter
  counter.type = value_type::i64;
  counter.t = regular(n);
  for (std::size_t k = 0; k < n; ++k) counter.i.push_back(982'331 + static_cast<std::int64_t>(k) * 3 + (k % 7 == 0));
  EXPECT_LT(bytes_per_point(counter, "i64 counter"), 0.5);

  column_batch running;  // a pump that cycles a few times an hour
  running.type = value_type::boolean;
  running.t = regular(n);
  for (std::size_t k = 0; k < n; ++k) running.b.push_back(static_cast<std::uint8_t>((k / 450) % 2));
  EXPECT_LT(bytes_per_point(running, "boolean cycling"), 0.2);

  column_batch mode;
  mode.type = value_type::string;
  mode.t = regular(n);
  for (std::size_t k = 0; k < n; ++k) mode.s.push_back(k < 1200 ? "auto" : k < 1500 ? "manual" : "auto");
  EXPECT_LT(bytes_per_point(mode, "string mode"), 0.2);

  std::vector<double> random(n);
  for (auto& x : random) x = std::uniform_real_distribution<double>(0, 100)(rng);
  EXPECT_LT(bytes_per_point(f64_batch(regular(n), random), "f64 random (worst case)"), 8.3);
  std::vector<double> unquantized = sensor_series(n, 2, 0.05);
  for (auto& x : unquantized) x += std::uniform_real_distribution<double>(-1e-3, 1e-3)(rng);
  EXPECT_LT(bytes_per_point(f64_batch(regular(n), unquantized), "f64 sensor, full precision"), 8.3);
}

// Not a benchmark (the machine is shared); prints the order of magnitude.
TEST(ChunkCodec, PrintsSpeed) {
  using clock = std::chrono::steady_clock;
  const std::size_t n = 3600, rounds = 300;
  std::mt19937_64 rng(4);
  std::vector<double> random(n);
  for (auto& x : random) x = std::uniform_real_distribution<double>(0, 100)(rng);
  std::vector<double> unquantized = sensor_series(n, 2, 0.05);
  for (auto& x : unquantized) x += std::uniform_real_distribution<double>(-1e-3, 1e-3)(rng);
  std::pair<const char*, column_batch> cases[] = {
      {"f64 sensor, 2 decimals", f64_batch(regular(n), sensor_series(n, 2, 0.05))},
      {"f64 sensor, full precision", f64_batch(regular(n), unquantized)},
      {"f64 random", f64_batch(regular(n), random)},
  };
  for (auto& [name, b] : cases) {
    std::string bytes;
    column_batch out;
    auto t0 = clock::now();
    for (std::size_t r = 0; r < rounds; ++r) ASSERT_TRUE(encode_chunk(b, bytes));
    auto t1 = clock::now();
    for (std::size_t r = 0; r < rounds; ++r) ASSERT_TRUE(decode_chunk(bytes, out));
    auto t2 = clock::now();
    double points = static_cast<double>(n * rounds);
    std::cout << "  " << name << ": encode " << points / std::chrono::duration<double>(t1 - t0).count() / 1e6
              << " M points/s, decode " << points / std::chrono::duration<double>(t2 - t1).count() / 1e6
              << " M points/s\n";
  }
}

}  // namespace
}  // namespace doppel::ts
