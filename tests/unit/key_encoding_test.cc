// Tests of storage/key_encoding.h: each encoder with its decoder twin, and the promise that
// byte order (RocksDB's bytewise comparator) equals the order the keys stand for.
#include "storage/key_encoding.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "storage/report_id.h"

namespace safeguarding::storage {
namespace {

constexpr int64_t kMinMicros = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxMicros = std::numeric_limits<int64_t>::max();

std::string Encode32(uint32_t v) {
  std::string out;
  PutFixed32BE(&out, v);
  return out;
}

std::string Encode64(uint64_t v) {
  std::string out;
  PutFixed64BE(&out, v);
  return out;
}

std::string EncodeMicros(int64_t micros) { return Encode64(OrderedFromMicros(micros)); }

// An id whose 16 bytes are all `fill` except the last, which is `last`.
ReportId IdOf(char fill, char last) {
  std::string bytes(ReportId::kBytes, fill);
  bytes.back() = last;
  return *ReportId::FromBytes(bytes);
}

ReportId RandomId(std::mt19937_64& rng) {
  std::string bytes;
  PutFixed64BE(&bytes, rng());
  PutFixed64BE(&bytes, rng());
  return *ReportId::FromBytes(bytes);
}

// Values that sit on every byte boundary of a 64-bit word, plus the extremes.
std::vector<uint64_t> Interesting64() {
  std::vector<uint64_t> values = {0, 1, std::numeric_limits<uint64_t>::max()};
  for (int shift = 0; shift < 64; shift += 8) {
    const uint64_t bit = uint64_t{1} << shift;
    values.push_back(bit);
    values.push_back(bit - 1);
    values.push_back(bit + 1);
    values.push_back(~bit);
  }
  return values;
}

TEST(KeyEncodingTest, Fixed32IsBigEndian) {
  EXPECT_EQ(Encode32(0x01020304u), std::string("\x01\x02\x03\x04", 4));
  EXPECT_EQ(Encode32(0), std::string(4, '\0'));
}

TEST(KeyEncodingTest, Fixed64IsBigEndian) {
  EXPECT_EQ(Encode64(0x0102030405060708ull), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(Encode64(std::numeric_limits<uint64_t>::max()), std::string(8, '\xff'));
}

TEST(KeyEncodingTest, Fixed32RoundTripsAndConsumesFourBytes) {
  for (uint32_t v : {0u, 1u, 0x7fu, 0x80u, 0xffu, 0x100u, 0x12345678u, 0x80000000u, 0xffffffffu}) {
    std::string buf = Encode32(v);
    buf.append("tail");
    absl::string_view in(buf);
    std::optional<uint32_t> got = GetFixed32BE(&in);
    ASSERT_TRUE(got.has_value()) << v;
    EXPECT_EQ(*got, v);
    EXPECT_EQ(in, "tail");
  }
}

TEST(KeyEncodingTest, Fixed64RoundTripsAndConsumesEightBytes) {
  for (uint64_t v : Interesting64()) {
    std::string buf = Encode64(v);
    buf.append("tail");
    absl::string_view in(buf);
    std::optional<uint64_t> got = GetFixed64BE(&in);
    ASSERT_TRUE(got.has_value()) << v;
    EXPECT_EQ(*got, v);
    EXPECT_EQ(in, "tail");
  }
}

TEST(KeyEncodingTest, ConsecutiveFixedValuesDecodeInOrder) {
  std::string buf;
  PutFixed32BE(&buf, 7);
  PutFixed64BE(&buf, 0xdeadbeefcafef00dull);
  PutFixed32BE(&buf, 0xffffffffu);
  absl::string_view in(buf);
  EXPECT_EQ(GetFixed32BE(&in), 7u);
  EXPECT_EQ(GetFixed64BE(&in), 0xdeadbeefcafef00dull);
  EXPECT_EQ(GetFixed32BE(&in), 0xffffffffu);
  EXPECT_TRUE(in.empty());
}

TEST(KeyEncodingTest, Fixed32ReturnsNulloptOnShortInput) {
  for (size_t len = 0; len < 4; ++len) {
    std::string buf(len, '\x01');
    absl::string_view in(buf);
    EXPECT_FALSE(GetFixed32BE(&in).has_value()) << "length " << len;
  }
}

TEST(KeyEncodingTest, Fixed64ReturnsNulloptOnShortInput) {
  for (size_t len = 0; len < 8; ++len) {
    std::string buf(len, '\x01');
    absl::string_view in(buf);
    EXPECT_FALSE(GetFixed64BE(&in).has_value()) << "length " << len;
  }
}

TEST(KeyEncodingTest, Fixed32ByteOrderEqualsNumericOrder) {
  std::vector<uint32_t> values = {0,       1,          0xff,       0x100,      0xffff,
                                  0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff};
  std::mt19937 rng(32);
  for (int i = 0; i < 2000; ++i) values.push_back(static_cast<uint32_t>(rng()));
  for (uint32_t a : values) {
    for (uint32_t b : {values[0], values[3], values[7], values[9], values[a % values.size()]}) {
      EXPECT_EQ(a < b, Encode32(a) < Encode32(b)) << a << " vs " << b;
      EXPECT_EQ(a == b, Encode32(a) == Encode32(b)) << a << " vs " << b;
    }
  }
}

TEST(KeyEncodingTest, Fixed64ByteOrderEqualsNumericOrderForRandomPairs) {
  std::vector<uint64_t> values = Interesting64();
  std::mt19937_64 rng(64);
  for (int i = 0; i < 2000; ++i) {
    // Mix full-width values with small ones so pairs also differ only in low bytes.
    values.push_back(i % 2 == 0 ? rng() : rng() >> (rng() % 64));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t j : {i, (i * 7 + 1) % values.size(), (i * 13 + 5) % values.size()}) {
      const uint64_t a = values[i];
      const uint64_t b = values[j];
      EXPECT_EQ(a < b, Encode64(a) < Encode64(b)) << a << " vs " << b;
      EXPECT_EQ(a == b, Encode64(a) == Encode64(b)) << a << " vs " << b;
    }
  }
}

TEST(KeyEncodingTest, SortingEncoded64SortsNumerically) {
  std::vector<uint64_t> values = Interesting64();
  std::mt19937_64 rng(99);
  for (int i = 0; i < 1000; ++i) values.push_back(rng());
  std::vector<std::string> encoded;
  for (uint64_t v : values) encoded.push_back(Encode64(v));
  std::sort(values.begin(), values.end());
  std::sort(encoded.begin(), encoded.end());
  ASSERT_EQ(values.size(), encoded.size());
  for (size_t i = 0; i < values.size(); ++i) {
    absl::string_view in(encoded[i]);
    EXPECT_EQ(GetFixed64BE(&in), values[i]) << "position " << i;
  }
}

TEST(KeyEncodingTest, OrderedMicrosTableSortsSignedTimesInOrder) {
  // Strictly increasing signed microseconds, across the sign change.
  const std::vector<int64_t> ascending = {kMinMicros,
                                          kMinMicros + 1,
                                          -absl::ToUnixMicros(absl::FromUnixSeconds(86400)),
                                          -256,
                                          -255,
                                          -2,
                                          -1,
                                          0,
                                          1,
                                          255,
                                          256,
                                          1'700'000'000'000'000,
                                          kMaxMicros - 1,
                                          kMaxMicros};
  for (size_t i = 0; i + 1 < ascending.size(); ++i) {
    EXPECT_LT(EncodeMicros(ascending[i]), EncodeMicros(ascending[i + 1]))
        << ascending[i] << " should sort before " << ascending[i + 1];
  }
}

TEST(KeyEncodingTest, OrderedMicrosByteOrderEqualsSignedOrderForRandomPairs) {
  std::mt19937_64 rng(2024);
  std::vector<int64_t> values = {kMinMicros, -1, 0, 1, kMaxMicros};
  for (int i = 0; i < 3000; ++i) {
    const int64_t v = static_cast<int64_t>(rng() >> (rng() % 64));
    values.push_back(i % 2 == 0 ? v : -v);
  }
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t j : {size_t{0}, size_t{2}, size_t{4}, (i * 31 + 3) % values.size()}) {
      const int64_t a = values[i];
      const int64_t b = values[j];
      EXPECT_EQ(a < b, EncodeMicros(a) < EncodeMicros(b)) << a << " vs " << b;
    }
  }
}

TEST(KeyEncodingTest, OrderedMicrosRoundTrips) {
  for (int64_t v : {kMinMicros, kMinMicros + 1, int64_t{-1}, int64_t{0}, int64_t{1},
                    int64_t{1'700'000'000'123'456}, kMaxMicros - 1, kMaxMicros}) {
    EXPECT_EQ(MicrosFromOrdered(OrderedFromMicros(v)), v);
  }
}

TEST(KeyEncodingTest, EventKeyRoundTrips) {
  const ReportId id = ReportId::Generate(absl::FromUnixMicros(1'700'000'000'123'456));
  for (uint64_t seq : {uint64_t{0}, uint64_t{1}, uint64_t{256}, ~uint64_t{0}}) {
    std::optional<EventKeyParts> parts = ParseEventKey(EventKey(id, seq));
    ASSERT_TRUE(parts.has_value()) << seq;
    EXPECT_EQ(parts->id, id);
    EXPECT_EQ(parts->sequence, seq);
  }
}

TEST(KeyEncodingTest, EventKeysOfOneReportShareTheIdPrefixAndSortBySequence) {
  const ReportId id = IdOf('\x42', '\x07');
  const ReportId next = IdOf('\x42', '\x08');
  std::string previous;
  for (uint64_t seq : {uint64_t{1}, uint64_t{2}, uint64_t{255}, uint64_t{256}, uint64_t{1} << 40}) {
    const std::string key = EventKey(id, seq);
    EXPECT_TRUE(absl::StartsWith(key, id.bytes())) << seq;
    EXPECT_LT(previous, key) << seq;
    // Every event of `id` sorts before the first event of the next report.
    EXPECT_LT(key, EventKey(next, 0)) << seq;
    previous = key;
  }
}

TEST(KeyEncodingTest, MalformedEventKeysDoNotParse) {
  const std::string good = EventKey(IdOf('\x01', '\x02'), 9);
  EXPECT_FALSE(ParseEventKey("").has_value());
  EXPECT_FALSE(ParseEventKey(good.substr(0, ReportId::kBytes)).has_value());
  EXPECT_FALSE(ParseEventKey(good.substr(0, good.size() - 1)).has_value());
  EXPECT_FALSE(ParseEventKey(good + "x").has_value());
}

TEST(KeyEncodingTest, QueueKeyRoundTrips) {
  std::mt19937_64 rng(7);
  for (const std::string& queue : {std::string("child"), std::string("a"), std::string(""),
                                   std::string("with\0nul", 8), std::string(255, 'q')}) {
    for (uint8_t tier : {uint8_t{0}, uint8_t{1}, uint8_t{4}, uint8_t{255}}) {
      for (int64_t due :
           {kMinMicros, int64_t{-1}, int64_t{0}, int64_t{1'700'000'000'000'001}, kMaxMicros}) {
        const ReportId id = RandomId(rng);
        std::optional<QueueKeyParts> parts = ParseQueueKey(QueueKey(queue, tier, due, id));
        ASSERT_TRUE(parts.has_value()) << queue << " " << int{tier} << " " << due;
        EXPECT_EQ(parts->queue, queue);
        EXPECT_EQ(parts->tier, tier);
        EXPECT_EQ(parts->due_micros, due);
        EXPECT_EQ(parts->id, id);
      }
    }
  }
}

TEST(KeyEncodingTest, QueueKeyLowerTierSortsFirstEvenWhenDueLater) {
  const ReportId early_id = IdOf('\x00', '\x00');
  const ReportId late_id = IdOf('\xff', '\xff');
  EXPECT_LT(QueueKey("child", 1, kMaxMicros, late_id), QueueKey("child", 2, kMinMicros, early_id));
}

TEST(KeyEncodingTest, QueueKeyEarlierDueSortsFirstWithinATier) {
  const ReportId early_id = IdOf('\x00', '\x00');
  const ReportId late_id = IdOf('\xff', '\xff');
  EXPECT_LT(QueueKey("child", 3, -5, late_id), QueueKey("child", 3, 5, early_id));
  EXPECT_LT(QueueKey("child", 3, 1000, late_id), QueueKey("child", 3, 1001, early_id));
}

TEST(KeyEncodingTest, QueueKeyEarlierIdSortsFirstWithinTierAndDue) {
  EXPECT_LT(QueueKey("child", 3, 1000, IdOf('\x10', '\x01')),
            QueueKey("child", 3, 1000, IdOf('\x10', '\x02')));
}

TEST(KeyEncodingTest, QueueKeysSortByTierThenDueThenIdForRandomEntries) {
  struct Entry {
    uint8_t tier;
    int64_t due;
    ReportId id;
  };
  std::mt19937_64 rng(11);
  std::vector<Entry> entries;
  for (int i = 0; i < 500; ++i) {
    // Few distinct tiers and dues so that ties on the leading fields are common.
    const int64_t due = static_cast<int64_t>(rng() % 7) - 3;
    entries.push_back(
        {static_cast<uint8_t>(rng() % 4), due * 1'000'000'000'000 + (i % 3), RandomId(rng)});
  }
  std::vector<std::string> keys;
  for (const Entry& e : entries) keys.push_back(QueueKey("parent-carer", e.tier, e.due, e.id));
  std::sort(keys.begin(), keys.end());
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.tier, a.due, a.id) < std::tie(b.tier, b.due, b.id);
  });
  for (size_t i = 0; i < keys.size(); ++i) {
    std::optional<QueueKeyParts> parts = ParseQueueKey(keys[i]);
    ASSERT_TRUE(parts.has_value());
    EXPECT_EQ(parts->tier, entries[i].tier) << "position " << i;
    EXPECT_EQ(parts->due_micros, entries[i].due) << "position " << i;
    EXPECT_EQ(parts->id, entries[i].id) << "position " << i;
  }
}

TEST(KeyEncodingTest, QueueKeysStartWithTheirQueuePrefix) {
  const ReportId id = IdOf('\x33', '\x44');
  for (absl::string_view queue : {"a", "ab", "immediate", "child"}) {
    const std::string key = QueueKey(queue, 2, 12345, id);
    EXPECT_TRUE(absl::StartsWith(key, QueuePrefix(queue))) << queue;
  }
}

TEST(KeyEncodingTest, QueueWhoseNameExtendsAnotherDoesNotShareItsPrefix) {
  const ReportId id = IdOf('\x33', '\x44');
  EXPECT_FALSE(absl::StartsWith(QueueKey("ab", 0, 0, id), QueuePrefix("a")));
  EXPECT_FALSE(absl::StartsWith(QueueKey("a", 'b', 0, id), QueuePrefix("ab")));
}

TEST(KeyEncodingTest, QueueWhoseNameExtendsAnotherDoesNotInterleave) {
  // The extremes of every field: if any "a" key fell between two "ab" keys (or the other
  // way round), a prefix scan of one queue would see the other's entries.
  std::vector<std::string> a_keys;
  std::vector<std::string> ab_keys;
  for (uint8_t tier : {uint8_t{0}, uint8_t{'b'}, uint8_t{255}}) {
    for (int64_t due : {kMinMicros, int64_t{0}, kMaxMicros}) {
      for (const ReportId& id : {IdOf('\x00', '\x00'), IdOf('\xff', '\xff')}) {
        a_keys.push_back(QueueKey("a", tier, due, id));
        ab_keys.push_back(QueueKey("ab", tier, due, id));
      }
    }
  }
  const auto [a_min, a_max] = std::minmax_element(a_keys.begin(), a_keys.end());
  const auto [ab_min, ab_max] = std::minmax_element(ab_keys.begin(), ab_keys.end());
  EXPECT_TRUE(*a_max < *ab_min || *ab_max < *a_min);
}

TEST(KeyEncodingTest, MalformedQueueKeysDoNotParse) {
  const std::string good = QueueKey("child", 3, 42, IdOf('\x05', '\x06'));
  ASSERT_TRUE(ParseQueueKey(good).has_value());
  EXPECT_FALSE(ParseQueueKey("").has_value());
  EXPECT_FALSE(ParseQueueKey(good.substr(0, good.size() - 1)).has_value());
  EXPECT_FALSE(ParseQueueKey(good + "x").has_value());
  // Only the length byte and part of the name.
  EXPECT_FALSE(ParseQueueKey(good.substr(0, 3)).has_value());
  // Name and tier but no due time or id.
  EXPECT_FALSE(ParseQueueKey(QueuePrefix("child") + "\x03").has_value());
  // A length byte that claims more name than there is.
  std::string too_long = good;
  too_long[0] = static_cast<char>(250);
  EXPECT_FALSE(ParseQueueKey(too_long).has_value());
}

TEST(KeyEncodingTest, RequestKeyDiffersByCallerScope) {
  EXPECT_NE(RequestKey("front-end-a", "req-1"), RequestKey("front-end-b", "req-1"));
}

TEST(KeyEncodingTest, RequestKeyDiffersByRequestId) {
  EXPECT_NE(RequestKey("front-end-a", "req-1"), RequestKey("front-end-a", "req-2"));
}

TEST(KeyEncodingTest, RequestKeyIsStableForTheSameScopeAndId) {
  EXPECT_EQ(RequestKey("front-end-a", "req-1"), RequestKey(std::string("front-end-a"), "req-1"));
}

TEST(KeyEncodingTest, RequestKeyScopeBoundaryIsUnambiguous) {
  EXPECT_NE(RequestKey("ab", "c"), RequestKey("a", "bc"));
  EXPECT_NE(RequestKey("", "abc"), RequestKey("abc", ""));
}

}  // namespace
}  // namespace safeguarding::storage
