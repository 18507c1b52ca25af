#include "triage/statistics_groups.h"

#include <algorithm>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "safeguarding/triage/v1/report.pb.h"
#include "triage/validation.h"
#include "triage/volume_cells.h"

namespace safeguarding::triage {
namespace {

using google::protobuf::EnumDescriptor;

const EnumDescriptor* EnumOf(v1::Dimension dimension) {
  switch (dimension) {
    case v1::DIMENSION_REPORTER_TYPE:
      return v1::ReporterType_descriptor();
    case v1::DIMENSION_PROFESSIONAL_ROLE:
      return v1::ProfessionalRole_descriptor();
    case v1::DIMENSION_PRIORITY:
      return v1::Priority_descriptor();
    case v1::DIMENSION_CATEGORY:
      return v1::ConcernCategory_descriptor();
    case v1::DIMENSION_CHANNEL:
      return v1::Channel_descriptor();
    case v1::DIMENSION_SOURCE:
      return v1::ReportSource_descriptor();
    case v1::DIMENSION_OUTCOME:
      return v1::Outcome_descriptor();
    default:
      return nullptr;
  }
}

}  // namespace

std::string ValueName(const EnumDescriptor* type, int number) {
  const std::string prefix(absl::StripSuffix(type->value(0)->name(), "UNSPECIFIED"));
  const google::protobuf::EnumValueDescriptor* value = type->FindValueByNumber(number);
  if (value == nullptr) return absl::StrCat(number);
  return std::string(absl::StripPrefix(value->name(), prefix));
}

namespace {

bool Known(v1::Dimension d) {
  return d >= v1::DIMENSION_REPORTER_TYPE && d <= v1::DIMENSION_OUTCOME;
}

struct Involved {
  v1::Dimension dimension;
  std::vector<DimensionValue> values;  // the filter's values, or all
  int grouped = -1;                    // its place in group_by, or -1
};

// The dimensions of the request, checked, in counter-key order (reporter type first).
[[nodiscard]] absl::StatusOr<std::vector<Involved>> Involve(
    const google::protobuf::RepeatedField<int>& group_by,
    const google::protobuf::RepeatedPtrField<v1::DimensionFilter>& filters, v1::Measure measure,
    const TriagePolicy& policy) {
  FieldViolations v;
  std::map<int, Involved> involved;  // by dimension number: REPORTER_TYPE (1) first
  for (int i = 0; i < group_by.size(); ++i) {
    const auto d = static_cast<v1::Dimension>(group_by[i]);
    const std::string field = absl::StrCat("group_by[", i, "]");
    if (!Known(d)) {
      v.Add(field, "not a dimension");
    } else if (involved.count(d) > 0) {
      v.Add(field, absl::StrCat(DimensionName(d), " is grouped by twice"));
    } else {
      involved[d] = Involved{d, ValuesOf(d, policy), i};
    }
  }
  for (int i = 0; i < filters.size(); ++i) {
    const v1::DimensionFilter& f = filters[i];
    const std::string field = absl::StrCat("filters[", i, "]");
    const auto d = f.dimension();
    if (!Known(d)) {
      v.Add(field + ".dimension", "not a dimension");
      continue;
    }
    if (f.values().empty()) v.Add(field + ".values", "required: at least one value");
    const std::vector<DimensionValue> all = ValuesOf(d, policy);
    std::vector<DimensionValue> chosen;
    for (int j = 0; j < f.values_size(); ++j) {
      auto it = std::find_if(all.begin(), all.end(),
                             [&](const DimensionValue& dv) { return dv.shown == f.values(j); });
      if (it == all.end()) {
        v.Add(absl::StrCat(field, ".values[", j, "]"),
              absl::StrCat("not a value of ", DimensionName(d)));
      } else if (std::none_of(chosen.begin(), chosen.end(),
                              [&](const DimensionValue& c) { return c.shown == it->shown; })) {
        chosen.push_back(*it);
      }
    }
    auto [entry, added] = involved.try_emplace(d, Involved{d, {}, -1});
    if (!added && entry->second.grouped < 0) {
      v.Add(field + ".dimension", absl::StrCat(DimensionName(d), " is filtered twice"));
    }
    entry->second.values = std::move(chosen);
  }
  if (involved.size() > 2 ||
      (involved.size() == 2 && involved.begin()->first != v1::DIMENSION_REPORTER_TYPE)) {
    v.Add(group_by.empty() ? "filters" : "group_by",
          "not counted: at most two dimensions (grouped and filtered together), and with two "
          "one of them REPORTER_TYPE");
  }
  if (involved.count(v1::DIMENSION_OUTCOME) > 0 && measure != v1::MEASURE_DECIDED) {
    v.Add("measure", "OUTCOME is counted only for decisions: use MEASURE_DECIDED");
  }
  if (!v1::Measure_IsValid(measure)) v.Add("measure", "not a measure");
  if (!v.empty()) return v.ToStatus();
  std::vector<Involved> out;
  for (auto& [d, inv] : involved) out.push_back(std::move(inv));
  return out;
}

}  // namespace

std::string DimensionName(v1::Dimension dimension) {
  return ValueName(v1::Dimension_descriptor(), dimension);
}

std::vector<DimensionValue> ValuesOf(v1::Dimension dimension, const TriagePolicy& policy) {
  std::vector<DimensionValue> values;
  if (const EnumDescriptor* type = EnumOf(dimension)) {
    for (int i = 0; i < type->value_count(); ++i) {
      const int number = type->value(i)->number();
      if (number != 0) values.push_back({absl::StrCat(number), ValueName(type, number)});
    }
  } else if (dimension == v1::DIMENSION_CHILD_AGE_BAND) {
    for (const char* band : {"0-4", "5-7", "8-10", "11-13", "14-17", "unknown"}) {
      values.push_back({band, band});
    }
  } else if (dimension == v1::DIMENSION_QUEUE) {
    for (const std::string& q : policy.queues()) values.push_back({q, q});
  } else if (dimension == v1::DIMENSION_REGION) {
    for (const std::string& r : policy.file().statistics_regions()) values.push_back({r, r});
    values.push_back({std::string(kOtherRegion), std::string(kOtherRegion)});
    values.push_back({"", ""});
  }
  return values;
}

std::string ShownValue(v1::Dimension dimension, absl::string_view stored) {
  int number = 0;
  if (const EnumDescriptor* type = EnumOf(dimension); type && absl::SimpleAtoi(stored, &number)) {
    return ValueName(type, number);
  }
  return std::string(stored);
}

absl::StatusOr<GroupPlan> PlanGroups(
    const google::protobuf::RepeatedField<int>& group_by,
    const google::protobuf::RepeatedPtrField<v1::DimensionFilter>& filters, v1::Measure measure,
    const TriagePolicy& policy) {
  absl::StatusOr<std::vector<Involved>> involved = Involve(group_by, filters, measure, policy);
  if (!involved.ok()) return involved.status();
  // Another dimension alone is counted only with the reporter type: it is read as its pairs
  // with each reporter type, summed (volume_cells.h).
  if (involved->size() == 1 && involved->front().dimension != v1::DIMENSION_REPORTER_TYPE) {
    involved->insert(involved->begin(),
                     Involved{v1::DIMENSION_REPORTER_TYPE,
                              ValuesOf(v1::DIMENSION_REPORTER_TYPE, policy), /*grouped=*/-1});
  }
  GroupPlan plan;
  plan.series = measure == v1::MEASURE_DECIDED ? kDecidedSeries : kReceivedSeries;
  absl::flat_hash_map<std::string, size_t> output_of;  // output key text -> index
  // Every combination of one value per involved dimension (an odometer over the lists).
  std::vector<size_t> at(involved->size(), 0);
  for (const Involved& inv : *involved) {
    if (inv.values.empty()) return plan;  // a dimension with no value: nothing to read
  }
  while (true) {
    GroupPlan::Read read;
    std::vector<v1::GroupKey> output(group_by.size());
    std::string output_text;
    for (size_t k = 0; k < involved->size(); ++k) {
      const Involved& inv = (*involved)[k];
      const DimensionValue& value = inv.values[at[k]];
      read.group.push_back({static_cast<uint8_t>(inv.dimension), value.stored});
      if (inv.grouped >= 0) {
        output[inv.grouped].set_dimension(inv.dimension);
        output[inv.grouped].set_value(value.shown);
      }
    }
    for (const v1::GroupKey& g : output)
      absl::StrAppend(&output_text, g.dimension(), "=", g.value(), "\n");
    auto [it, added] = output_of.try_emplace(output_text, plan.outputs.size());
    if (added) plan.outputs.push_back(std::move(output));
    read.output = it->second;
    plan.reads.push_back(std::move(read));
    size_t k = 0;
    for (; k < at.size(); ++k) {
      if (++at[k] < (*involved)[k].values.size()) break;
      at[k] = 0;
    }
    if (k == at.size()) break;
  }
  return plan;
}

}  // namespace safeguarding::triage
