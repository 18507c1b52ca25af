// TLS and mutual TLS against a real in-process server on a free loopback port, with keys
// and certificates made for each test by openssl (tests/support/test_certs.h).
//
// TLS: the server proves who it is and the channel is encrypted; callers still need a token.
// Mutual TLS: the handshake also demands a client certificate signed by the client CA; a
// `cert` line in the credentials file maps the certificate (by its subject as gRPC reports
// it, or by a SAN) to a principal and role, and a bearer token, when sent, takes precedence.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include "safeguarding/triage/v1/intake.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "services/server.h"
#include "tests/support/sample_reports.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_certs.h"
#include "tests/support/test_credentials.h"
#include "tests/support/test_server.h"

namespace safeguarding {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using testing::ReadFileOrThrow;
using testing::ValidRequest;

// Well formed, never issued: GetReport answers NOT_FOUND only to an admitted caller.
constexpr char kUnknownReportId[] = "400SGF69PK8FSF2Y3T7AWV6SBM";
// Every call, including a failing handshake, must end well within this.
constexpr std::chrono::seconds kCallTimeout(5);

// What a client brings to the handshake: the CA it trusts and, optionally, its certificate.
std::shared_ptr<grpc::ChannelCredentials> TlsClient(const std::string& trusted_ca,
                                                    const std::string& cert = "",
                                                    const std::string& key = "") {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFileOrThrow(trusted_ca);
  if (!cert.empty()) {
    ssl.pem_cert_chain = ReadFileOrThrow(cert);
    ssl.pem_private_key = ReadFileOrThrow(key);
  }
  return grpc::SslCredentials(ssl);
}

class TlsTest : public ::testing::Test {
 protected:
  explicit TlsTest(bool mutual = false) : mutual_(mutual) {}

  // Appends a `cert` line to the credentials file; call before StartServer().
  void MapCertificate(const std::string& principal, const std::string& role,
                      const std::string& identity) {
    std::ofstream out(credentials_.path(), std::ios::app);
    out << "cert " << principal << " " << role << " " << identity << "\n";
    out.close();
    ASSERT_TRUE(out) << "cannot append to " << credentials_.path();
  }

  void StartServer() {
    services::ServerOptions options =
        testing::LoopbackTestOptions(dir_.Sub("db"), credentials_.path());
    options.insecure = false;
    options.tls.cert_file = certs_.server_cert;
    options.tls.key_file = certs_.server_key;
    if (mutual_) options.tls.client_ca_file = certs_.ca_cert;
    auto server = services::TriageServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_TRUE(server_->tls());
  }

  // A channel to the server's "127.0.0.1:PORT"; the server certificate must carry that IP.
  std::shared_ptr<grpc::Channel> Connect(std::shared_ptr<grpc::ChannelCredentials> transport,
                                         const std::string& target_name_override = "") {
    grpc::ChannelArguments args;
    if (!target_name_override.empty()) args.SetSslTargetNameOverride(target_name_override);
    return grpc::CreateCustomChannel(server_->address(), transport, args);
  }

  // The client certificate that matches the caller identity of this suite.
  std::shared_ptr<grpc::Channel> ConnectWithClientCertificate() {
    return Connect(TlsClient(certs_.ca_cert, certs_.client_cert, certs_.client_key));
  }

  // An empty token sends no authorization header.
  static grpc::Status Submit(const std::shared_ptr<grpc::Channel>& channel,
                             const std::string& token, const std::string& request_id,
                             v1::SubmitReportResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    if (!token.empty()) testing::Authorize(context, token);
    return v1::ReportIntake::NewStub(channel)->SubmitReport(&context, ValidRequest(request_id),
                                                            response);
  }

  static grpc::Status Get(const std::shared_ptr<grpc::Channel>& channel, const std::string& token,
                          const std::string& report_id, v1::Report* report) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    if (!token.empty()) testing::Authorize(context, token);
    v1::GetReportRequest request;
    request.set_report_id(report_id);
    return v1::TriageDesk::NewStub(channel)->GetReport(&context, request, report);
  }

  grpc::StatusCode GetUnknownReport(const std::shared_ptr<grpc::Channel>& channel,
                                    const std::string& token = "") {
    v1::Report report;
    grpc::Status status = Get(channel, token, kUnknownReportId, &report);
    last_message_ = status.error_message();
    return status.error_code();
  }

  grpc::StatusCode SubmitSample(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& token = "") {
    v1::SubmitReportResponse response;
    grpc::Status status = Submit(channel, token, "tls-sample", &response);
    last_message_ = status.error_message();
    return status.error_code();
  }

  const std::string& intake_token() const { return credentials_.token(v1::ROLE_INTAKE); }
  const std::string& triager_token() const { return credentials_.token(v1::ROLE_TRIAGER); }

  const bool mutual_;
  testing::TempDir dir_;
  testing::TestCredentials credentials_{dir_.Sub("credentials")};
  testing::TestCertificates certs_ = testing::GenerateTestCertificates(
      dir_.Sub("pki"), {.common_name = "desk-app", .dns_name = "desk-app.example.org"});
  std::unique_ptr<services::TriageServer> server_;
  // Message of the last failed call, for failure output.
  std::string last_message_;
};

class MutualTlsTest : public TlsTest {
 protected:
  MutualTlsTest() : TlsTest(/*mutual=*/true) {}
};

TEST_F(TlsTest, SubmitAndGetBackOverTls) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::shared_ptr<grpc::Channel> channel = Connect(TlsClient(certs_.ca_cert));

  v1::SubmitReportResponse submitted;
  grpc::Status status = Submit(channel, intake_token(), "over-tls", &submitted);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  v1::Report report;
  status = Get(channel, triager_token(), submitted.report_id(), &report);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(report.id(), submitted.report_id());
  EXPECT_EQ(report.submission().SerializeAsString(),
            ValidRequest("over-tls").report().SerializeAsString());
}

TEST_F(TlsTest, TargetNameOverrideMatchingTheDnsSanIsAccepted) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  EXPECT_EQ(SubmitSample(Connect(TlsClient(certs_.ca_cert), "localhost"), intake_token()),
            grpc::StatusCode::OK)
      << last_message_;
}

TEST_F(TlsTest, TokenIsStillRequiredOverTls) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  EXPECT_EQ(SubmitSample(Connect(TlsClient(certs_.ca_cert))), grpc::StatusCode::UNAUTHENTICATED)
      << last_message_;
}

TEST_F(TlsTest, PlaintextClientCannotTalkToTheTlsServer) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::shared_ptr<grpc::Channel> channel = Connect(grpc::InsecureChannelCredentials());
  EXPECT_EQ(SubmitSample(channel, intake_token()), grpc::StatusCode::UNAVAILABLE) << last_message_;
}

TEST_F(TlsTest, ClientThatDoesNotTrustTheServerCaFails) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::shared_ptr<grpc::Channel> channel = Connect(TlsClient(certs_.other_ca_cert));
  EXPECT_EQ(SubmitSample(channel, intake_token()), grpc::StatusCode::UNAVAILABLE) << last_message_;
}

TEST_F(TlsTest, ServerCertificateForAnotherNameFails) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::shared_ptr<grpc::Channel> channel =
      Connect(TlsClient(certs_.ca_cert), "triage.elsewhere.example");
  EXPECT_EQ(SubmitSample(channel, intake_token()), grpc::StatusCode::UNAVAILABLE) << last_message_;
}

// Without client_ca_file the server does not ask for a certificate, so a mapped one is
// never seen and admits nobody.
TEST_F(TlsTest, ClientCertificateCountsOnlyUnderMutualTls) {
  MapCertificate("desk-app", "triager", "subject:" + certs_.client_x509_subject);
  ASSERT_NO_FATAL_FAILURE(StartServer());
  EXPECT_EQ(GetUnknownReport(ConnectWithClientCertificate()), grpc::StatusCode::UNAUTHENTICATED)
      << last_message_;
}

TEST_F(MutualTlsTest, ClientWithoutCertificateIsRefusedAtTheHandshake) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::shared_ptr<grpc::Channel> channel = Connect(TlsClient(certs_.ca_cert));
  // A valid token does not make up for the missing certificate.
  EXPECT_EQ(SubmitSample(channel, intake_token()), grpc::StatusCode::UNAVAILABLE) << last_message_;
}

TEST_F(MutualTlsTest, ClientCertificateFromAnotherCaIsRefused) {
  // The impostor carries the same subject and SAN as the mapped client: only its issuer
  // differs, so it is the chain check that refuses it.
  MapCertificate("desk-app", "triager", "subject:" + certs_.client_x509_subject);
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::shared_ptr<grpc::Channel> channel =
      Connect(TlsClient(certs_.ca_cert, certs_.other_client_cert, certs_.other_client_key));
  EXPECT_EQ(GetUnknownReport(channel), grpc::StatusCode::UNAVAILABLE) << last_message_;
  EXPECT_EQ(SubmitSample(channel, intake_token()), grpc::StatusCode::UNAVAILABLE) << last_message_;
}

TEST_F(MutualTlsTest, UnmappedCertificateWithoutTokenIsUnauthenticated) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::shared_ptr<grpc::Channel> channel = ConnectWithClientCertificate();
  EXPECT_EQ(GetUnknownReport(channel), grpc::StatusCode::UNAUTHENTICATED) << last_message_;
  EXPECT_EQ(SubmitSample(channel), grpc::StatusCode::UNAUTHENTICATED) << last_message_;
  // The same connection with a token is admitted: the handshake itself was fine.
  EXPECT_EQ(GetUnknownReport(channel, triager_token()), grpc::StatusCode::NOT_FOUND)
      << last_message_;
}

// gRPC reports the subject in RFC 2253 form: "CN=desk-app,O=Example", last RDN first, no
// spaces. That exact string maps the certificate.
TEST_F(MutualTlsTest, CertificateMappedBySubjectIsAdmittedWithThatRole) {
  ASSERT_EQ(certs_.client_x509_subject, "CN=desk-app,O=Example");
  MapCertificate("desk-app", "triager", "subject:CN=desk-app,O=Example");
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::shared_ptr<grpc::Channel> channel = ConnectWithClientCertificate();
  EXPECT_EQ(GetUnknownReport(channel), grpc::StatusCode::NOT_FOUND) << last_message_;
  EXPECT_EQ(SubmitSample(channel), grpc::StatusCode::PERMISSION_DENIED) << last_message_;
}

// Other spellings of the same subject (certificate order, openssl's one-line form, spaces
// after the commas) are different strings and map nothing.
TEST_F(MutualTlsTest, SubjectInAnyOtherSpellingDoesNotMatch) {
  MapCertificate("desk-app-forward", "triager", "subject:O=Example,CN=desk-app");
  MapCertificate("desk-app-oneline", "triager", "subject:/O=Example/CN=desk-app");
  MapCertificate("desk-app-spaced", "triager", "subject:CN=desk-app, O=Example");
  MapCertificate("desk-app-as-dns", "triager", "dns:CN=desk-app,O=Example");
  ASSERT_NO_FATAL_FAILURE(StartServer());
  EXPECT_EQ(GetUnknownReport(ConnectWithClientCertificate()), grpc::StatusCode::UNAUTHENTICATED)
      << last_message_;
}

TEST_F(MutualTlsTest, CertificateMappedBySanIsAdmittedWithThatRole) {
  MapCertificate("desk-app", "intake", "dns:desk-app.example.org");
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::shared_ptr<grpc::Channel> channel = ConnectWithClientCertificate();
  v1::SubmitReportResponse submitted;
  grpc::Status status = Submit(channel, "", "by-san", &submitted);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  v1::Report report;
  EXPECT_EQ(Get(channel, "", submitted.report_id(), &report).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(MutualTlsTest, BearerTokenTakesPrecedenceOverTheCertificate) {
  MapCertificate("desk-app", "triager", "subject:" + certs_.client_x509_subject);
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::shared_ptr<grpc::Channel> channel = ConnectWithClientCertificate();

  // As triager (the certificate) this would be PERMISSION_DENIED; the intake token wins.
  v1::SubmitReportResponse submitted;
  grpc::Status status = Submit(channel, intake_token(), "token-wins", &submitted);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  // The certificate alone reads it back as triager.
  v1::Report report;
  status = Get(channel, "", submitted.report_id(), &report);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(report.id(), submitted.report_id());
  // A token that is sent is the credential: a wrong one fails, with no fallback to the
  // certificate.
  EXPECT_EQ(GetUnknownReport(channel, "sgt_not-a-real-token"), grpc::StatusCode::UNAUTHENTICATED)
      << last_message_;
}

}  // namespace
}  // namespace safeguarding
