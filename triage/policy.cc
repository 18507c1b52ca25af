#include "triage/policy.h"

#include <algorithm>

#include "google/protobuf/util/time_util.h"

namespace safeguarding::triage {
namespace {

bool HasCategory(const v1::ReportSubmission& s, v1::ConcernCategory c) {
  return std::find(s.categories().begin(), s.categories().end(), c) != s.categories().end();
}

const char* QueueForReporter(v1::ReporterType type) {
  switch (type) {
    case v1::REPORTER_TYPE_CHILD:
      return kChildQueue;
    case v1::REPORTER_TYPE_PROFESSIONAL:
      return kProfessionalQueue;
    default:
      return kParentCarerQueue;
  }
}

}  // namespace

TriagePolicy TriagePolicy::BuiltIn(SlaTargets sla) { return TriagePolicy("builtin-1", sla); }

v1::TriageAssessment TriagePolicy::Evaluate(const v1::ReportSubmission& s,
                                            absl::Time received) const {
  v1::TriageAssessment out;
  out.set_policy_version(version_);
  v1::Priority priority = v1::PRIORITY_UNSPECIFIED;
  auto match = [&](const char* rule, v1::Priority p) {
    out.add_matched_rules(rule);
    if (priority == v1::PRIORITY_UNSPECIFIED) priority = p;  // first match decides
  };

  if (s.immediate_danger()) match("immediate-danger", v1::PRIORITY_IMMEDIATE);
  if (HasCategory(s, v1::CONCERN_CATEGORY_SEXUAL_EXTORTION)) {
    match("sexual-extortion", v1::PRIORITY_URGENT);
  }
  if (HasCategory(s, v1::CONCERN_CATEGORY_LIVE_STREAMED_ABUSE)) {
    match("live-streamed-abuse", v1::PRIORITY_URGENT);
  }
  if (HasCategory(s, v1::CONCERN_CATEGORY_CONTACT_ABUSE)) {
    match("contact-abuse", v1::PRIORITY_URGENT);
  }
  if (s.planned_meeting()) match("planned-meeting", v1::PRIORITY_URGENT);
  if (priority == v1::PRIORITY_UNSPECIFIED) match("default-standard", v1::PRIORITY_STANDARD);

  if (s.has_child_age() && s.child_age() < 11 && priority > v1::PRIORITY_IMMEDIATE) {
    out.add_matched_rules("child-under-11-raise");
    priority = static_cast<v1::Priority>(priority - 1);
  }

  out.set_priority(priority);
  out.set_queue(priority == v1::PRIORITY_IMMEDIATE ? kImmediateQueue
                                                   : QueueForReporter(s.reporter().type()));
  *out.mutable_due_time() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
      absl::ToUnixMicros(received + sla_.For(priority)));
  return out;
}

}  // namespace safeguarding::triage
