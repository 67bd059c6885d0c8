#pragma once

// Generic statistics the indicators (indicators.h) are built on: summaries that skip NaN, R's
// type-7 quantile, the trend tests (Mann–Kendall, seasonal Kendall), two-sample tests (Welch's t,
// the F test of variances), the distribution functions they need, and a seeded random number
// generator whose numbers are the same on every platform. Plain functions of spans of doubles;
// NaN means "no value" everywhere. docs/indicators.md ("Statistics") gives the formulas.
//
//   KendallTrend trend = MannKendall(years, annual_means);
//   if (trend.p <= 0.05) { ... }

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace phytoflow {

// ---- Summaries (NaN values are left out) ----

// The values that are not NaN, in order.
std::vector<double> WithoutNaN(std::span<const double> values);

// The arithmetic mean; NaN when no value.
double Mean(std::span<const double> values);
// The median (the mean of the two middle values for an even count); NaN when no value.
double Median(std::span<const double> values);
// The sample standard deviation (n − 1); NaN with fewer than 2 values.
double SampleSd(std::span<const double> values);
// R's default quantile (type 7): with sorted x_1..x_n and h = (n − 1)p,
// x_⌊h⌋+1 + (h − ⌊h⌋)(x_⌊h⌋+2 − x_⌊h⌋+1). NaN when no value.
double QuantileType7(std::span<const double> values, double probability);

// ---- Trend tests ----

// The Mann–Kendall trend test (spec §3.2, the textbook definition; EnvStats::kendallTrendTest in
// the PLET tool): S = Σ_{i<j} sign(x_j − x_i) over values in time order,
// Var(S) = [n(n−1)(2n+5) − Σ_t t(t−1)(2t+5)]/18 over groups of t tied values,
// Z = (S − sign S)/√Var(S) (continuity correction), two-sided p = 2(1 − Φ(|Z|)),
// τ_a = S/(n(n−1)/2), Sen slope = median of (x_j − x_i)/(t_j − t_i).
struct KendallTrend {
  int n = 0;     // values used
  double s = 0;  // Kendall's S
  double variance = 0;
  double z = std::numeric_limits<double>::quiet_NaN();
  double p = std::numeric_limits<double>::quiet_NaN();  // NaN: < 3 values or Var(S) = 0
  double tau = std::numeric_limits<double>::quiet_NaN();
  double sen_slope = std::numeric_limits<double>::quiet_NaN();  // value units per time unit
};
// `times` and `values` pair up; pairs with a NaN value are left out; times need not be sorted
// but must differ from each other.
KendallTrend MannKendall(std::span<const double> times, std::span<const double> values);

// One season (calendar month) of the seasonal Kendall test: its values by year.
struct SeasonValues {
  std::vector<double> times;
  std::vector<double> values;
};
// The seasonal Kendall test (Hirsch et al. 1982; EnvStats::kendallSeasonalTrendTest, the PLET
// tool's `seasonal = TRUE`): S and Var(S) summed over seasons, Z = (S − sign S)/√Var(S); τ is the
// S-weighted τ over the seasons' pairs, the Sen slope the median of every season's pairwise slopes.
// Seasons with fewer than 2 values add nothing.
KendallTrend SeasonalKendall(std::span<const SeasonValues> seasons);

// ---- Two-sample tests ----

// Welch's two-sample t test (R t.test, var.equal = FALSE): t = (m_a − m_b)/√(v_a/n_a + v_b/n_b),
// Welch–Satterthwaite degrees of freedom, two-sided p. p is NaN with fewer than 2 values on a
// side or zero variance on both.
struct WelchTTest {
  int n_a = 0;
  int n_b = 0;
  double mean_a = std::numeric_limits<double>::quiet_NaN();
  double mean_b = std::numeric_limits<double>::quiet_NaN();
  double t = std::numeric_limits<double>::quiet_NaN();
  double df = std::numeric_limits<double>::quiet_NaN();
  double p = std::numeric_limits<double>::quiet_NaN();
};
WelchTTest WelchTest(std::span<const double> a, std::span<const double> b);

// The F test of two variances (R var.test): F = var(a)/var(b) with (n_a − 1, n_b − 1) degrees of
// freedom, two-sided p = 2 min(P(F ≤ f), 1 − P(F ≤ f)).
struct VarianceTest {
  double f = std::numeric_limits<double>::quiet_NaN();
  double df_a = std::numeric_limits<double>::quiet_NaN();
  double df_b = std::numeric_limits<double>::quiet_NaN();
  double p = std::numeric_limits<double>::quiet_NaN();
};
VarianceTest VarianceRatioTest(std::span<const double> a, std::span<const double> b);

// ---- Distributions ----

// Φ(z), the standard normal CDF.
double NormalCdf(double z);
// I_x(a, b), the regularised incomplete beta function (a, b > 0, 0 ≤ x ≤ 1), by the continued
// fraction of Numerical Recipes §6.4.
double RegularizedIncompleteBeta(double a, double b, double x);
// Two-sided p of Student's t with df degrees of freedom: I_{df/(df+t²)}(df/2, 1/2).
double StudentTTwoSidedP(double t, double df);
// P(F ≤ f) for Fisher's F with (df1, df2) degrees of freedom: I_{df1 f/(df1 f + df2)}(df1/2,
// df2/2).
double FDistributionCdf(double f, double df1, double df2);
// P(χ² ≥ x) with one degree of freedom: erfc(√(x/2)).
double ChiSquare1UpperP(double x);

// ---- Random numbers ----

// SplitMix64 (Steele, Lea & Flood 2014; Vigna's splitmix64.c): a small generator whose numbers
// are the same on every platform, unlike the std:: distributions, so that a seeded envelope or
// permutation test gives the same result everywhere.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  double Uniform();        // [0, 1), 53 random bits
  double Normal();         // N(0, 1), Box–Muller (one value per call)
  size_t Below(size_t n);  // [0, n), n > 0 (modulo: negligible bias for small n)

 private:
  uint64_t state_;
};

}  // namespace phytoflow
