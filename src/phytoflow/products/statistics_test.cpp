#include "phytoflow/products/statistics.h"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace phytoflow {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- Summaries --------------------------------------------------------------------------------

// {4, NaN, 1, 3, 2}: the values 1..4 without the NaN. Mean 10/4 = 2.5; median (2 + 3)/2 = 2.5,
// with a fifth value 10 the middle one, 3; SD √(Σ(x − 2.5)²/3) = √(5/3) = 1.2910.
TEST(Summaries, SkipNaN) {
  const std::vector<double> values = {4, kNaN, 1, 3, 2};
  EXPECT_EQ(WithoutNaN(values), (std::vector<double>{4, 1, 3, 2}));
  EXPECT_DOUBLE_EQ(Mean(values), 2.5);
  EXPECT_DOUBLE_EQ(Median(values), 2.5);
  EXPECT_DOUBLE_EQ(Median(std::vector<double>{4, kNaN, 1, 3, 2, 10}), 3);
  EXPECT_NEAR(SampleSd(values), std::sqrt(5.0 / 3.0), 1e-12);
  EXPECT_TRUE(std::isnan(Mean(std::vector<double>{kNaN})));
  EXPECT_TRUE(std::isnan(Median(std::vector<double>{})));
  EXPECT_TRUE(std::isnan(SampleSd(std::vector<double>{1})));
}

// ---- Trend tests ------------------------------------------------------------------------------

// The spec's test vector (§3.2): x = [1.0, 1.2, 0.9, 1.5, 1.7, 1.6, 2.0] → S = 15,
// Var = 7·6·19/18 = 44.333, Z = 14/√44.333 = 2.1026, p = 0.0355, τ = 15/21 = 0.714.
TEST(MannKendall, MatchesTheSpecTestVector) {
  const std::vector<double> times = {1, 2, 3, 4, 5, 6, 7};
  const std::vector<double> x = {1.0, 1.2, 0.9, 1.5, 1.7, 1.6, 2.0};
  const KendallTrend trend = MannKendall(times, x);
  EXPECT_EQ(trend.n, 7);
  EXPECT_DOUBLE_EQ(trend.s, 15);
  EXPECT_NEAR(trend.variance, 44.333, 5e-4);
  EXPECT_NEAR(trend.z, 2.1026, 5e-5);
  EXPECT_NEAR(trend.p, 0.0355, 5e-5);
  EXPECT_NEAR(trend.tau, 0.714, 5e-4);
  // The median of the 21 pairwise slopes, e.g. (1.5 − 1.0)/3 = 0.1667.
  EXPECT_NEAR(trend.sen_slope, 1.0 / 6.0, 1e-12);
}

// Ties: x = [1, 1, 2] → S = 0 + 1 + 1 = 2; Var = (3·2·11 − 2·1·9)/18 = (66 − 18)/18 = 2.6667;
// Z = (2 − 1)/√2.6667 = 0.6124. NaN values are left out; fewer than 3 values give no p.
TEST(MannKendall, CorrectsForTiesAndSkipsNaN) {
  const KendallTrend trend =
      MannKendall(std::vector<double>{2001, 2002, 2003, 2004}, std::vector<double>{1, kNaN, 1, 2});
  EXPECT_EQ(trend.n, 3);
  EXPECT_DOUBLE_EQ(trend.s, 2);
  EXPECT_NEAR(trend.variance, 48.0 / 18.0, 1e-12);
  EXPECT_NEAR(trend.z, 1.0 / std::sqrt(48.0 / 18.0), 1e-12);
  const KendallTrend short_series =
      MannKendall(std::vector<double>{1, 2}, std::vector<double>{1, 2});
  EXPECT_TRUE(std::isnan(short_series.p));
  EXPECT_DOUBLE_EQ(short_series.tau, 1.0);
}

// Decreasing values give a negative S and Z = (S + 1)/√Var.
TEST(MannKendall, SignOfADecrease) {
  const KendallTrend trend =
      MannKendall(std::vector<double>{1, 2, 3, 4}, std::vector<double>{4, 3, 2, 1});  // S = −6
  EXPECT_DOUBLE_EQ(trend.s, -6);
  // Var = 4·3·13/18 = 8.6667, Z = −5/√8.6667 = −1.6984.
  EXPECT_NEAR(trend.z, -5.0 / std::sqrt(156.0 / 18.0), 1e-12);
  EXPECT_DOUBLE_EQ(trend.tau, -1.0);
}

// Two seasons of 3 increasing values each: S = 3 + 3 = 6, Var = 2 × 3·2·11/18 = 7.3333,
// Z = 5/√7.3333 = 1.8464.
TEST(SeasonalKendall, SumsTheSeasons) {
  const std::vector<SeasonValues> seasons = {{{2001, 2002, 2003}, {1, 2, 3}},
                                             {{2001, 2002, 2003}, {5, 6, 9}},
                                             {{2001}, {4}}};  // one value: adds nothing
  const KendallTrend trend = SeasonalKendall(seasons);
  EXPECT_DOUBLE_EQ(trend.s, 6);
  EXPECT_NEAR(trend.variance, 2 * 66.0 / 18.0, 1e-12);
  EXPECT_NEAR(trend.z, 5.0 / std::sqrt(132.0 / 18.0), 1e-12);
  EXPECT_DOUBLE_EQ(trend.tau, 1.0);
  // Slopes 1, 1, 2 (season 1: all 1) and 1, 3, 2 (season 2: 1, 4/2, 3): median of
  // {1, 1, 1, 1, 2, 3} = 1.
  EXPECT_DOUBLE_EQ(trend.sen_slope, 1.0);
}

TEST(Distributions, MatchClosedForms) {
  EXPECT_NEAR(NormalCdf(1.959963984540054), 0.975, 1e-12);
  // Student t with 2 df: P(|T| > t) = 1 − t/√(2 + t²); t = 2 → 1 − 2/√6 = 0.183503.
  EXPECT_NEAR(StudentTTwoSidedP(2.0, 2.0), 1.0 - 2.0 / std::sqrt(6.0), 1e-12);
  // 1 df (Cauchy): P(|T| > 1) = 1 − (2/π)·atan(1) = 0.5.
  EXPECT_NEAR(StudentTTwoSidedP(1.0, 1.0), 0.5, 1e-12);
  // F(4, 4): P(F ≤ f) = I_z(2, 2) = 3z² − 2z³ with z = f/(1 + f); f = 0.25 → z = 0.2 → 0.104.
  EXPECT_NEAR(FDistributionCdf(0.25, 4, 4), 0.104, 1e-12);
  // I_x(1, 1) = x; I_x(a, 1) = x^a.
  EXPECT_NEAR(RegularizedIncompleteBeta(1, 1, 0.3), 0.3, 1e-12);
  EXPECT_NEAR(RegularizedIncompleteBeta(3, 1, 0.5), 0.125, 1e-12);
  // χ²₁ at 3.841459 is the 95 % quantile.
  EXPECT_NEAR(ChiSquare1UpperP(3.841458820694124), 0.05, 1e-9);
  EXPECT_TRUE(std::isnan(StudentTTwoSidedP(kNaN, 3)));
}

// R: quantile(1:10, c(0.25, 0.975)) = 3.25 and 9.775 (h = 9p: 2.25 → 3 + 0.25; 8.775 → 9.775).
TEST(QuantileType7, MatchesR) {
  const std::vector<double> values = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1, kNaN};
  EXPECT_DOUBLE_EQ(QuantileType7(values, 0.25), 3.25);
  EXPECT_DOUBLE_EQ(QuantileType7(values, 0.975), 9.775);
  EXPECT_DOUBLE_EQ(QuantileType7(values, 0.0), 1);
  EXPECT_DOUBLE_EQ(QuantileType7(values, 1.0), 10);
  EXPECT_TRUE(std::isnan(QuantileType7(std::vector<double>{}, 0.5)));
}

// t.test(1:5, c(2, 4, 6, 8, 10)): means 3 and 6, variances 2.5 and 10,
// t = −3/√(0.5 + 2) = −1.8974, df = 2.5²/(0.5²/4 + 2²/4) = 5.8824, p = 0.1075 (numerical
// integration of the t density). var.test: F = 2.5/10 = 0.25, p = 2 × 0.104 = 0.208.
TEST(TwoSampleTests, WelchAndVarianceRatio) {
  const std::vector<double> a = {1, 2, 3, 4, 5};
  const std::vector<double> b = {2, 4, 6, 8, 10};
  const WelchTTest t = WelchTest(a, b);
  EXPECT_NEAR(t.t, -3.0 / std::sqrt(2.5), 1e-12);
  EXPECT_NEAR(t.df, 6.25 / (0.0625 + 1.0), 1e-12);
  EXPECT_NEAR(t.p, 0.107531, 1e-6);
  EXPECT_DOUBLE_EQ(t.mean_a, 3);
  EXPECT_DOUBLE_EQ(t.mean_b, 6);
  const VarianceTest f = VarianceRatioTest(a, b);
  EXPECT_DOUBLE_EQ(f.f, 0.25);
  EXPECT_DOUBLE_EQ(f.df_a, 4);
  EXPECT_NEAR(f.p, 0.208, 1e-12);
  EXPECT_TRUE(std::isnan(WelchTest(std::vector<double>{1}, b).p));
}

// ---- Random numbers ---------------------------------------------------------------------------

// The reference outputs of Vigna's splitmix64.c for the seed 1234567 (the first five), and for
// seed 0 the first one, 0xE220A8397B1DCDAF.
TEST(SplitMix64, MatchesTheReferenceGenerator) {
  SplitMix64 random(1234567);
  EXPECT_EQ(random.Next(), 6457827717110365317ULL);
  EXPECT_EQ(random.Next(), 3203168211198807973ULL);
  EXPECT_EQ(random.Next(), 9817491932198370423ULL);
  EXPECT_EQ(random.Next(), 4593380528125082431ULL);
  EXPECT_EQ(random.Next(), 16408922859458223821ULL);
  EXPECT_EQ(SplitMix64(0).Next(), 0xE220A8397B1DCDAFULL);
}

// Uniform is the top 53 bits of Next() / 2^53; Below stays in range; 20,000 normal draws have
// mean 0 ± 4·(1/√20000) = ±0.028 and SD 1 ± 0.03 (the SD of a sample SD is about 1/√(2n) = 0.005).
TEST(SplitMix64, DistributionsHaveTheirRangeAndMoments) {
  SplitMix64 first(7);
  SplitMix64 second(7);
  EXPECT_DOUBLE_EQ(first.Uniform(), static_cast<double>(second.Next() >> 11) / 9007199254740992.0);
  for (int i = 0; i < 1000; ++i) {
    const double u = first.Uniform();
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
    EXPECT_LT(first.Below(3), 3u);
  }
  SplitMix64 random(42);
  std::vector<double> draws;
  for (int i = 0; i < 20000; ++i) {
    draws.push_back(random.Normal());
  }
  EXPECT_NEAR(Mean(draws), 0.0, 0.028);
  EXPECT_NEAR(SampleSd(draws), 1.0, 0.03);
  SplitMix64 again(42);
  EXPECT_EQ(again.Normal(), draws[0]);  // seeded: the same sequence
}

}  // namespace
}  // namespace phytoflow
