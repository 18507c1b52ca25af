#!/usr/bin/python3
"""Reference values for tests/unit/rate_statistics_test.cc, computed independently of the
C++ code: the quasi-Poisson comparison as a Poisson GLM fitted by IRLS with numpy (weekday
dummies and a period indicator), Student's t, the exact binomial test and the Kolmogorov
distribution from scipy. Run it with Debian's python3-scipy and paste its output into the
test; the test never runs it.

    /usr/bin/python3 tests/unit/rate_statistics_reference.py
"""
import numpy as np
from scipy import special, stats


def series(rng, days, first_weekday, weekday_means, scale, dispersion):
    """Daily counts: negative binomial around a weekday pattern (dispersion > 1), or Poisson."""
    out = []
    for d in range(days):
        wd = (first_weekday + d) % 7
        mu = weekday_means[wd] * scale
        if dispersion > 1:
            n = mu / (dispersion - 1)  # var = mu * dispersion
            out.append((wd, int(rng.negative_binomial(n, n / (n + mu)))))
        else:
            out.append((wd, int(rng.poisson(mu))))
    return out


def quasi_poisson(baseline, comparison):
    rows = [(wd, y, 0.0) for wd, y in baseline] + [(wd, y, 1.0) for wd, y in comparison]
    present = sorted({wd for wd, _, _ in rows})
    X = np.array([[1.0 if wd == k else 0.0 for k in present] + [c] for wd, _, c in rows])
    y = np.array([float(v) for _, v, _ in rows])
    beta = np.zeros(X.shape[1])
    beta[:-1] = np.log(np.maximum(y.mean(), 0.5))
    for _ in range(100):  # IRLS for the log link
        mu = np.exp(X @ beta)
        z = X @ beta + (y - mu) / mu
        W = mu
        new = np.linalg.solve(X.T @ (W[:, None] * X), X.T @ (W * z))
        if np.max(np.abs(new - beta)) < 1e-13:
            beta = new
            break
        beta = new
    mu = np.exp(X @ beta)
    df = len(y) - X.shape[1]
    phi = float(np.sum((y - mu) ** 2 / mu) / df)
    cov = np.linalg.inv(X.T @ (mu[:, None] * X))
    t = beta[-1] / np.sqrt(phi * cov[-1, -1])
    return phi, df, float(beta[-1]), float(2 * stats.t.sf(abs(t), df))


def cpp_days(name, days):
    body = ", ".join("{%d, %d}" % d for d in days)
    return "const std::vector<DailyCount> %s = {%s};" % (name, body)


def main():
    rng = np.random.default_rng(20200323)
    school = [30, 32, 31, 33, 28, 9, 7]  # professionals: weekdays busy, weekends quiet
    cases = {
        "kStableOverdispersed": (series(rng, 56, 0, school, 1.0, 3.0),
                                 series(rng, 28, 0, school, 1.0, 3.0)),
        "kDropOverdispersed": (series(rng, 56, 0, school, 1.0, 3.0),
                               series(rng, 28, 0, school, 0.6, 3.0)),
        "kSmallDropOverdispersed": (series(rng, 56, 3, school, 1.0, 4.0),
                                    series(rng, 21, 3, school, 0.85, 4.0)),
    }
    for name, (b, c) in cases.items():
        phi, df, beta, p = quasi_poisson(b, c)
        print(cpp_days(name + "Baseline", b))
        print(cpp_days(name + "Comparison", c))
        print("// %s: phi %.17g, df %d, beta %.17g, p %.17g" % (name, phi, df, beta, p))
    # Counts without over-dispersion: the comparison falls back to the exact test on totals.
    for name, b, c in [("kPoissonA", series(rng, 28, 0, [9, 9, 9, 9, 9, 9, 9], 1.0, 1.0),
                        series(rng, 14, 0, [9, 9, 9, 9, 9, 9, 9], 0.7, 1.0)),
                       ("kPoissonB", series(rng, 35, 2, [4, 4, 4, 4, 4, 4, 4], 1.0, 1.0),
                        series(rng, 35, 2, [4, 4, 4, 4, 4, 4, 4], 1.0, 1.0))]:
        phi, df, beta, _ = quasi_poisson(b, c)
        total_b, total_c = sum(y for _, y in b), sum(y for _, y in c)
        p = stats.binomtest(total_c, total_b + total_c, len(c) / (len(b) + len(c))).pvalue
        print(cpp_days(name + "Baseline", b))
        print(cpp_days(name + "Comparison", c))
        print("// %s: phi %.17g, totals %d %d, exact p %.17g" % (name, phi, total_b, total_c, p))
    # Exact binomial (scipy's two-sided definition).
    for k, n, share in [(12, 40, 0.5), (30, 40, 0.5), (5, 60, 1 / 3), (7, 21, 0.25),
                        (1400, 3000, 0.5), (0, 10, 0.5)]:
        print("{%d, %d, %.17g, %.17g}," % (k, n, share, stats.binomtest(k, n, share).pvalue))
    for a, b, x in [(2.5, 0.5, 0.3), (14.0, 0.5, 0.9), (100.0, 200.0, 0.35), (0.5, 0.5, 0.01)]:
        print("{%.17g, %.17g, %.17g, %.17g}," % (a, b, x, special.betainc(a, b, x)))
    for t, df in [(2.0, 10), (-3.1, 75), (0.5, 3), (6.0, 40)]:
        print("{%.17g, %d, %.17g}," % (t, df, 2 * stats.t.sf(abs(t), df)))
    for x in [0.3, 0.8, 1.0, 1.18, 1.36, 2.0, 3.5]:
        print("{%.17g, %.17g}," % (x, special.kolmogorov(x)))


if __name__ == "__main__":
    main()
