#include "triage/rate_statistics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace safeguarding::triage {
namespace rate_internal {
namespace {

constexpr double kTiny = 1e-300;
constexpr double kEpsilon = 1e-15;
constexpr int kMaxFractionTerms = 200000;

double LogBeta(double a, double b) { return std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b); }

// The continued fraction of I_x(a, b) (DLMF 8.17.22) by the modified Lentz method; converges
// fast for x < (a + 1) / (a + b + 2).
double BetaFraction(double a, double b, double x) {
  double f = kTiny, c = f, d = 0;
  for (int j = 1; j <= kMaxFractionTerms; ++j) {
    double term = 1;  // a_1 = 1, then a_{j} = d_{j-1}
    if (j > 1) {
      const int i = j - 1;  // d_i
      const double m = std::floor(i / 2.0);
      term = i % 2 == 1 ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                        : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
    }
    d = 1 + term * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    d = 1 / d;
    c = 1 + term / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    const double delta = c * d;
    f *= delta;
    if (std::fabs(delta - 1) < kEpsilon) break;
  }
  return f;
}

// log P(X = k) for X ~ Binomial(n, p), 0 < p < 1.
double LogBinomialPmf(double k, double n, double p) {
  return std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1) + k * std::log(p) +
         (n - k) * std::log1p(-p);
}

// P(X <= k) and P(X >= k).
double BinomialCdf(uint64_t k, uint64_t n, double p) {
  if (k >= n) return 1;
  return IncompleteBeta(static_cast<double>(n - k), static_cast<double>(k) + 1, 1 - p);
}
double BinomialUpperTail(uint64_t k, uint64_t n, double p) {
  if (k == 0) return 1;
  if (k > n) return 0;
  return IncompleteBeta(static_cast<double>(k), static_cast<double>(n - k) + 1, p);
}

}  // namespace

double IncompleteBeta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double log_front = a * std::log(x) + b * std::log1p(-x) - LogBeta(a, b);
  if (x < (a + 1) / (a + b + 2)) return std::exp(log_front) * BetaFraction(a, b, x) / a;
  return 1 - std::exp(log_front) * BetaFraction(b, a, 1 - x) / b;
}

double StudentTTwoSided(double t, double df) {
  if (!std::isfinite(t)) return 0;
  return IncompleteBeta(df / 2, 0.5, df / (df + t * t));
}

double BinomialTwoSided(uint64_t k, uint64_t n, double p) {
  if (n == 0 || p <= 0 || p >= 1) return 1;
  const double nd = static_cast<double>(n), kd = static_cast<double>(k), mean = nd * p;
  if (kd == mean) return 1;
  // Outcomes on the other side of the mean that are no more likely than k (the pmf falls
  // monotonically away from the mode, so a binary search finds where they start).
  const double limit = LogBinomialPmf(kd, nd, p) + std::log1p(1e-7);
  auto unlikely = [&](uint64_t j) {
    return LogBinomialPmf(static_cast<double>(j), nd, p) <= limit;
  };
  if (kd < mean) {
    uint64_t lo = static_cast<uint64_t>(std::ceil(mean)), hi = n + 1;  // first unlikely in [lo, n]
    while (lo < hi) {
      const uint64_t mid = lo + (hi - lo) / 2;
      if (unlikely(mid))
        hi = mid;
      else
        lo = mid + 1;
    }
    return std::min(1.0, BinomialCdf(k, n, p) + BinomialUpperTail(lo, n, p));
  }
  // k above the mean: the last unlikely outcome in [0, floor(mean)], if any.
  int64_t lo = -1, hi = static_cast<int64_t>(std::floor(mean));
  while (lo < hi) {
    const int64_t mid = hi - (hi - lo) / 2;
    if (unlikely(static_cast<uint64_t>(mid)))
      lo = mid;
    else
      hi = mid - 1;
  }
  const double lower = lo < 0 ? 0 : BinomialCdf(static_cast<uint64_t>(lo), n, p);
  return std::min(1.0, lower + BinomialUpperTail(k, n, p));
}

double KolmogorovSurvival(double x) {
  if (x <= 0) return 1;
  constexpr double kPi = 3.14159265358979323846;
  double sum = 0;
  if (x < 1.18) {  // the CDF's series converges fast for small x
    for (int j = 1; j <= 50; ++j) {
      const double odd = 2.0 * j - 1;
      sum += std::exp(-odd * odd * kPi * kPi / (8 * x * x));
    }
    return std::clamp(1 - std::sqrt(2 * kPi) / x * sum, 0.0, 1.0);
  }
  for (int j = 1; j <= 50; ++j) {
    sum += (j % 2 == 1 ? 2 : -2) * std::exp(-2.0 * j * j * x * x);
  }
  return std::clamp(sum, 0.0, 1.0);
}

}  // namespace rate_internal

namespace {

using rate_internal::BinomialTwoSided;
using rate_internal::KolmogorovSurvival;
using rate_internal::StudentTTwoSided;

// The model log mu_d = alpha[weekday] + beta * [d in the second period], fitted.
struct StepFit {
  bool identified = false;  // both periods have reports and beta is estimable
  double beta = 0;
  double var_beta = 0;  // from the Fisher information, before scaling by phi
  double phi = 1;       // Pearson statistic / degrees of freedom
  int df = 0;
};

struct WeekdayTotals {
  std::array<double, 7> first_days = {}, second_days = {}, counts = {};
  double first_total = 0, second_total = 0;
};

WeekdayTotals Tally(const std::vector<DailyCount>& first, const std::vector<DailyCount>& second) {
  WeekdayTotals t;
  for (const DailyCount& d : first) {
    const int k = std::clamp(d.weekday, 0, 6);
    t.first_days[k] += 1;
    t.counts[k] += static_cast<double>(d.count);
    t.first_total += static_cast<double>(d.count);
  }
  for (const DailyCount& d : second) {
    const int k = std::clamp(d.weekday, 0, 6);
    t.second_days[k] += 1;
    t.counts[k] += static_cast<double>(d.count);
    t.second_total += static_cast<double>(d.count);
  }
  return t;
}

double PearsonTerm(const DailyCount& d, const std::array<double, 7>& level, double step) {
  const double mu = level[std::clamp(d.weekday, 0, 6)] * step;
  if (mu <= 0) return 0;
  const double r = static_cast<double>(d.count) - mu;
  return r * r / mu;
}

// The fitted weekday levels (exp(alpha)) and step (exp(beta)) for weekday tallies.
struct Levels {
  bool ok = false;
  std::array<double, 7> level = {};
  double step = 1;
  double information = 0;  // of beta, the weekday factors profiled out
  int weekdays = 0;        // present in either period
};

// Iterative proportional fitting: alternately, each weekday's level so its fitted total
// equals its count, and the step so the second period's fitted total equals its count. Then
// the information of beta: the Schur complement of the (diagonal) weekday block.
Levels FitLevels(const WeekdayTotals& t) {
  Levels fit;
  if (t.first_total <= 0 || t.second_total <= 0) return fit;
  for (int iteration = 0; iteration < 1000; ++iteration) {
    double exposure = 0;
    for (int k = 0; k < 7; ++k) {
      const double days = t.first_days[k] + t.second_days[k] * fit.step;
      fit.level[k] = days > 0 ? t.counts[k] / days : 0;
      exposure += t.second_days[k] * fit.level[k];
    }
    if (exposure <= 0) return fit;
    const double next = t.second_total / exposure;
    const bool converged = std::fabs(next - fit.step) <= 1e-13 * fit.step;
    fit.step = next;
    if (converged) break;
  }
  for (int k = 0; k < 7; ++k) {
    const double second = fit.level[k] * t.second_days[k] * fit.step;
    const double all = fit.level[k] * t.first_days[k] + second;
    if (t.first_days[k] + t.second_days[k] > 0) ++fit.weekdays;
    if (all > 0) fit.information += second - second * second / all;
  }
  fit.ok = fit.information > 0;
  return fit;
}

// The log-likelihood of the fit, up to a constant: sum y log mu - sum mu.
double LogLikelihood(const WeekdayTotals& t, const Levels& fit) {
  double ll = t.second_total * std::log(fit.step) - (t.first_total + t.second_total);
  for (int k = 0; k < 7; ++k) {
    if (t.counts[k] > 0) ll += t.counts[k] * std::log(fit.level[k]);
  }
  return ll;
}

// The step model fitted to two periods, with beta's variance and the Pearson dispersion.
StepFit FitStep(const std::vector<DailyCount>& first, const std::vector<DailyCount>& second) {
  const Levels levels = FitLevels(Tally(first, second));
  StepFit fit;
  if (!levels.ok) return fit;
  double pearson = 0;
  for (const DailyCount& d : first) pearson += PearsonTerm(d, levels.level, 1);
  for (const DailyCount& d : second) pearson += PearsonTerm(d, levels.level, levels.step);
  fit.identified = true;
  fit.beta = std::log(levels.step);
  fit.var_beta = 1 / levels.information;
  fit.df = static_cast<int>(first.size() + second.size()) - (levels.weekdays + 1);
  fit.phi = fit.df > 0 ? pearson / fit.df : 1;
  return fit;
}

// The first day of the second segment that maximises the step model's likelihood, at least
// `min_segment` days from either end (weekday tallies kept as running sums: O(days)).
size_t MostLikelyChange(const std::vector<DailyCount>& days, size_t min_segment) {
  WeekdayTotals split = Tally({}, days);
  size_t best = min_segment;
  double best_ll = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i + min_segment < days.size(); ++i) {
    const int k = std::clamp(days[i].weekday, 0, 6);
    const double y = static_cast<double>(days[i].count);
    split.first_days[k] += 1;
    split.second_days[k] -= 1;
    split.first_total += y;
    split.second_total -= y;
    if (i + 1 < min_segment) continue;
    const Levels fit = FitLevels(split);
    const double ll = fit.ok ? LogLikelihood(split, fit) : -std::numeric_limits<double>::infinity();
    if (ll > best_ll) {
      best_ll = ll;
      best = i + 1;
    }
  }
  return best;
}

uint64_t Total(const std::vector<DailyCount>& days) {
  uint64_t total = 0;
  for (const DailyCount& d : days) total += d.count;
  return total;
}

}  // namespace

RateComparison CompareRates(const std::vector<DailyCount>& baseline,
                            const std::vector<DailyCount>& comparison, double alpha) {
  RateComparison r;
  r.baseline_total = Total(baseline);
  r.comparison_total = Total(comparison);
  if (!baseline.empty()) {
    r.baseline_daily_rate = static_cast<double>(r.baseline_total) / baseline.size();
  }
  if (!comparison.empty()) {
    r.comparison_daily_rate = static_cast<double>(r.comparison_total) / comparison.size();
  }
  if (r.baseline_daily_rate > 0) {
    r.percent_change =
        100 * (r.comparison_daily_rate - r.baseline_daily_rate) / r.baseline_daily_rate;
  }
  if (baseline.empty() || comparison.empty() || r.baseline_total < kMinBaselineReports ||
      r.baseline_total + r.comparison_total < 2 * kMinBaselineReports) {
    return r;  // INSUFFICIENT_DATA
  }
  const StepFit fit = FitStep(baseline, comparison);
  double direction = r.comparison_daily_rate - r.baseline_daily_rate;
  if (fit.identified && fit.df >= 1 && fit.phi > 1) {
    r.test = RateTest::kQuasiPoisson;
    r.dispersion = fit.phi;
    r.p_value = StudentTTwoSided(fit.beta / std::sqrt(fit.phi * fit.var_beta), fit.df);
    direction = fit.beta;  // the weekday-adjusted step is what was tested
  } else {
    r.test = RateTest::kExactBinomial;
    const double share = static_cast<double>(comparison.size()) /
                         static_cast<double>(baseline.size() + comparison.size());
    r.p_value = BinomialTwoSided(r.comparison_total, r.baseline_total + r.comparison_total, share);
  }
  if (r.p_value >= alpha || direction == 0) {
    r.verdict = RateVerdict::kStable;
  } else {
    r.verdict = direction > 0 ? RateVerdict::kSignificantRise : RateVerdict::kSignificantDrop;
  }
  return r;
}

RateShift DetectShift(const std::vector<DailyCount>& days, double alpha, size_t min_segment) {
  RateShift shift;
  const uint64_t total = Total(days);
  min_segment = std::max<size_t>(min_segment, 1);
  if (days.size() < 2 * min_segment || total == 0) return shift;
  std::array<double, 7> sum = {}, count = {};
  for (const DailyCount& d : days) {
    sum[std::clamp(d.weekday, 0, 6)] += static_cast<double>(d.count);
    count[std::clamp(d.weekday, 0, 6)] += 1;
  }
  // The running sum of weekday-adjusted residuals, and where it is furthest from zero.
  double running = 0, peak = -1;
  for (size_t i = 0; i + 1 < days.size(); ++i) {
    const int k = std::clamp(days[i].weekday, 0, 6);
    running += static_cast<double>(days[i].count) - sum[k] / count[k];
    const size_t after = i + 1;
    if (after >= min_segment && days.size() - after >= min_segment) {
      peak = std::max(peak, std::fabs(running));
    }
  }
  shift.first_day_after = MostLikelyChange(days, min_segment);
  const std::vector<DailyCount> before(days.begin(), days.begin() + shift.first_day_after);
  const std::vector<DailyCount> after(days.begin() + shift.first_day_after, days.end());
  const StepFit fit = FitStep(before, after);
  shift.tested = true;
  shift.dispersion = fit.identified && fit.df >= 1 ? std::max(1.0, fit.phi) : 1.0;
  shift.p_value = KolmogorovSurvival(peak / std::sqrt(shift.dispersion * total));
  shift.found = shift.p_value < alpha;
  shift.rate_before = static_cast<double>(Total(before)) / before.size();
  shift.rate_after = static_cast<double>(Total(after)) / after.size();
  if (shift.rate_before > 0) shift.relative_change = shift.rate_after / shift.rate_before - 1;
  return shift;
}

}  // namespace safeguarding::triage
