// The credentials file: who may connect, as which principal, with which role.
//
// Text, one entry per line; '#' starts a comment; fields separated by spaces:
//   token <principal> <role> sha256:<64 hex digits>     a bearer token, by its SHA-256 only
//   cert  <principal> <role> <kind>:<identity>          a client certificate (mutual TLS)
// <role> is intake, triager, supervisor, monitor or admin. A cert identity names which
// certificate field it matches, exactly: subject:CN=desk-app,O=Example (RFC 2253, as
// `openssl x509 -noout -subject -nameopt RFC2253` prints it), dns:desk.example.org,
// uri:spiffe://agency/desk or email:desk@example.org (subject alternative names). It is the
// rest of the line and may contain spaces. A certificate matching two principals is refused.
// The file never holds a token itself: `triagectl admin add-token` prints the token once
// and appends only its hash. Parse errors name the file and the line.
//
// CredentialStore is an immutable snapshot, safe for concurrent use; reloading (SIGHUP)
// builds a new one. This file has no gRPC dependency so tools can share it.
#ifndef SAFEGUARDING_SERVICES_CREDENTIALS_H_
#define SAFEGUARDING_SERVICES_CREDENTIALS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "safeguarding/triage/v1/access.pb.h"

namespace safeguarding::services {

namespace v1 = ::safeguarding::triage::v1;

struct Principal {
  std::string name;
  v1::Role role = v1::ROLE_UNSPECIFIED;
};

class CredentialStore {
 public:
  CredentialStore() = default;

  // Refuses a file that group or others may write (anyone who can add a line can make
  // themselves admin).
  [[nodiscard]] static absl::StatusOr<CredentialStore> LoadFile(const std::string& path);
  // `source` names the text in error messages.
  [[nodiscard]] static absl::StatusOr<CredentialStore> Parse(absl::string_view text,
                                                             absl::string_view source);

  // The principal whose token hash equals SHA-256(token). Every entry is compared in
  // constant time, so the time taken does not depend on where (or whether) it matches.
  std::optional<Principal> FindByToken(absl::string_view token) const;
  // The principal mapped to a client certificate, given its typed identities
  // ("subject:...", "dns:...", "uri:...", "email:..."); nullopt when none or more than one
  // principal matches.
  std::optional<Principal> FindByCertificate(const std::vector<std::string>& identities) const;

  // True when any entry (token or certificate) is for `name`.
  bool HasPrincipal(absl::string_view name) const;

  size_t token_count() const { return tokens_.size(); }
  size_t certificate_count() const { return certs_.size(); }

 private:
  struct TokenEntry {
    Principal principal;
    std::string sha256;  // 32 raw bytes
  };
  struct CertEntry {
    Principal principal;
    std::string identity;
  };
  std::vector<TokenEntry> tokens_;
  std::vector<CertEntry> certs_;
};

// A new bearer token: "sgt_" + 43 characters of base64url (32 random bytes).
std::string NewBearerToken();
// Hex SHA-256, as written in the credentials file.
std::string Sha256Hex(absl::string_view data);
// Appends a token line for `principal` with `role` to the credentials file, creating it
// with mode 0600 if missing. Refuses a principal name with spaces or a duplicate name.
[[nodiscard]] absl::Status AppendTokenEntry(const std::string& path, absl::string_view principal,
                                            v1::Role role, absl::string_view token);

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_CREDENTIALS_H_
