// The audit trail, as the domain uses it: one way to describe an access (AuditEntryFor) and
// one way to answer only after the access is on record (FinishAudited). Later RPCs call
// these; they do not build entries of their own.
#ifndef SAFEGUARDING_TRIAGE_AUDIT_H_
#define SAFEGUARDING_TRIAGE_AUDIT_H_

#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "safeguarding/triage/v1/access.pb.h"
#include "storage/audit_trail.h"
#include "triage/caller.h"

namespace safeguarding::triage {

// Who (principal, role, peer), what (the caller's method), which report, and the outcome.
// The store adds time, sequence and chain hashes.
v1::AuditEntry AuditEntryFor(const Caller& caller, absl::string_view report_id,
                             absl::StatusCode result);

// How a client-supplied report id is written into the audit trail: the canonical
// 26-character id when it parses (case-folded), else "malformed:" + hex of its first 32
// bytes, so the entry is always valid UTF-8 and searches by report find every access.
std::string AuditReportId(absl::string_view client_report_id);

// Records `entry` (from AuditEntryFor, with any details of the call added, e.g.
// AuditEntry.purge), its result code set to that of `result`, and then hands `result` to
// `done`. If the entry cannot be written, the caller gets UNAVAILABLE instead of the
// result: nothing is disclosed without a trace.
template <typename T>
void FinishAudited(const storage::AuditTrail& trail, v1::AuditEntry entry, absl::StatusOr<T> result,
                   absl::AnyInvocable<void(absl::StatusOr<T>) &&> done) {
  // Set before `result` is moved into the callback.
  entry.set_result_code(static_cast<int>(result.status().code()));
  trail.Record(std::move(entry), [result = std::move(result),
                                  done = std::move(done)](absl::Status recorded) mutable {
    if (!recorded.ok()) {
      std::move(done)(absl::UnavailableError("audit trail unavailable; nothing disclosed"));
    } else {
      std::move(done)(std::move(result));
    }
  });
}

// The same for the access of `caller` to `report_id` ("" for none), with nothing more to
// say about the call.
template <typename T>
void FinishAudited(const storage::AuditTrail& trail, const Caller& caller,
                   absl::string_view report_id, absl::StatusOr<T> result,
                   absl::AnyInvocable<void(absl::StatusOr<T>) &&> done) {
  FinishAudited(trail, AuditEntryFor(caller, report_id, result.status().code()), std::move(result),
                std::move(done));
}

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_AUDIT_H_
