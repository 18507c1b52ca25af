// The triage-server binary as a process: startup errors, signals, and SIGKILL under load.
#include "tests/support/server_process.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "safeguarding/triage/v1/intake.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "services/credentials.h"
#include "tests/support/sample_reports.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_credentials.h"
#include "tests/support/test_server.h"

namespace safeguarding {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using testing::Authorize;
using ::testing::HasSubstr;
using testing::ServerProcess;
using testing::TestCredentials;
using testing::ValidRequest;

constexpr absl::Duration kStartTimeout = absl::Seconds(20);

// Plaintext on loopback with the test credentials; rate limiting off for load tests.
std::vector<std::string> ServerArgs(const testing::TempDir& dir) {
  return {"--listen=127.0.0.1:0",
          "--data_dir=" + dir.Sub("db"),
          "--insecure",
          "--key_file=" + testing::TestKeyFile(dir.Sub("db")),
          "--audit_key_file=" + testing::TestAuditKeyFile(dir.Sub("db")),
          "--credentials_file=" + dir.Sub("credentials"),
          "--rate_limit_per_second=0"};
}

// Non-empty lines of a log.
std::vector<std::string> Lines(const std::string& log) {
  return absl::StrSplit(log, '\n', absl::SkipEmpty());
}

TEST(ServerProcessTest, HelpListsTheFlags) {
  testing::TempDir dir;
  TestCredentials credentials(dir.Sub("credentials"));
  ServerProcess help({"--help"}, dir.Sub("help.log"));
  ASSERT_TRUE(help.WaitForExit(absl::Seconds(10)).has_value());
  const std::string log = help.Log();
  for (const char* flag :
       {"--listen", "--data_dir", "--max_receive_message_bytes", "--max_commit_batch",
        "--shutdown_grace", "--credentials_file", "--tls_cert", "--tls_key", "--tls_client_ca",
        "--insecure", "--insecure_allow_remote", "--rate_limit_per_second",
        "--max_concurrent_streams", "--block_cache_mb", "--memtable_mb"}) {
    EXPECT_THAT(log, HasSubstr(flag));
  }
}

TEST(ServerProcessTest, DataDirLockedByAnotherServerGivesOneClearLineAndNonZeroExit) {
  testing::TempDir dir;
  TestCredentials credentials(dir.Sub("credentials"));
  ServerProcess first(ServerArgs(dir), dir.Sub("first.log"));
  ASSERT_TRUE(first.WaitUntilListening(kStartTimeout)) << first.Log();

  ServerProcess second(ServerArgs(dir), dir.Sub("second.log"));
  std::optional<int> code = second.WaitForExit(kStartTimeout);
  ASSERT_TRUE(code.has_value()) << "second server did not exit";
  EXPECT_NE(*code, 0);
  std::vector<std::string> lines = Lines(second.Log());
  ASSERT_EQ(lines.size(), 1u) << second.Log();
  EXPECT_THAT(lines[0], HasSubstr(dir.Sub("db")));
  EXPECT_THAT(lines[0], HasSubstr("in use by another process"));
}

TEST(ServerProcessTest, PlaintextOnANonLoopbackAddressIsRefused) {
  testing::TempDir dir;
  TestCredentials credentials(dir.Sub("credentials"));
  ServerProcess server({"--listen=0.0.0.0:0", "--data_dir=" + dir.Sub("db"), "--insecure",
                        "--credentials_file=" + dir.Sub("credentials")},
                       dir.Sub("server.log"));
  std::optional<int> code = server.WaitForExit(kStartTimeout);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_THAT(server.Log(), HasSubstr("refusing plaintext on non-loopback address"));
}

// Lease and memory flags outside their bounds stop the start with the flag named, before
// anything is opened (a negative default lease would hand out claims that have already
// expired; a tiny cache would make every read a disk read).
TEST(ServerProcessTest, LeaseAndMemoryFlagsOutsideTheirBoundsAreRefused) {
  for (const auto& [flag, message] : std::vector<std::pair<std::string, std::string>>{
           {"--claim_lease=-5s", "--claim_lease -5s: must be at least 30s"},
           {"--claim_lease=10s", "--claim_lease 10s: must be at least 30s"},
           {"--claim_lease=2h", "at most --max_claim_lease (1h)"},
           {"--max_claim_lease=10s", "--max_claim_lease 10s: must be at least 30s"},
           {"--max_claim_lease=inf", "and at most 24h"},
           // RocksDB's memory, as typed.
           {"--block_cache_mb=4", "--block_cache_mb 4: must be at least 8"},
           {"--memtable_mb=0", "--memtable_mb 0: must be at least 8"},
           {"--memtable_mb=-5", "--memtable_mb -5: must be at least 8"},
           {"--block_cache_mb=99999999999", "--block_cache_mb 99999999999: must be"}}) {
    testing::TempDir dir;
    TestCredentials credentials(dir.Sub("credentials"));
    std::vector<std::string> args = ServerArgs(dir);
    args.push_back(flag);
    ServerProcess server(args, dir.Sub("server.log"));
    std::optional<int> code = server.WaitForExit(kStartTimeout);
    ASSERT_TRUE(code.has_value()) << flag;
    EXPECT_NE(*code, 0) << flag;
    EXPECT_THAT(server.Log(), HasSubstr(message)) << flag;
    EXPECT_FALSE(std::filesystem::exists(dir.Sub("db"))) << flag << ": nothing opened";
  }
}

TEST(ServerProcessTest, NoTlsAndNoInsecureFlagIsRefused) {
  testing::TempDir dir;
  TestCredentials credentials(dir.Sub("credentials"));
  ServerProcess server({"--listen=127.0.0.1:0", "--data_dir=" + dir.Sub("db"),
                        "--credentials_file=" + dir.Sub("credentials")},
                       dir.Sub("server.log"));
  std::optional<int> code = server.WaitForExit(kStartTimeout);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_THAT(server.Log(), HasSubstr("TLS needs --tls_cert and --tls_key"));
}

TEST(ServerProcessTest, SighupLoadsNewTokensFromTheCredentialsFile) {
  testing::TempDir dir;
  TestCredentials credentials(dir.Sub("credentials"));
  ServerProcess server(ServerArgs(dir), dir.Sub("server.log"));
  auto address = server.WaitUntilListening(kStartTimeout);
  ASSERT_TRUE(address) << server.Log();
  auto stub =
      v1::ReportIntake::NewStub(grpc::CreateChannel(*address, grpc::InsecureChannelCredentials()));
  const std::string token = services::NewBearerToken();
  ASSERT_TRUE(
      services::AppendTokenEntry(dir.Sub("credentials"), "new-app", v1::ROLE_INTAKE, token).ok());
  auto submit = [&] {
    grpc::ClientContext context;
    Authorize(context, token);
    v1::SubmitReportResponse response;
    return stub->SubmitReport(&context, ValidRequest("after-hup"), &response).error_code();
  };
  EXPECT_EQ(submit(), grpc::StatusCode::UNAUTHENTICATED);
  server.Signal(SIGHUP);
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (server.Log().find("credentials reloaded") == std::string::npos && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(submit(), grpc::StatusCode::OK) << server.Log();
  EXPECT_EQ(server.Log().find(token), std::string::npos) << "a token reached the log";
}

TEST(ServerProcessTest, AWrongKeyFileIsOneClearLineAndNonZeroExit) {
  testing::TempDir dir;
  TestCredentials credentials(dir.Sub("credentials"));
  {
    ServerProcess first(ServerArgs(dir), dir.Sub("first.log"));
    ASSERT_TRUE(first.WaitUntilListening(kStartTimeout)) << first.Log();
    first.Signal(SIGTERM);
    ASSERT_EQ(first.WaitForExit(absl::Seconds(30)), 0);
  }
  std::vector<std::string> args = ServerArgs(dir);
  args.push_back("--key_file=" + testing::TestKeyFile(dir.Sub("another")));  // last one wins
  ServerProcess second(args, dir.Sub("second.log"));
  std::optional<int> code = second.WaitForExit(kStartTimeout);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  std::vector<std::string> lines = Lines(second.Log());
  ASSERT_EQ(lines.size(), 1u) << second.Log();
  EXPECT_THAT(lines[0], HasSubstr("does not hold key"));
}

TEST(ServerProcessTest, DataDirThatIsAFileGivesOneClearLineAndNonZeroExit) {
  testing::TempDir dir;
  TestCredentials credentials(dir.Sub("credentials"));
  std::ofstream(dir.Sub("not-a-dir")) << "x";
  ServerProcess server({"--listen=127.0.0.1:0", "--data_dir=" + dir.Sub("not-a-dir"), "--insecure",
                        "--key_file=" + testing::TestKeyFile(dir.Sub("db")),
                        "--audit_key_file=" + testing::TestAuditKeyFile(dir.Sub("db")),
                        "--credentials_file=" + dir.Sub("credentials")},
                       dir.Sub("server.log"));
  std::optional<int> code = server.WaitForExit(kStartTimeout);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  std::vector<std::string> lines = Lines(server.Log());
  ASSERT_EQ(lines.size(), 1u) << server.Log();
  EXPECT_THAT(lines[0], HasSubstr("data directory " + dir.Sub("not-a-dir")));
}

TEST(ServerProcessTest, SigtermDrainsClosesTheDatabaseAndExitsZero) {
  testing::TempDir dir;
  TestCredentials credentials(dir.Sub("credentials"));
  std::string report_id;
  {
    // gRPC waits for connected clients to go away for up to the grace period.
    std::vector<std::string> args = ServerArgs(dir);
    args.push_back("--shutdown_grace=2s");
    ServerProcess server(args, dir.Sub("server.log"));
    auto address = server.WaitUntilListening(kStartTimeout);
    ASSERT_TRUE(address) << server.Log();
    auto stub = v1::ReportIntake::NewStub(
        grpc::CreateChannel(*address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    Authorize(context, credentials.token(v1::ROLE_INTAKE));
    v1::SubmitReportResponse response;
    ASSERT_TRUE(stub->SubmitReport(&context, ValidRequest("before-term"), &response).ok());
    report_id = response.report_id();
    server.Signal(SIGTERM);
    EXPECT_EQ(server.WaitForExit(absl::Seconds(30)), 0) << server.Log();
    EXPECT_THAT(server.Log(), HasSubstr("stopped cleanly"));
  }
  ServerProcess again(ServerArgs(dir), dir.Sub("again.log"));
  auto address = again.WaitUntilListening(kStartTimeout);
  ASSERT_TRUE(address) << again.Log() << " (lock or database not released cleanly)";
  auto desk =
      v1::TriageDesk::NewStub(grpc::CreateChannel(*address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  Authorize(context, credentials.token(v1::ROLE_TRIAGER));
  v1::GetReportRequest get;
  get.set_report_id(report_id);
  v1::Report report;
  EXPECT_TRUE(desk->GetReport(&context, get, &report).ok());
}

// Clients submit as fast as they can; the server is SIGKILLed mid-stream. Every report
// whose submit was acknowledged must be there after a restart, with its content, and a
// retry of its request id must return the same report.
TEST(ServerProcessTest, SigkillUnderLoadLosesNoAcknowledgedReport) {
  testing::TempDir dir;
  TestCredentials credentials(dir.Sub("credentials"));
  constexpr int kClients = 8;
  constexpr int kMaxPerClient = 2000;  // bounds the load even if the kill came late
  absl::Mutex mu;
  std::map<std::string, std::string> acked;  // request id -> report id
  std::atomic<int> total_acked{0};
  {
    ServerProcess server(ServerArgs(dir), dir.Sub("server.log"));
    auto address = server.WaitUntilListening(kStartTimeout);
    ASSERT_TRUE(address) << server.Log();
    auto channel = grpc::CreateChannel(*address, grpc::InsecureChannelCredentials());
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        auto stub = v1::ReportIntake::NewStub(channel);
        for (int i = 0; i < kMaxPerClient && !stop.load(); ++i) {
          v1::SubmitReportRequest request = ValidRequest(absl::StrCat("kill-", c, "-", i));
          request.mutable_report()->set_description(absl::StrCat("kill test ", c, "/", i));
          grpc::ClientContext context;
          Authorize(context, credentials.token(v1::ROLE_INTAKE));
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
          v1::SubmitReportResponse response;
          if (!stub->SubmitReport(&context, request, &response).ok()) break;
          absl::MutexLock lock(&mu);
          acked[request.request_id()] = response.report_id();
          total_acked.fetch_add(1);
        }
      });
    }
    // Kill once a good number of reports is acknowledged (or after 10 s at most).
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (total_acked.load() < 1500 && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    server.Signal(SIGKILL);
    EXPECT_EQ(server.WaitForExit(absl::Seconds(10)), 128 + SIGKILL);
    stop.store(true);
    for (auto& t : clients) t.join();
  }
  ASSERT_GT(acked.size(), 100u) << "the load never got going";

  ServerProcess restarted(ServerArgs(dir), dir.Sub("restarted.log"));
  auto address = restarted.WaitUntilListening(kStartTimeout);
  ASSERT_TRUE(address) << restarted.Log();
  auto channel = grpc::CreateChannel(*address, grpc::InsecureChannelCredentials());
  auto desk = v1::TriageDesk::NewStub(channel);
  auto intake = v1::ReportIntake::NewStub(channel);
  int missing = 0;
  for (const auto& [request_id, report_id] : acked) {
    grpc::ClientContext context;
    Authorize(context, credentials.token(v1::ROLE_TRIAGER));
    v1::GetReportRequest get;
    get.set_report_id(report_id);
    v1::Report report;
    if (!desk->GetReport(&context, get, &report).ok()) {
      ++missing;
      continue;
    }
    std::vector<std::string> parts = absl::StrSplit(request_id, '-');
    EXPECT_EQ(report.submission().description(),
              absl::StrCat("kill test ", parts[1], "/", parts[2]));
  }
  EXPECT_EQ(missing, 0) << "of " << acked.size() << " acknowledged reports";

  // Retrying an acknowledged request returns the same report rather than a duplicate.
  const auto& [request_id, report_id] = *acked.rbegin();
  std::vector<std::string> parts = absl::StrSplit(request_id, '-');
  v1::SubmitReportRequest retry = ValidRequest(request_id);
  retry.mutable_report()->set_description(absl::StrCat("kill test ", parts[1], "/", parts[2]));
  grpc::ClientContext context;
  Authorize(context, credentials.token(v1::ROLE_INTAKE));
  v1::SubmitReportResponse response;
  ASSERT_TRUE(intake->SubmitReport(&context, retry, &response).ok());
  EXPECT_EQ(response.report_id(), report_id);
}

}  // namespace
}  // namespace safeguarding
