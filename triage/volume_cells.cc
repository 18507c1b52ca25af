#include "triage/volume_cells.h"

#include <cmath>
#include <optional>
#include <string>

#include "absl/container/inlined_vector.h"
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

// Every (dimension, value) of `report` as a key holds it (storage::AppendGroupPart), one
// after another in `encoded`, with where each ends: its triage (priority, queue), each
// category and channel, the outcome only when it has one; the reporter type first. A
// value over 255 bytes has no key (validation bounds them) and an empty encoding: its
// groups are left out.
struct EncodedValues {
  std::string encoded;
  absl::InlinedVector<size_t, 16> ends;

  void Add(v1::Dimension dimension, absl::string_view value) {
    storage::AppendGroupPart(&encoded, static_cast<uint8_t>(dimension), value);
    ends.push_back(encoded.size());
  }
  void Add(v1::Dimension dimension, int value) { Add(dimension, absl::AlphaNum(value).Piece()); }
};

EncodedValues DimensionValues(const v1::Report& report, absl::string_view statistics_region) {
  const v1::ReportSubmission& s = report.submission();
  EncodedValues values;
  values.encoded.reserve(128);
  values.Add(v1::DIMENSION_REPORTER_TYPE, s.reporter().type());
  if (s.reporter().type() == v1::REPORTER_TYPE_PROFESSIONAL) {
    values.Add(v1::DIMENSION_PROFESSIONAL_ROLE, s.reporter().professional_role());
  }
  values.Add(v1::DIMENSION_PRIORITY, report.triage().priority());
  for (int category : s.categories()) values.Add(v1::DIMENSION_CATEGORY, category);
  values.Add(v1::DIMENSION_REGION, statistics_region);
  for (int channel : s.channels()) values.Add(v1::DIMENSION_CHANNEL, channel);
  values.Add(v1::DIMENSION_CHILD_AGE_BAND, AgeBand(s));
  values.Add(v1::DIMENSION_QUEUE, report.triage().queue());
  values.Add(v1::DIMENSION_SOURCE, report.source());
  if (report.outcome() != v1::OUTCOME_UNSPECIFIED) {
    values.Add(v1::DIMENSION_OUTCOME, report.outcome());
  }
  return values;
}

// Adds one to every group of `values` in `series` at `t`'s day and hour: all reports, the
// reporter type (the first value), and the reporter type with each other value. The hot
// path of a submit (about 12 keys): each value was encoded once, and each key is built in
// place in `cells`' buffer.
void AddGroupCells(uint8_t series, const EncodedValues& values, absl::Time t,
                   storage::CellCounts& cells) {
  const int32_t day = UtcDay(t);
  const uint16_t hour = UtcHour(t);
  const std::string& encoded = values.encoded;
  absl::InlinedVector<absl::string_view, 16> parts;
  for (size_t i = 0; i < values.ends.size(); ++i) {
    const size_t begin = i == 0 ? 0 : values.ends[i - 1];
    parts.push_back(absl::string_view(encoded).substr(begin, values.ends[i] - begin));
  }
  const size_t n = parts.size();
  const size_t first = n == 0 ? 0 : parts.front().size();
  cells.Reserve(n + 1, (n + 1) * 6 + encoded.size() + n * first);
  auto add = [&](std::initializer_list<absl::string_view> group) {
    cells.AddBuilt([&](std::string* keys) { storage::AppendKeyOfParts(keys, series, group, day); },
                   hour, 1);
  };
  add({});
  if (n == 0 || parts.front().empty()) return;
  add({parts.front()});
  for (size_t i = 1; i < n; ++i) {  // reporter type with each
    if (!parts[i].empty()) add({parts.front(), parts[i]});
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

storage::CellCounts ReceivedCells(const v1::Report& report, absl::string_view statistics_region) {
  storage::CellCounts cells;
  AddGroupCells(kReceivedSeries, DimensionValues(report, statistics_region),
                TimeOf(report.received_time()), cells);
  return cells;
}

storage::CellCounts DecidedCells(const v1::Report& report, absl::string_view statistics_region) {
  storage::CellCounts cells;
  const absl::Time received = TimeOf(report.received_time());
  const absl::Time decided = TimeOf(report.closed_time());
  AddGroupCells(kDecidedSeries, DimensionValues(report, statistics_region), decided, cells);
  const std::vector<storage::GroupPart> group =
      QueuePriorityGroup(report.triage().queue(), report.triage().priority());
  const int32_t hour = UtcHourNumber(decided);
  auto add = [&](uint8_t series, int32_t when, uint16_t index) {
    std::optional<std::string> key = storage::CounterKey(series, group, when);
    if (key) cells.Add(*key, index, 1);
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
