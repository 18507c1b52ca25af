// The counter cells reports add to, for the statistics: hourly counts per group and hourly
// duration distributions, kept in the statistics family (storage/counter_keys.h,
// storage/counter_cells.h) and written in the same batch as the change they count.
//
// Series:
//   received       a report, at the UTC day and hour it was received (its original time
//                  when imported), with its first assessment (priority, queue).
//   decided        a decision, at the day and hour it was made, with the assessment it was
//                  decided under and its outcome.
//   wait           per UTC hour of a decision: a log-spaced histogram (DurationBucket) of
//                  the decided report's wait from receipt to its first claim, by queue and
//                  priority. Keyed by the hour (hours since 1970) instead of the day.
//   decision time  as wait, for the time from receipt to the decision.
//   sla breaches   decisions made after the report's due time, by day and hour, by queue
//                  and priority.
// Wait and decision time are both counted when the report is decided, so the percentiles
// of a window describe one population (the reports decided in it), and a recount from the
// reports (first_claim_time, closed_time) reproduces every cell.
//
// A report (or decision) counts in: the group of all; the group of its reporter type; and
// the pairs of its reporter type with each value of every other dimension it has
// (professional role if a professional, priority, each category, region, each channel,
// child age band, queue, source, and for decisions the outcome). A count by one of those
// other dimensions alone (e.g. by region) is the sum of its pairs over the reporter types
// (PlanGroups reads them): every counted report has a reporter type (validation requires
// one), so the sum is exact, and a submit writes about half as many keys (12, not 23). Dimensions
// are the contract's Dimension numbers; enum values are written as their numbers, queue as
// itself and region as the policy names it for statistics (TriagePolicy::StatisticsRegion).
// Stores of schema 2 also kept those single-dimension groups; opening one deletes them
// (storage::kSingleGroupDimension).
#ifndef SAFEGUARDING_TRIAGE_VOLUME_CELLS_H_
#define SAFEGUARDING_TRIAGE_VOLUME_CELLS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "safeguarding/triage/v1/report.pb.h"
#include "safeguarding/triage/v1/statistics.pb.h"
#include "storage/cell_counts.h"
#include "storage/counter_keys.h"

namespace safeguarding::triage {

// Series of the statistics family.
inline constexpr uint8_t kReceivedSeries = 1;
inline constexpr uint8_t kDecidedSeries = 2;
inline constexpr uint8_t kWaitSeries = 3;          // keyed by hour
inline constexpr uint8_t kDecisionTimeSeries = 4;  // keyed by hour
inline constexpr uint8_t kSlaBreachSeries = 5;
// The storage layer's upgrade from schema 2 deletes the single-dimension groups of these
// series other than the reporter type's (storage/counter_keys.h).
static_assert(kReceivedSeries == storage::kFirstCountSeries &&
              kDecidedSeries == storage::kLastCountSeries);
static_assert(v1::DIMENSION_REPORTER_TYPE == storage::kSingleGroupDimension);

// Distribution buckets: 0 holds durations under 1 s; bucket b >= 1 holds
// [2^((b-1)/4), 2^(b/4)) seconds (four per doubling, so a percentile read from the
// buckets is within 19% of the true value); the last bucket holds everything from
// 2^(94/4) s (about 137 days) on.
inline constexpr uint16_t kDurationBuckets = 96;
uint16_t DurationBucket(absl::Duration d);
// The bucket's bounds; the upper bound of the last is InfiniteDuration.
absl::Duration BucketLowerBound(uint16_t bucket);
absl::Duration BucketUpperBound(uint16_t bucket);

// The child age band: "0-4", "5-7", "8-10", "11-13", "14-17", or "unknown".
std::string AgeBand(const v1::ReportSubmission& submission);

// The UTC day (days since 1970-01-01) and hour of that day of `t`; hours since 1970.
int32_t UtcDay(absl::Time t);
uint16_t UtcHour(absl::Time t);
int32_t UtcHourNumber(absl::Time t);

// The cells a received report adds one to: every group, at the day and hour it was received.
storage::CellCounts ReceivedCells(const v1::Report& report, absl::string_view statistics_region);

// The cells a decision adds to: `report` as decided (CLOSED: outcome, closed_time, the
// triage it was decided under; first_claim_time if it was claimed), its region as
// statistics name it.
storage::CellCounts DecidedCells(const v1::Report& report, absl::string_view statistics_region);

// The group of the duration and breach series.
std::vector<storage::GroupPart> QueuePriorityGroup(absl::string_view queue, v1::Priority priority);

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_VOLUME_CELLS_H_
