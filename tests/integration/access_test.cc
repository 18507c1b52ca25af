// Authentication and authorisation against a real server: every method of the contract ×
// every role (and no or a wrong credential) answers as the rules of docs/SECURITY.md say,
// refusals are audited, and health and reflection stay open.
#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "services/net_address.h"
#include "services/server.h"
#include "tests/support/expected_access.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_certs.h"
#include "tests/support/test_credentials.h"
#include "tests/support/test_server.h"

namespace safeguarding {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using testing::Authorize;

// What an admitted caller gets from an empty request, for the RPCs that are built
// ("Service/Method"); the rest answer UNIMPLEMENTED.
grpc::StatusCode AdmittedCode(absl::string_view path) {
  static const auto* codes = new std::map<std::string, grpc::StatusCode, std::less<>>{
      {"ReportIntake/SubmitReport", grpc::StatusCode::INVALID_ARGUMENT},
      {"TriageDesk/GetReport", grpc::StatusCode::INVALID_ARGUMENT},
      {"TriageDesk/ClaimNextReport", grpc::StatusCode::OK},  // nothing waits: empty answer
      {"TriageDesk/RenewClaim", grpc::StatusCode::INVALID_ARGUMENT},
      {"TriageDesk/ReleaseReport", grpc::StatusCode::INVALID_ARGUMENT},
      {"TriageDesk/RecordDecision", grpc::StatusCode::INVALID_ARGUMENT},
      {"TriageDesk/ListQueues", grpc::StatusCode::OK},
      {"TriageDesk/ListReports", grpc::StatusCode::OK},
      {"TriageDesk/WatchQueues", grpc::StatusCode::OK},  // the snapshot arrives
      {"TriageDesk/Reprioritise", grpc::StatusCode::INVALID_ARGUMENT},
      {"TriageDesk/AddNote", grpc::StatusCode::INVALID_ARGUMENT},
      {"TriageDesk/GetReportHistory", grpc::StatusCode::INVALID_ARGUMENT},
      {"Administration/GetAuditLog", grpc::StatusCode::OK},
      {"Administration/VerifyAuditLog", grpc::StatusCode::OK},
      {"Administration/RotateEncryptionKey", grpc::StatusCode::OK},
      {"Administration/ListEncryptionKeys", grpc::StatusCode::OK},
      {"Administration/ImportReports", grpc::StatusCode::OK},      // nothing to import
      {"Administration/RecountStatistics", grpc::StatusCode::OK},  // an empty store agrees
      // No --backup_dir in these tests: the backup calls say how to get one.
      {"Administration/CreateBackup", grpc::StatusCode::FAILED_PRECONDITION},
      {"Administration/ListBackups", grpc::StatusCode::FAILED_PRECONDITION},
      {"Administration/VerifyBackup", grpc::StatusCode::FAILED_PRECONDITION},
      // No --retention either: nothing may be purged.
      {"Administration/PurgeExpiredReports", grpc::StatusCode::FAILED_PRECONDITION},
      {"Statistics/GetVolumes", grpc::StatusCode::INVALID_ARGUMENT},  // no range
      {"Statistics/CompareVolumes", grpc::StatusCode::INVALID_ARGUMENT},
      {"Statistics/DetectShifts", grpc::StatusCode::INVALID_ARGUMENT},
      {"Statistics/GetQueueStatistics", grpc::StatusCode::OK},
  };
  constexpr absl::string_view kPackage = "/safeguarding.triage.v1.";
  if (!absl::ConsumePrefix(&path, kPackage)) return grpc::StatusCode::UNIMPLEMENTED;
  auto it = codes->find(path);
  return it == codes->end() ? grpc::StatusCode::UNIMPLEMENTED : it->second;
}

// "/pkg.Service/Method" -> {"pkg.Service", "Method"}.
std::pair<std::string, std::string> SplitPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  return {path.substr(1, slash - 1), path.substr(slash + 1)};
}

// Runs plaintext on loopback (as `make run` does) and, with the parameter set, over TLS
// with certificates made for the test.
class AccessTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    services::ServerOptions options =
        testing::LoopbackTestOptions(dir_.Sub("db"), credentials_.path());
    std::shared_ptr<grpc::ChannelCredentials> channel_credentials =
        grpc::InsecureChannelCredentials();
    if (GetParam()) {
      testing::TestCertificates certs =
          testing::GenerateTestCertificates(dir_.Sub("certs"), {"desk-app", "desk.example.org"});
      options.insecure = false;
      options.tls.cert_file = certs.server_cert;
      options.tls.key_file = certs.server_key;
      grpc::SslCredentialsOptions ssl;
      ssl.pem_root_certs = testing::ReadFileOrThrow(certs.ca_cert);
      channel_credentials = grpc::SslCredentials(ssl);
    }
    auto server = services::TriageServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_EQ(server_->tls(), GetParam());
    channel_ = grpc::CreateChannel(server_->address(), channel_credentials);
    generic_ = std::make_unique<grpc::GenericStub>(channel_);
  }

  // Calls `method` with an empty request message and the given bearer token ("" = none).
  grpc::Status Call(const std::string& method, const std::string& token) {
    if (absl::EndsWith(method, "/WatchQueues")) return Watch(token);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!token.empty()) Authorize(context, token);
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1), response;
    absl::Notification done;
    grpc::Status status;
    generic_->UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                        [&](grpc::Status s) {
                          status = std::move(s);
                          done.Notify();
                        });
    done.WaitForNotification();
    return status;
  }

  // The one server-streaming RPC: admitted, it sends its snapshot (then we hang up);
  // refused, it ends with the refusal.
  grpc::Status Watch(const std::string& token) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!token.empty()) Authorize(context, token);
    auto stream =
        v1::TriageDesk::NewStub(channel_)->WatchQueues(&context, v1::WatchQueuesRequest());
    v1::QueueSummary first;
    if (stream->Read(&first)) {
      context.TryCancel();
      while (stream->Read(&first)) {
      }
      (void)stream->Finish();
      return grpc::Status::OK;
    }
    return stream->Finish();
  }

  testing::TempDir dir_;
  testing::TestCredentials credentials_{dir_.Sub("credentials")};
  std::unique_ptr<services::TriageServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> generic_;
};

// The RPCs come from the .proto files' text and the expected roles from the written-out
// rules, so neither depends on the `access` options the server enforces.
TEST_P(AccessTest, EveryMethodTimesEveryRoleAnswersAsTheRulesSay) {
  const std::set<std::string> rpcs = testing::RpcsDeclaredIn(testing::ProtoDir());
  ASSERT_GE(rpcs.size(), 22u);
  int calls = 0;
  for (const std::string& method : rpcs) {
    const auto [service, name] = SplitPath(method);
    const std::set<v1::Role> allowed = testing::ExpectedRoles(service, name);
    EXPECT_FALSE(allowed.empty()) << method << " has no rule in tests/support/expected_access.cc";
    EXPECT_EQ(Call(method, "").error_code(), grpc::StatusCode::UNAUTHENTICATED) << method;
    EXPECT_EQ(Call(method, "sgt_not-a-real-token").error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << method;
    for (v1::Role role : testing::AllRoles()) {
      if (role == v1::ROLE_UNSPECIFIED) continue;  // no credential carries it
      grpc::Status status = Call(method, credentials_.token(role));
      const grpc::StatusCode expected =
          allowed.count(role) ? AdmittedCode(method) : grpc::StatusCode::PERMISSION_DENIED;
      EXPECT_EQ(status.error_code(), expected)
          << method << " as " << v1::Role_Name(role) << ": " << status.error_message();
      ++calls;
    }
  }
  EXPECT_EQ(calls, static_cast<int>(rpcs.size()) * 5);
}

TEST_P(AccessTest, HealthAndReflectionNeedNoCredentials) {
  EXPECT_TRUE(Call("/grpc.health.v1.Health/Check", "").ok());
}

TEST_P(AccessTest, RefusalsAreAuditedWithWhoWhatAndTheCode) {
  const std::string get_report = "/safeguarding.triage.v1.TriageDesk/GetReport";
  ASSERT_EQ(Call(get_report, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_EQ(Call(get_report, credentials_.token(v1::ROLE_INTAKE)).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  auto admin = v1::Administration::NewStub(channel_);
  grpc::ClientContext context;
  Authorize(context, credentials_.token(v1::ROLE_SUPERVISOR));
  v1::GetAuditLogResponse log;
  ASSERT_TRUE(admin->GetAuditLog(&context, v1::GetAuditLogRequest(), &log).ok());
  ASSERT_GE(log.entries_size(), 3);
  EXPECT_TRUE(log.entries(0).has_key_change()) << "a new store's trail begins with its key";
  const v1::AuditEntry& unauthenticated = log.entries(1);
  EXPECT_EQ(unauthenticated.method(), get_report);
  EXPECT_EQ(unauthenticated.principal(), "");
  EXPECT_EQ(unauthenticated.result_code(), static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_THAT(unauthenticated.peer(), ::testing::HasSubstr("127.0.0.1"));
  const v1::AuditEntry& denied = log.entries(2);
  EXPECT_EQ(denied.principal(), "intake-app");
  EXPECT_EQ(denied.report_id(), "") << "an empty request names no report";
  EXPECT_EQ(denied.role(), v1::ROLE_INTAKE);
  EXPECT_EQ(denied.result_code(), static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(denied.sequence(), unauthenticated.sequence() + 1);
}

TEST_P(AccessTest, ARefusedReadNamesTheReportItAskedFor) {
  auto desk = v1::TriageDesk::NewStub(channel_);
  grpc::ClientContext context;
  Authorize(context, credentials_.token(v1::ROLE_INTAKE));
  v1::GetReportRequest request;
  request.set_report_id("400sgf6vg9q9ye252prahhrawb");  // lower case: stored canonical
  v1::Report report;
  ASSERT_EQ(desk->GetReport(&context, request, &report).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  auto admin = v1::Administration::NewStub(channel_);
  grpc::ClientContext audit_context;
  Authorize(audit_context, credentials_.token(v1::ROLE_SUPERVISOR));
  v1::GetAuditLogRequest query;
  query.set_report_id("400SGF6VG9Q9YE252PRAHHRAWB");
  v1::GetAuditLogResponse log;
  ASSERT_TRUE(admin->GetAuditLog(&audit_context, query, &log).ok());
  ASSERT_EQ(log.entries_size(), 1);
  EXPECT_EQ(log.entries(0).principal(), "intake-app");
  EXPECT_EQ(log.entries(0).result_code(), static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
}

TEST_P(AccessTest, CredentialsReloadAdmitsNewTokensAndDropsNothingOnABadFile) {
  const std::string token = services::NewBearerToken();
  ASSERT_TRUE(
      services::AppendTokenEntry(credentials_.path(), "late-app", v1::ROLE_INTAKE, token).ok());
  const std::string submit = "/safeguarding.triage.v1.ReportIntake/SubmitReport";
  EXPECT_EQ(Call(submit, token).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(server_->ReloadCredentials().ok());
  EXPECT_EQ(Call(submit, token).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  std::ofstream(credentials_.path(), std::ios::app) << "token broken-line\n";
  EXPECT_FALSE(server_->ReloadCredentials().ok());
  EXPECT_EQ(Call(submit, token).error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << "a bad file must leave the old credentials in force";
}

INSTANTIATE_TEST_SUITE_P(PlaintextAndTls, AccessTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Tls" : "Plaintext"; });

TEST(LoopbackAddressTest, OnlyLoopbackLiteralsAndLocalhostCount) {
  for (const char* yes : {"127.0.0.1:50051", "127.1.2.3:0", "localhost:50051", "[::1]:50051"}) {
    EXPECT_TRUE(services::IsLoopbackAddress(yes)) << yes;
  }
  for (const char* no :
       {"0.0.0.0:50051", "10.0.0.1:50051", "127.example.org:50051", "127.0.0.1.example.org:1",
        "[::]:50051", "127.0.0.256:1", "127.0.0:1", "localhost.example.org:1", "127.0.0.1"}) {
    EXPECT_FALSE(services::IsLoopbackAddress(no)) << no;
  }
}

TEST(AccessRateLimitTest, APrincipalOverItsRateGetsResourceExhaustedWithRetryAfter) {
  testing::TempDir dir;
  testing::TestCredentials credentials(dir.Sub("credentials"));
  common::FakeClock clock(absl::FromUnixSeconds(1767225600));
  services::ServerOptions options = testing::LoopbackTestOptions(dir.Sub("db"), credentials.path());
  options.rate_limit_per_second = 1;
  options.rate_limit_burst = 3;
  options.clock = &clock;
  auto server = services::TriageServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials());
  auto admin = v1::Administration::NewStub(channel);
  auto call = [&](v1::Role role, std::multimap<grpc::string_ref, grpc::string_ref>* trailers) {
    grpc::ClientContext context;
    Authorize(context, credentials.token(role));
    v1::GetAuditLogResponse response;
    grpc::Status s = admin->GetAuditLog(&context, v1::GetAuditLogRequest(), &response);
    if (trailers != nullptr) {
      for (const auto& [k, v] : context.GetServerTrailingMetadata()) {
        trailers->emplace(k, v);
      }
    }
    return s.error_code();
  };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call(v1::ROLE_ADMIN, nullptr), grpc::StatusCode::OK);
  grpc::ClientContext context;
  Authorize(context, credentials.token(v1::ROLE_ADMIN));
  v1::GetAuditLogResponse response;
  grpc::Status limited = admin->GetAuditLog(&context, v1::GetAuditLogRequest(), &response);
  EXPECT_EQ(limited.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  auto retry_after = context.GetServerTrailingMetadata().find("retry-after");
  ASSERT_NE(retry_after, context.GetServerTrailingMetadata().end());
  EXPECT_EQ(std::string(retry_after->second.data(), retry_after->second.size()), "1");
  // Another principal is not affected; after a second the first may call again.
  EXPECT_EQ(call(v1::ROLE_SUPERVISOR, nullptr), grpc::StatusCode::OK);
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(call(v1::ROLE_ADMIN, nullptr), grpc::StatusCode::OK);
}

}  // namespace
}  // namespace safeguarding
