#include "storage/report_store.h"

#include <filesystem>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/util/time_util.h"
#include "rocksdb/db.h"
#include "storage/backup.h"
#include "storage/key_encoding.h"
#include "storage/restore_record.h"
#include "storage/rocksdb_status.h"

namespace safeguarding::storage {
namespace {

constexpr char kLegacyFingerprintKeyIdKey[] = "legacy_fingerprint_key_id";
// The bytes of the last restore record written into the trail (restore_record.h).
constexpr char kRestoreRecordedKey[] = "restore_recorded";

v1::AuditEntry RestoreEntry(const v1::BackupRestore& record) {
  v1::AuditEntry entry;
  entry.set_principal(kAuditServerPrincipal);
  entry.set_method(kAuditRestoreMethod);
  *entry.mutable_restore() = record;
  return entry;
}

// The record a restore left in `data_dir`, unless it is in the trail already (a start that
// wrote it and stopped before it removed the file); that file is removed here.
[[nodiscard]] absl::StatusOr<std::optional<RestoreRecordFile>> UnrecordedRestore(
    const Engine& engine, const std::string& data_dir) {
  absl::StatusOr<std::optional<RestoreRecordFile>> file = ReadRestoreRecord(data_dir);
  if (!file.ok() || !file->has_value()) return file;
  std::string recorded;
  rocksdb::Status s = engine.db()->Get(rocksdb::ReadOptions(), engine.handle(ColumnFamily::kMeta),
                                       kRestoreRecordedKey, &recorded);
  if (!s.ok() && !s.IsNotFound()) return FromRocksDb(s, "read the last restore recorded");
  if (s.ok() && recorded == (*file)->bytes) {
    (void)RemoveRestoreRecord(data_dir);
    return std::nullopt;
  }
  return file;
}

// Compares the record with the backup of its id in `backup_dir`. FAILED_PRECONDITION if
// that backup exists and was taken at another time or with another audit head, or if the
// directory exists but cannot be read (in use by `triagectl admin backups`, say: start
// again once it is done).
[[nodiscard]] absl::StatusOr<v1::BackupCheck> CompareWithBackup(const v1::BackupRestore& r,
                                                                const std::string& backup_dir,
                                                                const std::string& data_dir) {
  if (backup_dir.empty()) return v1::BACKUP_CHECK_NO_BACKUP_DIR;
  if (absl::Status apart = CheckApart(backup_dir, data_dir); !apart.ok()) return apart;
  std::error_code ec;
  if (!std::filesystem::is_directory(backup_dir, ec)) return v1::BACKUP_CHECK_NOT_IN_BACKUP_DIR;
  absl::StatusOr<std::unique_ptr<BackupDirectory>> dir = BackupDirectory::OpenReadOnly(backup_dir);
  if (!dir.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot compare it with --backup_dir: ", dir.status().message()));
  }
  uint32_t id = 0;
  if (!absl::SimpleAtoi(r.backup_id(), &id)) return v1::BACKUP_CHECK_NOT_IN_BACKUP_DIR;
  absl::StatusOr<StoredBackup> backup = (*dir)->Get(id);
  if (absl::IsNotFound(backup.status())) return v1::BACKUP_CHECK_NOT_IN_BACKUP_DIR;
  if (!backup.ok() || backup->damaged) {
    return absl::FailedPreconditionError(absl::StrCat("cannot compare it with backup ", id, " in ",
                                                      backup_dir, ": its description is damaged"));
  }
  const v1::AuditAnchor& head = backup->metadata.audit_head();
  const bool matches = google::protobuf::util::TimeUtil::TimestampToMicroseconds(r.backup_time()) ==
                           absl::ToUnixMicros(backup->create_time) &&
                       head.sequence() == r.backup_audit_sequence() &&
                       head.hash() == r.backup_audit_hash();
  if (matches) return v1::BACKUP_CHECK_MATCHES;
  return absl::FailedPreconditionError(
      absl::StrCat("backup ", id, " in ", backup_dir, " was taken at ",
                   absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", backup->create_time, absl::UTCTimeZone()),
                   " with audit head #", head.sequence(), ", not as the record says"));
}

// What does not fit between the record and the trail (whose last entry is `trail_end`), or
// "": the record is sealed with the audit key; the trail ends where the restored copy's
// did when triagectl sealed the record; it holds the backup's audit head with that hash;
// nothing on it is later than the restore (an earlier restore's record put
// back after the trail went on, or a record replayed onto a live store, is refused).
[[nodiscard]] std::string MisfitWithTrail(const v1::BackupRestore& r, const KeyRing& audit_ring,
                                          const AuditTrail& audit, const AuditHead& trail_end) {
  if (absl::Status sealed = CheckRestoreSeal(audit_ring, r); !sealed.ok()) {
    return std::string(sealed.message());
  }
  if (r.restored_trail_end_sequence() != 0 &&
      (r.restored_trail_end_sequence() != trail_end.sequence ||
       r.restored_trail_end_hash() != trail_end.hash)) {
    return absl::StrCat("it was made for a restored copy whose trail ends at #",
                        r.restored_trail_end_sequence(), "; this one ends at #",
                        trail_end.sequence);
  }
  if (r.backup_audit_sequence() > trail_end.sequence) {
    return absl::StrCat("it says the backup's audit head is #", r.backup_audit_sequence(),
                        " but the trail ends at #", trail_end.sequence);
  }
  const int64_t restored_micros =
      google::protobuf::util::TimeUtil::TimestampToMicroseconds(r.restored_at());
  // Entry times never go backwards, so a server clock that ran ahead leaves them ahead for
  // a while; a few minutes of that are not taken for a later trail.
  constexpr int64_t kClockSlackMicros = int64_t{5} * 60 * 1'000'000;
  if (trail_end.time_micros > restored_micros + kClockSlackMicros) {
    return absl::StrCat("the trail's last entry, #", trail_end.sequence,
                        ", is later than the restore it records");
  }
  if (r.backup_audit_sequence() == 0) return "";  // a backup that recorded no head
  absl::Status on_trail =
      audit.CheckAnchor(AuditAnchorPoint{r.backup_audit_sequence(), r.backup_audit_hash()});
  return on_trail.ok() ? "" : std::string(on_trail.message());
}

// The unrecorded restore record, checked before anything is written (a refused start
// leaves the directory as it was): MisfitWithTrail, then the backup in --backup_dir.
// FAILED_PRECONDITION naming the file and what does not fit. Nullopt also when the trail
// was found damaged: the entries it would be checked against cannot be trusted, so the
// record is moved aside unrecorded (`not_recorded` says where) and later starts pass it by.
[[nodiscard]] absl::StatusOr<std::optional<RestoreRecordFile>> CheckedRestore(
    const Engine& engine, const KeyRing& audit_ring, const AuditTrail& audit,
    const AuditOpenPlan& plan, const StoreOptions& options, std::string* not_recorded) {
  absl::StatusOr<std::optional<RestoreRecordFile>> file = UnrecordedRestore(engine, options.path);
  if (!file.ok() || !file->has_value()) return file;
  if (!plan.problem.empty()) {
    absl::StatusOr<std::string> aside = SetRestoreRecordAside(options.path);
    if (!aside.ok()) return aside.status();
    *not_recorded = absl::StrCat(
        "the audit trail is damaged, so the restore record was not "
        "written into it; it is kept as ",
        *aside);
    return std::nullopt;
  }
  v1::BackupRestore& r = (*file)->record;
  std::string problem = MisfitWithTrail(r, audit_ring, audit, plan.start);
  if (problem.empty()) {
    absl::StatusOr<v1::BackupCheck> check = CompareWithBackup(r, options.backup_dir, options.path);
    if (check.ok()) r.set_backup_check(*check);
    if (!check.ok()) problem = std::string(check.status().message());
  }
  if (problem.empty()) return file;
  return absl::FailedPreconditionError(absl::StrCat(
      "restore record ", options.path, "/", kRestoreRecordFile,
      " does not describe this directory (", problem,
      "); it was not written into the audit trail. If triagectl admin restore did not leave "
      "it, treat it as a security incident; move it out of the directory to start"));
}

[[nodiscard]] absl::StatusOr<KeyRing> LoadDataKeys(const StoreOptions& options) {
  if (options.key_file.empty()) {
    return absl::FailedPreconditionError("an encryption key file is required (--key_file)");
  }
  absl::StatusOr<KeyRing> keys = KeyRing::LoadFile(options.key_file);
  if (!keys.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("key file: ", keys.status().message()));
  }
  return keys;
}

// Loads the audit key file; its keys must not be data keys.
[[nodiscard]] absl::StatusOr<KeyRing> LoadAuditKeys(const StoreOptions& options,
                                                    const KeyRing& data_keys) {
  if (options.audit_key_file.empty()) {
    return absl::FailedPreconditionError("an audit key file is required (--audit_key_file)");
  }
  absl::StatusOr<KeyRing> ring = KeyRing::LoadFile(options.audit_key_file);
  if (absl::IsNotFound(ring.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "audit key file ", options.audit_key_file,
        " does not exist; create one, apart from the data key file, with: (umask 077; head "
        "-c 32 /dev/urandom > ",
        options.audit_key_file, ")"));
  }
  if (!ring.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("audit key file: ", ring.status().message()));
  }
  for (uint32_t id : ring->key_ids()) {
    if (data_keys.HasKey(id)) {
      return absl::FailedPreconditionError(
          absl::StrCat("audit key file ", options.audit_key_file, " holds data key ", KeyIdHex(id),
                       " of ", options.key_file, "; the audit chain needs a key of its own"));
    }
  }
  return ring;
}

[[nodiscard]] absl::StatusOr<std::optional<uint32_t>> ReadLegacyFingerprintKeyId(
    const Engine& engine) {
  std::string value;
  rocksdb::Status s = engine.db()->Get(rocksdb::ReadOptions(), engine.handle(ColumnFamily::kMeta),
                                       kLegacyFingerprintKeyIdKey, &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocksDb(s, "read legacy fingerprint key id");
  absl::string_view in(value);
  std::optional<uint32_t> id = GetFixed32BE(&in);
  if (!id) return absl::DataLossError("legacy fingerprint key id record is corrupt");
  return *id;
}

// Fingerprint keys, current first (audit_keys.h), then the legacy one of a migrated store
// while its data key is still in the key file.
std::vector<std::string> FingerprintKeys(const AuditKeys& audit_keys, const KeyRing& data_keys,
                                         std::optional<uint32_t> legacy_key_id) {
  std::vector<std::string> keys = audit_keys.fingerprint_keys();
  if (legacy_key_id) {
    std::optional<std::string> legacy =
        data_keys.DeriveKeyFrom(*legacy_key_id, kLegacyFingerprintKeyLabel);
    if (legacy) keys.push_back(*std::move(legacy));
  }
  return keys;
}

[[nodiscard]] absl::Status CheckAnchor(const AuditTrail& audit, const StoreOptions& options) {
  if (!options.audit_anchor) return absl::OkStatus();
  absl::Status on_chain = audit.CheckAnchor(*options.audit_anchor);
  if (on_chain.ok()) return on_chain;
  return absl::Status(
      on_chain.code(),
      absl::StrCat("audit anchor ", options.audit_anchor->ToString(), ": ", on_chain.message()));
}

// What is checked before anything is written, so a refused start leaves the directory as
// it was: the anchor, then the restore record (returned, if there is one to write).
[[nodiscard]] absl::StatusOr<std::optional<RestoreRecordFile>> CheckBeforeWriting(
    const Engine& engine, const KeyRing& audit_ring, const AuditTrail& audit,
    const AuditOpenPlan& plan, const StoreOptions& options, std::string* not_recorded) {
  if (absl::Status on_anchor = CheckAnchor(audit, options); !on_anchor.ok()) return on_anchor;
  absl::StatusOr<std::optional<RestoreRecordFile>> restore =
      CheckedRestore(engine, audit_ring, audit, plan, options, not_recorded);
  if (!restore.ok()) return DataDirError(options.path, restore.status().message());
  return restore;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReportStore>> ReportStore::Open(const StoreOptions& options) {
  absl::StatusOr<KeyRing> data_keys = LoadDataKeys(options);
  if (!data_keys.ok()) return data_keys.status();
  absl::StatusOr<KeyRing> audit_ring = LoadAuditKeys(options, *data_keys);
  if (!audit_ring.ok()) return audit_ring.status();
  const AuditKeys audit_keys(*audit_ring);

  std::unique_ptr<ReportStore> store(new ReportStore());
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(
      EngineOptions{.path = options.path, .env = options.env, .memory = options.memory});
  if (!engine.ok()) return engine.status();
  store->engine_ = *std::move(engine);
  Engine& e = *store->engine_;

  absl::StatusOr<std::unique_ptr<DataKeys>> keys =
      DataKeys::Open(e, options.key_file, *data_keys, audit_keys);
  if (!keys.ok()) return keys.status();
  store->keys_ = *std::move(keys);

  absl::StatusOr<bool> has_data = e.HoldsData();
  if (!has_data.ok()) return has_data.status();
  absl::StatusOr<std::optional<uint32_t>> legacy_id = ReadLegacyFingerprintKeyId(e);
  if (!legacy_id.ok()) return legacy_id.status();
  store->audit_ = std::make_unique<AuditTrail>(e, audit_keys);
  absl::StatusOr<AuditOpenPlan> plan =
      store->audit_->PlanOpen({.data_keys = *data_keys,
                               .store_has_data = *has_data,
                               .migrate = options.migrate_audit_trail,
                               .opened_by_this_version = legacy_id->has_value()});
  if (!plan.ok()) return DataDirError(options.path, plan.status().message());
  store->opening_ = AuditOpening{plan->problem, plan->migrating, options.audit_anchor};
  absl::StatusOr<std::optional<RestoreRecordFile>> restore = CheckBeforeWriting(
      e, *audit_ring, *store->audit_, *plan, options, &store->opening_.restore_not_recorded);
  if (!restore.ok()) return restore.status();
  if (plan->migrating) *legacy_id = data_keys->oldest_key_id();
  if (absl::Status indexed = store->audit_->BuildReportIndex(); !indexed.ok()) {
    return DataDirError(options.path,
                        absl::StrCat("cannot index the audit trail: ", indexed.message()));
  }

  store->queue_ = std::make_unique<QueueIndex>(e);
  if (absl::Status loaded = store->queue_->Load(); !loaded.ok()) {
    return DataDirError(options.path, absl::StrCat("cannot load the queues: ", loaded.message()));
  }
  store->reports_ = std::make_unique<ReportRecords>(
      e, *store->keys_, *store->queue_, FingerprintKeys(audit_keys, *data_keys, *legacy_id));
  AuditHead start = plan->start;
  start.key_id = audit_keys.current_id();
  e.StartCommitter(options.commit, std::move(start), audit_keys.current_chain_key());
  if (absl::Status written = store->CommitOpenPlan(
          *plan, plan->migrating ? *legacy_id : std::nullopt, *restore, options.path);
      !written.ok()) {
    return DataDirError(options.path,
                        absl::StrCat("cannot write the audit trail: ", written.message()));
  }
  if (restore->has_value()) store->opening_.restore_recorded = (*restore)->record;
  if (absl::Status resumed = store->keys_->ResumeBackgroundWork(); !resumed.ok()) {
    return DataDirError(options.path, resumed.message());
  }
  return store;
}

ReportStore::~ReportStore() {
  // Background work ends after its current chunk (it resumes at the next start); then
  // pending callbacks, which refer to the parts, run before the parts go.
  if (keys_ != nullptr) keys_->Stop();
  if (engine_ != nullptr) {
    engine_->StopCommitter();
    // Everything into table files, so the next start replays no WAL (the data is durable
    // either way; a failure here only makes that start slower).
    (void)engine_->Flush();
  }
}

absl::Status ReportStore::CommitOpenPlan(const AuditOpenPlan& plan,
                                         std::optional<uint32_t> legacy_key_id,
                                         const std::optional<RestoreRecordFile>& restore,
                                         const std::string& data_dir) {
  if (plan.to_append.empty() && !restore.has_value()) return absl::OkStatus();
  Mutation m;
  for (const v1::AuditEntry& entry : plan.to_append) m.Audit(entry);
  if (legacy_key_id) {
    std::string encoded;
    PutFixed32BE(&encoded, *legacy_key_id);
    m.Put(ColumnFamily::kMeta, kLegacyFingerprintKeyIdKey, std::move(encoded));
  }
  if (restore.has_value()) {
    m.Audit(RestoreEntry(restore->record));
    m.Put(ColumnFamily::kMeta, kRestoreRecordedKey, restore->bytes);
  }
  if (absl::Status written = engine_->committer().CommitAndWait(std::move(m)); !written.ok()) {
    return written;
  }
  // Recorded: a failure to remove the file only leaves it for the next start to remove.
  if (restore.has_value()) (void)RemoveRestoreRecord(data_dir);
  return absl::OkStatus();
}

AuditAnchorPoint ReportStore::committed_audit_anchor() const {
  AuditHead head = engine_->committer().committed_audit_head();
  return AuditAnchorPoint{head.sequence, std::move(head.hash)};
}

}  // namespace safeguarding::storage
