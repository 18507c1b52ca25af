// DataKeys (storage/data_keys.h): a rotation's re-encryption stops at a store's shutdown
// after the chunk in progress, records where it got to, and resumes and completes at the
// next open, retiring the old key.
#include "storage/data_keys.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "storage/report_store.h"
#include "tests/support/faulty_fs.h"
#include "tests/support/raw_db.h"
#include "tests/support/sample_reports.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_server.h"

namespace safeguarding::storage {
namespace {

constexpr int kReports = 1500;  // several re-encryption chunks

std::unique_ptr<ReportStore> OpenOrDie(const std::string& path, rocksdb::Env* env) {
  auto store = ReportStore::Open(testing::TestStoreOptions(path, env));
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

void SubmitMany(ReportStore& store) {
  std::atomic<int> left{kReports};
  absl::Notification all;
  for (int i = 0; i < kReports; ++i) {
    store.reports().Submit(testing::SampleNewReport("intake-app", absl::StrCat("r", i), "fp"),
                           [&](absl::StatusOr<v1::SubmitReportResponse> r) {
                             EXPECT_TRUE(r.ok()) << r.status();
                             if (--left == 0) all.Notify();
                           });
  }
  all.WaitForNotification();
}

bool RetiredOldKey(const ReportStore& store) {
  std::vector<DataKeyStatus> keys = store.keys().Status();
  return keys.size() == 2 && !keys[0].in_use && keys[1].current && keys[1].in_use;
}

TEST(DataKeysTest, ARotationStoppedAtShutdownResumesAtTheNextOpenAndCompletes) {
  testing::TempDir dir;
  testing::FaultyEnv faulty;
  {
    auto store = OpenOrDie(dir.Sub("db"), faulty.env.get());
    SubmitMany(*store);
    ASSERT_TRUE(store->engine().Flush().ok());  // the reports live in table files
  }
  {
    auto store = OpenOrDie(dir.Sub("db"), faulty.env.get());
    // Hold the re-encryption in its first chunk (it reads the table files), stop, release.
    faulty.fs->HoldTableReads();
    absl::Notification rotated;
    store->keys().Rotate([&](absl::StatusOr<KeyRotation> r) {
      EXPECT_TRUE(r.ok()) << r.status();
      rotated.Notify();
    });
    rotated.WaitForNotification();
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (faulty.fs->table_reads_waiting() == 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    ASSERT_GT(faulty.fs->table_reads_waiting(), 0) << "re-encryption never reached the disk";
    store->keys().Stop();
    faulty.fs->ReleaseTableReads();
    store.reset();  // returns after at most the chunk in progress
  }
  {
    testing::RawDb raw(dir.Sub("db"));
    EXPECT_NO_THROW(raw.Get(ColumnFamily::kMeta, "reencrypt_cursor"))
        << "shutdown must leave the rotation's place on record";
  }
  auto store = OpenOrDie(dir.Sub("db"), faulty.env.get());
  EXPECT_TRUE(store->keys().resumed());
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (store->keys().reencrypting() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_FALSE(store->keys().reencrypting());
  EXPECT_EQ(store->keys().reencrypt_failures(), 0u);
  EXPECT_TRUE(RetiredOldKey(*store)) << "the resumed rotation did not complete";
  EXPECT_GT(store->keys().reencrypted_count(), 0u);
}

}  // namespace
}  // namespace safeguarding::storage
