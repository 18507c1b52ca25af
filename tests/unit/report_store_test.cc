// ReportStore on a real RocksDB in a temp dir: opening and locking, the schema version,
// idempotent submission, restart, and disk faults.
#include "storage/report_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/util/time_util.h"
#include "rocksdb/db.h"
#include "storage/counter_cells.h"
#include "storage/counter_keys.h"
#include "storage/key_encoding.h"
#include "tests/support/faulty_fs.h"
#include "tests/support/raw_db.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_server.h"

namespace safeguarding::storage {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

// A complete NewReport as the domain would build it.
NewReport MakeNewReport(const std::string& request_id, const std::string& fingerprint,
                        absl::Time received = absl::FromUnixSeconds(1700000000)) {
  NewReport r;
  ReportId id = ReportId::Generate(received);
  r.report.set_id(id.ToString());
  *r.report.mutable_received_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(received));
  r.report.mutable_submission()->set_description("private words");
  r.report.mutable_triage()->set_priority(v1::PRIORITY_URGENT);
  r.report.mutable_triage()->set_queue("child");
  *r.report.mutable_triage()->mutable_due_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(received + absl::Hours(4)));
  r.report.set_state(v1::REPORT_STATE_QUEUED);
  r.event.set_report_id(id.ToString());
  r.event.set_sequence(1);
  r.event.set_type(v1::REPORT_EVENT_TYPE_SUBMITTED);
  r.caller_scope = "intake-app";
  r.request_id = request_id;
  r.fingerprint = fingerprint;
  r.fingerprint.resize(32, '\0');
  r.response.set_report_id(id.ToString());
  r.response.set_advice("advice");
  return r;
}

absl::StatusOr<v1::SubmitReportResponse> SubmitAndWait(ReportStore& store, NewReport r) {
  absl::Notification done;
  absl::StatusOr<v1::SubmitReportResponse> result;
  store.reports().Submit(std::move(r), [&](absl::StatusOr<v1::SubmitReportResponse> res) {
    result = std::move(res);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

int QueueEntries(const ReportStore& store) {
  int n = 0;
  EXPECT_TRUE(store.queue().Scan([&](const QueueKeyParts&) { ++n; }).ok());
  return n;
}

std::unique_ptr<ReportStore> OpenOrDie(const std::string& path, rocksdb::Env* env = nullptr) {
  auto store = ReportStore::Open(testing::TestStoreOptions(path, env));
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

TEST(ReportStoreTest, FirstOpenCreatesEveryColumnFamily) {
  testing::TempDir dir;
  OpenOrDie(dir.Sub("db")).reset();
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.Sub("db"), &names).ok());
  for (auto expected : kColumnFamilyNames) {
    EXPECT_THAT(names, ::testing::Contains(std::string(expected)));
  }
}

// The memory budget reaches RocksDB: the shared block cache's capacity, the memtables'
// total, and each family's memtable at most 64 MB or the total.
TEST(ReportStoreTest, TheMemoryBudgetBoundsTheBlockCacheAndTheMemtables) {
  for (const auto& [cache_mb, memtable_mb, family_mb] :
       std::vector<std::tuple<size_t, size_t, size_t>>{{16, 24, 24}, {256, 256, 64}}) {
    testing::TempDir dir;
    StoreOptions options = testing::TestStoreOptions(dir.Sub("db"));
    options.memory.block_cache_bytes = cache_mb << 20;
    options.memory.memtable_bytes = memtable_mb << 20;
    auto store = ReportStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    rocksdb::DB* db = (*store)->engine().db();
    EXPECT_EQ(db->GetDBOptions().db_write_buffer_size, memtable_mb << 20);
    for (ColumnFamily family : {ColumnFamily::kReports, ColumnFamily::kStatistics}) {
      rocksdb::ColumnFamilyHandle* handle = (*store)->engine().handle(family);
      EXPECT_EQ(db->GetOptions(handle).write_buffer_size, family_mb << 20);
      uint64_t capacity = 0;
      ASSERT_TRUE(db->GetIntProperty(handle, "rocksdb.block-cache-capacity", &capacity));
      EXPECT_EQ(capacity, cache_mb << 20);
    }
  }
}

TEST(ReportStoreTest, SecondOpenOfTheSameDirectoryFailsClearly) {
  testing::TempDir dir;
  auto first = OpenOrDie(dir.Sub("db"));
  auto second = ReportStore::Open(testing::TestStoreOptions(dir.Sub("db")));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("in use by another process"));
  EXPECT_THAT(second.status().message(), HasSubstr(dir.Sub("db")));
  first.reset();
  EXPECT_TRUE(ReportStore::Open(testing::TestStoreOptions(dir.Sub("db"))).ok())
      << "lock not released on close";
}

// A build of schema 1 knew every family but statistics: it must refuse a directory this
// build wrote before replaying its WAL (replaying statistics merges without their operator
// would cut the log short and lose reports).
TEST(ReportStoreTest, ABuildWithoutTheStatisticsFamilyCannotOpenTheDirectory) {
  testing::TempDir dir;
  OpenOrDie(dir.Sub("db")).reset();
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  cfs.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (int i = 0; i < static_cast<int>(ColumnFamily::kStatistics); ++i) {
    cfs.emplace_back(std::string(kColumnFamilyNames[i]), rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(), dir.Sub("db"), cfs, &handles, &db);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_THAT(s.ToString(), HasSubstr("statistics"));
}

TEST(ReportStoreTest, RefusesADatabaseWithANewerSchema) {
  testing::TempDir dir;
  OpenOrDie(dir.Sub("db")).reset();
  {  // Rewrite the schema version as a newer build would.
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    cfs.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
    for (int i = 0; i < kColumnFamilyCount; ++i) {
      cfs.emplace_back(std::string(kColumnFamilyNames[i]),
                       StoreFamilyOptions(static_cast<ColumnFamily>(i)));
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    rocksdb::DBOptions options;
    options.allow_concurrent_memtable_write = false;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir.Sub("db"), cfs, &handles, &db).ok());
    std::string v;
    PutFixed32BE(&v, kSchemaVersion + 1);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[1 + static_cast<int>(ColumnFamily::kMeta)],
                        "schema_version", v)
                    .ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  auto store = ReportStore::Open(testing::TestStoreOptions(dir.Sub("db")));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("newer version"));
}

void WriteSchemaVersion(const std::string& path, uint32_t version) {
  testing::RawDb raw(path);
  std::string v;
  PutFixed32BE(&v, version);
  raw.Put(ColumnFamily::kMeta, "schema_version", v);
}

uint32_t SchemaVersion(const std::string& path) {
  testing::RawDb raw(path);
  const std::string v = raw.Get(ColumnFamily::kMeta, "schema_version");
  absl::string_view in(v);
  return GetFixed32BE(&in).value_or(0);
}

// A store of schema 1 opens and is marked as this schema (the statistics family was created
// at open); after that a schema-1 build would be refused by the family check above.
TEST(ReportStoreTest, AStoreOfTheFirstSchemaIsUpgradedAtOpen) {
  testing::TempDir dir;
  OpenOrDie(dir.Sub("db")).reset();
  WriteSchemaVersion(dir.Sub("db"), 1);
  OpenOrDie(dir.Sub("db")).reset();
  EXPECT_EQ(SchemaVersion(dir.Sub("db")), 3u);
  EXPECT_EQ(kSchemaVersion, 3u);
}

// Schema 2 counted every dimension alone; schema 3 keeps only the reporter type alone (the
// others are sums of its pairs), and the upgrade deletes the rest, in the count series only.
TEST(ReportStoreTest, AStoreOfSchemaTwoLosesItsSingleDimensionCountersAtOpen) {
  testing::TempDir dir;
  OpenOrDie(dir.Sub("db")).reset();
  const int32_t day = 20535;
  const std::vector<std::vector<GroupPart>> kept = {
      {}, {{1, "1"}}, {{1, "3"}, {7, "Merseyside"}}, {{1, "1"}, {9, "0-4"}}};
  const std::vector<std::vector<GroupPart>> dropped = {
      {{2, "4"}}, {{7, "Merseyside"}}, {{11, "2"}}};
  std::vector<std::string> kept_keys;
  std::vector<std::string> dropped_keys;
  for (uint8_t series : {1, 2}) {
    for (const auto& g : kept) kept_keys.push_back(*CounterKey(series, g, day));
    for (const auto& g : dropped) dropped_keys.push_back(*CounterKey(series, g, day));
  }
  // Other series keep groups of one part (none is written today, but they are not counts).
  kept_keys.push_back(*CounterKey(5, {{7, "Merseyside"}}, day));
  kept_keys.push_back(*CounterKey(3, {{8, "child"}}, day * 24));
  {
    testing::RawDb raw(dir.Sub("db"));
    for (const auto* keys : {&kept_keys, &dropped_keys}) {
      for (const std::string& key : *keys) {
        raw.Put(ColumnFamily::kStatistics, key, EncodeCounterCells({0, 2, 5}));
      }
    }
  }
  WriteSchemaVersion(dir.Sub("db"), 2);
  OpenOrDie(dir.Sub("db")).reset();
  EXPECT_EQ(SchemaVersion(dir.Sub("db")), 3u);
  testing::RawDb raw(dir.Sub("db"));
  rocksdb::ReadOptions options;
  options.total_order_seek = true;  // across groups (counter_keys.h)
  std::unique_ptr<rocksdb::Iterator> it(
      raw.db()->NewIterator(options, raw.cf(ColumnFamily::kStatistics)));
  std::vector<std::string> left;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    left.push_back(it->key().ToString());
    EXPECT_EQ(DecodeCounterCells(it->value().ToString()), (std::vector<uint64_t>{0, 2, 5}));
  }
  EXPECT_THAT(left, ::testing::UnorderedElementsAreArray(kept_keys));
  for (const std::string& key : dropped_keys) {
    std::string value;
    EXPECT_TRUE(raw.db()
                    ->Get(rocksdb::ReadOptions(), raw.cf(ColumnFamily::kStatistics), key, &value)
                    .IsNotFound());
  }
}

TEST(ReportStoreTest, SubmittedReportIsReadableWithEventAndQueueEntry) {
  testing::TempDir dir;
  auto store = OpenOrDie(dir.Sub("db"));
  NewReport r = MakeNewReport("req-1", "fp-1");
  const v1::Report expected = r.report;
  auto response = SubmitAndWait(*store, r);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->report_id(), expected.id());

  auto id = *ReportId::Parse(expected.id());
  auto read = store->reports().Read(id);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->SerializeAsString(), expected.SerializeAsString());

  auto events = store->reports().ReadEvents(id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type(), v1::REPORT_EVENT_TYPE_SUBMITTED);

  std::vector<QueueKeyParts> entries;
  ASSERT_TRUE(store->queue().Scan([&](const QueueKeyParts& p) { entries.push_back(p); }).ok());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].queue, "child");
  EXPECT_EQ(entries[0].tier, v1::PRIORITY_URGENT);
  EXPECT_EQ(entries[0].id, id);
  EXPECT_EQ(entries[0].due_micros, TimeUtil::TimestampToMicroseconds(expected.triage().due_time()));
}

TEST(ReportStoreTest, UnknownReportIsNotFound) {
  testing::TempDir dir;
  auto store = OpenOrDie(dir.Sub("db"));
  auto read = store->reports().Read(ReportId::Generate(absl::Now()));
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
}

TEST(ReportStoreTest, RetryWithSameContentReturnsFirstResponseAndStoresNothingNew) {
  testing::TempDir dir;
  auto store = OpenOrDie(dir.Sub("db"));
  auto first = SubmitAndWait(*store, MakeNewReport("req-1", "fp-same"));
  ASSERT_TRUE(first.ok());
  // A retry builds a new report (new id) from the same content: the first one wins.
  auto retry = SubmitAndWait(*store, MakeNewReport("req-1", "fp-same"));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->report_id(), first->report_id());
  EXPECT_EQ(QueueEntries(*store), 1);
}

TEST(ReportStoreTest, ReusedRequestIdWithDifferentContentIsAlreadyExists) {
  testing::TempDir dir;
  auto store = OpenOrDie(dir.Sub("db"));
  ASSERT_TRUE(SubmitAndWait(*store, MakeNewReport("req-1", "fp-a")).ok());
  auto conflict = SubmitAndWait(*store, MakeNewReport("req-1", "fp-b"));
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(QueueEntries(*store), 1);
}

TEST(ReportStoreTest, SameRequestIdFromAnotherCallerIsIndependent) {
  testing::TempDir dir;
  auto store = OpenOrDie(dir.Sub("db"));
  NewReport a = MakeNewReport("req-1", "fp-a");
  NewReport b = MakeNewReport("req-1", "fp-b");
  b.caller_scope = "other-app";
  ASSERT_TRUE(SubmitAndWait(*store, a).ok());
  ASSERT_TRUE(SubmitAndWait(*store, b).ok());
  EXPECT_EQ(QueueEntries(*store), 2);
}

TEST(ReportStoreTest, ConcurrentDuplicatesWhileTheFirstIsInFlightGetOneReport) {
  testing::TempDir dir;
  auto store = OpenOrDie(dir.Sub("db"));
  constexpr int kCopies = 50;
  std::vector<absl::StatusOr<v1::SubmitReportResponse>> results(kCopies);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCopies; ++i) {
    threads.emplace_back(
        [&, i] { results[i] = SubmitAndWait(*store, MakeNewReport("dup", "fp-dup")); });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(results[0].ok()) << results[0].status();
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->report_id(), results[0]->report_id());
  }
  EXPECT_EQ(QueueEntries(*store), 1);
}

TEST(ReportStoreTest, ReopenKeepsReportsAndRequestRecords) {
  testing::TempDir dir;
  std::vector<std::string> ids;
  {
    auto store = OpenOrDie(dir.Sub("db"));
    for (int i = 0; i < 20; ++i) {
      auto r = SubmitAndWait(*store, MakeNewReport("req-" + std::to_string(i), "fp"));
      ASSERT_TRUE(r.ok());
      ids.push_back(r->report_id());
    }
  }
  auto store = OpenOrDie(dir.Sub("db"));
  for (const auto& id : ids) EXPECT_TRUE(store->reports().Read(*ReportId::Parse(id)).ok()) << id;
  EXPECT_EQ(QueueEntries(*store), 20);
  auto retry = SubmitAndWait(*store, MakeNewReport("req-3", "fp"));
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->report_id(), ids[3]) << "idempotency must survive a restart";
}

TEST(ReportStoreTest, WalFailureAnswersUnavailableKeepsReadsAndLosesNothingAcknowledged) {
  testing::TempDir dir;
  testing::FaultyEnv faulty;
  auto store = OpenOrDie(dir.Sub("db"), faulty.env.get());
  auto before = SubmitAndWait(*store, MakeNewReport("ok-1", "fp"));
  ASSERT_TRUE(before.ok());

  faulty.fs->set_fail_wal(true);
  NewReport lost = MakeNewReport("during-fault", "fp");
  const std::string lost_id = lost.report.id();
  auto failed = SubmitAndWait(*store, std::move(lost));
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable) << failed.status();
  // Reads keep working and the failed report is not visible.
  EXPECT_TRUE(store->reports().Read(*ReportId::Parse(before->report_id())).ok());
  EXPECT_EQ(store->reports().Read(*ReportId::Parse(lost_id)).status().code(),
            absl::StatusCode::kNotFound);

  // RocksDB treats a failed WAL append as unrecoverable until the database is reopened:
  // writes keep answering UNAVAILABLE (never a crash, never a false acknowledgement) until
  // then (services/supervised_server.h reopens the store in the server).
  faulty.fs->set_fail_wal(false);
  auto still = SubmitAndWait(*store, MakeNewReport("during-fault", "fp"));
  EXPECT_EQ(still.status().code(), absl::StatusCode::kUnavailable) << still.status();
  EXPECT_TRUE(store->reports().Read(*ReportId::Parse(before->report_id())).ok());

  // After a restart the acknowledged report is there, the failed one is not, and the
  // request id stayed free, so the client's retry is stored now.
  store.reset();
  store = OpenOrDie(dir.Sub("db"), faulty.env.get());
  EXPECT_TRUE(store->reports().Read(*ReportId::Parse(before->report_id())).ok());
  EXPECT_EQ(store->reports().Read(*ReportId::Parse(lost_id)).status().code(),
            absl::StatusCode::kNotFound);
  auto retried = SubmitAndWait(*store, MakeNewReport("during-fault", "fp"));
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(QueueEntries(*store), 2);
}

}  // namespace
}  // namespace safeguarding::storage

namespace safeguarding::storage {
namespace {

// Every regular file under `dir`, read whole.
std::vector<std::pair<std::string, std::string>> ReadAllFiles(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    files.emplace_back(entry.path().string(), bytes.str());
  }
  return files;
}

TEST(ReportStoreEncryptionTest, DescriptionAndContactNeverReachTheDiskInTheClear) {
  testing::TempDir dir;
  const std::string marker = "MARKER-" + ReportId::Generate(absl::Now()).ToString();
  std::string id;
  {
    auto store = OpenOrDie(dir.Sub("db"));
    NewReport r = MakeNewReport("secret-1", "fp");
    r.report.mutable_submission()->set_description("the child said " + marker);
    r.report.mutable_submission()->mutable_reporter()->mutable_contact()->set_email(marker +
                                                                                    "@example.org");
    id = r.report.id();
    ASSERT_TRUE(SubmitAndWait(*store, r).ok());
    auto read = store->reports().Read(*ReportId::Parse(id));
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->submission().description(), "the child said " + marker);
    EXPECT_EQ(read->submission().reporter().contact().email(), marker + "@example.org");
    // Before the flush the report is only in the WAL; after it, also in SST files.
    for (const auto& [path, bytes] : ReadAllFiles(dir.Sub("db"))) {
      EXPECT_EQ(bytes.find(marker), std::string::npos) << "plaintext in " << path;
    }
    ASSERT_TRUE(store->engine().Flush().ok());
  }
  int sst_files = 0;
  for (const auto& [path, bytes] : ReadAllFiles(dir.Sub("db"))) {
    sst_files += absl::EndsWith(path, ".sst");
    EXPECT_EQ(bytes.find(marker), std::string::npos) << "plaintext in " << path;
  }
  EXPECT_GT(sst_files, 0) << "the flush wrote no table files; the check proved nothing";
}

TEST(ReportStoreEncryptionTest, AWrongKeyFileAtStartIsAClearError) {
  testing::TempDir dir;
  OpenOrDie(dir.Sub("db")).reset();
  StoreOptions options = testing::TestStoreOptions(dir.Sub("db"));
  options.key_file = testing::TestKeyFile(dir.Sub("other"));
  auto store = ReportStore::Open(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("does not hold key"));
  EXPECT_THAT(store.status().message(), HasSubstr("wrong --key_file"));
}

TEST(ReportStoreEncryptionTest, AMissingKeyFileIsAClearError) {
  testing::TempDir dir;
  StoreOptions options = testing::TestStoreOptions(dir.Sub("db"));
  options.key_file = dir.Sub("no-such-key");
  auto store = ReportStore::Open(options);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr("no-such-key"));
}

TEST(ReportStoreEncryptionTest, RotationReencryptsEveryReportAndOldDataStaysReadable) {
  testing::TempDir dir;
  constexpr int kReports = 600;  // more than one re-encryption chunk
  std::vector<std::string> ids;
  uint32_t new_key = 0;
  {
    auto store = OpenOrDie(dir.Sub("db"));
    for (int i = 0; i < kReports; ++i) {
      NewReport r = MakeNewReport(absl::StrCat("rot-", i), "fp");
      r.report.mutable_submission()->set_description(absl::StrCat("report ", i));
      ids.push_back(r.report.id());
      ASSERT_TRUE(SubmitAndWait(*store, r).ok());
    }
    auto rotate = [&] {
      absl::Notification done;
      absl::StatusOr<KeyRotation> result;
      store->keys().Rotate([&](absl::StatusOr<KeyRotation> r) {
        result = std::move(r);
        done.Notify();
      });
      done.WaitForNotification();
      return result;
    };
    auto rotation = rotate();
    ASSERT_TRUE(rotation.ok()) << rotation.status();
    new_key = rotation->new_key_id;
    // A second rotation while the first is re-encrypting is refused, not interleaved.
    if (store->keys().reencrypting()) {
      EXPECT_EQ(rotate().status().code(), absl::StatusCode::kFailedPrecondition);
    }
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (store->keys().reencrypting() && absl::Now() < give_up)
      absl::SleepFor(absl::Milliseconds(5));
    ASSERT_FALSE(store->keys().reencrypting());
    EXPECT_EQ(store->keys().reencrypted_count(), static_cast<uint64_t>(kReports));
    EXPECT_EQ(store->keys().reencrypt_failures(), 0u);
  }
  EXPECT_EQ(std::filesystem::file_size(dir.Sub("db") + ".key"), 64u) << "old key must stay";
  auto keys = KeyRing::LoadFile(dir.Sub("db") + ".key");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->current_key_id(), new_key);
  auto store = OpenOrDie(dir.Sub("db"));
  for (int i = 0; i < kReports; i += 37) {
    auto read = store->reports().Read(*ReportId::Parse(ids[i]));
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->submission().description(), absl::StrCat("report ", i));
  }
}

}  // namespace
}  // namespace safeguarding::storage
