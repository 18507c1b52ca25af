// ReportRecords (storage/report_records.h) on a real store: a slow read of the request log
// for one submission holds up neither other submissions nor the in-flight guarantee (a
// duplicate still waits for the first and gets its answer).
#include "storage/report_records.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/call_liveness.h"
#include "google/protobuf/util/time_util.h"
#include "storage/report_store.h"
#include "tests/support/faulty_fs.h"
#include "tests/support/sample_reports.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_server.h"

namespace safeguarding::storage {
namespace {

using ::google::protobuf::util::TimeUtil;

NewReport Report(const std::string& caller, const std::string& request_id,
                 const std::string& fingerprint) {
  return testing::SampleNewReport(caller, request_id, fingerprint);
}

// Submits and returns a notification that fires with the result.
struct Pending {
  absl::Notification done;
  absl::StatusOr<v1::SubmitReportResponse> result;
};
std::unique_ptr<Pending> Start(ReportStore& store, NewReport r) {
  auto pending = std::make_unique<Pending>();
  Pending* p = pending.get();
  store.reports().Submit(std::move(r), [p](absl::StatusOr<v1::SubmitReportResponse> result) {
    p->result = std::move(result);
    p->done.Notify();
  });
  return pending;
}

TEST(ReportRecordsTest, ASlowRequestLogReadHoldsUpNoOtherSubmission) {
  testing::TempDir dir;
  testing::FaultyEnv faulty;
  std::string first_id;
  {
    auto store = ReportStore::Open(testing::TestStoreOptions(dir.Sub("db"), faulty.env.get()));
    ASSERT_TRUE(store.ok()) << store.status();
    auto first = Start(**store, Report("intake-app", "slow-1", "content A"));
    first->done.WaitForNotification();
    ASSERT_TRUE(first->result.ok()) << first->result.status();
    first_id = first->result->report_id();
    ASSERT_TRUE((*store)->engine().Flush().ok());  // the request record now lives in a table file
  }
  auto store = ReportStore::Open(testing::TestStoreOptions(dir.Sub("db"), faulty.env.get()));
  ASSERT_TRUE(store.ok()) << store.status();

  faulty.fs->HoldTableReads();
  // A retry must read the request log from the table file: it stalls there, on its own
  // thread (a handler thread, in the server).
  std::unique_ptr<Pending> retry;
  std::thread retry_thread(
      [&] { retry = Start(**store, Report("intake-app", "slow-1", "content A")); });
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (faulty.fs->table_reads_waiting() == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_GT(faulty.fs->table_reads_waiting(), 0) << "the retry did not reach the disk";

  // Meanwhile another caller's new report (its request key lies outside the table file, so
  // its lookup needs no read) is stored and answered.
  auto other = Start(**store, Report("zzzzzzzzzzzzzzzzzzzz", "other-1", "content B"));
  EXPECT_TRUE(other->done.WaitForNotificationWithTimeout(absl::Seconds(10)))
      << "a slow read of one request held up another submission";
  // And a duplicate of the stalled retry waits for it rather than reading or writing.
  auto duplicate = Start(**store, Report("intake-app", "slow-1", "content A"));
  EXPECT_FALSE(duplicate->done.WaitForNotificationWithTimeout(absl::Milliseconds(50)));

  faulty.fs->ReleaseTableReads();
  retry_thread.join();
  retry->done.WaitForNotification();
  duplicate->done.WaitForNotification();
  other->done.WaitForNotification();
  ASSERT_TRUE(other->result.ok()) << other->result.status();
  ASSERT_TRUE(retry->result.ok()) << retry->result.status();
  ASSERT_TRUE(duplicate->result.ok()) << duplicate->result.status();
  EXPECT_EQ(retry->result->report_id(), first_id);
  EXPECT_EQ(duplicate->result->report_id(), first_id);
}

// A retry that joins a submission just after the committer found nobody waiting for it
// (the window between that check and the drop's answer) is told to retry: UNAVAILABLE,
// not the CANCELLED of a call that gave up. Its next try is stored.
TEST(ReportRecordsTest, ARetryJoiningASubmitBeingDroppedIsToldToRetry) {
  testing::TempDir dir;
  testing::FaultyEnv faulty;
  auto store = ReportStore::Open(testing::TestStoreOptions(dir.Sub("db"), faulty.env.get()));
  ASSERT_TRUE(store.ok()) << store.status();
  faulty.fs->HoldWalSyncs();
  auto blocker = Start(**store, Report("intake-app", "blocker", "content B"));
  for (const absl::Time give_up = absl::Now() + absl::Seconds(10);
       faulty.fs->wal_syncs_waiting() == 0 && absl::Now() < give_up;) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_GT(faulty.fs->wal_syncs_waiting(), 0) << "the committer is in the blocker's fsync";

  auto gave_up = std::make_shared<common::CallLiveness>(absl::InfiniteFuture());
  NewReport first = Report("intake-app", "req", "content A");
  first.liveness = gave_up;
  auto dropped = Start(**store, std::move(first));
  // Queued behind it in the same batch: a change whose wanted-check runs right after the
  // first's, where a live retry joins the submission the committer is about to drop.
  std::unique_ptr<Pending> late_retry;
  Mutation hook;
  hook.Put(ColumnFamily::kRequests, "test-hook", "");
  hook.SetWanted([&](absl::Time) {
    NewReport retry = Report("intake-app", "req", "content A");
    retry.liveness = std::make_shared<common::CallLiveness>(absl::InfiniteFuture());
    late_retry = Start(**store, std::move(retry));
    return true;
  });
  absl::Notification hook_written;
  Committer::Callback hook_done = [&](absl::Status s) {
    EXPECT_TRUE(s.ok()) << s;
    hook_written.Notify();
  };
  ASSERT_TRUE((*store)->engine().committer().Enqueue(hook, hook_done).ok());
  gave_up->Cancel();
  faulty.fs->ReleaseWalSyncs();

  blocker->done.WaitForNotification();
  dropped->done.WaitForNotification();
  hook_written.WaitForNotification();
  ASSERT_NE(late_retry, nullptr);
  late_retry->done.WaitForNotification();
  EXPECT_TRUE(blocker->result.ok()) << blocker->result.status();
  EXPECT_EQ(dropped->result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(late_retry->result.status().code(), absl::StatusCode::kUnavailable)
      << late_retry->result.status();
  EXPECT_THAT(std::string(late_retry->result.status().message()), ::testing::HasSubstr("retry"));

  auto again = Start(**store, Report("intake-app", "req", "content A"));
  again->done.WaitForNotification();
  EXPECT_TRUE(again->result.ok()) << again->result.status();
}

TEST(ReportRecordsTest, AReusedRequestIdIsRefusedWhileTheFirstIsInFlightOrStored) {
  testing::TempDir dir;
  auto store = ReportStore::Open(testing::TestStoreOptions(dir.Sub("db")));
  ASSERT_TRUE(store.ok()) << store.status();
  auto first = Start(**store, Report("intake-app", "req", "content A"));
  auto reuse = Start(**store, Report("intake-app", "req", "content B"));
  first->done.WaitForNotification();
  reuse->done.WaitForNotification();
  EXPECT_TRUE(first->result.ok()) << first->result.status();
  EXPECT_EQ(reuse->result.status().code(), absl::StatusCode::kAlreadyExists);
  auto later = Start(**store, Report("intake-app", "req", "content B"));
  later->done.WaitForNotification();
  EXPECT_EQ(later->result.status().code(), absl::StatusCode::kAlreadyExists);
}

// The requests family is hashed by whole key in its memtable and prefix-filtered by whole
// key in its table files: every stored request is found again, wherever it lives (memtable,
// a flushed table file, after a reopen), and one never stored is not.
TEST(ReportRecordsTest, EveryStoredRequestIsFoundInTheMemtableTableFilesAndAfterReopen) {
  testing::TempDir dir;
  // request id -> (content, report id)
  std::map<std::string, std::pair<std::string, std::string>> ids;
  const auto submit_all = [&](ReportStore& store, int from, int to) {
    for (int i = from; i < to; ++i) {
      const std::string request = absl::StrCat("req-", i * 7919 % 1000);  // in no order
      const std::string content = absl::StrCat("content ", i);
      auto p = Start(store, Report("intake-app", request, content));
      p->done.WaitForNotification();
      ASSERT_TRUE(p->result.ok()) << p->result.status();
      ids[request] = {content, p->result->report_id()};
    }
  };
  const auto replay_all = [&](ReportStore& store) {
    for (const auto& [request, stored] : ids) {
      auto p = Start(store, Report("intake-app", request, stored.first));
      p->done.WaitForNotification();
      ASSERT_TRUE(p->result.ok()) << request << " " << p->result.status();
      EXPECT_EQ(p->result->report_id(), stored.second) << request;  // the stored answer again
    }
  };
  {
    auto store = ReportStore::Open(testing::TestStoreOptions(dir.Sub("db")));
    ASSERT_TRUE(store.ok()) << store.status();
    submit_all(**store, 0, 150);
    ASSERT_TRUE((*store)->engine().Flush().ok());  // these now in a table file
    submit_all(**store, 150, 300);                 // these in the memtable
    replay_all(**store);
    auto other = Start(**store, Report("intake-app", "never-sent", "content"));
    other->done.WaitForNotification();
    ASSERT_TRUE(other->result.ok());
    EXPECT_EQ(ids.count("never-sent"), 0u);
    for (const auto& [request, stored] : ids) EXPECT_NE(other->result->report_id(), stored.second);
  }
  auto store = ReportStore::Open(testing::TestStoreOptions(dir.Sub("db")));
  ASSERT_TRUE(store.ok()) << store.status();
  replay_all(**store);
}

}  // namespace
}  // namespace safeguarding::storage
