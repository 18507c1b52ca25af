// triage-loadgen against the real server binary, loopback only and bounded: closed loop,
// open loop (calls paced to the rate), claim + decide cycles over two connections, and the
// refusal of a target that is not a loopback address.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>

#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_credentials.h"
#include "tests/support/test_server.h"

namespace safeguarding {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using ::testing::HasSubstr;

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
    args.insert(args.begin(), "--server=" + address_);
    return testing::RunCommand(testing::LoadgenBinary(), args,
                               {{"TRIAGE_LOADGEN_TOKEN", credentials_.token(role)}},
                               absl::Seconds(60));
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
  testing::CommandResult closed =
      Loadgen({"--method=submit", "--concurrency=16", "--requests=300", "--run_id=closed"},
              v1::ROLE_INTAKE);
  ASSERT_EQ(closed.exit_code, 0) << closed.output;
  EXPECT_THAT(closed.output, HasSubstr("ok=300 errors=0"));
  EXPECT_GT(Field(closed.output, "p999_ms"), 0);

  // 200 calls at 400/s cannot finish before the last is due, 0.4975 s after the first.
  testing::CommandResult open = Loadgen(
      {"--method=submit", "--rate=400", "--concurrency=200", "--requests=200", "--run_id=open"},
      v1::ROLE_INTAKE);
  ASSERT_EQ(open.exit_code, 0) << open.output;
  EXPECT_THAT(open.output, HasSubstr("ok=200 errors=0"));
  EXPECT_THAT(open.output, HasSubstr("open_loop_rate=400"));
  EXPECT_GE(Field(open.output, "seconds"), 0.49);

  testing::CommandResult cycles = Loadgen(
      {"--method=cycle", "--concurrency=8", "--requests=100", "--channels=2"}, v1::ROLE_TRIAGER);
  ASSERT_EQ(cycles.exit_code, 0) << cycles.output;
  EXPECT_THAT(cycles.output, HasSubstr("ok=100 errors=0"));
  testing::CommandResult health = Loadgen({"--method=health", "--requests=50"}, v1::ROLE_INTAKE);
  EXPECT_THAT(health.output, HasSubstr("ok=50 errors=0"));
}

TEST_F(LoadgenTest, ATargetOffLoopbackIsRefusedWithoutSending) {
  testing::CommandResult r =
      testing::RunCommand(testing::LoadgenBinary(), {"--server=192.0.2.1:50051"}, {});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("refusing non-loopback target"));
}

}  // namespace
}  // namespace safeguarding
