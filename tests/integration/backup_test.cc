// Backup and restore through a real server on loopback and the real triagectl: a backup
// taken while submits, claims and decisions go on restores (offline, `triagectl admin
// restore`) to exactly its reports: everything acknowledged before it began, nothing sent
// after it ended, each with its content and state; counters agree with a recount, the
// queues with the reports, and the audit trail verifies on the backup's head, which the
// restore wrote to the anchor file. A damaged backup is found and never restored; restore
// refuses while a server runs; the backup directory must lie outside the data directory.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/audit_anchor.h"
#include "google/protobuf/util/time_util.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "safeguarding/triage/v1/intake.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "services/server.h"
#include "tests/support/sample_reports.h"
#include "tests/support/server_clients.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_credentials.h"
#include "tests/support/test_server.h"

namespace safeguarding {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using ::testing::HasSubstr;

// Where the backup call was when a request was sent and when its answer came.
enum Phase : int { kBefore = 0, kDuring = 1, kAfter = 2 };

struct Sent {
  std::string description;
  Phase sent = kBefore;
  Phase acknowledged = kBefore;
};

struct Decided {
  Phase sent = kBefore;
  Phase acknowledged = kBefore;
};

class BackupTest : public ::testing::Test {
 protected:
  std::string AuditKeyFile() { return testing::TestAuditKeyFile(dir_.Sub("db")); }

  void Start(const std::string& backup_dir) {
    services::ServerOptions options =
        testing::LoopbackTestOptions(dir_.Sub("db"), credentials_.path());
    options.backup_dir = backup_dir;
    options.backups_to_keep = 3;
    options.audit_anchor_file = dir_.Sub("anchor");
    absl::Status started = s_.Start(options);
    ASSERT_TRUE(started.ok()) << started;
  }

  std::unique_ptr<grpc::ClientContext> As(v1::Role role) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    testing::Authorize(*context, credentials_.token(role));
    return context;
  }

  // The entries of the trail that record a restore.
  std::vector<v1::AuditEntry> RestoreEntries() {
    std::vector<v1::AuditEntry> found;
    v1::GetAuditLogRequest request;
    request.set_principal("triage-server");
    request.set_page_size(1000);
    do {
      v1::GetAuditLogResponse page;
      grpc::Status status = s_.admin->GetAuditLog(As(v1::ROLE_ADMIN).get(), request, &page);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      for (const v1::AuditEntry& entry : page.entries()) {
        if (entry.has_restore()) found.push_back(entry);
      }
      request.set_page_token(page.next_page_token());
    } while (!request.page_token().empty());
    return found;
  }

  // Submits one report; true and its id once acknowledged.
  bool Submit(const std::string& description, std::string* id) {
    v1::SubmitReportRequest request =
        testing::ValidRequest(absl::StrCat("backup-test-", next_request_.fetch_add(1)));
    request.mutable_report()->set_description(description);
    v1::SubmitReportResponse response;
    grpc::Status status = s_.intake->SubmitReport(As(v1::ROLE_INTAKE).get(), request, &response);
    if (!status.ok()) return false;
    *id = response.report_id();
    return true;
  }

  // Claims the next report and decides it; false when nothing waits.
  bool ClaimAndDecide(std::string* id) {
    v1::ClaimNextReportResponse claimed;
    grpc::Status status = s_.desk->ClaimNextReport(As(v1::ROLE_TRIAGER).get(),
                                                   v1::ClaimNextReportRequest(), &claimed);
    if (!status.ok() || !claimed.has_claim()) return false;
    *id = claimed.claim().report_id();
    v1::RecordDecisionRequest request;
    request.set_report_id(claimed.claim().report_id());
    request.set_claim_id(claimed.claim().claim_id());
    request.set_outcome(v1::OUTCOME_NO_FURTHER_ACTION);
    request.set_note("decided in the backup test");
    v1::Report report;
    return s_.desk->RecordDecision(As(v1::ROLE_TRIAGER).get(), request, &report).ok();
  }

  void SubmitRecorded(int n) {
    for (int i = 0; i < n; ++i) {
      const std::string description = absl::StrCat("before the backup, report ", i);
      std::string id;
      ASSERT_TRUE(Submit(description, &id));
      std::lock_guard<std::mutex> lock(mu_);
      submitted_[id] = Sent{description, kBefore, kBefore};
    }
  }

  // Submits, claims and decides from several threads until `stop`.
  std::vector<std::thread> StartLoad(std::atomic<bool>& stop) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([this, t, &stop] {
        for (int i = 0; !stop.load(); ++i) {
          const Phase sent = phase_.load();
          const std::string description = absl::StrCat("under load, thread ", t, ", report ", i);
          std::string id;
          if (!Submit(description, &id)) continue;
          std::lock_guard<std::mutex> lock(mu_);
          submitted_[id] = Sent{description, sent, phase_.load()};
        }
      });
    }
    threads.emplace_back([this, &stop] {
      while (!stop.load()) {
        const Phase sent = phase_.load();
        std::string id;
        if (!ClaimAndDecide(&id)) continue;
        std::lock_guard<std::mutex> lock(mu_);
        decided_[id] = Decided{sent, phase_.load()};
      }
    });
    return threads;
  }

  testing::TempDir dir_;
  testing::TestCredentials credentials_{dir_.Sub("credentials")};
  testing::ServerClients s_;

  std::atomic<int> next_request_{0};
  std::atomic<Phase> phase_{kBefore};
  std::mutex mu_;
  std::map<std::string, Sent> submitted_;
  std::map<std::string, Decided> decided_;
};

TEST_F(BackupTest, BackupUnderLoadRestoresExactlyItsReports) {
  Start(dir_.Sub("backups"));
  SubmitRecorded(150);

  std::atomic<bool> stop{false};
  std::vector<std::thread> load = StartLoad(stop);
  absl::SleepFor(absl::Milliseconds(300));  // the load is running
  phase_ = kDuring;
  v1::CreateBackupResponse backup;
  grpc::Status backed_up =
      s_.admin->CreateBackup(As(v1::ROLE_ADMIN).get(), v1::CreateBackupRequest(), &backup);
  phase_ = kAfter;
  absl::SleepFor(absl::Milliseconds(300));
  stop = true;
  for (std::thread& t : load) t.join();
  ASSERT_TRUE(backed_up.ok()) << backed_up.error_message();
  EXPECT_EQ(backup.backup_id(), "1");
  EXPECT_EQ(backup.path(), dir_.Sub("backups"));
  EXPECT_GT(backup.backup().files(), 0u);
  EXPECT_GT(backup.backup().metadata().audit_head().sequence(), 150u);  // the submits, audited
  EXPECT_EQ(backup.backup().metadata().key_ids_size(), 1);
  EXPECT_EQ(backup.backup().metadata().principal(), "admin-1");

  v1::VerifyBackupRequest verify;
  verify.set_backup_id(backup.backup_id());
  v1::VerifyBackupResponse verified;
  ASSERT_TRUE(s_.admin->VerifyBackup(As(v1::ROLE_ADMIN).get(), verify, &verified).ok());
  EXPECT_TRUE(verified.intact()) << verified.problem();

  // What came after the backup: must not come back.
  for (int i = 0; i < 20; ++i) {
    std::string id;
    ASSERT_TRUE(Submit("after the backup", &id));
    submitted_[id] = Sent{"after the backup", kAfter, kAfter};
  }
  int sent_after = 0, acknowledged_before = 0;
  for (const auto& [id, sent] : submitted_) {
    sent_after += sent.sent == kAfter;
    acknowledged_before += sent.acknowledged == kBefore;
  }
  ASSERT_GT(sent_after, 20);            // some of the load came after it too
  ASSERT_GT(acknowledged_before, 150);  // and some before it
  ASSERT_GT(decided_.size(), 0u);
  s_.server.reset();
  absl::StatusOr<std::optional<common::AuditAnchorPoint>> published =
      common::ReadAnchorFile(dir_.Sub("anchor"));
  ASSERT_TRUE(published.ok() && published->has_value()) << published.status();
  const common::AuditAnchorPoint before_restore = **published;

  testing::CommandResult restored = testing::RunTriagectl(
      {"admin", "restore", "--backup-dir", dir_.Sub("backups"), "--data-dir", dir_.Sub("db"),
       "--audit-key-file", AuditKeyFile(), "--audit-anchor-file", dir_.Sub("anchor")},
      "");
  ASSERT_EQ(restored.exit_code, 0) << restored.output;
  EXPECT_THAT(restored.output,
              HasSubstr("Data directory moved to " + dir_.Sub("db") + ".before-restore-"));
  const common::AuditAnchorPoint head{backup.backup().metadata().audit_head().sequence(),
                                      backup.backup().metadata().audit_head().hash()};
  EXPECT_THAT(restored.output, HasSubstr("now holds the backup's audit head " + head.ToString()));
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_EQ(entry.path().filename().string().find("restoring"), std::string::npos)
        << "the staging directory is gone once swapped in";
  }

  Start(dir_.Sub("backups"));  // on the restored directory, checked against the new anchor
  std::map<v1::ReportState, int> states;
  int found = 0;
  for (const auto& [id, sent] : submitted_) {
    v1::GetReportRequest request;
    request.set_report_id(id);
    v1::Report report;
    grpc::Status status = s_.desk->GetReport(As(v1::ROLE_SUPERVISOR).get(), request, &report);
    if (sent.acknowledged == kBefore) {
      ASSERT_TRUE(status.ok()) << id << " acknowledged before the backup is missing";
    }
    if (sent.sent == kAfter) {
      ASSERT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << id << " came after it";
    }
    if (!status.ok()) {
      ASSERT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
      continue;
    }
    ++found;
    EXPECT_EQ(report.submission().description(), sent.description);
    ++states[report.state()];
    auto decision = decided_.find(id);
    if (decision != decided_.end() && decision->second.acknowledged == kBefore) {
      EXPECT_EQ(report.state(), v1::REPORT_STATE_CLOSED) << id;
      EXPECT_EQ(report.outcome(), v1::OUTCOME_NO_FURTHER_ACTION);
    }
    if (decision != decided_.end() && decision->second.sent == kAfter) {
      EXPECT_NE(report.state(), v1::REPORT_STATE_CLOSED) << id << " was decided after it";
    }
  }

  // Nothing else is in the store, and the counters agree with the reports.
  v1::RecountStatisticsResponse recount;
  ASSERT_TRUE(
      s_.admin
          ->RecountStatistics(As(v1::ROLE_ADMIN).get(), v1::RecountStatisticsRequest(), &recount)
          .ok());
  EXPECT_EQ(recount.reports_scanned(), static_cast<uint64_t>(found));
  EXPECT_EQ(recount.differences(), 0u);

  // The queues hold exactly the open reports.
  v1::ListQueuesResponse queues;
  ASSERT_TRUE(
      s_.desk->ListQueues(As(v1::ROLE_SUPERVISOR).get(), v1::ListQueuesRequest(), &queues).ok());
  uint64_t waiting = 0, claimed = 0;
  for (const v1::QueueSummary& q : queues.queues()) {
    waiting += q.depth();
    claimed += q.claimed();
  }
  EXPECT_EQ(waiting, static_cast<uint64_t>(states[v1::REPORT_STATE_QUEUED]));
  EXPECT_EQ(claimed, static_cast<uint64_t>(states[v1::REPORT_STATE_CLAIMED]));

  // The audit trail is whole and holds the backup's head.
  v1::VerifyAuditLogRequest audit;
  v1::AuditAnchor* anchor = audit.add_anchors();
  anchor->set_sequence(head.sequence);
  anchor->set_hash(head.hash);
  v1::VerifyAuditLogResponse trail;
  ASSERT_TRUE(s_.admin->VerifyAuditLog(As(v1::ROLE_ADMIN).get(), audit, &trail).ok());
  EXPECT_TRUE(trail.intact()) << trail.problem();
  EXPECT_EQ(trail.anchors_checked(), 1u);

  // The trail says so: the server's first start on the restored directory recorded the
  // restore right after the backup's head, once, and removed the restore's record.
  std::vector<v1::AuditEntry> restores = RestoreEntries();
  ASSERT_EQ(restores.size(), 1u);
  const v1::AuditEntry& entry = restores[0];
  EXPECT_EQ(entry.method(), "server:restore-from-backup");
  EXPECT_GT(entry.sequence(), head.sequence);
  EXPECT_EQ(entry.restore().backup_id(), "1");
  EXPECT_EQ(entry.restore().backup_audit_sequence(), head.sequence);
  EXPECT_EQ(entry.restore().backup_audit_hash(), head.hash);
  EXPECT_EQ(entry.restore().backup_check(), v1::BACKUP_CHECK_MATCHES)
      << "the server compared the record with the backup in its --backup_dir";
  EXPECT_EQ(entry.restore().restored_trail_end_sequence(), entry.sequence() - 1)
      << "triagectl read the staged copy's trail end, and the server started on it";
  EXPECT_EQ(entry.restore().restored_trail_end_hash(), entry.previous_hash());
  EXPECT_EQ(entry.restore().backup_time(), backup.backup().create_time());
  EXPECT_THAT(entry.restore().restored_by(), HasSubstr(absl::StrCat("uid ", ::geteuid())));
  EXPECT_EQ(entry.restore().anchor_before(), before_restore.ToString())
      << "the anchor the server published before it stopped";
  EXPECT_GE(entry.restore().restored_at(), entry.restore().backup_time());
  EXPECT_LE(entry.restore().restored_at(), entry.time());
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("db") + "/RESTORED_FROM_BACKUP"));
  testing::CommandResult listed_trail = testing::RunTriagectl(
      {"--server", s_.server->address(), "audit", "--principal", "triage-server"},
      credentials_.token(v1::ROLE_ADMIN));
  ASSERT_EQ(listed_trail.exit_code, 0) << listed_trail.output;
  EXPECT_THAT(listed_trail.output,
              HasSubstr("server:restore-from-backup  -  OK    (restore record: backup 1 "
                        "taken "));
  EXPECT_THAT(listed_trail.output,
              HasSubstr(absl::StrCat(", audit head #", head.sequence, "; restored at ")));
  EXPECT_THAT(listed_trail.output, HasSubstr("; matches the backup in --backup_dir)"));
  s_.server.reset();
  Start(dir_.Sub("backups"));
  EXPECT_EQ(RestoreEntries().size(), 1u) << "recorded once, not at every start";

  // The backup directory is still the server's, with the backup in it.
  v1::ListBackupsResponse listed;
  ASSERT_TRUE(
      s_.admin->ListBackups(As(v1::ROLE_ADMIN).get(), v1::ListBackupsRequest(), &listed).ok());
  ASSERT_EQ(listed.backups_size(), 1);
  EXPECT_EQ(listed.backups(0).backup_id(), "1");
}

TEST_F(BackupTest, KeepsTheLastNAndListsThemOldestFirst) {
  Start(dir_.Sub("backups"));
  for (int i = 1; i <= 5; ++i) {
    std::string id;
    ASSERT_TRUE(Submit("one more", &id));
    v1::CreateBackupResponse backup;
    ASSERT_TRUE(
        s_.admin->CreateBackup(As(v1::ROLE_ADMIN).get(), v1::CreateBackupRequest(), &backup).ok());
    EXPECT_EQ(backup.backup_id(), absl::StrCat(i));
    EXPECT_EQ(backup.backups_deleted(), i > 3 ? 1u : 0u);
  }
  v1::ListBackupsResponse listed;
  ASSERT_TRUE(
      s_.admin->ListBackups(As(v1::ROLE_ADMIN).get(), v1::ListBackupsRequest(), &listed).ok());
  ASSERT_EQ(listed.backups_size(), 3);
  EXPECT_EQ(listed.backups(0).backup_id(), "3");
  EXPECT_EQ(listed.backups(2).backup_id(), "5");
  EXPECT_LT(listed.backups(0).metadata().audit_head().sequence(),
            listed.backups(2).metadata().audit_head().sequence());

  v1::VerifyBackupRequest request;
  v1::VerifyBackupResponse response;
  request.set_backup_id("1");  // deleted
  EXPECT_EQ(s_.admin->VerifyBackup(As(v1::ROLE_ADMIN).get(), request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  request.set_backup_id("three");
  grpc::Status malformed = s_.admin->VerifyBackup(As(v1::ROLE_ADMIN).get(), request, &response);
  EXPECT_EQ(malformed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(malformed.error_message(), HasSubstr("backup_id"));

  // Every backup call is in the audit trail.
  v1::GetAuditLogRequest audit;
  audit.set_principal("admin-1");
  audit.set_page_size(100);
  v1::GetAuditLogResponse entries;
  ASSERT_TRUE(s_.admin->GetAuditLog(As(v1::ROLE_ADMIN).get(), audit, &entries).ok());
  std::map<std::string, int> methods;
  for (const v1::AuditEntry& e : entries.entries()) ++methods[e.method()];
  EXPECT_EQ(methods["/safeguarding.triage.v1.Administration/CreateBackup"], 5);
  EXPECT_EQ(methods["/safeguarding.triage.v1.Administration/ListBackups"], 1);
  EXPECT_EQ(methods["/safeguarding.triage.v1.Administration/VerifyBackup"], 2);
}

// Flips one byte in the middle of the largest table file of the backups.
void DamageLargestTableFile(const std::string& backup_dir) {
  std::filesystem::path largest;
  uintmax_t size = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(backup_dir)) {
    if (entry.path().extension() == ".sst" && entry.file_size() > size) {
      largest = entry.path();
      size = entry.file_size();
    }
  }
  ASSERT_GT(size, 0u);
  std::fstream file(largest, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(static_cast<std::streamoff>(size / 2));
  char byte = 0;
  file.read(&byte, 1);
  byte = static_cast<char>(byte ^ 0x5a);
  file.seekp(static_cast<std::streamoff>(size / 2));
  file.write(&byte, 1);
}

TEST_F(BackupTest, ADamagedBackupIsFoundAndNeverRestored) {
  Start(dir_.Sub("backups"));
  for (int i = 0; i < 50; ++i) {
    std::string id;
    ASSERT_TRUE(Submit(absl::StrCat("report ", i), &id));
  }
  v1::CreateBackupResponse backup;
  ASSERT_TRUE(
      s_.admin->CreateBackup(As(v1::ROLE_ADMIN).get(), v1::CreateBackupRequest(), &backup).ok());
  DamageLargestTableFile(dir_.Sub("backups"));

  v1::VerifyBackupRequest request;
  request.set_backup_id(backup.backup_id());
  v1::VerifyBackupResponse response;
  ASSERT_TRUE(s_.admin->VerifyBackup(As(v1::ROLE_ADMIN).get(), request, &response).ok());
  EXPECT_FALSE(response.intact());
  EXPECT_THAT(response.problem(), HasSubstr(".sst"));

  // With the server running, the client refuses to touch either directory.
  testing::CommandResult refused =
      testing::RunTriagectl({"admin", "restore", "--backup-dir", dir_.Sub("backups"), "--data-dir",
                             dir_.Sub("db"), "--audit-key-file", AuditKeyFile()},
                            "");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.output, HasSubstr("in use by another process"));
  EXPECT_THAT(refused.output, HasSubstr("a restore is offline: stop the server first"));
  s_.server.reset();

  // A data directory inside the backup directory would overwrite backups: refused.
  testing::CommandResult inside =
      testing::RunTriagectl({"admin", "restore", "--backup-dir", dir_.Sub("backups"), "--data-dir",
                             dir_.Sub("backups/meta"), "--audit-key-file", AuditKeyFile()},
                            "");
  EXPECT_NE(inside.exit_code, 0);
  EXPECT_THAT(inside.output, HasSubstr("outside the data directory"));
  testing::CommandResult listed = testing::RunTriagectl(
      {"admin", "verify-backup", "1", "--backup-dir", dir_.Sub("backups")}, "");
  EXPECT_EQ(listed.exit_code, 5) << listed.output;
  EXPECT_THAT(listed.output, HasSubstr("BACKUP 1 DAMAGED"));
  testing::CommandResult damaged =
      testing::RunTriagectl({"admin", "restore", "--backup-dir", dir_.Sub("backups"), "--data-dir",
                             dir_.Sub("db"), "--audit-key-file", AuditKeyFile()},
                            "");
  EXPECT_EQ(damaged.exit_code, 5) << damaged.output;
  EXPECT_THAT(damaged.output, HasSubstr("not restoring"));
  // Nothing moved: the data directory is where it was and the server starts on it.
  std::error_code ec;
  int asides = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path(), ec)) {
    asides += entry.path().filename().string().find("before-restore") != std::string::npos;
  }
  EXPECT_EQ(asides, 0);
  Start(dir_.Sub("backups"));

  // A backup whose description is unreadable is listed as damaged, not left out.
  v1::CreateBackupResponse second;
  ASSERT_TRUE(
      s_.admin->CreateBackup(As(v1::ROLE_ADMIN).get(), v1::CreateBackupRequest(), &second).ok());
  s_.server.reset();
  std::ofstream(dir_.Sub("backups/meta/" + second.backup_id()), std::ios::trunc) << "garbage";
  testing::CommandResult damaged_list =
      testing::RunTriagectl({"admin", "backups", "--backup-dir", dir_.Sub("backups")}, "");
  EXPECT_EQ(damaged_list.exit_code, 0) << damaged_list.output;
  EXPECT_THAT(damaged_list.output, HasSubstr(second.backup_id() + "      DAMAGED"));
  testing::CommandResult damaged_verify = testing::RunTriagectl(
      {"admin", "verify-backup", second.backup_id(), "--backup-dir", dir_.Sub("backups")}, "");
  EXPECT_EQ(damaged_verify.exit_code, 5) << damaged_verify.output;
}

TEST_F(BackupTest, WithoutABackupDirectoryEveryCallSaysHowToGetOne) {
  Start("");
  v1::CreateBackupResponse backup;
  grpc::Status status =
      s_.admin->CreateBackup(As(v1::ROLE_ADMIN).get(), v1::CreateBackupRequest(), &backup);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("--backup_dir"));
  v1::ListBackupsResponse listed;
  EXPECT_EQ(s_.admin->ListBackups(As(v1::ROLE_ADMIN).get(), v1::ListBackupsRequest(), &listed)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(BackupTest, TheBackupDirectoryMustBeOutsideTheDataDirectory) {
  services::ServerOptions options =
      testing::LoopbackTestOptions(dir_.Sub("db"), credentials_.path());
  options.backup_dir = dir_.Sub("db/backups");
  auto inside = services::TriageServer::Start(options);
  ASSERT_FALSE(inside.ok());
  EXPECT_THAT(std::string(inside.status().message()), HasSubstr("outside the data directory"));
  options.backup_dir = dir_.path();  // around it
  auto around = services::TriageServer::Start(options);
  ASSERT_FALSE(around.ok());
  EXPECT_THAT(std::string(around.status().message()), HasSubstr("outside the data directory"));
}

}  // namespace
}  // namespace safeguarding
