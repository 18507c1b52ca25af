// Throwaway keys and certificates for TLS tests, made at test time with the `openssl`
// command line (OpenSSL 3) so that no key is ever committed. All keys are EC P-256.
//
// What gets made, all valid for two days from now:
//   - a CA ("O=Example, CN=Test CA");
//   - a server certificate signed by it, SAN DNS:localhost and IP:127.0.0.1;
//   - a client certificate signed by it, subject "/O=Example/CN=<common_name>" and SAN
//     DNS:<dns_name>;
//   - a second, unrelated CA ("O=Example, CN=Other CA") and an impostor client certificate
//     signed by it that carries exactly the same subject and SAN as the real client, so a
//     server that refuses it can only be doing so because of who signed it.
//
// gRPC (1.51, OpenSSL) reports a peer's subject in the auth context property "x509_subject"
// in RFC 2253 form: the RDNs in reverse order, joined by "," without spaces. The client
// certificate above therefore shows up as "CN=<common_name>,O=Example".
//
// Any failure throws std::runtime_error carrying openssl's own output, so a broken
// environment (no openssl on PATH, an unusable directory) is obvious from the test log.
#ifndef SAFEGUARDING_TESTS_SUPPORT_TEST_CERTS_H_
#define SAFEGUARDING_TESTS_SUPPORT_TEST_CERTS_H_

#include <string>

namespace safeguarding::testing {

struct ClientIdentity {
  // Subject CN, e.g. "desk-app". Letters, digits and - _ . only.
  std::string common_name;
  // Subject alternative name (DNS), e.g. "desk-app.example.org". Same characters.
  std::string dns_name;
};

// PEM file paths.
struct TestCertificates {
  std::string ca_cert;
  std::string server_cert;
  std::string server_key;
  // Signed by ca_cert, with the caller's identity.
  std::string client_cert;
  std::string client_key;
  // An unrelated CA and a client certificate it signed (same subject and SAN as client_cert).
  std::string other_ca_cert;
  std::string other_client_cert;
  std::string other_client_key;
  // The client's subject as gRPC reports it in "x509_subject": "CN=<common_name>,O=Example".
  std::string client_x509_subject;
};

// Writes the keys and certificates into `directory` (created if missing; it should be a
// TempDir or below one). Takes well under a second.
TestCertificates GenerateTestCertificates(const std::string& directory,
                                          const ClientIdentity& client);

// The whole content of a file; throws std::runtime_error naming the file if it cannot be read.
std::string ReadFileOrThrow(const std::string& path);

}  // namespace safeguarding::testing

#endif  // SAFEGUARDING_TESTS_SUPPORT_TEST_CERTS_H_
