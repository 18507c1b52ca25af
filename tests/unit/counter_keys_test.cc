// Tests of storage/counter_keys.h: round trips, byte order as day order within a group (days
// before 1970 included), one group's keys under its prefix, limits and malformed keys.
#include "storage/counter_keys.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"

namespace safeguarding::storage {
namespace {

TEST(CounterKeysTest, RoundTrip) {
  const std::vector<GroupPart> group = {{1, "2"}, {5, "North West"}};
  for (int32_t day : {0, 1, 20535, -1, -40000, 2000000}) {
    std::optional<std::string> key = CounterKey(3, group, day);
    ASSERT_TRUE(key.has_value());
    std::optional<CounterKeyParts> parts = ParseCounterKey(*key);
    ASSERT_TRUE(parts.has_value()) << day;
    EXPECT_EQ(parts->series, 3);
    EXPECT_EQ(parts->group, group);
    EXPECT_EQ(parts->day, day);
  }
  std::optional<CounterKeyParts> all = ParseCounterKey(*CounterKey(1, {}, 7));
  ASSERT_TRUE(all.has_value());
  EXPECT_TRUE(all->group.empty());
}

TEST(CounterKeysTest, DaysOfOneGroupSortInDayOrderUnderTheGroupsPrefix) {
  const std::vector<GroupPart> group = {{1, "3"}};
  const std::string prefix = *CounterGroupPrefix(1, group);
  std::string previous;
  for (int32_t day = -3; day <= 3; ++day) {
    const std::string key = *CounterKey(1, group, day);
    EXPECT_TRUE(absl::StartsWith(key, prefix));
    if (!previous.empty()) {
      EXPECT_LT(previous, key) << day;
    }
    previous = key;
  }
  // Another value of the dimension, or another series, is not under the prefix.
  EXPECT_FALSE(absl::StartsWith(*CounterKey(1, {{1, "30"}}, 0), prefix));
  EXPECT_FALSE(absl::StartsWith(*CounterKey(2, group, 0), prefix));
  EXPECT_FALSE(absl::StartsWith(*CounterKey(1, {{1, "3"}, {4, "1"}}, 0), prefix))
      << "a pair is not the single-dimension group";
}

TEST(CounterKeysTest, LimitsAndMalformedKeys) {
  EXPECT_FALSE(CounterKey(1, {{5, std::string(256, 'x')}}, 0).has_value());
  EXPECT_TRUE(CounterKey(1, {{5, std::string(255, 'x')}}, 0).has_value());
  const std::string key = *CounterKey(1, {{5, "abc"}}, 9);
  EXPECT_FALSE(ParseCounterKey(key.substr(0, key.size() - 1)).has_value());
  EXPECT_FALSE(ParseCounterKey(key + "x").has_value());
  EXPECT_FALSE(ParseCounterKey("").has_value());
  std::string wrong_length = key;
  wrong_length[3] = 100;  // the value says it is 100 bytes long
  EXPECT_FALSE(ParseCounterKey(wrong_length).has_value());
}

TEST(CounterKeysTest, KeysFromEncodedPartsAreTheKeysOfTheGroup) {
  const GroupPart type{1, "3"}, region{6, "Thames Valley"};
  const std::string a = *EncodeGroupPart(type), b = *EncodeGroupPart(region);
  auto key_of = [](uint8_t series, std::initializer_list<absl::string_view> parts, int32_t day) {
    std::string key = "kept";  // appended to, not replaced
    AppendKeyOfParts(&key, series, parts, day);
    EXPECT_EQ(key.substr(0, 4), "kept");
    return key.substr(4);
  };
  for (int32_t day : {-400, 0, 20514}) {
    EXPECT_EQ(key_of(1, {}, day), *CounterKey(1, {}, day));
    EXPECT_EQ(key_of(2, {b}, day), *CounterKey(2, {region}, day));
    EXPECT_EQ(key_of(1, {a, b}, day), *CounterKey(1, {type, region}, day));
    EXPECT_EQ(CounterKeyDay(key_of(1, {a, b}, day)), day);
  }
  EXPECT_FALSE(EncodeGroupPart({1, std::string(256, 'x')}).has_value());
  EXPECT_TRUE(EncodeGroupPart({1, std::string(255, 'x')}).has_value());
  std::string out = "x";
  EXPECT_FALSE(AppendGroupPart(&out, 1, std::string(256, 'x')));
  EXPECT_EQ(out, "x");  // nothing appended
  EXPECT_TRUE(AppendGroupPart(&out, type.first, type.second));
  EXPECT_EQ(out, "x" + a);
}

}  // namespace
}  // namespace safeguarding::storage
