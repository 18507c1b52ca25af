// `triagectl health` against the real server binary, as the Docker HEALTHCHECK and the
// systemd and Kubernetes probes in deploy/ run it: SERVING exits 0; an unknown service, a
// server that is gone and a certificate for another name do not.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_certs.h"
#include "tests/support/test_credentials.h"
#include "tests/support/test_server.h"

namespace safeguarding {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class HealthCliTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> transport) {
    std::vector<std::string> args{"--listen=127.0.0.1:0",
                                  "--data_dir=" + dir_.Sub("db"),
                                  "--key_file=" + testing::TestKeyFile(dir_.Sub("db")),
                                  "--audit_key_file=" + testing::TestAuditKeyFile(dir_.Sub("db")),
                                  "--credentials_file=" + credentials_.path(),
                                  "--metrics_listen="};
    args.insert(args.end(), transport.begin(), transport.end());
    server_ = std::make_unique<testing::ServerProcess>(args, dir_.Sub("server.log"));
    std::optional<std::string> address = server_->WaitUntilListening(absl::Seconds(20));
    ASSERT_TRUE(address) << server_->Log();
    address_ = *address;
  }
  void Stop() {
    server_->Signal(SIGTERM);
    EXPECT_EQ(server_->WaitForExit(absl::Seconds(30)), 0) << server_->Log();
    server_.reset();
  }
  void TearDown() override {
    if (server_) Stop();
  }
  testing::CommandResult Health(std::vector<std::string> args) {
    args.insert(args.begin(), {"--server", address_, "--timeout", "5"});
    return testing::RunTriagectl(args, "");  // no token: the health service needs none
  }

  testing::TempDir dir_;
  testing::TestCredentials credentials_{dir_.Sub("credentials")};
  std::unique_ptr<testing::ServerProcess> server_;
  std::string address_;
};

TEST_F(HealthCliTest, AServingServerExitsZeroAndAGoneOneDoesNot) {
  Start({"--insecure"});
  testing::CommandResult serving = Health({"health"});
  EXPECT_EQ(serving.exit_code, 0) << serving.output;
  EXPECT_THAT(serving.output, HasSubstr("SERVING"));

  testing::CommandResult named =
      Health({"health", "--service", "safeguarding.triage.v1.ReportIntake"});
  EXPECT_EQ(named.exit_code, 0) << named.output;
  EXPECT_THAT(named.output, HasSubstr("SERVING"));

  testing::CommandResult unknown = Health({"health", "--service", "no.such.Service"});
  EXPECT_EQ(unknown.exit_code, 3) << unknown.output;  // NOT_FOUND, as for other calls
  EXPECT_THAT(unknown.output, HasSubstr("NOT_FOUND"));

  testing::CommandResult no_tls = Health({"--server-name", "localhost", "health"});
  EXPECT_EQ(no_tls.exit_code, 2) << no_tls.output;
  EXPECT_THAT(no_tls.output, HasSubstr("--server-name is for TLS"));

  Stop();
  testing::CommandResult gone = Health({"health"});
  EXPECT_EQ(gone.exit_code, 4) << gone.output;  // UNAVAILABLE
}

// Over TLS a probe on 127.0.0.1 verifies the certificate for the name it was issued to.
TEST_F(HealthCliTest, OverTlsTheCertificateIsVerifiedForTheNameGiven) {
  const testing::TestCertificates certs =
      testing::GenerateTestCertificates(dir_.Sub("certs"), {"probe", "probe.example"});
  Start({"--tls_cert=" + certs.server_cert, "--tls_key=" + certs.server_key});
  testing::CommandResult named =
      Health({"--ca", certs.ca_cert, "--server-name", "localhost", "health"});
  EXPECT_EQ(named.exit_code, 0) << named.output;
  EXPECT_THAT(named.output, HasSubstr("SERVING"));

  testing::CommandResult other =
      Health({"--ca", certs.ca_cert, "--server-name", "triage.other.example", "health"});
  EXPECT_EQ(other.exit_code, 4) << other.output;  // the handshake fails: UNAVAILABLE
  EXPECT_THAT(other.output, Not(HasSubstr("SERVING")));

  testing::CommandResult untrusted =
      Health({"--ca", certs.other_ca_cert, "--server-name", "localhost", "health"});
  EXPECT_EQ(untrusted.exit_code, 4) << untrusted.output;
}

}  // namespace
}  // namespace safeguarding
