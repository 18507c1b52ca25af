// Overload, against a real in-process server on a free loopback port whose disk is made
// slow (WAL syncs held by a FaultyFileSystem): work for a client that gave up is dropped
// before the disk, a full call budget refuses at once with RESOURCE_EXHAUSTED, and the
// budgets are separate, so statistics or administration calls cannot take intake's.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "safeguarding/triage/v1/intake.grpc.pb.h"
#include "safeguarding/triage/v1/statistics.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "services/server.h"
#include "tests/support/faulty_fs.h"
#include "tests/support/sample_reports.h"
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
  }
  ~OverloadTest() override { faulty_.fs->ReleaseWalSyncs(); }

  void Start() {
    auto server = services::TriageServer::Start(options_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    intake_ = v1::ReportIntake::NewStub(channel_);
    desk_ = v1::TriageDesk::NewStub(channel_);
    statistics_ = v1::Statistics::NewStub(channel_);
  }

  grpc::Status Submit(const std::string& request_id, absl::Duration timeout,
                      v1::SubmitReportResponse* out = nullptr) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    testing::Authorize(context, credentials_.token(v1::ROLE_INTAKE));
    v1::SubmitReportResponse ignored;
    return intake_->SubmitReport(&context, testing::ValidRequest(request_id),
                                 out != nullptr ? out : &ignored);
  }
  grpc::Status QueueStatistics() {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    testing::Authorize(context, credentials_.token(v1::ROLE_SUPERVISOR));
    v1::GetQueueStatisticsResponse response;
    return statistics_->GetQueueStatistics(&context, v1::GetQueueStatisticsRequest(), &response);
  }
  int StoredReports() {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_TRIAGER));
    v1::ListReportsRequest request;
    request.set_page_size(100);
    v1::ListReportsResponse response;
    grpc::Status s = desk_->ListReports(&context, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.reports_size();
  }
  double Metric(const std::string& series) {
    return SampleValue(server_->metrics().Scrape(), series);
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
  std::unique_ptr<services::TriageServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ReportIntake::Stub> intake_;
  std::unique_ptr<v1::TriageDesk::Stub> desk_;
  std::unique_ptr<v1::Statistics::Stub> statistics_;
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

// Each budget refuses at once when full, naming its flag, and only its own kind of call:
// with intake's budget full a statistics query is still admitted, and with the
// statistics budget full too a submit past intake's is refused for intake's reason. Once
// the disk catches up every admitted call is answered and the slots are free again.
TEST_F(OverloadTest, AFullBudgetRefusesAtOnceWhileTheOtherBudgetsStillAdmit) {
  options_.call_budgets = {.interactive = 2, .statistics = 1, .bulk = 1};
  ASSERT_NO_FATAL_FAILURE(Start());
  faulty_.fs->HoldWalSyncs();
  grpc::Status held[3];
  std::thread calls[3] = {std::thread([&] { held[0] = Submit("a", absl::Seconds(30)); }),
                          std::thread([&] { held[1] = Submit("b", absl::Seconds(30)); }),
                          std::thread([&] { held[2] = QueueStatistics(); })};
  ASSERT_TRUE(AwaitMetric("triage_calls_in_flight{budget=\"interactive\"}", 2));
  ASSERT_TRUE(AwaitMetric("triage_calls_in_flight{budget=\"statistics\"}", 1));

  const absl::Time asked = absl::Now();
  grpc::Status submit = Submit("c", absl::Seconds(30));
  grpc::Status query = QueueStatistics();
  EXPECT_LT(absl::Now() - asked, absl::Seconds(5)) << "refused at once, not queued";
  EXPECT_EQ(submit.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(submit.error_message(), HasSubstr("--max_calls_in_flight"));
  EXPECT_EQ(query.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(query.error_message(), HasSubstr("--max_statistics_in_flight"));
  EXPECT_EQ(Metric("triage_calls_shed_total{budget=\"interactive\"}"), 1);
  EXPECT_EQ(Metric("triage_calls_shed_total{budget=\"statistics\"}"), 1);
  EXPECT_EQ(Metric("triage_calls_shed_total{budget=\"bulk\"}"), 0);

  faulty_.fs->ReleaseWalSyncs();
  for (std::thread& t : calls) t.join();
  for (const grpc::Status& s : held) EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(AwaitMetric("triage_calls_in_flight{budget=\"interactive\"}", 0));
  EXPECT_TRUE(Submit("c", absl::Seconds(30)).ok()) << "the slots were given back";
  EXPECT_TRUE(QueueStatistics().ok());
  EXPECT_EQ(StoredReports(), 3);
}

}  // namespace
}  // namespace safeguarding
