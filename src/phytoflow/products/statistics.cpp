#include "phytoflow/products/statistics.h"

#include <algorithm>
#include <cmath>

namespace phytoflow {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double SampleVariance(std::span<const double> values) {
  const double sd = SampleSd(values);
  return sd * sd;
}

int Sign(double value) {
  return value > 0 ? 1 : (value < 0 ? -1 : 0);
}

// Σ over groups of t tied values of t(t−1)(2t+5): the tie correction of Var(S).
double TieCorrection(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  double correction = 0;
  size_t start = 0;
  while (start < values.size()) {
    size_t end = start + 1;
    while (end < values.size() && values[end] == values[start]) {
      ++end;
    }
    const double t = static_cast<double>(end - start);
    correction += t * (t - 1) * (2 * t + 5);
    start = end;
  }
  return correction;
}

// S, Var(S), the number of pairs and the pairwise slopes of one series; Var(S) without ties is
// n(n−1)(2n+5)/18 (spec §3.2).
struct KendallSums {
  int n = 0;
  double s = 0;
  double variance = 0;
  double pairs = 0;
  std::vector<double> slopes;
};

KendallSums SumKendall(std::span<const double> times, std::span<const double> values) {
  std::vector<std::pair<double, double>> points;
  for (size_t i = 0; i < times.size() && i < values.size(); ++i) {
    if (!std::isnan(values[i])) {
      points.emplace_back(times[i], values[i]);
    }
  }
  std::sort(points.begin(), points.end());
  KendallSums sums;
  sums.n = static_cast<int>(points.size());
  std::vector<double> ordered;
  for (size_t i = 0; i < points.size(); ++i) {
    ordered.push_back(points[i].second);
    for (size_t j = i + 1; j < points.size(); ++j) {
      const double dt = points[j].first - points[i].first;
      sums.s += Sign(dt) * Sign(points[j].second - points[i].second);
      if (dt != 0) {
        sums.slopes.push_back((points[j].second - points[i].second) / dt);
      }
    }
  }
  const double n = sums.n;
  sums.pairs = n * (n - 1) / 2;
  sums.variance = (n * (n - 1) * (2 * n + 5) - TieCorrection(ordered)) / 18.0;
  return sums;
}

// Z with the continuity correction and its two-sided p (spec §3.2).
void FinishKendall(KendallTrend& trend) {
  if (trend.n < 3 || trend.variance <= 0) {
    return;
  }
  trend.z = trend.s == 0 ? 0.0 : (trend.s - Sign(trend.s)) / std::sqrt(trend.variance);
  trend.p = std::erfc(std::fabs(trend.z) / std::sqrt(2.0));  // 2(1 − Φ(|Z|)), exact in the tail
}

// The continued fraction of I_x(a, b) (Numerical Recipes §6.4, modified Lentz).
double BetaContinuedFraction(double a, double b, double x) {
  constexpr int kMaxIterations = 500;
  constexpr double kEpsilon = 1e-15;
  constexpr double kTiny = 1e-300;
  const double qab = a + b;
  const double qap = a + 1.0;
  const double qam = a - 1.0;
  double c = 1.0;
  double d = 1.0 - qab * x / qap;
  if (std::fabs(d) < kTiny) {
    d = kTiny;
  }
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= kMaxIterations; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    d = std::fabs(d) < kTiny ? kTiny : d;
    c = 1.0 + aa / c;
    c = std::fabs(c) < kTiny ? kTiny : c;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    d = std::fabs(d) < kTiny ? kTiny : d;
    c = 1.0 + aa / c;
    c = std::fabs(c) < kTiny ? kTiny : c;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEpsilon) {
      break;
    }
  }
  return h;
}

}  // namespace

// ---- Summaries ----

std::vector<double> WithoutNaN(std::span<const double> values) {
  std::vector<double> kept;
  for (const double value : values) {
    if (!std::isnan(value)) {
      kept.push_back(value);
    }
  }
  return kept;
}

double Mean(std::span<const double> values) {
  double sum = 0;
  int count = 0;
  for (const double value : values) {
    if (!std::isnan(value)) {
      sum += value;
      ++count;
    }
  }
  return count > 0 ? sum / count : kNaN;
}

double Median(std::span<const double> values) {
  std::vector<double> sorted = WithoutNaN(values);
  if (sorted.empty()) {
    return kNaN;
  }
  std::sort(sorted.begin(), sorted.end());
  const size_t middle = sorted.size() / 2;
  return sorted.size() % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2.0;
}

KendallTrend MannKendall(std::span<const double> times, std::span<const double> values) {
  KendallSums sums = SumKendall(times, values);
  KendallTrend trend{.n = sums.n, .s = sums.s, .variance = sums.variance};
  if (sums.n >= 2) {
    trend.tau = sums.s / sums.pairs;  // τ_a (spec §3.2)
    trend.sen_slope = Median(sums.slopes);
  }
  FinishKendall(trend);
  return trend;
}

KendallTrend SeasonalKendall(std::span<const SeasonValues> seasons) {
  KendallTrend trend;
  double pairs = 0;
  std::vector<double> slopes;
  for (const SeasonValues& season : seasons) {
    KendallSums sums = SumKendall(season.times, season.values);
    if (sums.n < 2) {
      continue;
    }
    trend.n += sums.n;
    trend.s += sums.s;
    trend.variance += sums.variance;
    pairs += sums.pairs;
    slopes.insert(slopes.end(), sums.slopes.begin(), sums.slopes.end());
  }
  if (pairs > 0) {
    trend.tau = trend.s / pairs;
    trend.sen_slope = Median(slopes);
  }
  FinishKendall(trend);
  return trend;
}

double NormalCdf(double z) {
  return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

double RegularizedIncompleteBeta(double a, double b, double x) {
  if (std::isnan(x) || std::isnan(a) || std::isnan(b) || a <= 0 || b <= 0) {
    return kNaN;
  }
  if (x <= 0) {
    return 0.0;
  }
  if (x >= 1) {
    return 1.0;
  }
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x));
  // The continued fraction converges fast for x < (a + 1)/(a + b + 2); else use the symmetry
  // I_x(a, b) = 1 − I_{1−x}(b, a).
  if (x < (a + 1.0) / (a + b + 2.0)) {
    return front * BetaContinuedFraction(a, b, x) / a;
  }
  return 1.0 - front * BetaContinuedFraction(b, a, 1.0 - x) / b;
}

double StudentTTwoSidedP(double t, double df) {
  if (std::isnan(t) || std::isnan(df) || df <= 0) {
    return kNaN;
  }
  if (std::isinf(t)) {
    return 0.0;
  }
  return RegularizedIncompleteBeta(df / 2.0, 0.5, df / (df + t * t));
}

double FDistributionCdf(double f, double df1, double df2) {
  if (std::isnan(f) || std::isnan(df1) || std::isnan(df2) || df1 <= 0 || df2 <= 0) {
    return kNaN;
  }
  if (f <= 0) {
    return 0.0;
  }
  if (std::isinf(f)) {
    return 1.0;
  }
  return RegularizedIncompleteBeta(df1 / 2.0, df2 / 2.0, df1 * f / (df1 * f + df2));
}

double ChiSquare1UpperP(double x) {
  if (std::isnan(x)) {
    return kNaN;
  }
  return x <= 0 ? 1.0 : std::erfc(std::sqrt(x / 2.0));
}

double QuantileType7(std::span<const double> values, double probability) {
  std::vector<double> sorted = WithoutNaN(values);
  if (sorted.empty()) {
    return kNaN;
  }
  std::sort(sorted.begin(), sorted.end());
  const double h = (static_cast<double>(sorted.size()) - 1.0) * probability;
  const size_t low = static_cast<size_t>(std::floor(h));
  const size_t high = std::min(low + 1, sorted.size() - 1);
  return sorted[low] + (h - std::floor(h)) * (sorted[high] - sorted[low]);
}

double SampleSd(std::span<const double> values) {
  const std::vector<double> kept = WithoutNaN(values);
  if (kept.size() < 2) {
    return kNaN;
  }
  const double mean = Mean(kept);
  double squares = 0;
  for (const double value : kept) {
    squares += (value - mean) * (value - mean);
  }
  return std::sqrt(squares / static_cast<double>(kept.size() - 1));
}

WelchTTest WelchTest(std::span<const double> a, std::span<const double> b) {
  const std::vector<double> x = WithoutNaN(a);
  const std::vector<double> y = WithoutNaN(b);
  WelchTTest test{.n_a = static_cast<int>(x.size()),
                  .n_b = static_cast<int>(y.size()),
                  .mean_a = Mean(x),
                  .mean_b = Mean(y)};
  if (x.size() < 2 || y.size() < 2) {
    return test;
  }
  const double se_a = SampleVariance(x) / static_cast<double>(x.size());
  const double se_b = SampleVariance(y) / static_cast<double>(y.size());
  const double se2 = se_a + se_b;
  if (se2 <= 0) {
    return test;
  }
  test.t = (test.mean_a - test.mean_b) / std::sqrt(se2);
  test.df = se2 * se2 /
            (se_a * se_a / static_cast<double>(x.size() - 1) +
             se_b * se_b / static_cast<double>(y.size() - 1));
  test.p = StudentTTwoSidedP(test.t, test.df);
  return test;
}

VarianceTest VarianceRatioTest(std::span<const double> a, std::span<const double> b) {
  const std::vector<double> x = WithoutNaN(a);
  const std::vector<double> y = WithoutNaN(b);
  VarianceTest test;
  if (x.size() < 2 || y.size() < 2) {
    return test;
  }
  const double variance_b = SampleVariance(y);
  if (variance_b <= 0) {
    return test;
  }
  test.df_a = static_cast<double>(x.size() - 1);
  test.df_b = static_cast<double>(y.size() - 1);
  test.f = SampleVariance(x) / variance_b;
  const double below = FDistributionCdf(test.f, test.df_a, test.df_b);
  test.p = 2.0 * std::min(below, 1.0 - below);  // R var.test
  return test;
}

// ---- Random numbers ----

uint64_t SplitMix64::Next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double SplitMix64::Uniform() {
  return static_cast<double>(Next() >> 11) * 0x1.0p-53;
}

double SplitMix64::Normal() {
  const double u1 = 1.0 - Uniform();  // (0, 1]: log(u1) is finite
  const double u2 = Uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.141592653589793 * u2);
}

size_t SplitMix64::Below(size_t n) {
  return static_cast<size_t>(Next() % n);
}

}  // namespace phytoflow
