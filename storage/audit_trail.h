// AuditTrail: the audit family and the chain head in meta (the chain itself:
// audit_chain.h). Reads pages of the trail, verifies it (optionally against anchors), finds
// an anchor's entry, and decides at open what must be written before the store serves: the
// first entry of a new trail, the key change of a migration or of a new audit key, and a
// permanent record of any damage found.
//
// Entries are written only by the committer (committer.h), which chains and signs them;
// this part owns the audit family and the head's key in meta.
// Thread-safe: every read takes a RocksDB snapshot, so the head and the entries it walks
// agree even while the committer appends.
#ifndef SAFEGUARDING_STORAGE_AUDIT_TRAIL_H_
#define SAFEGUARDING_STORAGE_AUDIT_TRAIL_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "safeguarding/triage/v1/access.pb.h"
#include "storage/audit_chain.h"
#include "storage/audit_keys.h"
#include "storage/engine.h"
#include "storage/key_ring.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Snapshot;
}  // namespace rocksdb

namespace safeguarding::storage {

// A filtered, paged read of the audit trail. Unset fields match everything.
struct AuditQuery {
  std::string report_id;
  std::string principal;
  std::optional<absl::Time> start;  // inclusive
  std::optional<absl::Time> end;    // exclusive
  size_t page_size = 100;
  std::string page_token;  // opaque, from the previous page
};

struct AuditPage {
  std::vector<v1::AuditEntry> entries;
  std::string next_page_token;  // empty: no more
};

struct AuditVerification {
  bool intact = true;
  uint64_t entries_checked = 0;
  uint64_t first_bad_sequence = 0;
  std::string problem;
  AuditAnchorPoint head;  // the last entry walked
  size_t anchors_checked = 0;
};

// What opening a store must do to its trail before serving.
struct AuditOpenPlan {
  // The committer continues the chain from here: the stored head when it is sound, else the
  // last entry actually present.
  AuditHead start;
  // Appended first, in order: a key change (new trail, migration, new audit key, or after
  // damage) and, if damage was found, its record.
  std::vector<v1::AuditEntry> to_append;
  // Non-empty when damage was found (it is also in to_append).
  std::string problem;
  // The store predates audit keys (its fingerprints were keyed from its oldest data key).
  bool migrating = false;
  // A new audit key was added to the file (the trail is checked whole before it is sealed).
  bool new_audit_key = false;
};

class AuditTrail {
 public:
  // `engine` must outlive the trail.
  AuditTrail(const Engine& engine, AuditKeys keys);

  // Appends `entry` on its own; `done` runs once it is durable (or failed). Changes that
  // are audited add their entry to their own Mutation (Mutation::Audit) instead.
  void Record(v1::AuditEntry entry, absl::AnyInvocable<void(absl::Status) &&> done) const;

  // Decides, without writing, what opening must append. FAILED_PRECONDITION, saying why, if
  // the store must not open: the head is signed with an audit key not in the audit key file
  // and no key of it verifies the newest entry (a wrong --audit_key_file); the store
  // predates audit keys and `context.migrate` is false (or it does not, and it is true); the
  // newest entry's time is outside the range of a timestamp. UNAVAILABLE/DATA_LOSS on read
  // faults.
  struct OpenContext {
    // The oldest of them keyed trails before audit keys existed (a migration checks the
    // old trail with it).
    const KeyRing& data_keys;
    // Reports, events, queue entries or request records exist.
    bool store_has_data = false;
    // Migrate a store written before audit keys existed (--migrate_audit_trail). Never
    // implicit: otherwise cutting a migrated trail back to its legacy part and writing an
    // unsigned head would pass for a first migration.
    bool migrate = false;
    // meta shows this version has opened the store before (it recorded a migration).
    bool opened_by_this_version = false;
  };
  [[nodiscard]] absl::StatusOr<AuditOpenPlan> PlanOpen(const OpenContext& context) const;

  // Reads the trail in time order. INVALID_ARGUMENT for a malformed page token. Filtered
  // by report, it reads the audit_by_report index (written in the same batch as each
  // entry), not the whole trail.
  [[nodiscard]] absl::StatusOr<AuditPage> Read(const AuditQuery& query) const;

  // Indexes by report a trail written before the index existed (once; a marker in meta
  // says it is done). Before the committer starts.
  [[nodiscard]] absl::Status BuildReportIndex();

  // Walks the whole trail: links, keyed hashes, key changes and their digests, recorded
  // breaks, the signed head, and each anchor.
  [[nodiscard]] absl::StatusOr<AuditVerification> Verify(
      std::vector<AuditAnchorPoint> anchors) const;

  // OK if the entry at anchor.sequence exists and has anchor.hash. FAILED_PRECONDITION,
  // saying which, if the trail ends before it (an older copy of the data directory) or the
  // entry differs (a replaced trail). Seeks, never scans: fast at any trail length.
  [[nodiscard]] absl::Status CheckAnchor(const AuditAnchorPoint& anchor) const;

  const AuditKeys& keys() const { return keys_; }

 private:
  struct Located {
    int64_t time_micros;
    uint64_t sequence;
    std::string hash;                     // empty if the value cannot be decoded
    std::optional<v1::AuditEntry> entry;  // nullopt if undecodable
  };

  [[nodiscard]] absl::StatusOr<AuditPage> ReadByReport(const AuditQuery& query,
                                                       const std::string& start_key,
                                                       size_t page_size) const;
  // Feeds every entry of `snapshot` to `verifier`; false if a record cannot be decoded
  // (the verifier has then recorded why).
  [[nodiscard]] absl::StatusOr<bool> Walk(const rocksdb::Snapshot* snapshot,
                                          AuditChainVerifier& verifier, uint64_t* decoded) const;
  // The stored head record, nullopt if there is none; DATA_LOSS if undecodable.
  [[nodiscard]] absl::StatusOr<std::optional<StoredHead>> ReadHead(
      const rocksdb::Snapshot* snapshot) const;
  // The first or last entry of the family, nullopt if it is empty.
  [[nodiscard]] absl::StatusOr<std::optional<Located>> Edge(const rocksdb::Snapshot* snapshot,
                                                            bool last) const;
  // True if the newest entry's hash verifies under one of our audit keys: the key file is
  // this store's, whatever the head says.
  bool LastEntryIsOurs(const std::optional<Located>& last) const;

  // The steps of PlanOpen. What it reads first: the stored head and the entries at both
  // ends; refuses a migration flag that does not fit the store.
  struct TrailEnds {
    bool head_decodes = true;
    std::optional<StoredHead> head;  // nullopt: none (or undecodable)
    std::optional<Located> last;
    bool written_by_this_version = false;
    bool store_has_data = false;
  };
  [[nodiscard]] absl::StatusOr<TrailEnds> ReadEnds(const OpenContext& context) const;
  // Judges the head against the trail's end. True when it is sound and current (plan.start
  // is set; nothing to write); else sets plan.migrating, new_audit_key or problem.
  // FAILED_PRECONDITION for an audit key file that is not this store's.
  [[nodiscard]] absl::StatusOr<bool> JudgeHead(const TrailEnds& ends, AuditOpenPlan& plan) const;
  // The rare cases: walks the trail once and plans the key change that seals it, followed
  // by the record of damage if any.
  [[nodiscard]] absl::Status PlanSeal(const TrailEnds& ends, const OpenContext& context,
                                      AuditOpenPlan& plan) const;
  // Appends the key change (continuing from the trail's real end, naming the key before
  // it and the digest of everything before it) and the record of damage, if any.
  void AppendSeal(const TrailEnds& ends, const KeyRing& data_keys,
                  const AuditChainVerifier& verifier, AuditOpenPlan& plan) const;

  const Engine& engine_;
  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const audit_;
  rocksdb::ColumnFamilyHandle* const meta_;
  const AuditKeys keys_;
};

// The entries the server writes about its own trail (principal "triage-server").
v1::AuditEntry KeyChangeEntry(uint32_t key_id, std::string previous_key_id,
                              std::string trail_digest);
v1::AuditEntry TrailBreakEntry(std::string problem);

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_AUDIT_TRAIL_H_
