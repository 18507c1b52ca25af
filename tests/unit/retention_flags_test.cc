// The retention flags as the server parses them: periods per outcome in days or as
// durations, any case, described back the way the flag names them; and the time of the
// daily purge. Every bad item is INVALID_ARGUMENT naming it. Also the server's log line for
// a purge's result: a dry run says what would be purged, never "purged".
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "triage/retention.h"

namespace safeguarding::triage {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RetentionFlagsTest, PeriodsParseInDaysOrDurationsAndDescribeBackInOutcomeOrder) {
  absl::StatusOr<std::map<v1::Outcome, absl::Duration>> periods =
      ParseRetentionPeriods(" Duplicate=90d , no_further_action=400d,advice_given=36h");
  ASSERT_TRUE(periods.ok()) << periods.status();
  EXPECT_EQ(periods->size(), 3u);
  EXPECT_EQ(periods->at(v1::OUTCOME_NO_FURTHER_ACTION), absl::Hours(24 * 400));
  EXPECT_EQ(periods->at(v1::OUTCOME_DUPLICATE), absl::Hours(24 * 90));
  EXPECT_EQ(periods->at(v1::OUTCOME_ADVICE_GIVEN), absl::Hours(36));
  EXPECT_EQ(DescribeRetention(*periods), "advice_given=36h,no_further_action=400d,duplicate=90d");
  absl::StatusOr<std::map<v1::Outcome, absl::Duration>> none = ParseRetentionPeriods("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(RetentionFlagsTest, EveryBadItemIsNamed) {
  for (const auto& [text, named] : std::vector<std::pair<std::string, std::string>>{
           {"no_further_action", "\"no_further_action\": not OUTCOME=PERIOD"},
           {"duplicate=7d=8d", "not OUTCOME=PERIOD"},
           {"duplicate=seven", "\"duplicate=seven\": not a period"},
           {"unspecified=30d", "\"unspecified=30d\": not an outcome"},
           {"nfa=30d", "\"nfa=30d\": not an outcome"},
           {"duplicate=-3d", "not a number of days"},
           {"duplicate=23h", "the shortest retention period is 1 day"},
           {"duplicate=0d", "the shortest retention period is 1 day"},
           {"duplicate=7d,DUPLICATE=8d", "\"DUPLICATE=8d\": outcome named twice"},
       }) {
    absl::StatusOr<std::map<v1::Outcome, absl::Duration>> periods = ParseRetentionPeriods(text);
    ASSERT_FALSE(periods.ok()) << text;
    EXPECT_EQ(periods.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(periods.status().message(), HasSubstr(named)) << text;
    EXPECT_THAT(periods.status().message(), HasSubstr("--retention"));
  }
}

TEST(RetentionFlagsTest, TheDailyTimeIsHoursAndMinutesOrEmpty) {
  absl::StatusOr<std::optional<absl::Duration>> at = ParseDailyAt("02:30");
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(**at, absl::Hours(2) + absl::Minutes(30));
  at = ParseDailyAt("");
  ASSERT_TRUE(at.ok());
  EXPECT_FALSE(at->has_value());
  for (const char* bad : {"24:00", "2:30", "02:60", "0230", "ab:cd", "02:30:00"}) {
    at = ParseDailyAt(bad);
    EXPECT_EQ(at.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(at.status().message(), HasSubstr("--purge_daily_at")) << bad;
  }
}

TEST(RetentionFlagsTest, ThePurgeLogLineSaysWhatADryRunWouldPurge) {
  const Caller admin{.principal = "dev-admin"};
  v1::PurgeExpiredReportsResponse run;
  run.set_purged(3);
  run.set_examined(10);
  EXPECT_EQ(DescribePurgeRun(admin, run),
            "retention purge by dev-admin: 3 reports purged of 10 closed examined");
  run.set_dry_run(true);
  const std::string dry = DescribePurgeRun(admin, run);
  EXPECT_EQ(dry,
            "retention purge by dev-admin (dry run): 3 reports would be purged of 10 closed "
            "examined; nothing was changed");
  EXPECT_THAT(dry, Not(HasSubstr("reports purged")));
  EXPECT_EQ(DescribePurgeRun(admin, absl::UnavailableError("disk")),
            "retention purge by dev-admin failed: UNAVAILABLE: disk");
}

}  // namespace
}  // namespace safeguarding::triage
