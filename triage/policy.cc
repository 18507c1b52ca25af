#include "triage/policy.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/time_util.h"
#include "triage/shipped_policy.h"
#include "triage/validation.h"

namespace safeguarding::triage {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::TextFormat;

constexpr size_t kMaxProblems = 20;

// Syntax errors and unknown fields, as the text-format parser reports them.
class SyntaxErrors : public google::protobuf::io::ErrorCollector {
 public:
  SyntaxErrors(absl::string_view file, std::vector<std::string>& problems)
      : file_(file), problems_(problems) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    problems_.push_back(absl::StrCat(file_, ":", line + 1, ":", column + 1, ": ", message));
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}

 private:
  const std::string file_;
  std::vector<std::string>& problems_;
};

// Where a field of the file is: its path ("rules[2].then.queue") and the line and column
// it was written at (those of the nearest enclosing field when it was left out).
struct Place {
  const TextFormat::ParseInfoTree* tree = nullptr;  // of the message at this place
  int line = 0;                                     // 0-based
  int column = 0;
  std::string path;
};

Place Child(const Place& parent, const Descriptor* type, absl::string_view name, int index = -1) {
  Place place = parent;
  place.path = absl::StrCat(parent.path, parent.path.empty() ? "" : ".", name,
                            index >= 0 ? absl::StrCat("[", index, "]") : "");
  const google::protobuf::FieldDescriptor* field = type->FindFieldByName(std::string(name));
  place.tree = nullptr;
  // A repeated field as a whole has no one place: its parent's stands for it.
  if (field == nullptr || parent.tree == nullptr || (field->is_repeated() && index < 0)) {
    return place;
  }
  TextFormat::ParseLocation at = parent.tree->GetLocation(field, index);
  if (at.line >= 0) {
    place.line = at.line;
    place.column = at.column;
  }
  if (field->message_type() != nullptr) place.tree = parent.tree->GetTreeForNested(field, index);
  return place;
}

bool IsName(absl::string_view s, size_t max) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-';
  });
}

// Checks a parsed file whole, collecting every problem with its place.
class Checker {
 public:
  Checker(absl::string_view file, const v1::PolicyFile& policy,
          const TextFormat::ParseInfoTree* tree, std::vector<std::string>& problems)
      : file_(file), policy_(policy), problems_(problems) {
    root_.tree = tree;
  }

  // The SLA targets and queue names of a sound file.
  void Check(SlaTargets& sla, std::vector<std::string>& queues) {
    const Descriptor* type = v1::PolicyFile::descriptor();
    const std::string& version = policy_.version();
    if (version.empty() || version.size() > 64 ||
        !std::all_of(version.begin(), version.end(), absl::ascii_isgraph)) {
      Problem(Child(root_, type, "version"), "required: 1 to 64 printable ASCII characters");
    }
    CheckQueues(queues);
    CheckSla(sla);
    CheckRules();
    CheckRoutes();
    CheckStatisticsRegions();
  }

 private:
  void Problem(const Place& place, absl::string_view message) {
    if (problems_.size() >= kMaxProblems) return;
    problems_.push_back(absl::StrCat(file_, ":", place.line + 1, ":", place.column + 1, ": ",
                                     place.path, ": ", message));
  }

  void CheckQueues(std::vector<std::string>& queues) {
    const Descriptor* type = v1::PolicyFile::descriptor();
    if (policy_.queues().empty()) Problem(Child(root_, type, "queues"), "required: at least one");
    for (int i = 0; i < policy_.queues_size(); ++i) {
      const std::string& name = policy_.queues(i).name();
      Place at = Child(Child(root_, type, "queues", i), v1::PolicyQueue::descriptor(), "name");
      if (!IsName(name, 32)) {
        Problem(at, "required: 1 to 32 characters of a-z, 0-9 and '-'");
      } else if (!declared_.insert(name).second) {
        Problem(at, absl::StrCat("queue ", QuotedName(name), " is declared twice"));
      } else {
        queues.push_back(name);
      }
    }
  }

  void CheckSla(SlaTargets& sla) {
    const Descriptor* type = v1::PolicyFile::descriptor();
    std::array<bool, 5> seen = {};
    for (int i = 0; i < policy_.sla_size(); ++i) {
      const v1::PolicySla& entry = policy_.sla(i);
      Place at = Child(root_, type, "sla", i);
      const int p = entry.priority();
      if (p < v1::PRIORITY_IMMEDIATE || p > v1::PRIORITY_ROUTINE) {
        Problem(Child(at, v1::PolicySla::descriptor(), "priority"),
                "required: PRIORITY_IMMEDIATE, _URGENT, _STANDARD or _ROUTINE");
        continue;
      }
      if (seen[p]) {
        Problem(at, absl::StrCat(v1::Priority_Name(entry.priority()), " has two targets"));
      }
      seen[p] = true;
      absl::Duration target;
      if (!absl::ParseDuration(entry.target(), &target) || target < absl::Minutes(1) ||
          target > absl::Hours(24 * 30)) {
        Problem(Child(at, v1::PolicySla::descriptor(), "target"),
                "a duration between 1m and 720h, e.g. \"4h\" or \"90m\"");
        continue;
      }
      sla.by_priority[p] = target;
    }
    for (int p = v1::PRIORITY_IMMEDIATE; p <= v1::PRIORITY_ROUTINE; ++p) {
      if (!seen[p]) {
        Problem(Child(root_, type, "sla"),
                absl::StrCat(v1::Priority_Name(static_cast<v1::Priority>(p)), " has no target"));
      }
    }
  }

  void CheckRules() {
    const Descriptor* type = v1::PolicyFile::descriptor();
    absl::flat_hash_set<std::string> names;
    bool always_prioritised = false;
    for (int i = 0; i < policy_.rules_size(); ++i) {
      const v1::PolicyRule& rule = policy_.rules(i);
      const Place at = Child(root_, type, "rules", i);
      const Descriptor* rule_type = v1::PolicyRule::descriptor();
      if (!IsName(rule.name(), 64)) {
        Problem(Child(at, rule_type, "name"), "required: 1 to 64 characters of a-z, 0-9 and '-'");
      } else if (!names.insert(rule.name()).second) {
        Problem(Child(at, rule_type, "name"),
                absl::StrCat("rule \"", rule.name(), "\" is defined twice"));
      }
      CheckCondition(Child(at, rule_type, "when"), rule.when());
      const Place then = Child(at, rule_type, "then");
      const v1::PolicyAction& action = rule.then();
      const Descriptor* action_type = v1::PolicyAction::descriptor();
      if (!rule.has_then() || (action.priority() == v1::PRIORITY_UNSPECIFIED &&
                               !action.raise_priority() && action.queue().empty())) {
        Problem(then, "required: a priority, raise_priority or a queue");
      }
      if (!v1::Priority_IsValid(action.priority())) {
        Problem(Child(then, action_type, "priority"), "not a priority");
      }
      if (action.priority() != v1::PRIORITY_UNSPECIFIED && action.raise_priority()) {
        Problem(then, "priority and raise_priority cannot both be set");
      }
      if (!action.queue().empty())
        CheckQueueName(Child(then, action_type, "queue"), action.queue());
      // Reached with no priority, this rule gives one whatever the report says.
      const v1::PolicyCondition& when = rule.when();
      v1::PolicyCondition rest = when;
      rest.clear_priority_set();
      if (action.priority() != v1::PRIORITY_UNSPECIFIED && rest.ByteSizeLong() == 0 &&
          (!when.has_priority_set() || !when.priority_set())) {
        always_prioritised = true;
      }
    }
    if (!always_prioritised) {
      Problem(Child(root_, type, "rules"),
              "no rule gives every report a priority: add one that sets a priority with no "
              "condition other than priority_set: false");
    }
  }

  void CheckRoutes() {
    const Descriptor* type = v1::PolicyFile::descriptor();
    for (int i = 0; i < policy_.routes_size(); ++i) {
      const Place at = Child(root_, type, "routes", i);
      CheckCondition(Child(at, v1::PolicyRoute::descriptor(), "when"), policy_.routes(i).when());
      if (policy_.routes(i).queue().empty()) {
        Problem(Child(at, v1::PolicyRoute::descriptor(), "queue"), "required: a declared queue");
      } else {
        CheckQueueName(Child(at, v1::PolicyRoute::descriptor(), "queue"),
                       policy_.routes(i).queue());
      }
    }
    if (policy_.routes().empty() || policy_.routes().rbegin()->when().ByteSizeLong() != 0) {
      Problem(Child(root_, type, "routes"),
              "the last route must have no condition, so that every report gets a queue");
    }
  }

  // Regions become counter keys, so each must be one a report can carry, and "other" (what
  // every unlisted region counts as) is not available.
  void CheckStatisticsRegions() {
    const Descriptor* type = v1::PolicyFile::descriptor();
    absl::flat_hash_set<std::string> seen;
    for (int i = 0; i < policy_.statistics_regions_size(); ++i) {
      const std::string& region = policy_.statistics_regions(i);
      const Place at = Child(root_, type, "statistics_regions", i);
      if (region.empty() || region.size() > kMaxRegionBytes ||
          !std::all_of(region.begin(), region.end(),
                       [](char c) { return absl::ascii_isprint(static_cast<unsigned char>(c)); })) {
        Problem(at, absl::StrCat("a region is 1 to ", kMaxRegionBytes,
                                 " bytes of printable ASCII, as reports spell it"));
      } else if (region == kOtherRegion) {
        Problem(at, "\"other\" is what every unlisted region counts as; it cannot be listed");
      } else if (!seen.insert(region).second) {
        Problem(at, absl::StrCat("region \"", region, "\" is listed twice"));
      }
    }
  }

  void CheckQueueName(const Place& at, const std::string& queue) {
    if (!declared_.contains(queue)) {
      Problem(at, absl::StrCat("queue ", QuotedName(queue), " is not declared in queues"));
    }
  }

  template <typename IsValid>
  void CheckEnums(const Place& at, const google::protobuf::RepeatedField<int>& values,
                  IsValid is_valid, absl::string_view what) {
    for (int v : values) {
      if (v == 0 || !is_valid(v)) Problem(at, absl::StrCat("not a ", what, ": ", v));
    }
  }

  void CheckCondition(const Place& at, const v1::PolicyCondition& c) {
    const Descriptor* type = v1::PolicyCondition::descriptor();
    CheckEnums(Child(at, type, "reporter_types"), c.reporter_types(), v1::ReporterType_IsValid,
               "reporter type");
    CheckEnums(Child(at, type, "professional_roles"), c.professional_roles(),
               v1::ProfessionalRole_IsValid, "professional role");
    CheckEnums(Child(at, type, "categories_any"), c.categories_any(), v1::ConcernCategory_IsValid,
               "category");
    CheckEnums(Child(at, type, "channels_any"), c.channels_any(), v1::Channel_IsValid, "channel");
    CheckEnums(Child(at, type, "priorities"), c.priorities(), v1::Priority_IsValid, "priority");
    if (c.has_child_age_min() && (c.child_age_min() < 0 || c.child_age_min() > 17)) {
      Problem(Child(at, type, "child_age_min"), "an age from 0 to 17");
    }
    if (c.has_child_age_max() && (c.child_age_max() < 0 || c.child_age_max() > 17)) {
      Problem(Child(at, type, "child_age_max"), "an age from 0 to 17");
    }
    if (c.has_child_age_min() && c.has_child_age_max() && c.child_age_min() > c.child_age_max()) {
      Problem(Child(at, type, "child_age_min"), "greater than child_age_max: nothing matches");
    }
    for (int i = 0; i < c.regions_size(); ++i) {
      if (c.regions(i).empty()) Problem(Child(at, type, "regions", i), "an empty region");
    }
  }

  const std::string file_;
  const v1::PolicyFile& policy_;
  std::vector<std::string>& problems_;
  Place root_;
  absl::flat_hash_set<std::string> declared_;
};

template <typename List, typename Value>
bool AnyOf(const List& list, Value value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

template <typename List, typename Values>
bool Intersects(const List& list, const Values& values) {
  return std::any_of(values.begin(), values.end(), [&](int v) { return AnyOf(list, v); });
}

bool Holds(const v1::PolicyCondition& c, const v1::ReportSubmission& s, v1::Priority priority) {
  if (!c.reporter_types().empty() && !AnyOf(c.reporter_types(), s.reporter().type())) return false;
  if (!c.professional_roles().empty() &&
      !AnyOf(c.professional_roles(), s.reporter().professional_role())) {
    return false;
  }
  if (!c.categories_any().empty() && !Intersects(c.categories_any(), s.categories())) return false;
  if (!c.channels_any().empty() && !Intersects(c.channels_any(), s.channels())) return false;
  if ((c.has_child_age_min() || c.has_child_age_max()) && !s.has_child_age()) return false;
  if (c.has_child_age_min() && s.child_age() < c.child_age_min()) return false;
  if (c.has_child_age_max() && s.child_age() > c.child_age_max()) return false;
  if (c.has_immediate_danger() && s.immediate_danger() != c.immediate_danger()) return false;
  if (c.has_ongoing_contact() && s.ongoing_contact() != c.ongoing_contact()) return false;
  if (c.has_planned_meeting() && s.planned_meeting() != c.planned_meeting()) return false;
  if (!c.regions().empty() && !AnyOf(c.regions(), s.region())) return false;
  if (!c.priorities().empty() && !AnyOf(c.priorities(), priority)) return false;
  if (c.has_priority_set() && (priority != v1::PRIORITY_UNSPECIFIED) != c.priority_set()) {
    return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<TriagePolicy> TriagePolicy::Parse(absl::string_view text,
                                                 absl::string_view file_name) {
  std::vector<std::string> problems;
  v1::PolicyFile file;
  TextFormat::ParseInfoTree tree;
  SyntaxErrors syntax(file_name, problems);
  TextFormat::Parser parser;
  parser.RecordErrorsTo(&syntax);
  parser.WriteLocationsTo(&tree);
  SlaTargets sla;
  std::vector<std::string> queues;
  if (!parser.ParseFromString(std::string(text), &file)) {
    if (problems.empty()) problems.push_back(absl::StrCat(file_name, ": cannot be parsed"));
  } else {
    Checker(file_name, file, &tree, problems).Check(sla, queues);
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("triage policy refused:\n  ", absl::StrJoin(problems, "\n  ")));
  }
  return TriagePolicy(std::move(file), sla, std::move(queues));
}

absl::StatusOr<TriagePolicy> TriagePolicy::LoadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  if (in) text << in.rdbuf();
  if (!in)
    return absl::FailedPreconditionError(absl::StrCat("policy file ", path, ": cannot read"));
  return Parse(text.str(), path);
}

absl::string_view TriagePolicy::ShippedText() { return ShippedPolicyText(); }

const TriagePolicy& TriagePolicy::Shipped() {
  static const TriagePolicy* shipped = [] {
    absl::StatusOr<TriagePolicy> parsed = Parse(ShippedPolicyText(), kShippedPolicyPath);
    // The build checks the shipped file (a unit test parses it); a broken copy here is a
    // build error, not something a deployment can cause.
    if (!parsed.ok()) {
      std::fprintf(stderr, "%s\n", std::string(parsed.status().message()).c_str());
      std::abort();
    }
    return new TriagePolicy(*std::move(parsed));
  }();
  return *shipped;
}

TriagePolicy::TriagePolicy(v1::PolicyFile file, SlaTargets sla, std::vector<std::string> queues)
    : file_(std::move(file)), sla_(sla), queues_(std::move(queues)) {
  regions_.insert(file_.statistics_regions().begin(), file_.statistics_regions().end());
}

std::string TriagePolicy::StatisticsRegion(absl::string_view region) const {
  if (region.empty()) return "";
  if (regions_.contains(region)) return std::string(region);
  return std::string(kOtherRegion);
}

bool TriagePolicy::HasQueue(absl::string_view queue) const {
  return std::find(queues_.begin(), queues_.end(), queue) != queues_.end();
}

v1::TriageAssessment TriagePolicy::Evaluate(const v1::ReportSubmission& s,
                                            absl::Time received) const {
  v1::TriageAssessment out;
  out.set_policy_version(file_.version());
  v1::Priority priority = v1::PRIORITY_UNSPECIFIED;
  std::string queue;
  for (const v1::PolicyRule& rule : file_.rules()) {
    const v1::PolicyAction& action = rule.then();
    if (!Holds(rule.when(), s, priority)) continue;
    if (action.raise_priority() &&
        (priority == v1::PRIORITY_UNSPECIFIED || priority == v1::PRIORITY_IMMEDIATE)) {
      continue;  // nothing to raise: the rule does not match
    }
    out.add_matched_rules(rule.name());
    if (action.raise_priority()) priority = static_cast<v1::Priority>(priority - 1);
    if (priority == v1::PRIORITY_UNSPECIFIED) priority = action.priority();
    if (queue.empty()) queue = action.queue();
  }
  if (priority == v1::PRIORITY_UNSPECIFIED) priority = v1::PRIORITY_STANDARD;  // checked at load
  for (const v1::PolicyRoute& route : file_.routes()) {
    if (!queue.empty()) break;
    if (Holds(route.when(), s, priority)) queue = route.queue();
  }
  out.set_priority(priority);
  out.set_queue(queue.empty() ? queues_.front() : queue);  // the last route always holds
  *out.mutable_due_time() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
      absl::ToUnixMicros(DueTime(priority, received)));
  return out;
}

}  // namespace safeguarding::triage
