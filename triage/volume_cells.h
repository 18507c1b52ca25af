// The counter cells a report adds to, for the statistics: hourly counts per group, kept in
// the counters family (storage/counter_keys.h, storage/counter_cells.h) and written in the
// same batch as the report.
//
// A report counts in: the group of all reports; one group per (dimension, value) it has
// (reporter type, professional role if a professional, priority, each category, region,
// each channel, child age band, queue, source); and the pairs of its reporter type with each
// value of every other dimension (what a dashboard needs to see, e.g., professionals' reports
// by region). Dimensions are the contract's Dimension numbers; enum values are written as
// their numbers, region and queue as themselves ("" for no region). The key names the UTC
// day, the cell the hour of that day.
#ifndef SAFEGUARDING_TRIAGE_VOLUME_CELLS_H_
#define SAFEGUARDING_TRIAGE_VOLUME_CELLS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "safeguarding/triage/v1/report.pb.h"
#include "storage/counter_keys.h"
#include "storage/mutation.h"

namespace safeguarding::triage {

namespace v1 = ::safeguarding::triage::v1;

// Series of the counters family.
inline constexpr uint8_t kReceivedSeries = 1;  // reports, by the hour they were received

// The child age band: "0-4", "5-7", "8-10", "11-13", "14-17", or "unknown".
std::string AgeBand(const v1::ReportSubmission& submission);

// Every (dimension, value) of `report`; categories and channels give one each.
std::vector<storage::GroupPart> DimensionValues(const v1::Report& report);

// The groups `report` counts in (see above).
std::vector<std::vector<storage::GroupPart>> GroupsOf(const v1::Report& report);

// The UTC day (days since 1970-01-01) and hour of that day of `t`.
int32_t UtcDay(absl::Time t);
uint16_t UtcHour(absl::Time t);

// The cells a received report adds one to: every group of GroupsOf, at the day and hour it
// was received.
std::vector<storage::Mutation::CellCount> ReceivedCells(const v1::Report& report);

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_VOLUME_CELLS_H_
