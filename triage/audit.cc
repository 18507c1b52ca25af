#include "triage/audit.h"

#include "google/protobuf/util/time_util.h"
#include "triage/validation.h"

namespace safeguarding::triage {

using google::protobuf::util::TimeUtil;

v1::AuditEntry AuditEntryFor(const Caller& caller, absl::string_view report_id,
                             absl::StatusCode result) {
  v1::AuditEntry entry;
  entry.set_principal(caller.principal);
  entry.set_role(caller.role);
  entry.set_method(caller.method);
  entry.set_report_id(std::string(report_id));
  entry.set_result_code(static_cast<int>(result));
  entry.set_peer(caller.peer);
  return entry;
}

absl::StatusOr<v1::GetAuditLogResponse> ReadAuditLog(const storage::ReportStore& store,
                                                     const v1::GetAuditLogRequest& request) {
  FieldViolations v;
  if (request.page_size() < 0 || request.page_size() > 1000) {
    v.Add("page_size", "must be between 0 (server default, 100) and 1000");
  }
  if (request.has_start_time() && request.has_end_time() &&
      TimeUtil::TimestampToMicroseconds(request.start_time()) >=
          TimeUtil::TimestampToMicroseconds(request.end_time())) {
    v.Add("end_time", "must be after start_time");
  }
  if (request.report_id().size() > 64) v.Add("report_id", "is too long");
  if (request.principal().size() > 128) v.Add("principal", "is too long");
  if (!v.empty()) return v.ToStatus();

  storage::AuditQuery query;
  query.report_id = request.report_id();
  query.principal = request.principal();
  if (request.has_start_time()) {
    query.start = absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(request.start_time()));
  }
  if (request.has_end_time()) {
    query.end = absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(request.end_time()));
  }
  query.page_size = request.page_size() == 0 ? 100 : static_cast<size_t>(request.page_size());
  query.page_token = request.page_token();
  absl::StatusOr<storage::AuditPage> page = store.ReadAuditLog(query);
  if (!page.ok()) return page.status();
  v1::GetAuditLogResponse response;
  for (auto& entry : page->entries) *response.add_entries() = std::move(entry);
  response.set_next_page_token(page->next_page_token);
  return response;
}

absl::StatusOr<v1::VerifyAuditLogResponse> VerifyAuditLog(const storage::ReportStore& store) {
  absl::StatusOr<storage::AuditVerification> result = store.VerifyAuditLog();
  if (!result.ok()) return result.status();
  v1::VerifyAuditLogResponse response;
  response.set_intact(result->intact);
  response.set_entries_checked(result->entries_checked);
  response.set_first_bad_sequence(result->first_bad_sequence);
  response.set_problem(result->problem);
  return response;
}

}  // namespace safeguarding::triage
