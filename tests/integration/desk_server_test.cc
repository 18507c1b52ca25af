// The triage desk through a real server on loopback, with a fake clock: 16 triagers
// claiming at once never get the same report and leave none behind; a claim left to
// expire comes back by itself while the server runs (no restart, no claim call); the
// claim, the decision and every refusal are audited; and a restart keeps live claims.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "safeguarding/triage/v1/intake.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "services/server.h"
#include "tests/support/sample_reports.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_credentials.h"
#include "tests/support/test_server.h"

namespace safeguarding {
namespace {

namespace v1 = ::safeguarding::triage::v1;

class DeskServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }

  void StartServer() {
    services::ServerOptions options =
        testing::LoopbackTestOptions(dir_.Sub("db"), credentials_.path());
    options.clock = &clock_;
    auto server = services::TriageServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    intake_ = v1::ReportIntake::NewStub(channel_);
    desk_ = v1::TriageDesk::NewStub(channel_);
    admin_ = v1::Administration::NewStub(channel_);
  }

  std::string Submit(int n) {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_INTAKE));
    v1::SubmitReportResponse response;
    grpc::Status status =
        intake_->SubmitReport(&context, testing::ValidRequest(absl::StrCat("r", n)), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.report_id();
  }

  grpc::Status Claim(const std::string& token, v1::ClaimNextReportResponse* response,
                     int64_t lease_seconds = 0) {
    grpc::ClientContext context;
    testing::Authorize(context, token);
    v1::ClaimNextReportRequest request;
    if (lease_seconds > 0) request.mutable_lease()->set_seconds(lease_seconds);
    return desk_->ClaimNextReport(&context, request, response);
  }

  v1::Report Get(const std::string& id) {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_SUPERVISOR));
    v1::GetReportRequest request;
    request.set_report_id(id);
    v1::Report report;
    grpc::Status status = desk_->GetReport(&context, request, &report);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return report;
  }

  std::vector<v1::AuditEntry> AuditOf(const std::string& report_id) {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_ADMIN));
    v1::GetAuditLogRequest request;
    request.set_report_id(report_id);
    request.set_page_size(100);
    v1::GetAuditLogResponse response;
    EXPECT_TRUE(admin_->GetAuditLog(&context, request, &response).ok());
    return {response.entries().begin(), response.entries().end()};
  }

  testing::TempDir dir_;
  testing::TestCredentials credentials_{dir_.Sub("credentials")};
  common::FakeClock clock_{absl::FromUnixSeconds(1774256400)};
  std::unique_ptr<services::TriageServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ReportIntake::Stub> intake_;
  std::unique_ptr<v1::TriageDesk::Stub> desk_;
  std::unique_ptr<v1::Administration::Stub> admin_;
};

TEST_F(DeskServerTest, SixteenTriagersClaimingAtOnceNeverGetTheSameReportAndLeaveNoneBehind) {
  constexpr int kReports = 400, kTriagers = 16;
  std::set<std::string> submitted;
  for (int i = 0; i < kReports; ++i) {
    clock_.Advance(absl::Milliseconds(1));
    submitted.insert(Submit(i));
  }
  ASSERT_EQ(submitted.size(), static_cast<size_t>(kReports));
  std::mutex mu;
  std::multiset<std::string> claimed;
  std::atomic<int> errors{0};
  std::vector<std::thread> triagers;
  for (int t = 0; t < kTriagers; ++t) {
    triagers.emplace_back([&] {
      // Each its own channel, as separate desks would be.
      auto desk = v1::TriageDesk::NewStub(
          grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
      for (;;) {
        grpc::ClientContext context;
        testing::Authorize(context, credentials_.token(v1::ROLE_TRIAGER));
        v1::ClaimNextReportResponse response;
        grpc::Status status =
            desk->ClaimNextReport(&context, v1::ClaimNextReportRequest(), &response);
        if (!status.ok()) {
          ++errors;
          return;
        }
        if (!response.has_report()) return;  // none left
        std::lock_guard<std::mutex> lock(mu);
        claimed.insert(response.report().id());
      }
    });
  }
  for (std::thread& t : triagers) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(claimed.size(), static_cast<size_t>(kReports));
  EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()), submitted)
      << "each report exactly once";
}

TEST_F(DeskServerTest, AClaimLeftToExpireComesBackByItselfWhileTheServerRuns) {
  const std::string id = Submit(1);
  v1::ClaimNextReportResponse claim;
  ASSERT_TRUE(Claim(credentials_.token(v1::ROLE_TRIAGER), &claim, 60).ok());
  ASSERT_EQ(claim.report().id(), id);
  EXPECT_EQ(Get(id).state(), v1::REPORT_STATE_CLAIMED);
  EXPECT_EQ(Get(id).claim().holder(), "triager-1");
  clock_.Advance(absl::Seconds(61));
  // Nobody calls anything but GetReport: the lease keeper puts it back.
  const absl::Time deadline = absl::Now() + absl::Seconds(1);
  while (Get(id).state() != v1::REPORT_STATE_QUEUED && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(Get(id).state(), v1::REPORT_STATE_QUEUED);
  v1::ClaimNextReportResponse again;
  ASSERT_TRUE(Claim(credentials_.token(v1::ROLE_SUPERVISOR), &again).ok());
  EXPECT_EQ(again.report().id(), id);
}

TEST_F(DeskServerTest, ClaimsAndDecisionsAreAuditedAndSurviveARestart) {
  const std::string decided = Submit(1);
  clock_.Advance(absl::Milliseconds(1));
  const std::string kept = Submit(2);
  v1::ClaimNextReportResponse first, second;
  ASSERT_TRUE(Claim(credentials_.token(v1::ROLE_TRIAGER), &first).ok());
  ASSERT_TRUE(Claim(credentials_.token(v1::ROLE_TRIAGER), &second).ok());
  ASSERT_EQ(first.report().id(), decided);
  {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_TRIAGER));
    v1::RecordDecisionRequest request;
    request.set_report_id(decided);
    request.set_claim_id(first.claim().claim_id());
    request.set_outcome(v1::OUTCOME_ADVICE_GIVEN);
    request.set_note("spoke to the parent");
    v1::Report report;
    ASSERT_TRUE(desk_->RecordDecision(&context, request, &report).ok());
    EXPECT_EQ(report.state(), v1::REPORT_STATE_CLOSED);
  }
  {
    grpc::ClientContext context;  // a decision on a closed report: refused and audited
    testing::Authorize(context, credentials_.token(v1::ROLE_TRIAGER));
    v1::RecordDecisionRequest request;
    request.set_report_id(decided);
    request.set_claim_id(first.claim().claim_id());
    request.set_outcome(v1::OUTCOME_ADVICE_GIVEN);
    v1::Report report;
    EXPECT_EQ(desk_->RecordDecision(&context, request, &report).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  std::vector<std::string> methods;
  std::vector<int> codes;
  for (const v1::AuditEntry& e : AuditOf(decided)) {
    methods.push_back(e.method().substr(e.method().rfind('/') + 1));
    codes.push_back(e.result_code());
  }
  EXPECT_THAT(methods, ::testing::ElementsAre("SubmitReport", "ClaimNextReport", "RecordDecision",
                                              "RecordDecision"));
  EXPECT_THAT(codes, ::testing::ElementsAre(0, 0, 0, grpc::StatusCode::FAILED_PRECONDITION));

  server_.reset();
  StartServer();
  EXPECT_EQ(Get(decided).state(), v1::REPORT_STATE_CLOSED);
  EXPECT_EQ(Get(decided).outcome(), v1::OUTCOME_ADVICE_GIVEN);
  EXPECT_EQ(Get(kept).state(), v1::REPORT_STATE_CLAIMED);
  grpc::ClientContext context;
  testing::Authorize(context, credentials_.token(v1::ROLE_TRIAGER));
  v1::RenewClaimRequest renew;
  renew.set_report_id(kept);
  renew.set_claim_id(second.claim().claim_id());
  v1::Claim renewed;
  EXPECT_TRUE(desk_->RenewClaim(&context, renew, &renewed).ok());
}

TEST_F(DeskServerTest, WatchQueuesSendsASnapshotThenChangesAndEndsOnCancel) {
  grpc::ClientContext context;
  testing::Authorize(context, credentials_.token(v1::ROLE_TRIAGER));
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::WatchQueuesRequest request;
  request.add_queues("child");
  request.add_queues("immediate");
  auto stream = desk_->WatchQueues(&context, request);
  std::map<std::string, v1::QueueSummary> seen;
  v1::QueueSummary summary;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(stream->Read(&summary)) << "the snapshot: one summary per watched queue";
    seen[summary.queue()] = summary;
  }
  EXPECT_EQ(seen.count("child"), 1u);
  EXPECT_EQ(seen.count("immediate"), 1u);
  EXPECT_EQ(seen["child"].depth(), 0u);

  const std::string id = Submit(1);  // a child's report: the child queue changes
  ASSERT_TRUE(stream->Read(&summary));
  EXPECT_EQ(summary.queue(), "child");
  EXPECT_EQ(summary.depth(), 1u);
  v1::ClaimNextReportResponse claim;
  ASSERT_TRUE(Claim(credentials_.token(v1::ROLE_TRIAGER), &claim).ok());
  // The claim's change may be seen half way (taken from the queue, not yet held): read
  // until the summary shows it held.
  do {
    ASSERT_TRUE(stream->Read(&summary));
    EXPECT_EQ(summary.queue(), "child");
  } while (summary.claimed() == 0);
  EXPECT_EQ(summary.depth(), 0u);
  EXPECT_EQ(summary.claimed(), 1u);

  context.TryCancel();
  while (stream->Read(&summary)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(DeskServerTest, WatchersAreBoundedPerPrincipalAndCheckedForUnknownQueues) {
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::QueueSummary>>> streams;
  for (int i = 0; i < 4; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    testing::Authorize(*contexts.back(), credentials_.token(v1::ROLE_TRIAGER));
    streams.push_back(desk_->WatchQueues(contexts.back().get(), v1::WatchQueuesRequest()));
    v1::QueueSummary first;
    ASSERT_TRUE(streams.back()->Read(&first)) << "stream " << i;
  }
  grpc::ClientContext fifth;
  testing::Authorize(fifth, credentials_.token(v1::ROLE_TRIAGER));
  auto refused = desk_->WatchQueues(&fifth, v1::WatchQueuesRequest());
  v1::QueueSummary none;
  EXPECT_FALSE(refused->Read(&none));
  EXPECT_EQ(refused->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  {
    grpc::ClientContext audit_context;
    testing::Authorize(audit_context, credentials_.token(v1::ROLE_ADMIN));
    v1::GetAuditLogRequest by_triager;
    by_triager.set_principal("triager-1");
    v1::GetAuditLogResponse log;
    ASSERT_TRUE(admin_->GetAuditLog(&audit_context, by_triager, &log).ok());
    int watches = 0, refusals = 0;
    for (const v1::AuditEntry& e : log.entries()) {
      if (!absl::EndsWith(e.method(), "/WatchQueues")) continue;
      ++watches;
      refusals += e.result_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
    }
    EXPECT_EQ(watches, 5) << "four streams and the refused fifth, each on record";
    EXPECT_EQ(refusals, 1);
  }

  grpc::ClientContext other;  // another principal has its own allowance
  testing::Authorize(other, credentials_.token(v1::ROLE_SUPERVISOR));
  v1::WatchQueuesRequest unknown;
  unknown.add_queues("nowhere");
  auto bad = desk_->WatchQueues(&other, unknown);
  EXPECT_FALSE(bad->Read(&none));
  EXPECT_EQ(bad->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  for (auto& c : contexts) c->TryCancel();
  for (auto& s : streams) {
    while (s->Read(&none)) {
    }
    (void)s->Finish();
  }
}

TEST_F(DeskServerTest, AServerStoppingEndsItsWatchersAtOnce) {
  grpc::ClientContext context;
  testing::Authorize(context, credentials_.token(v1::ROLE_SUPERVISOR));
  auto stream = desk_->WatchQueues(&context, v1::WatchQueuesRequest());
  v1::QueueSummary summary;
  ASSERT_TRUE(stream->Read(&summary));
  const absl::Time start = absl::Now();
  server_->Shutdown(absl::Seconds(10));
  while (stream->Read(&summary)) {
  }
  EXPECT_TRUE(stream->Finish().ok()) << "a watch ends cleanly when the server stops";
  server_->Wait();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "the drain did not wait for the watcher";
}

}  // namespace
}  // namespace safeguarding
