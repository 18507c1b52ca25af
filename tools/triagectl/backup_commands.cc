#include "tools/triagectl/backup_commands.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

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
#include "common/file_sync.h"
#include "google/protobuf/util/time_util.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "storage/backup.h"
#include "storage/key_ring.h"
#include "storage/restore_record.h"
#include "tools/triagectl/render.h"
#include "tools/triagectl/text.h"

namespace safeguarding::tools {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using google::protobuf::util::TimeUtil;

constexpr int kExitNotFound = 3;
constexpr int kExitDamaged = 5;

std::string When(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixSeconds(t.seconds()),
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
    if (b.damaged()) {
      std::printf("%-6s DAMAGED: its description cannot be read (neither verified nor restored)\n",
                  CleanText(b.backup_id()).c_str());
      continue;
    }
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

// `if_in_use`: what to do when a running server holds the directory.
std::unique_ptr<storage::BackupDirectory> OpenOffline(
    const std::string& dir, int* exit_code,
    absl::string_view if_in_use =
        "with the server running, leave out --backup-dir: the server "
        "answers") {
  absl::StatusOr<std::unique_ptr<storage::BackupDirectory>> opened =
      storage::BackupDirectory::OpenReadOnly(dir);
  if (!opened.ok()) {
    *exit_code = Fail(absl::Status(opened.status().code(),
                                   absl::StrCat(opened.status().message(), " (", if_in_use, ")")));
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

// "D" -> "D.restoring-20261207T101500Z": where the backup is written before it replaces
// anything, beside D so that the final renames stay on one file system.
std::string StagingPath(const std::string& data_dir) {
  return absl::StrCat(data_dir, ".restoring-",
                      absl::FormatTime("%Y%m%dT%H%M%SZ", absl::Now(), absl::UTCTimeZone()));
}

[[nodiscard]] absl::Status Errno(const std::string& path, absl::string_view what) {
  return common::DataDirError(path, absl::StrCat(what, ": ", std::strerror(errno)));
}

// Writes backup `id` into a new staging directory with the record of this restore for the
// server's audit trail, and makes it durable. On failure the staging directory (a partial
// copy of ours) is removed and nothing else has changed.
[[nodiscard]] absl::StatusOr<std::string> RestoreToStaging(const storage::BackupDirectory& dir,
                                                           uint32_t id, v1::BackupRestore record,
                                                           const storage::KeyRing& audit_keys,
                                                           const std::string& data_dir) {
  const std::string staging = StagingPath(data_dir);
  if (::mkdir(staging.c_str(), 0700) != 0) return Errno(staging, "cannot create");
  absl::Status restored = dir.Restore(id, staging);
  if (restored.ok()) {
    // The record names the copy it was made for: the server starts only on that trail end.
    // A copy whose trail cannot be read is still restored; its record says 0.
    absl::StatusOr<common::AuditAnchorPoint> end = storage::RestoredTrailEnd(staging);
    if (end.ok()) {
      record.set_restored_trail_end_sequence(end->sequence);
      record.set_restored_trail_end_hash(end->hash);
    } else {
      std::fprintf(stderr,
                   "triagectl: warning: cannot read the restored copy's audit trail end (%s): "
                   "the record of this restore does not name it, so the server cannot tell "
                   "it from another restore's record\n",
                   CleanText(end.status().message()).c_str());
    }
    storage::SealRestoreRecord(audit_keys, record);
    restored = storage::WriteRestoreRecord(staging, record);
  }
  if (restored.ok()) restored = common::SyncParentDirectory(staging + "/CURRENT");
  if (restored.ok()) restored = common::SyncParentDirectory(staging);
  if (!restored.ok()) {
    std::error_code ec;
    std::filesystem::remove_all(staging, ec);
    return absl::Status(restored.code(),
                        absl::StrCat(restored.message(), " (nothing was changed)"));
  }
  return staging;
}

// Puts the staging directory in the data directory's place in one atomic exchange (so a
// server starting meanwhile finds either the old directory, locked by us, or the restored
// one, never none), then moves the old one aside. Returns where it went ("" if there was
// no data directory).
[[nodiscard]] absl::StatusOr<std::string> SwapIn(const std::string& staging,
                                                 const std::string& data_dir) {
  std::error_code ec;
  if (!std::filesystem::exists(data_dir, ec)) {
    if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, data_dir.c_str(), RENAME_NOREPLACE) != 0) {
      return Errno(data_dir, absl::StrCat("cannot move ", staging, " into place"));
    }
    if (absl::Status synced = common::SyncParentDirectory(data_dir); !synced.ok()) return synced;
    return std::string();
  }
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, data_dir.c_str(), RENAME_EXCHANGE) != 0) {
    return Errno(data_dir, absl::StrCat("cannot exchange it with ", staging));
  }
  const std::string aside = AsidePath(data_dir);
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, aside.c_str(), RENAME_NOREPLACE) != 0) {
    // The restored directory is in place; the old one is at the staging path, intact.
    std::fprintf(stderr, "triagectl: the old data directory stays at %s: %s\n", staging.c_str(),
                 std::strerror(errno));
    return staging;
  }
  if (absl::Status synced = common::SyncParentDirectory(data_dir); !synced.ok()) return synced;
  return aside;
}

// What the anchor file holds before the restore: "SEQUENCE:HASH", "none" (no such file),
// "no valid anchor", or "not given" (no --audit-anchor-file).
std::string AnchorBefore(const std::string& anchor_file) {
  if (anchor_file.empty()) return "not given";
  std::error_code ec;
  if (!std::filesystem::exists(anchor_file, ec)) return "none";
  absl::StatusOr<std::optional<common::AuditAnchorPoint>> old = common::ReadAnchorFile(anchor_file);
  return old.ok() && old->has_value() ? (*old)->ToString() : "no valid anchor";
}

// "uid 1000 (alice)": who ran the restore, for the audit trail.
std::string OperatingSystemAccount() {
  const uid_t uid = ::geteuid();
  const struct passwd* account = ::getpwuid(uid);
  return account == nullptr ? absl::StrCat("uid ", uid)
                            : absl::StrCat("uid ", uid, " (", account->pw_name, ")");
}

google::protobuf::Timestamp TimestampOf(absl::Time t) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

void PrintChecksAfterRestore(const v1::BackupInfo& info, std::FILE* out) {
  std::fprintf(out,
               "Start the server with a key file holding the data keys %s, then check:\n"
               "  triagectl admin verify-audit --anchor %s\n  triagectl admin recount\n",
               CleanText(absl::StrJoin(info.metadata().key_ids(), ", ")).c_str(),
               HeadOf(info.metadata()).c_str());
}

// The server's audit key file: it seals the record of the restore.
[[nodiscard]] absl::StatusOr<storage::KeyRing> LoadSealingKeys(const std::string& path) {
  absl::StatusOr<storage::KeyRing> keys = storage::KeyRing::LoadFile(path);
  if (keys.ok()) return keys;
  return absl::FailedPreconditionError(
      absl::StrCat("audit key file (the server's --audit_key_file): ", keys.status().message()));
}

// The record of this restore that the server writes into its audit trail at its next start.
v1::BackupRestore RestoreRecord(const storage::StoredBackup& backup,
                                const std::string& anchor_before) {
  v1::BackupRestore record;
  record.set_backup_id(absl::StrCat(backup.id));
  *record.mutable_backup_time() = TimestampOf(backup.create_time);
  record.set_backup_audit_sequence(backup.metadata.audit_head().sequence());
  record.set_backup_audit_hash(backup.metadata.audit_head().hash());
  *record.mutable_restored_at() = TimestampOf(absl::Now());
  // The server takes only short printable ASCII here (restore_record.h).
  std::string account = OperatingSystemAccount().substr(0, storage::kMaxRestoreTextBytes);
  for (char& c : account) {
    if (c < 0x20 || c >= 0x7f) c = '?';
  }
  record.set_restored_by(std::move(account));
  record.set_anchor_before(anchor_before);
  return record;
}

// Moves the anchor file aside and writes the backup's audit head in its place: the restored
// trail holds at least that head, so the server starts and goes on anchoring it.
// `before`: what it held (AnchorBefore).
[[nodiscard]] absl::Status ReplaceAnchor(const std::string& anchor_file,
                                         const storage::StoredBackup& backup,
                                         const std::string& before, std::FILE* out) {
  std::error_code ec;
  if (std::filesystem::exists(anchor_file, ec)) {
    const std::string aside = AsidePath(anchor_file);
    if (::renameat2(AT_FDCWD, anchor_file.c_str(), AT_FDCWD, aside.c_str(), RENAME_NOREPLACE) !=
        0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "audit anchor file ", anchor_file, ": cannot move it aside: ", std::strerror(errno)));
    }
    std::fprintf(out, "Anchor file moved to %s (it held %s): file it with the incident.\n",
                 aside.c_str(), before.c_str());
  }
  const v1::AuditAnchor& head = backup.metadata.audit_head();
  if (head.sequence() == 0) {
    std::fprintf(out, "The backup records no audit head; the server starts a new anchor file.\n");
    return absl::OkStatus();
  }
  const common::AuditAnchorPoint anchor{head.sequence(), head.hash()};
  // The comment keeps the restore on record beside the anchor: which backup, when, and the
  // anchor it replaced (anchors published after the backup no longer lie on the chain).
  absl::Status written = common::WriteAnchorFile(
      anchor_file, anchor,
      absl::StrCat("restored from backup ", backup.id, " by triagectl admin restore at ",
                   absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()),
                   "; the anchor before the restore was ", before, "\n# audit head of the backup"));
  if (written.ok()) {
    std::fprintf(out, "Anchor file %s now holds the backup's audit head %s.\n", anchor_file.c_str(),
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
  restore_
      ->add_option("--audit-key-file", audit_key_file_,
                   "the server's --audit_key_file: seals the record of the restore that "
                   "the server writes into its audit trail")
      ->required();
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
  ::umask(077);  // the restored files hold what the data directory holds: owner only
  std::FILE* out = json ? stderr : stdout;  // --json: only the JSON on stdout
  std::error_code ec;
  if (std::filesystem::is_symlink(data_dir_, ec)) {
    return Fail(common::DataDirError(data_dir_, "is a symbolic link: give the real path"));
  }
  if (absl::Status apart = storage::CheckApart(backup_dir_, data_dir_); !apart.ok()) {
    return Fail(apart);
  }
  absl::StatusOr<storage::KeyRing> audit_keys = LoadSealingKeys(audit_key_file_);
  if (!audit_keys.ok()) return Fail(audit_keys.status());
  int exit_code = 0;
  std::unique_ptr<storage::BackupDirectory> dir = OpenOffline(
      backup_dir_, &exit_code, "a restore is offline: stop the server first, then run it again");
  if (dir == nullptr) return exit_code;
  absl::StatusOr<storage::StoredBackup> backup = ChooseBackup(*dir);
  if (!backup.ok()) return Fail(backup.status());
  // Nothing is changed before the backup is known to be whole.
  if (absl::Status verified = dir->Verify(backup->id); !verified.ok()) {
    std::fprintf(stderr, "triagectl: not restoring: %s\n", CleanText(verified.message()).c_str());
    return verified.code() == absl::StatusCode::kDataLoss ? kExitDamaged : 1;
  }
  // Held until the end: no server starts on the old directory while it is replaced.
  std::optional<common::DataDirLock> old_lock;
  if (std::filesystem::exists(data_dir_, ec)) {
    absl::StatusOr<common::DataDirLock> lock = common::DataDirLock::Acquire(data_dir_);
    if (!lock.ok()) {
      return Fail(absl::FailedPreconditionError(
          absl::StrCat(lock.status().message(), ": stop the server before restoring")));
    }
    old_lock = *std::move(lock);
  }
  const std::string anchor_before = AnchorBefore(anchor_file_);
  absl::StatusOr<std::string> staging = RestoreToStaging(
      *dir, backup->id, RestoreRecord(*backup, anchor_before), *audit_keys, data_dir_);
  if (!staging.ok()) return Fail(staging.status());
  absl::StatusOr<std::string> aside = SwapIn(*staging, data_dir_);
  if (!aside.ok()) return Fail(aside.status());
  if (!aside->empty()) {
    std::fprintf(out, "Data directory moved to %s (kept: nothing is deleted).\n", aside->c_str());
  }
  const v1::BackupInfo info = storage::BackupInfoOf(*backup);
  std::fprintf(out, "Restored backup %u (taken %s) into %s.\n", backup->id,
               When(info.create_time()).c_str(), data_dir_.c_str());
  if (!anchor_file_.empty()) {
    if (absl::Status anchored = ReplaceAnchor(anchor_file_, *backup, anchor_before, out);
        !anchored.ok()) {
      return Fail(anchored);
    }
  } else {
    std::fprintf(out,
                 "No --audit-anchor-file: if the server has one, move it aside before "
                 "starting (it is ahead of the restored trail).\n");
  }
  PrintChecksAfterRestore(info, out);
  if (json) std::cout << RenderJson(info);
  return 0;
}

absl::StatusOr<storage::StoredBackup> BackupCommands::ChooseBackup(
    const storage::BackupDirectory& dir) const {
  std::vector<storage::StoredBackup> backups = dir.List();
  std::erase_if(backups, [](const storage::StoredBackup& b) { return b.damaged; });
  if (backups.empty() && backup_id_.empty()) {
    return absl::NotFoundError(absl::StrCat("no intact backup in ", backup_dir_));
  }
  absl::StatusOr<storage::StoredBackup> backup =
      dir.Get(backup_id_.empty() ? backups.back().id : ParseIdOrUsage(backup_id_));
  if (!backup.ok()) return backup.status();
  if (backup->damaged || backup->metadata.schema_version() == 0) {
    return absl::DataLossError(
        absl::StrCat("backup ", backup->id,
                     ": its description cannot be read, so its audit head is not "
                     "known; choose another (admin backups)"));
  }
  return backup;
}

}  // namespace safeguarding::tools
