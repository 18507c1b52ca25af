// The memtables' insert hints (storage/engine.cc): keys written one batch at a time, as the
// committer writes them, in the orders they arrive in (nearly sorted, interleaved across
// queues and tiers, sometimes far out of order), cost fewer key comparisons than without
// the hints, and read back complete and in key order, deletes included.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/perf_context.h"
#include "rocksdb/perf_level.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/write_batch.h"
#include "storage/column_families.h"
#include "storage/engine.h"
#include "storage/key_encoding.h"
#include "storage/report_id.h"
#include "tests/support/temp_dir.h"

namespace safeguarding::storage {
namespace {

using testing::TempDir;

constexpr int64_t kStartMicros = 1'780'000'000'000'000;

// Keys of one family as the committer would write them: in time order but for the order
// in which calls received at nearly the same time reach it (shuffled within each 8), and
// every 50th far earlier (a report received long ago, a late audit read).
std::vector<std::string> ArrivalOrder(ColumnFamily family, std::mt19937_64& random) {
  const std::string queues[] = {"children", "professionals", "urgent"};
  std::vector<std::string> keys;
  int64_t now = kStartMicros;
  for (int i = 0; i < 3000; ++i) {
    now += std::uniform_int_distribution<int64_t>(0, 200)(random);
    const int64_t at = i % 50 == 49 ? now - 3'600'000'000 : now;
    const ReportId id = ReportId::Generate(absl::FromUnixMicros(at));
    switch (family) {
      case ColumnFamily::kQueue: {  // due: the tier's time to triage after receipt
        const uint8_t tier = static_cast<uint8_t>(1 + random() % 4);
        keys.push_back(QueueKey(queues[random() % 3], tier, at + 3'600'000'000 * tier, id));
        break;
      }
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
  for (size_t i = 0; i + 8 <= keys.size(); i += 8) {
    std::shuffle(keys.begin() + static_cast<std::ptrdiff_t>(i),
                 keys.begin() + static_cast<std::ptrdiff_t>(i + 8), random);
  }
  if (family == ColumnFamily::kQueue) {
    keys.insert(keys.begin() + 100, "");  // no queue name length: no hint
    keys.insert(keys.begin() + 200,
                "\x07"
                "ab");  // shorter than its queue name says
  }
  return keys;
}

// One family of a new database, with the store's options for it, or those without hints.
class OneFamily {
 public:
  OneFamily(const std::string& path, ColumnFamily family, bool hints) {
    rocksdb::ColumnFamilyOptions options = StoreFamilyOptions(family);
    if (!hints) options.memtable_insert_with_hint_prefix_extractor.reset();
    rocksdb::DBOptions db_options;
    db_options.create_if_missing = true;
    db_options.create_missing_column_families = true;
    db_options.allow_concurrent_memtable_write = false;  // as the store opens it
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
        {std::string(kColumnFamilyNames[static_cast<int>(family)]), options}};
    rocksdb::DB* db = nullptr;
    EXPECT_TRUE(rocksdb::DB::Open(db_options, path, families, &handles_, &db).ok());
    db_.reset(db);
  }
  ~OneFamily() {
    for (rocksdb::ColumnFamilyHandle* h : handles_)
      EXPECT_TRUE(db_->DestroyColumnFamilyHandle(h).ok());
  }

  // Writes `keys` in order, 7 to a batch (one batch per group commit), deleting every
  // tenth key again in the batch after it; the memtables' key comparisons that took.
  uint64_t Write(const std::vector<std::string>& keys) {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
    rocksdb::get_perf_context()->Reset();
    for (size_t i = 0; i < keys.size(); i += 7) {
      rocksdb::WriteBatch batch;
      for (size_t j = i; j < std::min(keys.size(), i + 7); ++j) {
        EXPECT_TRUE(batch.Put(handles_[1], keys[j], std::to_string(j)).ok());
        if (j >= 7 && (j - 7) % 10 == 0) {
          EXPECT_TRUE(batch.Delete(handles_[1], keys[j - 7]).ok());
        }
      }
      EXPECT_TRUE(db_->Write(rocksdb::WriteOptions(), &batch).ok());
    }
    const uint64_t comparisons = rocksdb::get_perf_context()->user_key_comparison_count;
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    return comparisons;
  }

  std::vector<std::string> Keys() {
    std::vector<std::string> keys;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[1]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
    EXPECT_TRUE(it->status().ok());
    return keys;
  }

 private:
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
};

TEST(MemtableHintsTest, KeysInArrivalOrderTakeFewerComparisonsAndReadBackWholeAndSorted) {
  TempDir dir;
  std::mt19937_64 random(7);
  for (ColumnFamily family :
       {ColumnFamily::kQueue, ColumnFamily::kReports, ColumnFamily::kEvents, ColumnFamily::kAudit,
        ColumnFamily::kAuditByReport, ColumnFamily::kWorkflow, ColumnFamily::kClaims}) {
    const std::string name(kColumnFamilyNames[static_cast<int>(family)]);
    const std::vector<std::string> keys = ArrivalOrder(family, random);
    std::set<std::string> expected;
    for (size_t j = 0; j < keys.size(); ++j) {
      const bool deleted = j + 7 < keys.size() && j % 10 == 0;
      if (!deleted) expected.insert(keys[j]);
    }
    uint64_t comparisons[2] = {0, 0};
    for (bool hints : {false, true}) {
      OneFamily db(dir.Sub(absl::StrCat(name, hints)), family, hints);
      comparisons[hints] = db.Write(keys);
      EXPECT_EQ(db.Keys(), std::vector<std::string>(expected.begin(), expected.end()))
          << name << (hints ? " with hints" : " without");
    }
    EXPECT_LT(comparisons[true] * 10, comparisons[false] * 8)
        << name << ": " << comparisons[true] << " comparisons with hints, " << comparisons[false]
        << " without";
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
  // What is not a queue key has no hint, and is its own prefix if asked anyway.
  for (const std::string& bad : {std::string(), std::string("\x07"
                                                            "ab")}) {
    EXPECT_FALSE(hint->InDomain(bad));
    EXPECT_EQ(hint->Transform(bad).ToString(), bad);
  }
  // One hint for the whole of a family whose keys begin with the time.
  const std::shared_ptr<const rocksdb::SliceTransform> whole =
      StoreFamilyOptions(ColumnFamily::kReports).memtable_insert_with_hint_prefix_extractor;
  ASSERT_NE(whole, nullptr);
  EXPECT_EQ(whole->Transform(std::string(ReportId().bytes())).size(), 0u);
  // None where the memtable is hashed.
  EXPECT_EQ(StoreFamilyOptions(ColumnFamily::kRequests).memtable_insert_with_hint_prefix_extractor,
            nullptr);
  EXPECT_EQ(
      StoreFamilyOptions(ColumnFamily::kStatistics).memtable_insert_with_hint_prefix_extractor,
      nullptr);
}

}  // namespace
}  // namespace safeguarding::storage
