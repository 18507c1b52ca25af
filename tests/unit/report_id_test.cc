// Tests of storage/report_id.h: the text form, its parser, time order and uniqueness.
#include "storage/report_id.h"

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace safeguarding::storage {
namespace {

// The digits Crockford base32 uses, in ascending value.
constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

absl::Time SampleTime() {
  return absl::FromCivil(absl::CivilSecond(2024, 3, 5, 14, 30, 0), absl::UTCTimeZone()) +
         absl::Microseconds(123456);
}

ReportId IdFromBytes(const std::string& bytes) { return *ReportId::FromBytes(bytes); }

TEST(ReportIdTest, ToStringIs26CharactersOfTheAlphabet) {
  for (int i = 0; i < 100; ++i) {
    const std::string text = ReportId::Generate(SampleTime() + absl::Seconds(i)).ToString();
    ASSERT_EQ(text.size(), 26u) << text;
    EXPECT_EQ(text.find_first_not_of(kAlphabet), std::string::npos) << text;
  }
}

TEST(ReportIdTest, ParseOfToStringRoundTripsGeneratedIds) {
  for (int i = 0; i < 1000; ++i) {
    const ReportId id = ReportId::Generate(SampleTime() + absl::Milliseconds(i));
    std::optional<ReportId> parsed = ReportId::Parse(id.ToString());
    ASSERT_TRUE(parsed.has_value()) << id.ToString();
    EXPECT_EQ(*parsed, id) << id.ToString();
  }
}

TEST(ReportIdTest, ParseOfToStringRoundTripsExtremeIds) {
  for (const std::string& bytes :
       {std::string(16, '\0'), std::string(16, '\xff'), std::string("\x80") + std::string(15, '\0'),
        std::string(15, '\0') + "\x01", std::string("0123456789abcdef")}) {
    const ReportId id = IdFromBytes(bytes);
    std::optional<ReportId> parsed = ReportId::Parse(id.ToString());
    ASSERT_TRUE(parsed.has_value()) << id.ToString();
    EXPECT_EQ(parsed->bytes(), bytes) << id.ToString();
  }
}

TEST(ReportIdTest, AllZeroAndAllOneIdsHaveTheirBoundaryText) {
  EXPECT_EQ(IdFromBytes(std::string(16, '\0')).ToString(), std::string(26, '0'));
  // 128 one bits in 26 five-bit digits: the first digit holds three of them.
  EXPECT_EQ(IdFromBytes(std::string(16, '\xff')).ToString(), "7" + std::string(25, 'Z'));
}

TEST(ReportIdTest, LowerCaseTextParsesToTheSameId) {
  const ReportId id = ReportId::Generate(SampleTime());
  const std::string lower = absl::AsciiStrToLower(id.ToString());
  std::optional<ReportId> parsed = ReportId::Parse(lower);
  ASSERT_TRUE(parsed.has_value()) << lower;
  EXPECT_EQ(*parsed, id);
}

TEST(ReportIdTest, ExcludedLettersAndPunctuationAreRejected) {
  const std::string valid = ReportId::Generate(SampleTime()).ToString();
  for (char bad : {'I', 'L', 'O', 'U', 'i', 'l', 'o', 'u', '-', ' ', '*', '\0', '\x80'}) {
    for (size_t pos : {size_t{1}, size_t{13}, size_t{25}}) {
      std::string text = valid;
      text[pos] = bad;
      EXPECT_FALSE(ReportId::Parse(text).has_value())
          << "char " << int{static_cast<unsigned char>(bad)} << " at " << pos;
    }
  }
}

TEST(ReportIdTest, WrongLengthIsRejected) {
  const std::string valid = ReportId::Generate(SampleTime()).ToString();
  EXPECT_FALSE(ReportId::Parse("").has_value());
  EXPECT_FALSE(ReportId::Parse(valid.substr(0, 25)).has_value());
  EXPECT_FALSE(ReportId::Parse(valid + "0").has_value());
  EXPECT_FALSE(ReportId::Parse("0" + valid).has_value());
}

TEST(ReportIdTest, FirstDigitAboveSevenIsRejected) {
  // 26 digits carry 130 bits; a first digit above 7 would need more than 128.
  const std::string rest(25, '0');
  for (char first : {'0', '1', '7'}) {
    EXPECT_TRUE(ReportId::Parse(std::string(1, first) + rest).has_value()) << first;
  }
  for (char first : {'8', '9', 'A', 'Z', 'z'}) {
    EXPECT_FALSE(ReportId::Parse(std::string(1, first) + rest).has_value()) << first;
  }
}

TEST(ReportIdTest, FromBytesRequiresExactly16Bytes) {
  EXPECT_FALSE(ReportId::FromBytes("").has_value());
  EXPECT_FALSE(ReportId::FromBytes(std::string(15, 'x')).has_value());
  EXPECT_FALSE(ReportId::FromBytes(std::string(17, 'x')).has_value());
  std::optional<ReportId> id = ReportId::FromBytes(std::string(16, 'x'));
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->bytes(), std::string(16, 'x'));
}

TEST(ReportIdTest, IdsGeneratedAtIncreasingTimesSortInTimeOrder) {
  // Steps of one microsecond, across the 1970 boundary (imported reports), and far apart.
  const std::vector<absl::Time> times = {
      absl::UnixEpoch() - absl::Hours(24 * 365 * 30),
      absl::UnixEpoch() - absl::Microseconds(2),
      absl::UnixEpoch() - absl::Microseconds(1),
      absl::UnixEpoch(),
      absl::UnixEpoch() + absl::Microseconds(1),
      SampleTime(),
      SampleTime() + absl::Microseconds(1),
      SampleTime() + absl::Microseconds(2),
      SampleTime() + absl::Seconds(1),
      SampleTime() + absl::Hours(24 * 365 * 50),
  };
  // Several ids per time, so the random half cannot rescue a wrong time encoding.
  for (size_t i = 0; i + 1 < times.size(); ++i) {
    for (int k = 0; k < 50; ++k) {
      const ReportId earlier = ReportId::Generate(times[i]);
      const ReportId later = ReportId::Generate(times[i + 1]);
      EXPECT_LT(earlier.bytes(), later.bytes()) << i;
      EXPECT_LT(earlier, later) << i;
      EXPECT_LT(earlier.ToString(), later.ToString()) << i;
    }
  }
}

TEST(ReportIdTest, TimeReturnsTheGenerationTimeToTheMicrosecond) {
  for (absl::Time t : {SampleTime(), SampleTime() + absl::Microseconds(1), absl::UnixEpoch(),
                       absl::UnixEpoch() - absl::Microseconds(1),
                       absl::UnixEpoch() - absl::Hours(24 * 365 * 10) + absl::Microseconds(7)}) {
    EXPECT_EQ(ReportId::Generate(t).time(), t) << t;
  }
}

TEST(ReportIdTest, TimeSurvivesTheTextRoundTrip) {
  const ReportId id = ReportId::Generate(SampleTime());
  std::optional<ReportId> parsed = ReportId::Parse(id.ToString());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->time(), SampleTime());
}

TEST(ReportIdTest, SubMicrosecondPartIsDropped) {
  const absl::Time t = SampleTime() + absl::Nanoseconds(999);
  EXPECT_EQ(ReportId::Generate(t).time(), SampleTime());
}

TEST(ReportIdTest, TenThousandIdsAtTheSameInstantAreDistinct) {
  constexpr int kCount = 10000;
  const absl::Time t = SampleTime();
  std::set<std::string> bytes;
  std::set<std::string> texts;
  for (int i = 0; i < kCount; ++i) {
    const ReportId id = ReportId::Generate(t);
    ASSERT_EQ(id.time(), t);
    bytes.insert(std::string(id.bytes()));
    texts.insert(id.ToString());
  }
  EXPECT_EQ(bytes.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(texts.size(), static_cast<size_t>(kCount));
}

}  // namespace
}  // namespace safeguarding::storage
