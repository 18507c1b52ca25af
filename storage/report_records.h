// ReportRecords: the part of the store that owns reports, their events and the request log
// (idempotency): submitting a new report with everything written in one batch, and reading
// reports and their history back.
//
// Idempotency is on (caller scope, request id), with a keyed fingerprint of the content to
// tell a retry from a reused id. Submissions are not serialised: the request key is reserved
// under one of many striped locks (never held across I/O), the request log is read outside
// any lock, and a duplicate that arrives while the first is in flight waits for the first's
// answer instead of reading or writing.
//
// Thread-safe. Callbacks run on the committer thread (or on the caller's thread when the
// answer is known without a write, e.g. a replayed request) and must not block.
#ifndef SAFEGUARDING_STORAGE_REPORT_RECORDS_H_
#define SAFEGUARDING_STORAGE_REPORT_RECORDS_H_

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/call_liveness.h"
#include "safeguarding/triage/v1/access.pb.h"
#include "safeguarding/triage/v1/intake.pb.h"
#include "safeguarding/triage/v1/report.pb.h"
#include "storage/cell_counts.h"
#include "storage/data_keys.h"
#include "storage/engine.h"
#include "storage/mutation.h"
#include "storage/queue_index.h"
#include "storage/report_id.h"

namespace rocksdb {
class Snapshot;
}  // namespace rocksdb

namespace safeguarding::storage {

namespace v1 = ::safeguarding::triage::v1;

// Everything written when a new report is accepted, in one batch.
struct NewReport {
  v1::Report report;         // complete: id, received time, triage, state
  v1::ReportEvent event;     // the first history entry
  std::string caller_scope;  // principal the request id belongs to
  std::string request_id;
  std::string fingerprint;            // digest of the request content, to tell retries from reuse
  v1::SubmitReportResponse response;  // replayed verbatim to retries
  v1::AuditEntry audit;               // the submission's audit entry (chained by the committer)
  CellCounts counts;                  // the statistics cells it adds to
  // The call's client; nullptr: internal. Not written while any caller of this request id
  // still waits (a retry joins the first call), dropped unwritten once none does.
  std::shared_ptr<const common::CallLiveness> liveness;
};

// A change of a report after submission (a claim, a release, a decision, ...), written in
// one batch: its new workflow record, the events it appends (texts sealed), its audit
// entries, and the queue and claim writes the caller built (QueueIndex).
struct ReportChange {
  ReportId id;
  v1::Report workflow;  // WorkflowOf(the report as it now stands)
  // When set, the report record (as submitted) is replaced by this: a purge writes it
  // without its contents. `events` may then rewrite earlier events too (same sequence).
  std::optional<v1::Report> submitted;
  std::vector<v1::ReportEvent> events;
  std::vector<v1::AuditEntry> audits;
  Mutation index_writes;
  CellCounts counts;  // the statistics cells it adds to
  // The call's client: dropped unwritten once it no longer waits. nullptr: internal work
  // (lease expiry, a purge), always written.
  std::shared_ptr<const common::CallLiveness> liveness;
};

// A historical report (ImportReports), written as it would have been: its report record
// with its first assessment, its events, its workflow record when it was decided, its
// queue entry when it is still open, its source id's record, its audit entry and counts.
struct ImportedRecord {
  v1::Report report;                  // as received: id, received time, triage, QUEUED, IMPORT
  std::optional<v1::Report> decided;  // the report as decided (CLOSED), when it was
  std::vector<v1::ReportEvent> events;
  std::string source_id;
  v1::AuditEntry audit;
  CellCounts counts;
};

// The mutable part of a report, as the workflow family keeps it: state, current triage,
// event count, claim (without its claim id), outcome, closed time, duplicate_of, first
// claim time.
v1::Report WorkflowOf(const v1::Report& report);

// Which reports List returns, newest first.
struct ListQuery {
  std::optional<absl::Time> received_after;   // exclusive
  std::optional<absl::Time> received_before;  // exclusive
  std::optional<ReportId> after_id;           // continue after this one (a page token)
  size_t page_size = 50;
  size_t max_scanned = 5000;  // reports examined per call, matching or not
  std::function<bool(const v1::Report&)> match = [](const v1::Report&) { return true; };
};

struct ReportListing {
  std::vector<v1::Report> reports;  // without description and contact details
  // Where the next page starts (hex of the last report examined); empty at the end.
  std::string next_page_token;
};

class ReportRecords {
 public:
  using SubmitCallback = absl::AnyInvocable<void(absl::StatusOr<v1::SubmitReportResponse>) &&>;

  // `fingerprint_keys`: current first, then older ones still recognised (audit_keys.h).
  // New reports are added to `queue` once durable.
  ReportRecords(Engine& engine, const DataKeys& keys, QueueIndex& queue,
                std::vector<std::string> fingerprint_keys);
  ReportRecords(const ReportRecords&) = delete;
  ReportRecords& operator=(const ReportRecords&) = delete;

  // Stores `report` idempotently on (caller_scope, request_id):
  //  - first use: writes report, event, queue entry, request record and audit entry in one
  //    synced batch, then answers `report.response`;
  //  - same request id and fingerprint (already stored or still being committed): answers
  //    the first response; nothing new is written;
  //  - same request id, different fingerprint: ALREADY_EXISTS;
  //  - storage fault: UNAVAILABLE, nothing is visible, the request id stays free.
  void Submit(NewReport report, SubmitCallback done);

  // The report as it stands: as submitted, with its workflow record applied. NOT_FOUND if
  // there is no such report; UNAVAILABLE on a storage fault.
  [[nodiscard]] absl::StatusOr<v1::Report> Read(const ReportId& id) const;

  // The report as submitted, without its workflow record (see Read).
  [[nodiscard]] absl::StatusOr<v1::Report> ReadSubmitted(const ReportId& id) const;

  // Workflow records (the reports that changed after submission) in id order, from the key
  // `from` on (empty: the first): `each` sees up to `limit` of them. Returns the key to go
  // on from, empty at the end. Bypasses the block cache. DATA_LOSS naming a report whose
  // record does not open; UNAVAILABLE on a read fault.
  [[nodiscard]] absl::StatusOr<std::string> ScanWorkflows(
      absl::string_view from, size_t limit,
      absl::FunctionRef<void(const ReportId& id, const v1::Report& workflow)> each) const;

  // Report ids `first` to `last`, both included.
  struct IdRange {
    ReportId first, last;
  };
  // Waits (up to `snapshot_wait`) for snapshots older than now to be released, flushes
  // every family (so the write-ahead logs holding old contents are deleted), then compacts
  // the report records and events of each range, the bottom level included, so that
  // overwritten contents (a purge) leave the store's files. `canceled` (may be null) stops
  // it early: Aborted/Incomplete, as UNAVAILABLE.
  [[nodiscard]] absl::Status CompactContents(const std::vector<IdRange>& ranges,
                                             std::atomic<bool>* canceled,
                                             absl::Duration snapshot_wait);

  // The ranges a purge still owes CompactContents: it records them (SetCompactionOwed)
  // before it purges a chunk and clears them once compacted, so a purge stopped in between
  // (a crash, a stop) leaves them here for the next start to compact (triage/retention.h).
  // Empty when nothing is owed; UNAVAILABLE on a read fault, DATA_LOSS if unreadable.
  [[nodiscard]] absl::StatusOr<std::vector<IdRange>> CompactionOwed() const;
  // Replaces what is owed with `ranges` (empty: nothing), in one synced write; waits for it.
  // UNAVAILABLE on a fault.
  [[nodiscard]] absl::Status SetCompactionOwed(const std::vector<IdRange>& ranges);

  // Reports matching `query`, newest first, as they stand, without their contents. Stops
  // after a page, or after `max_scanned` reports (a page may then be short; its token goes
  // on).
  [[nodiscard]] absl::StatusOr<ReportListing> List(const ListQuery& query) const;

  // Writes `change` in one synced batch; `done` gets the outcome (UNAVAILABLE on a fault,
  // and then nothing of it is visible).
  void Change(ReportChange change, Committer::Callback done);

  // The id of the report imported under `source_id`, or nullopt; UNAVAILABLE on a fault.
  [[nodiscard]] absl::StatusOr<std::optional<std::string>> ImportedId(
      absl::string_view source_id) const;
  // Writes every record in one synced batch (open ones become claimable once durable);
  // `done` gets the outcome.
  void Import(std::vector<ImportedRecord> records, Committer::Callback done);

  // Every report on `snapshot` (e.g. CounterReader::snapshot()), in id order: as
  // submitted, and as it stands (its workflow record applied), until `each` answers false.
  // Bypasses the block cache (a full scan would evict what point reads need). UNAVAILABLE
  // on a read fault; DATA_LOSS naming the report whose record does not open.
  [[nodiscard]] absl::Status ScanAll(
      const rocksdb::Snapshot* snapshot,
      absl::FunctionRef<bool(const v1::Report& submitted, const v1::Report& current)> each) const;

  // The history of one report, oldest first.
  [[nodiscard]] absl::StatusOr<std::vector<v1::ReportEvent>> ReadEvents(const ReportId& id) const;

 private:
  struct InFlight {
    std::string fingerprint;
    std::vector<SubmitCallback> waiters;
    // Of the first call and each waiter; the write is wanted while any of them is (a
    // nullptr one always is).
    std::vector<std::shared_ptr<const common::CallLiveness>> callers;
  };
  // Request keys whose first submission is being looked up or committed.
  struct Stripe {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, InFlight> in_flight ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kStripes = 64;

  Stripe& StripeFor(const std::string& request_key);
  // Whether any caller of the request in flight under `request_key` still waits.
  bool AnyCallerWaits(const std::string& request_key, absl::Time now);
  // Answers from the request log when the request was stored before; nullopt to go on.
  std::optional<absl::StatusOr<v1::SubmitReportResponse>> Replay(
      const std::string& request_key, absl::string_view raw_fingerprint) const;
  void Write(NewReport report, std::string request_key, SubmitCallback done);
  // True if the keyed fingerprint `stored` is of `raw` under any fingerprint key.
  bool SameFingerprint(absl::string_view stored, absl::string_view raw) const;
  // Releases the reservation and answers the first caller and everyone who waited.
  void Finish(const std::string& request_key, absl::StatusOr<v1::SubmitReportResponse> result,
              SubmitCallback done);

  // Sets the mutable part of `report` from its workflow record.
  static void Apply(const v1::Report& workflow, v1::Report& report);
  // Applies the report's workflow record, if any, to `report` (as submitted).
  [[nodiscard]] absl::Status ApplyWorkflow(const ReportId& id, const KeyRing& ring,
                                           v1::Report& report) const;

  Engine& engine_;
  const DataKeys& keys_;
  QueueIndex& queue_;
  const std::vector<std::string> fingerprint_keys_;
  std::array<Stripe, kStripes> stripes_;
};

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_REPORT_RECORDS_H_
