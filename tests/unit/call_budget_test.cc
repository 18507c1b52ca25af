// Tests of services/call_budget.h: which budget each RPC of the contract takes, limits
// that hold under contention, and flags that cannot be negative.
#include "services/call_budget.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "triage/rpcs.h"

namespace safeguarding::services {
namespace {

using ::testing::HasSubstr;

CallClass ClassOf(absl::string_view service, absl::string_view method) {
  bool known = false;
  const triage::Rpc& rpc =
      triage::RpcNamed(absl::StrCat("safeguarding.triage.v1.", service), method, &known);
  EXPECT_TRUE(known) << service << "/" << method;
  return CallBudgets::ClassOf(rpc);
}

TEST(CallBudgetTest, EachServiceTakesItsOwnBudgetAndShortAdminReadsAreApart) {
  EXPECT_EQ(ClassOf("ReportIntake", "SubmitReport"), CallClass::kIntake);
  EXPECT_EQ(ClassOf("TriageDesk", "ClaimNextReport"), CallClass::kDesk);
  EXPECT_EQ(ClassOf("TriageDesk", "ListReports"), CallClass::kDesk);
  EXPECT_EQ(ClassOf("Statistics", "GetQueueStatistics"), CallClass::kStatistics);
  EXPECT_EQ(ClassOf("Administration", "GetAuditLog"), CallClass::kAdminRead);
  EXPECT_EQ(ClassOf("Administration", "ListBackups"), CallClass::kAdminRead);
  EXPECT_EQ(ClassOf("Administration", "ListEncryptionKeys"), CallClass::kAdminRead);
  EXPECT_EQ(ClassOf("Administration", "ImportReports"), CallClass::kImport);
  EXPECT_EQ(ClassOf("Administration", "RotateEncryptionKey"), CallClass::kBulk);
  EXPECT_EQ(ClassOf("Administration", "VerifyAuditLog"), CallClass::kBulk);
  EXPECT_EQ(ClassOf("Administration", "CreateBackup"), CallClass::kBulk);
  EXPECT_EQ(CallBudgets::ClassOf(triage::Rpc("/not.in/TheContract")), CallClass::kIntake);

  // Every RPC of the contract lands in a budget whose name and flag are spelled.
  std::map<std::string, int> per_budget;
  for (const triage::Rpc* rpc : triage::ContractRpcs()) {
    const CallClass c = CallBudgets::ClassOf(*rpc);
    EXPECT_THAT(std::string(CallClassFlag(c)), HasSubstr("--max_")) << rpc->path();
    ++per_budget[std::string(CallClassName(c))];
  }
  EXPECT_EQ(per_budget.size(), kCallClasses) << "no budget without an RPC";
}

TEST(CallBudgetTest, AFullBudgetRefusesNamingItsFlagAndTakesNothing) {
  CallBudgets budgets({.intake = 2, .desk = 1});
  EXPECT_TRUE(budgets.Acquire(CallClass::kIntake).ok());
  EXPECT_TRUE(budgets.Acquire(CallClass::kIntake).ok());
  const absl::Status full = budgets.Acquire(CallClass::kIntake);
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(full.message(),
            "server busy: 2 intake calls already in progress (--max_calls_in_flight); retry "
            "after a short, growing delay");
  EXPECT_EQ(budgets.in_flight(CallClass::kIntake), 2);
  EXPECT_EQ(budgets.refused(CallClass::kIntake), 1);
  EXPECT_TRUE(budgets.Acquire(CallClass::kDesk).ok()) << "the desk's budget is its own";

  budgets.Release(CallClass::kIntake);
  EXPECT_TRUE(budgets.Acquire(CallClass::kIntake).ok());
  EXPECT_EQ(budgets.refused(CallClass::kDesk), 0);
}

// While queued changes have waited longer than max_write_backlog, calls that write (intake
// and the desk) are refused at once; the others, and every call once the backlog is
// back under the limit, are admitted.
TEST(CallBudgetTest, AWriteBacklogOverItsLimitRefusesIntakeAndDeskCallsOnly) {
  absl::Duration backlog = absl::Milliseconds(700);
  CallBudgets budgets({.max_write_backlog = absl::Milliseconds(500)}, [&] { return backlog; });
  for (CallClass c : {CallClass::kIntake, CallClass::kDesk}) {
    const absl::Status refused = budgets.Acquire(c);
    EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(refused.message(),
              "server busy: changes have waited 700 ms to be written (over --max_write_backlog "
              "500ms); retry after a short, growing delay");
    EXPECT_EQ(budgets.refused(c), 1);
    EXPECT_EQ(budgets.in_flight(c), 0) << "nothing taken";
  }
  for (CallClass c : {CallClass::kStatistics, CallClass::kAdminRead, CallClass::kBulk}) {
    EXPECT_TRUE(budgets.Acquire(c).ok()) << CallClassName(c);
  }
  backlog = absl::Milliseconds(500);
  EXPECT_TRUE(budgets.Acquire(CallClass::kIntake).ok()) << "at the limit: admitted";

  CallBudgets never({.max_write_backlog = absl::ZeroDuration()}, [] { return absl::Hours(1); });
  EXPECT_TRUE(never.Acquire(CallClass::kIntake).ok()) << "0: never refused for the backlog";
  EXPECT_EQ(CallBudgetLimits{.max_write_backlog = absl::Milliseconds(-1)}.Check().message(),
            "--max_write_backlog -1ms: must be 0 (never refuse) or more");
}

// In the small budgets one principal holds at most half the slots, so a dashboard or an
// importer leaves the rest to others; intake and the desk are not capped per principal.
TEST(CallBudgetTest, OnePrincipalHoldsAtMostHalfOfASmallBudget) {
  CallBudgets budgets({.intake = 4, .statistics = 4, .imports = 1});
  EXPECT_TRUE(budgets.Acquire(CallClass::kStatistics, "monitor-1").ok());
  EXPECT_TRUE(budgets.Acquire(CallClass::kStatistics, "monitor-1").ok());
  const absl::Status third = budgets.Acquire(CallClass::kStatistics, "monitor-1");
  EXPECT_EQ(third.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(third.message()),
              HasSubstr("monitor-1 already has 2 of the 4 statistics calls in progress "
                        "(--max_statistics_in_flight)"));
  EXPECT_TRUE(budgets.Acquire(CallClass::kStatistics, "supervisor-1").ok())
      << "the other half is left to others";
  EXPECT_EQ(budgets.in_flight(CallClass::kStatistics), 3);
  budgets.Release(CallClass::kStatistics, "monitor-1");
  EXPECT_TRUE(budgets.Acquire(CallClass::kStatistics, "monitor-1").ok()) << "its share back";

  EXPECT_TRUE(budgets.Acquire(CallClass::kImport, "admin-1").ok()) << "a budget of 1: 1 each";
  EXPECT_FALSE(budgets.Acquire(CallClass::kImport, "supervisor-1").ok()) << "and full";
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(budgets.Acquire(CallClass::kIntake, "intake-app").ok());
}

TEST(CallBudgetTest, ZeroMeansNoLimit) {
  CallBudgets budgets({.statistics = 0});
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(budgets.Acquire(CallClass::kStatistics).ok());
  EXPECT_EQ(budgets.in_flight(CallClass::kStatistics), 1000);
}

// Many threads racing for few slots: never more admitted at once than the limit.
TEST(CallBudgetTest, ContendedSlotsNeverExceedTheLimit) {
  constexpr int kLimit = 3;
  CallBudgets budgets({.desk = kLimit});
  std::atomic<int> holding{0};
  std::atomic<int> most{0};
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        if (!budgets.Acquire(CallClass::kDesk).ok()) continue;
        const int now = holding.fetch_add(1) + 1;
        for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
        }
        EXPECT_LE(budgets.in_flight(CallClass::kDesk), kLimit);
        holding.fetch_sub(1);
        admitted.fetch_add(1);
        budgets.Release(CallClass::kDesk);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(most.load(), kLimit);
  EXPECT_GT(admitted.load(), 0);
  EXPECT_EQ(budgets.in_flight(CallClass::kDesk), 0);
  EXPECT_EQ(static_cast<uint64_t>(admitted.load()) + budgets.refused(CallClass::kDesk),
            uint64_t{8 * 20000});
}

TEST(CallBudgetTest, ANegativeLimitIsRefusedNamingItsFlag) {
  EXPECT_TRUE(CallBudgetLimits().Check().ok());
  EXPECT_TRUE(CallBudgetLimits{.intake = 0}.Check().ok()) << "0: no limit";
  const absl::Status negative = CallBudgetLimits{.admin_reads = -1}.Check();
  EXPECT_EQ(negative.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(negative.message(), "--max_admin_reads_in_flight -1: must be 0 (no limit) or more");
}

}  // namespace
}  // namespace safeguarding::services
