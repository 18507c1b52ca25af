#include "triage/retention.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/util/time_util.h"
#include "triage/audit.h"
#include "triage/validation.h"

namespace safeguarding::triage {
namespace {

using google::protobuf::util::TimeUtil;
using storage::ReportId;

constexpr absl::string_view kOutcomePrefix = "OUTCOME_";
// The principal and method the audit trail names for the daily purge.
constexpr char kServerActor[] = "triage-server";
constexpr char kScheduledMethod[] = "server:retention-purge";
// How long the compaction after a purge waits for older snapshots to go.
constexpr absl::Duration kSnapshotWait = absl::Minutes(10);
// Purged reports received further apart than this are compacted as separate ranges.
constexpr absl::Duration kRangeGap = absl::Hours(6);

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t));
}

google::protobuf::Timestamp TimestampOf(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

[[nodiscard]] absl::Status BadItem(absl::string_view item, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("--retention: \"", item, "\": ", why,
                   " (expected OUTCOME=PERIOD[,...], e.g. no_further_action=400d,duplicate=90d)"));
}

[[nodiscard]] absl::StatusOr<absl::Duration> ParsePeriod(absl::string_view text) {
  int64_t days = 0;
  if (absl::ConsumeSuffix(&text, "d")) {
    if (!absl::SimpleAtoi(text, &days) || days < 0) {
      return absl::InvalidArgumentError("not a number of days");
    }
    return absl::Hours(24) * days;
  }
  absl::Duration period;
  if (!absl::ParseDuration(text, &period)) {
    return absl::InvalidArgumentError("not a period (days like 400d, or a duration like 36h)");
  }
  return period;
}

// The first `daily_at` (time of day, UTC) after `now`.
absl::Time NextDaily(absl::Time now, absl::Duration daily_at) {
  const absl::Time midnight = absl::FromCivil(
      absl::CivilDay(absl::ToCivilDay(now, absl::UTCTimeZone())), absl::UTCTimeZone());
  absl::Time next = midnight + daily_at;
  if (next <= now) next += absl::Hours(24);
  return next;
}

}  // namespace

absl::StatusOr<std::map<v1::Outcome, absl::Duration>> ParseRetentionPeriods(
    absl::string_view text) {
  std::map<v1::Outcome, absl::Duration> periods;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    std::vector<absl::string_view> parts = absl::StrSplit(item, '=');
    if (parts.size() != 2) return BadItem(item, "not OUTCOME=PERIOD");
    std::string name = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(parts[0]));
    v1::Outcome outcome = v1::OUTCOME_UNSPECIFIED;
    if (!v1::Outcome_Parse(absl::StrCat(kOutcomePrefix, name), &outcome) ||
        outcome == v1::OUTCOME_UNSPECIFIED) {
      return BadItem(item, "not an outcome");
    }
    absl::StatusOr<absl::Duration> period = ParsePeriod(absl::StripAsciiWhitespace(parts[1]));
    if (!period.ok()) return BadItem(item, period.status().message());
    if (*period < kMinRetention) return BadItem(item, "the shortest retention period is 1 day");
    if (!periods.emplace(outcome, *period).second) return BadItem(item, "outcome named twice");
  }
  return periods;
}

absl::StatusOr<std::optional<absl::Duration>> ParseDailyAt(absl::string_view text) {
  if (text.empty()) return std::optional<absl::Duration>();
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  int hours = 0, minutes = 0;
  if (parts.size() != 2 || parts[0].size() != 2 || parts[1].size() != 2 ||
      !absl::SimpleAtoi(parts[0], &hours) || !absl::SimpleAtoi(parts[1], &minutes) || hours < 0 ||
      hours > 23 || minutes < 0 || minutes > 59) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--purge_daily_at: \"", text, "\": expected HH:MM in UTC, e.g. 02:30 (empty: none)"));
  }
  return std::optional<absl::Duration>(absl::Hours(hours) + absl::Minutes(minutes));
}

std::string DescribePurgeRun(const Caller& by,
                             const absl::StatusOr<v1::PurgeExpiredReportsResponse>& result) {
  if (!result.ok()) {
    return absl::StrCat("retention purge by ", by.principal,
                        " failed: ", result.status().ToString());
  }
  if (result->dry_run()) {
    return absl::StrCat("retention purge by ", by.principal, " (dry run): ", result->purged(),
                        " reports would be purged of ", result->examined(),
                        " closed examined; nothing was changed");
  }
  return absl::StrCat("retention purge by ", by.principal, ": ", result->purged(),
                      " reports purged of ", result->examined(), " closed examined");
}

std::string DescribeRetention(const std::map<v1::Outcome, absl::Duration>& periods) {
  std::vector<std::string> items;
  for (const auto& [outcome, period] : periods) {
    std::string name = v1::Outcome_Name(outcome).substr(kOutcomePrefix.size());
    const bool whole_days = period % absl::Hours(24) == absl::ZeroDuration();
    items.push_back(absl::StrCat(
        absl::AsciiStrToLower(name), "=",
        whole_days ? absl::StrCat(period / absl::Hours(24), "d") : absl::FormatDuration(period)));
  }
  return absl::StrJoin(items, ",");
}

Retention::Retention(storage::ReportStore* store, const common::Clock* clock,
                     RetentionOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {
  if (options_.daily_at && !options_.periods.empty()) {
    next_scheduled_ = NextDaily(clock_->Now(), *options_.daily_at);
  }
  worker_ = std::thread([this] { Work(); });
}

Retention::~Retention() {
  Stop();
  if (worker_.joinable()) worker_.join();
}

void Retention::Stop() {
  cancel_compaction_ = true;
  absl::MutexLock lock(&mu_);
  stopping_ = true;
}

bool Retention::stopping() const {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

void Retention::Poke() {
  absl::MutexLock lock(&mu_);
  poked_ = true;
}

uint64_t Retention::purged_count() const {
  absl::MutexLock lock(&mu_);
  return purged_;
}

uint64_t Retention::failed_runs() const {
  absl::MutexLock lock(&mu_);
  return failed_runs_;
}

std::optional<absl::Time> Retention::next_scheduled() const {
  absl::MutexLock lock(&mu_);
  return next_scheduled_;
}

v1::AuditEntry Retention::AuditEntryOf(const Request& request, absl::string_view report_id) {
  v1::AuditEntry entry = AuditEntryFor(request.caller, report_id, absl::StatusCode::kOk);
  entry.mutable_purge()->set_dry_run(request.dry_run);
  if (request.closed_before) {
    *entry.mutable_purge()->mutable_closed_before() = TimestampOf(*request.closed_before);
  }
  return entry;
}

void Retention::Purge(const Caller& caller, const v1::PurgeExpiredReportsRequest& request,
                      Done<v1::PurgeExpiredReportsResponse> done) {
  using Result = absl::StatusOr<v1::PurgeExpiredReportsResponse>;
  Request job{.caller = caller, .dry_run = request.dry_run()};
  const bool bound_valid =
      !request.has_closed_before() || IsValidTimestamp(request.closed_before());
  if (request.has_closed_before() && bound_valid) {
    job.closed_before = TimeOf(request.closed_before());
  }
  // Refusals are audited with the request's terms too (an invalid bound left out).
  auto refuse = [&](absl::Status status) {
    FinishAudited(store_->audit(), AuditEntryOf(job, ""), Result(std::move(status)),
                  std::move(done));
  };
  if (options_.periods.empty()) {
    return refuse(absl::FailedPreconditionError(
        "no retention period is set: start the server with --retention, e.g. "
        "--retention=no_further_action=400d (outcomes not named are kept for ever)"));
  }
  if (!bound_valid) {
    FieldViolations v;
    v.Add("closed_before", "must be a valid timestamp");
    return refuse(v.ToStatus());
  }
  absl::MutexLock lock(&mu_);
  if (stopping_) return refuse(absl::CancelledError("the server is stopping"));
  if (busy_) {
    return refuse(absl::AbortedError("a purge is already running; try again when it has ended"));
  }
  busy_ = true;
  job_ = [this, job = std::move(job), done = std::move(done)]() mutable {
    Result result = Run(job);
    {
      absl::MutexLock lock(&mu_);
      busy_ = false;
      if (!result.ok()) ++failed_runs_;
    }
    if (options_.on_run) options_.on_run(job.caller, result);
    FinishAudited(store_->audit(), AuditEntryOf(job, ""), std::move(result), std::move(done));
  };
}

void Retention::CompactOwed() {
  absl::StatusOr<std::vector<storage::ReportRecords::IdRange>> owed =
      store_->reports().CompactionOwed();
  if (owed.ok() && owed->empty()) return;
  absl::Status how = owed.status();
  if (how.ok()) how = store_->reports().CompactContents(*owed, &cancel_compaction_, kSnapshotWait);
  if (how.ok()) how = store_->reports().SetCompactionOwed({});
  if (options_.on_owed_compaction) options_.on_owed_compaction(owed.ok() ? owed->size() : 0, how);
}

absl::Status Retention::NoteOwed(std::vector<storage::ReportRecords::IdRange> purged,
                                 const std::vector<ReportId>& due) {
  for (const ReportId& id : due) AddToRanges(id, purged);
  return store_->reports().SetCompactionOwed(purged);
}

void Retention::Work() {
  CompactOwed();  // before any purge: it may be what a crash left
  for (;;) {
    Job job;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](Retention* r) ABSL_SHARED_LOCKS_REQUIRED(r->mu_) {
                                 return r->stopping_ || r->job_ != nullptr || r->poked_;
                               },
                               this),
                           options_.schedule_poll);
      job = std::move(job_);
      job_ = nullptr;
      poked_ = false;
      if (job == nullptr && stopping_) return;
    }
    if (job != nullptr) {
      std::move(job)();  // answers CANCELLED by itself when stopping
    } else {
      RunScheduleIfDue();
    }
  }
}

void Retention::RunScheduleIfDue() {
  {
    absl::MutexLock lock(&mu_);
    if (!next_scheduled_ || clock_->Now() < *next_scheduled_ || busy_) return;
    busy_ = true;
  }
  Request job{.caller = Caller{.principal = kServerActor, .method = kScheduledMethod}};
  absl::StatusOr<v1::PurgeExpiredReportsResponse> result = Run(job);
  {
    absl::MutexLock lock(&mu_);
    busy_ = false;
    if (!result.ok()) ++failed_runs_;
    // A failed run is tried again at the next day's time (and an operator may call it).
    next_scheduled_ = NextDaily(clock_->Now(), *options_.daily_at);
  }
  if (options_.on_run) options_.on_run(job.caller, result);
  FinishAudited(store_->audit(), AuditEntryOf(job, ""), std::move(result),
                absl::AnyInvocable<void(absl::StatusOr<v1::PurgeExpiredReportsResponse>) &&>(
                    [](absl::StatusOr<v1::PurgeExpiredReportsResponse>) {}));
}

bool Retention::Due(const v1::Report& workflow, absl::Time now,
                    const std::optional<absl::Time>& closed_before) const {
  if (workflow.state() != v1::REPORT_STATE_CLOSED || workflow.has_purge_time() ||
      !workflow.has_closed_time()) {
    return false;
  }
  auto period = options_.periods.find(workflow.outcome());
  if (period == options_.periods.end()) return false;
  const absl::Time closed = TimeOf(workflow.closed_time());
  if (closed_before && closed >= *closed_before) return false;
  return closed + period->second <= now && !OriginalOpen(workflow);
}

bool Retention::OriginalOpen(const v1::Report& report) const {
  if (report.outcome() != v1::OUTCOME_DUPLICATE || report.duplicate_of().empty()) return false;
  std::optional<ReportId> original = ReportId::Parse(report.duplicate_of());
  if (!original) return false;
  absl::StatusOr<v1::Report> read = store_->reports().Read(*original);
  // A duplicate is evidence in its original's case: kept while that case is open (or
  // cannot be read just now).
  return !read.ok() ? !absl::IsNotFound(read.status()) : read->state() != v1::REPORT_STATE_CLOSED;
}

absl::StatusOr<v1::PurgeExpiredReportsResponse> Retention::Run(const Request& request) {
  const absl::Time now = clock_->Now();
  v1::PurgeExpiredReportsResponse response;
  response.set_dry_run(request.dry_run);
  *response.mutable_as_of() = TimestampOf(now);
  for (const auto& [outcome, period] : options_.periods) {
    v1::RetentionPeriod* in_force = response.add_periods();
    in_force->set_outcome(outcome);
    *in_force->mutable_period() =
        TimeUtil::MicrosecondsToDuration(absl::ToInt64Microseconds(period));
  }
  std::vector<storage::ReportRecords::IdRange> purged;
  absl::Status stopped = ScanAndPurge(request, now, response, purged);
  // What was purged is compacted even when the run stopped early; until that is done it
  // stays owed, for the next start.
  absl::Status compacted;
  if (!purged.empty() && !options_.leave_compaction_owed) {
    compacted = store_->reports().CompactContents(purged, &cancel_compaction_, kSnapshotWait);
    // Not cleared (a fault): the next start compacts the ranges again, which is harmless.
    if (compacted.ok()) store_->reports().SetCompactionOwed({}).IgnoreError();
  }
  if (!stopped.ok()) return stopped;
  if (!compacted.ok()) return compacted;
  return response;
}

absl::Status Retention::ScanAndPurge(const Request& request, absl::Time now,
                                     v1::PurgeExpiredReportsResponse& response,
                                     std::vector<storage::ReportRecords::IdRange>& purged) {
  std::map<v1::Outcome, uint64_t> by_outcome;
  absl::Status stopped;
  std::string from;
  do {
    if (stopping()) {
      stopped = absl::CancelledError(absl::StrCat("the server is stopping; ", response.purged(),
                                                  " reports were purged before it did"));
      break;
    }
    std::vector<ReportId> due;
    std::vector<v1::Outcome> outcomes;
    absl::StatusOr<std::string> next = store_->reports().ScanWorkflows(
        from, options_.chunk, [&](const ReportId& id, const v1::Report& workflow) {
          if (workflow.state() != v1::REPORT_STATE_CLOSED || workflow.has_purge_time()) return;
          response.set_examined(response.examined() + 1);
          if (!Due(workflow, now, request.closed_before)) return;
          due.push_back(id);
          outcomes.push_back(workflow.outcome());
        });
    if (!next.ok()) {
      stopped = next.status();
      break;
    }
    std::vector<ChunkResult> results(due.size(), ChunkResult::kPurged);
    if (!request.dry_run && !due.empty()) {
      stopped = NoteOwed(purged, due);  // durable before any of the chunk is purged
      if (!stopped.ok()) break;
      stopped = PurgeChunk(due, request, now, results);
    }
    for (size_t i = 0; i < due.size(); ++i) {
      if (results[i] == ChunkResult::kFailed) {
        response.set_failed(response.failed() + 1);
        if (response.failed_report_ids_size() < 100) {
          response.add_failed_report_ids(due[i].ToString());
        }
      }
      if (results[i] != ChunkResult::kPurged) continue;
      ++by_outcome[outcomes[i]];
      response.set_purged(response.purged() + 1);
      if (!request.dry_run) AddToRanges(due[i], purged);
    }
    from = *std::move(next);
  } while (!from.empty() && stopped.ok());
  for (const auto& [outcome, count] : by_outcome) {
    v1::PurgedCount* c = response.add_by_outcome();
    c->set_outcome(outcome);
    c->set_count(count);
  }
  if (!request.dry_run) {
    absl::MutexLock lock(&mu_);
    purged_ += response.purged();
  }
  return stopped;
}

void Retention::AddToRanges(const ReportId& id,
                            std::vector<storage::ReportRecords::IdRange>& ranges) {
  // Reports received close together share table files: one range for them, a new one
  // after a gap, so the compaction rewrites the files that held purged reports, not every
  // file between the oldest and the newest.
  if (!ranges.empty() && id.time() - ranges.back().last.time() < kRangeGap) {
    ranges.back().last = id;
  } else {
    ranges.push_back({.first = id, .last = id});
  }
}

absl::StatusOr<std::optional<storage::ReportChange>> Retention::PurgeChange(const ReportId& id,
                                                                            const Request& request,
                                                                            absl::Time now) const {
  absl::StatusOr<v1::Report> report = store_->reports().Read(id);
  if (!report.ok()) return report.status();
  if (!Due(*report, now, request.closed_before)) return std::nullopt;  // changed meanwhile
  absl::StatusOr<v1::Report> submitted = store_->reports().ReadSubmitted(id);
  if (!submitted.ok()) return submitted.status();
  absl::StatusOr<std::vector<v1::ReportEvent>> events = store_->reports().ReadEvents(id);
  if (!events.ok()) return events.status();

  v1::Report& next = *report;
  next.set_event_count(next.event_count() + 1);
  *next.mutable_purge_time() = TimestampOf(now);
  storage::ReportChange change{.id = id, .workflow = storage::WorkflowOf(next)};
  // The tombstone: the report as submitted without the reporter's words, contact and the
  // free-text platform name (what is counted stays, so the statistics still agree).
  submitted->mutable_submission()->clear_description();
  submitted->mutable_submission()->mutable_reporter()->clear_contact();
  submitted->mutable_submission()->clear_platform();
  change.submitted = *std::move(submitted);
  for (v1::ReportEvent& event : *events) {
    if (event.text().empty()) continue;
    event.clear_text();
    change.events.push_back(std::move(event));
  }
  v1::ReportEvent purged;
  purged.set_report_id(next.id());
  purged.set_sequence(next.event_count());
  *purged.mutable_time() = TimestampOf(now);
  purged.set_type(v1::REPORT_EVENT_TYPE_PURGED);
  purged.set_actor(request.caller.principal);
  purged.set_state(next.state());
  purged.set_priority(next.triage().priority());
  purged.set_outcome(next.outcome());
  change.events.push_back(std::move(purged));
  change.audits.push_back(AuditEntryOf(request, next.id()));
  return change;
}

absl::Status Retention::PurgeChunk(const std::vector<ReportId>& ids, const Request& request,
                                   absl::Time now, std::vector<ChunkResult>& results) {
  absl::Mutex mu;
  absl::Status failure;
  absl::BlockingCounter pending(static_cast<int>(ids.size()));
  auto finish = [&](size_t i, const absl::Status& status) {
    {
      absl::MutexLock lock(&mu);
      results[i] = status.ok() ? ChunkResult::kPurged : ChunkResult::kFailed;
      if (absl::IsUnavailable(status) && failure.ok()) failure = status;
    }
    pending.DecrementCount();
  };
  storage::QueueIndex* queue = &store_->queue();
  for (size_t i = 0; i < ids.size(); ++i) {
    const ReportId id = ids[i];
    // Held on this thread, not in the callback: the reads and the sealing below never run
    // on the committer thread that may release the report.
    absl::Notification held;
    queue->Acquire(id, [&held] { held.Notify(); });
    held.WaitForNotification();
    absl::StatusOr<std::optional<storage::ReportChange>> change = PurgeChange(id, request, now);
    if (!change.ok() || !*change) {
      queue->Release(id);
      if (!change.ok()) {
        ReportFailure(id, change.status());
        finish(i, change.status());
      } else {
        results[i] = ChunkResult::kNotDue;  // changed meanwhile
        pending.DecrementCount();
      }
      continue;
    }
    store_->reports().Change(**std::move(change), [queue, id, i, &finish](absl::Status status) {
      queue->Release(id);
      finish(i, status);
    });
  }
  pending.Wait();
  return failure;
}

void Retention::ReportFailure(const ReportId& id, const absl::Status& status) const {
  if (options_.on_report_failed && !absl::IsUnavailable(status)) {
    options_.on_report_failed(id.ToString(), status);
  }
}

}  // namespace safeguarding::triage
