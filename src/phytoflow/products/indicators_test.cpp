#include "phytoflow/products/indicators.h"

#include "phytoflow/core/error.h"

#include <cmath>
#include <numbers>

#include <gtest/gtest.h>

namespace phytoflow {
namespace {

constexpr double kNaN = kIndicatorNaN;

// A series of whole years, January first, from `first_year`, with one sample in every month whose
// value is not NaN.
MonthlySeries Series(const std::string& name, int first_year, const std::vector<double>& values) {
  MonthlySeries series{.name = name, .points = {}};
  for (size_t i = 0; i < values.size(); ++i) {
    const bool sampled = !std::isnan(values[i]);
    series.points.push_back({.year = first_year + static_cast<int>(i / 12),
                             .month = static_cast<int>(i % 12) + 1,
                             .samples = sampled ? 1 : 0,
                             .mean = values[i],
                             .predicted_share = sampled ? 0.0 : kNaN});
  }
  return series;
}

// ---- Periods and options ------------------------------------------------------------------

TEST(AssessmentPeriods, ParsesAndValidates) {
  EXPECT_EQ(ParseYearRange("2015-2020", "--reference"), std::make_pair(2015, 2020));
  EXPECT_EQ(ParseYearRange("2021", "--comparison"), std::make_pair(2021, 2021));
  EXPECT_THROW(ParseYearRange("2015-20", "--reference"), Error);
  EXPECT_THROW(ParseYearRange("last-year", "--reference"), Error);
  AssessmentPeriods periods{2015, 2020, 2021, 2025};
  EXPECT_NO_THROW(periods.Validate());
  EXPECT_EQ(periods.FirstYear(), 2015);
  EXPECT_EQ(periods.LastYear(), 2025);
  periods.comparison_first = 2020;  // overlaps
  try {
    periods.Validate();
    FAIL() << "overlapping periods accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
    EXPECT_NE(std::string(error.what()).find("overlap"), std::string::npos);
  }
  EXPECT_THROW((AssessmentPeriods{2020, 2015, 2021, 2022}.Validate()), Error);
}

// PH3 and the series cover both periods whichever comes first: reference 2021–2025 and
// comparison 2015–2020 span 2015–2025; one period alone is its own span; none: `otherwise`.
TEST(PeriodSpan, CoversThePeriodsGivenInEitherOrder) {
  const auto later = std::make_optional(std::make_pair(2021, 2025));
  const auto earlier = std::make_optional(std::make_pair(2015, 2020));
  const std::pair<int, int> otherwise = {2000, 2030};
  EXPECT_EQ(PeriodSpan(later, earlier, otherwise), std::make_pair(2015, 2025));
  EXPECT_EQ(PeriodSpan(earlier, later, otherwise), std::make_pair(2015, 2025));
  EXPECT_EQ(PeriodSpan(later, std::nullopt, otherwise), std::make_pair(2021, 2025));
  EXPECT_EQ(PeriodSpan(std::nullopt, earlier, otherwise), std::make_pair(2015, 2020));
  EXPECT_EQ(PeriodSpan(std::nullopt, std::nullopt, otherwise), otherwise);
  EXPECT_THROW(PeriodSpan(std::make_pair(2020, 2015), std::nullopt, otherwise), Error);
}

TEST(LifeformPairs, ParseAndDefaults) {
  EXPECT_EQ(ParseLifeformPair("diatom-dinoflagellate"), (LifeformPair{"diatom", "dinoflagellate"}));
  EXPECT_EQ(ParseLifeformPair("lg_phyto,sm_phyto"), (LifeformPair{"lg_phyto", "sm_phyto"}));
  EXPECT_THROW(ParseLifeformPair("diatom"), Error);
  EXPECT_THROW(ParseLifeformPair("diatom-copepods"), Error);
  EXPECT_THROW(ParseLifeformPair("diatom-diatom"), Error);
  ASSERT_EQ(DefaultLifeformPairs().size(), 3u);
  EXPECT_EQ(DefaultLifeformPairs()[1], (LifeformPair{"tychopelagic_diatoms", "pelagic_diatoms"}));
}

// ---- PH1 steps -----------------------------------------------------------------------------

// Method 1: [0, 2, 4, 0, 8]: the minimum is 0, the smallest other value 2, so log10(x + 1).
// [3, 5, 9]: no zero: m = 5 (the smallest value ≠ 3), log10(x + 2.5) (the PLET quirk).
TEST(LogTransformSeries, AddsHalfTheSmallestValueAboveTheMinimum) {
  const std::vector<double> zeros =
      LogTransformSeries(std::vector<double>{0, 2, 4, kNaN, 0, 8}, LogTransform::kHalfMinimum);
  ASSERT_EQ(zeros.size(), 6u);
  EXPECT_DOUBLE_EQ(zeros[0], 0.0);              // log10(0 + 1)
  EXPECT_DOUBLE_EQ(zeros[1], std::log10(3.0));  // log10(2 + 1)
  EXPECT_DOUBLE_EQ(zeros[5], std::log10(9.0));  // log10(8 + 1)
  EXPECT_TRUE(std::isnan(zeros[3]));
  const std::vector<double> no_zero =
      LogTransformSeries(std::vector<double>{3, 5, 9}, LogTransform::kHalfMinimum);
  EXPECT_DOUBLE_EQ(no_zero[0], std::log10(5.5));
  EXPECT_DOUBLE_EQ(no_zero[2], std::log10(11.5));
  EXPECT_DOUBLE_EQ(LogTransformSeries(std::vector<double>{3, 5}, LogTransform::kPlusOne)[1],
                   std::log10(6.0));
  // One distinct value: half of it is added (PLET would add Inf).
  EXPECT_DOUBLE_EQ(LogTransformSeries(std::vector<double>{4, 4}, LogTransform::kHalfMinimum)[0],
                   std::log10(6.0));
  EXPECT_TRUE(
      LogTransformSeries(std::vector<double>{0, kNaN, 0}, LogTransform::kHalfMinimum).empty());
  EXPECT_EQ(ParseLogTransform("plus-one"), LogTransform::kPlusOne);
  EXPECT_EQ(LogTransformName(*ParseLogTransform("half-minimum")), "half-minimum");
  EXPECT_FALSE(ParseLogTransform("log").has_value());
}

TEST(ClearSparseYears, ClearsYearsWithTooFewMonths) {
  std::vector<double> values(36, 1.0);
  for (int month = 7; month < 12; ++month) {
    values[12 + static_cast<size_t>(month)] = kNaN;  // year 1: 7 months
  }
  for (int month = 0; month < 12; ++month) {
    values[24 + static_cast<size_t>(month)] = kNaN;  // year 2: none
  }
  values[26] = 2.0;  // year 2: 1 month
  const std::vector<int> cleared = ClearSparseYears(values, 8);
  EXPECT_EQ(cleared, (std::vector<int>{1, 2}));
  EXPECT_TRUE(std::isnan(values[12]));
  EXPECT_TRUE(std::isnan(values[26]));
  EXPECT_DOUBLE_EQ(values[11], 1.0);  // year 0 kept
}

// zoo::na.approx(maxgap = 3, rule = 2): [NaN, 2, NaN, NaN, 5, NaN×4, 9, NaN] → the leading NaN
// takes 2, the inner gap of 2 is 3 and 4, the gap of 4 stays NaN, the trailing one takes 9.
TEST(FillGaps, InterpolatesShortGapsOnly) {
  const std::vector<double> filled =
      FillGaps(std::vector<double>{kNaN, 2, kNaN, kNaN, 5, kNaN, kNaN, kNaN, kNaN, 9, kNaN}, 3);
  EXPECT_DOUBLE_EQ(filled[0], 2);
  EXPECT_DOUBLE_EQ(filled[2], 3);
  EXPECT_DOUBLE_EQ(filled[3], 4);
  for (size_t i = 5; i < 9; ++i) {
    EXPECT_TRUE(std::isnan(filled[i])) << i;
  }
  EXPECT_DOUBLE_EQ(filled[10], 9);
  // Fewer than 2 values: unchanged.
  const std::vector<double> single = FillGaps(std::vector<double>{kNaN, 3, kNaN}, 3);
  EXPECT_TRUE(std::isnan(single[0]));
}

TEST(ConvexHull, DropsInteriorAndCollinearPoints) {
  // A 2×2 square with its centre and the middle of its bottom edge.
  const std::vector<Point2> points = {{0, 0}, {1, 0}, {2, 0}, {2, 2}, {0, 2}, {1, 1}};
  const std::vector<size_t> hull = ConvexHull(points);
  EXPECT_EQ(hull, (std::vector<size_t>{0, 2, 3, 4}));  // counter-clockwise from (0, 0)
}

TEST(InsidePolygon, BoundaryIsOutside) {
  const std::vector<Point2> square = {{0, 0}, {2, 0}, {2, 2}, {0, 2}};
  EXPECT_TRUE(InsidePolygon({1, 1}, square));
  EXPECT_FALSE(InsidePolygon({2, 1}, square));  // on an edge
  EXPECT_FALSE(InsidePolygon({0, 0}, square));  // a vertex
  EXPECT_FALSE(InsidePolygon({3, 1}, square));
  // A non-convex (star-shaped) polygon: the notch is outside.
  const std::vector<Point2> notched = {{0, 0}, {4, 0}, {4, 4}, {2, 1}, {0, 4}};
  EXPECT_FALSE(InsidePolygon({2, 3}, notched));
  EXPECT_TRUE(InsidePolygon({1, 1}, notched));
}

// n = 10, 7 inside, p = 0.9: k_out = 3, PLET sums P(K = k) for k = 2 … 9 =
// 1 − P(0) − P(1) − P(10) = 1 − 0.9^10 − 10·0.9^9·0.1 − 0.1^10 = 0.2639010708;
// χ² = (7 − 9)²/9 + (3 − 1)²/1 = 4.4444. All 10 inside: R sums k = 0 … 9 and recycles k = 0:
// 1 − 0.1^10 + 0.9^10 = 1.3486784400.
TEST(PletStatistics, ReproduceTheRIndexing) {
  EXPECT_NEAR(PletBinomialProbability(10, 7, 0.9), 0.2639010708, 1e-10);
  EXPECT_NEAR(PletChiSquare(10, 7, 0.9), 4.0 / 9.0 + 4.0, 1e-12);
  EXPECT_NEAR(PletBinomialProbability(10, 10, 0.9), 1.3486784400, 1e-10);
  EXPECT_TRUE(std::isnan(PletBinomialProbability(0, 0, 0.9)));
}

// 20 reference points: the centre, 8 on a circle of radius 1, 9 on a circle of radius 2 and 2
// far away. trimmedwidth keeps the ranks 2 … 18 of the scaled radii (⌈20·0.05⌉ = 1,
// ⌈20·0.95⌉ = 19): both rings. The outer envelope is the 9-gon of radius 2, the inner one the
// octagon of radius 1 (its inversions are the outermost).
std::vector<Point2> RingPoints() {
  std::vector<Point2> points = {{0, 0}};
  for (int k = 0; k < 8; ++k) {
    const double angle = k * std::numbers::pi / 4;
    points.push_back({std::cos(angle), std::sin(angle)});
  }
  for (int k = 0; k < 9; ++k) {
    const double angle = k * 2 * std::numbers::pi / 9 + 0.1;
    points.push_back({2 * std::cos(angle), 2 * std::sin(angle)});
  }
  points.push_back({7, 7});
  points.push_back({-7, -6});
  return points;
}

TEST(FindEnvelope, TrimsAndBuildsBothHulls) {
  const std::optional<Envelope> envelope = FindEnvelope(RingPoints(), 0.9, 1);
  ASSERT_TRUE(envelope.has_value());
  EXPECT_EQ(envelope->reference_points, 20);
  EXPECT_EQ(envelope->kept_points, 17);
  ASSERT_EQ(envelope->outer.size(), 9u);
  for (const Point2& point : envelope->outer) {
    EXPECT_NEAR(std::hypot(point.x, point.y), 2.0, 1e-12);
  }
  ASSERT_EQ(envelope->inner.size(), 8u);
  for (const Point2& point : envelope->inner) {
    EXPECT_NEAR(std::hypot(point.x, point.y), 1.0, 1e-12);
  }
  // Another seed changes only the jitter, not which points are kept here.
  EXPECT_EQ(FindEnvelope(RingPoints(), 0.9, 99)->kept_points, 17);
  // No variance in one variable, or too few points: no envelope.
  EXPECT_FALSE(FindEnvelope(std::vector<Point2>{{1, 1}, {2, 1}, {3, 1}, {4, 1}}, 0.9, 1));
  EXPECT_FALSE(FindEnvelope(std::vector<Point2>{{1, 1}, {2, 2}}, 0.9, 1));
}

// Comparison points: the centre (inside the inner envelope), two in the ring and one outside:
// PI = 2/4 = 0.5; χ² = (2 − 3.6)²/3.6 + (2 − 0.4)²/0.4 = 0.7111 + 6.4 = 7.1111; k_out = 2, so the
// binomial probability is P(1) + P(2) + P(3) = 4·0.9³·0.1 + 6·0.9²·0.1² + 4·0.9·0.1³ =
// 0.2916 + 0.0486 + 0.0036 = 0.3438.
TEST(ComputePlanktonIndex, CountsTheRingBetweenTheEnvelopes) {
  const Envelope envelope = *FindEnvelope(RingPoints(), 0.9, 1);
  const std::vector<Point2> comparison = {{0, 0}, {1.5, 0}, {0, 1.5}, {5, 0}};
  const PlanktonIndex index = ComputePlanktonIndex(comparison, envelope, 0.9);
  EXPECT_EQ(index.points, 4);
  EXPECT_EQ(index.inside, 2);
  EXPECT_DOUBLE_EQ(index.pi, 0.5);
  EXPECT_NEAR(index.chi_square, 2.56 / 3.6 + 2.56 / 0.4, 1e-12);
  EXPECT_NEAR(index.binomial_probability, 0.3438, 1e-12);
  EXPECT_NEAR(index.chi_square_p, std::erfc(std::sqrt(index.chi_square / 2)), 1e-15);
  EXPECT_TRUE(std::isnan(ComputePlanktonIndex({}, envelope, 0.9).pi));
}

// ---- PH1 end to end --------------------------------------------------------------------------

// Reference 2015–2017 and comparison 2018, 12 months a year. Diatoms vary with the month, the
// dinoflagellates too, out of phase; in 2018 the dinoflagellates are 10⁶ times more abundant, so
// every comparison point lies far above the envelope: PI = 0, n = 12, k_out = 12,
// binomial = P(K = 11) = 12·0.9·0.1¹¹ = 1.08e-10, χ² = (0 − 10.8)²/10.8 + (12 − 1.2)²/1.2 = 108.
TEST(ComputePh1, DetectsAShiftedComparisonPeriod) {
  std::vector<double> diatoms;
  std::vector<double> dinos;
  for (int year = 0; year < 4; ++year) {
    for (int month = 0; month < 12; ++month) {
      diatoms.push_back(100.0 * (1 + (month * 7 + year * 3) % 11));
      const double dino = 10.0 * (1 + (month * 5 + year) % 7);
      dinos.push_back(year == 3 ? dino * 1e6 : dino);
    }
  }
  const std::vector<MonthlySeries> series = {Series("diatom", 2015, diatoms),
                                             Series("dinoflagellate", 2015, dinos)};
  const std::vector<LifeformPair> pairs = {{"diatom", "dinoflagellate"}};
  const Ph1Result result =
      ComputePh1(series, pairs, {.periods = {2015, 2017, 2018, 2018}, .qc_min_months = 30});
  ASSERT_EQ(result.pairs.size(), 1u);
  const Ph1PairResult& pair = result.pairs[0];
  EXPECT_EQ(pair.reference.size(), 36u);
  EXPECT_EQ(pair.comparison.size(), 12u);
  // The transform: diatoms have no zero, min 100, next 200: log10(x + 100).
  EXPECT_DOUBLE_EQ(pair.reference[0].x, std::log10(diatoms[0] + 100));
  ASSERT_TRUE(pair.envelope.has_value());
  EXPECT_TRUE(pair.quality.passed);  // 3 years, 36 months, every month in 3 years
  EXPECT_EQ(pair.quality.calendar_months_ok, 12);
  EXPECT_EQ(pair.index.points, 12);
  EXPECT_EQ(pair.index.inside, 0);
  EXPECT_DOUBLE_EQ(pair.index.pi, 0.0);
  EXPECT_NEAR(pair.index.binomial_probability, 12 * 0.9 * std::pow(0.1, 11), 1e-20);
  EXPECT_NEAR(pair.index.chi_square, 108.0, 1e-9);
  ASSERT_EQ(pair.annual.size(), 1u);
  EXPECT_EQ(pair.annual[0].year, 2018);
  // Kendall of the dinoflagellates' annual means of log10(x + 10): 1.6526, 1.6389, 1.6275 and
  // 7.5522. The pairs give −, −, +, −, +, +: S = 0, so a single jump is no monotonic trend.
  ASSERT_EQ(result.trends.size(), 2u);
  EXPECT_EQ(result.trends[1].lifeform, "dinoflagellate");
  EXPECT_EQ(result.trends[1].years, (std::vector<int>{2015, 2016, 2017, 2018}));
  EXPECT_NEAR(result.trends[1].annual_means[0], 1.6525691504, 1e-9);
  EXPECT_DOUBLE_EQ(result.trends[1].kendall.s, 0);
  EXPECT_DOUBLE_EQ(result.trends[1].kendall.z, 0);
  EXPECT_FALSE(result.trends[1].significant);
}

// The same lifeform in the comparison period as in the reference: most comparison points fall in
// the envelope ring; a comparison year with 7 sampled months is cleared (warning) and a pair with
// an unknown series is reported, not computed.
TEST(ComputePh1, CleansYearsAndReportsMissingSeries) {
  std::vector<double> diatoms;
  std::vector<double> dinos;
  for (int year = 0; year < 5; ++year) {
    for (int month = 0; month < 12; ++month) {
      const bool missing = year == 4 && month >= 7;  // 2019: 7 months
      diatoms.push_back(missing ? kNaN : 50.0 + 40.0 * ((month * 5 + year * 2) % 9));
      dinos.push_back(missing ? kNaN : 20.0 + 15.0 * ((month * 4 + year) % 7));
    }
  }
  const std::vector<MonthlySeries> series = {Series("diatom", 2015, diatoms),
                                             Series("dinoflagellate", 2015, dinos)};
  const std::vector<LifeformPair> pairs = {{"diatom", "dinoflagellate"}, {"lg_phyto", "sm_phyto"}};
  const Ph1Result result = ComputePh1(series, pairs, {.periods = {2015, 2017, 2018, 2019}});
  ASSERT_EQ(result.pairs.size(), 2u);
  const Ph1PairResult& pair = result.pairs[0];
  EXPECT_EQ(pair.comparison.size(), 12u);  // 2018 only: 2019 was cleared
  for (const Ph1Point& point : pair.comparison) {
    EXPECT_EQ(point.year, 2018);
  }
  EXPECT_GE(pair.index.pi, 0.5);
  bool cleared_warning = false;
  for (const std::string& warning : result.warnings) {
    cleared_warning = cleared_warning || warning.find("2019") != std::string::npos;
  }
  EXPECT_TRUE(cleared_warning);
  EXPECT_FALSE(result.pairs[1].envelope.has_value());
  ASSERT_FALSE(result.pairs[1].warnings.empty());
  EXPECT_NE(result.pairs[1].warnings[0].find("lg_phyto"), std::string::npos);
  EXPECT_THROW(ComputePh1(series, pairs, {.periods = {2015, 2018, 2018, 2019}}), Error);
}

// qc_ref counts what is left after clean_years and fill_gaps. Reference 2015–2017: 2015 misses
// June (interpolated by fill_gaps: a point with 0 samples), 2017 has only January–July (7 < 8
// months: cleared). Counted from the remaining points: 2 years, 11 + 12 = 23 sampled months, and
// June sampled in 2016 only, so 11 calendar months in ≥ 2 years: the QC fails. (Counting before
// the cleaning would find 3 years, 11 + 12 + 7 = 30 months and every calendar month in ≥ 2 years,
// and pass.)
TEST(ComputePh1, QualityControlCountsTheCleanedReferencePoints) {
  std::vector<double> diatoms;
  std::vector<double> dinos;
  for (int year = 0; year < 4; ++year) {
    for (int month = 0; month < 12; ++month) {
      const bool missing = (year == 0 && month == 5) || (year == 2 && month >= 7);
      diatoms.push_back(missing ? kNaN : 50.0 + 40.0 * ((month * 5 + year * 2) % 9));
      dinos.push_back(missing ? kNaN : 20.0 + 15.0 * ((month * 4 + year) % 7));
    }
  }
  const std::vector<MonthlySeries> series = {Series("diatom", 2015, diatoms),
                                             Series("dinoflagellate", 2015, dinos)};
  const std::vector<LifeformPair> pairs = {{"diatom", "dinoflagellate"}};
  const Ph1Result result = ComputePh1(series, pairs, {.periods = {2015, 2017, 2018, 2018}});
  const Ph1PairResult& pair = result.pairs[0];
  EXPECT_EQ(pair.reference.size(), 24u);  // 2015 with June interpolated, and 2016
  EXPECT_EQ(pair.reference[5].samples, 0);
  EXPECT_EQ(pair.quality.years, 2);
  EXPECT_EQ(pair.quality.months, 23);
  EXPECT_EQ(pair.quality.calendar_months_ok, 11);
  EXPECT_FALSE(pair.quality.passed);
  ASSERT_FALSE(pair.warnings.empty());
  EXPECT_NE(pair.warnings[0].find("quality control"), std::string::npos);
  EXPECT_TRUE(pair.envelope.has_value());  // computed anyway, flagged
}

// ---- PH2 -------------------------------------------------------------------------------------

// Reference 2015–2016, comparison 2017. Monthly means 999 (2015), 9 (2016) and 99999 (2017), so
// log10(x + 1) is exactly 3, 1 and 5: the cycle is 2 every month, the anomalies +1, −1 and +3.
// Over the 36 anomalies (12 × −1, 12 × +1, 12 × +3): Q25 = −1 (h = 8.75), Q75 = 3 (h = 26.25),
// Q2.5 = −1, Q97.5 = 3. Every comparison month is ≥ Q97.5: extreme positive. Welch:
// reference mean 0, variance 24/23, comparison variance 0: t = −3/√(1/23) = −14.387, df = 23.
TEST(ComputePh2, ClassifiesAnomaliesAgainstTheReferenceCycle) {
  std::vector<double> values;
  for (const double level : {999.0, 9.0, 99999.0}) {
    for (int month = 0; month < 12; ++month) {
      values.push_back(level);
    }
  }
  values[24 + 5] = kNaN;  // June 2017 not sampled: interpolated between May and July (5)
  const Ph2Result result =
      ComputePh2(Series("phytoplankton", 2015, values), {.periods = {2015, 2016, 2017, 2017}});
  ASSERT_EQ(result.months.size(), 36u);
  for (const double cycle : result.cycle) {
    EXPECT_DOUBLE_EQ(cycle, 2.0);
  }
  EXPECT_DOUBLE_EQ(result.thresholds.q25, -1);
  EXPECT_DOUBLE_EQ(result.thresholds.q75, 3);
  EXPECT_DOUBLE_EQ(result.thresholds.q2_5, -1);
  EXPECT_DOUBLE_EQ(result.thresholds.q97_5, 3);
  EXPECT_TRUE(result.months[29].interpolated);
  EXPECT_DOUBLE_EQ(result.months[29].value, 5.0);
  EXPECT_EQ(result.months[0].change, AnomalyClass::kSmall);             // +1
  EXPECT_EQ(result.months[12].change, AnomalyClass::kExtremeNegative);  // −1 ≤ Q2.5
  EXPECT_EQ(result.months[24].change, AnomalyClass::kExtremePositive);
  const AnomalyCounts& counts = result.comparison;
  EXPECT_EQ(counts.months, 12);
  EXPECT_EQ(counts.important_positive, 12);
  EXPECT_EQ(counts.extreme_positive, 12);
  EXPECT_EQ(counts.strong_positive, 0);
  EXPECT_EQ(counts.important_negative, 0);
  EXPECT_DOUBLE_EQ(counts.percent_important, 100);
  EXPECT_DOUBLE_EQ(counts.percent_extreme, 100);
  EXPECT_NEAR(result.t_test.t, -3.0 * std::sqrt(23.0), 1e-9);
  EXPECT_NEAR(result.t_test.df, 23.0, 1e-9);
  EXPECT_LT(result.t_test.p, 1e-10);
  EXPECT_TRUE(result.t_test_significant);
  EXPECT_TRUE(std::isnan(result.f_test.f));          // no variance in the comparison
  EXPECT_DOUBLE_EQ(result.sd_change_percent, -100);  // sd 0 against sd √(24/23)
  // Cumulative anomalies: 12 × (+1) then 12 × (−1) = 0, then 12 × 3 = 36.
  EXPECT_DOUBLE_EQ(result.months[11].cumulative, 12);
  EXPECT_DOUBLE_EQ(result.months[23].cumulative, 0);
  EXPECT_DOUBLE_EQ(result.months[35].cumulative, 36);
  // Annual means 3, 1, 5: S = −1 + 1 + 1 = 1.
  EXPECT_DOUBLE_EQ(result.trend.s, 1);
  EXPECT_EQ(result.reference_years, 2);
  ASSERT_FALSE(result.warnings.empty());  // fewer than 5 reference years
}

// 2014 has 3 sampled months, 2015 all 12, 2016 none, 2017 and 2018 all. The cleaning removes
// 2014 (too few months), and 2015 as it comes before the hole of 2016.
TEST(ComputePh2, RemovesSparseYearsAndYearsBeforeAGap) {
  std::vector<double> values(5 * 12, kNaN);
  for (size_t i = 0; i < values.size(); ++i) {
    const size_t year = i / 12;
    const bool sampled = (year == 0 && i % 12 < 3) || year == 1 || year >= 3;
    values[i] = sampled ? 10.0 + static_cast<double>(i % 12) : kNaN;
  }
  const Ph2Result result =
      ComputePh2(Series("diatom", 2014, values), {.periods = {2014, 2017, 2018, 2018}});
  EXPECT_EQ(result.years_removed, (std::vector<int>{2014, 2015}));
  EXPECT_EQ(result.months.front().year, 2017);
  EXPECT_EQ(result.months.size(), 24u);
  EXPECT_EQ(result.reference_years, 1);
  // Without the consistency check, 2015 stays and 2016 is interpolated.
  const Ph2Result lenient =
      ComputePh2(Series("diatom", 2014, values),
                 {.periods = {2014, 2017, 2018, 2018}, .drop_years_before_gap = false});
  EXPECT_EQ(lenient.years_removed, (std::vector<int>{2014}));
  EXPECT_EQ(lenient.months.front().year, 2015);
  EXPECT_TRUE(lenient.months[12].interpolated);  // January 2016
  // No comparison year left: an error.
  EXPECT_THROW(ComputePh2(Series("diatom", 2014, values), {.periods = {2014, 2015, 2016, 2016}}),
               Error);
}

// ---- PH3 -------------------------------------------------------------------------------------

// The spec's test vector (§3.3), counts [50, 30, 15, 5]: N = 100, S = 4, Menhinick 4/10 = 0.4,
// Margalef 3/ln 100 = 0.6514, Shannon 1.1421, Pielou 1.1421/ln 4 = 0.8239,
// Simpson 1 − (0.25 + 0.09 + 0.0225 + 0.0025) = 0.6350, Hulburt 100·(50 + 30)/100 = 80.
TEST(ComputeDiversity, MatchesTheSpecTestVector) {
  const DiversityIndices indices = ComputeDiversity(std::vector<double>{50, 30, 15, 5, 0});
  EXPECT_EQ(indices.richness, 4);
  EXPECT_DOUBLE_EQ(indices.abundance, 100);
  EXPECT_NEAR(indices.menhinick, 0.4000, 5e-5);
  EXPECT_NEAR(indices.margalef, 0.6514, 5e-5);
  EXPECT_NEAR(indices.shannon, 1.1421, 5e-5);
  EXPECT_NEAR(indices.pielou, 0.8239, 5e-5);
  EXPECT_NEAR(indices.simpson, 0.6350, 5e-5);
  EXPECT_NEAR(indices.gini, 0.3650, 5e-5);
  EXPECT_NEAR(indices.hulburt, 80.0, 1e-12);
}

TEST(ComputeDiversity, EdgeCases) {
  const DiversityIndices empty = ComputeDiversity(std::vector<double>{0, 0});
  EXPECT_EQ(empty.richness, 0);
  EXPECT_TRUE(std::isnan(empty.menhinick));
  // One taxon: Hulburt 100, Pielou undefined, Shannon 0; Margalef (1 − 1)/ln 9 = 0.
  const DiversityIndices single = ComputeDiversity(std::vector<double>{9, kNaN, -1});
  EXPECT_EQ(single.richness, 1);
  EXPECT_DOUBLE_EQ(single.menhinick, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(single.hulburt, 100);
  EXPECT_DOUBLE_EQ(single.shannon, 0);
  EXPECT_DOUBLE_EQ(single.margalef, 0);
  EXPECT_TRUE(std::isnan(single.pielou));
}

// Rows [[1, 0], [0, 1]]: Y = 1/√2 on the diagonal, column means 1/(2√2), every square 1/8:
// LCBD = [0.5, 0.5]. Rows [[1, 0], [1, 0], [0, 1]]: squares 1/18 + 1/18 for the first two rows,
// 4/18 + 4/18 for the third, total 12/18: LCBD = [1/6, 1/6, 2/3].
TEST(ComputeLcbd, MatchesHandComputedValues) {
  const std::vector<double> two = ComputeLcbd({{1, 0}, {0, 1}});
  EXPECT_NEAR(two[0], 0.5, 1e-12);
  EXPECT_NEAR(two[1], 0.5, 1e-12);
  const std::vector<double> three = ComputeLcbd({{1, 0, 0}, {1, 0, 0}, {0, 1, 0}});
  EXPECT_NEAR(three[0], 1.0 / 6.0, 1e-12);
  EXPECT_NEAR(three[1], 1.0 / 6.0, 1e-12);
  EXPECT_NEAR(three[2], 2.0 / 3.0, 1e-12);
  EXPECT_TRUE(std::isnan(ComputeLcbd({{1, 0}})[0]));
  EXPECT_TRUE(std::isnan(ComputeLcbd({{1, 0}, {0, 0}})[0]));  // a row without abundance
}

// For [[1, 0], [1, 0], [0, 1]], a permutation reproduces the third row's LCBD of 2/3 only when
// the zero of column 1 and the one of column 2 land in row 3 (1 of 9 equally likely cases; the
// 6 cases that put them in different rows leave an empty row, whose LCBD is undefined). So
// p ≈ (1 + 999/9)/1000 = 0.112.
TEST(LcbdPermutationP, IsNearTheExactProbability) {
  const std::vector<double> p = LcbdPermutationP({{1, 0}, {1, 0}, {0, 1}}, 999, 7);
  EXPECT_GT(p[2], 0.08);
  EXPECT_LT(p[2], 0.15);
  EXPECT_EQ(p, LcbdPermutationP({{1, 0}, {1, 0}, {0, 1}}, 999, 7));  // seeded
}

// Two taxa over 2015–2016, every year assessed (min_months_per_year = 1). 2015: January [50, 50]
// (a bloom: 50 ≥ 100/2), February [90, 10]; 2016: January [10, 10]. Menhinick: 2/10 = 0.2, 0.2,
// 2/√20 = 0.4472; annual means 0.2 and 0.4472; EQR Menhinick 0.2/0.4472 = 0.4472 and 1. Hulburt
// is 100 in every month (two taxa), so 100 − Hulburt = 0 and its EQR is undefined. Bloom months:
// 2015 both (50 ≥ 50, 90 ≥ 50), 2016 one: bloom index 98 and 99, EQR 98/99 and 1.
TEST(ComputePh3, AnnualMeansBloomsAndEqrs) {
  std::vector<double> a(24, kNaN);
  std::vector<double> b(24, kNaN);
  a[0] = 50;
  b[0] = 50;
  a[1] = 90;
  b[1] = 10;
  a[12] = 10;
  b[12] = 10;
  const std::vector<MonthlySeries> taxa = {Series("A", 2015, a), Series("B", 2015, b)};
  const Ph3Result result = ComputePh3(
      taxa, {.first_year = 2015, .last_year = 2016, .min_months_per_year = 1, .permutations = 99});
  ASSERT_EQ(result.months.size(), 3u);
  EXPECT_TRUE(result.months[0].bloom);
  EXPECT_EQ(result.months[1].dominant, "A");
  ASSERT_EQ(result.years.size(), 2u);
  EXPECT_NEAR(result.years[0].menhinick, 0.2, 1e-12);
  EXPECT_NEAR(result.years[1].menhinick, 2 / std::sqrt(20.0), 1e-12);
  EXPECT_NEAR(result.years[0].eqr_menhinick, 0.2 / (2 / std::sqrt(20.0)), 1e-12);
  EXPECT_DOUBLE_EQ(result.years[1].eqr_menhinick, 1.0);
  EXPECT_TRUE(std::isnan(result.years[0].eqr_hulburt));
  EXPECT_EQ(result.years[0].bloom_months, 2);
  EXPECT_DOUBLE_EQ(result.years[0].bloom_index, 98);
  EXPECT_NEAR(result.years[0].eqr_bloom, 98.0 / 99.0, 1e-12);
  // Patten: Shannon is ln 2 (Jan 2015 and 2016, the maximum) and 0.3251 (Feb 2015, the minimum).
  EXPECT_DOUBLE_EQ(result.months[0].patten, 0.0);
  EXPECT_DOUBLE_EQ(result.months[1].patten, 1.0);
  // Yearly pools (means of the months) [70, 30] and [10, 10]: LCBD of two rows is 0.5 each.
  EXPECT_NEAR(result.years[0].lcbd, 0.5, 1e-12);
  EXPECT_TRUE(result.years[0].assessed);
  EXPECT_FALSE(result.qc_passed);  // 2 assessed years, not 5
  ASSERT_EQ(result.trends.size(), 5u);
  EXPECT_EQ(result.trends[0].index, "menhinick");
}

// IVI of a significant year: 6 years of [10, 10, 10] a month and one (2020) of [100, 0, 1] make
// 2020 the most unusual year; its IVI ranks A (RD 100·1200/1212 = 99.01, RF 50) first.
TEST(ComputePh3, ImportanceValuesOfTheMostUnusualYear) {
  std::vector<double> a;
  std::vector<double> b;
  std::vector<double> c;
  for (int year = 0; year < 7; ++year) {
    for (int month = 0; month < 12; ++month) {
      const bool unusual = year == 5;
      a.push_back(unusual ? 100 : 10);
      b.push_back(unusual ? 0 : 10);
      c.push_back(unusual ? 1 : 10);
    }
  }
  const std::vector<MonthlySeries> taxa = {
      Series("A", 2015, a), Series("B", 2015, b), Series("C", 2015, c)};
  const Ph3Result result = ComputePh3(taxa, {.first_year = 2015, .last_year = 2021});
  EXPECT_TRUE(result.qc_passed);
  EXPECT_EQ(result.qualifying_years, 7);
  const Ph3Year& unusual = result.years[5];
  EXPECT_EQ(unusual.year, 2020);
  EXPECT_LE(unusual.lcbd_p, 0.05);
  ASSERT_EQ(unusual.ivi.size(), 2u);  // B is absent that year
  EXPECT_EQ(unusual.ivi[0].taxon, "A");
  EXPECT_NEAR(unusual.ivi[0].relative_density, 100.0 * 1200 / 1212, 1e-9);
  EXPECT_NEAR(unusual.ivi[0].relative_frequency, 50.0, 1e-9);
  EXPECT_TRUE(result.years[0].ivi.empty());  // the usual years are not significant
}

// A series of whole years with `samples` samples in every month whose value is not NaN.
MonthlySeries SeriesWithSamples(const std::string& name,
                                int first_year,
                                const std::vector<double>& values,
                                const std::vector<int>& samples) {
  MonthlySeries series = Series(name, first_year, values);
  for (size_t i = 0; i < series.points.size(); ++i) {
    series.points[i].samples = std::isnan(values[i]) ? 0 : samples[i];
  }
  return series;
}

// LCBD does not depend on the sampling effort. Three years of two taxa: 2015 [10, 10] every
// month with 1 sample, 2016 the same composition with 3 samples a month in only 8 months, 2017
// [30, 5]. The yearly pools (means of the monthly means) are [10, 10], [10, 10] and [30, 5]; two
// equal rows a and one row c centre to (a − c)/3, (a − c)/3 and 2(c − a)/3, whose squares are in
// the ratio 1 : 1 : 4, so LCBD = 1/6, 1/6 and 2/3. (Pools of monthly mean × samples, [120, 120]
// and [240, 240], would make 2016 look different from 2015.)
TEST(ComputePh3, LcbdIsFreeOfTheSamplingEffort) {
  std::vector<double> a(36, kNaN);
  std::vector<double> b(36, kNaN);
  std::vector<int> samples(36, 1);
  for (int month = 0; month < 12; ++month) {
    a[month] = 10;
    b[month] = 10;
    if (month < 8) {
      a[12 + month] = 10;
      b[12 + month] = 10;
      samples[12 + month] = 3;
    }
    a[24 + month] = 30;
    b[24 + month] = 5;
  }
  const std::vector<MonthlySeries> taxa = {SeriesWithSamples("A", 2015, a, samples),
                                           SeriesWithSamples("B", 2015, b, samples)};
  const Ph3Result result =
      ComputePh3(taxa, {.first_year = 2015, .last_year = 2017, .permutations = 9});
  ASSERT_EQ(result.years.size(), 3u);
  EXPECT_EQ(result.years[1].months, 8);
  EXPECT_EQ(result.months[12].samples, 3);
  EXPECT_NEAR(result.years[0].lcbd, 1.0 / 6.0, 1e-12);
  EXPECT_NEAR(result.years[1].lcbd, 1.0 / 6.0, 1e-12);
  EXPECT_NEAR(result.years[2].lcbd, 2.0 / 3.0, 1e-12);
}

// A year with fewer than 6 sampled months is reported but not assessed. 2015 [100, 100, 0] and
// 2016 [100, 100, 100] every month: Menhinick 2/√200 = 0.14142 and 3/√300 = 0.17321, EQR
// 0.14142/0.17321 = √(2/3) = 0.8165 and 1. Adding 2017 with one month of [1, 1, 1] (Menhinick
// 3/√3 = 1.732, which as the best year would make the EQRs 0.082 and 0.1) changes nothing of
// 2015 and 2016: 2017 has its means but no EQR, LCBD or place in the trends.
TEST(ComputePh3, SparseYearsAreReportedButNotAssessed) {
  std::vector<double> a(36, kNaN);
  std::vector<double> b(36, kNaN);
  std::vector<double> c(36, kNaN);
  for (int month = 0; month < 24; ++month) {
    a[month] = 100;
    b[month] = 100;
    c[month] = month < 12 ? 0 : 100;
  }
  const Ph3Options options{.first_year = 2015, .last_year = 2017, .permutations = 9};
  const std::vector<MonthlySeries> two_years = {
      Series("A", 2015, a), Series("B", 2015, b), Series("C", 2015, c)};
  const Ph3Result before = ComputePh3(two_years, options);
  a[24] = 1;
  b[24] = 1;
  c[24] = 1;
  const std::vector<MonthlySeries> three_years = {
      Series("A", 2015, a), Series("B", 2015, b), Series("C", 2015, c)};
  const Ph3Result after = ComputePh3(three_years, options);
  ASSERT_EQ(before.years.size(), 2u);
  ASSERT_EQ(after.years.size(), 3u);
  EXPECT_NEAR(after.years[0].eqr_menhinick, std::sqrt(2.0 / 3.0), 1e-12);
  EXPECT_DOUBLE_EQ(after.years[1].eqr_menhinick, 1.0);
  for (size_t year = 0; year < 2; ++year) {
    EXPECT_TRUE(after.years[year].assessed);
    EXPECT_DOUBLE_EQ(after.years[year].eqr_menhinick, before.years[year].eqr_menhinick);
    EXPECT_DOUBLE_EQ(after.years[year].eqr_bloom, before.years[year].eqr_bloom);
    EXPECT_DOUBLE_EQ(after.years[year].lcbd, before.years[year].lcbd);
  }
  const Ph3Year& sparse = after.years[2];
  EXPECT_EQ(sparse.year, 2017);
  EXPECT_EQ(sparse.months, 1);
  EXPECT_FALSE(sparse.assessed);
  EXPECT_NEAR(sparse.menhinick, 3 / std::sqrt(3.0), 1e-12);
  EXPECT_TRUE(std::isnan(sparse.eqr_menhinick));
  EXPECT_TRUE(std::isnan(sparse.lcbd));
  EXPECT_TRUE(std::isnan(after.months.back().patten));
  EXPECT_EQ(after.qualifying_years, 2);
  EXPECT_EQ(after.trends[0].kendall.n, 2);  // 2015 and 2016 only
  bool named = false;
  for (const std::string& warning : after.warnings) {
    named = named || warning.find("2017") != std::string::npos;
  }
  EXPECT_TRUE(named);
}

}  // namespace
}  // namespace phytoflow
