// Tests of triage/policy.h: the built-in policy's rules as stated in its header comment,
// one table row per rule or interaction, with due times checked against a fixed clock.
#include "triage/policy.h"

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
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

  const v1::TriageAssessment assessment = TriagePolicy::BuiltIn().Evaluate(submission, Received());

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
  const TriagePolicy policy = TriagePolicy::BuiltIn();

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
  const TriagePolicy policy = TriagePolicy::BuiltIn();
  const absl::Time later = Received() + absl::Minutes(17) + absl::Microseconds(3);
  EXPECT_EQ(TimeOf(policy.Evaluate(Base(), later).due_time()), later + absl::Hours(24));
}

TEST(PolicyTest, PolicyVersionIsRecordedOnEveryAssessment) {
  const TriagePolicy policy = TriagePolicy::BuiltIn();
  EXPECT_THAT(policy.version(), Not(IsEmpty()));
  EXPECT_EQ(policy.Evaluate(Base(), Received()).policy_version(), policy.version());
  v1::ReportSubmission immediate = Base();
  immediate.set_immediate_danger(true);
  EXPECT_EQ(policy.Evaluate(immediate, Received()).policy_version(), policy.version());
}

TEST(PolicyTest, CustomSlaTargetsAreHonoured) {
  SlaTargets sla;
  sla.by_priority[v1::PRIORITY_IMMEDIATE] = absl::Minutes(15);
  sla.by_priority[v1::PRIORITY_URGENT] = absl::Minutes(90);
  sla.by_priority[v1::PRIORITY_STANDARD] = absl::Hours(48) + absl::Seconds(1);
  const TriagePolicy policy = TriagePolicy::BuiltIn(sla);
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
}

TEST(PolicyTest, CustomSlaAppliesToTheRaisedPriority) {
  SlaTargets sla;
  sla.by_priority[v1::PRIORITY_URGENT] = absl::Minutes(30);
  v1::ReportSubmission young = Base();
  young.set_child_age(9);

  const v1::TriageAssessment assessment = TriagePolicy::BuiltIn(sla).Evaluate(young, Received());

  EXPECT_EQ(assessment.priority(), v1::PRIORITY_URGENT);
  EXPECT_EQ(TimeOf(assessment.due_time()), Received() + absl::Minutes(30));
}

TEST(PolicyTest, EvaluateIsDeterministic) {
  v1::ReportSubmission submission = Base();
  submission.set_child_age(7);
  submission.add_categories(v1::CONCERN_CATEGORY_LIVE_STREAMED_ABUSE);
  const TriagePolicy policy = TriagePolicy::BuiltIn();

  const v1::TriageAssessment first = policy.Evaluate(submission, Received());
  const v1::TriageAssessment second = TriagePolicy::BuiltIn().Evaluate(submission, Received());

  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(first, second))
      << first.DebugString() << "\nvs\n"
      << second.DebugString();
}

}  // namespace
}  // namespace safeguarding::triage
