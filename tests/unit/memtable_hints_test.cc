// The memtables' insert hints (storage/engine.cc): keys written one batch at a time, as the
// committer writes them, in the orders they arrive in (nearly sorted, interleaved across
// queues and tiers, sometimes far out of order), read back complete and in key order.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "rocksdb/slice_transform.h"
#include "rocksdb/write_batch.h"
#include "storage/engine.h"
#include "storage/key_encoding.h"
#include "storage/report_id.h"
#include "tests/support/raw_db.h"
#include "tests/support/temp_dir.h"

namespace safeguarding::storage {
namespace {

using testing::RawDb;
using testing::TempDir;

constexpr int64_t kStartMicros = 1'780'000'000'000'000;

// Keys of one family as the committer would write them: mostly a little later than the
// last, every 50th far earlier (a report received long ago, a late audit read).
std::vector<std::string> ArrivalOrder(ColumnFamily family, std::mt19937_64& random) {
  const std::string queues[] = {"children", "professionals", "urgent"};
  std::vector<std::string> keys;
  int64_t now = kStartMicros;
  for (int i = 0; i < 3000; ++i) {
    now += std::uniform_int_distribution<int64_t>(0, 200)(random);
    const int64_t at = i % 50 == 49 ? now - 3'600'000'000 : now;
    const ReportId id = ReportId::Generate(absl::FromUnixMicros(at));
    switch (family) {
      case ColumnFamily::kQueue:
        keys.push_back(QueueKey(queues[random() % 3], static_cast<uint8_t>(1 + random() % 4),
                                at + 86'400'000'000 * static_cast<int64_t>(random() % 3), id));
        break;
      case ColumnFamily::kAudit:
        keys.push_back(AuditKey(at, static_cast<uint64_t>(i + 1)));
        break;
      case ColumnFamily::kAuditByReport:
        keys.push_back(AuditByReportKey(id.ToString(), AuditKey(at, static_cast<uint64_t>(i))));
        break;
      case ColumnFamily::kEvents:
        keys.push_back(EventKey(id, 1 + random() % 3));
        break;
      default:
        keys.emplace_back(id.bytes());
        break;
    }
  }
  return keys;
}

TEST(MemtableHintsTest, KeysWrittenInArrivalOrderReadBackCompleteAndSorted) {
  TempDir dir;
  RawDb db(dir.path(), /*create=*/true);
  std::mt19937_64 random(7);
  for (ColumnFamily family :
       {ColumnFamily::kQueue, ColumnFamily::kReports, ColumnFamily::kEvents, ColumnFamily::kAudit,
        ColumnFamily::kAuditByReport, ColumnFamily::kWorkflow, ColumnFamily::kClaims}) {
    std::vector<std::string> keys = ArrivalOrder(family, random);
    if (family == ColumnFamily::kQueue) {
      keys.insert(keys.begin() + 100, "");  // no queue name length: no hint
      keys.insert(keys.begin() + 200,
                  "\x07"
                  "ab");  // shorter than its queue name says
    }
    for (size_t i = 0; i < keys.size(); i += 7) {  // one batch per group commit
      rocksdb::WriteBatch batch;
      for (size_t j = i; j < std::min(keys.size(), i + 7); ++j) {
        ASSERT_TRUE(batch.Put(db.cf(family), keys[j], std::to_string(j)).ok());
      }
      ASSERT_TRUE(db.db()->Write(rocksdb::WriteOptions(), &batch).ok());
    }
    const std::set<std::string> expected(keys.begin(), keys.end());
    std::vector<std::string> read;
    for (const auto& [key, value] : db.All(family)) read.push_back(key);
    EXPECT_EQ(read, std::vector<std::string>(expected.begin(), expected.end()))
        << kColumnFamilyNames[static_cast<int>(family)];
    EXPECT_EQ(db.Get(family, keys[1234]), "1234");
  }
}

TEST(MemtableHintsTest, AQueueKeysHintIsItsQueueAndTier) {
  const std::shared_ptr<const rocksdb::SliceTransform> hint =
      StoreFamilyOptions(ColumnFamily::kQueue).memtable_insert_with_hint_prefix_extractor;
  ASSERT_NE(hint, nullptr);
  const std::string key = QueueKey("urgent", 2, kStartMicros, ReportId());
  ASSERT_TRUE(hint->InDomain(key));
  EXPECT_EQ(hint->Transform(key).ToString(), QueuePrefix("urgent") + "\x02");
  EXPECT_NE(hint->Transform(key), hint->Transform(QueueKey("urgent", 3, kStartMicros, ReportId())));
  EXPECT_FALSE(hint->InDomain(""));
  EXPECT_FALSE(
      hint->InDomain("\x07"
                     "ab"));
  // One hint for the whole of a family whose keys begin with the time.
  const std::shared_ptr<const rocksdb::SliceTransform> whole =
      StoreFamilyOptions(ColumnFamily::kReports).memtable_insert_with_hint_prefix_extractor;
  ASSERT_NE(whole, nullptr);
  EXPECT_EQ(whole->Transform(std::string(ReportId().bytes())).size(), 0u);
}

}  // namespace
}  // namespace safeguarding::storage
