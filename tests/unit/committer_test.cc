// Group commit: every mutation is acknowledged exactly once, after it is durable and
// visible, in submission order; pending work is committed on shutdown.
#include "storage/committer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/call_liveness.h"
#include "rocksdb/db.h"
#include "storage/audit_trail.h"
#include "storage/counter_cells.h"
#include "storage/counter_keys.h"
#include "storage/key_encoding.h"
#include "tests/support/faulty_fs.h"
#include "tests/support/temp_dir.h"

namespace safeguarding::storage {
namespace {

constexpr char kAuditKey[] = "committer test audit key";

// Holds `committer` in a computed change until `release` is notified; returns once it is
// held, so that what is committed next queues up behind it.
void HoldCommitter(Committer& committer, absl::Notification& release) {
  absl::Notification holding;
  committer.CommitComputed(
      [&]() -> absl::StatusOr<Mutation> {
        holding.Notify();
        release.WaitForNotification();
        return Mutation();
      },
      [](absl::Status) {});
  holding.WaitForNotification();
}

class CommitterTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(OpenDb(nullptr)); }
  void TearDown() override { CloseDb(); }

  // Opens the database in dir_ (creating it) through `env` (nullptr: the default).
  void OpenDb(rocksdb::Env* env) {
    rocksdb::DBOptions options;
    options.env = env != nullptr ? env : rocksdb::Env::Default();
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    cfs.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
    for (auto name : kColumnFamilyNames) {
      rocksdb::ColumnFamilyOptions family;
      if (name == kColumnFamilyNames[static_cast<int>(ColumnFamily::kStatistics)]) {
        family.merge_operator = NewCounterMergeOperator();
      }
      cfs.emplace_back(std::string(name), family);
    }
    rocksdb::DB* db = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_.path(), cfs, &handles, &db).ok());
    db_.reset(db);
    default_ = handles[0];
    handles_.assign(handles.begin() + 1, handles.end());
  }
  void CloseDb() {
    if (db_ == nullptr) return;
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->DestroyColumnFamilyHandle(default_);
    handles_.clear();
    db_.reset();
  }

  // Commits one Put into the reports family and waits for its outcome.
  absl::Status PutAndWait(Committer& committer, const std::string& key) {
    Mutation m;
    m.Put(ColumnFamily::kReports, key, "v");
    absl::Notification done;
    absl::Status outcome;
    committer.Commit(std::move(m), [&](absl::Status s) {
      outcome = std::move(s);
      done.Notify();
    });
    done.WaitForNotification();
    return outcome;
  }

  std::string Read(ColumnFamily family, const std::string& key) {
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), handles_[static_cast<int>(family)], key, &value);
    return s.ok() ? value : absl::StrCat("<", s.ToString(), ">");
  }

  testing::TempDir dir_;
  testing::FaultyEnv faulty_;  // for the tests that fail the disk: outlives db_
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* default_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

TEST_F(CommitterTest, CallbackRunsAfterAllWritesOfTheMutationAreVisible) {
  Committer committer(db_.get(), handles_, CommitterOptions{}, AuditHead(), kAuditKey);
  Mutation m;
  m.Put(ColumnFamily::kReports, "r1", "report");
  m.Put(ColumnFamily::kEvents, "e1", "event");
  std::string seen_report, seen_event;
  absl::Notification done;
  committer.Commit(std::move(m), [&](absl::Status s) {
    EXPECT_TRUE(s.ok()) << s;
    seen_report = Read(ColumnFamily::kReports, "r1");
    seen_event = Read(ColumnFamily::kEvents, "e1");
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_EQ(seen_report, "report");
  EXPECT_EQ(seen_event, "event");
}

TEST_F(CommitterTest, ManyProducersEachAcknowledgedExactlyOnceInOrderPerProducer) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::vector<std::vector<int>> acked(kThreads);
  absl::Mutex mu;
  std::atomic<int> callbacks{0};
  {
    Committer committer(db_.get(), handles_, CommitterOptions{}, AuditHead(), kAuditKey);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          Mutation m;
          m.Put(ColumnFamily::kReports, absl::StrCat(t, "/", i), "v");
          committer.Commit(std::move(m), [&, t, i](absl::Status s) {
            EXPECT_TRUE(s.ok()) << s;
            absl::MutexLock lock(&mu);
            acked[t].push_back(i);
            callbacks.fetch_add(1);
          });
        }
      });
    }
    for (auto& th : threads) th.join();
  }  // destructor drains what is still pending
  EXPECT_EQ(callbacks.load(), kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(acked[t].size(), static_cast<size_t>(kPerThread));
    for (int i = 0; i < kPerThread; ++i) {
      EXPECT_EQ(acked[t][i], i) << "producer " << t << " acknowledged out of order";
      EXPECT_EQ(Read(ColumnFamily::kReports, absl::StrCat(t, "/", i)), "v");
    }
  }
}

TEST_F(CommitterTest, MaxBatchOfOneStillCommitsEverything) {
  std::atomic<int> ok{0};
  {
    Committer committer(db_.get(), handles_, CommitterOptions{.max_batch = 1}, AuditHead(),
                        kAuditKey);
    for (int i = 0; i < 50; ++i) {
      Mutation m;
      m.Put(ColumnFamily::kQueue, absl::StrCat("k", i), "");
      committer.Commit(std::move(m), [&](absl::Status s) { ok += s.ok(); });
    }
  }
  EXPECT_EQ(ok.load(), 50);
  EXPECT_EQ(Read(ColumnFamily::kQueue, "k49"), "");
}

TEST_F(CommitterTest, DeleteAndMergeOpsAreApplied) {
  Committer committer(db_.get(), handles_, CommitterOptions{}, AuditHead(), kAuditKey);
  absl::Notification first;
  Mutation put;
  put.Put(ColumnFamily::kMeta, "gone", "x");
  committer.Commit(std::move(put), [&](absl::Status) { first.Notify(); });
  first.WaitForNotification();
  absl::Notification second;
  Mutation del;
  del.Delete(ColumnFamily::kMeta, "gone");
  committer.Commit(std::move(del), [&](absl::Status s) {
    EXPECT_TRUE(s.ok());
    second.Notify();
  });
  second.WaitForNotification();
  EXPECT_NE(Read(ColumnFamily::kMeta, "gone"), "x");
}

// Counts of the changes of one batch are added up per key and cell into one merge operand;
// the counts of a later batch are another operand; the sum is what is read.
TEST_F(CommitterTest, CountsOfOneBatchAreOneOperandPerKeyAndCell) {
  Committer committer(db_.get(), handles_, CommitterOptions{}, AuditHead(), kAuditKey);
  const std::string day = *CounterKey(1, {}, 20535), other = *CounterKey(1, {{1, "2"}}, 20535);
  // A computed change holds the committer while 20 changes queue up behind it: they go
  // together in the next batch.
  absl::Notification release;
  HoldCommitter(committer, release);
  std::atomic<int> done{0};
  for (int i = 0; i < 20; ++i) {
    Mutation m;
    m.Count(day, static_cast<uint16_t>(i % 3), 1);
    m.Count(other, 5, 2);
    m.Put(ColumnFamily::kMeta, absl::StrCat("change-", i), "x");
    committer.Commit(std::move(m), [&](absl::Status s) {
      EXPECT_TRUE(s.ok());
      ++done;
    });
  }
  release.Notify();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (done.load() < 20 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(done.load(), 20);
  rocksdb::ColumnFamilyHandle* counters = handles_[static_cast<int>(ColumnFamily::kStatistics)];
  auto operands = [&](const std::string& key) {
    std::vector<rocksdb::PinnableSlice> slices(32);
    rocksdb::GetMergeOperandsOptions options;
    options.expected_max_number_of_operands = 32;
    int n = 0;
    EXPECT_TRUE(
        db_->GetMergeOperands(rocksdb::ReadOptions(), counters, key, slices.data(), &options, &n)
            .ok());
    return n;
  };
  EXPECT_EQ(operands(day), 3) << "20 changes in one batch to three cells: three operands";
  EXPECT_EQ(operands(other), 1) << "20 changes, one batch, one cell: one operand";
  EXPECT_EQ(DecodeCounterCells(Read(ColumnFamily::kStatistics, day)),
            (std::vector<uint64_t>{7, 7, 6}));
  EXPECT_EQ(DecodeCounterCells(Read(ColumnFamily::kStatistics, other)),
            (std::vector<uint64_t>{0, 0, 0, 0, 0, 40}));
  absl::Notification later;
  Mutation m;
  m.Count(day, 0, 10);
  committer.Commit(std::move(m), [&](absl::Status) { later.Notify(); });
  later.WaitForNotification();
  EXPECT_EQ(operands(day), 4);
  EXPECT_EQ(DecodeCounterCells(Read(ColumnFamily::kStatistics, day)),
            (std::vector<uint64_t>{17, 7, 6}));
}

TEST_F(CommitterTest, AuditEntriesAreChainedInCommitOrderWithTheHeadInMeta) {
  const AuditKeys keys(*KeyRing::FromKeys({std::string(32, 'a')}));
  int64_t fake_micros = 1'000'000;
  CommitterOptions options;
  // A clock that goes backwards: the trail's times must still never decrease.
  options.now = [&] { return absl::FromUnixMicros(fake_micros -= 10); };
  {
    AuditHead start;
    start.key_id = keys.current_id();
    Committer committer(db_.get(), handles_, options, start, keys.current_chain_key());
    for (int i = 0; i < 5; ++i) {
      Mutation m;
      // As a new store's trail begins: with the key change naming its audit key.
      if (i == 0) m.Audit(KeyChangeEntry(keys.current_id(), "", std::string(32, '\0')));
      v1::AuditEntry entry;
      entry.set_principal(absl::StrCat("p", i));
      m.Audit(entry);
      if (i == 2) m.Audit(entry);  // two entries in one mutation
      absl::Notification done;
      committer.Commit(std::move(m), [&](absl::Status s) {
        EXPECT_TRUE(s.ok());
        done.Notify();
      });
      done.WaitForNotification();
    }
  }
  AuditChainVerifier verifier(keys);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), handles_[static_cast<int>(ColumnFamily::kAudit)]));
  std::vector<std::string> principals;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::AuditEntry entry;
    ASSERT_TRUE(entry.ParseFromString(it->value().ToString()));
    auto key = ParseAuditKey(it->key().ToString());
    ASSERT_TRUE(key.has_value());
    verifier.Add(entry, key->time_micros, key->sequence);
    principals.push_back(entry.principal());
  }
  auto head = DecodeStoredHead(Read(ColumnFamily::kMeta, kAuditHeadKey));
  ASSERT_TRUE(head.has_value());
  EXPECT_TRUE(HeadSignatureValid(*head, keys.current_chain_key()));
  EXPECT_EQ(head->head.key_id, keys.current_id());
  verifier.Finish(*head);
  EXPECT_TRUE(verifier.intact()) << verifier.problem();
  EXPECT_EQ(head->head.sequence, 7u);
  EXPECT_EQ(principals,
            (std::vector<std::string>{"triage-server", "p0", "p1", "p2", "p2", "p3", "p4"}));
}

// Work whose caller has gone (cancelled while it waited, or past its deadline) is answered
// CANCELLED and never written, and leaves no gap in the audit chain; the rest of the same
// batch is written. Whether a change is wanted is asked when its batch is built, not when
// it was queued.
// The backlog is how long the oldest change still waiting for a batch has waited: zero
// with nothing queued, growing while the committer is held, zero again once it caught up.
TEST_F(CommitterTest, TheBacklogIsTheWaitOfTheOldestQueuedChange) {
  Committer committer(db_.get(), handles_, CommitterOptions{}, AuditHead(), kAuditKey);
  EXPECT_EQ(committer.backlog(), absl::ZeroDuration());
  absl::Notification release;
  HoldCommitter(committer, release);
  EXPECT_EQ(committer.backlog(), absl::ZeroDuration()) << "the held change is being written";

  absl::Notification first_done, second_done;
  Mutation first, second;
  first.Put(ColumnFamily::kReports, "r1", "report");
  second.Put(ColumnFamily::kReports, "r2", "report");
  const absl::Time queued = absl::Now();
  committer.Commit(std::move(first), [&](absl::Status s) {
    EXPECT_TRUE(s.ok()) << s;
    first_done.Notify();
  });
  absl::SleepFor(absl::Milliseconds(60));
  committer.Commit(std::move(second), [&](absl::Status s) {
    EXPECT_TRUE(s.ok()) << s;
    second_done.Notify();
  });
  const absl::Duration backlog = committer.backlog();
  EXPECT_GE(backlog, absl::Milliseconds(60)) << "the first change's wait, not the second's";
  EXPECT_LE(backlog, absl::Now() - queued);

  release.Notify();
  first_done.WaitForNotification();
  second_done.WaitForNotification();
  EXPECT_EQ(committer.backlog(), absl::ZeroDuration());
}

TEST_F(CommitterTest, ChangesNobodyWaitsForAreDroppedUnwrittenWhenTheirBatchIsBuilt) {
  const AuditKeys keys(*KeyRing::FromKeys({std::string(32, 'a')}));
  std::atomic<size_t> dropped_reported{0};
  CommitterOptions options;
  options.on_dropped = [&](size_t n) { dropped_reported += n; };
  AuditHead start;
  start.key_id = keys.current_id();
  std::vector<absl::Status> answers(3);
  {
    Committer committer(db_.get(), handles_, options, start, keys.current_chain_key());
    // Hold the committer so that all three wait in one queue.
    absl::Notification release;
    HoldCommitter(committer, release);

    auto live = std::make_shared<common::CallLiveness>(absl::InfiniteFuture());
    auto cancelled = std::make_shared<common::CallLiveness>(absl::InfiniteFuture());
    auto expired = std::make_shared<common::CallLiveness>(absl::Now() - absl::Seconds(1));
    absl::Mutex mu;
    int answered = 0;
    const std::shared_ptr<common::CallLiveness> callers[] = {live, cancelled, expired};
    for (int i = 0; i < 3; ++i) {
      Mutation m;
      m.Put(ColumnFamily::kReports, absl::StrCat("r", i), "report");
      v1::AuditEntry entry;
      entry.set_principal(absl::StrCat("p", i));
      m.Audit(entry);
      m.SetWanted(callers[i]);
      committer.Commit(std::move(m), [&, i](absl::Status s) {
        absl::MutexLock lock(&mu);
        answers[i] = s;
        ++answered;
      });
    }
    cancelled->Cancel();  // after it was queued: still dropped
    release.Notify();
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int* n) { return *n == 3; }, &answered));
  }
  EXPECT_TRUE(answers[0].ok()) << answers[0];
  EXPECT_EQ(answers[1].code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(answers[2].code(), absl::StatusCode::kCancelled);
  EXPECT_NE(answers[1].message().find("nothing was stored"), std::string::npos);
  EXPECT_EQ(Read(ColumnFamily::kReports, "r0"), "report");
  EXPECT_EQ(Read(ColumnFamily::kReports, "r1"), "<NotFound: >");
  EXPECT_EQ(Read(ColumnFamily::kReports, "r2"), "<NotFound: >");
  EXPECT_EQ(dropped_reported.load(), 2u);
  auto head = DecodeStoredHead(Read(ColumnFamily::kMeta, kAuditHeadKey));
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->head.sequence, 1u) << "only the written change's entry is in the chain";
}

// A failing device (EIO on the WAL): RocksDB 7.8 holds it as fatal, so no Resume heals it
// in place. The committer asks for a reopen once, only after the disk takes a synced file
// again; a reopened database then writes.
TEST_F(CommitterTest, AFatalDeviceErrorAsksForAReopenOnlyOnceTheDiskWorksAgain) {
  CloseDb();
  ASSERT_NO_FATAL_FAILURE(OpenDb(faulty_.env.get()));
  std::atomic<int> asked{0};
  std::string why;
  {
    CommitterOptions options;
    options.probe_interval = absl::Milliseconds(20);
    options.on_reopen_needed = [&](const std::string& reason) {
      why = reason;
      asked.fetch_add(1);
    };
    Committer committer(db_.get(), handles_, options, AuditHead(), kAuditKey);
    ASSERT_TRUE(PutAndWait(committer, "before").ok());

    faulty_.fs->set_fail_device(true);
    EXPECT_EQ(PutAndWait(committer, "during").code(), absl::StatusCode::kUnavailable);
    absl::SleepFor(absl::Milliseconds(300));  // many probes, all on a failing device
    EXPECT_EQ(asked.load(), 0) << "a reopen on a failing device would fail too";
    EXPECT_EQ(PutAndWait(committer, "during").code(), absl::StatusCode::kUnavailable);

    faulty_.fs->set_fail_device(false);
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (asked.load() == 0 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(10));
    ASSERT_EQ(asked.load(), 1);
    EXPECT_NE(why, "");
    // Still refused in place: only the reopen heals it, and it is asked for once.
    EXPECT_EQ(PutAndWait(committer, "after").code(), absl::StatusCode::kUnavailable);
    absl::SleepFor(absl::Milliseconds(200));
    EXPECT_EQ(asked.load(), 1);
  }
  CloseDb();
  ASSERT_NO_FATAL_FAILURE(OpenDb(faulty_.env.get()));
  Committer committer(db_.get(), handles_, CommitterOptions{}, AuditHead(), kAuditKey);
  EXPECT_TRUE(PutAndWait(committer, "after").ok());
  EXPECT_EQ(Read(ColumnFamily::kReports, "before"), "v") << "acknowledged before the fault";
  EXPECT_EQ(Read(ColumnFamily::kReports, "after"), "v");
  EXPECT_NE(Read(ColumnFamily::kReports, "during"), "v") << "refused, so never written";
}

}  // namespace
}  // namespace safeguarding::storage
