// triage-loadgen against the real server binary, loopback only and bounded: closed loop,
// open loop (calls paced to the rate), claim + decide cycles over two connections, the no-op
// baseline and the ratio to it with the server's CPU per call, a mix of methods each with its
// role's token, errors counted by status code, JSON output, and the refusal of a target that
// is not a loopback address.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>

#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_certs.h"
#include "tests/support/test_credentials.h"
#include "tests/support/test_server.h"

namespace safeguarding {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using ::testing::HasSubstr;
using ::testing::Not;

class LoadgenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<testing::ServerProcess>(
        std::vector<std::string>{"--listen=127.0.0.1:0", "--data_dir=" + dir_.Sub("db"),
                                 "--insecure", "--key_file=" + testing::TestKeyFile(dir_.Sub("db")),
                                 "--audit_key_file=" + testing::TestAuditKeyFile(dir_.Sub("db")),
                                 "--credentials_file=" + credentials_.path(),
                                 "--rate_limit_per_second=0"},
        dir_.Sub("server.log"));
    std::optional<std::string> address = server_->WaitUntilListening(absl::Seconds(20));
    ASSERT_TRUE(address) << server_->Log();
    address_ = *address;
  }
  void TearDown() override {
    server_->Signal(SIGTERM);
    EXPECT_EQ(server_->WaitForExit(absl::Seconds(30)), 0) << server_->Log();
  }

  testing::CommandResult Loadgen(std::vector<std::string> args, v1::Role role) {
    return LoadgenWith(std::move(args), {{"TRIAGE_LOADGEN_TOKEN", credentials_.token(role)}});
  }
  testing::CommandResult LoadgenWith(std::vector<std::string> args,
                                     std::vector<std::pair<std::string, std::string>> env) {
    args.insert(args.begin(), "--server=" + address_);
    return testing::RunCommand(testing::LoadgenBinary(), args, env, absl::Seconds(60));
  }
  static double Field(const std::string& output, const std::string& name) {
    std::smatch m;
    if (!std::regex_search(output, m, std::regex(name + "=([0-9.]+)"))) return -1;
    return std::stod(m[1].str());
  }

  testing::TempDir dir_;
  testing::TestCredentials credentials_{dir_.Sub("credentials")};
  std::unique_ptr<testing::ServerProcess> server_;
  std::string address_;
};

TEST_F(LoadgenTest, ClosedAndOpenLoopsAndCyclesComplete) {
  testing::CommandResult closed = Loadgen({"--method=submit", "--concurrency=16", "--requests=300",
                                           "--run_id=closed", "--baseline=false"},
                                          v1::ROLE_INTAKE);
  ASSERT_EQ(closed.exit_code, 0) << closed.output;
  EXPECT_THAT(closed.output, HasSubstr("ok=300 errors=0"));
  EXPECT_GT(Field(closed.output, "p999_ms"), 0);

  // 200 calls at 400/s cannot finish before the last is due, 0.4975 s after the first.
  testing::CommandResult open = Loadgen({"--method=submit", "--rate=400", "--concurrency=200",
                                         "--requests=200", "--run_id=open", "--baseline=false"},
                                        v1::ROLE_INTAKE);
  ASSERT_EQ(open.exit_code, 0) << open.output;
  EXPECT_THAT(open.output, HasSubstr("ok=200 errors=0"));
  EXPECT_THAT(open.output, HasSubstr("open_loop_rate=400"));
  EXPECT_GE(Field(open.output, "seconds"), 0.49);

  testing::CommandResult cycles = Loadgen(
      {"--method=cycle", "--concurrency=8", "--requests=100", "--channels=2", "--baseline=false"},
      v1::ROLE_TRIAGER);
  ASSERT_EQ(cycles.exit_code, 0) << cycles.output;
  EXPECT_THAT(cycles.output, HasSubstr("ok=100 errors=0"));
  testing::CommandResult health = Loadgen({"--method=health", "--requests=50"}, v1::ROLE_INTAKE);
  EXPECT_THAT(health.output, HasSubstr("ok=50 errors=0"));
}

TEST_F(LoadgenTest, TheBaselineRunsFirstAndTheResultIsAlsoARatioToIt) {
  testing::CommandResult r =
      Loadgen({"--method=submit", "--concurrency=8", "--requests=200", "--baseline_requests=300",
               "--server_pid=" + std::to_string(server_->pid())},
              v1::ROLE_INTAKE);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("baseline method=health concurrency=8 ok=300 errors=0"));
  EXPECT_THAT(r.output, HasSubstr("\nmethod=submit concurrency=8 ok=200 errors=0"));
  const double ratio = Field(r.output, "ratio_to_noop");
  EXPECT_GT(ratio, 0);
  EXPECT_LT(ratio, 1) << "a durable submit cannot be cheaper than the no-op\n" << r.output;
  // The server's CPU per call is read from /proc: a submit costs it more than a no-op.
  std::smatch m;
  const std::string out = r.output;
  ASSERT_TRUE(std::regex_search(out, m,
                                std::regex("server_cpu_us_per_call=([0-9.]+)[^\n]*\n"
                                           "method=submit[^\n]*server_cpu_us_per_call="
                                           "([0-9.]+)")))
      << out;
  EXPECT_GT(std::stod(m[2].str()), std::stod(m[1].str()));
}

TEST_F(LoadgenTest, AMixCallsEachMethodWithItsRolesTokenAndCountsErrorsByCode) {
  testing::CommandResult r =
      LoadgenWith({"--method=mix", "--mix=submit:6,cycle:2,volumes:1,claim:1", "--concurrency=4",
                   "--requests=200", "--baseline=false", "--json"},
                  {{"TRIAGE_LOADGEN_INTAKE_TOKEN", credentials_.token(v1::ROLE_INTAKE)},
                   {"TRIAGE_LOADGEN_TRIAGER_TOKEN", credentials_.token(v1::ROLE_TRIAGER)},
                   {"TRIAGE_LOADGEN_STATISTICS_TOKEN", credentials_.token(v1::ROLE_MONITOR)}});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"baseline\":null"));
  EXPECT_THAT(r.output, HasSubstr("\"submit\":{\"calls\":120,\"ok\":120,\"errors\":0"));
  EXPECT_THAT(r.output, HasSubstr("\"volumes\":{\"calls\":20,\"ok\":20,\"errors\":0"));
  EXPECT_THAT(r.output, HasSubstr("\"cycle\":{\"calls\":40,"));
  EXPECT_THAT(r.output, HasSubstr("\"claim\":{\"calls\":20,"));
  // Nothing but the submits' reports to claim: every claim or cycle either got one or found
  // none (NOT_FOUND), and no call was refused for its token.
  EXPECT_THAT(r.output, Not(HasSubstr("UNAUTHENTICATED")));
  EXPECT_THAT(r.output, Not(HasSubstr("PERMISSION_DENIED")));

  // Without a token every call is refused, and the refusals are counted by their code.
  testing::CommandResult refused =
      LoadgenWith({"--method=submit", "--requests=30", "--baseline=false"},
                  {{"TRIAGE_LOADGEN_TOKEN", ""}, {"TRIAGE_LOADGEN_INTAKE_TOKEN", ""}});
  ASSERT_EQ(refused.exit_code, 0) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("ok=0 errors=30"));
  EXPECT_THAT(refused.output, HasSubstr("errors_by_code=UNAUTHENTICATED:30"));
}

// The statistics methods group and filter as asked: a refused grouping (two dimensions
// without the reporter type) shows as INVALID_ARGUMENT for every call.
TEST_F(LoadgenTest, StatisticsCallsGroupAndFilterAsAsked) {
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{{"--stats_by=REGION"},
                                             {"--stats_by=REPORTER_TYPE,REGION"},
                                             {"--stats_by=", "--stats_filter=REGION=Kent"}}) {
    for (const char* method : {"--method=volumes", "--method=compare", "--method=shifts"}) {
      std::vector<std::string> args{method,
                                    "--requests=5",
                                    "--concurrency=1",
                                    "--baseline=false",
                                    "--stats_from=2026-09-01",
                                    "--stats_to=2026-12-01"};  // 4 x 45 regions x 91 days
      args.insert(args.end(), flags.begin(), flags.end());
      testing::CommandResult r = Loadgen(args, v1::ROLE_SUPERVISOR);
      ASSERT_EQ(r.exit_code, 0) << r.output;
      EXPECT_THAT(r.output, HasSubstr("ok=5 errors=0")) << method << " " << flags[0];
    }
  }
  // What the server refuses shows that the groups and filters reach it as given.
  for (const char* flag : {"--stats_by=REGION,CATEGORY", "--stats_filter=REGION=Nowhere",
                           "--stats_filter=REGION=Kent=x"}) {
    testing::CommandResult refused = Loadgen(
        {"--method=volumes", "--requests=5", "--baseline=false", flag}, v1::ROLE_SUPERVISOR);
    ASSERT_EQ(refused.exit_code, 0) << refused.output;
    EXPECT_THAT(refused.output, HasSubstr("errors_by_code=INVALID_ARGUMENT:5")) << flag;
  }
}

TEST_F(LoadgenTest, BadFlagsAreRefusedNamingTheFlag) {
  for (const auto& [flag, says] : std::vector<std::pair<std::string, std::string>>{
           {"--method=bogus", "--method must be"},
           {"--mix=submit:0", "--mix part 'submit:0'"},
           {"--max_duration=2h", "--max_duration"},
           {"--reports=0", "--reports"},
           {"--tls_cert=/nonexistent", "--tls_cert needs --tls_ca"},
           {"--stats_by=REGIONS", "--stats_by: not a dimension: REGIONS"},
           {"--stats_by=UNSPECIFIED", "--stats_by: not a dimension: UNSPECIFIED"},
           {"--stats_filter=REGION", "--stats_filter is DIMENSION=VALUE"}}) {
    std::vector<std::string> args{flag};
    if (flag.rfind("--mix", 0) == 0) args.push_back("--method=mix");
    testing::CommandResult r = Loadgen(args, v1::ROLE_INTAKE);
    EXPECT_EQ(r.exit_code, 2) << flag << r.output;
    EXPECT_THAT(r.output, HasSubstr(says)) << flag;
  }
}

// Over mutual TLS, with the client certificate; without it the server lets nothing through.
TEST(LoadgenTlsTest, CallsGoOverMutualTls) {
  testing::TempDir dir;
  testing::TestCredentials credentials{dir.Sub("credentials")};
  const testing::TestCertificates certs =
      testing::GenerateTestCertificates(dir.Sub("certs"), {"loadgen", "loadgen.example.org"});
  testing::ServerProcess server({"--listen=127.0.0.1:0", "--data_dir=" + dir.Sub("db"),
                                 "--key_file=" + testing::TestKeyFile(dir.Sub("db")),
                                 "--audit_key_file=" + testing::TestAuditKeyFile(dir.Sub("db")),
                                 "--credentials_file=" + credentials.path(),
                                 "--tls_cert=" + certs.server_cert, "--tls_key=" + certs.server_key,
                                 "--tls_client_ca=" + certs.ca_cert, "--rate_limit_per_second=0"},
                                dir.Sub("server.log"));
  std::optional<std::string> address = server.WaitUntilListening(absl::Seconds(20));
  ASSERT_TRUE(address) << server.Log();
  const std::vector<std::pair<std::string, std::string>> env{
      {"TRIAGE_LOADGEN_TOKEN", credentials.token(v1::ROLE_INTAKE)}};
  testing::CommandResult r = testing::RunCommand(
      testing::LoadgenBinary(),
      {"--server=" + *address, "--tls_ca=" + certs.ca_cert, "--tls_cert=" + certs.client_cert,
       "--tls_key=" + certs.client_key, "--method=submit", "--requests=50",
       "--baseline_requests=50", "--concurrency=4"},
      env, absl::Seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("method=submit concurrency=4 ok=50 errors=0"));
  EXPECT_THAT(r.output, HasSubstr("baseline method=health concurrency=4 ok=50 errors=0"));
  testing::CommandResult no_cert =
      testing::RunCommand(testing::LoadgenBinary(),
                          {"--server=" + *address, "--tls_ca=" + certs.ca_cert, "--method=submit",
                           "--requests=5", "--connect_timeout=2s"},
                          env, absl::Seconds(60));
  EXPECT_EQ(no_cert.exit_code, 4) << no_cert.output;
  EXPECT_THAT(no_cert.output, HasSubstr("cannot connect"));
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitForExit(absl::Seconds(30)), 0) << server.Log();
}

TEST_F(LoadgenTest, ATargetOffLoopbackIsRefusedWithoutSending) {
  testing::CommandResult r =
      testing::RunCommand(testing::LoadgenBinary(), {"--server=192.0.2.1:50051"}, {});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("refusing non-loopback target"));
}

}  // namespace
}  // namespace safeguarding
