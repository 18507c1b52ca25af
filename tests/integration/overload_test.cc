// Overload, against a real in-process server on a free loopback port whose disk is made
// slow (WAL syncs held by a FaultyFileSystem): work for a client that gave up is dropped
// before the disk, a full call budget refuses at once with RESOURCE_EXHAUSTED, the budgets
// are separate, so no kind of call can take another's slots, and calls that fail to
// authenticate take none.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/server.h"
#include "tests/support/faulty_fs.h"
#include "tests/support/sample_reports.h"
#include "tests/support/server_clients.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_credentials.h"
#include "tests/support/test_server.h"

namespace safeguarding {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using ::testing::HasSubstr;

// The value of the sample `series` (name and labels, as the scrape spells them), or -1.
double SampleValue(const std::string& scrape, const std::string& series) {
  const std::string line_start = "\n" + series + " ";
  const size_t at = scrape.find(line_start);
  if (at == std::string::npos) return -1;
  return std::stod(scrape.substr(at + line_start.size()));
}

class OverloadTest : public ::testing::Test {
 protected:
  OverloadTest()
      : credentials_(dir_.Sub("credentials")),
        options_(testing::LoopbackTestOptions(dir_.Sub("db"), credentials_.path())) {
    options_.storage_env = faulty_.env.get();
    // Held syncs make a backlog; only the test of it refuses for it.
    options_.call_budgets.max_write_backlog = absl::ZeroDuration();
  }
  ~OverloadTest() override { faulty_.fs->ReleaseWalSyncs(); }

  void Start() { ASSERT_TRUE(s_.Start(options_).ok()); }

  // A context with a 30 s deadline and `role`'s token.
  std::unique_ptr<grpc::ClientContext> As(v1::Role role) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    testing::Authorize(*context, credentials_.token(role));
    return context;
  }
  grpc::Status Submit(const std::string& request_id, absl::Duration timeout,
                      v1::SubmitReportResponse* out = nullptr) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    testing::Authorize(context, credentials_.token(v1::ROLE_INTAKE));
    v1::SubmitReportResponse ignored;
    return s_.intake->SubmitReport(&context, testing::ValidRequest(request_id),
                                   out != nullptr ? out : &ignored);
  }
  int StoredReports() {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_TRIAGER));
    v1::ListReportsRequest request;
    request.set_page_size(100);
    v1::ListReportsResponse response;
    grpc::Status listed = s_.desk->ListReports(&context, request, &response);
    EXPECT_TRUE(listed.ok()) << listed.error_message();
    return response.reports_size();
  }
  double Metric(const std::string& series) {
    return SampleValue(s_.server->metrics().Scrape(), series);
  }
  // Polls `series` until it is `value`; false when it is not within 10 s.
  bool AwaitMetric(const std::string& series, double value) {
    for (const absl::Time give_up = absl::Now() + absl::Seconds(10); absl::Now() < give_up;) {
      if (Metric(series) == value) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }
  bool AwaitHeldSync() {
    for (const absl::Time give_up = absl::Now() + absl::Seconds(10); absl::Now() < give_up;) {
      if (faulty_.fs->wal_syncs_waiting() > 0) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  testing::TempDir dir_;
  testing::FaultyEnv faulty_;
  testing::TestCredentials credentials_;
  services::ServerOptions options_;
  testing::ServerClients s_;
};

// A submit whose client gave up while the disk was slow is never written: the committer
// drops it when its batch is built, so the slow disk's time goes to calls still waiting.
// Its retry (same request id) is then stored once, as a first submission.
TEST_F(OverloadTest, ASubmitWhoseClientGaveUpBeforeTheDiskGotToItIsNotStored) {
  ASSERT_NO_FATAL_FAILURE(Start());
  faulty_.fs->HoldWalSyncs();
  grpc::Status first;
  std::thread writing([&] { first = Submit("written", absl::Seconds(30)); });
  ASSERT_TRUE(AwaitHeldSync()) << "the first submit's batch is in its fsync";

  grpc::Status gave_up = Submit("gave-up", absl::Milliseconds(300));
  EXPECT_EQ(gave_up.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  faulty_.fs->ReleaseWalSyncs();
  writing.join();
  EXPECT_TRUE(first.ok()) << first.error_message();
  EXPECT_TRUE(AwaitMetric("triage_changes_dropped_total", 1));
  EXPECT_EQ(StoredReports(), 1) << "only the submit whose client waited";

  v1::SubmitReportResponse retried;
  grpc::Status retry = Submit("gave-up", absl::Seconds(30), &retried);
  EXPECT_TRUE(retry.ok()) << retry.error_message();
  EXPECT_EQ(StoredReports(), 2);
  EXPECT_EQ(Metric("triage_changes_dropped_total"), 1);
}

// One kind of call, as the budget test makes it.
struct BudgetCase {
  std::string budget;  // the metrics' label
  std::string flag;    // named in the refusal
  std::function<grpc::Status()> call;
};

// Each budget refuses at once when full, naming its flag, and only its own kind of call.
// With the disk held, one call of each kind waits for its synced write (the report or the
// audit entry of the access) holding its budget's only slot; a second call of each kind is
// then refused at once for its own budget's reason. Once the disk catches up every admitted
// call is answered and the slots are free again.
TEST_F(OverloadTest, AFullBudgetRefusesAtOnceWhileTheOtherBudgetsStillAdmit) {
  options_.call_budgets = {.intake = 1,
                           .desk = 1,
                           .statistics = 1,
                           .admin_reads = 1,
                           .bulk = 1,
                           .max_write_backlog = absl::ZeroDuration()};
  ASSERT_NO_FATAL_FAILURE(Start());
  std::atomic<int> submits{0};
  const std::vector<BudgetCase> cases = {
      {"intake", "--max_calls_in_flight",
       [&] { return Submit(absl::StrCat("r", ++submits), absl::Seconds(30)); }},
      {"desk", "--max_desk_calls_in_flight",
       [&] {
         v1::ListReportsResponse response;
         return s_.desk->ListReports(As(v1::ROLE_TRIAGER).get(), {}, &response);
       }},
      {"statistics", "--max_statistics_in_flight",
       [&] {
         v1::GetQueueStatisticsResponse response;
         return s_.statistics->GetQueueStatistics(As(v1::ROLE_SUPERVISOR).get(), {}, &response);
       }},
      {"admin_read", "--max_admin_reads_in_flight",
       [&] {
         v1::GetAuditLogResponse response;
         return s_.admin->GetAuditLog(As(v1::ROLE_ADMIN).get(), {}, &response);
       }},
      {"bulk", "--max_admin_calls_in_flight",
       [&] {
         v1::VerifyAuditLogResponse response;
         return s_.admin->VerifyAuditLog(As(v1::ROLE_ADMIN).get(), {}, &response);
       }},
  };
  faulty_.fs->HoldWalSyncs();
  std::vector<grpc::Status> held(cases.size());
  std::vector<std::thread> calls;
  for (size_t i = 0; i < cases.size(); ++i) {
    calls.emplace_back([&, i] { held[i] = cases[i].call(); });
    ASSERT_TRUE(
        AwaitMetric(absl::StrCat("triage_calls_in_flight{budget=\"", cases[i].budget, "\"}"), 1))
        << cases[i].budget << " admitted while every other budget holds a call";
  }

  for (const BudgetCase& c : cases) {
    const absl::Time asked = absl::Now();
    const grpc::Status refused = c.call();
    EXPECT_LT(absl::Now() - asked, absl::Seconds(5)) << c.budget << ": refused at once";
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << c.budget;
    EXPECT_THAT(refused.error_message(), HasSubstr(c.flag));
    EXPECT_EQ(Metric(absl::StrCat("triage_calls_shed_total{budget=\"", c.budget, "\"}")), 1);
  }

  faulty_.fs->ReleaseWalSyncs();
  for (std::thread& t : calls) t.join();
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_TRUE(held[i].ok()) << cases[i].budget << ": " << held[i].error_message();
    EXPECT_TRUE(
        AwaitMetric(absl::StrCat("triage_calls_in_flight{budget=\"", cases[i].budget, "\"}"), 0));
    const grpc::Status again = cases[i].call();
    EXPECT_TRUE(again.ok()) << cases[i].budget << ": the slot was given back; "
                            << again.error_message();
  }
  EXPECT_EQ(StoredReports(), 2) << "the held submit and the one after; not the refused one";
}

// While the changes queued for the disk have waited longer than --max_write_backlog, a
// submit is refused at once instead of joining a queue its client would give up in; calls
// that do not write are still admitted, and once the disk catches up submits are again.
TEST_F(OverloadTest, AWriteBacklogOverItsLimitRefusesNewSubmitsAtOnce) {
  options_.call_budgets.max_write_backlog = absl::Milliseconds(100);
  ASSERT_NO_FATAL_FAILURE(Start());
  faulty_.fs->HoldWalSyncs();
  grpc::Status held[2];
  std::thread first([&] { held[0] = Submit("in-fsync", absl::Seconds(30)); });
  ASSERT_TRUE(AwaitHeldSync());
  std::thread second([&] { held[1] = Submit("queued", absl::Seconds(30)); });
  bool over = false;
  for (const absl::Time give_up = absl::Now() + absl::Seconds(10);
       !over && absl::Now() < give_up;) {
    absl::SleepFor(absl::Milliseconds(10));
    over = Metric("triage_write_backlog_seconds") > 0.1;
  }
  ASSERT_TRUE(over) << "the queued submit's wait shows as the backlog";

  const absl::Time asked = absl::Now();
  const grpc::Status refused = Submit("refused", absl::Seconds(30));
  EXPECT_LT(absl::Now() - asked, absl::Seconds(5)) << "refused at once, not queued";
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("--max_write_backlog"));
  EXPECT_EQ(Metric("triage_calls_shed_total{budget=\"intake\"}"), 1);
  v1::GetQueueStatisticsResponse statistics;
  grpc::Status query;
  std::thread reading([&] {
    query = s_.statistics->GetQueueStatistics(As(v1::ROLE_SUPERVISOR).get(), {}, &statistics);
  });
  EXPECT_TRUE(AwaitMetric("triage_calls_in_flight{budget=\"statistics\"}", 1))
      << "a statistics query is admitted";

  faulty_.fs->ReleaseWalSyncs();
  first.join();
  second.join();
  reading.join();
  EXPECT_TRUE(held[0].ok()) << held[0].error_message();
  EXPECT_TRUE(held[1].ok()) << held[1].error_message();
  EXPECT_TRUE(query.ok()) << query.error_message();
  EXPECT_TRUE(AwaitMetric("triage_write_backlog_seconds", 0));
  EXPECT_TRUE(Submit("refused", absl::Seconds(30)).ok()) << "the retry is admitted and stored";
  EXPECT_EQ(StoredReports(), 3);
}

// A call that fails to authenticate takes no slot, not even while its refusal waits for
// the disk to record it: a flood of bad tokens cannot refuse the service to good ones.
TEST_F(OverloadTest, ACallThatFailsToAuthenticateTakesNoSlot) {
  options_.call_budgets.intake = 1;
  ASSERT_NO_FATAL_FAILURE(Start());
  faulty_.fs->HoldWalSyncs();
  grpc::Status bad;
  std::thread refused([&] {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    testing::Authorize(context, "not-a-token-of-anyone");
    v1::SubmitReportResponse response;
    bad = s_.intake->SubmitReport(&context, testing::ValidRequest("bad"), &response);
  });
  ASSERT_TRUE(AwaitHeldSync()) << "the refusal's audit entry waits for the disk";
  EXPECT_EQ(Metric("triage_calls_in_flight{budget=\"intake\"}"), 0);

  grpc::Status good;
  std::thread admitted([&] { good = Submit("good", absl::Seconds(30)); });
  EXPECT_TRUE(AwaitMetric("triage_calls_in_flight{budget=\"intake\"}", 1));
  faulty_.fs->ReleaseWalSyncs();
  refused.join();
  admitted.join();
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(good.ok()) << good.error_message();
  EXPECT_EQ(Metric("triage_calls_shed_total{budget=\"intake\"}"), 0);
}

}  // namespace
}  // namespace safeguarding
