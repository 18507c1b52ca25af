#include "triage/volume_cells.h"

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

}  // namespace

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

std::vector<storage::GroupPart> DimensionValues(const v1::Report& report) {
  const v1::ReportSubmission& s = report.submission();
  std::vector<storage::GroupPart> values;
  values.push_back(Part(v1::DIMENSION_REPORTER_TYPE, Number(s.reporter().type())));
  if (s.reporter().type() == v1::REPORTER_TYPE_PROFESSIONAL) {
    values.push_back(
        Part(v1::DIMENSION_PROFESSIONAL_ROLE, Number(s.reporter().professional_role())));
  }
  values.push_back(Part(v1::DIMENSION_PRIORITY, Number(report.triage().priority())));
  for (int category : s.categories())
    values.push_back(Part(v1::DIMENSION_CATEGORY, Number(category)));
  values.push_back(Part(v1::DIMENSION_REGION, s.region()));
  for (int channel : s.channels()) values.push_back(Part(v1::DIMENSION_CHANNEL, Number(channel)));
  values.push_back(Part(v1::DIMENSION_CHILD_AGE_BAND, AgeBand(s)));
  values.push_back(Part(v1::DIMENSION_QUEUE, report.triage().queue()));
  values.push_back(Part(v1::DIMENSION_SOURCE, Number(report.source())));
  return values;
}

std::vector<std::vector<storage::GroupPart>> GroupsOf(const v1::Report& report) {
  const std::vector<storage::GroupPart> values = DimensionValues(report);
  std::vector<std::vector<storage::GroupPart>> groups;
  groups.push_back({});  // all reports
  for (const storage::GroupPart& v : values) groups.push_back({v});
  const storage::GroupPart& reporter = values.front();  // always first
  for (size_t i = 1; i < values.size(); ++i) groups.push_back({reporter, values[i]});
  return groups;
}

int32_t UtcDay(absl::Time t) {
  return static_cast<int32_t>(FloorDiv(absl::ToUnixSeconds(t), kSecondsPerDay));
}

uint16_t UtcHour(absl::Time t) {
  const int64_t seconds = absl::ToUnixSeconds(t) - int64_t{UtcDay(t)} * kSecondsPerDay;
  return static_cast<uint16_t>(seconds / 3600);
}

std::vector<storage::Mutation::CellCount> ReceivedCells(const v1::Report& report) {
  const absl::Time received =
      absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(report.received_time()));
  const int32_t day = UtcDay(received);
  const uint16_t hour = UtcHour(received);
  // The keys of GroupsOf(report), built from each value's bytes once (the hot path of a
  // submit: about 23 keys).
  std::vector<storage::GroupPart> values = DimensionValues(report);
  std::vector<storage::Mutation::CellCount> cells;
  cells.reserve(2 * values.size());
  auto add = [&](const std::vector<storage::GroupPart>& group) {
    std::optional<std::string> key = storage::CounterKey(kReceivedSeries, group, day);
    if (key) cells.push_back({*std::move(key), hour, 1});  // values are bounded by validation
  };
  add({});
  std::vector<storage::GroupPart> group(1);
  for (storage::GroupPart& v : values) {
    group[0] = v;
    add(group);
  }
  group.resize(2);
  group[0] = values.front();  // the reporter type
  for (size_t i = 1; i < values.size(); ++i) {
    group[1] = std::move(values[i]);
    add(group);
  }
  return cells;
}

}  // namespace safeguarding::triage
