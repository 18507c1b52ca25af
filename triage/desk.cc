#include "triage/desk.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "storage/report_id.h"
#include "triage/audit.h"
#include "triage/desk_internal.h"
#include "triage/validation.h"
#include "triage/volume_cells.h"

namespace safeguarding::triage {
namespace {

using desk_internal::CheckReportId;
using desk_internal::kReportIdRule;
using desk_internal::Micros;
using desk_internal::Shown;
using desk_internal::StateName;
using desk_internal::Timestamp;
using google::protobuf::util::TimeUtil;
using storage::LiveClaim;
using storage::QueueEntry;
using storage::QueueIndex;
using storage::ReportChange;
using storage::ReportId;

constexpr size_t kMaxReasonBytes = 2000;
constexpr size_t kMaxNoteBytes = 20000;
constexpr size_t kExpiriesPerPass = 256;
// The actor of changes the server makes by itself (an expired lease).
constexpr char kServerActor[] = "triage-server";

// An opaque claim id: 16 random bytes, hex.
std::string NewClaimId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return "";
  return absl::StrCat("clm_", absl::BytesToHexString(absl::string_view(
                                  reinterpret_cast<const char*>(bytes), sizeof(bytes))));
}

bool SameSecret(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

QueueEntry EntryOf(const ReportId& id, const v1::Report& report) {
  return QueueEntry{report.triage().queue(), static_cast<uint8_t>(report.triage().priority()),
                    TimeUtil::TimestampToMicroseconds(report.triage().due_time()), id};
}

// The next event of `report` (already changed): its sequence, state and priority after.
v1::ReportEvent EventOf(const v1::Report& report, absl::Time now, v1::ReportEventType type,
                        const std::string& actor) {
  v1::ReportEvent event;
  event.set_report_id(report.id());
  event.set_sequence(report.event_count());
  *event.mutable_time() = Timestamp(now);
  event.set_type(type);
  event.set_actor(actor);
  event.set_state(report.state());
  event.set_priority(report.triage().priority());
  return event;
}

[[nodiscard]] absl::Status NotClaimed(const v1::Report& report) {
  return absl::FailedPreconditionError(
      absl::StrCat("report ", report.id(), " is ", StateName(report.state()),
                   report.state() == v1::REPORT_STATE_QUEUED ? ": claim it first" : " (decided)"));
}

}  // namespace

Desk::Desk(storage::ReportStore* store, const PolicyHolder* policy, const common::Clock* clock,
           DeskOptions options)
    : store_(store), policy_(policy), clock_(clock), options_(options) {
  if (options_.run_lease_keeper) keeper_ = std::thread([this] { KeepLeases(); });
}

Desk::~Desk() {
  {
    absl::MutexLock lock(&keeper_mu_);
    stopping_ = true;
  }
  if (keeper_.joinable()) keeper_.join();
}

absl::StatusOr<absl::Duration> Desk::LeaseFor(const google::protobuf::Duration* requested) const {
  // The server checks its lease flags at start; the clamps keep an embedding that did not
  // within the same bounds.
  const absl::Duration longest = std::max(kMinLease, options_.max_lease);
  const absl::Duration standard = std::clamp(options_.default_lease, kMinLease, longest);
  if (requested == nullptr) return standard;
  const absl::Duration lease =
      absl::Seconds(requested->seconds()) + absl::Nanoseconds(requested->nanos());
  if (lease < absl::ZeroDuration() || requested->nanos() < 0) {
    FieldViolations v;
    v.Add("lease", "must not be negative");
    return v.ToStatus();
  }
  if (lease == absl::ZeroDuration()) return standard;
  return std::clamp(lease, kMinLease, longest);
}

void Desk::WithReport(const ReportId& id,
                      absl::AnyInvocable<void(absl::StatusOr<v1::Report>) &&> body) {
  store_->queue().Acquire(id, [this, id, body = std::move(body)]() mutable {
    std::move(body)(store_->reports().Read(id));
  });
}

template <typename T>
void Desk::Finish(const ReportId& id, const Caller& caller, absl::StatusOr<T> result,
                  Done<T> done) {
  store_->queue().Release(id);
  FinishAudited(store_->audit(), caller, id.ToString(), std::move(result), std::move(done));
}

// Writes `change`; once it is durable, `applied(true)` updates the index, the report is
// released and `answer` goes out. On a fault, `applied(false)` undoes what the caller
// took from the index, and the caller gets UNAVAILABLE. Captures no Desk: the store's
// committer may run it while the server stops.
namespace {

template <typename T>
void CommitChange(storage::ReportStore* store, ReportChange change,
                  absl::AnyInvocable<void(bool) &&> applied, T answer, Desk::Done<T> done) {
  const ReportId id = change.id;
  QueueIndex* queue = &store->queue();
  store->reports().Change(std::move(change),
                          [queue, id, applied = std::move(applied), answer = std::move(answer),
                           done = std::move(done)](absl::Status status) mutable {
                            std::move(applied)(status.ok());
                            queue->Release(id);
                            if (status.ok()) {
                              std::move(done)(std::move(answer));
                            } else {
                              std::move(done)(std::move(status));
                            }
                          });
}

}  // namespace

void Desk::ClaimNextReport(const Caller& caller, const v1::ClaimNextReportRequest& request,
                           Done<v1::ClaimNextReportResponse> done) {
  absl::StatusOr<absl::Duration> lease = LeaseFor(request.has_lease() ? &request.lease() : nullptr);
  std::shared_ptr<const TriagePolicy> policy = policy_->Get();
  if (lease.ok() && !request.queue().empty() && !policy->HasQueue(request.queue()) &&
      !store_->queue().HasQueue(request.queue())) {
    FieldViolations v;
    v.Add("queue", absl::StrCat("no queue named ", QuotedName(request.queue())));
    lease = v.ToStatus();
  }
  if (!lease.ok()) {
    FinishAudited(store_->audit(), caller, "",
                  absl::StatusOr<v1::ClaimNextReportResponse>(lease.status()), std::move(done));
    return;
  }
  std::vector<std::string> queues;
  if (!request.queue().empty()) queues.push_back(request.queue());
  constexpr int kAttempts = 8;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::optional<QueueEntry> entry = store_->queue().TakeNext(queues);
    if (!entry) {  // nothing waits: an empty answer, audited like any other
      FinishAudited(store_->audit(), caller, "",
                    absl::StatusOr<v1::ClaimNextReportResponse>(v1::ClaimNextReportResponse()),
                    std::move(done));
      return;
    }
    absl::StatusOr<v1::Report> report = store_->reports().Read(entry->id);
    if (report.ok() && report->state() == v1::REPORT_STATE_QUEUED) {
      Claim(caller, *entry, *std::move(report), *lease, std::move(done));
      return;
    }
    if (absl::IsUnavailable(report.status())) {  // a storage fault: back in its place
      store_->queue().ApplyWaiting(*entry);
      store_->queue().Release(entry->id);
      Refuse<v1::ClaimNextReportResponse>(caller, "", report.status(), std::move(done));
      return;
    }
    // Damaged, or sealed with a key the file lacks: left out of claims (not put back), so
    // it cannot block the reports behind it.
    Problem(absl::StrCat("report ", entry->id.ToString(), " in queue ", entry->queue,
                         " cannot be claimed (",
                         report.ok() ? "its state is not QUEUED" : report.status().ToString(),
                         "): left out of claims until the server restarts"));
    store_->queue().Release(entry->id);
  }
  FinishAudited(store_->audit(), caller, "",
                absl::StatusOr<v1::ClaimNextReportResponse>(absl::UnavailableError(
                    "the next reports cannot be read; the server log names them")),
                std::move(done));
}

void Desk::Problem(const std::string& what) const {
  if (options_.report_problem) options_.report_problem(what);
}

void Desk::Claim(const Caller& caller, const QueueEntry& taken, v1::Report report,
                 absl::Duration lease, Done<v1::ClaimNextReportResponse> done) {
  const std::optional<QueueEntry> entry = taken;
  const std::string claim_id = NewClaimId();
  if (claim_id.empty()) {
    store_->queue().ApplyWaiting(*entry);
    Finish(entry->id, caller,
           absl::StatusOr<v1::ClaimNextReportResponse>(
               absl::InternalError("no random bytes for a claim id")),
           std::move(done));
    return;
  }
  const absl::Time now = clock_->Now();
  LiveClaim live{*entry, claim_id, caller.principal, Micros(now + lease)};
  v1::Report& next = report;
  next.set_state(v1::REPORT_STATE_CLAIMED);
  next.set_event_count(next.event_count() + 1);
  v1::Claim& claim = *next.mutable_claim();
  claim.set_report_id(next.id());
  claim.set_claim_id(live.claim_id);
  claim.set_holder(live.holder);
  *claim.mutable_expire_time() = Timestamp(now + lease);
  if (!next.has_first_claim_time()) *next.mutable_first_claim_time() = Timestamp(now);

  ReportChange change{.id = entry->id, .workflow = storage::WorkflowOf(next)};
  change.liveness = caller.liveness;
  v1::ReportEvent event = EventOf(next, now, v1::REPORT_EVENT_TYPE_CLAIMED, caller.principal);
  *event.mutable_claim_expire_time() = claim.expire_time();
  change.events.push_back(std::move(event));
  QueueIndex::Remove(change.index_writes, *entry);
  QueueIndex::PutClaim(change.index_writes, live);
  change.audits.push_back(AuditEntryFor(caller, next.id(), absl::StatusCode::kOk));

  v1::ClaimNextReportResponse response;
  *response.mutable_claim() = claim;
  *response.mutable_report() = Shown(std::move(next));  // `next` and `claim` are done with
  QueueIndex* queue = &store_->queue();
  CommitChange<v1::ClaimNextReportResponse>(
      store_, std::move(change),
      [queue, live](bool durable) {
        if (durable) {
          queue->ApplyClaim(live);
        } else {
          queue->ApplyWaiting(live.entry);  // back in its place
        }
      },
      std::move(response), std::move(done));
}

absl::Status Desk::MayActOnClaim(const Caller& caller, const v1::Report& report,
                                 absl::string_view claim_id, bool others_too) const {
  if (report.state() != v1::REPORT_STATE_CLAIMED) return NotClaimed(report);
  std::optional<LiveClaim> live = store_->queue().FindClaim(*ReportId::Parse(report.id()));
  if (!live) return absl::InternalError("a claimed report without its claim record");
  const absl::Time expiry = absl::FromUnixMicros(live->expire_micros);
  if (expiry <= clock_->Now()) {
    return absl::FailedPreconditionError(
        absl::StrCat("report ", report.id(), " is CLAIMED, but the claim expired at ",
                     absl::FormatTime(absl::RFC3339_sec, expiry, absl::UTCTimeZone()),
                     ": it goes back to its queue"));
  }
  const bool holder = live->holder == caller.principal;
  if (holder && SameSecret(claim_id, live->claim_id)) return absl::OkStatus();
  if (others_too && caller.role == v1::ROLE_SUPERVISOR) return absl::OkStatus();
  if (!holder) {
    return absl::FailedPreconditionError(
        absl::StrCat("report ", report.id(), " is CLAIMED by ", live->holder, " until ",
                     absl::FormatTime(absl::RFC3339_sec, expiry, absl::UTCTimeZone())));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "report ", report.id(), " is CLAIMED by you, but claim_id is not that claim's id"));
}

namespace {

// Checks the fields every change of one report needs (after those the change adds).
[[nodiscard]] absl::StatusOr<ReportId> CheckRequest(absl::string_view report_id,
                                                    const Caller& caller,
                                                    absl::string_view claim_id,
                                                    FieldViolations& v) {
  std::optional<ReportId> id = ReportId::Parse(report_id);
  if (!id) v.Add("report_id", kReportIdRule);
  if (claim_id.empty() && caller.role != v1::ROLE_SUPERVISOR) {
    v.Add("claim_id", "required: the claim_id of your claim (from ClaimNextReport)");
  }
  if (!v.empty()) return v.ToStatus();
  return *id;
}

}  // namespace

void Desk::RenewClaim(const Caller& caller, const v1::RenewClaimRequest& request,
                      Done<v1::Claim> done) {
  FieldViolations v;
  if (request.claim_id().empty()) v.Add("claim_id", "required: the claim_id of your claim");
  absl::StatusOr<ReportId> id = CheckRequest(request.report_id(), caller, "-", v);
  absl::StatusOr<absl::Duration> lease = LeaseFor(request.has_lease() ? &request.lease() : nullptr);
  if (!id.ok() || !lease.ok()) {
    Refuse<v1::Claim>(caller, request.report_id(), !id.ok() ? id.status() : lease.status(),
                      std::move(done));
    return;
  }
  WithReport(*id, [this, caller, request, id = *id, lease = *lease,
                   done = std::move(done)](absl::StatusOr<v1::Report> report) mutable {
    absl::Status allowed = report.ok() ? MayActOnClaim(caller, *report, request.claim_id(),
                                                       /*others_too=*/false)
                                       : report.status();
    if (!allowed.ok())
      return Finish(id, caller, absl::StatusOr<v1::Claim>(allowed), std::move(done));
    const absl::Time now = clock_->Now();
    LiveClaim live = *store_->queue().FindClaim(id);
    live.expire_micros = Micros(now + lease);
    v1::Report& next = *report;
    next.set_event_count(next.event_count() + 1);
    *next.mutable_claim()->mutable_expire_time() = Timestamp(now + lease);
    next.mutable_claim()->set_claim_id(live.claim_id);
    ReportChange change{.id = id, .workflow = storage::WorkflowOf(next)};
    change.liveness = caller.liveness;
    v1::ReportEvent event =
        EventOf(next, now, v1::REPORT_EVENT_TYPE_CLAIM_RENEWED, caller.principal);
    *event.mutable_claim_expire_time() = next.claim().expire_time();
    change.events.push_back(std::move(event));
    QueueIndex::PutClaim(change.index_writes, live);
    change.audits.push_back(AuditEntryFor(caller, next.id(), absl::StatusCode::kOk));
    QueueIndex* queue = &store_->queue();
    CommitChange<v1::Claim>(
        store_, std::move(change),
        [queue, live](bool durable) {
          if (durable) queue->ApplyClaim(live);
        },
        next.claim(), std::move(done));
  });
}

void Desk::ReleaseReport(const Caller& caller, const v1::ReleaseReportRequest& request,
                         Done<v1::Report> done) {
  FieldViolations v;
  ValidateText("reason", request.reason(), kMaxReasonBytes, /*required=*/true, v);
  absl::StatusOr<ReportId> id = CheckRequest(request.report_id(), caller, request.claim_id(), v);
  if (!id.ok()) {
    Refuse<v1::Report>(caller, request.report_id(), id.status(), std::move(done));
    return;
  }
  WithReport(*id, [this, caller, request, id = *id,
                   done = std::move(done)](absl::StatusOr<v1::Report> report) mutable {
    absl::Status allowed = report.ok() ? MayActOnClaim(caller, *report, request.claim_id(),
                                                       /*others_too=*/true)
                                       : report.status();
    if (!allowed.ok()) {
      return Finish(id, caller, absl::StatusOr<v1::Report>(allowed), std::move(done));
    }
    const absl::Time now = clock_->Now();
    v1::Report& next = *report;
    next.set_state(v1::REPORT_STATE_QUEUED);
    next.clear_claim();
    next.set_event_count(next.event_count() + 1);
    ReportChange change{.id = id, .workflow = storage::WorkflowOf(next)};
    change.liveness = caller.liveness;
    v1::ReportEvent event = EventOf(next, now, v1::REPORT_EVENT_TYPE_RELEASED, caller.principal);
    event.set_text(request.reason());
    change.events.push_back(std::move(event));
    const QueueEntry entry = EntryOf(id, next);
    QueueIndex::DeleteClaim(change.index_writes, id);
    QueueIndex::Add(change.index_writes, entry);
    change.audits.push_back(AuditEntryFor(caller, next.id(), absl::StatusCode::kOk));
    QueueIndex* queue = &store_->queue();
    CommitChange<v1::Report>(
        store_, std::move(change),
        [queue, entry](bool durable) {
          if (!durable) return;
          queue->ApplyUnclaimed(entry.id);
          queue->ApplyWaiting(entry);
        },
        next, std::move(done));
  });
}

namespace {

// The report to decide and, for a duplicate, its original; or what is wrong with the request.
[[nodiscard]] absl::StatusOr<std::pair<ReportId, std::optional<ReportId>>> CheckDecision(
    const Caller& caller, const v1::RecordDecisionRequest& request) {
  FieldViolations v;
  if (request.outcome() == v1::OUTCOME_UNSPECIFIED || !v1::Outcome_IsValid(request.outcome())) {
    v.Add("outcome", "required: one of the OUTCOME_* values");
  }
  ValidateText("note", request.note(), kMaxNoteBytes, /*required=*/false, v);
  std::optional<ReportId> original;
  if (request.outcome() == v1::OUTCOME_DUPLICATE) {
    original = ReportId::Parse(request.duplicate_of());
    if (!original) v.Add("duplicate_of", "required for OUTCOME_DUPLICATE: the original's id");
  } else if (!request.duplicate_of().empty()) {
    v.Add("duplicate_of", "only for OUTCOME_DUPLICATE");
  }
  absl::StatusOr<ReportId> id = CheckRequest(request.report_id(), caller, request.claim_id(), v);
  if (!id.ok()) return id.status();
  if (original && *original == *id) {
    FieldViolations self;
    self.Add("duplicate_of", "a report cannot be a duplicate of itself");
    return self.ToStatus();
  }
  return std::make_pair(*id, original);
}

}  // namespace

void Desk::RecordDecision(const Caller& caller, const v1::RecordDecisionRequest& request,
                          Done<v1::Report> done) {
  auto checked = CheckDecision(caller, request);
  if (!checked.ok()) {
    Refuse<v1::Report>(caller, request.report_id(), checked.status(), std::move(done));
    return;
  }
  const std::optional<ReportId> id = checked->first;
  const std::optional<ReportId> original = checked->second;
  WithReport(*id, [this, caller, request, id = *id, original,
                   done = std::move(done)](absl::StatusOr<v1::Report> report) mutable {
    absl::Status allowed = report.ok() ? MayActOnClaim(caller, *report, request.claim_id(),
                                                       /*others_too=*/true)
                                       : report.status();
    if (allowed.ok() && original) {
      absl::StatusOr<v1::Report> first = store_->reports().Read(*original);
      if (absl::IsNotFound(first.status())) {
        allowed = absl::NotFoundError(
            absl::StrCat("duplicate_of: report ", original->ToString(), " not found"));
      } else if (!first.ok()) {
        allowed = first.status();
      }
    }
    if (!allowed.ok()) {
      return Finish(id, caller, absl::StatusOr<v1::Report>(allowed), std::move(done));
    }
    const absl::Time now = clock_->Now();
    v1::Report& next = *report;
    next.set_state(v1::REPORT_STATE_CLOSED);
    next.clear_claim();
    next.set_event_count(next.event_count() + 1);
    next.set_outcome(request.outcome());
    *next.mutable_closed_time() = Timestamp(now);
    if (original) next.set_duplicate_of(original->ToString());
    ReportChange change{.id = id, .workflow = storage::WorkflowOf(next)};
    change.liveness = caller.liveness;
    v1::ReportEvent event = EventOf(next, now, v1::REPORT_EVENT_TYPE_DECIDED, caller.principal);
    event.set_text(request.note());
    event.set_outcome(request.outcome());
    event.set_duplicate_of(next.duplicate_of());
    change.events.push_back(std::move(event));
    QueueIndex::DeleteClaim(change.index_writes, id);
    change.audits.push_back(AuditEntryFor(caller, next.id(), absl::StatusCode::kOk));
    change.counts =
        DecidedCells(next, policy_->Get()->StatisticsRegion(next.submission().region()));
    QueueIndex* queue = &store_->queue();
    CommitChange<v1::Report>(
        store_, std::move(change),
        [queue, id](bool durable) {
          if (durable) queue->ApplyUnclaimed(id);
        },
        std::move(next), std::move(done));
  });
}

absl::Status Desk::MayChange(const Caller& caller, const v1::Report& report,
                             bool closed_too) const {
  if (report.has_purge_time()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "report ", report.id(), " was purged under the retention period: it takes no change"));
  }
  if (report.state() == v1::REPORT_STATE_CLOSED && !closed_too) {
    return absl::FailedPreconditionError(absl::StrCat("report ", report.id(), " is CLOSED"));
  }
  if (report.state() == v1::REPORT_STATE_CLAIMED && caller.role != v1::ROLE_SUPERVISOR &&
      report.claim().holder() != caller.principal) {
    return absl::FailedPreconditionError(
        absl::StrCat("report ", report.id(), " is CLAIMED by ", report.claim().holder()));
  }
  return absl::OkStatus();
}

void Desk::Reprioritise(const Caller& caller, const v1::ReprioritiseRequest& request,
                        Done<v1::Report> done) {
  FieldViolations v;
  if (request.priority() < v1::PRIORITY_IMMEDIATE || request.priority() > v1::PRIORITY_ROUTINE) {
    v.Add("priority", "required: PRIORITY_IMMEDIATE, _URGENT, _STANDARD or _ROUTINE");
  }
  ValidateText("reason", request.reason(), kMaxReasonBytes, /*required=*/true, v);
  absl::StatusOr<ReportId> id = CheckReportId(request.report_id(), v);
  if (!id.ok()) {
    Refuse<v1::Report>(caller, request.report_id(), id.status(), std::move(done));
    return;
  }
  WithReport(*id, [this, caller, request, id = *id,
                   done = std::move(done)](absl::StatusOr<v1::Report> report) mutable {
    absl::Status allowed =
        report.ok() ? MayChange(caller, *report, /*closed_too=*/false) : report.status();
    if (allowed.ok() && report->triage().priority() == request.priority()) {
      allowed = absl::FailedPreconditionError(
          absl::StrCat("report ", report->id(), " is ", StateName(report->state()), " and already ",
                       v1::Priority_Name(request.priority())));
    }
    if (!allowed.ok()) {
      return Finish(id, caller, absl::StatusOr<v1::Report>(allowed), std::move(done));
    }
    const absl::Time now = clock_->Now();
    v1::Report& next = *report;
    const QueueEntry before = EntryOf(id, next);
    const v1::Priority previous = next.triage().priority();
    next.mutable_triage()->set_priority(request.priority());
    const absl::Time received =
        absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(next.received_time()));
    *next.mutable_triage()->mutable_due_time() =
        Timestamp(policy_->Get()->DueTime(request.priority(), received));
    next.set_event_count(next.event_count() + 1);
    ReportChange change{.id = id, .workflow = storage::WorkflowOf(next)};
    change.liveness = caller.liveness;
    v1::ReportEvent event =
        EventOf(next, now, v1::REPORT_EVENT_TYPE_REPRIORITISED, caller.principal);
    event.set_text(request.reason());
    event.set_previous_priority(previous);
    change.events.push_back(std::move(event));
    const QueueEntry after = EntryOf(id, next);
    std::optional<LiveClaim> live = store_->queue().FindClaim(id);
    if (next.state() == v1::REPORT_STATE_QUEUED) {
      QueueIndex::Remove(change.index_writes, before);
      QueueIndex::Add(change.index_writes, after);
    } else if (live) {
      live->entry = after;  // its place when it comes back
      QueueIndex::PutClaim(change.index_writes, *live);
    }
    change.audits.push_back(AuditEntryFor(caller, next.id(), absl::StatusCode::kOk));
    QueueIndex* queue = &store_->queue();
    const bool waiting = next.state() == v1::REPORT_STATE_QUEUED;
    CommitChange<v1::Report>(
        store_, std::move(change),
        [queue, waiting, after, live](bool durable) {
          if (!durable) return;
          if (waiting) queue->ApplyWaiting(after);
          if (!waiting && live) queue->ApplyClaim(*live);
        },
        Shown(next), std::move(done));
  });
}

void Desk::AddNote(const Caller& caller, const v1::AddNoteRequest& request,
                   Done<v1::ReportEvent> done) {
  FieldViolations v;
  ValidateText("text", request.text(), kMaxNoteBytes, /*required=*/true, v);
  absl::StatusOr<ReportId> id = CheckReportId(request.report_id(), v);
  if (!id.ok()) {
    Refuse<v1::ReportEvent>(caller, request.report_id(), id.status(), std::move(done));
    return;
  }
  WithReport(*id, [this, caller, request, id = *id,
                   done = std::move(done)](absl::StatusOr<v1::Report> report) mutable {
    absl::Status allowed =
        report.ok() ? MayChange(caller, *report, /*closed_too=*/true) : report.status();
    if (!allowed.ok()) {
      return Finish(id, caller, absl::StatusOr<v1::ReportEvent>(allowed), std::move(done));
    }
    v1::Report& next = *report;
    next.set_event_count(next.event_count() + 1);
    ReportChange change{.id = id, .workflow = storage::WorkflowOf(next)};
    change.liveness = caller.liveness;
    v1::ReportEvent event =
        EventOf(next, clock_->Now(), v1::REPORT_EVENT_TYPE_NOTE_ADDED, caller.principal);
    event.set_text(request.text());
    change.events.push_back(event);
    change.audits.push_back(AuditEntryFor(caller, next.id(), absl::StatusCode::kOk));
    CommitChange<v1::ReportEvent>(
        store_, std::move(change), [](bool) {}, std::move(event), std::move(done));
  });
}

size_t Desk::ExpireDueClaims() {
  std::vector<LiveClaim> expired =
      store_->queue().TakeExpired(Micros(clock_->Now()), kExpiriesPerPass);
  for (const LiveClaim& claim : expired) ExpireClaim(claim);
  return expired.size();
}

void Desk::ExpireClaim(const LiveClaim& claim) {
  const ReportId& id = claim.entry.id;
  QueueIndex* queue = &store_->queue();
  absl::StatusOr<v1::Report> report = store_->reports().Read(id);
  if (absl::IsUnavailable(report.status())) {
    queue->Release(id);  // a storage fault: tried again at the next pass
    return;
  }
  if (!report.ok() || report->state() != v1::REPORT_STATE_CLAIMED) {
    Problem(absl::StrCat("the claim on report ", id.ToString(), " cannot be ended (",
                         report.ok() ? "its state is not CLAIMED" : report.status().ToString(),
                         "): left out of the lease keeper until the server restarts"));
    queue->ApplyUnclaimed(id);
    queue->Release(id);
    return;
  }
  v1::Report& next = *report;
  next.set_state(v1::REPORT_STATE_QUEUED);
  next.clear_claim();
  next.set_event_count(next.event_count() + 1);
  ReportChange change{.id = id, .workflow = storage::WorkflowOf(next)};
  change.events.push_back(
      EventOf(next, clock_->Now(), v1::REPORT_EVENT_TYPE_CLAIM_EXPIRED, kServerActor));
  QueueIndex::DeleteClaim(change.index_writes, id);
  QueueIndex::Add(change.index_writes, claim.entry);
  store_->reports().Change(std::move(change), [queue, claim](absl::Status status) {
    if (status.ok()) {
      queue->ApplyUnclaimed(claim.entry.id);
      queue->ApplyWaiting(claim.entry);
    }
    queue->Release(claim.entry.id);
  });
}

void Desk::KeepLeases() {
  for (;;) {
    {
      absl::MutexLock lock(&keeper_mu_);
      if (keeper_mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.expiry_poll)) return;
    }
    ExpireDueClaims();
  }
}

}  // namespace safeguarding::triage
