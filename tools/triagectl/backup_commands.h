// triagectl's backup commands (admin role for those that call the server):
//   admin backup                                    take a backup now (CreateBackup)
//   admin backups [--backup-dir D]                  list them (ListBackups, or the directory
//                                                   itself with the server stopped)
//   admin verify-backup ID [--backup-dir D]         check every file's size and checksum
//   admin restore --backup-dir D --data-dir X [--backup-id N] [--audit-anchor-file A]
//                                                   offline: bring one back (the newest by
//                                                   default) after verifying it
// Restore never deletes: the backup is written to a staging directory beside the data
// directory and swapped in atomically; the old data directory is moved aside, and so is the
// anchor file, which then holds the backup's audit head so the restored trail is still
// anchored.
#ifndef SAFEGUARDING_TOOLS_TRIAGECTL_BACKUP_COMMANDS_H_
#define SAFEGUARDING_TOOLS_TRIAGECTL_BACKUP_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "storage/backup.h"
#include "tools/triagectl/connection.h"

namespace safeguarding::tools {

class BackupCommands {
 public:
  // Registers the subcommands on `admin`.
  explicit BackupCommands(CLI::App& admin);

  bool parsed() const;
  // Runs whichever was parsed; returns the exit code.
  int Run(const ConnectionOptions& connection, bool json);

 private:
  int RunBackup(const ConnectionOptions& connection, bool json);
  int RunList(const ConnectionOptions& connection, bool json);
  int RunVerify(const ConnectionOptions& connection, bool json);
  int RunRestore(bool json);
  // The backup to restore: --backup-id, else the newest intact one. DATA_LOSS for one
  // whose description (and so its audit head) cannot be read.
  [[nodiscard]] absl::StatusOr<storage::StoredBackup> ChooseBackup(
      const storage::BackupDirectory& dir) const;

  CLI::App* backup_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* verify_ = nullptr;
  CLI::App* restore_ = nullptr;

  std::string backup_dir_;
  std::string backup_id_;
  std::string data_dir_;
  std::string anchor_file_;
  std::string audit_key_file_;
};

}  // namespace safeguarding::tools

#endif  // SAFEGUARDING_TOOLS_TRIAGECTL_BACKUP_COMMANDS_H_
