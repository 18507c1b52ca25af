// The audit trail through a real triage-server process, triagectl and the files on disk:
// the attacks of issue 7 made with the server stopped, as someone who can write the data
// directory but holds no key file would make them (cut the newest entry and rewrite the
// head; empty the trail; put back an older copy of the data directory), anchors from the
// server's own log and anchor file, and the migration of a store written by the previous
// release (tests/fixtures/store-v1) with the retirement of its data key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "storage/audit_chain.h"
#include "storage/key_encoding.h"
#include "storage/report_store.h"
#include "tests/support/raw_db.h"
#include "tests/support/sample_reports.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_credentials.h"
#include "tests/support/test_server.h"

namespace safeguarding {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::safeguarding::triage::v1;
using storage::ColumnFamily;
using ::testing::HasSubstr;
using testing::RawDb;
using testing::RunTriagectl;
using testing::ServerProcess;

constexpr absl::Duration kStartTimeout = absl::Seconds(20);

// Every "audit anchor SEQ:HASH" the server logged, in order.
std::vector<std::string> LoggedAnchors(const std::string& log) {
  std::vector<std::string> anchors;
  static const std::regex kAnchor("audit anchor ([0-9]+:[0-9a-f]{64})");
  for (std::sregex_iterator it(log.begin(), log.end(), kAnchor), end; it != end; ++it) {
    anchors.push_back((*it)[1]);
  }
  return anchors;
}

// One data directory with its key files, credentials and an anchor file outside it.
class AuditProcessTest : public ::testing::Test {
 protected:
  AuditProcessTest() : credentials_(dir_.Sub("credentials")) {}

  std::vector<std::string> Args(const std::string& data_dir) {
    return {"--listen=127.0.0.1:0",
            "--data_dir=" + data_dir,
            "--insecure",
            "--key_file=" + testing::TestKeyFile(dir_.Sub("db")),
            "--audit_key_file=" + testing::TestAuditKeyFile(dir_.Sub("db")),
            "--credentials_file=" + credentials_.path(),
            "--rate_limit_per_second=0"};
  }

  // Starts a server on `data_dir` (extra flags appended); fails the test if it does not.
  std::unique_ptr<ServerProcess> Start(const std::string& data_dir,
                                       std::vector<std::string> extra = {}) {
    std::vector<std::string> args = Args(data_dir);
    args.insert(args.end(), extra.begin(), extra.end());
    auto server =
        std::make_unique<ServerProcess>(args, dir_.Sub(absl::StrCat("server-", ++runs_, ".log")));
    std::optional<std::string> address = server->WaitUntilListening(kStartTimeout);
    EXPECT_TRUE(address.has_value()) << server->Log();
    address_ = address.value_or("");
    return server;
  }

  void Stop(std::unique_ptr<ServerProcess>& server) {
    server->Signal(SIGTERM);
    EXPECT_EQ(server->WaitForExit(absl::Seconds(30)), 0) << server->Log();
  }

  testing::CommandResult Ctl(std::vector<std::string> args, v1::Role role) {
    args.insert(args.begin(), {"--server", address_});
    return RunTriagectl(args, credentials_.token(role));
  }

  // Submits a report and reads it back once: two audit entries.
  std::string SubmitAndShow(int i) {
    testing::CommandResult submitted =
        Ctl({"submit", "--reporter", "child", "--age", "12", "--category", "grooming", "--channel",
             "online-chat", "--description", absl::StrCat("report ", i)},
            v1::ROLE_INTAKE);
    EXPECT_EQ(submitted.exit_code, 0) << submitted.output;
    std::smatch id;
    static const std::regex kId("[0-9A-HJKMNP-TV-Z]{26}");
    EXPECT_TRUE(std::regex_search(submitted.output, id, kId)) << submitted.output;
    const std::string report_id = id.str();
    testing::CommandResult shown = Ctl({"show", report_id}, v1::ROLE_TRIAGER);
    EXPECT_EQ(shown.exit_code, 0) << shown.output;
    return report_id;
  }

  testing::CommandResult VerifyAudit(const std::vector<std::string>& anchors = {}) {
    std::vector<std::string> args = {"admin", "verify-audit"};
    for (const std::string& a : anchors) args.insert(args.end(), {"--anchor", a});
    return Ctl(args, v1::ROLE_ADMIN);
  }

  testing::TempDir dir_;
  testing::TestCredentials credentials_;
  std::string address_;
  int runs_ = 0;
};

// Issue 7, the first scenario: with the server stopped, delete the newest entry and set the
// head to the sequence, time and hash of the entry before it.
TEST_F(AuditProcessTest, CuttingTheNewestEntryWithARewrittenHeadIsReportedBroken) {
  {
    auto server = Start(dir_.Sub("db"));
    for (int i = 0; i < 3; ++i) SubmitAndShow(i);
    testing::CommandResult intact = VerifyAudit();
    EXPECT_EQ(intact.exit_code, 0) << intact.output;
    Stop(server);
  }
  {
    RawDb raw(dir_.Sub("db"));
    auto entries = raw.Audit();
    ASSERT_GE(entries.size(), 3u);
    v1::AuditEntry before_last;
    ASSERT_TRUE(before_last.ParseFromString(entries[entries.size() - 2].second));
    raw.Delete(ColumnFamily::kAudit, entries.back().first);
    std::string head;  // sequence | time | hash, as the attacker can read them
    storage::PutFixed64BE(&head, before_last.sequence());
    storage::PutFixed64BE(
        &head, storage::OrderedFromMicros(
                   google::protobuf::util::TimeUtil::TimestampToMicroseconds(before_last.time())));
    head.append(before_last.hash());
    raw.Put(ColumnFamily::kMeta, storage::kAuditHeadKey, head);
  }
  auto server = Start(dir_.Sub("db"));
  EXPECT_THAT(server->Log(), HasSubstr("AUDIT TRAIL DAMAGED"));
  testing::CommandResult verified = VerifyAudit();
  EXPECT_EQ(verified.exit_code, 5) << verified.output;
  EXPECT_THAT(verified.output, HasSubstr("AUDIT TRAIL BROKEN"));
  EXPECT_THAT(verified.output, HasSubstr("chain head"));
}

// Issue 7, the second scenario: delete every audit entry and the head; the reports stay.
TEST_F(AuditProcessTest, AnEmptiedTrailIsReportedBroken) {
  std::string report;
  {
    auto server = Start(dir_.Sub("db"));
    report = SubmitAndShow(1);
    Stop(server);
  }
  {
    RawDb raw(dir_.Sub("db"));
    for (const auto& [key, value] : raw.Audit()) raw.Delete(ColumnFamily::kAudit, key);
    raw.Delete(ColumnFamily::kMeta, storage::kAuditHeadKey);
  }
  auto server = Start(dir_.Sub("db"));
  testing::CommandResult verified = VerifyAudit();
  EXPECT_EQ(verified.exit_code, 5) << verified.output;
  EXPECT_THAT(verified.output, HasSubstr("chain head is missing"));
  EXPECT_EQ(Ctl({"show", report}, v1::ROLE_TRIAGER).exit_code, 0) << "the reports still serve";
}

TEST_F(AuditProcessTest, AnIntactTrailVerifiesOnTheAnchorsTheServerLogged) {
  auto server = Start(dir_.Sub("db"), {"--audit_anchor_interval=100ms"});
  SubmitAndShow(1);
  // The periodic publication follows the head within an interval (polling, bounded).
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (LoggedAnchors(server->Log()).size() < 2 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::vector<std::string> anchors = LoggedAnchors(server->Log());
  ASSERT_GE(anchors.size(), 2u) << server->Log();
  EXPECT_THAT(server->Log(), HasSubstr("(periodic)"));
  testing::CommandResult verified = VerifyAudit(anchors);
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
  EXPECT_THAT(verified.output, HasSubstr("intact"));
  EXPECT_THAT(verified.output, HasSubstr(absl::StrCat("on ", anchors.size(), " anchors (all)")));
  testing::CommandResult bad = VerifyAudit({"1:" + std::string(64, '0')});
  EXPECT_EQ(bad.exit_code, 5) << bad.output;
  testing::CommandResult malformed = VerifyAudit({"12:abc"});
  EXPECT_EQ(malformed.exit_code, 2) << malformed.output;
}

// Issue 7, the third scenario: an older copy of the whole data directory put back.
TEST_F(AuditProcessTest, AnOlderCopyOfTheDataDirectoryIsCaughtByItsAnchors) {
  const std::string anchor_file = dir_.Sub("anchors/audit-anchor");  // outside the data dir
  fs::create_directories(dir_.Sub("anchors"));
  const std::vector<std::string> with_anchor_file = {"--audit_anchor_file=" + anchor_file};
  {
    auto server = Start(dir_.Sub("db"), with_anchor_file);
    SubmitAndShow(1);
    Stop(server);
  }
  fs::copy(dir_.Sub("db"), dir_.Sub("older-copy"), fs::copy_options::recursive);
  std::string last_logged;
  {
    auto server = Start(dir_.Sub("db"), with_anchor_file);
    EXPECT_THAT(server->Log(), HasSubstr("is on the anchor"));
    SubmitAndShow(2);
    Stop(server);
    std::vector<std::string> anchors = LoggedAnchors(server->Log());
    ASSERT_FALSE(anchors.empty());
    last_logged = anchors.back();
    EXPECT_THAT(server->Log(), HasSubstr("(at stop)"));
  }
  std::ifstream in(anchor_file);
  std::string file_text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_THAT(file_text, HasSubstr(last_logged)) << "the file holds the last anchor published";

  fs::remove_all(dir_.Sub("db"));
  fs::copy(dir_.Sub("older-copy"), dir_.Sub("db"), fs::copy_options::recursive);
  {
    // Against the anchor file: the server refuses to start.
    std::vector<std::string> args = Args(dir_.Sub("db"));
    args.push_back("--audit_anchor_file=" + anchor_file);
    ServerProcess refused(args, dir_.Sub("refused.log"));
    std::optional<int> code = refused.WaitForExit(kStartTimeout);
    ASSERT_TRUE(code.has_value());
    EXPECT_NE(*code, 0);
    EXPECT_THAT(refused.Log(), HasSubstr("refusing to start"));
    EXPECT_THAT(refused.Log(), HasSubstr("older than the last anchor"));
  }
  // Against an anchor from the log: verify-audit reports it behind.
  auto server = Start(dir_.Sub("db"));
  EXPECT_EQ(VerifyAudit().exit_code, 0) << "on its own the older copy is a sound trail";
  testing::CommandResult verified = VerifyAudit({last_logged});
  EXPECT_EQ(verified.exit_code, 5) << verified.output;
  EXPECT_THAT(verified.output, HasSubstr("rolled back"));
}

// A store written by the previous release: its trail migrates to the audit key with a
// recorded key change, stays verifiable, retries are still recognised, and once a rotation
// has re-encrypted everything its original data key (which keyed the old trail) can go.
TEST_F(AuditProcessTest, AStoreFromThePreviousReleaseMigratesAndItsDataKeyCanBeRetired) {
  const fs::path fixture = fs::path(testing::FixturesDir()) / "store-v1";
  fs::copy(fixture, dir_.Sub("v1"), fs::copy_options::recursive);
  for (const char* file : {"key", "credentials"}) {
    fs::permissions(dir_.Sub(absl::StrCat("v1/", file)),
                    fs::perms::owner_read | fs::perms::owner_write);
  }
  auto token = [&](const char* role) {
    std::ifstream in(dir_.Sub(absl::StrCat("v1/", role, ".token")));
    std::string t;
    in >> t;
    return t;
  };
  std::vector<std::string> args = {"--listen=127.0.0.1:0",
                                   "--data_dir=" + dir_.Sub("v1/db"),
                                   "--insecure",
                                   "--key_file=" + dir_.Sub("v1/key"),
                                   "--audit_key_file=" + testing::TestAuditKeyFile(dir_.Sub("v1")),
                                   "--credentials_file=" + dir_.Sub("v1/credentials")};
  auto ctl = [&](std::vector<std::string> a, const char* role) {
    a.insert(a.begin(), {"--server", address_});
    return RunTriagectl(a, token(role));
  };
  std::ifstream submitted_json(dir_.Sub("v1/submitted.json"));
  std::string submitted((std::istreambuf_iterator<char>(submitted_json)), {});
  std::vector<std::string> ids;
  static const std::regex kId("\"reportId\": \"([0-9A-Z]{26})\"");
  for (std::sregex_iterator it(submitted.begin(), submitted.end(), kId), end; it != end; ++it) {
    ids.push_back((*it)[1]);
  }
  ASSERT_EQ(ids.size(), 3u);

  {
    // Migration is never implicit: without the flag the old store is refused, naming it.
    ServerProcess refused(args, dir_.Sub("v1-0.log"));
    std::optional<int> code = refused.WaitForExit(kStartTimeout);
    ASSERT_TRUE(code.has_value());
    EXPECT_NE(*code, 0);
    EXPECT_THAT(refused.Log(), HasSubstr("--migrate_audit_trail"));
  }
  {
    std::vector<std::string> migrate = args;
    migrate.push_back("--migrate_audit_trail");
    ServerProcess server(migrate, dir_.Sub("v1-1.log"));
    address_ = server.WaitUntilListening(kStartTimeout).value_or("");
    ASSERT_FALSE(address_.empty()) << server.Log();
    EXPECT_THAT(server.Log(), HasSubstr("audit trail migrated"));
    testing::CommandResult verified = ctl({"admin", "verify-audit"}, "admin");
    EXPECT_EQ(verified.exit_code, 0) << verified.output;
    EXPECT_THAT(verified.output, HasSubstr("10 entries checked"));  // 9 old + the key change
    for (const std::string& id : ids) {
      EXPECT_EQ(ctl({"show", id}, "triager").exit_code, 0) << id;
    }
    // The same request as the old release stored (triagectl's flags build it exactly):
    // recognised as a retry through the old fingerprint key, answered with the first id.
    testing::CommandResult retry =
        ctl({"submit", "--request-id", "fixture-request-1", "--reporter", "child", "--age", "13",
             "--category", "grooming", "--channel", "online-gaming", "--description",
             "fixture report 1"},
            "intake");
    EXPECT_EQ(retry.exit_code, 0) << retry.output;
    EXPECT_THAT(retry.output, HasSubstr(ids[0]));

    testing::CommandResult keys = ctl({"admin", "keys"}, "admin");
    EXPECT_THAT(keys.output, HasSubstr("current"));
    testing::CommandResult rotated = ctl({"admin", "rotate-key"}, "admin");
    ASSERT_EQ(rotated.exit_code, 0) << rotated.output;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    do {
      keys = ctl({"admin", "keys"}, "admin");
    } while (keys.output.find("retired") == std::string::npos && absl::Now() < deadline);
    EXPECT_THAT(keys.output, HasSubstr("retired")) << keys.output;
    server.Signal(SIGTERM);
    ASSERT_EQ(server.WaitForExit(absl::Seconds(30)), 0) << server.Log();
  }
  // Retire the original key: keep only the current (last) one.
  std::ifstream key_in(dir_.Sub("v1/key"), std::ios::binary);
  std::string both((std::istreambuf_iterator<char>(key_in)), {});
  ASSERT_EQ(both.size(), 64u);
  fs::remove(dir_.Sub("v1/key"));
  std::ofstream(dir_.Sub("v1/key"), std::ios::binary) << both.substr(32);
  fs::permissions(dir_.Sub("v1/key"), fs::perms::owner_read | fs::perms::owner_write);

  {
    // The flag was for the first start only.
    std::vector<std::string> again = args;
    again.push_back("--migrate_audit_trail");
    ServerProcess refused(again, dir_.Sub("v1-again.log"));
    std::optional<int> code = refused.WaitForExit(kStartTimeout);
    ASSERT_TRUE(code.has_value());
    EXPECT_NE(*code, 0);
    EXPECT_THAT(refused.Log(), HasSubstr("remove the flag"));
  }
  ServerProcess server(args, dir_.Sub("v1-2.log"));
  address_ = server.WaitUntilListening(kStartTimeout).value_or("");
  ASSERT_FALSE(address_.empty()) << server.Log();
  for (const std::string& id : ids) {
    testing::CommandResult shown = ctl({"show", id}, "triager");
    EXPECT_EQ(shown.exit_code, 0) << shown.output;
  }
  testing::CommandResult verified = ctl({"admin", "verify-audit"}, "admin");
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
  EXPECT_THAT(verified.output, HasSubstr("intact"));
}

// SIGTERM in the middle of a key rotation: the server stops without finishing it, and the
// next start takes the re-encryption up again and completes it.
TEST_F(AuditProcessTest, SigtermDuringARotationStopsAndTheRotationCompletesAfterRestart) {
  constexpr int kReports = 30000;
  {
    // Many reports, made in-process (fast), in the directory the server will use.
    auto store = storage::ReportStore::Open(testing::TestStoreOptions(dir_.Sub("db")));
    ASSERT_TRUE(store.ok()) << store.status();
    std::atomic<int> left{kReports};
    absl::Notification all;
    for (int i = 0; i < kReports; ++i) {
      (*store)->reports().Submit(
          testing::SampleNewReport("intake-app", absl::StrCat("bulk-", i), "fp"),
          [&](absl::StatusOr<v1::SubmitReportResponse> r) {
            EXPECT_TRUE(r.ok()) << r.status();
            if (--left == 0) all.Notify();
          });
    }
    all.WaitForNotification();
  }
  {
    auto server = Start(dir_.Sub("db"));
    testing::CommandResult rotated = Ctl({"admin", "rotate-key"}, v1::ROLE_ADMIN);
    ASSERT_EQ(rotated.exit_code, 0) << rotated.output;
    Stop(server);  // asserts a clean exit (0) within the stop timeout
    EXPECT_THAT(server->Log(), HasSubstr("stopped cleanly"));
  }
  auto server = Start(dir_.Sub("db"));
  // The stop came before the rotation ended (30,000 reports take the re-encryption well
  // over a second, the stop a few milliseconds), so this start takes it up again.
  EXPECT_THAT(server->Log(), HasSubstr("resuming the re-encryption"));
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  testing::CommandResult keys;
  do {
    keys = Ctl({"admin", "keys"}, v1::ROLE_ADMIN);
  } while (keys.output.find("retired") == std::string::npos && absl::Now() < deadline);
  EXPECT_THAT(keys.output, HasSubstr("retired")) << keys.output << server->Log();
}

TEST_F(AuditProcessTest, AKeyFileWithoutAKeyStillInUseIsRefused) {
  {
    auto server = Start(dir_.Sub("db"));
    SubmitAndShow(1);
    ASSERT_EQ(Ctl({"admin", "rotate-key"}, v1::ROLE_ADMIN).exit_code, 0);
    Stop(server);  // may stop before re-encryption ends: both keys stay in use then
  }
  const std::string key_file = dir_.Sub("db") + ".key";
  std::ifstream key_in(key_file, std::ios::binary);
  std::string both((std::istreambuf_iterator<char>(key_in)), {});
  ASSERT_EQ(both.size(), 64u);
  // Remove the current key instead of the old one: it seals the newest data.
  fs::remove(key_file);
  std::ofstream(key_file, std::ios::binary) << both.substr(0, 32);
  fs::permissions(key_file, fs::perms::owner_read | fs::perms::owner_write);
  ServerProcess refused(Args(dir_.Sub("db")), dir_.Sub("refused.log"));
  std::optional<int> code = refused.WaitForExit(kStartTimeout);
  ASSERT_TRUE(code.has_value()) << refused.Log();
  EXPECT_NE(*code, 0);
  EXPECT_THAT(refused.Log(), HasSubstr("does not hold key"));
}

}  // namespace
}  // namespace safeguarding
