// ReportStore: the store as the domain opens it. It loads the keys, opens the engine
// (engine.h, the one owner of the database and the committer), decides with the audit trail
// what opening must write, and holds the parts the domain calls:
//   reports()  report_records.h  reports, their history, the request log (idempotency)
//   audit()    audit_trail.h     the hash-chained audit trail, its verification, anchors
//   keys()     data_keys.h       data keys: rotation, re-encryption, retirement
//   queue()    queue_index.h     the ordered claim index
// Each part owns its keys and builds its writes into the one Mutation of a change, so a
// change still commits as one synced batch. New features add a part, not methods here.
//
// Thread-safe; every part is.
#ifndef SAFEGUARDING_STORAGE_REPORT_STORE_H_
#define SAFEGUARDING_STORAGE_REPORT_STORE_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "storage/audit_trail.h"
#include "storage/committer.h"
#include "storage/data_keys.h"
#include "storage/engine.h"
#include "storage/queue_index.h"
#include "storage/report_records.h"
#include "storage/restore_record.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace safeguarding::storage {

struct StoreOptions {
  // Directory of the database; created if missing.
  std::string path;
  CommitterOptions commit;
  // Encryption keys (see key_ring.h): the last key is current. Required.
  std::string key_file;
  // Keys of the audit chain and request fingerprints (audit_keys.h). Required, and apart
  // from key_file: it holds no data key.
  std::string audit_key_file;
  // Migrate a store written before audit keys existed (the flag of its first start only).
  bool migrate_audit_trail = false;
  // If set, the trail must reach this anchor and agree with it, or Open fails with
  // FAILED_PRECONDITION ("audit anchor SEQ:HASH: ...") before writing anything.
  std::optional<AuditAnchorPoint> audit_anchor;
  // RocksDB environment; nullptr means the default. Tests pass one that injects faults.
  rocksdb::Env* env = nullptr;
  // Block cache and memtables (engine.h).
  MemoryBudget memory;
  // The server's --backup_dir, if any: a restore record (restore_record.h) is compared with
  // the backup it names there before it goes into the trail.
  std::string backup_dir;
};

// What opening found in the audit trail, for the server to tell.
struct AuditOpening {
  // Damage found (also recorded in the trail, so verification reports it from then on).
  std::string problem;
  // A store written before audit keys existed was migrated.
  bool migrated = false;
  // StoreOptions::audit_anchor, which the trail reached.
  std::optional<AuditAnchorPoint> anchor_checked;
  // The restore that `triagectl admin restore` left a record of, now in the trail.
  std::optional<v1::BackupRestore> restore_recorded;
  // Why a restore record was left in the directory unrecorded (the trail is damaged).
  std::string restore_not_recorded;
};

class ReportStore {
 public:
  // Opens (creating on first start) the store at options.path. FAILED_PRECONDITION with a
  // message naming the directory or file when it is locked by another process, cannot be
  // created or read, holds a newer schema, a key file is missing or wrong, or the audit
  // trail refuses to open (audit_trail.h).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ReportStore>> Open(
      const StoreOptions& options);

  // Commits and acknowledges whatever is pending, then closes the database.
  ~ReportStore();
  ReportStore(const ReportStore&) = delete;
  ReportStore& operator=(const ReportStore&) = delete;

  ReportRecords& reports() { return *reports_; }
  const ReportRecords& reports() const { return *reports_; }
  const AuditTrail& audit() const { return *audit_; }
  DataKeys& keys() { return *keys_; }
  const DataKeys& keys() const { return *keys_; }
  QueueIndex& queue() { return *queue_; }
  const QueueIndex& queue() const { return *queue_; }
  Engine& engine() { return *engine_; }
  const Engine& engine() const { return *engine_; }

  const AuditOpening& audit_opening() const { return opening_; }
  // The end of the audit chain as last made durable: the anchor to publish.
  AuditAnchorPoint committed_audit_anchor() const;
  const std::string& path() const { return engine_->path(); }

 private:
  ReportStore() = default;
  // Commits what opening must write (the trail's first entries, a migration, the checked
  // record of a restore that `triagectl admin restore` left in `data_dir`) and waits.
  [[nodiscard]] absl::Status CommitOpenPlan(const AuditOpenPlan& plan,
                                            std::optional<uint32_t> legacy_key_id,
                                            const std::optional<RestoreRecordFile>& restore,
                                            const std::string& data_dir);

  std::unique_ptr<Engine> engine_;  // first in, last out: the parts refer to it
  std::unique_ptr<DataKeys> keys_;
  std::unique_ptr<AuditTrail> audit_;
  std::unique_ptr<QueueIndex> queue_;  // before reports_, which adds to it
  std::unique_ptr<ReportRecords> reports_;
  AuditOpening opening_;
};

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_REPORT_STORE_H_
