// The AccessGuard (services/access_guard.h) through a real server on loopback, with a fake
// clock: which forms of the authorization header authenticate, that refusals are audited
// at most at the per-peer rate (a flood of bad tokens cannot fill the trail) while every
// call is still refused, that rate-limit refusals are not audited, and that no refusal
// repeats the token it was given.
#include "services/access_guard.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "services/server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_credentials.h"
#include "tests/support/test_server.h"

namespace safeguarding {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using ::testing::HasSubstr;
using ::testing::Not;

class AccessGuardTest : public ::testing::Test {
 protected:
  void StartServer(double rate_limit_per_second = 0, double rate_limit_burst = 0) {
    services::ServerOptions options =
        testing::LoopbackTestOptions(dir_.Sub("db"), credentials_.path());
    options.clock = &clock_;
    options.rate_limit_per_second = rate_limit_per_second;
    options.rate_limit_burst = rate_limit_burst;
    auto server = services::TriageServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    desk_ = v1::TriageDesk::NewStub(channel);
    admin_ = v1::Administration::NewStub(channel);
  }

  // GetReport of a malformed id with the given authorization header ("" = none): admitted
  // callers get INVALID_ARGUMENT, so the code tells whether the guard let the call in.
  grpc::Status GetReport(const std::string& authorization) {
    grpc::ClientContext context;
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    v1::GetReportRequest request;
    request.set_report_id("not-an-id");
    v1::Report report;
    return desk_->GetReport(&context, request, &report);
  }

  std::vector<v1::AuditEntry> AuditEntries() {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_ADMIN));
    v1::GetAuditLogRequest request;
    request.set_page_size(1000);
    v1::GetAuditLogResponse response;
    grpc::Status status = admin_->GetAuditLog(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.entries().begin(), response.entries().end()};
  }

  int CountEntries(int result_code) {
    int n = 0;
    for (const v1::AuditEntry& e : AuditEntries()) n += e.result_code() == result_code;
    return n;
  }

  testing::TempDir dir_;
  testing::TestCredentials credentials_{dir_.Sub("credentials")};
  common::FakeClock clock_{absl::FromUnixSeconds(1774258200)};
  std::unique_ptr<services::TriageServer> server_;
  std::unique_ptr<v1::TriageDesk::Stub> desk_;
  std::unique_ptr<v1::Administration::Stub> admin_;
};

TEST_F(AccessGuardTest, TheBearerSchemeIsCaseInsensitiveAndNothingElseAuthenticates) {
  StartServer();
  const std::string token = credentials_.token(v1::ROLE_TRIAGER);
  for (const std::string& header : std::vector<std::string>{
           "Bearer " + token, "bearer " + token, "BEARER " + token, "Bearer   " + token + "  "}) {
    EXPECT_EQ(GetReport(header).error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << "'" << header << "' should authenticate";
  }
  for (const std::string& header :
       std::vector<std::string>{"", token, "Basic " + token, "Bearer", "Bearer ", "Bearer" + token,
                                "Bearer " + token + "x", "Bearer x" + token, "Token " + token,
                                "Bearer " + credentials_.token(v1::ROLE_TRIAGER).substr(1)}) {
    EXPECT_EQ(GetReport(header).error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << "'" << header << "' must not authenticate";
  }
}

TEST_F(AccessGuardTest, RefusalsNeverRepeatTheTokenTheyWereGiven) {
  StartServer();
  const std::string wrong = "sgt_wrong-token-that-must-not-be-echoed";
  grpc::Status unauthenticated = GetReport("Bearer " + wrong);
  ASSERT_EQ(unauthenticated.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(unauthenticated.error_message(), Not(HasSubstr(wrong)));

  const std::string intake = credentials_.token(v1::ROLE_INTAKE);
  grpc::Status denied = GetReport("Bearer " + intake);
  ASSERT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(denied.error_message(), Not(HasSubstr(intake)));
  EXPECT_THAT(denied.error_message(), HasSubstr("role intake may not call"));

  for (const v1::AuditEntry& entry : AuditEntries()) {
    const std::string text = entry.SerializeAsString();
    EXPECT_THAT(text, Not(HasSubstr(wrong)));
    EXPECT_THAT(text, Not(HasSubstr(intake)));
  }
}

// The "authentication failed" lines `stderr` holds, in order.
std::vector<std::string> FailedAuthenticationLines(const std::string& stderr_text) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(stderr_text, '\n')) {
    if (absl::StrContains(line, "authentication failed:")) lines.emplace_back(line);
  }
  return lines;
}

TEST_F(AccessGuardTest, AFloodOfBadTokensIsRefusedEveryTimeButAuditedOnlyAtThePeerRate) {
  StartServer();
  constexpr int kFlood = 60;
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < kFlood; ++i) {
    ASSERT_EQ(GetReport("Bearer sgt_guess-" + std::to_string(i)).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  const int unauthenticated = static_cast<int>(grpc::StatusCode::UNAUTHENTICATED);
  // The clock stands still: the burst of 20, and no more.
  EXPECT_EQ(CountEntries(unauthenticated), 20);
  // Nor more log lines: the burst of 20, the rest held back and told in the next line.
  EXPECT_EQ(FailedAuthenticationLines(::testing::internal::GetCapturedStderr()).size(), 20u);

  // Time passes: the bucket refills at the documented rate (2 per second).
  clock_.Advance(absl::Seconds(5));
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(GetReport("Bearer sgt_later-" + std::to_string(i)).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  const std::vector<std::string> later =
      FailedAuthenticationLines(::testing::internal::GetCapturedStderr());
  ASSERT_FALSE(later.empty());
  EXPECT_THAT(later.front(), HasSubstr("(40 such lines held back before this one)"));
  EXPECT_EQ(CountEntries(unauthenticated),
            20 + static_cast<int>(5 * services::AccessGuard::kRefusalAuditsPerSecond));
}

// A flood of bad tokens from the same host spends the host's audit allowance, but a
// principal refused for its role is audited all the same: nobody can hide a denied look at
// a report behind a flood. The refusals left unaudited are counted.
TEST_F(AccessGuardTest, ARefusalOfAnAuthenticatedPrincipalIsAuditedEvenDuringAFlood) {
  StartServer();
  for (int i = 0; i < 30; ++i) {
    ASSERT_EQ(GetReport("Bearer sgt_flood-" + std::to_string(i)).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_EQ(CountEntries(static_cast<int>(grpc::StatusCode::UNAUTHENTICATED)), 20);
  EXPECT_THAT(server_->metrics().Scrape(), HasSubstr("\ntriage_refusals_unaudited_total 10\n"));

  const std::string intake = "Bearer " + credentials_.token(v1::ROLE_INTAKE);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(GetReport(intake).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  int denied = 0;
  for (const v1::AuditEntry& e : AuditEntries()) {
    if (e.result_code() == static_cast<int>(grpc::StatusCode::PERMISSION_DENIED)) {
      ++denied;
      EXPECT_EQ(e.principal(), testing::TestCredentials::PrincipalFor(v1::ROLE_INTAKE));
    }
  }
  EXPECT_EQ(denied, 3) << "every denied call of a known principal is on record";
  EXPECT_THAT(server_->metrics().Scrape(), HasSubstr("\ntriage_refusals_unaudited_total 10\n"));
}

TEST_F(AccessGuardTest, RateLimitRefusalsAreNotAuditedAndTheBucketRefills) {
  StartServer(/*rate_limit_per_second=*/1, /*rate_limit_burst=*/2);
  const std::string header = "Bearer " + credentials_.token(v1::ROLE_TRIAGER);
  EXPECT_EQ(GetReport(header).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(GetReport(header).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(GetReport(header).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  EXPECT_EQ(CountEntries(static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED)), 0)
      << "a flood of over-rate calls must not fill the trail";
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(GetReport(header).error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << "one token back after a second";
}

}  // namespace
}  // namespace safeguarding
