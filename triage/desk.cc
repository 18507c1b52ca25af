#include "triage/desk.h"

#include <optional>

#include "storage/report_id.h"
#include "triage/audit.h"
#include "triage/validation.h"

namespace safeguarding::triage {

void Desk::GetReport(const Caller& caller, absl::string_view report_id,
                     absl::AnyInvocable<void(absl::StatusOr<v1::Report>) &&> done) const {
  std::optional<storage::ReportId> id = storage::ReportId::Parse(report_id);
  absl::StatusOr<v1::Report> result;
  if (!id) {
    FieldViolations v;
    v.Add("report_id", "must be a 26-character report reference as returned by SubmitReport");
    result = v.ToStatus();
  } else {
    result = store_->reports().Read(*id);
  }
  // The canonical id, so a search by report finds every access however the id was
  // spelled; a malformed one is recorded as hex (never as bytes that may not be UTF-8).
  FinishAudited(store_->audit(), caller, AuditReportId(report_id), std::move(result),
                std::move(done));
}

}  // namespace safeguarding::triage
