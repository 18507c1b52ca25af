// Recount: the statistics counted again from the reports, and compared with the counters
// the changes kept (triage/volume_cells.h). Read-only: reports, workflow records and
// counters are read on one snapshot, so a recount under load compares like with like.
//
// Each report counts in the received series as submitted (its first assessment, its
// received time) and, when it is closed, in the decided, wait, decision-time and
// breach series as it stands. Regions are named as the policy in force names them for
// statistics: after a change of `statistics_regions`, past reports' counters keep the
// names they were counted under and the recount lists them (docs/OPERATIONS.md).
//
// Reads every report: minutes for millions. One recount runs at a time. Thread-safe.
#ifndef SAFEGUARDING_TRIAGE_RECOUNT_H_
#define SAFEGUARDING_TRIAGE_RECOUNT_H_

#include <atomic>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "safeguarding/triage/v1/administration.pb.h"
#include "storage/report_store.h"
#include "triage/caller.h"
#include "triage/policy.h"

namespace safeguarding::triage {

namespace v1 = ::safeguarding::triage::v1;

// Differences listed when the request names no limit, and the most it may ask for.
inline constexpr int kDefaultListedDifferences = 100;
inline constexpr int kMaxListedDifferences = 10000;

class Recount {
 public:
  template <typename T>
  using Done = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;

  Recount(const storage::ReportStore* store, const PolicyHolder* policy)
      : store_(store), policy_(policy) {}

  // Audited. INVALID_ARGUMENT naming max_differences out of 0..kMaxListedDifferences;
  // RESOURCE_EXHAUSTED while another recount runs; UNAVAILABLE on a read fault.
  void RecountStatistics(const Caller& caller, const v1::RecountStatisticsRequest& request,
                         Done<v1::RecountStatisticsResponse> done);

  // The recount, unaudited.
  [[nodiscard]] absl::StatusOr<v1::RecountStatisticsResponse> Run(
      const v1::RecountStatisticsRequest& request) const;

 private:
  const storage::ReportStore* const store_;
  const PolicyHolder* const policy_;
  std::atomic<bool> running_{false};
};

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_RECOUNT_H_
