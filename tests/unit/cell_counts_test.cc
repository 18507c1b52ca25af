// Tests of storage/cell_counts.h: cells read back as added (keys packed one after another,
// empty keys and keys with NUL bytes included), keys built in place, appending another
// change's cells, and a Mutation taking a change's cells whole or adding them to its own.
#include "storage/cell_counts.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "storage/counter_keys.h"
#include "storage/mutation.h"

namespace safeguarding::storage {
namespace {

using Row = std::tuple<std::string, uint16_t, uint64_t>;

std::vector<Row> Rows(const CellCounts& counts) {
  std::vector<Row> rows;
  for (const CellCounts::Cell c : counts) rows.emplace_back(std::string(c.key), c.index, c.delta);
  return rows;
}

TEST(CellCountsTest, CellsReadBackAsAdded) {
  CellCounts counts;
  EXPECT_TRUE(counts.empty());
  const std::string with_nul("a\0b", 3);
  counts.Add("first", 3, 1);
  counts.Add("", 0, 7);
  counts.Add(with_nul, 4095, uint64_t{1} << 40);
  counts.Add("first", 3, 2);  // the same cell again: kept apart, the committer adds up
  EXPECT_EQ(counts.size(), 4u);
  EXPECT_EQ(
      Rows(counts),
      (std::vector<Row>{
          {"first", 3, 1}, {"", 0, 7}, {with_nul, 4095, uint64_t{1} << 40}, {"first", 3, 2}}));
  EXPECT_EQ(counts[2].key, with_nul);
}

TEST(CellCountsTest, KeysBuiltInPlaceAreTheGroupsKeys) {
  const GroupPart type{1, "3"}, region{6, "Thames Valley"};
  const std::string a = *EncodeGroupPart(type), b = *EncodeGroupPart(region);
  CellCounts counts;
  counts.Reserve(1, 8);  // less than needed: it grows
  counts.AddBuilt([&](std::string* keys) { AppendKeyOfParts(keys, 1, {}, 20000); }, 5, 1);
  counts.AddBuilt([&](std::string* keys) { AppendKeyOfParts(keys, 1, {a, b}, 20000); }, 6, 1);
  counts.AddBuilt([&](std::string* keys) { AppendKeyOfParts(keys, 2, {b}, -3); }, 7, 2);
  EXPECT_EQ(Rows(counts), (std::vector<Row>{{*CounterKey(1, {}, 20000), 5, 1},
                                            {*CounterKey(1, {type, region}, 20000), 6, 1},
                                            {*CounterKey(2, {region}, -3), 7, 2}}));
}

TEST(CellCountsTest, AppendKeepsBothInOrder) {
  CellCounts received, decided;
  received.Add("r1", 1, 1);
  received.Add("r2", 2, 1);
  decided.Add("d1", 3, 1);
  received.Append(decided);
  received.Append(CellCounts());
  EXPECT_EQ(Rows(received), (std::vector<Row>{{"r1", 1, 1}, {"r2", 2, 1}, {"d1", 3, 1}}));
  EXPECT_EQ(Rows(decided), (std::vector<Row>{{"d1", 3, 1}}));
  CellCounts many;  // an import batch's thousand reports, appended one by one
  for (int i = 0; i < 1000; ++i) many.Append(received);
  ASSERT_EQ(many.size(), 3000u);
  EXPECT_EQ(std::get<0>(Rows(many)[2998]), "r2");
  EXPECT_EQ(std::get<0>(Rows(many)[2999]), "d1");
}

TEST(CellCountsTest, MutationTakesCellsWholeOrAddsThemToItsOwn) {
  CellCounts report;
  report.Add("k", 1, 1);
  Mutation taken;
  taken.Count(report);
  EXPECT_EQ(Rows(taken.counts()), (std::vector<Row>{{"k", 1, 1}}));
  Mutation added;
  added.Count("own", 2, 3);
  added.Count(report);
  added.Count(report);
  EXPECT_EQ(Rows(added.counts()), (std::vector<Row>{{"own", 2, 3}, {"k", 1, 1}, {"k", 1, 1}}));
  EXPECT_FALSE(added.empty());
}

}  // namespace
}  // namespace safeguarding::storage
