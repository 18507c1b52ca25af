// Desk: the domain of the TriageDesk service: reading reports, claims as leases, releases,
// decisions, and the expiry of leases nobody renewed.
//
// The workflow: QUEUED -> CLAIMED -> CLOSED; a claim can be released, or expire, which
// puts the report back in its place (its queue, priority and due time are unchanged).
// Every change is one batch (storage::ReportRecords::Change): the workflow record, the
// event in the report's history, the queue and claim writes, and the audit entry; the
// answer comes once it is durable, and only then does the in-memory queue index learn of
// it. A change the workflow does not allow is FAILED_PRECONDITION naming the report's
// state, and is audited like any other access.
//
// Who may act: a triager on their own claims; a supervisor also on others' (releasing or
// deciding a report someone else holds). Renewing is for the holder only.
//
// Thread-safe. The store, policy holder and clock must outlive it. A background thread
// expires leases as the clock passes them; the destructor stops it.
#ifndef SAFEGUARDING_TRIAGE_DESK_H_
#define SAFEGUARDING_TRIAGE_DESK_H_

#include <functional>
#include <string>
#include <thread>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "safeguarding/triage/v1/report.pb.h"
#include "safeguarding/triage/v1/triage_desk.pb.h"
#include "storage/report_store.h"
#include "triage/audit.h"
#include "triage/caller.h"
#include "triage/policy.h"

namespace safeguarding::triage {

struct DeskOptions {
  // The lease a claim gets when the request names none, and the longest one it may ask
  // for (longer requests get this). Requests under kMinLease get kMinLease.
  absl::Duration default_lease = absl::Minutes(15);
  absl::Duration max_lease = absl::Hours(1);
  // How often the lease keeper looks for expired claims (real time; the clock decides
  // what has expired).
  absl::Duration expiry_poll = absl::Milliseconds(50);
  // False: no keeper thread (tests call ExpireDueClaims themselves).
  bool run_lease_keeper = true;
  // Told (with ids and codes, never contents) about a report the desk cannot handle: one
  // that cannot be read when it is next to be claimed or to come back from a claim. It is
  // then left out of claims until the server restarts, so it cannot block the queue.
  std::function<void(const std::string&)> report_problem;
};

inline constexpr absl::Duration kMinLease = absl::Seconds(30);

class Desk {
 public:
  template <typename T>
  using Done = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;

  Desk(storage::ReportStore* store, const PolicyHolder* policy, const common::Clock* clock,
       DeskOptions options = DeskOptions());
  ~Desk();
  Desk(const Desk&) = delete;
  Desk& operator=(const Desk&) = delete;

  // TriageDesk.GetReport: INVALID_ARGUMENT naming `report_id` when the id is malformed,
  // NOT_FOUND when no such report exists.
  void GetReport(const Caller& caller, absl::string_view report_id, Done<v1::Report> done) const;

  // The most urgent waiting report of `request.queue` (any queue when empty): IMMEDIATE
  // first, then the earliest due time, then arrival. An empty response when none waits.
  void ClaimNextReport(const Caller& caller, const v1::ClaimNextReportRequest& request,
                       Done<v1::ClaimNextReportResponse> done);
  void RenewClaim(const Caller& caller, const v1::RenewClaimRequest& request, Done<v1::Claim> done);
  void ReleaseReport(const Caller& caller, const v1::ReleaseReportRequest& request,
                     Done<v1::Report> done);
  void RecordDecision(const Caller& caller, const v1::RecordDecisionRequest& request,
                      Done<v1::Report> done);

  // A new priority with a reason: the due time is recomputed (received time + the SLA of
  // the new priority) and the report takes its new place. A triager may change a waiting
  // report or one they hold; a supervisor any open report.
  void Reprioritise(const Caller& caller, const v1::ReprioritiseRequest& request,
                    Done<v1::Report> done);
  // A note in the report's history (sealed at rest). A triager may add one to a report
  // that is waiting, closed, or held by them; a supervisor to any.
  void AddNote(const Caller& caller, const v1::AddNoteRequest& request, Done<v1::ReportEvent> done);
  // Every event of the report, oldest first, with their texts; answered once the read is
  // on record.
  void GetReportHistory(const Caller& caller, const v1::GetReportHistoryRequest& request,
                        Done<v1::GetReportHistoryResponse> done);
  // Reports matching the request's filters, newest first, in pages (default 50, at most
  // 500), without description, contact details or notes; at most 5,000 reports are
  // examined per call, so a page may be short while its next_page_token goes on.
  void ListReports(const Caller& caller, const v1::ListReportsRequest& request,
                   Done<v1::ListReportsResponse> done) const;
  // Per queue (the policy's, then any other with reports): waiting reports per priority,
  // claimed ones, the oldest wait and how many are past due.
  void ListQueues(const Caller& caller, Done<v1::ListQueuesResponse> done) const;
  // The same summaries, for `queues` (all when empty), as WatchQueues sends them.
  std::vector<v1::QueueSummary> Summaries(const std::vector<std::string>& queues) const;
  // Goes up whenever a queue changes.
  uint64_t QueuesVersion() const { return store_->queue().version(); }
  // OK if every name is a queue of the policy or has reports; else INVALID_ARGUMENT,
  // naming the first kMaxNamedUnknownQueues unknown ones. More than kMaxQueuesPerRequest
  // names are refused whole.
  [[nodiscard]] absl::Status CheckQueues(const std::vector<std::string>& queues) const;
  static constexpr size_t kMaxQueuesPerRequest = 64;
  static constexpr size_t kMaxNamedUnknownQueues = 10;
  // Records a WatchQueues call (answered `result`) in the audit trail; `done` once it is
  // on record.
  void RecordWatch(const Caller& caller, absl::StatusCode result,
                   absl::AnyInvocable<void(absl::Status) &&> done) const;

  // Puts every claim whose lease has ended back in its queue; returns how many it started.
  // The lease keeper calls it; tests may too.
  size_t ExpireDueClaims();

  // The lease a request gets (see DeskOptions); INVALID_ARGUMENT for a negative one.
  [[nodiscard]] absl::StatusOr<absl::Duration> LeaseFor(
      const google::protobuf::Duration* requested) const;

 private:
  // Runs `body` with report `id` held and as it now stands (or why it cannot be read).
  // The body ends by calling Finish or Commit, which release the report.
  void WithReport(const storage::ReportId& id,
                  absl::AnyInvocable<void(absl::StatusOr<v1::Report>) &&> body);
  // Audits and answers a request refused before any report was held.
  template <typename T>
  void Refuse(const Caller& caller, absl::string_view report_id, absl::Status status,
              Done<T> done) const {
    FinishAudited(store_->audit(), caller, AuditReportId(report_id),
                  absl::StatusOr<T>(std::move(status)), std::move(done));
  }
  // Releases `id`, then audits and answers a refusal or a read (nothing changed).
  template <typename T>
  void Finish(const storage::ReportId& id, const Caller& caller, absl::StatusOr<T> result,
              Done<T> done);
  // OK when `caller` may act on `report`'s live claim with `claim_id`: its holder with the
  // matching claim id, or (if `others_too`) a supervisor on anyone's. FAILED_PRECONDITION
  // naming the state otherwise, and for a claim whose lease has ended.
  [[nodiscard]] absl::Status MayActOnClaim(const Caller& caller, const v1::Report& report,
                                           absl::string_view claim_id, bool others_too) const;
  // Claims `taken` (held, out of its queue) for `caller`.
  void Claim(const Caller& caller, const storage::QueueEntry& taken, v1::Report report,
             absl::Duration lease, Done<v1::ClaimNextReportResponse> done);
  void Problem(const std::string& what) const;
  // OK when `caller` may change `report` without a claim id: it is open, and not held by
  // someone else (unless the caller is a supervisor). `closed_too` allows closed reports.
  [[nodiscard]] absl::Status MayChange(const Caller& caller, const v1::Report& report,
                                       bool closed_too) const;
  void ExpireClaim(const storage::LiveClaim& claim);
  void KeepLeases();

  storage::ReportStore* const store_;
  const PolicyHolder* const policy_;
  const common::Clock* const clock_;
  const DeskOptions options_;

  absl::Mutex keeper_mu_;
  bool stopping_ ABSL_GUARDED_BY(keeper_mu_) = false;
  std::thread keeper_;
};

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_DESK_H_
