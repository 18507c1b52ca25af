// triage::Desk's reads: a report, its history, listings, and queue summaries. Each is
// answered only once the access is on record (FinishAudited).
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "storage/report_id.h"
#include "triage/audit.h"
#include "triage/desk.h"
#include "triage/desk_internal.h"
#include "triage/validation.h"

namespace safeguarding::triage {

using desk_internal::CheckReportId;
using desk_internal::kReportIdRule;
using desk_internal::Micros;
using desk_internal::Shown;
using google::protobuf::util::TimeUtil;
using storage::ReportId;

void Desk::GetReport(const Caller& caller, absl::string_view report_id,
                     Done<v1::Report> done) const {
  std::optional<ReportId> id = ReportId::Parse(report_id);
  absl::StatusOr<v1::Report> result;
  if (!id) {
    FieldViolations v;
    v.Add("report_id", kReportIdRule);
    result = v.ToStatus();
  } else {
    result = store_->reports().Read(*id);
    if (result.ok()) *result = Shown(*std::move(result));
  }
  // The canonical id, so a search by report finds every access however the id was
  // spelled; a malformed one is recorded as hex (never as bytes that may not be UTF-8).
  FinishAudited(store_->audit(), caller, AuditReportId(report_id), std::move(result),
                std::move(done));
}

void Desk::GetReportHistory(const Caller& caller, const v1::GetReportHistoryRequest& request,
                            Done<v1::GetReportHistoryResponse> done) {
  FieldViolations v;
  absl::StatusOr<ReportId> id = CheckReportId(request.report_id(), v);
  absl::StatusOr<v1::GetReportHistoryResponse> result;
  if (!id.ok()) {
    result = id.status();
  } else {
    // NOT_FOUND for a report that does not exist, rather than an empty history.
    absl::StatusOr<v1::Report> report = store_->reports().Read(*id);
    absl::StatusOr<std::vector<v1::ReportEvent>> events =
        report.ok() ? store_->reports().ReadEvents(*id)
                    : absl::StatusOr<std::vector<v1::ReportEvent>>(report.status());
    if (events.ok()) {
      v1::GetReportHistoryResponse response;
      for (v1::ReportEvent& e : *events) *response.add_events() = std::move(e);
      result = std::move(response);
    } else {
      result = events.status();
    }
  }
  FinishAudited(store_->audit(), caller, AuditReportId(request.report_id()), std::move(result),
                std::move(done));
}

namespace {

// The query of a ListReports request, or what is wrong with it.
[[nodiscard]] absl::StatusOr<storage::ListQuery> ListQueryOf(const v1::ListReportsRequest& r) {
  FieldViolations v;
  storage::ListQuery q;
  if (r.page_size() < 0) v.Add("page_size", "must not be negative");
  q.page_size = r.page_size() == 0 ? 50 : std::min(r.page_size(), 500);
  if (!v1::ReportState_IsValid(r.state())) v.Add("state", "not a report state");
  if (!v1::Priority_IsValid(r.priority())) v.Add("priority", "not a priority");
  if (!v1::ReporterType_IsValid(r.reporter_type())) v.Add("reporter_type", "not a reporter type");
  auto time = [](const google::protobuf::Timestamp& ts) {
    return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(ts));
  };
  if (r.has_received_after()) q.received_after = time(r.received_after());
  if (r.has_received_before()) q.received_before = time(r.received_before());
  if (q.received_after && q.received_before && *q.received_after >= *q.received_before) {
    v.Add("received_after", "must be before received_before");
  }
  if (!r.page_token().empty()) {
    const std::string bytes = absl::HexStringToBytes(r.page_token());
    q.after_id = ReportId::FromBytes(bytes);
    if (!q.after_id || absl::BytesToHexString(bytes) != absl::AsciiStrToLower(r.page_token())) {
      v.Add("page_token", "not a token from a previous page");
    }
  }
  if (!v.empty()) return v.ToStatus();
  q.match = [r](const v1::Report& report) {
    return (r.queue().empty() || report.triage().queue() == r.queue()) &&
           (r.state() == v1::REPORT_STATE_UNSPECIFIED || report.state() == r.state()) &&
           (r.priority() == v1::PRIORITY_UNSPECIFIED ||
            report.triage().priority() == r.priority()) &&
           (r.reporter_type() == v1::REPORTER_TYPE_UNSPECIFIED ||
            report.submission().reporter().type() == r.reporter_type());
  };
  return q;
}

}  // namespace

void Desk::ListReports(const Caller& caller, const v1::ListReportsRequest& request,
                       Done<v1::ListReportsResponse> done) const {
  absl::StatusOr<storage::ListQuery> query = ListQueryOf(request);
  absl::StatusOr<v1::ListReportsResponse> result;
  if (!query.ok()) {
    result = query.status();
  } else if (absl::StatusOr<storage::ReportListing> listing = store_->reports().List(*query);
             !listing.ok()) {
    result = listing.status();
  } else {
    v1::ListReportsResponse response;
    for (v1::Report& report : listing->reports) *response.add_reports() = Shown(std::move(report));
    response.set_next_page_token(listing->next_page_token);
    result = std::move(response);
  }
  FinishAudited(store_->audit(), caller, "", std::move(result), std::move(done));
}

std::vector<v1::QueueSummary> Desk::Summaries(const std::vector<std::string>& queues) const {
  const absl::Time now = clock_->Now();
  std::vector<storage::QueueCounts> counts =
      store_->queue().Counts(policy_->Get()->queues(), Micros(now));
  std::vector<v1::QueueSummary> out;
  for (const storage::QueueCounts& c : counts) {
    if (!queues.empty() && std::find(queues.begin(), queues.end(), c.queue) == queues.end()) {
      continue;
    }
    v1::QueueSummary& summary = out.emplace_back();
    summary.set_queue(c.queue);
    summary.set_depth(c.waiting);
    for (int p = v1::PRIORITY_IMMEDIATE; p <= v1::PRIORITY_ROUTINE; ++p) {
      v1::PriorityDepth* depth = summary.add_by_priority();
      depth->set_priority(static_cast<v1::Priority>(p));
      depth->set_depth(c.waiting_by_tier[p]);
    }
    summary.set_claimed(c.claimed);
    if (c.oldest_waiting) {
      const absl::Duration wait = std::max(absl::ZeroDuration(), now - c.oldest_waiting->time());
      summary.mutable_oldest_wait()->set_seconds(absl::ToInt64Seconds(wait));
    }
    summary.set_sla_breaches(c.past_due);
  }
  return out;
}

absl::Status Desk::CheckQueues(const std::vector<std::string>& queues) const {
  FieldViolations v;
  if (queues.size() > kMaxQueuesPerRequest) {
    v.Add("queues", absl::StrCat("at most ", kMaxQueuesPerRequest, " queues, not ", queues.size()));
    return v.ToStatus();
  }
  std::shared_ptr<const TriagePolicy> policy = policy_->Get();
  size_t unknown = 0;
  for (const std::string& queue : queues) {
    if (policy->HasQueue(queue) || store_->queue().HasQueue(queue)) continue;
    // The first few are named; a refusal stays small whatever the request held.
    if (++unknown <= kMaxNamedUnknownQueues) {
      v.Add("queues", absl::StrCat("no queue named ", QuotedName(queue)));
    }
  }
  if (unknown > kMaxNamedUnknownQueues) {
    v.Add("queues", absl::StrCat("and ", unknown - kMaxNamedUnknownQueues, " more unknown queues"));
  }
  return v.empty() ? absl::OkStatus() : v.ToStatus();
}

void Desk::RecordWatch(const Caller& caller, absl::StatusCode result,
                       absl::AnyInvocable<void(absl::Status) &&> done) const {
  store_->audit().Record(AuditEntryFor(caller, "", result), std::move(done));
}

void Desk::ListQueues(const Caller& caller, Done<v1::ListQueuesResponse> done) const {
  v1::ListQueuesResponse response;
  for (v1::QueueSummary& s : Summaries({})) *response.add_queues() = std::move(s);
  FinishAudited(store_->audit(), caller, "", absl::StatusOr<v1::ListQueuesResponse>(response),
                std::move(done));
}

}  // namespace safeguarding::triage
