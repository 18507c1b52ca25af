#include "triage/intake.h"

#include "common/digest.h"
#include "google/protobuf/util/time_util.h"
#include "storage/report_id.h"
#include "triage/advice.h"
#include "triage/audit.h"
#include "triage/validation.h"
#include "triage/volume_cells.h"

namespace safeguarding::triage {

using google::protobuf::util::TimeUtil;

std::string Intake::Fingerprint(const v1::ReportSubmission& submission) {
  return common::Sha256(common::DeterministicEncoding(submission));
}

void Intake::Submit(const Caller& caller, const v1::SubmitReportRequest& request,
                    SubmitCallback done) const {
  if (absl::Status valid = ValidateSubmitReport(request); !valid.ok()) {
    std::move(done)(std::move(valid));
    return;
  }
  const absl::Time received = clock_->Now();
  const storage::ReportId id = storage::ReportId::Generate(received);
  const auto received_ts = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(received));

  storage::NewReport change;
  v1::Report& report = change.report;
  report.set_id(id.ToString());
  *report.mutable_received_time() = received_ts;
  // The one copy of the submission. Fields this server does not know would be stored
  // unvalidated and unencrypted: drop them; everything below works from this copy.
  *report.mutable_submission() = request.report();
  report.mutable_submission()->DiscardUnknownFields();
  const v1::ReportSubmission& submission = report.submission();
  const std::shared_ptr<const TriagePolicy> policy = policy_->Get();
  *report.mutable_triage() = policy->Evaluate(submission, received);
  report.set_state(v1::REPORT_STATE_QUEUED);
  report.set_source(v1::REPORT_SOURCE_INTAKE);
  report.set_event_count(1);

  v1::ReportEvent& event = change.event;
  event.set_report_id(report.id());
  event.set_sequence(1);
  *event.mutable_time() = received_ts;
  event.set_type(v1::REPORT_EVENT_TYPE_SUBMITTED);
  event.set_actor(caller.principal);
  event.set_state(report.state());
  event.set_priority(report.triage().priority());

  change.caller_scope = caller.principal;
  change.liveness = caller.liveness;
  change.request_id = request.request_id();
  change.fingerprint = Fingerprint(submission);
  change.response.set_report_id(report.id());
  *change.response.mutable_received_time() = received_ts;
  change.response.set_advice(AdviceFor(submission));
  change.audit = AuditEntryFor(caller, report.id(), absl::StatusCode::kOk);
  change.counts = ReceivedCells(report, policy->StatisticsRegion(submission.region()));

  if (on_received_) {
    // The answer names the report this call stored, or the one a retry's first call did.
    // A copy of the observer: the committer may answer while the server stops.
    done = [observer = on_received_, id = report.id(), type = submission.reporter().type(),
            priority = report.triage().priority(),
            done = std::move(done)](absl::StatusOr<v1::SubmitReportResponse> r) mutable {
      if (r.ok() && r->report_id() == id) observer(type, priority);
      std::move(done)(std::move(r));
    };
  }
  store_->reports().Submit(std::move(change), std::move(done));
}

}  // namespace safeguarding::triage
