#include "triage/statistics.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "triage/audit.h"
#include "triage/rate_statistics.h"
#include "triage/validation.h"

namespace safeguarding::triage {
namespace {

using google::protobuf::util::TimeUtil;

// 1970 to 2200: what a report's time can be, with room for ranges that end in the future.
constexpr int64_t kLatestSeconds = 7258118400;

// The time of a required timestamp field, or a violation.
absl::Time RequiredTime(bool present, const google::protobuf::Timestamp& t,
                        const std::string& field, FieldViolations& v) {
  if (!present) {
    v.Add(field, "required");
  } else if (t.seconds() < 0 || t.seconds() > kLatestSeconds || t.nanos() < 0 ||
             t.nanos() > 999999999) {
    v.Add(field, "must be between 1970 and 2200");
  } else {
    return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t));
  }
  return absl::UnixEpoch();
}

void CheckOrder(absl::Time start, absl::Time end, const std::string& end_field,
                FieldViolations& v) {
  if (v.empty() && end <= start) v.Add(end_field, "must be after the start");
}

// start_time and end_time of a request that has them: required, in order.
template <typename Request>
std::pair<absl::Time, absl::Time> RangeOf(const Request& request, FieldViolations& v) {
  const absl::Time start =
      RequiredTime(request.has_start_time(), request.start_time(), "start_time", v);
  const absl::Time end = RequiredTime(request.has_end_time(), request.end_time(), "end_time", v);
  CheckOrder(start, end, "end_time", v);
  return {start, end};
}

// The groups of a request, once every other field has been checked into `v`.
template <typename Request>
[[nodiscard]] absl::StatusOr<GroupPlan> PlanOf(const Request& request, const PolicyHolder& policy,
                                               const FieldViolations& v) {
  absl::StatusOr<GroupPlan> plan =
      PlanGroups(request.group_by(), request.filters(), request.measure(), *policy.Get());
  if (!v.empty()) return v.ToStatus();
  return plan;
}

double Alpha(double alpha, FieldViolations& v) {
  if (alpha == 0) return 0.05;
  if (!(alpha > 0 && alpha <= 0.5)) v.Add("alpha", "must be between 0 and 0.5 (default 0.05)");
  return alpha;
}

google::protobuf::Timestamp Timestamp(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

void SetGroup(const std::vector<v1::GroupKey>& keys,
              google::protobuf::RepeatedPtrField<v1::GroupKey>* out) {
  for (const v1::GroupKey& k : keys) *out->Add() = k;
}

uint64_t Total(const std::vector<uint64_t>& counts, size_t from = 0, size_t to = SIZE_MAX) {
  uint64_t total = 0;
  for (size_t i = from; i < counts.size() && i < to; ++i) total += counts[i];
  return total;
}

bool Small(uint64_t count, Disclosure d, const SmallCountPolicy& policy) {
  return policy.Disclose(count, d).suppressed;
}

v1::Verdict VerdictOf(RateVerdict verdict) {
  switch (verdict) {
    case RateVerdict::kStable:
      return v1::VERDICT_STABLE;
    case RateVerdict::kSignificantRise:
      return v1::VERDICT_SIGNIFICANT_RISE;
    case RateVerdict::kSignificantDrop:
      return v1::VERDICT_SIGNIFICANT_DROP;
    case RateVerdict::kInsufficientData:
      break;
  }
  return v1::VERDICT_INSUFFICIENT_DATA;
}

std::string MethodOf(RateTest test) {
  switch (test) {
    case RateTest::kQuasiPoisson:
      return "quasi-poisson";
    case RateTest::kExactBinomial:
      return "exact-binomial";
    case RateTest::kNone:
      break;
  }
  return "";
}

std::vector<DailyCount> Daily(const std::vector<Period>& days, const std::vector<uint64_t>& counts,
                              size_t from, size_t to) {
  std::vector<DailyCount> daily;
  daily.reserve(to - from);
  for (size_t i = from; i < to; ++i) daily.push_back({WeekdayIndex(days[i].first_day), counts[i]});
  return daily;
}

void CheckPeriods(const std::vector<Period>& baseline, const std::vector<Period>& comparison,
                  FieldViolations& v) {
  if (baseline.empty()) v.Add("baseline_end", "the baseline holds no whole day that is over");
  if (comparison.empty()) {
    v.Add("comparison_end", "the comparison holds no whole day that is over");
  }
  if (!baseline.empty() && !comparison.empty() && baseline.front().start < comparison.back().end &&
      comparison.front().start < baseline.back().end) {
    v.Add("comparison_start", "the periods overlap");
  }
  if (baseline.size() > kMaxStatisticsPeriods || comparison.size() > kMaxStatisticsPeriods) {
    v.Add("baseline_start", absl::StrCat("a period is at most ", kMaxStatisticsPeriods, " days"));
  }
}

void Describe(const RateComparison& rc, Disclosure disclosure, const SmallCountPolicy& small,
              v1::GroupComparison& out) {
  *out.mutable_baseline_count() = CountOf(small.Disclose(rc.baseline_total, disclosure));
  *out.mutable_comparison_count() = CountOf(small.Disclose(rc.comparison_total, disclosure));
  out.set_verdict(VerdictOf(rc.verdict));
  out.set_method(MethodOf(rc.test));
  if (out.baseline_count().suppressed() || out.comparison_count().suppressed()) {
    out.set_figures_suppressed(true);  // rates times days would give the counts away
    return;
  }
  out.set_baseline_daily_rate(rc.baseline_daily_rate);
  out.set_comparison_daily_rate(rc.comparison_daily_rate);
  out.set_percent_change(rc.percent_change);
  out.set_p_value(rc.p_value);
  out.set_dispersion(rc.test == RateTest::kNone ? 0 : rc.dispersion);
}

}  // namespace

v1::Count CountOf(const DisclosedCount& c) {
  v1::Count count;
  count.set_value(c.value);
  count.set_suppressed(c.suppressed);
  return count;
}

Disclosure Statistics::DisclosureFor(const Caller& caller) {
  if (caller.role == v1::ROLE_SUPERVISOR || caller.role == v1::ROLE_ADMIN) {
    return Disclosure::kExact;
  }
  return Disclosure::kSuppressSmallCounts;  // fails closed
}

absl::StatusOr<std::vector<std::vector<uint64_t>>> Statistics::Sum(
    const storage::CounterReader& reader, const GroupPlan& plan,
    const std::vector<Period>& periods) const {
  if (plan.outputs.size() * std::max<size_t>(periods.size(), 1) > kMaxStatisticsCells) {
    FieldViolations v;
    v.Add("group_by", absl::StrCat("at most ", kMaxStatisticsCells,
                                   " groups x periods per answer: narrow the range or the groups"));
    return v.ToStatus();
  }
  const PeriodSums empty(periods);
  const size_t days = static_cast<size_t>(
      std::max<int64_t>(0, int64_t{empty.last_utc_day()} - empty.first_utc_day() + 1));
  if (plan.reads.size() * days > kMaxStatisticsCounterDays) {
    FieldViolations v;
    v.Add("group_by",
          absl::StrCat("at most ", kMaxStatisticsCounterDays, " counter days per answer (",
                       plan.reads.size(), " counter groups x ", days,
                       " days asked): narrow the range or the groups"));
    return v.ToStatus();
  }
  std::vector<PeriodSums> sums(plan.outputs.size(), empty);
  for (const GroupPlan::Read& read : plan.reads) {
    PeriodSums& s = sums[read.output];
    absl::Status scanned = reader.Scan(
        plan.series, read.group, s.first_utc_day(), s.last_utc_day(),
        [&s](int32_t day, const std::vector<uint64_t>& cells) { s.AddDay(day, cells); });
    if (!scanned.ok()) return scanned;
  }
  std::vector<std::vector<uint64_t>> out;
  out.reserve(sums.size());
  for (PeriodSums& s : sums) out.push_back(std::move(s.mutable_sums()));
  return out;
}

absl::StatusOr<v1::GetVolumesResponse> Statistics::Volumes(
    Disclosure disclosure, const v1::GetVolumesRequest& request) const {
  FieldViolations v;
  const auto [start, end] = RangeOf(request, v);
  v1::Granularity granularity = request.granularity();
  if (granularity == v1::GRANULARITY_UNSPECIFIED) granularity = v1::GRANULARITY_DAY;
  if (!v1::Granularity_IsValid(granularity)) v.Add("granularity", "not a granularity");
  const absl::TimeZone zone = RequestZone(request.time_zone(), "time_zone", v);
  absl::StatusOr<GroupPlan> plan = PlanOf(request, *policy_, v);
  if (!plan.ok()) return plan.status();
  absl::StatusOr<std::vector<Period>> periods =
      PeriodsOverlapping(start, end, granularity, zone, kMaxStatisticsPeriods);
  if (!periods.ok()) {
    v.Add("end_time", std::string(periods.status().message()));
    return v.ToStatus();
  }
  storage::CounterReader reader(store_->engine());
  absl::StatusOr<std::vector<std::vector<uint64_t>>> sums = Sum(reader, *plan, *periods);
  if (!sums.ok()) return sums.status();
  v1::GetVolumesResponse response;
  for (size_t g = 0; g < plan->outputs.size(); ++g) {
    const std::vector<uint64_t>& counts = (*sums)[g];
    if (Total(counts) == 0) continue;  // groups without a report in the range are left out
    const SmallCountPolicy::Row row = small_counts_.DiscloseRow(counts, disclosure);
    v1::VolumeSeries& series = *response.add_series();
    SetGroup(plan->outputs[g], series.mutable_group());
    for (size_t i = 0; i < periods->size(); ++i) {
      v1::VolumePoint& point = *series.add_points();
      *point.mutable_period_start() = Timestamp((*periods)[i].start);
      *point.mutable_count() = CountOf(row.cells[i]);
    }
    *series.mutable_total() = CountOf(row.total);
  }
  return response;
}

absl::StatusOr<v1::CompareVolumesResponse> Statistics::Compare(
    Disclosure disclosure, const v1::CompareVolumesRequest& request) const {
  FieldViolations v;
  const absl::Time bs =
      RequiredTime(request.has_baseline_start(), request.baseline_start(), "baseline_start", v);
  const absl::Time be =
      RequiredTime(request.has_baseline_end(), request.baseline_end(), "baseline_end", v);
  const absl::Time cs = RequiredTime(request.has_comparison_start(), request.comparison_start(),
                                     "comparison_start", v);
  const absl::Time ce =
      RequiredTime(request.has_comparison_end(), request.comparison_end(), "comparison_end", v);
  CheckOrder(bs, be, "baseline_end", v);
  CheckOrder(cs, ce, "comparison_end", v);
  const double alpha = Alpha(request.alpha(), v);
  const absl::TimeZone zone = RequestZone(request.time_zone(), "time_zone", v);
  absl::StatusOr<GroupPlan> plan = PlanOf(request, *policy_, v);
  if (!plan.ok()) return plan.status();
  const absl::Time now = clock_->Now();
  const std::vector<Period> baseline = WholeDays(bs, be, now, zone);
  const std::vector<Period> comparison = WholeDays(cs, ce, now, zone);
  CheckPeriods(baseline, comparison, v);
  if (!v.empty()) return v.ToStatus();
  // One scan per group over both periods, in time order.
  const bool baseline_first = baseline.front().start < comparison.front().start;
  std::vector<Period> days = baseline_first ? baseline : comparison;
  days.insert(days.end(), (baseline_first ? comparison : baseline).begin(),
              (baseline_first ? comparison : baseline).end());
  const size_t split = baseline_first ? baseline.size() : comparison.size();
  storage::CounterReader reader(store_->engine());
  absl::StatusOr<std::vector<std::vector<uint64_t>>> sums = Sum(reader, *plan, days);
  if (!sums.ok()) return sums.status();
  v1::CompareVolumesResponse response;
  for (size_t g = 0; g < plan->outputs.size(); ++g) {
    const std::vector<uint64_t>& counts = (*sums)[g];
    if (Total(counts) == 0) continue;
    std::vector<DailyCount> first = Daily(days, counts, 0, split);
    std::vector<DailyCount> second = Daily(days, counts, split, days.size());
    const RateComparison rc =
        baseline_first ? CompareRates(first, second, alpha) : CompareRates(second, first, alpha);
    v1::GroupComparison& out = *response.add_groups();
    SetGroup(plan->outputs[g], out.mutable_group());
    out.set_baseline_days(static_cast<int32_t>(baseline.size()));
    out.set_comparison_days(static_cast<int32_t>(comparison.size()));
    Describe(rc, disclosure, small_counts_, out);
  }
  return response;
}

absl::StatusOr<v1::DetectShiftsResponse> Statistics::Shifts(
    Disclosure disclosure, const v1::DetectShiftsRequest& request) const {
  FieldViolations v;
  const auto [start, end] = RangeOf(request, v);
  const double alpha = Alpha(request.alpha(), v);
  const absl::TimeZone zone = RequestZone(request.time_zone(), "time_zone", v);
  absl::StatusOr<GroupPlan> plan = PlanOf(request, *policy_, v);
  if (!plan.ok()) return plan.status();
  const std::vector<Period> days = WholeDays(start, end, clock_->Now(), zone);
  if (days.size() > kMaxStatisticsPeriods) {
    v.Add("end_time", absl::StrCat("the range is at most ", kMaxStatisticsPeriods, " days"));
    return v.ToStatus();
  }
  storage::CounterReader reader(store_->engine());
  absl::StatusOr<std::vector<std::vector<uint64_t>>> sums = Sum(reader, *plan, days);
  if (!sums.ok()) return sums.status();
  v1::DetectShiftsResponse response;
  for (size_t g = 0; g < plan->outputs.size(); ++g) {
    const std::vector<uint64_t>& counts = (*sums)[g];
    const uint64_t total = Total(counts);
    if (total == 0) continue;
    const RateShift shift = DetectShift(Daily(days, counts, 0, days.size()), alpha);
    v1::GroupShift& out = *response.add_groups();
    SetGroup(plan->outputs[g], out.mutable_group());
    *out.mutable_total() = CountOf(small_counts_.Disclose(total, disclosure));
    out.set_days(static_cast<int32_t>(days.size()));
    out.set_insufficient_data(!shift.tested);
    if (!shift.tested) continue;
    out.set_shift_detected(shift.found);
    *out.mutable_change_date() = Timestamp(days[shift.first_day_after].start);
    const uint64_t before = Total(counts, 0, shift.first_day_after);
    if (out.total().suppressed() || Small(before, disclosure, small_counts_) ||
        Small(total - before, disclosure, small_counts_)) {
      out.set_figures_suppressed(true);
      continue;
    }
    out.set_rate_before(shift.rate_before);
    out.set_rate_after(shift.rate_after);
    out.set_relative_change(shift.relative_change);
    out.set_p_value(shift.p_value);
  }
  return response;
}

void Statistics::GetVolumes(const Caller& caller, const v1::GetVolumesRequest& request,
                            Done<v1::GetVolumesResponse> done) const {
  FinishAudited(store_->audit(), caller, "", Volumes(DisclosureFor(caller), request),
                std::move(done));
}

void Statistics::CompareVolumes(const Caller& caller, const v1::CompareVolumesRequest& request,
                                Done<v1::CompareVolumesResponse> done) const {
  FinishAudited(store_->audit(), caller, "", Compare(DisclosureFor(caller), request),
                std::move(done));
}

void Statistics::DetectShifts(const Caller& caller, const v1::DetectShiftsRequest& request,
                              Done<v1::DetectShiftsResponse> done) const {
  FinishAudited(store_->audit(), caller, "", Shifts(DisclosureFor(caller), request),
                std::move(done));
}

void Statistics::GetQueueStatistics(const Caller& caller,
                                    const v1::GetQueueStatisticsRequest& request,
                                    Done<v1::GetQueueStatisticsResponse> done) const {
  FinishAudited(store_->audit(), caller, "", Queues(DisclosureFor(caller), request),
                std::move(done));
}

}  // namespace safeguarding::triage
