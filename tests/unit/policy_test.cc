// Tests of triage/policy.h with the shipped policy file (deploy/config/policy.textproto):
// its rules, one table row per rule or interaction, with due times checked against a fixed
// clock; and that it assesses every combination exactly as the first release's built-in
// code did (kept below as the reference), so existing reports keep their meaning.
#include "triage/policy.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/support/sample_reports.h"

namespace safeguarding::triage {
namespace {

using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::Not;

using Mutator = std::function<void(v1::ReportSubmission&)>;

// A fixed received time with a sub-second part, so due times are checked to the microsecond.
absl::Time Received() {
  return absl::FromCivil(absl::CivilSecond(2024, 3, 5, 14, 30, 0), absl::UTCTimeZone()) +
         absl::Microseconds(654321);
}

absl::Time TimeOf(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

// The sample: a 13-year-old child reporting grooming, no aggravating factors.
v1::ReportSubmission Base() { return ::safeguarding::testing::ValidSubmission(); }

void SetReporter(v1::ReportSubmission& s, v1::ReporterType type) {
  s.mutable_reporter()->set_type(type);
  s.mutable_reporter()->set_professional_role(type == v1::REPORTER_TYPE_PROFESSIONAL
                                                  ? v1::PROFESSIONAL_ROLE_TEACHER
                                                  : v1::PROFESSIONAL_ROLE_UNSPECIFIED);
}

struct PolicyCase {
  std::string name;
  Mutator mutate;
  v1::Priority priority;
  std::string queue;
  absl::Duration sla;
  std::vector<std::string> matched_rules;
};

// Failure messages name the case instead of dumping its bytes.
void PrintTo(const PolicyCase& c, std::ostream* os) { *os << c.name; }

std::vector<PolicyCase> PolicyCases() {
  const absl::Duration k1h = absl::Hours(1);
  const absl::Duration k4h = absl::Hours(4);
  const absl::Duration k24h = absl::Hours(24);
  return {
      // The three priority rules on their own.
      {"NoAggravatingFactorIsStandard",
       [](v1::ReportSubmission&) {},
       v1::PRIORITY_STANDARD,
       "child",
       k24h,
       {"default-standard"}},
      {"ImmediateDangerIsImmediate",
       [](v1::ReportSubmission& s) { s.set_immediate_danger(true); },
       v1::PRIORITY_IMMEDIATE,
       "immediate",
       k1h,
       {"immediate-danger"}},
      {"SexualExtortionIsUrgent",
       [](v1::ReportSubmission& s) { s.add_categories(v1::CONCERN_CATEGORY_SEXUAL_EXTORTION); },
       v1::PRIORITY_URGENT,
       "child",
       k4h,
       {"sexual-extortion"}},
      {"LiveStreamedAbuseIsUrgent",
       [](v1::ReportSubmission& s) { s.add_categories(v1::CONCERN_CATEGORY_LIVE_STREAMED_ABUSE); },
       v1::PRIORITY_URGENT,
       "child",
       k4h,
       {"live-streamed-abuse"}},
      {"ContactAbuseIsUrgent",
       [](v1::ReportSubmission& s) { s.add_categories(v1::CONCERN_CATEGORY_CONTACT_ABUSE); },
       v1::PRIORITY_URGENT,
       "child",
       k4h,
       {"contact-abuse"}},
      {"PlannedMeetingIsUrgent",
       [](v1::ReportSubmission& s) { s.set_planned_meeting(true); },
       v1::PRIORITY_URGENT,
       "child",
       k4h,
       {"planned-meeting"}},
      {"OtherCategoriesStayStandard",
       [](v1::ReportSubmission& s) {
         s.add_categories(v1::CONCERN_CATEGORY_INDECENT_IMAGES);
         s.add_categories(v1::CONCERN_CATEGORY_INAPPROPRIATE_CONTENT);
         s.add_categories(v1::CONCERN_CATEGORY_OTHER);
         s.set_ongoing_contact(true);
       },
       v1::PRIORITY_STANDARD,
       "child",
       k24h,
       {"default-standard"}},
      // Several rules: all are listed in policy order, the first decides.
      {"ImmediateDangerWithUrgentFactorsListsAllAndImmediateDecides",
       [](v1::ReportSubmission& s) {
         s.set_planned_meeting(true);
         s.add_categories(v1::CONCERN_CATEGORY_CONTACT_ABUSE);
         s.set_immediate_danger(true);
       },
       v1::PRIORITY_IMMEDIATE,
       "immediate",
       k1h,
       {"immediate-danger", "contact-abuse", "planned-meeting"}},
      {"AllUrgentFactorsAreListedInPolicyOrder",
       [](v1::ReportSubmission& s) {
         // Categories deliberately out of policy order in the submission.
         s.set_planned_meeting(true);
         s.add_categories(v1::CONCERN_CATEGORY_CONTACT_ABUSE);
         s.add_categories(v1::CONCERN_CATEGORY_LIVE_STREAMED_ABUSE);
         s.add_categories(v1::CONCERN_CATEGORY_SEXUAL_EXTORTION);
       },
       v1::PRIORITY_URGENT,
       "child",
       k4h,
       {"sexual-extortion", "live-streamed-abuse", "contact-abuse", "planned-meeting"}},
      // A child under 11 raises the priority one level.
      {"Age10RaisesStandardToUrgent",
       [](v1::ReportSubmission& s) { s.set_child_age(10); },
       v1::PRIORITY_URGENT,
       "child",
       k4h,
       {"default-standard", "child-under-11-raise"}},
      {"Age0RaisesStandardToUrgent",
       [](v1::ReportSubmission& s) { s.set_child_age(0); },
       v1::PRIORITY_URGENT,
       "child",
       k4h,
       {"default-standard", "child-under-11-raise"}},
      {"Age10RaisesUrgentToImmediateQueue",
       [](v1::ReportSubmission& s) {
         s.set_child_age(10);
         s.add_categories(v1::CONCERN_CATEGORY_SEXUAL_EXTORTION);
       },
       v1::PRIORITY_IMMEDIATE,
       "immediate",
       k1h,
       {"sexual-extortion", "child-under-11-raise"}},
      {"Age11DoesNotRaise",
       [](v1::ReportSubmission& s) { s.set_child_age(11); },
       v1::PRIORITY_STANDARD,
       "child",
       k24h,
       {"default-standard"}},
      {"Age17DoesNotRaise",
       [](v1::ReportSubmission& s) { s.set_child_age(17); },
       v1::PRIORITY_STANDARD,
       "child",
       k24h,
       {"default-standard"}},
      {"UnknownAgeDoesNotRaise",
       [](v1::ReportSubmission& s) { s.clear_child_age(); },
       v1::PRIORITY_STANDARD,
       "child",
       k24h,
       {"default-standard"}},
      {"UnknownAgeDoesNotRaiseUrgent",
       [](v1::ReportSubmission& s) {
         s.clear_child_age();
         s.set_planned_meeting(true);
       },
       v1::PRIORITY_URGENT,
       "child",
       k4h,
       {"planned-meeting"}},
      {"ImmediateStaysImmediateForYoungChild",
       [](v1::ReportSubmission& s) {
         s.set_child_age(5);
         s.set_immediate_danger(true);
       },
       v1::PRIORITY_IMMEDIATE,
       "immediate",
       k1h,
       {"immediate-danger"}},
      // Queues by reporter type.
      {"ParentCarerGoesToParentCarerQueue",
       [](v1::ReportSubmission& s) { SetReporter(s, v1::REPORTER_TYPE_PARENT_CARER); },
       v1::PRIORITY_STANDARD,
       "parent-carer",
       k24h,
       {"default-standard"}},
      {"OtherAdultGoesToParentCarerQueue",
       [](v1::ReportSubmission& s) { SetReporter(s, v1::REPORTER_TYPE_OTHER_ADULT); },
       v1::PRIORITY_STANDARD,
       "parent-carer",
       k24h,
       {"default-standard"}},
      {"ProfessionalGoesToProfessionalQueue",
       [](v1::ReportSubmission& s) { SetReporter(s, v1::REPORTER_TYPE_PROFESSIONAL); },
       v1::PRIORITY_STANDARD,
       "professional",
       k24h,
       {"default-standard"}},
      {"UrgentProfessionalStaysInProfessionalQueue",
       [](v1::ReportSubmission& s) {
         SetReporter(s, v1::REPORTER_TYPE_PROFESSIONAL);
         s.add_categories(v1::CONCERN_CATEGORY_CONTACT_ABUSE);
       },
       v1::PRIORITY_URGENT,
       "professional",
       k4h,
       {"contact-abuse"}},
      {"UrgentParentCarerStaysInParentCarerQueue",
       [](v1::ReportSubmission& s) {
         SetReporter(s, v1::REPORTER_TYPE_PARENT_CARER);
         s.set_planned_meeting(true);
       },
       v1::PRIORITY_URGENT,
       "parent-carer",
       k4h,
       {"planned-meeting"}},
      // Every IMMEDIATE report goes to "immediate", whoever made it.
      {"ImmediateFromParentCarerGoesToImmediateQueue",
       [](v1::ReportSubmission& s) {
         SetReporter(s, v1::REPORTER_TYPE_PARENT_CARER);
         s.set_immediate_danger(true);
       },
       v1::PRIORITY_IMMEDIATE,
       "immediate",
       k1h,
       {"immediate-danger"}},
      {"ImmediateFromProfessionalGoesToImmediateQueue",
       [](v1::ReportSubmission& s) {
         SetReporter(s, v1::REPORTER_TYPE_PROFESSIONAL);
         s.set_immediate_danger(true);
       },
       v1::PRIORITY_IMMEDIATE,
       "immediate",
       k1h,
       {"immediate-danger"}},
      {"RaisedToImmediateFromOtherAdultGoesToImmediateQueue",
       [](v1::ReportSubmission& s) {
         SetReporter(s, v1::REPORTER_TYPE_OTHER_ADULT);
         s.set_child_age(8);
         s.set_planned_meeting(true);
       },
       v1::PRIORITY_IMMEDIATE,
       "immediate",
       k1h,
       {"planned-meeting", "child-under-11-raise"}},
  };
}

class PolicyRuleTest : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(PolicyRuleTest, AssessesPriorityQueueDueTimeAndRules) {
  const PolicyCase& c = GetParam();
  v1::ReportSubmission submission = Base();
  c.mutate(submission);

  const v1::TriageAssessment assessment = TriagePolicy::Shipped().Evaluate(submission, Received());

  EXPECT_EQ(assessment.priority(), c.priority) << v1::Priority_Name(assessment.priority());
  EXPECT_EQ(assessment.queue(), c.queue);
  EXPECT_EQ(TimeOf(assessment.due_time()), Received() + c.sla);
  EXPECT_THAT(assessment.matched_rules(), ElementsAreArray(c.matched_rules));
}

INSTANTIATE_TEST_SUITE_P(PolicyTest, PolicyRuleTest, ::testing::ValuesIn(PolicyCases()),
                         [](const ::testing::TestParamInfo<PolicyCase>& info) {
                           return info.param.name;
                         });

TEST(PolicyTest, DueTimeIsReceivedPlusDefaultSlaToTheMicrosecond) {
  v1::ReportSubmission standard = Base();
  v1::ReportSubmission urgent = Base();
  urgent.set_planned_meeting(true);
  v1::ReportSubmission immediate = Base();
  immediate.set_immediate_danger(true);
  const TriagePolicy& policy = TriagePolicy::Shipped();

  // 2024-03-05 14:30:00.654321 UTC plus 1 h, 4 h and 24 h, written out.
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::Duration frac = absl::Microseconds(654321);
  EXPECT_EQ(TimeOf(policy.Evaluate(immediate, Received()).due_time()),
            absl::FromCivil(absl::CivilSecond(2024, 3, 5, 15, 30, 0), utc) + frac);
  EXPECT_EQ(TimeOf(policy.Evaluate(urgent, Received()).due_time()),
            absl::FromCivil(absl::CivilSecond(2024, 3, 5, 18, 30, 0), utc) + frac);
  EXPECT_EQ(TimeOf(policy.Evaluate(standard, Received()).due_time()),
            absl::FromCivil(absl::CivilSecond(2024, 3, 6, 14, 30, 0), utc) + frac);
}

TEST(PolicyTest, DueTimeFollowsTheReceivedTime) {
  const TriagePolicy& policy = TriagePolicy::Shipped();
  const absl::Time later = Received() + absl::Minutes(17) + absl::Microseconds(3);
  EXPECT_EQ(TimeOf(policy.Evaluate(Base(), later).due_time()), later + absl::Hours(24));
}

TEST(PolicyTest, PolicyVersionIsRecordedOnEveryAssessment) {
  const TriagePolicy& policy = TriagePolicy::Shipped();
  EXPECT_THAT(policy.version(), Not(IsEmpty()));
  EXPECT_EQ(policy.Evaluate(Base(), Received()).policy_version(), policy.version());
  v1::ReportSubmission immediate = Base();
  immediate.set_immediate_danger(true);
  EXPECT_EQ(policy.Evaluate(immediate, Received()).policy_version(), policy.version());
}

// The shipped file with other SLA targets.
TriagePolicy WithSla(absl::string_view immediate, absl::string_view urgent,
                     absl::string_view standard) {
  std::string text(TriagePolicy::ShippedText());
  for (const auto& [priority, target] :
       {std::pair<std::string, absl::string_view>{"PRIORITY_IMMEDIATE  target: \"1h\"", immediate},
        {"PRIORITY_URGENT     target: \"4h\"", urgent},
        {"PRIORITY_STANDARD   target: \"24h\"", standard}}) {
    const size_t at = text.find(priority);
    EXPECT_NE(at, std::string::npos) << priority;
    const std::string name = priority.substr(0, priority.find(' '));
    text.replace(at, priority.size(), absl::StrCat(name, " target: \"", target, "\""));
  }
  absl::StatusOr<TriagePolicy> policy = TriagePolicy::Parse(text, "custom-sla.textproto");
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *std::move(policy) : TriagePolicy::Shipped();
}

TEST(PolicyTest, CustomSlaTargetsAreHonoured) {
  const TriagePolicy policy = WithSla("15m", "90m", "48h0m1s");
  v1::ReportSubmission urgent = Base();
  urgent.set_planned_meeting(true);
  v1::ReportSubmission immediate = Base();
  immediate.set_immediate_danger(true);

  EXPECT_EQ(TimeOf(policy.Evaluate(immediate, Received()).due_time()),
            Received() + absl::Minutes(15));
  EXPECT_EQ(TimeOf(policy.Evaluate(urgent, Received()).due_time()), Received() + absl::Minutes(90));
  EXPECT_EQ(TimeOf(policy.Evaluate(Base(), Received()).due_time()),
            Received() + absl::Hours(48) + absl::Seconds(1));
  EXPECT_EQ(policy.sla().For(v1::PRIORITY_URGENT), absl::Minutes(90));
  EXPECT_EQ(policy.sla().For(v1::PRIORITY_ROUTINE), absl::Hours(72));
}

TEST(PolicyTest, CustomSlaAppliesToTheRaisedPriority) {
  v1::ReportSubmission young = Base();
  young.set_child_age(9);

  const v1::TriageAssessment assessment = WithSla("1h", "30m", "24h").Evaluate(young, Received());

  EXPECT_EQ(assessment.priority(), v1::PRIORITY_URGENT);
  EXPECT_EQ(TimeOf(assessment.due_time()), Received() + absl::Minutes(30));
}

// The first release's policy as it was written in code, kept as the reference the shipped
// file must reproduce.
v1::TriageAssessment FirstReleaseAssessment(const v1::ReportSubmission& s, absl::Time received) {
  v1::TriageAssessment out;
  out.set_policy_version("builtin-1");
  v1::Priority priority = v1::PRIORITY_UNSPECIFIED;
  auto has = [&](v1::ConcernCategory c) {
    return std::find(s.categories().begin(), s.categories().end(), c) != s.categories().end();
  };
  auto match = [&](const char* rule, v1::Priority p) {
    out.add_matched_rules(rule);
    if (priority == v1::PRIORITY_UNSPECIFIED) priority = p;
  };
  if (s.immediate_danger()) match("immediate-danger", v1::PRIORITY_IMMEDIATE);
  if (has(v1::CONCERN_CATEGORY_SEXUAL_EXTORTION)) match("sexual-extortion", v1::PRIORITY_URGENT);
  if (has(v1::CONCERN_CATEGORY_LIVE_STREAMED_ABUSE)) {
    match("live-streamed-abuse", v1::PRIORITY_URGENT);
  }
  if (has(v1::CONCERN_CATEGORY_CONTACT_ABUSE)) match("contact-abuse", v1::PRIORITY_URGENT);
  if (s.planned_meeting()) match("planned-meeting", v1::PRIORITY_URGENT);
  if (priority == v1::PRIORITY_UNSPECIFIED) match("default-standard", v1::PRIORITY_STANDARD);
  if (s.has_child_age() && s.child_age() < 11 && priority > v1::PRIORITY_IMMEDIATE) {
    out.add_matched_rules("child-under-11-raise");
    priority = static_cast<v1::Priority>(priority - 1);
  }
  out.set_priority(priority);
  const char* queue = "parent-carer";
  if (priority == v1::PRIORITY_IMMEDIATE) {
    queue = "immediate";
  } else if (s.reporter().type() == v1::REPORTER_TYPE_CHILD) {
    queue = "child";
  } else if (s.reporter().type() == v1::REPORTER_TYPE_PROFESSIONAL) {
    queue = "professional";
  }
  out.set_queue(queue);
  const absl::Duration sla[] = {absl::ZeroDuration(), absl::Hours(1), absl::Hours(4),
                                absl::Hours(24), absl::Hours(72)};
  *out.mutable_due_time() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
      absl::ToUnixMicros(received + sla[priority]));
  return out;
}

TEST(PolicyTest, TheShippedFileAssessesEveryCombinationAsTheFirstReleaseDid) {
  const v1::ReporterType reporters[] = {v1::REPORTER_TYPE_CHILD, v1::REPORTER_TYPE_PARENT_CARER,
                                        v1::REPORTER_TYPE_PROFESSIONAL,
                                        v1::REPORTER_TYPE_OTHER_ADULT};
  const v1::ConcernCategory categories[] = {
      v1::CONCERN_CATEGORY_GROOMING, v1::CONCERN_CATEGORY_SEXUAL_EXTORTION,
      v1::CONCERN_CATEGORY_LIVE_STREAMED_ABUSE, v1::CONCERN_CATEGORY_CONTACT_ABUSE,
      v1::CONCERN_CATEGORY_INDECENT_IMAGES};
  const std::optional<int> ages[] = {std::nullopt, 0, 7, 10, 11, 13, 17};
  int compared = 0;
  for (v1::ReporterType reporter : reporters) {
    for (int flags = 0; flags < 8; ++flags) {
      for (int subset = 1; subset < (1 << 5); ++subset) {
        for (const std::optional<int>& age : ages) {
          v1::ReportSubmission s = Base();
          SetReporter(s, reporter);
          s.set_immediate_danger(flags & 1);
          s.set_planned_meeting(flags & 2);
          s.set_ongoing_contact(flags & 4);
          s.clear_categories();
          for (int c = 0; c < 5; ++c) {
            if (subset & (1 << c)) s.add_categories(categories[c]);
          }
          if (age) {
            s.set_child_age(*age);
          } else {
            s.clear_child_age();
          }
          const v1::TriageAssessment expected = FirstReleaseAssessment(s, Received());
          const v1::TriageAssessment actual = TriagePolicy::Shipped().Evaluate(s, Received());
          ASSERT_TRUE(google::protobuf::util::MessageDifferencer::Equals(expected, actual))
              << s.ShortDebugString() << "\nexpected " << expected.ShortDebugString()
              << "\nactual   " << actual.ShortDebugString();
          ++compared;
        }
      }
    }
  }
  EXPECT_EQ(compared, 4 * 8 * 31 * 7);
}

TEST(PolicyTest, EvaluateIsDeterministic) {
  v1::ReportSubmission submission = Base();
  submission.set_child_age(7);
  submission.add_categories(v1::CONCERN_CATEGORY_LIVE_STREAMED_ABUSE);
  const TriagePolicy& policy = TriagePolicy::Shipped();

  const v1::TriageAssessment first = policy.Evaluate(submission, Received());
  const v1::TriageAssessment second = TriagePolicy::Shipped().Evaluate(submission, Received());

  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(first, second))
      << first.DebugString() << "\nvs\n"
      << second.DebugString();
}

}  // namespace
}  // namespace safeguarding::triage
