// Statistics of daily report counts: comparing the rate of two periods, and finding the day
// a rate changed. Pure functions of the counts (no storage, no clock).
//
// Report counts are over-dispersed: weekdays differ from weekends, term time from holidays,
// and one incident brings several reports. A bare Poisson test on two totals would call
// ordinary week-to-week noise significant, so both tests below adjust for the day of the
// week and estimate the over-dispersion from the daily counts themselves.
//
// CompareRates: a log-linear model of the daily counts of both periods, a factor per day
// of the week and a step between the periods,
//     log E[y_d] = alpha[weekday(d)] + beta * [d in the comparison period],
// fitted by maximum likelihood (iterative proportional fitting: the fitted totals of each
// weekday and of the comparison period equal the observed ones). The dispersion phi is the
// Pearson statistic sum((y - mu)^2 / mu) over N - p degrees of freedom (N days, p = the
// weekdays present + 1), and beta = 0 is tested with t = beta / sqrt(phi * Var(beta))
// against Student's t with N - p degrees of freedom: the quasi-Poisson test (R's
// glm(family = quasipoisson) gives the same p-value). When there is no over-dispersion to
// account for (phi <= 1), no degree of freedom to estimate it, or a period with no reports
// at all, it falls back to the exact conditional test: given the total, the comparison
// period's count is binomial with the comparison period's share of the days, two-sided by
// adding up every outcome no more likely than the one observed.
//
// DetectShift: the most likely day a weekday-adjusted rate stepped up or down: the day
// (at least `min_segment` days from either end) whose step model, weekday factors and one
// rate before and one after, has the highest likelihood. Its significance: the residuals
// of the weekday-only model (y_d - mean of that weekday) are summed day by day; with no
// change the running sum wanders like a Brownian bridge, and a step makes it peak. The
// statistic is the peak of |sum| over sqrt(phi * total), with phi from the step model at
// the change day, and its p-value is the Kolmogorov distribution's tail (the supremum of
// a Brownian bridge).
#ifndef SAFEGUARDING_TRIAGE_RATE_STATISTICS_H_
#define SAFEGUARDING_TRIAGE_RATE_STATISTICS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace safeguarding::triage {

// One day's count and its day of the week (0 Monday .. 6 Sunday, in the caller's zone).
struct DailyCount {
  int weekday = 0;
  uint64_t count = 0;
};

enum class RateVerdict { kStable, kSignificantRise, kSignificantDrop, kInsufficientData };
enum class RateTest { kQuasiPoisson, kExactBinomial, kNone };

struct RateComparison {
  uint64_t baseline_total = 0;
  uint64_t comparison_total = 0;
  double baseline_daily_rate = 0;    // total / days
  double comparison_daily_rate = 0;  // total / days
  // 100 * (comparison rate - baseline rate) / baseline rate; 0 without a baseline rate.
  double percent_change = 0;
  double p_value = 1;     // two-sided
  double dispersion = 1;  // phi; 1 for the exact test
  RateTest test = RateTest::kNone;
  RateVerdict verdict = RateVerdict::kInsufficientData;
};

// Fewer reports than this in the baseline, or in both periods together twice this, or a
// period without days: INSUFFICIENT_DATA (no rate to compare with).
inline constexpr uint64_t kMinBaselineReports = 5;

// Compares the daily rate of `comparison` with that of `baseline`. `alpha`: significance
// level (a verdict other than STABLE needs p < alpha).
RateComparison CompareRates(const std::vector<DailyCount>& baseline,
                            const std::vector<DailyCount>& comparison, double alpha);

struct RateShift {
  bool tested = false;         // false: too few days (fewer than 2 * min_segment) or no reports
  bool found = false;          // tested and p < alpha
  size_t first_day_after = 0;  // index into the days of the first day at the new rate
  double rate_before = 0;      // mean daily count before that day
  double rate_after = 0;       // and from it on
  double relative_change = 0;  // rate_after / rate_before - 1
  double p_value = 1;
  double dispersion = 1;
};

// The most likely step change in `days` (consecutive days, oldest first).
RateShift DetectShift(const std::vector<DailyCount>& days, double alpha, size_t min_segment = 7);

// The distributions the tests use, exposed for their own tests.
namespace rate_internal {
// Regularised incomplete beta function I_x(a, b), a, b > 0, 0 <= x <= 1.
double IncompleteBeta(double a, double b, double x);
// P(|T| >= |t|) for Student's t with `df` degrees of freedom.
double StudentTTwoSided(double t, double df);
// Two-sided exact binomial test of k successes in n trials with success probability p
// (outcomes no more likely than k, with a relative tolerance of 1e-7 as scipy's binomtest).
double BinomialTwoSided(uint64_t k, uint64_t n, double p);
// P(sup |Brownian bridge| > x): the Kolmogorov distribution's survival function.
double KolmogorovSurvival(double x);
}  // namespace rate_internal

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_RATE_STATISTICS_H_
