// Helpers shared by the files of triage::Desk (desk.cc: the workflow's changes;
// desk_reads.cc: reads, listings and queue summaries). Not for use outside them.
#ifndef SAFEGUARDING_TRIAGE_DESK_INTERNAL_H_
#define SAFEGUARDING_TRIAGE_DESK_INTERNAL_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "safeguarding/triage/v1/report.pb.h"
#include "storage/report_id.h"
#include "triage/validation.h"

namespace safeguarding::triage::desk_internal {

inline constexpr char kReportIdRule[] =
    "must be a 26-character report reference as returned by SubmitReport";

inline int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
inline google::protobuf::Timestamp Timestamp(absl::Time t) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(Micros(t));
}

inline std::string StateName(v1::ReportState state) {
  std::string name = v1::ReportState_Name(state);
  constexpr absl::string_view kPrefix = "REPORT_STATE_";
  return absl::StartsWith(name, kPrefix) ? name.substr(kPrefix.size()) : name;
}

// A report with its claim as shown in a Report (no claim id).
inline v1::Report Shown(v1::Report report) {
  if (report.has_claim()) report.mutable_claim()->clear_claim_id();
  return report;
}

// The report to change, or what is wrong with the request (after the change's own fields).
[[nodiscard]] inline absl::StatusOr<storage::ReportId> CheckReportId(absl::string_view report_id,
                                                                     FieldViolations& v) {
  std::optional<storage::ReportId> id = storage::ReportId::Parse(report_id);
  if (!id) v.Add("report_id", kReportIdRule);
  if (!v.empty()) return v.ToStatus();
  return *id;
}

}  // namespace safeguarding::triage::desk_internal

#endif  // SAFEGUARDING_TRIAGE_DESK_INTERNAL_H_
