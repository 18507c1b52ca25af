// Tests of services/credentials.h: the credentials file parser and its errors (each naming
// the source and the line), token and certificate lookup, new tokens, and appending token
// entries (mode 0600, hash only, refused duplicates).
#include "services/credentials.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <cstddef>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace safeguarding::services {
namespace {

// An independent SHA-256 (straight from OpenSSL) to write the hashes the file holds, so the
// expected values do not come from the code under test.
std::string ReferenceSha256Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string TokenLine(absl::string_view principal, absl::string_view role,
                      absl::string_view token) {
  return absl::StrCat("token ", principal, " ", role, " sha256:", ReferenceSha256Hex(token));
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteAll(const std::string& path, absl::string_view text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

// True when `message` contains "line <n>" not followed by another digit ("line 3" must not
// be satisfied by "line 31").
bool NamesLine(absl::string_view message, int n) {
  const std::string needle = absl::StrCat("line ", n);
  for (size_t at = message.find(needle); at != absl::string_view::npos;
       at = message.find(needle, at + 1)) {
    const size_t end = at + needle.size();
    if (end == message.size() || !absl::ascii_isdigit(static_cast<unsigned char>(message[end]))) {
      return true;
    }
  }
  return false;
}

constexpr char kAliceToken[] = "sgt_alice-token-0123456789abcdefghijklmnopqrstu";
constexpr char kBobToken[] = "sgt_bob-token-ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefgh";
constexpr char kCarolToken[] = "sgt_carol-token-zyxwvutsrqponmlkjihgfedcba9876";
constexpr char kDeskIdentity[] = "subject:CN=desk app,O=Example";

std::string SampleFile() {
  const std::vector<std::string> lines = {
      "# Credentials for the triage service.",
      "",
      TokenLine("alice", "intake", kAliceToken),
      "   # an indented comment",
      "\t",
      absl::StrCat(TokenLine("bob", "triager", kBobToken), "   "),  // trailing spaces
      TokenLine("carol.smith@example.org", "supervisor", kCarolToken),
      absl::StrCat("cert desk-app triager ", kDeskIdentity),
      "cert dashboard monitor dns:dashboard.example.org",
      "# trailing comment without a newline",
  };
  return absl::StrJoin(lines, "\n");
}

CredentialStore ParseOrDie(absl::string_view text) {
  absl::StatusOr<CredentialStore> store = CredentialStore::Parse(text, "test");
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : CredentialStore();
}

TEST(CredentialStoreTest, ParsesTokensAndCertsAmongCommentsAndBlankLines) {
  CredentialStore store = ParseOrDie(SampleFile());
  EXPECT_EQ(store.token_count(), 3u);
  EXPECT_EQ(store.certificate_count(), 2u);
}

TEST(CredentialStoreTest, EmptyAndCommentOnlyTextsHoldNoEntries) {
  for (absl::string_view text : {"", "\n\n", "# only a comment\n", "  \t \n# x\n"}) {
    CredentialStore store = ParseOrDie(text);
    EXPECT_EQ(store.token_count(), 0u) << text;
    EXPECT_EQ(store.certificate_count(), 0u) << text;
  }
}

TEST(CredentialStoreTest, ToleratesRunsOfSpacesAndTabsBetweenFields) {
  // Hand-edited files often align their columns.
  CredentialStore store =
      ParseOrDie(absl::StrCat("token  alice\tintake   sha256:", ReferenceSha256Hex(kAliceToken),
                              "\n", "cert\tdesk-app  triager\t", kDeskIdentity, "\n"));
  ASSERT_EQ(store.token_count(), 1u);
  ASSERT_EQ(store.certificate_count(), 1u);
  std::optional<Principal> alice = store.FindByToken(kAliceToken);
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->name, "alice");
  std::optional<Principal> desk = store.FindByCertificate({kDeskIdentity});
  ASSERT_TRUE(desk.has_value());
  EXPECT_EQ(desk->name, "desk-app");
}

TEST(CredentialStoreTest, FindByTokenFindsEachPrincipalWithItsRole) {
  CredentialStore store = ParseOrDie(SampleFile());
  struct Case {
    const char* token;
    const char* principal;
    v1::Role role;
  };
  for (const Case& c : std::vector<Case>{
           {kAliceToken, "alice", v1::ROLE_INTAKE},
           {kBobToken, "bob", v1::ROLE_TRIAGER},
           {kCarolToken, "carol.smith@example.org", v1::ROLE_SUPERVISOR},
       }) {
    std::optional<Principal> found = store.FindByToken(c.token);
    ASSERT_TRUE(found.has_value()) << c.token;
    EXPECT_EQ(found->name, c.principal);
    EXPECT_EQ(found->role, c.role) << c.principal;
  }
}

TEST(CredentialStoreTest, FindByTokenRejectsEverythingButTheExactToken) {
  CredentialStore store = ParseOrDie(SampleFile());
  const std::string alice = kAliceToken;
  std::vector<std::string> wrong = {
      "sgt_not-a-token-at-all",
      "",
      alice.substr(0, alice.size() - 1),  // truncated
      alice + "x",                        // extended
      ReferenceSha256Hex(alice),          // the stored hash itself
      absl::StrCat("sha256:", ReferenceSha256Hex(alice)),
      absl::AsciiStrToUpper(alice),
  };
  // Each single-character change, at the start, the middle and the end.
  for (size_t at : {size_t{0}, alice.size() / 2, alice.size() - 1}) {
    std::string changed = alice;
    changed[at] = changed[at] == 'Q' ? 'R' : 'Q';
    wrong.push_back(changed);
  }
  for (const std::string& token : wrong) {
    std::optional<Principal> found = store.FindByToken(token);
    EXPECT_FALSE(found.has_value()) << "'" << token << "' matched " << found->name;
  }
}

TEST(CredentialStoreTest, FindByTokenOnAnEmptyStoreFindsNothing) {
  CredentialStore store;
  EXPECT_FALSE(store.FindByToken(kAliceToken).has_value());
  EXPECT_FALSE(store.FindByToken("").has_value());
}

TEST(CredentialStoreTest, UppercaseHexInTheFileMatches) {
  CredentialStore store = ParseOrDie(absl::StrCat(
      "token alice admin sha256:", absl::AsciiStrToUpper(ReferenceSha256Hex(kAliceToken)), "\n"));
  std::optional<Principal> found = store.FindByToken(kAliceToken);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name, "alice");
  EXPECT_EQ(found->role, v1::ROLE_ADMIN);
}

TEST(CredentialStoreTest, RoleNamesInTheFileAreCaseInsensitive) {
  CredentialStore store = ParseOrDie(TokenLine("alice", "Monitor", kAliceToken));
  std::optional<Principal> found = store.FindByToken(kAliceToken);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->role, v1::ROLE_MONITOR);
}

TEST(CredentialStoreTest, FindByCertificateMatchesTheSubjectWithSpaces) {
  CredentialStore store = ParseOrDie(SampleFile());
  std::optional<Principal> found = store.FindByCertificate({kDeskIdentity});
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name, "desk-app");
  EXPECT_EQ(found->role, v1::ROLE_TRIAGER);
}

TEST(CredentialStoreTest, FindByCertificateMatchesAnySubjectAlternativeName) {
  CredentialStore store = ParseOrDie(SampleFile());
  // The subject does not match; the second SAN does.
  std::optional<Principal> found = store.FindByCertificate(
      {"subject:CN=dashboard,O=Example", "dns:other.example.org", "dns:dashboard.example.org"});
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name, "dashboard");
  EXPECT_EQ(found->role, v1::ROLE_MONITOR);
}

TEST(CredentialStoreTest, FindByCertificateMatchesNothingElse) {
  CredentialStore store = ParseOrDie(SampleFile());
  const std::vector<std::vector<std::string>> unmatched = {
      {},
      {""},
      {"subject:CN=desk app"},                 // a prefix of the identity
      {"subject:CN=desk app,O=Example,C=GB"},  // an extension of it
      {"subject:CN=desk  app,O=Example"},      // different spacing
      {"subject: CN=desk app,O=Example"},      // leading space
      {"CN=desk app,O=Example"},               // untyped
      {"dns:CN=desk app,O=Example"},           // a SAN spelled like the subject
      {"subject:dashboard.example.org"},       // a subject spelled like the SAN
      {"dns:example.org"},                     // a suffix of a SAN
      {"dns:ashboard.example.org"},            // another suffix
      {"dns:dashboard.example.org.evil"},      // an extension
      {"alice", "bob"},                        // token principals are not certificate identities
      {ReferenceSha256Hex(kAliceToken)},       // nor are token hashes
  };
  for (const std::vector<std::string>& identities : unmatched) {
    std::optional<Principal> found = store.FindByCertificate(identities);
    EXPECT_FALSE(found.has_value())
        << (identities.empty() ? "(none)" : identities[0]) << " matched " << found->name;
  }
}

TEST(CredentialStoreTest, ACertificateMatchingTwoPrincipalsIsRefused) {
  CredentialStore store = ParseOrDie(
      "cert desk-app triager subject:CN=desk,O=Example\n"
      "cert boss supervisor dns:desk.example.org\n");
  EXPECT_FALSE(
      store.FindByCertificate({"subject:CN=desk,O=Example", "dns:desk.example.org"}).has_value());
  EXPECT_EQ(store.FindByCertificate({"subject:CN=desk,O=Example"})->name, "desk-app");
}

TEST(CredentialStoreTest, TokensAreNotCertificatesAndCertificatesAreNotTokens) {
  CredentialStore store = ParseOrDie(SampleFile());
  EXPECT_FALSE(store.FindByToken(kDeskIdentity).has_value());
  EXPECT_FALSE(store.FindByToken("dns:dashboard.example.org").has_value());
  EXPECT_FALSE(store.FindByCertificate({kAliceToken}).has_value());
}

TEST(CredentialStoreTest, HasPrincipalCoversTokenAndCertificateEntries) {
  CredentialStore store = ParseOrDie(SampleFile());
  for (const char* name : {"alice", "bob", "carol.smith@example.org", "desk-app", "dashboard"}) {
    EXPECT_TRUE(store.HasPrincipal(name)) << name;
  }
  for (const char* name : {"", "mallory", "alic", "alice2", "Alice", "desk", "intake",
                           "CN=desk app,O=Example", "dashboard.example.org"}) {
    EXPECT_FALSE(store.HasPrincipal(name)) << name;
  }
}

struct BadLineCase {
  const char* description;
  std::string line;
};

std::vector<BadLineCase> BadLines() {
  const std::string hash = ReferenceSha256Hex(kAliceToken);
  return {
      {"one field", "token"},
      {"two fields", "token alice"},
      {"three fields, no secret", "token alice intake"},
      {"cert without identity", "cert desk-app triager"},
      {"unknown kind", absl::StrCat("key alice intake sha256:", hash)},
      {"unknown role", absl::StrCat("token alice superuser sha256:", hash)},
      {"role unspecified", absl::StrCat("token alice unspecified sha256:", hash)},
      {"role with prefix", absl::StrCat("token alice ROLE_ADMIN sha256:", hash)},
      {"cert with unknown role", "cert desk-app root subject:CN=desk"},
      {"cert identity without a kind", "cert desk-app triager CN=desk"},
      {"cert identity of an unknown kind", "cert desk-app triager ip:127.0.0.1"},
      {"principal with !", absl::StrCat("token al!ce intake sha256:", hash)},
      {"principal with /", absl::StrCat("token alice/x intake sha256:", hash)},
      {"principal with :", "cert desk:app triager subject:CN=desk"},
      {"principal too long",
       absl::StrCat("token ", std::string(129, 'a'), " intake sha256:", hash)},
      {"hash without prefix", absl::StrCat("token alice intake ", hash)},
      {"other digest prefix", absl::StrCat("token alice intake sha512:", hash)},
      {"63 hex digits", absl::StrCat("token alice intake sha256:", hash.substr(1))},
      {"65 hex digits", absl::StrCat("token alice intake sha256:", hash, "0")},
      {"non-hex digit", absl::StrCat("token alice intake sha256:g", hash.substr(1))},
      {"empty hash", "token alice intake sha256:"},
      {"raw token", absl::StrCat("token alice intake ", kAliceToken)},
      {"raw token after the prefix", absl::StrCat("token alice intake sha256:", kAliceToken)},
      {"extra field after the hash", absl::StrCat("token alice intake sha256:", hash, " x")},
  };
}

TEST(CredentialStoreTest, EveryParseErrorNamesTheSourceAndTheLine) {
  for (const BadLineCase& c : BadLines()) {
    // Three good or ignorable lines first, so the bad one is line 4.
    const std::string text =
        absl::StrCat("# header\n\n", TokenLine("bob", "triager", kBobToken), "\n", c.line, "\n",
                     TokenLine("carol", "admin", kCarolToken), "\n");
    absl::StatusOr<CredentialStore> store = CredentialStore::Parse(text, "creds.txt");
    ASSERT_FALSE(store.ok()) << c.description;
    EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument) << c.description;
    EXPECT_TRUE(absl::StrContains(store.status().message(), "creds.txt"))
        << c.description << ": " << store.status();
    EXPECT_TRUE(NamesLine(store.status().message(), 4)) << c.description << ": " << store.status();
  }
}

TEST(CredentialStoreTest, ParseErrorLineNumbersAreOneBased) {
  absl::StatusOr<CredentialStore> first = CredentialStore::Parse("bogus line here\n", "src");
  ASSERT_FALSE(first.ok());
  EXPECT_TRUE(NamesLine(first.status().message(), 1)) << first.status();

  std::string text;
  for (int i = 0; i < 11; ++i) text += "# comment\n";
  text += "token alice intake sha256:abc\n";
  absl::StatusOr<CredentialStore> twelfth = CredentialStore::Parse(text, "src");
  ASSERT_FALSE(twelfth.ok());
  EXPECT_TRUE(NamesLine(twelfth.status().message(), 12)) << twelfth.status();
}

TEST(CredentialStoreTest, LoadFileReadsTheFile) {
  safeguarding::testing::TempDir dir;
  const std::string path = dir.Sub("credentials");
  WriteAll(path, SampleFile());
  absl::StatusOr<CredentialStore> store = CredentialStore::LoadFile(path);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(store->token_count(), 3u);
  EXPECT_EQ(store->certificate_count(), 2u);
  std::optional<Principal> bob = store->FindByToken(kBobToken);
  ASSERT_TRUE(bob.has_value());
  EXPECT_EQ(bob->name, "bob");
}

TEST(CredentialStoreTest, LoadFileErrorsNameThePathAndTheLine) {
  safeguarding::testing::TempDir dir;
  const std::string path = dir.Sub("credentials");
  WriteAll(path, absl::StrCat(TokenLine("alice", "intake", kAliceToken), "\n",
                              "token bob wizard sha256:", ReferenceSha256Hex(kBobToken), "\n"));
  absl::StatusOr<CredentialStore> store = CredentialStore::LoadFile(path);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(absl::StrContains(store.status().message(), path)) << store.status();
  EXPECT_TRUE(NamesLine(store.status().message(), 2)) << store.status();
}

TEST(CredentialStoreTest, LoadFileOfAMissingFileFailsNamingThePath) {
  safeguarding::testing::TempDir dir;
  const std::string path = dir.Sub("no-such-file");
  absl::StatusOr<CredentialStore> store = CredentialStore::LoadFile(path);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(absl::StrContains(store.status().message(), path)) << store.status();
}

TEST(NewBearerTokenTest, IsPrefixedAnd43Base64UrlCharacters) {
  constexpr absl::string_view kBase64Url =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (int i = 0; i < 100; ++i) {
    const std::string token = NewBearerToken();
    ASSERT_EQ(token.size(), 4u + 43u) << token;
    EXPECT_TRUE(absl::StartsWith(token, "sgt_")) << token;
    EXPECT_EQ(absl::string_view(token).substr(4).find_first_not_of(kBase64Url),
              absl::string_view::npos)
        << token;
  }
}

TEST(NewBearerTokenTest, ThousandTokensAreDistinct) {
  std::set<std::string> tokens;
  for (int i = 0; i < 1000; ++i) tokens.insert(NewBearerToken());
  EXPECT_EQ(tokens.size(), 1000u);
}

TEST(Sha256HexTest, MatchesKnownVectors) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256HexTest, AgreesWithTheReferenceUsedByTheseTests) {
  // Guards the helper that writes this file's fixtures.
  EXPECT_EQ(ReferenceSha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(kAliceToken), ReferenceSha256Hex(kAliceToken));
}

class AppendTokenEntryTest : public ::testing::Test {
 protected:
  safeguarding::testing::TempDir dir_;
  const std::string path_ = dir_.Sub("credentials");
};

TEST_F(AppendTokenEntryTest, CreatesTheFileWithMode0600) {
  ASSERT_TRUE(AppendTokenEntry(path_, "alice", v1::ROLE_INTAKE, kAliceToken).ok());
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(AppendTokenEntryTest, AppendedEntriesLoadBackWithTheirRoles) {
  struct Case {
    const char* principal;
    v1::Role role;
    std::string token;
  };
  const std::vector<Case> cases = {
      {"intake-app", v1::ROLE_INTAKE, NewBearerToken()},
      {"t.jones", v1::ROLE_TRIAGER, NewBearerToken()},
      {"s_smith@example.org", v1::ROLE_SUPERVISOR, NewBearerToken()},
      {"grafana", v1::ROLE_MONITOR, NewBearerToken()},
      {"ops", v1::ROLE_ADMIN, NewBearerToken()},
  };
  for (const Case& c : cases) {
    absl::Status appended = AppendTokenEntry(path_, c.principal, c.role, c.token);
    ASSERT_TRUE(appended.ok()) << c.principal << ": " << appended;
  }
  absl::StatusOr<CredentialStore> store = CredentialStore::LoadFile(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(store->token_count(), cases.size());
  for (const Case& c : cases) {
    std::optional<Principal> found = store->FindByToken(c.token);
    ASSERT_TRUE(found.has_value()) << c.principal;
    EXPECT_EQ(found->name, c.principal);
    EXPECT_EQ(found->role, c.role) << c.principal;
  }
}

TEST_F(AppendTokenEntryTest, NeverWritesTheTokenItself) {
  const std::string first = NewBearerToken();
  const std::string second = NewBearerToken();
  ASSERT_TRUE(AppendTokenEntry(path_, "alice", v1::ROLE_INTAKE, first).ok());
  ASSERT_TRUE(AppendTokenEntry(path_, "bob", v1::ROLE_TRIAGER, second).ok());
  const std::string text = ReadAll(path_);
  ASSERT_FALSE(text.empty());
  EXPECT_FALSE(absl::StrContains(text, first)) << text;
  EXPECT_FALSE(absl::StrContains(text, second)) << text;
  // Not even the random part without its prefix.
  EXPECT_FALSE(absl::StrContains(text, first.substr(4))) << text;
  EXPECT_FALSE(absl::StrContains(text, second.substr(4))) << text;
  // What is there is the hash.
  EXPECT_TRUE(absl::StrContains(text, ReferenceSha256Hex(first))) << text;
  EXPECT_TRUE(absl::StrContains(text, ReferenceSha256Hex(second))) << text;
}

TEST_F(AppendTokenEntryTest, RefusesADuplicatePrincipal) {
  ASSERT_TRUE(AppendTokenEntry(path_, "alice", v1::ROLE_INTAKE, kAliceToken).ok());
  const std::string before = ReadAll(path_);
  absl::Status again = AppendTokenEntry(path_, "alice", v1::ROLE_ADMIN, kBobToken);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  EXPECT_EQ(ReadAll(path_), before);
  absl::StatusOr<CredentialStore> store = CredentialStore::LoadFile(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_FALSE(store->FindByToken(kBobToken).has_value());
}

TEST_F(AppendTokenEntryTest, RefusesAPrincipalAlreadyMappedToACertificate) {
  WriteAll(path_, absl::StrCat("cert desk-app triager ", kDeskIdentity, "\n"));
  absl::Status added = AppendTokenEntry(path_, "desk-app", v1::ROLE_TRIAGER, kAliceToken);
  EXPECT_EQ(added.code(), absl::StatusCode::kAlreadyExists) << added;
}

TEST_F(AppendTokenEntryTest, RefusesABadPrincipalNameWithoutWriting) {
  for (const char* name :
       {"", "has space", "tab\there", "semi;colon", "new\nline", "a/b", "triage-server"}) {
    absl::Status added = AppendTokenEntry(path_, name, v1::ROLE_TRIAGER, kAliceToken);
    EXPECT_EQ(added.code(), absl::StatusCode::kInvalidArgument) << "'" << name << "': " << added;
  }
  struct stat st;
  EXPECT_NE(::stat(path_.c_str(), &st), 0) << "a refused entry created the file";
}

TEST_F(AppendTokenEntryTest, AppendsToAHandWrittenFileWithoutAFinalNewline) {
  WriteAll(path_, absl::StrCat("# hand-written\n", TokenLine("alice", "intake", kAliceToken)));
  ASSERT_TRUE(AppendTokenEntry(path_, "bob", v1::ROLE_TRIAGER, kBobToken).ok());
  absl::StatusOr<CredentialStore> store = CredentialStore::LoadFile(path_);
  ASSERT_TRUE(store.ok()) << store.status() << "\n" << ReadAll(path_);
  std::optional<Principal> alice = store->FindByToken(kAliceToken);
  std::optional<Principal> bob = store->FindByToken(kBobToken);
  ASSERT_TRUE(alice.has_value());
  ASSERT_TRUE(bob.has_value());
  EXPECT_EQ(alice->name, "alice");
  EXPECT_EQ(bob->name, "bob");
}

TEST_F(AppendTokenEntryTest, RefusesToAppendToAnUnreadableFile) {
  WriteAll(path_, "this is not a credentials file\n");
  const std::string before = ReadAll(path_);
  EXPECT_FALSE(AppendTokenEntry(path_, "alice", v1::ROLE_INTAKE, kAliceToken).ok());
  EXPECT_EQ(ReadAll(path_), before);
}

TEST_F(AppendTokenEntryTest, NeverWritesALineTheParserRejects) {
  // ROLE_UNSPECIFIED has no name the parser accepts: appending it would make the whole file
  // fail to load at the next reload, locking everyone out.
  ASSERT_TRUE(AppendTokenEntry(path_, "alice", v1::ROLE_INTAKE, kAliceToken).ok());
  absl::Status added = AppendTokenEntry(path_, "nobody", v1::ROLE_UNSPECIFIED, kBobToken);
  EXPECT_FALSE(added.ok());
  absl::StatusOr<CredentialStore> store = CredentialStore::LoadFile(path_);
  ASSERT_TRUE(store.ok()) << store.status() << "\n" << ReadAll(path_);
  EXPECT_TRUE(store->FindByToken(kAliceToken).has_value());
}

}  // namespace
}  // namespace safeguarding::services
