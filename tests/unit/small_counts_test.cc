// Tests of triage/small_counts.h: single counts at the boundaries of k, rows with primary and
// secondary suppression (which cell is chosen, ties, zeros), kExact, and an exhaustive check
// that no shown row lets a hidden cell be recovered as total minus the shown cells.
#include "triage/small_counts.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace safeguarding::triage {

// Readable failure messages; found by argument-dependent lookup.
void PrintTo(const DisclosedCount& c, std::ostream* os) {
  if (c.suppressed) {
    *os << "suppressed(value=" << c.value << ")";
  } else {
    *os << c.value;
  }
}

namespace {

using ::testing::ElementsAreArray;

constexpr Disclosure kMonitor = Disclosure::kSuppressSmallCounts;
constexpr Disclosure kSupervisor = Disclosure::kExact;

DisclosedCount Shown(uint64_t value) { return DisclosedCount{.value = value, .suppressed = false}; }
DisclosedCount Hidden() { return DisclosedCount{.value = 0, .suppressed = true}; }

// ---------------------------------------------------------------------------------------------
// Single counts.

struct CountCase {
  std::string name;
  uint64_t k;
  Disclosure disclosure;
  uint64_t count;
  DisclosedCount expected;
};

void PrintTo(const CountCase& c, std::ostream* os) { *os << c.name; }

std::vector<CountCase> CountCases() {
  return {
      {"K5ZeroIsShownAsZero", 5, kMonitor, 0, Shown(0)},
      {"K5OneIsSuppressed", 5, kMonitor, 1, Hidden()},
      {"K5TwoIsSuppressed", 5, kMonitor, 2, Hidden()},
      {"K5ThreeIsSuppressed", 5, kMonitor, 3, Hidden()},
      {"K5FourIsSuppressed", 5, kMonitor, 4, Hidden()},
      {"K5FiveIsExact", 5, kMonitor, 5, Shown(5)},
      {"K5SixIsExact", 5, kMonitor, 6, Shown(6)},
      {"K5MillionIsExact", 5, kMonitor, 1000000, Shown(1000000)},
      {"K5MaxIsExact", 5, kMonitor, UINT64_MAX, Shown(UINT64_MAX)},
      {"K5ExactZero", 5, kSupervisor, 0, Shown(0)},
      {"K5ExactOne", 5, kSupervisor, 1, Shown(1)},
      {"K5ExactFour", 5, kSupervisor, 4, Shown(4)},
      {"K5ExactFive", 5, kSupervisor, 5, Shown(5)},
      {"K1ZeroIsShownAsZero", 1, kMonitor, 0, Shown(0)},
      {"K1OneIsExact", 1, kMonitor, 1, Shown(1)},
      {"K1TwoIsExact", 1, kMonitor, 2, Shown(2)},
      {"K10OneIsSuppressed", 10, kMonitor, 1, Hidden()},
      {"K10FiveIsSuppressed", 10, kMonitor, 5, Hidden()},
      {"K10NineIsSuppressed", 10, kMonitor, 9, Hidden()},
      {"K10TenIsExact", 10, kMonitor, 10, Shown(10)},
      {"K10ElevenIsExact", 10, kMonitor, 11, Shown(11)},
      {"K10ExactNine", 10, kSupervisor, 9, Shown(9)},
  };
}

class DiscloseTest : public ::testing::TestWithParam<CountCase> {};

TEST_P(DiscloseTest, DisclosesAsExpected) {
  const CountCase& c = GetParam();
  EXPECT_EQ(SmallCountPolicy(c.k).Disclose(c.count, c.disclosure), c.expected);
}

INSTANTIATE_TEST_SUITE_P(SmallCountsTest, DiscloseTest, ::testing::ValuesIn(CountCases()),
                         [](const ::testing::TestParamInfo<CountCase>& info) {
                           return info.param.name;
                         });

TEST(SmallCountsTest, DefaultPolicySuppressesBelowFiveAndShowsFive) {
  const SmallCountPolicy policy;
  EXPECT_EQ(policy.minimum_count(), 5u);
  EXPECT_EQ(policy.Disclose(4, kMonitor), Hidden());
  EXPECT_EQ(policy.Disclose(5, kMonitor), Shown(5));
}

TEST(SmallCountsTest, MinimumCountIsTheConfiguredK) {
  EXPECT_EQ(SmallCountPolicy(1).minimum_count(), 1u);
  EXPECT_EQ(SmallCountPolicy(10).minimum_count(), 10u);
}

TEST(SmallCountsTest, ExactNeverSuppressesAnyCount) {
  const SmallCountPolicy policy(10);
  for (uint64_t count = 0; count <= 20; ++count) {
    EXPECT_EQ(policy.Disclose(count, kSupervisor), Shown(count)) << "count " << count;
  }
}

TEST(SmallCountsTest, UnknownDisclosureFailsClosed) {
  const SmallCountPolicy policy;
  const auto unknown = static_cast<Disclosure>(42);
  EXPECT_EQ(policy.Disclose(3, unknown), Hidden());
  EXPECT_EQ(policy.Disclose(5, unknown), Shown(5));
}

TEST(SmallCountsDeathTest, MinimumCountOfZeroIsRejected) {
  EXPECT_DEATH(SmallCountPolicy(0), "minimum_count must be at least 1");
}

// ---------------------------------------------------------------------------------------------
// Rows with their total.

struct RowCase {
  std::string name;
  uint64_t k;
  Disclosure disclosure;
  std::vector<uint64_t> cells;
  std::vector<DisclosedCount> expected_cells;
  DisclosedCount expected_total;
};

void PrintTo(const RowCase& c, std::ostream* os) { *os << c.name; }

std::vector<RowCase> RowCases() {
  const DisclosedCount h = Hidden();
  return {
      {"NoSmallCellsNothingSuppressed",
       5,
       kMonitor,
       {5, 12, 0, 7},
       {Shown(5), Shown(12), Shown(0), Shown(7)},
       Shown(24)},
      {"OneSmallCellAndTheSmallestOtherAreSuppressed",
       5,
       kMonitor,
       {9, 3, 12, 7},
       {Shown(9), h, Shown(12), h},
       Shown(31)},
      {"ComplementMayComeBeforeTheSmallCell",
       5,
       kMonitor,
       {6, 20, 4, 8},
       {h, Shown(20), h, Shown(8)},
       Shown(38)},
      {"TieForSmallestPicksTheFirst",
       5,
       kMonitor,
       {9, 6, 2, 6},
       {Shown(9), h, h, Shown(6)},
       Shown(23)},
      {"TieForSmallestAcrossTheSmallCellPicksTheFirst",
       5,
       kMonitor,
       {7, 1, 7, 7},
       {h, h, Shown(7), Shown(7)},
       Shown(22)},
      {"ZerosAreNeverTheComplement",
       5,
       kMonitor,
       {0, 3, 0, 15, 0, 40},
       {Shown(0), h, Shown(0), h, Shown(0), Shown(40)},
       Shown(58)},
      {"OnlyOtherNonZeroCellIsTheComplement",
       5,
       kMonitor,
       {0, 2, 0, 5},
       {Shown(0), h, Shown(0), h},
       Shown(7)},
      {"TwoSmallCellsNeedNoComplement",
       5,
       kMonitor,
       {1, 4, 30, 8},
       {h, h, Shown(30), Shown(8)},
       Shown(43)},
      {"ThreeSmallCellsNeedNoComplement",
       5,
       kMonitor,
       {2, 0, 3, 1, 9},
       {h, Shown(0), h, h, Shown(9)},
       Shown(15)},
      {"OnlyNonZeroCellIsSmallSoTotalIsSuppressed",
       5,
       kMonitor,
       {0, 3, 0},
       {Shown(0), h, Shown(0)},
       h},
      {"SingleSmallCellRow", 5, kMonitor, {4}, {h}, h},
      {"SmallCellsSummingBelowKNeedAComplement",
       5,
       kMonitor,
       {1, 30, 1, 8},
       {h, Shown(30), h, h},
       Shown(40)},
      {"AllOnesAreHiddenWithAComplement",
       5,
       kMonitor,
       {1, 1, 1, 1, 1, 20},
       {h, h, h, h, h, h},
       Shown(25)},
      {"AllOnesWithNothingElseHideTheTotal", 5, kMonitor, {1, 1, 1, 1, 1}, {h, h, h, h, h}, h},
      {"SmallCellsWithSmallTotal", 5, kMonitor, {1, 0, 2}, {h, Shown(0), h}, h},
      {"SmallCellsAddingUpToK", 5, kMonitor, {2, 3}, {h, h}, Shown(5)},
      {"AllZeros", 5, kMonitor, {0, 0, 0}, {Shown(0), Shown(0), Shown(0)}, Shown(0)},
      {"EmptyRow", 5, kMonitor, {}, {}, Shown(0)},
      {"K10Boundaries", 10, kMonitor, {9, 11, 10}, {h, Shown(11), h}, Shown(30)},
      {"K1SuppressesNothing",
       1,
       kMonitor,
       {1, 0, 2, 1},
       {Shown(1), Shown(0), Shown(2), Shown(1)},
       Shown(4)},
      {"ExactRowUnchanged",
       5,
       kSupervisor,
       {0, 3, 1, 12},
       {Shown(0), Shown(3), Shown(1), Shown(12)},
       Shown(16)},
      {"ExactRowWithOneSmallCellUnchanged",
       5,
       kSupervisor,
       {9, 3, 12},
       {Shown(9), Shown(3), Shown(12)},
       Shown(24)},
      {"ExactSmallTotalUnchanged", 5, kSupervisor, {0, 2}, {Shown(0), Shown(2)}, Shown(2)},
  };
}

class DiscloseRowTest : public ::testing::TestWithParam<RowCase> {};

TEST_P(DiscloseRowTest, SuppressesExpectedCellsAndTotal) {
  const RowCase& c = GetParam();
  const SmallCountPolicy::Row row = SmallCountPolicy(c.k).DiscloseRow(c.cells, c.disclosure);
  EXPECT_THAT(row.cells, ElementsAreArray(c.expected_cells));
  EXPECT_EQ(row.total, c.expected_total);
}

INSTANTIATE_TEST_SUITE_P(SmallCountsTest, DiscloseRowTest, ::testing::ValuesIn(RowCases()),
                         [](const ::testing::TestParamInfo<RowCase>& info) {
                           return info.param.name;
                         });

// Every row of four cells, each 0..12, under k = 5, checked against the stated guarantees
// rather than a second implementation.
TEST(SmallCountsTest, EveryShownRowHidesSmallCellsAndCannotBeSubtracted) {
  constexpr uint64_t k = 5;
  constexpr uint64_t kMaxCell = 12;
  const SmallCountPolicy policy(k);
  int rows_with_secondary = 0;
  std::vector<uint64_t> cells(4, 0);
  for (uint64_t a = 0; a <= kMaxCell; ++a) {
    for (uint64_t b = 0; b <= kMaxCell; ++b) {
      for (uint64_t c = 0; c <= kMaxCell; ++c) {
        for (uint64_t d = 0; d <= kMaxCell; ++d) {
          cells = {a, b, c, d};
          SCOPED_TRACE(::testing::Message() << "row " << a << "," << b << "," << c << "," << d);
          const SmallCountPolicy::Row row = policy.DiscloseRow(cells, kMonitor);
          ASSERT_EQ(row.cells.size(), cells.size());

          const uint64_t sum = a + b + c + d;
          if (sum >= 1 && sum < k) {
            ASSERT_EQ(row.total, Hidden());
          } else {
            ASSERT_EQ(row.total, Shown(sum));
          }

          int small = 0;
          int hidden = 0;
          for (size_t i = 0; i < cells.size(); ++i) {
            const bool is_small = cells[i] >= 1 && cells[i] < k;
            small += is_small;
            hidden += row.cells[i].suppressed;
            if (is_small) {
              ASSERT_TRUE(row.cells[i].suppressed) << "cell " << i;
            }
            if (cells[i] == 0) {
              ASSERT_EQ(row.cells[i], Shown(0)) << "cell " << i;
            }
            if (row.cells[i].suppressed) {
              ASSERT_EQ(row.cells[i].value, 0u) << "cell " << i;
            } else {
              ASSERT_EQ(row.cells[i].value, cells[i]) << "cell " << i;
            }
          }

          if (!row.total.suppressed && hidden > 0) {
            // What can be worked out (total minus shown cells) says little about any one
            // hidden cell: at least k, and more than the number of hidden cells.
            uint64_t hidden_sum = 0;
            for (size_t i = 0; i < cells.size(); ++i) {
              if (row.cells[i].suppressed) hidden_sum += cells[i];
            }
            ASSERT_NE(hidden, 1);
            ASSERT_GE(hidden_sum, k);
            ASSERT_GT(hidden_sum, static_cast<uint64_t>(hidden));
          }
          // Every small cell is hidden; without a small cell nothing is.
          ASSERT_GE(hidden, small);
          if (small == 0) {
            ASSERT_EQ(hidden, 0);
          }
          rows_with_secondary += hidden > small;
        }
      }
    }
  }
  // The sweep really exercised secondary suppression.
  EXPECT_GT(rows_with_secondary, 1000);
}

}  // namespace
}  // namespace safeguarding::triage
