// Importer: ImportReports, historical reports from an older system (a migration).
//
// Each request (at most kMaxImportBatch reports) is one synced batch, answered after it.
// Per report: validated as SubmitReport's report is, plus its times (received, and for a
// decided report its decision and optional first claim, in order and not in the future);
// a refused report names its fields and never refuses the rest. Idempotent on source_id:
// one imported before (by any request) answers ALREADY_IMPORTED with its report id and
// changes nothing. A report is assessed by the policy in force as of its received time,
// counted on its own hours (received, and decided with its outcome), audited, and queued
// only when it is still open. Thread-safe.
#ifndef SAFEGUARDING_TRIAGE_IMPORT_H_
#define SAFEGUARDING_TRIAGE_IMPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "safeguarding/triage/v1/administration.pb.h"
#include "storage/report_store.h"
#include "triage/caller.h"
#include "triage/policy.h"

namespace safeguarding::triage {

inline constexpr int kMaxImportBatch = 1000;

// What the import writes for one valid report `r` (report, events, decided workflow,
// source id, audit entry by `caller`, counter cells), assessed by `policy`. Exposed for the
// statistics benchmark's store, which counts as the import does.
storage::ImportedRecord ImportedRecordOf(const v1::ImportedReport& r, const TriagePolicy& policy,
                                         const Caller& caller);

class Importer {
 public:
  using Done = absl::AnyInvocable<void(absl::StatusOr<v1::ImportReportsResponse>) &&>;

  Importer(storage::ReportStore* store, const PolicyHolder* policy, const common::Clock* clock)
      : store_(store), policy_(policy), clock_(clock), in_flight_(std::make_shared<InFlight>()) {}

  void ImportReports(const Caller& caller, const v1::ImportReportsRequest& request, Done done);

  // Source ids of batches being written: a second request with one of them does not wait;
  // that report is refused with "being imported" (send it again). Shared with the write's
  // callback, which the store's committer may run while the server stops.
  class InFlight {
   public:
    bool Reserve(const std::string& source_id);
    void Unreserve(const std::vector<std::string>& source_ids);

   private:
    absl::Mutex mu_;
    absl::flat_hash_set<std::string> ids_ ABSL_GUARDED_BY(mu_);
  };

 private:
  struct Prepared;
  [[nodiscard]] absl::Status Prepare(const Caller& caller, const v1::ImportReportsRequest& request,
                                     Prepared& out);

  storage::ReportStore* const store_;
  const PolicyHolder* const policy_;
  const common::Clock* const clock_;
  const std::shared_ptr<InFlight> in_flight_;
};

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_IMPORT_H_
