// Tests of storage/counter_cells.h through a real RocksDB store: merges of many operands
// in the memtable, across flushes and a full compaction, partial merges of operands alone,
// and malformed operands skipped without failing reads (or the store).
#include "storage/counter_cells.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rocksdb/db.h"
#include "storage/counter_keys.h"
#include "storage/engine.h"
#include "tests/support/temp_dir.h"

namespace safeguarding::storage {
namespace {

// A counters key as the statistics write them (group {(1, name)}, day 0).
std::string K(const std::string& name) { return *CounterKey(1, {{1, name}}, 0); }

class CounterCellsTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    engine_.reset();
    absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open({.path = dir_.Sub("db")});
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
  }
  void Add(const std::string& key, const std::vector<std::pair<uint16_t, uint64_t>>& deltas) {
    rocksdb::WriteOptions options;
    options.sync = true;
    ASSERT_TRUE(engine_->db()
                    ->Merge(options, engine_->handle(ColumnFamily::kStatistics), key,
                            CounterOperand(deltas))
                    .ok());
  }
  std::vector<uint64_t> Read(const std::string& key) {
    std::string value;
    rocksdb::Status s = engine_->db()->Get(rocksdb::ReadOptions(),
                                           engine_->handle(ColumnFamily::kStatistics), key, &value);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::optional<std::vector<uint64_t>> cells = DecodeCounterCells(value);
    EXPECT_TRUE(cells.has_value());
    return cells.value_or(std::vector<uint64_t>{});
  }
  rocksdb::Status Compact() {
    return engine_->db()->CompactRange(rocksdb::CompactRangeOptions(),
                                       engine_->handle(ColumnFamily::kStatistics), nullptr,
                                       nullptr);
  }

  testing::TempDir dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(CounterCellsTest, OperandsAddUpInTheMemtableAcrossFlushesAndCompaction) {
  // 24 hourly cells of one day; 1,000 additions spread over them, some large.
  std::vector<uint64_t> expected(24, 0);
  for (int i = 0; i < 1000; ++i) {
    const uint16_t hour = static_cast<uint16_t>((i * 7) % 24);
    const uint64_t delta = i == 500 ? (uint64_t{1} << 40) : static_cast<uint64_t>(1 + i % 3);
    Add(K("day"), {{hour, delta}, {static_cast<uint16_t>((hour + 1) % 24), 1}});
    expected[hour] += delta;
    expected[(hour + 1) % 24] += 1;
    if (i == 300 || i == 700) {
      ASSERT_TRUE(engine_->Flush().ok());
    }
  }
  EXPECT_EQ(Read(K("day")), expected);
  ASSERT_TRUE(Compact().ok());
  EXPECT_EQ(Read(K("day")), expected);
  Open();  // the values are what is stored, not something in memory
  EXPECT_EQ(Read(K("day")), expected);
  Add(K("day"), {{23, 5}});
  expected[23] += 5;
  EXPECT_EQ(Read(K("day")), expected);
}

TEST_F(CounterCellsTest, ArraysGrowToTheLargestIndexAndKeysAreIndependent) {
  Add(K("a"), {{2, 1}});
  Add(K("a"), {{9, 4}});
  Add(K("b"), {{0, 7}});
  EXPECT_EQ(Read(K("a")), (std::vector<uint64_t>{0, 0, 1, 0, 0, 0, 0, 0, 0, 4}));
  EXPECT_EQ(Read(K("b")), (std::vector<uint64_t>{7}));
  Add(K("a"), {{static_cast<uint16_t>(kMaxCounterCells), 1}});  // beyond the limit: dropped
  EXPECT_EQ(Read(K("a")).size(), 10u);
}

TEST_F(CounterCellsTest, AMalformedOperandIsSkippedAndTheStoreKeepsWorking) {
  Add(K("c"), {{1, 2}});
  rocksdb::WriteOptions options;
  ASSERT_TRUE(
      engine_->db()
          ->Merge(options, engine_->handle(ColumnFamily::kStatistics), K("c"), "\x02garbage")
          .ok());
  Add(K("c"), {{1, 3}});
  EXPECT_EQ(Read(K("c")), (std::vector<uint64_t>{0, 5}));
  ASSERT_TRUE(engine_->Flush().ok());
  ASSERT_TRUE(Compact().ok()) << "a compaction over it does not fail";
  EXPECT_EQ(Read(K("c")), (std::vector<uint64_t>{0, 5}));
  EXPECT_TRUE(engine_->db()
                  ->Put(rocksdb::WriteOptions(), engine_->handle(ColumnFamily::kReports), "r", "x")
                  .ok())
      << "other families still take writes";
}

// The counters family's memtable is hashed by group: a scan across groups (a recount)
// needs total-order iteration, and then sees every key, memtable and table files alike.
TEST_F(CounterCellsTest, ATotalOrderScanSeesEveryGroup) {
  for (int i = 0; i < 5; ++i) Add(K(std::string(1, static_cast<char>('a' + i))), {{0, 1}});
  ASSERT_TRUE(engine_->Flush().ok());
  for (int i = 5; i < 10; ++i) Add(K(std::string(1, static_cast<char>('a' + i))), {{0, 1}});
  rocksdb::ReadOptions options;
  options.total_order_seek = true;
  std::unique_ptr<rocksdb::Iterator> it(
      engine_->db()->NewIterator(options, engine_->handle(ColumnFamily::kStatistics)));
  int seen = 0;
  std::string previous;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    EXPECT_LT(previous, it->key().ToString());
    previous = it->key().ToString();
    ++seen;
  }
  EXPECT_TRUE(it->status().ok());
  EXPECT_EQ(seen, 10);
}

// Keys too short to be counters keys are never written, but a read of one must not harm
// the store (the memtable's group hashing is given such keys too).
TEST_F(CounterCellsTest, AReadOfAKeyTooShortIsJustNotFound) {
  Add(K("a"), {{0, 1}});
  for (const std::string key : {"", "x", "abc", "abcd", "abcde"}) {
    std::string value;
    EXPECT_TRUE(
        engine_->db()
            ->Get(rocksdb::ReadOptions(), engine_->handle(ColumnFamily::kStatistics), key, &value)
            .IsNotFound())
        << key.size();
  }
  EXPECT_EQ(Read(K("a")), (std::vector<uint64_t>{1}));
}

// One group's days, from the memtable and from table files, by a prefix scan from the
// group's prefix: only that group, in day order.
TEST_F(CounterCellsTest, APrefixScanReadsOneGroupsDays) {
  const std::vector<GroupPart> group = {{1, "3"}}, other = {{1, "30"}};
  for (int32_t day = 0; day < 3; ++day) Add(*CounterKey(1, group, day), {{0, 1}});
  Add(*CounterKey(1, other, 1), {{0, 1}});
  ASSERT_TRUE(engine_->Flush().ok());
  for (int32_t day = 3; day < 5; ++day) Add(*CounterKey(1, group, day), {{0, 1}});
  Add(*CounterKey(1, other, 4), {{0, 1}});
  rocksdb::ReadOptions options;
  options.prefix_same_as_start = true;
  std::unique_ptr<rocksdb::Iterator> it(
      engine_->db()->NewIterator(options, engine_->handle(ColumnFamily::kStatistics)));
  std::vector<int32_t> days;
  for (it->Seek(*CounterGroupPrefix(1, group)); it->Valid(); it->Next()) {
    std::optional<CounterKeyParts> parts = ParseCounterKey(it->key().ToString());
    ASSERT_TRUE(parts.has_value());
    EXPECT_EQ(parts->group, group);
    days.push_back(parts->day);
  }
  EXPECT_TRUE(it->status().ok());
  EXPECT_EQ(days, (std::vector<int32_t>{0, 1, 2, 3, 4}));
}

TEST(CounterCellsCodecTest, ValuesRoundTripAndOnlyValuesDecode) {
  const std::vector<uint64_t> counts = {0, 1, uint64_t{1} << 63, 42};
  EXPECT_EQ(DecodeCounterCells(EncodeCounterCells(counts)), counts);
  EXPECT_EQ(DecodeCounterCells(EncodeCounterCells({})), std::vector<uint64_t>{});
  EXPECT_FALSE(DecodeCounterCells(CounterOperand({{0, 1}})).has_value());
  EXPECT_FALSE(DecodeCounterCells("").has_value());
  EXPECT_FALSE(DecodeCounterCells(std::string("\x01"
                                              "abc",
                                              4))
                   .has_value());
}

}  // namespace
}  // namespace safeguarding::storage
