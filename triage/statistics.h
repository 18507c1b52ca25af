// Statistics: report volumes over time, their comparison and change points, and queue
// figures, for monitoring dashboards. Read from the counters kept with every change
// (triage/volume_cells.h) on one snapshot; never from the reports.
//
// The caller's role decides what it sees (triage/small_counts.h): supervisors and admins
// exact counts; anyone else (monitors) has counts of 1..k-1 suppressed, each series with
// its total protected as a row, and figures that would give a suppressed count away
// (rates, percentiles of fewer than k durations) left out.
//
// Every call is audited (no report id: statistics read no report). Thread-safe.
#ifndef SAFEGUARDING_TRIAGE_STATISTICS_H_
#define SAFEGUARDING_TRIAGE_STATISTICS_H_

#include <cstdint>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "safeguarding/triage/v1/statistics.pb.h"
#include "storage/counter_reader.h"
#include "storage/report_store.h"
#include "triage/caller.h"
#include "triage/policy.h"
#include "triage/small_counts.h"
#include "triage/statistics_calendar.h"
#include "triage/statistics_groups.h"

namespace safeguarding::triage {

// The longest range a request may cover, in periods (GetVolumes) or days (the tests).
inline constexpr size_t kMaxStatisticsPeriods = 3700;
// The most groups x periods one answer may hold (e.g. 100 groups over 500 days).
inline constexpr size_t kMaxStatisticsCells = 50000;
// The most counter days one answer may read: counter groups read x UTC days of the range
// (a figure by region alone reads each region with every reporter type; 188 groups over a
// year is 68,620, about 60 ms here). Bounds a request's server time at about a second.
inline constexpr size_t kMaxStatisticsCounterDays = 1000000;

// A disclosed count as the contract carries it.
v1::Count CountOf(const DisclosedCount& c);

class Statistics {
 public:
  template <typename T>
  using Done = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;

  Statistics(const storage::ReportStore* store, const PolicyHolder* policy,
             const common::Clock* clock, uint64_t minimum_count = kDefaultMinimumCount)
      : store_(store), policy_(policy), clock_(clock), small_counts_(minimum_count) {}

  void GetVolumes(const Caller& caller, const v1::GetVolumesRequest& request,
                  Done<v1::GetVolumesResponse> done) const;
  void CompareVolumes(const Caller& caller, const v1::CompareVolumesRequest& request,
                      Done<v1::CompareVolumesResponse> done) const;
  void DetectShifts(const Caller& caller, const v1::DetectShiftsRequest& request,
                    Done<v1::DetectShiftsResponse> done) const;
  void GetQueueStatistics(const Caller& caller, const v1::GetQueueStatisticsRequest& request,
                          Done<v1::GetQueueStatisticsResponse> done) const;

  // The answers, unaudited (the methods above audit them).
  [[nodiscard]] absl::StatusOr<v1::GetVolumesResponse> Volumes(
      Disclosure disclosure, const v1::GetVolumesRequest& request) const;
  [[nodiscard]] absl::StatusOr<v1::CompareVolumesResponse> Compare(
      Disclosure disclosure, const v1::CompareVolumesRequest& request) const;
  [[nodiscard]] absl::StatusOr<v1::DetectShiftsResponse> Shifts(
      Disclosure disclosure, const v1::DetectShiftsRequest& request) const;
  [[nodiscard]] absl::StatusOr<v1::GetQueueStatisticsResponse> Queues(
      Disclosure disclosure, const v1::GetQueueStatisticsRequest& request) const;

  // What `caller` may see: exact for supervisors and admins, suppressed for anyone else.
  static Disclosure DisclosureFor(const Caller& caller);

 private:
  // Per output group of `plan`, the counts of each of `periods` (ascending).
  [[nodiscard]] absl::StatusOr<std::vector<std::vector<uint64_t>>> Sum(
      const storage::CounterReader& reader, const GroupPlan& plan,
      const std::vector<Period>& periods) const;

  const storage::ReportStore* const store_;
  const PolicyHolder* const policy_;
  const common::Clock* const clock_;
  const SmallCountPolicy small_counts_;
};

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_STATISTICS_H_
