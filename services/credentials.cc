#include "services/credentials.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/digest.h"
#include "triage/access_policy.h"

namespace safeguarding::services {
namespace {

// "triage-server" names the server's own entries in the audit trail: no caller may be it.
constexpr char kReservedPrincipal[] = "triage-server";

bool ValidPrincipalName(absl::string_view name) {
  if (name.empty() || name.size() > 128 || name == kReservedPrincipal) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' &&
        c != '@') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string Sha256Hex(absl::string_view data) {
  return absl::BytesToHexString(common::Sha256(data));
}

absl::StatusOr<CredentialStore> CredentialStore::LoadFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 022) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "credentials file ", path, ": group or others may write it; chmod 600 ", path));
  }
  std::ifstream in(path);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("credentials file ", path, ": cannot read: ", strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), absl::StrCat("credentials file ", path));
}

absl::StatusOr<CredentialStore> CredentialStore::Parse(absl::string_view text,
                                                       absl::string_view source) {
  CredentialStore store;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    auto error = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(source, " line ", line_number, ": ", why));
    };
    // Three separator runs split four fields; the last (a cert identity) may hold spaces.
    std::vector<absl::string_view> fields;
    absl::string_view rest = line;
    while (fields.size() < 3 && !rest.empty()) {
      size_t end = rest.find_first_of(" \t");
      fields.push_back(rest.substr(0, end));
      rest =
          end == absl::string_view::npos ? "" : absl::StripLeadingAsciiWhitespace(rest.substr(end));
    }
    if (!rest.empty()) fields.push_back(rest);
    if (fields.size() != 4) return error("expected: token|cert <principal> <role> <secret>");
    if (!ValidPrincipalName(fields[1])) {
      return error(absl::StrCat("bad principal name '", fields[1],
                                "' (letters, digits and - _ . @ only; triage-server is reserved)"));
    }
    std::optional<v1::Role> role = triage::RoleFromName(fields[2]);
    if (!role) {
      return error(absl::StrCat("unknown role '", fields[2],
                                "' (intake, triager, supervisor, monitor or admin)"));
    }
    Principal principal{std::string(fields[1]), *role};
    absl::string_view secret = absl::StripAsciiWhitespace(fields[3]);
    if (fields[0] == "token") {
      if (!absl::ConsumePrefix(&secret, "sha256:") || secret.size() != 64 ||
          !std::all_of(secret.begin(), secret.end(), [](char c) {
            return absl::ascii_isxdigit(static_cast<unsigned char>(c));
          })) {
        return error("token secret must be sha256:<64 hex digits> (never the token itself)");
      }
      std::string digest = absl::HexStringToBytes(absl::AsciiStrToLower(secret));
      for (const TokenEntry& t : store.tokens_) {
        if (t.sha256 == digest) return error("this token hash is already in the file");
      }
      store.tokens_.push_back({principal, std::move(digest)});
    } else if (fields[0] == "cert") {
      if (!absl::StartsWith(secret, "subject:") && !absl::StartsWith(secret, "dns:") &&
          !absl::StartsWith(secret, "uri:") && !absl::StartsWith(secret, "email:")) {
        return error("cert identity must be subject:<RFC 2253 subject>, dns:, uri: or email:");
      }
      for (const CertEntry& c : store.certs_) {
        if (c.identity == secret) return error("this certificate identity is already mapped");
      }
      store.certs_.push_back({principal, std::string(secret)});
    } else {
      return error(absl::StrCat("unknown entry kind '", fields[0], "' (token or cert)"));
    }
  }
  return store;
}

std::optional<Principal> CredentialStore::FindByToken(absl::string_view token) const {
  const std::string digest = common::Sha256(token);
  std::optional<Principal> found;
  for (const TokenEntry& entry : tokens_) {
    // No early exit: every entry is compared, each in constant time.
    if (CRYPTO_memcmp(entry.sha256.data(), digest.data(), digest.size()) == 0 && !found) {
      found = entry.principal;
    }
  }
  return found;
}

std::optional<Principal> CredentialStore::FindByCertificate(
    const std::vector<std::string>& identities) const {
  std::optional<Principal> found;
  for (const CertEntry& entry : certs_) {
    for (const std::string& identity : identities) {
      if (identity != entry.identity) continue;
      if (found && found->name != entry.principal.name) return std::nullopt;  // ambiguous
      found = entry.principal;
    }
  }
  return found;
}

bool CredentialStore::HasPrincipal(absl::string_view name) const {
  for (const auto& t : tokens_) {
    if (t.principal.name == name) return true;
  }
  for (const auto& c : certs_) {
    if (c.principal.name == name) return true;
  }
  return false;
}

std::string NewBearerToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();  // never hand out a weak token
  std::string encoded;
  absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<char*>(bytes), sizeof bytes),
                            &encoded);
  return absl::StrCat("sgt_", encoded);
}

absl::Status AppendTokenEntry(const std::string& path, absl::string_view principal, v1::Role role,
                              absl::string_view token) {
  if (!ValidPrincipalName(principal)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad principal name '", principal,
                     "' (letters, digits and - _ . @ only; triage-server is reserved)"));
  }
  if (!triage::RoleFromName(triage::RoleName(role))) {
    return absl::InvalidArgumentError("role must be intake, triager, supervisor, monitor or admin");
  }
  if (access(path.c_str(), F_OK) == 0) {
    absl::StatusOr<CredentialStore> existing = CredentialStore::LoadFile(path);
    if (!existing.ok()) return existing.status();
    if (existing->HasPrincipal(principal)) {
      return absl::AlreadyExistsError(
          absl::StrCat("principal '", principal, "' is already in ", path));
    }
  }
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write ", path, ": ", strerror(errno)));
  }
  std::string line = absl::StrCat("token ", principal, " ", triage::RoleName(role),
                                  " sha256:", Sha256Hex(token), "\n");
  // A hand-edited file may lack a final newline; never glue our line onto its last one.
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    char last = '\n';
    if (::pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') line.insert(0, "\n");
  }
  ssize_t written = ::write(fd, line.data(), line.size());
  int err = errno;
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (written != static_cast<ssize_t>(line.size()) || !synced) {
    return absl::FailedPreconditionError(absl::StrCat("cannot write ", path, ": ", strerror(err)));
  }
  return absl::OkStatus();
}

}  // namespace safeguarding::services
