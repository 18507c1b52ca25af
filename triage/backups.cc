#include "triage/backups.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "storage/key_ring.h"
#include "triage/audit.h"
#include "triage/validation.h"

namespace safeguarding::triage {

namespace {

[[nodiscard]] absl::Status NoDirectory() {
  return absl::FailedPreconditionError(
      "this server keeps no backups: start it with --backup_dir (docs/OPERATIONS.md, "
      "\"Backup and restore\")");
}

[[nodiscard]] absl::Status Busy() {
  return absl::AbortedError(
      "a backup or a backup verification is already running: try again when it has "
      "finished");
}

[[nodiscard]] absl::StatusOr<uint32_t> ParseBackupId(const std::string& text) {
  uint32_t id = 0;
  if (text.empty() || !absl::SimpleAtoi(text, &id) || id == 0) {
    FieldViolations v;
    v.Add("backup_id", "must be the number of a backup, as ListBackups gives it");
    return v.ToStatus();
  }
  return id;
}

}  // namespace

Backups::Backups(storage::ReportStore* store, BackupOptions options,
                 std::unique_ptr<storage::BackupDirectory> directory)
    : store_(store), options_(std::move(options)), directory_(std::move(directory)) {
  if (directory_ != nullptr) {
    listed_ = directory_->List();
    worker_ = std::thread([this] { Run(); });
  }
}

absl::StatusOr<std::unique_ptr<Backups>> Backups::Open(storage::ReportStore* store,
                                                       BackupOptions options) {
  if (options.keep == 0) {
    return absl::InvalidArgumentError("--backups_to_keep 0: must be at least 1");
  }
  std::unique_ptr<storage::BackupDirectory> directory;
  if (!options.dir.empty()) {
    if (absl::Status apart = storage::CheckApart(options.dir, store->engine().path());
        !apart.ok()) {
      return apart;
    }
    absl::StatusOr<std::unique_ptr<storage::BackupDirectory>> opened =
        storage::BackupDirectory::Open(options.dir);
    if (!opened.ok()) return opened.status();
    directory = *std::move(opened);
  }
  return std::unique_ptr<Backups>(new Backups(store, std::move(options), std::move(directory)));
}

Backups::~Backups() {
  Stop();
  if (worker_.joinable()) worker_.join();
}

void Backups::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (directory_ != nullptr) directory_->Stop();
}

bool Backups::StartJob(Job job) {
  absl::MutexLock lock(&mu_);
  if (busy_ || stopping_) return false;
  busy_ = true;
  job_ = std::move(job);
  return true;
}

void Backups::Run() {
  for (;;) {
    Job job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &Backups::HasJobOrStopping));
      if (job_ == nullptr) return;  // stopping, nothing left to run
      job = std::move(job_);
      job_ = nullptr;
    }
    std::move(job)();
    absl::MutexLock lock(&mu_);
    busy_ = false;
  }
}

v1::BackupMetadata Backups::MetadataNow(const Caller& caller) const {
  v1::BackupMetadata metadata;
  metadata.set_schema_version(storage::kSchemaVersion);
  const storage::AuditAnchorPoint head = store_->committed_audit_anchor();
  metadata.mutable_audit_head()->set_sequence(head.sequence);
  metadata.mutable_audit_head()->set_hash(head.hash);
  for (const storage::DataKeyStatus& key : store_->keys().Status()) {
    metadata.add_key_ids(storage::KeyIdHex(key.id));
  }
  metadata.set_principal(caller.principal);
  return metadata;
}

bool Backups::HasJobOrStopping() const { return job_ != nullptr || stopping_; }

void Backups::Create(const Caller& caller, Done<v1::CreateBackupResponse> done) {
  if (directory_ == nullptr) {
    return FinishAudited<v1::CreateBackupResponse>(store_->audit(), caller, "", NoDirectory(),
                                                   std::move(done));
  }
  // The job owns `done` until it runs; if it cannot start, it is handed back.
  auto pending = std::make_shared<Done<v1::CreateBackupResponse>>(std::move(done));
  const bool started = StartJob([this, caller, pending] {
    // The head is read before the copy starts, so the backup holds at least this much of
    // the trail (entries committed during the copy may be in it too).
    absl::StatusOr<storage::BackupDirectory::Created> created =
        directory_->Create(store_->engine().db(), MetadataNow(caller), options_.keep);
    {
      // Even after a failure: a backup written before its purge failed is listed.
      absl::MutexLock lock(&mu_);
      listed_ = directory_->List();
    }
    absl::StatusOr<v1::CreateBackupResponse> result;
    if (created.ok()) {
      v1::CreateBackupResponse response;
      *response.mutable_backup() = storage::BackupInfoOf(created->backup);
      response.set_backup_id(response.backup().backup_id());
      response.set_path(directory_->path());
      *response.mutable_create_time() = response.backup().create_time();
      response.set_backups_deleted(created->deleted);
      result = std::move(response);
    } else {
      result = created.status();
    }
    FinishAudited(store_->audit(), caller, "", std::move(result), std::move(*pending));
  });
  if (!started) {
    FinishAudited<v1::CreateBackupResponse>(store_->audit(), caller, "", Busy(),
                                            std::move(*pending));
  }
}

std::optional<absl::Time> Backups::NewestBackupTime() const {
  absl::MutexLock lock(&mu_);
  for (auto it = listed_.rbegin(); it != listed_.rend(); ++it) {
    if (!it->damaged) return it->create_time;
  }
  return std::nullopt;
}

void Backups::List(const Caller& caller, Done<v1::ListBackupsResponse> done) const {
  if (directory_ == nullptr) {
    return FinishAudited<v1::ListBackupsResponse>(store_->audit(), caller, "", NoDirectory(),
                                                  std::move(done));
  }
  v1::ListBackupsResponse response;
  response.set_path(directory_->path());
  {
    absl::MutexLock lock(&mu_);
    for (const storage::StoredBackup& backup : listed_)
      *response.add_backups() = storage::BackupInfoOf(backup);
  }
  FinishAudited<v1::ListBackupsResponse>(store_->audit(), caller, "", std::move(response),
                                         std::move(done));
}

void Backups::Verify(const Caller& caller, const v1::VerifyBackupRequest& request,
                     Done<v1::VerifyBackupResponse> done) {
  if (directory_ == nullptr) {
    return FinishAudited<v1::VerifyBackupResponse>(store_->audit(), caller, "", NoDirectory(),
                                                   std::move(done));
  }
  absl::StatusOr<uint32_t> id = ParseBackupId(request.backup_id());
  if (!id.ok()) {
    return FinishAudited<v1::VerifyBackupResponse>(store_->audit(), caller, "", id.status(),
                                                   std::move(done));
  }
  auto pending = std::make_shared<Done<v1::VerifyBackupResponse>>(std::move(done));
  const bool started = StartJob([this, caller, id = *id, pending] {
    absl::StatusOr<v1::VerifyBackupResponse> result;
    absl::StatusOr<storage::StoredBackup> backup = directory_->Get(id);
    if (backup.ok()) {
      v1::VerifyBackupResponse response;
      *response.mutable_backup() = storage::BackupInfoOf(*backup);
      absl::Status verified = directory_->Verify(id);
      response.set_intact(verified.ok());
      if (verified.code() == absl::StatusCode::kDataLoss) {
        response.set_problem(std::string(verified.message()));
        result = std::move(response);
      } else if (verified.ok()) {
        result = std::move(response);
      } else {
        result = verified;
      }
    } else {
      result = backup.status();
    }
    FinishAudited(store_->audit(), caller, "", std::move(result), std::move(*pending));
  });
  if (!started) {
    FinishAudited<v1::VerifyBackupResponse>(store_->audit(), caller, "", Busy(),
                                            std::move(*pending));
  }
}

}  // namespace safeguarding::triage
