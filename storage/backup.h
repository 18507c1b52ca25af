// BackupDirectory: the backups of a data directory, kept by RocksDB's BackupEngine in a
// directory of their own. Backups are incremental (table files are shared between backups,
// named by their checksum) and every file's checksum is recorded, so a backup can be
// verified long after it was taken. A backup copies the live files of the open database
// (after a flush, with the write-ahead log since) while writes go on: it restores to one
// consistent point of every column family.
//
// The server opens the directory for writing (Open); `triagectl admin backups` and
// `admin restore` open it read-only with the server stopped (OpenReadOnly). Either takes
// an exclusive lock on <dir>/SERVER.lock, so two processes never use it at once (RocksDB
// leaves that unspecified). Needs no open store: it links only RocksDB and the contract's
// messages, so the client can restore without the storage layer.
//
// Thread-safe (BackupEngine serialises its own operations; a creation blocks the others).
#ifndef SAFEGUARDING_STORAGE_BACKUP_H_
#define SAFEGUARDING_STORAGE_BACKUP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/audit_anchor.h"
#include "common/data_dir.h"
#include "safeguarding/triage/v1/administration.pb.h"

namespace rocksdb {
class BackupEngine;
class BackupEngineReadOnlyBase;
class DB;
}  // namespace rocksdb

namespace safeguarding::storage {

struct StoredBackup {
  uint32_t id = 0;
  absl::Time create_time;
  uint64_t size_bytes = 0;
  uint32_t files = 0;
  // What the server recorded with it; empty if it could not be decoded.
  triage::v1::BackupMetadata metadata;
  // Its description in the directory is unreadable: only the id is known, and it cannot
  // be verified or restored.
  bool damaged = false;
};

// FAILED_PRECONDITION, naming both, unless the two directories are apart (neither inside
// the other): a backup directory inside the data directory would be copied into its own
// backups and lost with the volume it was meant to survive; a data directory restored
// inside the backup directory would overwrite backups.
[[nodiscard]] absl::Status CheckApart(const std::string& backup_dir, const std::string& data_dir);

// The last entry of the audit trail in a restored copy at `data_dir`, opened read-only
// (nothing in it is written): its sequence and hash, which the record of the restore seals
// (restore_record.h). NOT_FOUND if the trail is empty; a RocksDB error as its status.
[[nodiscard]] absl::StatusOr<common::AuditAnchorPoint> RestoredTrailEnd(
    const std::string& data_dir);

// As the contract shows it (ListBackups, `triagectl admin backups`).
triage::v1::BackupInfo BackupInfoOf(const StoredBackup& backup);

class BackupDirectory {
 public:
  // Creates `dir` if missing (mode 0700: backups hold the clear parts of reports and the
  // audit trail) and locks it. FAILED_PRECONDITION naming the directory if it cannot be
  // created, locked (in use by another process) or read as a backup directory.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<BackupDirectory>> Open(
      const std::string& dir);
  // The same for an existing directory, for reading (it only takes the lock: SERVER.lock).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<BackupDirectory>> OpenReadOnly(
      const std::string& dir);

  ~BackupDirectory();
  BackupDirectory(const BackupDirectory&) = delete;
  BackupDirectory& operator=(const BackupDirectory&) = delete;

  // Backs up `db` (which stays open and writable) with `metadata`, then deletes the oldest
  // backups beyond `keep` (at least 1) and the files no remaining backup shares.
  // UNAVAILABLE on a disk fault (the partial backup is discarded), CANCELLED once Stop was
  // called. Only on a directory opened for writing.
  struct Created {
    StoredBackup backup;
    uint32_t deleted = 0;
  };
  [[nodiscard]] absl::StatusOr<Created> Create(rocksdb::DB* db,
                                               const triage::v1::BackupMetadata& metadata,
                                               uint32_t keep);
  // Makes a running Create give up soon (CANCELLED); later ones fail at once.
  void Stop();

  // Oldest first.
  [[nodiscard]] std::vector<StoredBackup> List() const;
  // NOT_FOUND if there is no such backup. A damaged description is a StoredBackup with
  // `damaged` set.
  [[nodiscard]] absl::StatusOr<StoredBackup> Get(uint32_t id) const;
  // Re-reads every file of backup `id`: OK if each has its recorded size and checksum,
  // DATA_LOSS saying which does not, NOT_FOUND for an unknown id.
  [[nodiscard]] absl::Status Verify(uint32_t id) const;
  // Writes backup `id` into `data_dir`, which RocksDB empties first (every file in it,
  // whatever its name, is deleted): a staging directory of the caller's, never a live one.
  // Verify first: a restore copies what it finds.
  [[nodiscard]] absl::Status Restore(uint32_t id, const std::string& data_dir) const;

  const std::string& path() const { return path_; }

 private:
  BackupDirectory(std::string path, common::DataDirLock lock);

  const std::string path_;
  common::DataDirLock lock_;
  std::unique_ptr<rocksdb::BackupEngine> writable_;               // set by Open
  std::unique_ptr<rocksdb::BackupEngineReadOnlyBase> read_only_;  // set by OpenReadOnly
  const rocksdb::BackupEngineReadOnlyBase* reader_ = nullptr;     // whichever is set
};

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_BACKUP_H_
