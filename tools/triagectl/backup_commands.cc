#include "tools/triagectl/backup_commands.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/audit_anchor.h"
#include "common/data_dir.h"
#include "google/protobuf/util/time_util.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "storage/backup.h"
#include "tools/triagectl/render.h"
#include "tools/triagectl/text.h"

namespace safeguarding::tools {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using google::protobuf::util::TimeUtil;

constexpr int kExitNotFound = 3;
constexpr int kExitDamaged = 5;

std::string When(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%SZ", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

std::string HeadOf(const v1::BackupMetadata& metadata) {
  if (metadata.audit_head().sequence() == 0) return "-";
  return common::AuditAnchorPoint{metadata.audit_head().sequence(), metadata.audit_head().hash()}
      .ToString();
}

void PrintBackups(const v1::ListBackupsResponse& list) {
  if (list.backups().empty()) {
    std::printf("No backups in %s.\n", CleanText(list.path()).c_str());
    return;
  }
  std::printf("Backups in %s (oldest first):\n", CleanText(list.path()).c_str());
  std::printf("%-6s %-21s %10s %6s  %-12s %s\n", "id", "taken (UTC)", "MB", "files", "audit head",
              "data keys");
  for (const v1::BackupInfo& b : list.backups()) {
    std::printf("%-6s %-21s %10.1f %6u  %-12llu %s\n", CleanText(b.backup_id()).c_str(),
                When(b.create_time()).c_str(), static_cast<double>(b.size_bytes()) / (1 << 20),
                b.files(), static_cast<unsigned long long>(b.metadata().audit_head().sequence()),
                CleanText(absl::StrJoin(b.metadata().key_ids(), ",")).c_str());
  }
}

// "D" -> "D.before-restore-20261207T101500Z" (never an existing path).
std::string AsidePath(const std::string& path) {
  std::string aside =
      absl::StrCat(path, ".before-restore-",
                   absl::FormatTime("%Y%m%dT%H%M%SZ", absl::Now(), absl::UTCTimeZone()));
  std::error_code ec;
  for (int n = 2; std::filesystem::exists(aside, ec); ++n) {
    aside = absl::StrCat(aside.substr(0, aside.find_last_of('Z') + 1), "-", n);
  }
  return aside;
}

// 1 and a message on stderr.
int Fail(const absl::Status& status) {
  std::fprintf(stderr, "triagectl: %s\n", CleanText(status.message()).c_str());
  return status.code() == absl::StatusCode::kNotFound ? kExitNotFound : 1;
}

std::unique_ptr<storage::BackupDirectory> OpenOffline(const std::string& dir, int* exit_code) {
  absl::StatusOr<std::unique_ptr<storage::BackupDirectory>> opened =
      storage::BackupDirectory::OpenReadOnly(dir);
  if (!opened.ok()) {
    *exit_code = Fail(absl::Status(
        opened.status().code(),
        absl::StrCat(opened.status().message(),
                     " (with the server running, leave out --backup-dir: the server answers)")));
    return nullptr;
  }
  return *std::move(opened);
}

uint32_t ParseIdOrUsage(const std::string& text) {
  uint32_t id = 0;
  if (!absl::SimpleAtoi(text, &id) || id == 0) {
    throw UsageError(
        absl::StrCat("backup id '", text, "': expected a number from `admin backups`"));
  }
  return id;
}

// Moves a data directory that holds anything out of the way (the lock shows that no server
// is using it). Returns where it went, or "" if there was nothing to move.
[[nodiscard]] absl::StatusOr<std::string> MoveDataDirAside(const std::string& data_dir) {
  std::error_code ec;
  if (!std::filesystem::exists(data_dir, ec) || std::filesystem::is_empty(data_dir, ec)) {
    return std::string();
  }
  {
    absl::StatusOr<common::DataDirLock> lock = common::DataDirLock::Acquire(data_dir);
    if (!lock.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat(lock.status().message(), ": stop the server before restoring"));
    }
  }
  const std::string aside = AsidePath(data_dir);
  std::filesystem::rename(data_dir, aside, ec);
  if (ec) {
    return common::DataDirError(
        data_dir, absl::StrCat("cannot move it aside to ", aside, ": ", ec.message()));
  }
  return aside;
}

// Writes backup `id` into the (new, empty) data directory, holding its lock meanwhile so
// that no server starts on a half-restored directory.
[[nodiscard]] absl::Status RestoreInto(const storage::BackupDirectory& dir, uint32_t id,
                                       const std::string& data_dir) {
  absl::StatusOr<common::DataDirLock> lock = common::DataDirLock::Acquire(data_dir);
  if (!lock.ok()) return lock.status();
  return dir.Restore(id, data_dir);
}

// Moves the anchor file aside and writes the backup's audit head in its place: the restored
// trail holds at least that head, so the server starts and goes on anchoring it.
[[nodiscard]] absl::Status ReplaceAnchor(const std::string& anchor_file,
                                         const storage::StoredBackup& backup) {
  std::error_code ec;
  if (std::filesystem::exists(anchor_file, ec)) {
    absl::StatusOr<std::optional<common::AuditAnchorPoint>> old =
        common::ReadAnchorFile(anchor_file);
    const std::string aside = AsidePath(anchor_file);
    std::filesystem::rename(anchor_file, aside, ec);
    if (ec) {
      return absl::FailedPreconditionError(absl::StrCat("audit anchor file ", anchor_file,
                                                        ": cannot move it aside: ", ec.message()));
    }
    std::printf("Anchor file moved to %s (it held %s): file it with the incident.\n", aside.c_str(),
                old.ok() && old->has_value() ? (*old)->ToString().c_str() : "no valid anchor");
  }
  const v1::AuditAnchor& head = backup.metadata.audit_head();
  if (head.sequence() == 0) {
    std::printf("The backup records no audit head; the server starts a new anchor file.\n");
    return absl::OkStatus();
  }
  const common::AuditAnchorPoint anchor{head.sequence(), head.hash()};
  absl::Status written = common::WriteAnchorFile(
      anchor_file, anchor,
      absl::StrCat("audit head of backup ", backup.id, ", written by triagectl admin restore"));
  if (written.ok()) {
    std::printf("Anchor file %s now holds the backup's audit head %s.\n", anchor_file.c_str(),
                anchor.ToString().c_str());
  }
  return written;
}

}  // namespace

BackupCommands::BackupCommands(CLI::App& admin) {
  backup_ = admin.add_subcommand(
      "backup",
      "take a backup now, while the server serves (into its --backup_dir); waits until it is "
      "complete (at least an hour allowed; --timeout if longer)");
  list_ = admin.add_subcommand("backups", "list the backups");
  list_->add_option("--backup-dir", backup_dir_,
                    "read the directory itself (server stopped) instead of asking the server");
  verify_ =
      admin.add_subcommand("verify-backup",
                           "re-read one backup and check every file's size and checksum; exit 5 "
                           "if it is damaged");
  verify_->add_option("backup_id", backup_id_, "from `admin backups`")->required();
  verify_->add_option("--backup-dir", backup_dir_,
                      "check in the directory itself (server stopped)");
  restore_ = admin.add_subcommand(
      "restore",
      "offline, with the server stopped: verify a backup and write it as the data directory "
      "(a directory in the way is moved aside, never deleted)");
  restore_->add_option("--backup-dir", backup_dir_, "the server's --backup_dir")->required();
  restore_->add_option("--data-dir", data_dir_, "the server's --data_dir")->required();
  restore_->add_option("--backup-id", backup_id_, "which backup (default: the newest)");
  restore_->add_option("--audit-anchor-file", anchor_file_,
                       "the server's --audit_anchor_file: moved aside and replaced by the "
                       "backup's audit head, so the server starts on the restored trail");
}

bool BackupCommands::parsed() const {
  return backup_->parsed() || list_->parsed() || verify_->parsed() || restore_->parsed();
}

int BackupCommands::Run(const ConnectionOptions& connection, bool json) {
  if (backup_->parsed()) return RunBackup(connection, json);
  if (list_->parsed()) return RunList(connection, json);
  if (verify_->parsed()) return RunVerify(connection, json);
  if (restore_->parsed()) return RunRestore(json);
  return 2;
}

int BackupCommands::RunBackup(const ConnectionOptions& connection, bool json) {
  ConnectionOptions long_call = connection;  // copies every new table file
  long_call.timeout_seconds = std::max(connection.timeout_seconds, 3600.0);
  auto stub = v1::Administration::NewStub(OpenChannel(long_call));
  v1::CreateBackupResponse response;
  grpc::Status status =
      stub->CreateBackup(NewCallContext(long_call).get(), v1::CreateBackupRequest(), &response);
  if (!status.ok()) return ReportCallError(status);
  if (json) {
    std::cout << RenderJson(response);
    return 0;
  }
  const v1::BackupInfo& b = response.backup();
  std::printf("Backup %s taken %s in %s: %u files, %.1f MB; audit head %s.\n",
              CleanText(b.backup_id()).c_str(), When(b.create_time()).c_str(),
              CleanText(response.path()).c_str(), b.files(),
              static_cast<double>(b.size_bytes()) / (1 << 20), HeadOf(b.metadata()).c_str());
  if (response.backups_deleted() > 0) {
    std::printf("%u older backup%s deleted (--backups_to_keep).\n", response.backups_deleted(),
                response.backups_deleted() == 1 ? "" : "s");
  }
  std::printf("The key files are not in it: keep their own copies (data keys %s).\n",
              CleanText(absl::StrJoin(b.metadata().key_ids(), ", ")).c_str());
  return 0;
}

int BackupCommands::RunList(const ConnectionOptions& connection, bool json) {
  v1::ListBackupsResponse response;
  if (backup_dir_.empty()) {
    auto stub = v1::Administration::NewStub(OpenChannel(connection));
    grpc::Status status =
        stub->ListBackups(NewCallContext(connection).get(), v1::ListBackupsRequest(), &response);
    if (!status.ok()) return ReportCallError(status);
  } else {
    int exit_code = 0;
    std::unique_ptr<storage::BackupDirectory> dir = OpenOffline(backup_dir_, &exit_code);
    if (dir == nullptr) return exit_code;
    response.set_path(dir->path());
    for (const storage::StoredBackup& b : dir->List()) {
      *response.add_backups() = storage::BackupInfoOf(b);
    }
  }
  if (json) {
    std::cout << RenderJson(response);
  } else {
    PrintBackups(response);
  }
  return 0;
}

int BackupCommands::RunVerify(const ConnectionOptions& connection, bool json) {
  v1::VerifyBackupResponse response;
  if (backup_dir_.empty()) {
    ConnectionOptions long_call = connection;  // re-reads every file of the backup
    long_call.timeout_seconds = std::max(connection.timeout_seconds, 3600.0);
    auto stub = v1::Administration::NewStub(OpenChannel(long_call));
    v1::VerifyBackupRequest request;
    request.set_backup_id(backup_id_);
    grpc::Status status = stub->VerifyBackup(NewCallContext(long_call).get(), request, &response);
    if (!status.ok()) return ReportCallError(status);
  } else {
    const uint32_t id = ParseIdOrUsage(backup_id_);
    int exit_code = 0;
    std::unique_ptr<storage::BackupDirectory> dir = OpenOffline(backup_dir_, &exit_code);
    if (dir == nullptr) return exit_code;
    absl::StatusOr<storage::StoredBackup> backup = dir->Get(id);
    if (!backup.ok()) return Fail(backup.status());
    *response.mutable_backup() = storage::BackupInfoOf(*backup);
    absl::Status verified = dir->Verify(id);
    if (!verified.ok() && verified.code() != absl::StatusCode::kDataLoss) return Fail(verified);
    response.set_intact(verified.ok());
    response.set_problem(std::string(verified.message()));
  }
  if (json) {
    std::cout << RenderJson(response);
  } else if (response.intact()) {
    std::printf("Backup %s intact: %u files, every size and checksum as recorded.\n",
                CleanText(response.backup().backup_id()).c_str(), response.backup().files());
  } else {
    std::printf("BACKUP %s DAMAGED: %s\n", CleanText(response.backup().backup_id()).c_str(),
                CleanText(response.problem()).c_str());
  }
  return response.intact() ? 0 : kExitDamaged;
}

int BackupCommands::RunRestore(bool json) {
  int exit_code = 0;
  std::unique_ptr<storage::BackupDirectory> dir = OpenOffline(backup_dir_, &exit_code);
  if (dir == nullptr) return exit_code;
  const std::vector<storage::StoredBackup> backups = dir->List();
  if (backups.empty())
    return Fail(absl::NotFoundError(absl::StrCat("no backups in ", backup_dir_)));
  const uint32_t id = backup_id_.empty() ? backups.back().id : ParseIdOrUsage(backup_id_);
  absl::StatusOr<storage::StoredBackup> backup = dir->Get(id);
  if (!backup.ok()) return Fail(backup.status());
  // Nothing is changed before the backup is known to be whole.
  if (absl::Status verified = dir->Verify(id); !verified.ok()) {
    std::fprintf(stderr, "triagectl: not restoring: %s\n", CleanText(verified.message()).c_str());
    return verified.code() == absl::StatusCode::kDataLoss ? kExitDamaged : 1;
  }
  absl::StatusOr<std::string> aside = MoveDataDirAside(data_dir_);
  if (!aside.ok()) return Fail(aside.status());
  if (!aside->empty()) {
    std::printf("Data directory moved to %s (kept: nothing is deleted).\n", aside->c_str());
  }
  if (absl::Status restored = RestoreInto(*dir, id, data_dir_); !restored.ok()) {
    return Fail(restored);
  }
  const v1::BackupInfo info = storage::BackupInfoOf(*backup);
  std::printf("Restored backup %u (taken %s) into %s.\n", id, When(info.create_time()).c_str(),
              data_dir_.c_str());
  if (!anchor_file_.empty()) {
    if (absl::Status anchored = ReplaceAnchor(anchor_file_, *backup); !anchored.ok()) {
      return Fail(anchored);
    }
  } else {
    std::printf(
        "No --audit-anchor-file: if the server has one, move it aside before starting "
        "(it is ahead of the restored trail).\n");
  }
  std::printf(
      "Start the server with a key file holding the data keys %s, then check:\n"
      "  triagectl admin verify-audit --anchor %s\n  triagectl admin recount\n",
      CleanText(absl::StrJoin(info.metadata().key_ids(), ", ")).c_str(),
      HeadOf(info.metadata()).c_str());
  if (json) std::cout << RenderJson(info);
  return 0;
}

}  // namespace safeguarding::tools
