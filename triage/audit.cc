#include "triage/audit.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "storage/report_id.h"

namespace safeguarding::triage {

std::string AuditReportId(absl::string_view client_report_id) {
  if (client_report_id.empty()) return "";
  if (auto id = storage::ReportId::Parse(client_report_id)) return id->ToString();
  return absl::StrCat("malformed:", absl::BytesToHexString(client_report_id.substr(0, 32)));
}

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

}  // namespace safeguarding::triage
