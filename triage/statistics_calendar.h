// The calendar of the statistics: cutting time into days, ISO weeks and months in an IANA
// time zone, and summing the hourly counters (kept per UTC hour) into those periods.
//
// A period starts at local midnight (the first instant of its first day: where a zone skips
// midnight, the instant the day begins). Days are 23, 24 or 25 hours long around daylight-
// saving changes. A UTC hour is counted in the period its first instant falls in, which is
// exact for every zone whose offsets are whole hours (all of Europe); in a zone with a
// half-hour offset the hour that straddles midnight counts in the day it begins in.
//
// Pure functions; no clock, no storage.
#ifndef SAFEGUARDING_TRIAGE_STATISTICS_CALENDAR_H_
#define SAFEGUARDING_TRIAGE_STATISTICS_CALENDAR_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "safeguarding/triage/v1/statistics.pb.h"
#include "triage/validation.h"

namespace safeguarding::triage {

struct Period {
  absl::Time start;  // local midnight of its first day
  absl::Time end;    // the next period's start
  absl::CivilDay first_day;
};

// The zone of a request: "" is UTC; an unknown name adds a violation naming `field` (and
// gives UTC).
absl::TimeZone RequestZone(absl::string_view name, absl::string_view field, FieldViolations& v);

// The first instant of `day` in `zone`.
absl::Time LocalMidnight(absl::CivilDay day, const absl::TimeZone& zone);
// 0 Monday .. 6 Sunday.
int WeekdayIndex(absl::CivilDay day);
// The first day of the day, ISO week (Monday) or month containing `day`.
absl::CivilDay PeriodFirstDay(absl::CivilDay day, v1::Granularity granularity);
// The first day of the next period after the one starting at `first`.
absl::CivilDay NextPeriodFirstDay(absl::CivilDay first, v1::Granularity granularity);

// The periods overlapping [start, end): start rounded down to its period's start, end up to
// its period's end; at most `max_periods` (more: INVALID_ARGUMENT). start < end.
[[nodiscard]] absl::StatusOr<std::vector<Period>> PeriodsOverlapping(absl::Time start,
                                                                     absl::Time end,
                                                                     v1::Granularity granularity,
                                                                     const absl::TimeZone& zone,
                                                                     size_t max_periods);

// The whole local days from the day containing `start` up to the day containing `end`
// (excluded: a range ending at midnight ends with the day before), leaving out days that
// end after `now` (not yet complete).
std::vector<Period> WholeDays(absl::Time start, absl::Time end, absl::Time now,
                              const absl::TimeZone& zone);

// Adds hourly counters into periods.
class PeriodSums {
 public:
  // `periods` ascending and not overlapping.
  explicit PeriodSums(const std::vector<Period>& periods);
  // The UTC days to read: every day with an hour in one of the periods.
  int32_t first_utc_day() const { return first_day_; }
  int32_t last_utc_day() const { return last_day_; }
  // One stored cell array: hour h of UTC day `utc_day` holds cells[h].
  void AddDay(int32_t utc_day, const std::vector<uint64_t>& cells);
  const std::vector<uint64_t>& sums() const { return sums_; }
  std::vector<uint64_t>& mutable_sums() { return sums_; }

 private:
  std::vector<int64_t> starts_;  // unix seconds of each period's start, ascending
  std::vector<int64_t> ends_;    // and end (periods may leave gaps between them)
  int32_t first_day_ = 0;
  int32_t last_day_ = -1;
  std::vector<uint64_t> sums_;
  size_t hint_ = 0;  // the period AddDay ended in
};

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_STATISTICS_CALENDAR_H_
