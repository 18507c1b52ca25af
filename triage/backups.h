// Backups: the domain of CreateBackup, ListBackups and VerifyBackup. A backup or a
// verification runs on a thread of its own, one at a time (never on the committer or a
// handler thread: a large store takes minutes), while the server goes on serving. Each
// backup records with it the audit trail's durable head, the data key ids and the schema
// version (BackupMetadata), so a restore can continue the anchor file and say which key
// file it needs. Every call is audited and answers once its own entry is durable.
//
// Thread-safe. The store must outlive it; Stop before the store's committer stops.
#ifndef SAFEGUARDING_TRIAGE_BACKUPS_H_
#define SAFEGUARDING_TRIAGE_BACKUPS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "safeguarding/triage/v1/administration.pb.h"
#include "storage/backup.h"
#include "storage/report_store.h"
#include "triage/caller.h"

namespace safeguarding::triage {

struct BackupOptions {
  // --backup_dir; empty: this server keeps no backups (every call FAILED_PRECONDITION).
  std::string dir;
  // --backups_to_keep: after each backup the oldest beyond this many are deleted.
  uint32_t keep = 7;
};

class Backups {
 public:
  template <typename T>
  using Done = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;

  // Opens and locks the directory unless `options.dir` is empty. FAILED_PRECONDITION
  // naming it if it cannot be created, is in use by another process or is not a backup
  // directory; INVALID_ARGUMENT for keep == 0.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Backups>> Open(storage::ReportStore* store,
                                                                     BackupOptions options);
  // Stops, then waits for the worker.
  ~Backups();
  Backups(const Backups&) = delete;
  Backups& operator=(const Backups&) = delete;

  // ABORTED while another backup or verification runs; UNAVAILABLE if the disk fails (the
  // partial backup is discarded); CANCELLED if the server stops first.
  void Create(const Caller& caller, Done<v1::CreateBackupResponse> done);
  // Answered from what this server knows of the directory, without waiting for a running
  // backup.
  void List(const Caller& caller, Done<v1::ListBackupsResponse> done) const;
  // INVALID_ARGUMENT naming backup_id; NOT_FOUND; ABORTED while another job runs. A damaged
  // backup is an OK answer with intact = false and the problem.
  void Verify(const Caller& caller, const v1::VerifyBackupRequest& request,
              Done<v1::VerifyBackupResponse> done);

  // When the newest backup in the directory was taken; nullopt if there is none.
  std::optional<absl::Time> NewestBackupTime() const;

  // Makes a running backup give up soon and refuses new ones (shutdown). Idempotent.
  void Stop();

 private:
  Backups(storage::ReportStore* store, BackupOptions options,
          std::unique_ptr<storage::BackupDirectory> directory);

  using Job = absl::AnyInvocable<void() &&>;
  // False if a job is queued or running, or after Stop.
  bool StartJob(Job job);
  void Run();
  v1::BackupMetadata MetadataNow(const Caller& caller) const;
  bool HasJobOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  storage::ReportStore* const store_;
  const BackupOptions options_;
  const std::unique_ptr<storage::BackupDirectory> directory_;  // null without a directory

  mutable absl::Mutex mu_;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Job job_ ABSL_GUARDED_BY(mu_);
  // The directory's backups as last read (a running backup blocks reading it).
  std::vector<storage::StoredBackup> listed_ ABSL_GUARDED_BY(mu_);
  std::thread worker_;
};

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_BACKUPS_H_
