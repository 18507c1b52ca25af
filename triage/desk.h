// Desk: the domain of the TriageDesk service. Today it reads reports; claims, decisions,
// notes and history join it with the triage desk issue. Every access is audited, and a
// report is handed over only once its audit entry is durable.
//
// Thread-safe. The store must outlive it.
#ifndef SAFEGUARDING_TRIAGE_DESK_H_
#define SAFEGUARDING_TRIAGE_DESK_H_

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "safeguarding/triage/v1/report.pb.h"
#include "storage/report_store.h"
#include "triage/caller.h"

namespace safeguarding::triage {

class Desk {
 public:
  explicit Desk(storage::ReportStore* store) : store_(store) {}

  // TriageDesk.GetReport: INVALID_ARGUMENT naming `report_id` when the id is malformed,
  // NOT_FOUND when no such report exists.
  void GetReport(const Caller& caller, absl::string_view report_id,
                 absl::AnyInvocable<void(absl::StatusOr<v1::Report>) &&> done) const;

 private:
  storage::ReportStore* const store_;
};

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_DESK_H_
