// ReportStore: the durable home of reports, on an embedded RocksDB.
//
// The store exposes typed operations ("submit this new report", "read report", "scan a
// queue"), never the raw database. Every change is one atomic WriteBatch over all the
// column families it touches, made durable (WAL fsync) by the group committer before its
// callback runs. Column families and key layouts: column_families.h and key_encoding.h.
//
// Thread-safe. Callbacks run on the committer thread (or on the caller's thread when the
// answer is known without a write, e.g. a replayed request) and must not block.
#ifndef SAFEGUARDING_STORAGE_REPORT_STORE_H_
#define SAFEGUARDING_STORAGE_REPORT_STORE_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "safeguarding/triage/v1/intake.pb.h"
#include "safeguarding/triage/v1/report.pb.h"
#include "storage/audit_chain.h"
#include "storage/audit_trail.h"
#include "storage/committer.h"
#include "storage/key_encoding.h"
#include "storage/key_ring.h"
#include "storage/report_id.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Env;
}  // namespace rocksdb

namespace safeguarding::storage {

namespace v1 = ::safeguarding::triage::v1;

// Version of the on-disk layout, kept in the meta family. Opening a store written by a
// newer version fails rather than misreading it.
inline constexpr uint32_t kSchemaVersion = 1;

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
};

struct KeyRotation {
  uint32_t new_key_id = 0;
  uint64_t records_to_reencrypt = 0;  // estimate
};

// Everything written when a new report is accepted, in one batch.
struct NewReport {
  v1::Report report;         // complete: id, received time, triage, state
  v1::ReportEvent event;     // the first history entry
  std::string caller_scope;  // principal the request id belongs to
  std::string request_id;
  std::string fingerprint;            // digest of the request content, to tell retries from reuse
  v1::SubmitReportResponse response;  // replayed verbatim to retries
  v1::AuditEntry audit;               // the submission's audit entry (chained by the committer)
};

// A data key of the key file and whether it may be retired.
struct DataKeyStatus {
  uint32_t id = 0;
  bool current = false;
  // Stored data may still be sealed with it. False once a rotation to a later key has
  // re-encrypted every record without a failure: the key may then be removed from the file.
  bool in_use = true;
};

// Checks `keys` against the data keys meta records for the store: FAILED_PRECONDITION,
// naming the key, unless the ring holds the key recorded as current and every key that may
// still seal data. Records them on first open (an older store: every key of the ring is
// taken to be in use until a rotation completes). Returns the keys in use.
// The record is signed with the audit chain key, so whoever can write the data directory
// cannot mark a key retired (and have an operator delete a key that still opens reports):
// a record that does not verify counts every key of the ring as in use.
[[nodiscard]] absl::StatusOr<std::vector<uint32_t>> CheckDataKeys(rocksdb::DB* db,
                                                                  rocksdb::ColumnFamilyHandle* meta,
                                                                  const KeyRing& keys,
                                                                  const std::string& key_file,
                                                                  const AuditKeys& audit_keys);

class ReportStore {
 public:
  using SubmitCallback = absl::AnyInvocable<void(absl::StatusOr<v1::SubmitReportResponse>) &&>;

  // Opens (creating on first start) the store at options.path. Fails with
  // FAILED_PRECONDITION and a message naming the directory when it is locked by another
  // process, cannot be created or read, or holds a newer schema.
  static absl::StatusOr<std::unique_ptr<ReportStore>> Open(const StoreOptions& options);

  // Commits whatever is pending, then closes the database.
  ~ReportStore();

  ReportStore(const ReportStore&) = delete;
  ReportStore& operator=(const ReportStore&) = delete;

  // Stores `report` idempotently on (caller_scope, request_id):
  //  - first use: writes report, event, queue entry and request record in one synced batch,
  //    then answers `report.response`;
  //  - same request id and fingerprint (already stored or still being committed): answers
  //    the first response; nothing new is written;
  //  - same request id, different fingerprint: ALREADY_EXISTS;
  //  - storage fault: UNAVAILABLE, nothing is visible, the request id stays free.
  void SubmitNewReport(NewReport report, SubmitCallback done);

  // NOT_FOUND if there is no such report; UNAVAILABLE on a storage fault.
  absl::StatusOr<v1::Report> ReadReport(const ReportId& id) const;

  // The history of one report, oldest first.
  absl::StatusOr<std::vector<v1::ReportEvent>> ReadEvents(const ReportId& id) const;

  // Appends `entry` to the audit trail on its own; `done` runs once it is durable.
  void RecordAudit(v1::AuditEntry entry, absl::AnyInvocable<void(absl::Status) &&> done);

  // The audit trail: reads, verification, anchors (see audit_trail.h).
  const AuditTrail& audit_trail() const { return *audit_; }
  // The end of the chain as last made durable: the anchor to publish.
  AuditAnchorPoint committed_audit_anchor() const;
  // Damage to the trail found when the store was opened (also recorded in the trail, so
  // verification reports it from then on); empty if none.
  const std::string& audit_problem_at_open() const { return audit_problem_at_open_; }
  // True if opening migrated a store written before audit keys existed.
  bool migrated_audit_at_open() const { return migrated_audit_at_open_; }
  // StoreOptions::audit_anchor, which the trail reached when the store was opened.
  const std::optional<AuditAnchorPoint>& audit_anchor_checked() const {
    return audit_anchor_checked_;
  }

  // Makes a new key current (appended to the key file) and re-encrypts every stored
  // report under it in the background, in chunks that run on the committer thread so they
  // never race other writes. Old keys stay in the file and keep working.
  // `done` runs once the new key is current and recorded (or the rotation failed);
  // FAILED_PRECONDITION while a previous rotation is still re-encrypting.
  void RotateKey(absl::AnyInvocable<void(absl::StatusOr<KeyRotation>) &&> done);
  // Reports re-encrypted by rotations since the store was opened.
  uint64_t reencrypted_count() const { return reencrypted_.load(); }
  // Records a rotation could not re-encrypt (damaged, or sealed with a key not in the file).
  uint64_t reencrypt_failures() const { return reencrypt_failures_.load(); }
  // True while a re-encryption pass is running.
  bool reencrypting() const { return reencrypting_.load(); }
  // The keys of the key file, oldest first, with which of them may be retired.
  std::vector<DataKeyStatus> DataKeys() const;

  // Flushes memtables to SST files (so data is in table files, not only the WAL).
  absl::Status Flush();

  // Visits every entry of the claim index in key order (queue, tier, due time, arrival).
  absl::Status ScanQueueIndex(absl::FunctionRef<void(const QueueKeyParts&)> visit) const;

  const std::string& path() const { return path_; }

 private:
  struct InFlight {
    std::string fingerprint;
    std::vector<SubmitCallback> waiters;
  };

  struct Parts;
  explicit ReportStore(Parts parts);

  // Commits what opening must write (the trail's first entries, a migration) and waits.
  absl::Status CommitOpenPlan(const AuditOpenPlan& plan, std::optional<uint32_t> legacy_key_id);
  // True if the keyed fingerprint `stored` is of `raw` under any fingerprint key.
  bool SameFingerprint(absl::string_view stored, absl::string_view raw) const;

  std::shared_ptr<const KeyRing> keys() const;
  // Schedules re-encryption of reports from `start_key` on the committer thread.
  // `failures_before`: reencrypt_failures_ when the rotation began; a rotation that ends
  // with no new failure retires every older key from use.
  void ReencryptFrom(std::string start_key, bool final_pass, uint64_t failures_before);

  rocksdb::ColumnFamilyHandle* handle(ColumnFamily family) const {
    return handles_[static_cast<int>(family)];
  }
  void FinishSubmit(const std::string& request_key, absl::StatusOr<v1::SubmitReportResponse> result,
                    SubmitCallback done);

  const std::string path_;
  const int lock_fd_;
  const std::string key_file_;
  // Fingerprint keys, current first (audit_keys.h), then the legacy one of a migrated store
  // while its data key is still in the key file.
  std::vector<std::string> fingerprint_keys_;
  std::string audit_problem_at_open_;
  std::string keys_record_key_;  // signs data_keys_in_use (the audit chain key)
  bool migrated_audit_at_open_ = false;
  std::optional<AuditAnchorPoint> audit_anchor_checked_;
  // Readers seal with keys_ and hand the mutation to the committer while holding the lock
  // shared; a rotation swaps keys_ holding it exclusively. So once the swap is done, every
  // record sealed with the old ring is queued ahead of the re-encryption that follows.
  mutable absl::Mutex keys_mu_;
  std::shared_ptr<const KeyRing> keys_ ABSL_GUARDED_BY(keys_mu_);
  std::vector<uint32_t> keys_in_use_ ABSL_GUARDED_BY(keys_mu_);
  std::atomic<uint64_t> reencrypted_{0};
  std::atomic<uint64_t> reencrypt_failures_{0};
  std::atomic<bool> reencrypting_{false};
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<AuditTrail> audit_;
  std::unique_ptr<Committer> committer_;

  // Request keys whose first submission is being committed; later duplicates wait here.
  absl::Mutex requests_mu_;
  absl::flat_hash_map<std::string, InFlight> in_flight_ ABSL_GUARDED_BY(requests_mu_);
};

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_REPORT_STORE_H_
