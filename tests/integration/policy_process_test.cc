// The triage policy file through the real server binary: a bad file stops start-up with
// its line and field named, and SIGHUP loads a new file for the reports submitted after it
// (a bad one keeps the policy in force, saying why).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "safeguarding/triage/v1/intake.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "tests/support/sample_reports.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_credentials.h"
#include "tests/support/test_server.h"
#include "triage/policy.h"

namespace safeguarding {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using ::testing::HasSubstr;
using testing::ServerProcess;

constexpr absl::Duration kStartTimeout = absl::Seconds(20);

std::vector<std::string> ServerArgs(const testing::TempDir& dir, const std::string& policy) {
  return {"--listen=127.0.0.1:0",
          "--data_dir=" + dir.Sub("db"),
          "--insecure",
          "--key_file=" + testing::TestKeyFile(dir.Sub("db")),
          "--audit_key_file=" + testing::TestAuditKeyFile(dir.Sub("db")),
          "--credentials_file=" + dir.Sub("credentials"),
          "--policy=" + policy};
}

// The shipped file under another version string.
std::string ShippedAs(const std::string& version) {
  return absl::StrReplaceAll(
      triage::TriagePolicy::ShippedText(),
      {{"version: \"builtin-1\"", absl::StrCat("version: \"", version, "\"")}});
}

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

bool WaitForLog(const ServerProcess& server, const std::string& text) {
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (server.Log().find(text) == std::string::npos) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

TEST(PolicyProcessTest, ABadPolicyFileStopsStartUpNamingTheFileTheLineAndTheField) {
  testing::TempDir dir;
  testing::TestCredentials credentials(dir.Sub("credentials"));
  const std::string path = dir.Sub("policy.textproto");
  std::string text = ShippedAs("broken-1");
  const std::string route = "routes { queue: \"parent-carer\" }";
  const size_t at = text.find(route);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, route.size(), "routes { queue: \"nowhere\" }");
  const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
  Write(path, text);

  ServerProcess server(ServerArgs(dir, path), dir.Sub("server.log"));
  std::optional<int> code = server.WaitForExit(kStartTimeout);
  ASSERT_TRUE(code.has_value()) << "a server with a bad policy must not start";
  EXPECT_EQ(*code, 1);
  EXPECT_THAT(server.Log(), HasSubstr(absl::StrCat(path, ":", line,
                                                   ":10: routes[3].queue: queue \"nowhere\" "
                                                   "is not declared in queues")));
  EXPECT_THAT(server.Log(), ::testing::Not(HasSubstr("listening on")));
}

TEST(PolicyProcessTest, SighupLoadsANewPolicyFileAndABadOneKeepsThePolicyInForce) {
  testing::TempDir dir;
  testing::TestCredentials credentials(dir.Sub("credentials"));
  const std::string path = dir.Sub("policy.textproto");
  Write(path, ShippedAs("agency-1"));
  ServerProcess server(ServerArgs(dir, path), dir.Sub("server.log"));
  auto address = server.WaitUntilListening(kStartTimeout);
  ASSERT_TRUE(address) << server.Log();
  EXPECT_THAT(server.Log(), HasSubstr("triage policy agency-1 from " + path));
  auto channel = grpc::CreateChannel(*address, grpc::InsecureChannelCredentials());
  auto intake = v1::ReportIntake::NewStub(channel);
  auto desk = v1::TriageDesk::NewStub(channel);
  int submitted = 0;
  // Submits a report and returns the policy version it was assessed by.
  auto assessed_by = [&]() -> std::string {
    grpc::ClientContext submit_context;
    testing::Authorize(submit_context, credentials.token(v1::ROLE_INTAKE));
    v1::SubmitReportResponse submitted_report;
    grpc::Status status = intake->SubmitReport(
        &submit_context, testing::ValidRequest(absl::StrCat("r-", ++submitted)), &submitted_report);
    EXPECT_TRUE(status.ok()) << status.error_message();
    grpc::ClientContext get_context;
    testing::Authorize(get_context, credentials.token(v1::ROLE_TRIAGER));
    v1::GetReportRequest get;
    get.set_report_id(submitted_report.report_id());
    v1::Report report;
    status = desk->GetReport(&get_context, get, &report);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return report.triage().policy_version();
  };
  EXPECT_EQ(assessed_by(), "agency-1");

  Write(path, ShippedAs("agency-2"));
  server.Signal(SIGHUP);
  ASSERT_TRUE(WaitForLog(server, "SIGHUP: triage policy agency-2 loaded")) << server.Log();
  EXPECT_EQ(assessed_by(), "agency-2");

  Write(path, "version: \"agency-3\"\nqueues { name: \"only\" }\n");
  server.Signal(SIGHUP);
  ASSERT_TRUE(WaitForLog(server, "SIGHUP: keeping triage policy agency-2")) << server.Log();
  EXPECT_THAT(server.Log(), HasSubstr(path + ":1:1: sla: PRIORITY_IMMEDIATE has no target"));
  EXPECT_EQ(assessed_by(), "agency-2") << "half a policy is never used";
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitForExit(absl::Seconds(30)), 0) << server.Log();
}

}  // namespace
}  // namespace safeguarding
