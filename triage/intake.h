// Intake: the domain side of ReportIntake.SubmitReport.
//
// Validates the request, stamps the received time, assigns a report id, evaluates the
// triage policy, composes the advice, and hands the accepted report to the store as one
// change. The callback runs once the report is durable (or rejected); Submit never blocks
// on disk. Idempotency on (caller, request_id) is the store's guarantee (see
// ReportRecords::Submit); this class supplies the content fingerprint for it.
//
// Thread-safe. The store, policy holder and clock must outlive it. Each submission is
// assessed by the policy in force when it arrives.
#ifndef SAFEGUARDING_TRIAGE_INTAKE_H_
#define SAFEGUARDING_TRIAGE_INTAKE_H_

#include <functional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "safeguarding/triage/v1/intake.pb.h"
#include "safeguarding/triage/v1/report.pb.h"
#include "storage/report_store.h"
#include "triage/caller.h"
#include "triage/policy.h"

namespace safeguarding::triage {

class Intake {
 public:
  using SubmitCallback = storage::ReportRecords::SubmitCallback;

  // Told of each report this intake stored (not of answers replayed to retries), once it
  // is durable, with its reporter type and priority; runs on the committer thread.
  using ReceivedObserver = std::function<void(v1::ReporterType, v1::Priority)>;

  Intake(storage::ReportStore* store, const PolicyHolder* policy, const common::Clock* clock,
         ReceivedObserver on_received = nullptr)
      : store_(store), policy_(policy), clock_(clock), on_received_(std::move(on_received)) {}

  // INVALID_ARGUMENT (with field violations) is answered at once and stores nothing.
  void Submit(const Caller& caller, const v1::SubmitReportRequest& request,
              SubmitCallback done) const;

  // SHA-256 of the submission's deterministic encoding: equal for equal content.
  static std::string Fingerprint(const v1::ReportSubmission& submission);

 private:
  storage::ReportStore* const store_;
  const PolicyHolder* const policy_;
  const common::Clock* const clock_;
  const ReceivedObserver on_received_;
};

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_INTAKE_H_
