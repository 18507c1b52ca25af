#include "triage/statistics_calendar.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "triage/validation.h"
#include "triage/volume_cells.h"

namespace safeguarding::triage {

absl::TimeZone RequestZone(absl::string_view name, absl::string_view field, FieldViolations& v) {
  absl::TimeZone zone = absl::UTCTimeZone();
  if (name.empty()) return zone;
  // LoadTimeZone reads a file under the zoneinfo directory: only names of zones, no paths.
  const bool plain = name.size() <= 64 && !absl::StrContains(name, "..") && name.front() != '/' &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '/' ||
                              c == '_' || c == '-' || c == '+';
                     });
  if (!plain || !absl::LoadTimeZone(std::string(name), &zone)) {
    v.Add(std::string(field), "not an IANA time zone name (e.g. \"Europe/London\" or \"UTC\")");
    return absl::UTCTimeZone();
  }
  return zone;
}

absl::Time LocalMidnight(absl::CivilDay day, const absl::TimeZone& zone) {
  const absl::TimeZone::TimeInfo info = zone.At(absl::CivilSecond(day));
  return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
}

int WeekdayIndex(absl::CivilDay day) {
  switch (absl::GetWeekday(day)) {
    case absl::Weekday::monday:
      return 0;
    case absl::Weekday::tuesday:
      return 1;
    case absl::Weekday::wednesday:
      return 2;
    case absl::Weekday::thursday:
      return 3;
    case absl::Weekday::friday:
      return 4;
    case absl::Weekday::saturday:
      return 5;
    case absl::Weekday::sunday:
      return 6;
  }
  return 0;
}

absl::CivilDay PeriodFirstDay(absl::CivilDay day, v1::Granularity granularity) {
  switch (granularity) {
    case v1::GRANULARITY_WEEK:
      return day - WeekdayIndex(day);
    case v1::GRANULARITY_MONTH:
      return absl::CivilDay(absl::CivilMonth(day));
    default:
      return day;
  }
}

absl::CivilDay NextPeriodFirstDay(absl::CivilDay first, v1::Granularity granularity) {
  switch (granularity) {
    case v1::GRANULARITY_WEEK:
      return first + 7;
    case v1::GRANULARITY_MONTH:
      return absl::CivilDay(absl::CivilMonth(first) + 1);
    default:
      return first + 1;
  }
}

absl::StatusOr<std::vector<Period>> PeriodsOverlapping(absl::Time start, absl::Time end,
                                                       v1::Granularity granularity,
                                                       const absl::TimeZone& zone,
                                                       size_t max_periods) {
  std::vector<Period> periods;
  absl::CivilDay first = PeriodFirstDay(absl::ToCivilDay(start, zone), granularity);
  while (true) {
    const absl::Time period_start = LocalMidnight(first, zone);
    if (period_start >= end) break;
    if (periods.size() == max_periods) {
      return absl::InvalidArgumentError(
          absl::StrCat("the range holds more than ", max_periods, " periods"));
    }
    const absl::CivilDay next = NextPeriodFirstDay(first, granularity);
    periods.push_back({period_start, LocalMidnight(next, zone), first});
    first = next;
  }
  return periods;
}

std::vector<Period> WholeDays(absl::Time start, absl::Time end, absl::Time now,
                              const absl::TimeZone& zone) {
  std::vector<Period> days;
  const absl::CivilDay last = absl::ToCivilDay(end, zone);  // excluded
  for (absl::CivilDay d = absl::ToCivilDay(start, zone); d < last; ++d) {
    const absl::Time day_end = LocalMidnight(d + 1, zone);
    if (day_end > now) break;
    days.push_back({LocalMidnight(d, zone), day_end, d});
  }
  return days;
}

PeriodSums::PeriodSums(const std::vector<Period>& periods) : sums_(periods.size(), 0) {
  if (periods.empty()) return;
  starts_.reserve(periods.size());
  ends_.reserve(periods.size());
  for (const Period& p : periods) {
    starts_.push_back(absl::ToUnixSeconds(p.start));
    ends_.push_back(absl::ToUnixSeconds(p.end));
  }
  first_day_ = UtcDay(periods.front().start);
  last_day_ = UtcDay(periods.back().end - absl::Seconds(1));
}

void PeriodSums::AddDay(int32_t utc_day, const std::vector<uint64_t>& cells) {
  if (starts_.empty()) return;
  const int64_t day_start = int64_t{utc_day} * 86400;
  const int64_t hours = static_cast<int64_t>(std::min<size_t>(cells.size(), 24));
  // Days come in ascending order within a group: start from the last period used.
  if (hint_ >= starts_.size() || starts_[hint_] > day_start) {
    const auto after = std::upper_bound(starts_.begin(), starts_.end(), day_start);
    hint_ = after == starts_.begin() ? 0 : static_cast<size_t>(after - starts_.begin()) - 1;
  }
  // The hours of the day fall into a few runs, one per period (a local day boundary splits
  // a UTC day in two); each run is summed in one loop.
  for (int64_t h = 0; h < hours;) {
    const int64_t at = day_start + h * 3600;
    if (at >= ends_.back()) break;
    if (at < starts_.front()) {
      h = std::min(hours, (starts_.front() - day_start + 3599) / 3600);
      continue;
    }
    while (hint_ + 1 < starts_.size() && starts_[hint_ + 1] <= at) ++hint_;
    if (at >= ends_[hint_]) {  // in a gap between periods: on to the next period's start
      h = hint_ + 1 < starts_.size()
              ? std::min(hours, (starts_[hint_ + 1] - day_start + 3599) / 3600)
              : hours;
      continue;
    }
    const int64_t run_end = std::min(hours, (ends_[hint_] - day_start + 3599) / 3600);
    uint64_t sum = 0;
    for (; h < run_end; ++h) sum += cells[static_cast<size_t>(h)];
    sums_[hint_] += sum;
  }
}

}  // namespace safeguarding::triage
