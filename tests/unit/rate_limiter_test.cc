// Tests of services/rate_limiter.h: a token bucket per principal, driven by a fake clock.
#include "services/rate_limiter.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "gtest/gtest.h"

namespace safeguarding::services {
namespace {

// Waits are computed in floating point; a microsecond is far below anything that matters.
constexpr double kToleranceSeconds = 1e-6;

absl::Time Start() { return absl::FromUnixSeconds(1'700'000'000); }

// Takes tokens until refused; returns how many were granted (at most `limit`).
int DrainCount(RateLimiter& limiter, const std::string& principal, int limit = 10'000) {
  int granted = 0;
  while (granted < limit && limiter.Acquire(principal) == absl::ZeroDuration()) ++granted;
  return granted;
}

TEST(RateLimiterTest, TheWholeBurstIsAvailableAtOnce) {
  common::FakeClock clock(Start());
  RateLimiter limiter(&clock, /*per_second=*/2, /*burst=*/5);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(limiter.Acquire("alice"), absl::ZeroDuration()) << "call " << i;
  }
}

TEST(RateLimiterTest, TheCallAfterTheBurstWaitsOneOverTheRate) {
  struct Case {
    double per_second;
    double burst;
    double wait_seconds;
  };
  for (const Case& c : {Case{2, 5, 0.5}, Case{10, 3, 0.1}, Case{0.5, 1, 2.0}, Case{1, 20, 1.0}}) {
    common::FakeClock clock(Start());
    RateLimiter limiter(&clock, c.per_second, c.burst);
    for (int i = 0; i < static_cast<int>(c.burst); ++i) {
      ASSERT_EQ(limiter.Acquire("alice"), absl::ZeroDuration())
          << "rate " << c.per_second << " burst " << c.burst << " call " << i;
    }
    const absl::Duration wait = limiter.Acquire("alice");
    EXPECT_GT(wait, absl::ZeroDuration()) << "rate " << c.per_second;
    EXPECT_NEAR(absl::ToDoubleSeconds(wait), c.wait_seconds, kToleranceSeconds)
        << "rate " << c.per_second;
  }
}

TEST(RateLimiterTest, RefusalsKeepRefusingUntilTimePasses) {
  common::FakeClock clock(Start());
  RateLimiter limiter(&clock, /*per_second=*/2, /*burst=*/1);
  ASSERT_EQ(limiter.Acquire("alice"), absl::ZeroDuration());
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(absl::ToDoubleSeconds(limiter.Acquire("alice")), 0.5, kToleranceSeconds);
  }
}

TEST(RateLimiterTest, TheWaitShrinksAsTimePasses) {
  common::FakeClock clock(Start());
  RateLimiter limiter(&clock, /*per_second=*/1, /*burst=*/1);
  ASSERT_EQ(limiter.Acquire("alice"), absl::ZeroDuration());
  // Steps exact in binary, so the sum is exactly one token.
  clock.Advance(absl::Milliseconds(250));
  EXPECT_NEAR(absl::ToDoubleSeconds(limiter.Acquire("alice")), 0.75, kToleranceSeconds);
  clock.Advance(absl::Milliseconds(500));
  EXPECT_NEAR(absl::ToDoubleSeconds(limiter.Acquire("alice")), 0.25, kToleranceSeconds);
  clock.Advance(absl::Milliseconds(250));
  EXPECT_EQ(limiter.Acquire("alice"), absl::ZeroDuration());
}

TEST(RateLimiterTest, WaitingTheAnnouncedTimeIsEnough) {
  common::FakeClock clock(Start());
  RateLimiter limiter(&clock, /*per_second=*/4, /*burst=*/2);
  ASSERT_EQ(DrainCount(limiter, "alice"), 2);
  const absl::Duration wait = limiter.Acquire("alice");
  ASSERT_GT(wait, absl::ZeroDuration());
  clock.Advance(wait);
  EXPECT_EQ(limiter.Acquire("alice"), absl::ZeroDuration());
}

TEST(RateLimiterTest, TokensRefillAtTheRate) {
  common::FakeClock clock(Start());
  RateLimiter limiter(&clock, /*per_second=*/2, /*burst=*/10);
  ASSERT_EQ(DrainCount(limiter, "alice"), 10);
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(DrainCount(limiter, "alice"), 2);
  clock.Advance(absl::Milliseconds(2500));
  EXPECT_EQ(DrainCount(limiter, "alice"), 5);
  // Half a token is not a token.
  clock.Advance(absl::Milliseconds(250));
  EXPECT_EQ(DrainCount(limiter, "alice"), 0);
  clock.Advance(absl::Milliseconds(250));
  EXPECT_EQ(DrainCount(limiter, "alice"), 1);
}

TEST(RateLimiterTest, RefillStopsAtTheBurst) {
  common::FakeClock clock(Start());
  RateLimiter limiter(&clock, /*per_second=*/5, /*burst=*/3);
  ASSERT_EQ(DrainCount(limiter, "alice"), 3);
  clock.Advance(absl::Hours(1));
  EXPECT_EQ(DrainCount(limiter, "alice"), 3);
  // An idle principal that never reached zero is capped too.
  clock.Advance(absl::Hours(1));
  ASSERT_EQ(limiter.Acquire("alice"), absl::ZeroDuration());
  clock.Advance(absl::Hours(1));
  EXPECT_EQ(DrainCount(limiter, "alice"), 3);
}

TEST(RateLimiterTest, PrincipalsHaveIndependentBuckets) {
  common::FakeClock clock(Start());
  RateLimiter limiter(&clock, /*per_second=*/1, /*burst=*/4);
  ASSERT_EQ(DrainCount(limiter, "alice"), 4);
  EXPECT_GT(limiter.Acquire("alice"), absl::ZeroDuration());
  // Bob is untouched by Alice's use, and Alice stays refused after Bob's.
  EXPECT_EQ(DrainCount(limiter, "bob"), 4);
  EXPECT_GT(limiter.Acquire("alice"), absl::ZeroDuration());
  // Names that merely look alike are different principals.
  EXPECT_EQ(DrainCount(limiter, "alice "), 4);
  EXPECT_EQ(DrainCount(limiter, "Alice"), 4);
  EXPECT_EQ(DrainCount(limiter, ""), 4);
}

TEST(RateLimiterTest, ManyPrincipalsEachGetTheirBurst) {
  common::FakeClock clock(Start());
  RateLimiter limiter(&clock, /*per_second=*/1, /*burst=*/2);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(DrainCount(limiter, absl::StrCat("principal-", i)), 2) << i;
  }
}

TEST(RateLimiterTest, ANonPositiveRateDisablesLimiting) {
  for (double per_second : {0.0, -1.0}) {
    for (double burst : {0.0, 1.0, 5.0}) {
      common::FakeClock clock(Start());
      RateLimiter limiter(&clock, per_second, burst);
      EXPECT_EQ(DrainCount(limiter, "alice", 10'000), 10'000)
          << "rate " << per_second << " burst " << burst;
    }
  }
}

// Keys from a flood of addresses do not pile up: once many are held, those whose buckets
// are full again are forgotten (a forgotten key starts full, as it would have been), and a
// key still short of tokens is kept with its debt.
TEST(RateLimiterTest, FullBucketsAreForgottenOnceManyKeysAreHeld) {
  common::FakeClock clock(Start());
  RateLimiter limiter(&clock, /*per_second=*/2, /*burst=*/2);
  EXPECT_EQ(DrainCount(limiter, "debtor"), 2);
  for (int i = 0; i < 5000; ++i) limiter.Acquire(absl::StrCat("addr-", i));
  EXPECT_EQ(limiter.keys(), 5001u) << "nothing is full yet";
  clock.Advance(absl::Milliseconds(600));  // every one-token key is full again; debtor not
  // The next sweep comes once the map has doubled since the last (at 4,096): on the way,
  // the 5,000 full keys go.
  for (int i = 0; i < 4000; ++i) limiter.Acquire(absl::StrCat("later-", i));
  EXPECT_LT(limiter.keys(), 4100u);
  EXPECT_EQ(DrainCount(limiter, "debtor"), 1) << "its debt was kept: 1.2 tokens, not 2";
  EXPECT_EQ(DrainCount(limiter, "addr-7"), 2) << "a forgotten key starts full";
}

}  // namespace
}  // namespace safeguarding::services
