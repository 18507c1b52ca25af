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
// Reads every report: minutes for millions. Memory is bounded: the counters are recounted
// in passes of about kRecountCountersPerPass keys each (by a hash of the key), each pass
// reading every report again (one pass up to about a year of 10 million reports). One
// recount runs at a time; it stops when the caller goes. Thread-safe.
#ifndef SAFEGUARDING_TRIAGE_RECOUNT_H_
#define SAFEGUARDING_TRIAGE_RECOUNT_H_

#include <atomic>
#include <cstdint>
#include <functional>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "safeguarding/triage/v1/administration.pb.h"
#include "storage/report_store.h"
#include "triage/caller.h"
#include "triage/policy.h"

namespace safeguarding::triage {

// Differences listed when the request names no limit, and the most it may ask for.
inline constexpr int kDefaultListedDifferences = 100;
inline constexpr int kMaxListedDifferences = 10000;
// Counters held in memory by one pass (about 300 bytes each).
inline constexpr uint64_t kRecountCountersPerPass = 500000;

class Recount {
 public:
  template <typename T>
  using Done = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;

  Recount(const storage::ReportStore* store, const PolicyHolder* policy,
          uint64_t counters_per_pass = kRecountCountersPerPass)
      : store_(store), policy_(policy), counters_per_pass_(counters_per_pass) {}

  // Audited. INVALID_ARGUMENT naming max_differences out of 0..kMaxListedDifferences;
  // RESOURCE_EXHAUSTED while another recount runs; UNAVAILABLE on a read fault; CANCELLED
  // once `stopped` answers true (asked at the first report and every 1,024 after: the call
  // was cancelled, or the server stops).
  void RecountStatistics(const Caller& caller, const v1::RecountStatisticsRequest& request,
                         const std::function<bool()>& stopped,
                         Done<v1::RecountStatisticsResponse> done);

  // The recount, unaudited.
  [[nodiscard]] absl::StatusOr<v1::RecountStatisticsResponse> Run(
      const v1::RecountStatisticsRequest& request,
      const std::function<bool()>& stopped = [] { return false; }) const;

 private:
  const storage::ReportStore* const store_;
  const PolicyHolder* const policy_;
  const uint64_t counters_per_pass_;
  std::atomic<bool> running_{false};
};

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_RECOUNT_H_
