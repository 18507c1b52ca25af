// Policy files (triage/policy.h, proto/safeguarding/triage/v1/policy.proto): every kind of
// mistake is refused whole with the file, line, column and field named; and each kind of
// condition and action of a rule works as the proto's comment says.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tests/support/temp_dir.h"
#include "triage/policy.h"

namespace safeguarding::triage {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// A small valid policy; each test changes one thing. Line numbers below refer to it.
constexpr char kBase[] = R"(version: "test-1"
queues { name: "fast" }
queues { name: "slow" }
sla { priority: PRIORITY_IMMEDIATE target: "1h" }
sla { priority: PRIORITY_URGENT target: "4h" }
sla { priority: PRIORITY_STANDARD target: "24h" }
sla { priority: PRIORITY_ROUTINE target: "72h" }
rules {
  name: "danger"
  when { immediate_danger: true }
  then { priority: PRIORITY_IMMEDIATE queue: "fast" }
}
rules {
  name: "fallback"
  when { priority_set: false }
  then { priority: PRIORITY_ROUTINE }
}
routes { queue: "slow" }
)";

absl::Status ParseError(const std::string& text) {
  absl::StatusOr<TriagePolicy> policy = TriagePolicy::Parse(text, "p.textproto");
  EXPECT_FALSE(policy.ok()) << "accepted:\n" << text;
  return policy.ok() ? absl::OkStatus() : policy.status();
}

std::string Replace(const std::string& from, const std::string& to) {
  std::string text = kBase;
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(PolicyFileTest, TheBaseIsValid) {
  absl::StatusOr<TriagePolicy> policy = TriagePolicy::Parse(kBase, "p.textproto");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->version(), "test-1");
  EXPECT_THAT(policy->queues(), ElementsAre("fast", "slow"));
  EXPECT_TRUE(policy->HasQueue("slow"));
  EXPECT_FALSE(policy->HasQueue("child"));
}

struct BadFile {
  const char* name;
  std::string text;
  std::string expected;  // a substring of the error: file:line:column: field: problem
};

void PrintTo(const BadFile& c, std::ostream* os) { *os << c.name; }

std::vector<BadFile> BadFiles() {
  return {
      {"UnknownField", absl::StrCat(kBase, "colour: \"red\"\n"),
       "p.textproto:19:7: Message type \"safeguarding.triage.v1.PolicyFile\" has no field named "
       "\"colour\""},
      {"UnknownEnumName", Replace("PRIORITY_ROUTINE }", "PRIORITY_WHENEVER }"),
       "p.textproto:16:38: Unknown enumeration value of \"PRIORITY_WHENEVER\""},
      {"SyntaxError", Replace("queues { name: \"slow\" }", "queues { name: \"slow\" "),
       "p.textproto:4:5: Message type \"safeguarding.triage.v1.PolicyQueue\" has no field named "
       "\"sla\""},
      {"MissingVersion", Replace("version: \"test-1\"\n", ""),
       "p.textproto:1:1: version: required"},
      {"DuplicateQueue", Replace("name: \"slow\"", "name: \"fast\""),
       "p.textproto:3:10: queues[1].name: queue \"fast\" is declared twice"},
      {"BadQueueName", Replace("name: \"slow\"", "name: \"Slow Lane\""),
       "p.textproto:3:10: queues[1].name: required: 1 to 32 characters"},
      {"UndeclaredQueueInARule", Replace("queue: \"fast\" }", "queue: \"nowhere\" }"),
       "p.textproto:11:39: rules[0].then.queue: queue \"nowhere\" is not declared in queues"},
      {"UndeclaredQueueInARoute", Replace("routes { queue: \"slow\" }", "routes { queue: \"x\" }"),
       "p.textproto:18:10: routes[0].queue: queue \"x\" is not declared in queues"},
      {"MissingSla", Replace("sla { priority: PRIORITY_ROUTINE target: \"72h\" }\n", ""),
       "sla: PRIORITY_ROUTINE has no target"},
      {"DuplicateSla", Replace("PRIORITY_ROUTINE target", "PRIORITY_URGENT target"),
       "p.textproto:7:1: sla[3]: PRIORITY_URGENT has two targets"},
      {"UnreadableSlaTarget", Replace("target: \"4h\"", "target: \"4 hours\""),
       "p.textproto:5:33: sla[1].target: a duration between 1m and 720h"},
      {"SlaTargetTooShort", Replace("target: \"4h\"", "target: \"10s\""),
       "p.textproto:5:33: sla[1].target"},
      {"RuleWithoutName", Replace("name: \"danger\"\n", ""), "rules[0].name: required"},
      {"DuplicateRuleName", Replace("name: \"fallback\"", "name: \"danger\""),
       "p.textproto:14:3: rules[1].name: rule \"danger\" is defined twice"},
      {"RuleWithoutAction", Replace("then { priority: PRIORITY_IMMEDIATE queue: \"fast\" }", ""),
       "rules[0].then: required: a priority, raise_priority or a queue"},
      {"PriorityAndRaise",
       Replace("then { priority: PRIORITY_IMMEDIATE queue: \"fast\" }",
               "then { priority: PRIORITY_IMMEDIATE raise_priority: true }"),
       "p.textproto:11:3: rules[0].then: priority and raise_priority cannot both be set"},
      {"AgeOutOfRange", Replace("when { immediate_danger: true }", "when { child_age_max: 18 }"),
       "p.textproto:10:10: rules[0].when.child_age_max: an age from 0 to 17"},
      {"AgeRangeEmpty",
       Replace("when { immediate_danger: true }", "when { child_age_min: 12 child_age_max: 11 }"),
       "rules[0].when.child_age_min: greater than child_age_max"},
      {"UnspecifiedEnumInACondition",
       Replace("when { immediate_danger: true }",
               "when { reporter_types: REPORTER_TYPE_UNSPECIFIED }"),
       "p.textproto:10:3: rules[0].when.reporter_types: not a reporter type: 0"},
      {"NoRuleGivesEveryReportAPriority",
       Replace("when { priority_set: false }", "when { planned_meeting: true }"),
       "rules: no rule gives every report a priority"},
      {"LastRouteHasACondition",
       Replace("routes { queue: \"slow\" }",
               "routes { when { immediate_danger: false } queue: \"slow\" }"),
       "routes: the last route must have no condition"},
      {"NoRoutes", Replace("routes { queue: \"slow\" }\n", ""),
       "routes: the last route must have no condition"},
      {"NoQueues",
       absl::StrReplaceAll(
           kBase, {{"queues { name: \"fast\" }\n", ""}, {"queues { name: \"slow\" }\n", ""}}),
       "queues: required: at least one"},
  };
}

class PolicyFileErrorTest : public ::testing::TestWithParam<BadFile> {};

TEST_P(PolicyFileErrorTest, IsRefusedNamingTheLineAndTheField) {
  const absl::Status error = ParseError(GetParam().text);
  EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(error.message()), HasSubstr(GetParam().expected));
}

INSTANTIATE_TEST_SUITE_P(PolicyFileTest, PolicyFileErrorTest, ::testing::ValuesIn(BadFiles()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(PolicyFileTest, EveryProblemIsNamedAtOnce) {
  std::string text = Replace("name: \"slow\"", "name: \"fast\"");
  text = absl::StrReplaceAll(text, {{"target: \"4h\"", "target: \"soon\""}});
  const absl::Status error = ParseError(text);
  EXPECT_THAT(error.message(), AllOf(HasSubstr("queues[1].name"), HasSubstr("sla[1].target")));
}

// The message puts each problem on a line of its own: a queue name (any string in a rule or
// route) is shown escaped, so a line break in it cannot add a line, and cut when long.
TEST(PolicyFileTest, AQueueNameWithALineBreakIsRefusedEscapedOnOneLine) {
  const absl::Status error =
      ParseError(Replace("queue: \"fast\" }", "queue: \"fast\\nrules[9]: forged\\r\" }"));
  EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(error.message(),
            "triage policy refused:\n  p.textproto:11:39: rules[0].then.queue: queue "
            "\"fast\\nrules[9]: forged\\r\" is not declared in queues");
  const std::string problem(error.message().substr(error.message().find("\n  ") + 3));
  EXPECT_THAT(problem, Not(HasSubstr("\n")));
  EXPECT_THAT(problem, Not(HasSubstr("\r")));

  const absl::Status long_name =
      ParseError(Replace("routes { queue: \"slow\" }",
                         absl::StrCat("routes { queue: \"\\t", std::string(999, 'q'), "\" }")));
  EXPECT_THAT(long_name.message(),
              HasSubstr(absl::StrCat("routes[0].queue: queue \"\\t", std::string(63, 'q'),
                                     "...\" (1000 bytes) is not declared in queues")));
}

TEST(PolicyFileTest, AFileThatCannotBeReadIsAClearError) {
  absl::StatusOr<TriagePolicy> policy = TriagePolicy::LoadFile("/nonexistent/policy.textproto");
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(policy.status().message(), HasSubstr("/nonexistent/policy.textproto"));
}

TEST(PolicyFileTest, LoadFileNamesTheFileInItsErrors) {
  testing::TempDir dir;
  const std::string path = dir.Sub("broken.textproto");
  std::ofstream(path) << Replace("name: \"slow\"", "name: \"fast\"");
  absl::StatusOr<TriagePolicy> policy = TriagePolicy::LoadFile(path);
  EXPECT_THAT(policy.status().message(), HasSubstr(absl::StrCat(path, ":3:10: queues[1].name")));
}

// Rules for the semantics tests: each condition kind on its own rule, recorded by name.
constexpr char kConditions[] = R"(version: "conditions"
queues { name: "a" }
queues { name: "b" }
queues { name: "c" }
sla { priority: PRIORITY_IMMEDIATE target: "1h" }
sla { priority: PRIORITY_URGENT target: "4h" }
sla { priority: PRIORITY_STANDARD target: "24h" }
sla { priority: PRIORITY_ROUTINE target: "72h" }
rules { name: "police" when { professional_roles: PROFESSIONAL_ROLE_POLICE } then { queue: "b" } }
rules { name: "chat" when { channels_any: [CHANNEL_ONLINE_CHAT, CHANNEL_MESSAGING] }
        then { priority: PRIORITY_URGENT } }
rules { name: "teen" when { child_age_min: 13 child_age_max: 17 } then { priority: PRIORITY_STANDARD } }
rules { name: "north" when { regions: ["Northumbria", "Cleveland"] } then { raise_priority: true } }
rules { name: "contact" when { ongoing_contact: true priorities: PRIORITY_STANDARD }
        then { raise_priority: true } }
rules { name: "rest" when { priority_set: false } then { priority: PRIORITY_ROUTINE } }
rules { name: "already" when { priority_set: true } then { queue: "c" } }
routes { when { reporter_types: REPORTER_TYPE_CHILD } queue: "b" }
routes { queue: "a" }
)";

v1::ReportSubmission Submission() {
  v1::ReportSubmission s;
  s.mutable_reporter()->set_type(v1::REPORTER_TYPE_PARENT_CARER);
  s.add_categories(v1::CONCERN_CATEGORY_GROOMING);
  s.set_description("words");
  return s;
}

class PolicyConditionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TriagePolicy> policy = TriagePolicy::Parse(kConditions, "conditions");
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = std::make_unique<TriagePolicy>(*std::move(policy));
  }
  v1::TriageAssessment Assess(const v1::ReportSubmission& s) {
    return policy_->Evaluate(s, absl::FromUnixSeconds(1774258200));
  }
  std::unique_ptr<TriagePolicy> policy_;
};

TEST_F(PolicyConditionTest, NothingMatchingFallsBackAndRoutesByTheLastRoute) {
  const v1::TriageAssessment a = Assess(Submission());
  EXPECT_EQ(a.priority(), v1::PRIORITY_ROUTINE);
  EXPECT_THAT(a.matched_rules(), ElementsAre("rest", "already"));
  EXPECT_EQ(a.queue(), "c") << "a rule's queue wins over the routes";
  EXPECT_EQ(a.policy_version(), "conditions");
}

TEST_F(PolicyConditionTest, ProfessionalRolesMatchOnlyThatRoleAndTheFirstQueueSticks) {
  v1::ReportSubmission s = Submission();
  s.mutable_reporter()->set_type(v1::REPORTER_TYPE_PROFESSIONAL);
  s.mutable_reporter()->set_professional_role(v1::PROFESSIONAL_ROLE_POLICE);
  EXPECT_THAT(Assess(s).matched_rules(), ElementsAre("police", "rest", "already"));
  EXPECT_EQ(Assess(s).queue(), "b");
  s.mutable_reporter()->set_professional_role(v1::PROFESSIONAL_ROLE_TEACHER);
  EXPECT_THAT(Assess(s).matched_rules(), ElementsAre("rest", "already"));
}

TEST_F(PolicyConditionTest, ChannelsMatchAnyOfTheList) {
  v1::ReportSubmission s = Submission();
  s.add_channels(v1::CHANNEL_OFFLINE);
  EXPECT_EQ(Assess(s).priority(), v1::PRIORITY_ROUTINE);
  s.add_channels(v1::CHANNEL_MESSAGING);
  EXPECT_EQ(Assess(s).priority(), v1::PRIORITY_URGENT);
}

TEST_F(PolicyConditionTest, AgeRangesAreInclusiveAndNeedAnAge) {
  v1::ReportSubmission s = Submission();
  for (int age : {13, 17}) {
    s.set_child_age(age);
    EXPECT_EQ(Assess(s).priority(), v1::PRIORITY_STANDARD) << age;
  }
  s.set_child_age(12);
  EXPECT_EQ(Assess(s).priority(), v1::PRIORITY_ROUTINE);
  s.clear_child_age();
  EXPECT_EQ(Assess(s).priority(), v1::PRIORITY_ROUTINE) << "no age matches no age condition";
}

TEST_F(PolicyConditionTest, RaiseNeedsAPriorityToRaiseAndPrioritiesSeeThePrioritySoFar) {
  v1::ReportSubmission s = Submission();
  s.set_region("Northumbria");
  // Nothing set a priority before "north": it does not match.
  EXPECT_THAT(Assess(s).matched_rules(), ElementsAre("rest", "already"));
  s.set_child_age(14);  // "teen" sets STANDARD first
  EXPECT_EQ(Assess(s).priority(), v1::PRIORITY_URGENT);
  EXPECT_THAT(Assess(s).matched_rules(), ElementsAre("teen", "north", "already"));
  // "contact" wants STANDARD so far; after "north" it is URGENT.
  s.set_ongoing_contact(true);
  EXPECT_THAT(Assess(s).matched_rules(), ElementsAre("teen", "north", "already"));
  s.set_region("Kent");
  EXPECT_THAT(Assess(s).matched_rules(), ElementsAre("teen", "contact", "already"));
  EXPECT_EQ(Assess(s).priority(), v1::PRIORITY_URGENT);
}

TEST_F(PolicyConditionTest, RoutesSeeTheReporterType) {
  absl::StatusOr<TriagePolicy> no_queue_rule = TriagePolicy::Parse(
      absl::StrReplaceAll(kConditions,
                          {{"then { queue: \"c\" }", "then { priority: PRIORITY_URGENT }"}}),
      "routes");
  ASSERT_TRUE(no_queue_rule.ok()) << no_queue_rule.status();
  v1::ReportSubmission s = Submission();
  EXPECT_EQ(no_queue_rule->Evaluate(s, absl::UnixEpoch()).queue(), "a");
  s.mutable_reporter()->set_type(v1::REPORTER_TYPE_CHILD);
  EXPECT_EQ(no_queue_rule->Evaluate(s, absl::UnixEpoch()).queue(), "b");
}

TEST(PolicyHolderTest, SetSwapsThePolicyAndReadersKeepTheirs) {
  PolicyHolder holder(TriagePolicy::Shipped());
  std::shared_ptr<const TriagePolicy> before = holder.Get();
  absl::StatusOr<TriagePolicy> next = TriagePolicy::Parse(kBase, "p.textproto");
  ASSERT_TRUE(next.ok()) << next.status();
  holder.Set(*std::move(next));
  EXPECT_EQ(holder.Get()->version(), "test-1");
  EXPECT_EQ(before->version(), TriagePolicy::Shipped().version());
}

}  // namespace
}  // namespace safeguarding::triage
