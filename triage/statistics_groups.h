// Which counters a statistics request reads, and how they add up to the groups it answers.
//
// Counters exist for all reports, for each reporter type, and for the reporter type paired
// with each value of every other dimension (triage/volume_cells.h); another dimension alone
// is read as its pairs with every reporter type, summed. So a request may involve
// at most two dimensions, counting both those it groups by and those it filters on, and
// with two one must be REPORTER_TYPE. Each value of a dimension involved is read as its own
// group, then added into the answer's groups: with a filter on several values (or a
// dimension only filtered on) the groups of those values are summed. A report with several
// categories or channels counts once under each, so such sums count it once per value.
//
// Values are named as the contract's GroupKey says: an enum value's name without the
// enum's prefix ("PARENT_CARER"), age bands as "0-4" .. "14-17" / "unknown", queues by
// name, regions as the policy's statistics_regions, "other", or "" for none.
#ifndef SAFEGUARDING_TRIAGE_STATISTICS_GROUPS_H_
#define SAFEGUARDING_TRIAGE_STATISTICS_GROUPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/repeated_field.h"
#include "safeguarding/triage/v1/statistics.pb.h"
#include "storage/counter_keys.h"
#include "triage/policy.h"

namespace safeguarding::triage {

// One value of a dimension: as the counter keys store it and as the answer names it.
struct DimensionValue {
  std::string stored;
  std::string shown;
};

// Every value `dimension` can take under `policy` (queues and regions from the policy).
std::vector<DimensionValue> ValuesOf(v1::Dimension dimension, const TriagePolicy& policy);

// An enum value as the statistics (and the metrics' labels) name it:
// "REPORTER_TYPE_PARENT_CARER" -> "PARENT_CARER" (the prefix is the zero value's name
// without "UNSPECIFIED"); an unknown number as its digits.
std::string ValueName(const google::protobuf::EnumDescriptor* type, int number);

// A value as a counter key stores it, as the answers name it (enums by ValueName; queues,
// regions and age bands as stored).
std::string ShownValue(v1::Dimension dimension, absl::string_view stored);

// The name of a dimension in messages, e.g. "REPORTER_TYPE".
std::string DimensionName(v1::Dimension dimension);

struct GroupPlan {
  uint8_t series = 0;
  // The groups of the answer, each as its GroupKeys in group_by order.
  std::vector<std::vector<v1::GroupKey>> outputs;
  // The counter groups to read; each adds into outputs[output].
  struct Read {
    std::vector<storage::GroupPart> group;
    size_t output = 0;
  };
  std::vector<Read> reads;
};

// The plan of a request. INVALID_ARGUMENT naming the fields (prefix + "group_by[i]",
// "filters[i].values[j]", "measure") when it asks for what is not counted.
[[nodiscard]] absl::StatusOr<GroupPlan> PlanGroups(
    const google::protobuf::RepeatedField<int>& group_by,
    const google::protobuf::RepeatedPtrField<v1::DimensionFilter>& filters, v1::Measure measure,
    const TriagePolicy& policy);

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_STATISTICS_GROUPS_H_
