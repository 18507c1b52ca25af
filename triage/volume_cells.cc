#include "triage/volume_cells.h"

#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "safeguarding/triage/v1/statistics.pb.h"

namespace safeguarding::triage {
namespace {

using google::protobuf::util::TimeUtil;

storage::GroupPart Part(v1::Dimension dimension, std::string value) {
  return {static_cast<uint8_t>(dimension), std::move(value)};
}

std::string Number(int value) { return absl::StrCat(value); }

constexpr int64_t kSecondsPerDay = 86400;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t));
}

// Adds one to every group of `values` in `series` at `t`'s day and hour. Each value is
// encoded once and every key built at its final size (the hot path of a submit: about 23
// keys).
void AddGroupCells(uint8_t series, const std::vector<storage::GroupPart>& values, absl::Time t,
                   std::vector<storage::Mutation::CellCount>& cells) {
  const int32_t day = UtcDay(t);
  const uint16_t hour = UtcHour(t);
  // A value over 255 bytes has no key (validation bounds them): its groups are left out.
  std::vector<std::optional<std::string>> parts;
  parts.reserve(values.size());
  for (const storage::GroupPart& v : values) parts.push_back(storage::EncodeGroupPart(v));
  cells.push_back({storage::KeyOfParts(series, {}, day), hour, 1});
  for (const std::optional<std::string>& part : parts) {
    if (part) cells.push_back({storage::KeyOfParts(series, {*part}, day), hour, 1});
  }
  for (size_t i = 1; i < parts.size() && parts.front(); ++i) {  // reporter type with each
    if (parts[i]) {
      cells.push_back({storage::KeyOfParts(series, {*parts.front(), *parts[i]}, day), hour, 1});
    }
  }
}

}  // namespace

uint16_t DurationBucket(absl::Duration d) {
  const double seconds = absl::ToDoubleSeconds(d);
  if (!(seconds >= 1)) return 0;  // also NaN and negative
  const double b = 1 + std::floor(4 * std::log2(seconds));
  if (b >= kDurationBuckets - 1) return kDurationBuckets - 1;
  return static_cast<uint16_t>(b);
}

absl::Duration BucketLowerBound(uint16_t bucket) {
  if (bucket == 0) return absl::ZeroDuration();
  return absl::Seconds(std::exp2((bucket - 1) / 4.0));
}

absl::Duration BucketUpperBound(uint16_t bucket) {
  if (bucket >= kDurationBuckets - 1) return absl::InfiniteDuration();
  return absl::Seconds(std::exp2(bucket / 4.0));
}

std::string AgeBand(const v1::ReportSubmission& submission) {
  if (!submission.has_child_age()) return "unknown";
  const int age = submission.child_age();
  if (age < 0 || age > 17) return "unknown";
  if (age <= 4) return "0-4";
  if (age <= 7) return "5-7";
  if (age <= 10) return "8-10";
  if (age <= 13) return "11-13";
  return "14-17";
}

std::vector<storage::GroupPart> DimensionValues(const v1::Report& report,
                                                absl::string_view statistics_region) {
  const v1::ReportSubmission& s = report.submission();
  std::vector<storage::GroupPart> values;
  values.reserve(12);
  values.push_back(Part(v1::DIMENSION_REPORTER_TYPE, Number(s.reporter().type())));
  if (s.reporter().type() == v1::REPORTER_TYPE_PROFESSIONAL) {
    values.push_back(
        Part(v1::DIMENSION_PROFESSIONAL_ROLE, Number(s.reporter().professional_role())));
  }
  values.push_back(Part(v1::DIMENSION_PRIORITY, Number(report.triage().priority())));
  for (int category : s.categories()) {
    values.push_back(Part(v1::DIMENSION_CATEGORY, Number(category)));
  }
  values.push_back(Part(v1::DIMENSION_REGION, std::string(statistics_region)));
  for (int channel : s.channels()) values.push_back(Part(v1::DIMENSION_CHANNEL, Number(channel)));
  values.push_back(Part(v1::DIMENSION_CHILD_AGE_BAND, AgeBand(s)));
  values.push_back(Part(v1::DIMENSION_QUEUE, report.triage().queue()));
  values.push_back(Part(v1::DIMENSION_SOURCE, Number(report.source())));
  if (report.outcome() != v1::OUTCOME_UNSPECIFIED) {
    values.push_back(Part(v1::DIMENSION_OUTCOME, Number(report.outcome())));
  }
  return values;
}

std::vector<std::vector<storage::GroupPart>> GroupsOf(
    const std::vector<storage::GroupPart>& values) {
  std::vector<std::vector<storage::GroupPart>> groups;
  groups.push_back({});  // all reports
  for (const storage::GroupPart& v : values) groups.push_back({v});
  for (size_t i = 1; i < values.size(); ++i) groups.push_back({values.front(), values[i]});
  return groups;
}

int32_t UtcDay(absl::Time t) {
  return static_cast<int32_t>(FloorDiv(absl::ToUnixSeconds(t), kSecondsPerDay));
}

uint16_t UtcHour(absl::Time t) {
  const int64_t seconds = absl::ToUnixSeconds(t) - int64_t{UtcDay(t)} * kSecondsPerDay;
  return static_cast<uint16_t>(seconds / 3600);
}

int32_t UtcHourNumber(absl::Time t) {
  return static_cast<int32_t>(FloorDiv(absl::ToUnixSeconds(t), 3600));
}

std::vector<storage::GroupPart> QueuePriorityGroup(absl::string_view queue, v1::Priority priority) {
  return {Part(v1::DIMENSION_QUEUE, std::string(queue)),
          Part(v1::DIMENSION_PRIORITY, Number(priority))};
}

std::vector<storage::Mutation::CellCount> ReceivedCells(const v1::Report& report,
                                                        absl::string_view statistics_region) {
  std::vector<storage::Mutation::CellCount> cells;
  cells.reserve(24);
  AddGroupCells(kReceivedSeries, DimensionValues(report, statistics_region),
                TimeOf(report.received_time()), cells);
  return cells;
}

std::vector<storage::Mutation::CellCount> DecidedCells(const v1::Report& report,
                                                       absl::string_view statistics_region) {
  std::vector<storage::Mutation::CellCount> cells;
  cells.reserve(30);
  const absl::Time received = TimeOf(report.received_time());
  const absl::Time decided = TimeOf(report.closed_time());
  AddGroupCells(kDecidedSeries, DimensionValues(report, statistics_region), decided, cells);
  const std::vector<storage::GroupPart> group =
      QueuePriorityGroup(report.triage().queue(), report.triage().priority());
  const int32_t hour = UtcHourNumber(decided);
  auto add = [&](uint8_t series, int32_t when, uint16_t index) {
    std::optional<std::string> key = storage::CounterKey(series, group, when);
    if (key) cells.push_back({*std::move(key), index, 1});
  };
  if (report.has_first_claim_time()) {
    add(kWaitSeries, hour, DurationBucket(TimeOf(report.first_claim_time()) - received));
  }
  add(kDecisionTimeSeries, hour, DurationBucket(decided - received));
  if (report.triage().has_due_time() && decided > TimeOf(report.triage().due_time())) {
    add(kSlaBreachSeries, UtcDay(decided), UtcHour(decided));
  }
  return cells;
}

}  // namespace safeguarding::triage
