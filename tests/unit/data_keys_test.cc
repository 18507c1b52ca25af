// DataKeys (storage/data_keys.h): a rotation's re-encryption stops at a store's shutdown
// after the chunk in progress, records where it got to, and resumes and completes at the
// next open, retiring the old key; event texts are re-sealed with the reports, and an
// event sealed with a key keeps that key in use.
#include "storage/data_keys.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "storage/event_codec.h"
#include "storage/key_encoding.h"
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

// Writes event 2 of a new report, with a text, sealed under the store's current key.
std::string PutSealedEvent(ReportStore& store, const std::string& text) {
  NewReport report = testing::SampleNewReport("intake-app", "with-event", "fp");
  const ReportId id = *ReportId::Parse(report.report.id());
  absl::Notification submitted;
  store.reports().Submit(std::move(report), [&](absl::StatusOr<v1::SubmitReportResponse> r) {
    EXPECT_TRUE(r.ok()) << r.status();
    submitted.Notify();
  });
  submitted.WaitForNotification();
  v1::ReportEvent event;
  event.set_report_id(id.ToString());
  event.set_sequence(2);
  event.set_type(v1::REPORT_EVENT_TYPE_NOTE_ADDED);
  event.set_text(text);
  const std::string key = EventKey(id, 2);
  absl::StatusOr<std::string> sealed = SealEvent(event, key, *store.keys().ring());
  EXPECT_TRUE(sealed.ok()) << sealed.status();
  Mutation m;
  m.Put(ColumnFamily::kEvents, key, *sealed);
  absl::Notification written;
  store.engine().committer().Commit(std::move(m), [&](absl::Status s) {
    EXPECT_TRUE(s.ok()) << s;
    written.Notify();
  });
  written.WaitForNotification();
  return key;
}

void WaitForRotation(const ReportStore& store) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (store.keys().reencrypting() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_FALSE(store.keys().reencrypting());
}

TEST(DataKeysTest, ARotationReSealsEventTextsBeforeItRetiresTheOldKey) {
  testing::TempDir dir;
  auto store = OpenOrDie(dir.Sub("db"), nullptr);
  const uint32_t old_key = store->keys().ring()->current_key_id();
  const std::string key = PutSealedEvent(*store, "called the school; the head will follow up");
  absl::Notification rotated;
  store->keys().Rotate([&](absl::StatusOr<KeyRotation> r) {
    EXPECT_TRUE(r.ok()) << r.status();
    rotated.Notify();
  });
  rotated.WaitForNotification();
  WaitForRotation(*store);
  EXPECT_TRUE(RetiredOldKey(*store));
  store.reset();

  testing::RawDb raw(dir.Sub("db"));
  const std::string stored = raw.Get(ColumnFamily::kEvents, key);
  EXPECT_NE(SealedEventKeyId(stored), old_key);
  EXPECT_EQ(stored.find("head will follow up"), std::string::npos) << "the text is sealed";
}

// A rotation has re-sealed every report under the second key, but one event's text is
// still sealed under the first (as an event written by a server that had not rotated yet
// would be); the keys-in-use record no longer verifies, so opening scans: the event alone
// keeps the first key in use.
TEST(DataKeysTest, AnEventSealedWithAKeyKeepsItInUseWhenTheRecordMustBeRebuilt) {
  testing::TempDir dir;
  const std::string path = dir.Sub("db");
  uint32_t first_key = 0;
  std::string event_key;
  {
    auto store = OpenOrDie(path, nullptr);
    first_key = store->keys().ring()->current_key_id();
    event_key = PutSealedEvent(*store, "a note");
    absl::Notification rotated;
    store->keys().Rotate([&](absl::StatusOr<KeyRotation> r) {
      EXPECT_TRUE(r.ok()) << r.status();
      rotated.Notify();
    });
    rotated.WaitForNotification();
    WaitForRotation(*store);
    ASSERT_TRUE(RetiredOldKey(*store));
  }
  // The event sealed again under the first key alone.
  const std::string first_only = dir.Sub("first-only.key");
  {
    std::ifstream in(testing::TestKeyFile(path), std::ios::binary);
    std::string first(32, '\0');
    in.read(first.data(), 32);
    std::ofstream(first_only, std::ios::binary) << first;
    std::filesystem::permissions(
        first_only, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  absl::StatusOr<KeyRing> first_ring = KeyRing::LoadFile(first_only);
  ASSERT_TRUE(first_ring.ok()) << first_ring.status();
  ASSERT_EQ(first_ring->current_key_id(), first_key);
  {
    testing::RawDb raw(path);
    absl::StatusOr<v1::ReportEvent> event =
        OpenEvent(raw.Get(ColumnFamily::kEvents, event_key), event_key,
                  *KeyRing::LoadFile(testing::TestKeyFile(path)));
    ASSERT_TRUE(event.ok()) << event.status();
    absl::StatusOr<std::string> resealed = SealEvent(*event, event_key, *first_ring);
    ASSERT_TRUE(resealed.ok());
    raw.Put(ColumnFamily::kEvents, event_key, *resealed);
    raw.Put(ColumnFamily::kMeta, "data_keys_in_use", "not a signed record");
  }
  auto store = OpenOrDie(path, nullptr);
  bool first_in_use = false;
  for (const DataKeyStatus& k : store->keys().Status()) {
    if (k.id == first_key) first_in_use = k.in_use;
  }
  EXPECT_TRUE(first_in_use) << "an event's text is still sealed with the first key";
}

}  // namespace
}  // namespace safeguarding::storage
