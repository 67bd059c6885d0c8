#pragma once

// The OSPAR pelagic-habitat indicators (MSFD Descriptor 1) computed from monthly series
// (time_series.h), as ../shared/spec/quantities-and-indicators.md §3 describes them and as their
// reference implementations compute them:
//
// * PH1/FW5, lifeform pairs: the PLET tool's PI (hollam2/PH1_PLET_tool, Supporting_functions_v2.R,
//   PI_functions_v1.R; Tett et al. 2008, Bedford et al. 2020) and the Kendall trends.
// * PH2, biomass/abundance anomalies against the reference climatology (IFREMER-LERBL/PelHabMSFD
//   PH2_indicator.R, dataImport.R; Wacquet, Duflos, Mialet & Rombouts 2018).
// * PH3, diversity: Menhinick, Hulburt and the other indices of PelHabMSFD PH3_indicator.R, LCBD
//   and IVI (Rombouts et al. 2019; Legendre & De Cáceres 2013).
//
// Pure functions on plain structs; the generic statistics (trend and two-sample tests,
// distributions, quantiles, the seeded generator) are in statistics.h. docs/indicators.md explains
// every number and its unit.
//
//   Ph1Result ph1 = ComputePh1(lifeform_series, DefaultLifeformPairs(),
//                              {.periods = {2015, 2020, 2021, 2025}});

#include "phytoflow/products/statistics.h"
#include "phytoflow/products/time_series.h"

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace phytoflow {

inline constexpr double kIndicatorNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------------------------
// Assessment periods.

// The reference period (the envelope, the climatology) and the comparison period (PH2's
// "evaluation" period), inclusive years. The periods must not overlap (the PLET tool's rule).
struct AssessmentPeriods {
  int reference_first = 0;
  int reference_last = 0;
  int comparison_first = 0;
  int comparison_last = 0;
  int FirstYear() const;  // the earlier start
  int LastYear() const;   // the later end
  bool InReference(int year) const { return year >= reference_first && year <= reference_last; }
  bool InComparison(int year) const { return year >= comparison_first && year <= comparison_last; }
  // Throws Error{kInvalidInput} for a period that ends before it starts or periods that overlap.
  void Validate() const;
};

// "2015-2020" (or one year, "2021"); throws Error{kInvalidInput} naming `option` otherwise.
std::pair<int, int> ParseYearRange(std::string_view text, std::string_view option);

// The years PH3 and the monthly series cover: from the earliest to the latest year of the periods
// given, whichever comes first; `otherwise` when neither is given. Throws Error{kInvalidInput}
// for a period that ends before it starts.
std::pair<int, int> PeriodSpan(const std::optional<std::pair<int, int>>& reference,
                               const std::optional<std::pair<int, int>>& comparison,
                               std::pair<int, int> otherwise);

// ---------------------------------------------------------------------------------------------
// PH1/FW5: lifeform pairs.

struct LifeformPair {
  std::string x;  // first lifeform: the envelope's x axis (PLET's V1)
  std::string y;  // second lifeform: the y axis (V2)
  bool operator==(const LifeformPair&) const = default;
};
// The PLET pairs a phytoplankton imaging service can compute (spec §3.1): diatom–dinoflagellate,
// tychopelagic_diatoms–pelagic_diatoms, lg_phyto–sm_phyto.
const std::vector<LifeformPair>& DefaultLifeformPairs();
// "diatom-dinoflagellate" or "diatom,dinoflagellate"; throws Error{kInvalidInput} for another
// form or a name that is not a LifeformGroups() name.
LifeformPair ParseLifeformPair(std::string_view text);

enum class LogTransform {
  kHalfMinimum,  // PLET method 1 (default): log10(x + m/2), m the smallest value ≠ the minimum
  kPlusOne,      // PLET method 2: log10(x + 1)
};
// "half-minimum", "plus-one".
std::string_view LogTransformName(LogTransform transform);
std::optional<LogTransform> ParseLogTransform(std::string_view name);

// The PLET transform of one series (spec §3.1 step 3, `log_transform`): NaN stays NaN. Method 1
// adds half of the smallest value that differs from the series minimum (the smallest non-zero
// value when there are zeros); a series without two distinct values adds half of that value
// (PLET would add Inf). Returns an empty vector for a series that is all zero (PLET drops it).
std::vector<double> LogTransformSeries(std::span<const double> values, LogTransform method);
// `clean_years` (spec §3.1 step 4): in a series of whole years (12 values a year, January
// first), the years with fewer than `min_months` values that are not NaN become all NaN.
// Returns the years cleared, as offsets from the first year.
std::vector<int> ClearSparseYears(std::span<double> values, int min_months);
// `fill_gaps` (spec §3.1 step 5), zoo::na.approx(maxgap, rule = 2): runs of at most `max_gap` NaN
// are filled by linear interpolation between their neighbours, or with the nearest value at the
// ends; longer runs stay NaN.
std::vector<double> FillGaps(std::span<const double> values, int max_gap);

struct Point2 {
  double x = 0;
  double y = 0;
  bool operator==(const Point2&) const = default;
};

// Indices of the convex hull's vertices, counter-clockwise from the lowest-leftmost point,
// without collinear points (Andrew's monotone chain; R's chull gives the same set clockwise).
std::vector<size_t> ConvexHull(std::span<const Point2> points);
// Whether the point is strictly inside the polygon (vertices in order, not closed): even-odd
// crossings, a point on an edge is outside (pracma::inpolygon with boundary = FALSE).
bool InsidePolygon(Point2 point, std::span<const Point2> polygon);

// The PLET envelope (`findEvn` with sc = TRUE, spec §3.1 step 8).
struct Envelope {
  std::vector<Point2> outer;  // convex hull of the kept reference points
  std::vector<Point2> inner;  // kept points whose inverted position is on the inverted hull
  int reference_points = 0;   // before trimming
  int kept_points = 0;        // after trimming
};
// Scales the points by (v − median)/sd (sample sd), takes polar θ = atan2(xs, ys) and
// r = √(xs² + ys²) (r = 0 → 0.01), keeps the points whose r, with a jitter of
// (N(1, 1) − 0.5)·range(r)/1000, lies strictly between the order statistics ⌈0.05n⌉ and ⌈0.95n⌉
// (`trimmedwidth` with p = 0.9), and builds the outer hull of the kept points and the inner
// envelope: the kept points at the hull of their inversions (cos θ / r, sin θ / r), in hull order.
// The jitter comes from `seed` (PLET's is unseeded). nullopt with fewer than 3 points, a zero sd,
// or fewer than 3 points kept.
std::optional<Envelope> FindEnvelope(std::span<const Point2> reference, double p, uint64_t seed);

// The Plankton Index and its tests (`PIcalc`, spec §3.1 steps 9–10).
struct PlanktonIndex {
  int points = 0;             // comparison points n
  int inside = 0;             // inside the outer envelope and not inside the inner one
  double pi = kIndicatorNaN;  // inside / points
  // PLET's binomial probability: Σ C(n,k) p^(n−k) q^k over its R slice outcomes[k_out : n], i.e.
  // k = k_out − 1 … n − 1 (k_out = 0: R drops index 0 and recycles, so k = 0 … n − 1 plus k = 0
  // again). Reproduced exactly so that numbers match the R tool.
  double binomial_probability = kIndicatorNaN;
  double chi_square = kIndicatorNaN;    // (n_in − np)²/np + (k_out − nq)²/nq
  double chi_square_p = kIndicatorNaN;  // P(χ²₁ ≥ chi_square): phytoflow's addition
};
PlanktonIndex ComputePlanktonIndex(std::span<const Point2> comparison,
                                   const Envelope& envelope,
                                   double p);
// The two PLET statistics alone, for n points with `inside` inside.
double PletBinomialProbability(int n, int inside, double p);
double PletChiSquare(int n, int inside, double p);

struct Ph1Options {
  AssessmentPeriods periods;
  LogTransform transform = LogTransform::kHalfMinimum;
  int min_months_per_year = 8;  // `mon_thr`
  int max_gap_months = 3;       // `fill_gaps` maxgap
  double envelope_p = 0.9;
  uint64_t seed = 1;  // the envelope's jitter
  bool seasonal_kendall = false;
  // `qc_ref` (spec §3.1 step 7): the reference period needs ≥ 3 years with samples, ≥ 30 sampled
  // months and every calendar month sampled in ≥ 2 years.
  int qc_min_years = 3;
  int qc_min_months = 30;
  int qc_min_years_per_month = 2;
};

// One month of a pair: the transformed (and gap-filled) values of both lifeforms.
struct Ph1Point {
  int year = 0;
  int month = 0;
  int samples = 0;  // 0: both values interpolated
  double x = 0;
  double y = 0;
};

struct ReferenceQuality {
  int years = 0;               // reference years with samples
  int months = 0;              // reference months with samples
  int calendar_months_ok = 0;  // calendar months sampled in ≥ qc_min_years_per_month years
  bool passed = false;
};

struct AnnualPlanktonIndex {
  int year = 0;
  PlanktonIndex index;
};

struct Ph1PairResult {
  LifeformPair pair;
  std::vector<Ph1Point> reference;          // the envelope's points
  std::vector<Ph1Point> comparison;         // the points tested
  std::optional<Envelope> envelope;         // nullopt: not computable (see warnings)
  PlanktonIndex index;                      // pi NaN without an envelope or comparison points
  std::vector<AnnualPlanktonIndex> annual;  // `PIcalcAnnual`: per comparison year
  ReferenceQuality quality;
  std::vector<std::string> warnings;
};

// The Kendall trend of a lifeform's annual means of its transformed monthly values (`kendallAll`,
// spec §3.1 step 12), or of its monthly values by calendar month with seasonal_kendall.
struct LifeformTrend {
  std::string lifeform;
  std::vector<int> years;
  std::vector<double> annual_means;  // log10 units
  KendallTrend kendall;
  bool significant = false;  // p ≤ 0.05
};

struct Ph1Result {
  std::vector<Ph1PairResult> pairs;
  std::vector<LifeformTrend> trends;  // each lifeform of the pairs, ≥ 3 years
  std::vector<std::string> warnings;
};

// PH1/FW5 as the PLET tool's v2 script computes it (spec §3.1): the lifeform series limited to
// the years from the first period's start to the last one's end; per lifeform the transform,
// `clean_years`, `fill_gaps`; per pair the reference points (months of the reference period with
// both values), `qc_ref`, the envelope, the PI of the comparison months and of each comparison
// year; per lifeform the Kendall trend of its annual means over all years. `lifeforms` holds one
// series per lifeform named in `pairs` (other series are ignored); missing months are NaN.
// A pair that cannot be computed (a lifeform missing or all zero, no variance, too few points)
// keeps its reasons in its warnings. A reference period that fails `qc_ref` is computed anyway
// and flagged (quality.passed = false; the PLET tool leaves such a unit out). Throws
// Error{kInvalidInput} for invalid periods.
Ph1Result ComputePh1(std::span<const MonthlySeries> lifeforms,
                     std::span<const LifeformPair> pairs,
                     const Ph1Options& options);

// ---------------------------------------------------------------------------------------------
// PH2: anomalies against the reference climatology.

enum class AnomalyClass {
  kSmall,              // between the 25th and 75th percentiles
  kImportantPositive,  // ≥ Q75
  kImportantNegative,  // ≤ Q25
  kExtremePositive,    // ≥ Q97.5
  kExtremeNegative,    // ≤ Q2.5
};
// "small", "important+", "important-", "extreme+", "extreme-".
std::string_view AnomalyClassName(AnomalyClass change);

struct Ph2Options {
  AssessmentPeriods periods;  // comparison = PelHabMSFD's evaluation period
  // PelHabMSFD cleaning (spec §3.2, README): years with fewer sampled months are removed, and
  // with drop_years_before_gap every year before a removed or missing year goes too, so the
  // series is continuous. (The PelHabMSFD GUI defaults to 6 months and no such check.)
  int min_months_per_year = 9;
  bool drop_years_before_gap = true;
  int min_reference_years = 5;  // ph2DataCleaning's minYears
  double t_test_significance = 0.01;
};

struct Ph2Month {
  int year = 0;
  int month = 0;
  int samples = 0;
  bool interpolated = false;       // no kept sample that month: the value is interpolated
  bool comparison = false;         // in the comparison (evaluation) period
  double value = kIndicatorNaN;    // log10(monthly mean + 1)
  double cycle = kIndicatorNaN;    // the reference climatology m_month
  double anomaly = kIndicatorNaN;  // value − cycle
  AnomalyClass change = AnomalyClass::kSmall;
  double cumulative = kIndicatorNaN;  // running sum of the anomalies (pastecs local.trend, k = 0)
};

struct AnomalyThresholds {
  double q2_5 = kIndicatorNaN;   // LCI
  double q25 = kIndicatorNaN;    // LSI
  double q75 = kIndicatorNaN;    // LSS
  double q97_5 = kIndicatorNaN;  // LCS
  double min = kIndicatorNaN;
  double max = kIndicatorNaN;
};

// Anomalies of the comparison period by class. "important" counts every anomaly beyond the
// 25/75 % thresholds (extreme ones included, PelHabMSFD's "Anom"), "extreme" those beyond
// 2.5/97.5 %, "strong" the important ones that are not extreme ("High"). Counts and percentages
// are of the comparison months only. (PelHabMSFD's anomalies() means to do the same, but its
// evalPH2 is the whole anomaly table, never subset: it counts and divides over every month of the
// series, reference included.)
struct AnomalyCounts {
  int months = 0;
  int important_positive = 0;
  int important_negative = 0;
  int extreme_positive = 0;
  int extreme_negative = 0;
  int strong_positive = 0;
  int strong_negative = 0;
  double percent_important = kIndicatorNaN;
  double percent_extreme = kIndicatorNaN;
  double percent_strong = kIndicatorNaN;
};

struct Ph2Result {
  std::string name;                // the series
  std::vector<Ph2Month> months;    // January of the first kept year to December of the last
  std::array<double, 12> cycle{};  // mean of the reference months, January first
  AnomalyThresholds thresholds;    // quantiles of every anomaly, both periods
  AnomalyCounts comparison;
  WelchTTest t_test;                // reference anomalies (a) against comparison anomalies (b)
  bool t_test_significant = false;  // p ≤ t_test_significance
  VarianceTest f_test;              // var(reference) / var(comparison)
  double sd_change_percent = kIndicatorNaN;  // −(1 − sd_comparison/sd_reference)·100
  KendallTrend trend;              // annual means of the monthly values (spec §3.2 step 6, [U])
  std::vector<int> years_removed;  // by the cleaning
  int reference_years = 0;         // kept reference years
  std::vector<std::string> warnings;
};

// PH2 as PelHabMSFD's `anomalies()` computes it (spec §3.2): months of both periods (years between
// them are left out, as ph2DataSelection does), the cleaning, y = log10(x + 1) of the monthly mean,
// the monthly series regularised by linear interpolation of the months without a kept sample
// (held at the nearest value before the first and after the last; PelHabMSFD uses pastecs::regul
// "area", see docs/indicators.md), the mean annual cycle of the reference months, the anomalies,
// their 2.5/25/75/97.5 % quantiles (R type 7) over both periods, the classes, and the tests of the
// comparison against the reference anomalies. Too few reference years is a warning. Throws
// Error{kInvalidInput} for invalid periods, and when no reference or no comparison month is left.
Ph2Result ComputePh2(const MonthlySeries& series, const Ph2Options& options);

// ---------------------------------------------------------------------------------------------
// PH3: diversity.

// The diversity indices of one abundance vector (PelHabMSFD PH3_indicator.R, spec §3.3), with
// N = Σx, S = number of x > 0, p_i = x_i/N:
struct DiversityIndices {
  int richness = 0;                  // S
  double abundance = 0;              // N
  double menhinick = kIndicatorNaN;  // S/√N
  double margalef = kIndicatorNaN;   // (S − 1)/ln N; NaN for N ≤ 1
  double hulburt = kIndicatorNaN;    // 100 (n1 + n2)/N, the two largest abundances
  double shannon = kIndicatorNaN;    // H′ = −Σ p ln p
  double simpson = kIndicatorNaN;    // 1 − Σ p²
  double gini = kIndicatorNaN;       // Σ p² (PelHabMSFD's "Gini": 1 − vegan's Simpson)
  double pielou = kIndicatorNaN;     // J = H′/ln S (the standard form); NaN for S ≤ 1
};
// All NaN except richness and abundance when N = 0. Negative or NaN abundances count as 0.
DiversityIndices ComputeDiversity(std::span<const double> abundances);

// Local contributions to beta diversity (PelHabMSFD `lcdbIndex`, spec §3.3): rows are sites or
// years, columns taxa; columns that are all zero are dropped, Y_ij = x_ij/√(2 Σ_j x_ij),
// s_ij = (Y_ij − mean_j)², LCBD_i = Σ_j s_ij / Σ_ij s_ij. Rows must have the same length and a
// positive sum; fewer than 2 rows give NaN.
std::vector<double> ComputeLcbd(const std::vector<std::vector<double>>& rows);
// The permutation test of `lcdbPerm`: each permutation shuffles every column independently;
// p_i = (1 + #{permutations with LCBD_i ≥ observed})/(permutations + 1). Seeded.
std::vector<double> LcbdPermutationP(const std::vector<std::vector<double>>& rows,
                                     int permutations,
                                     uint64_t seed);

struct Ph3Options {
  int first_year = 0;  // the period assessed, inclusive
  int last_year = 0;
  // ph3DataCleaning (D1_MSFD defaults): a year with fewer than min_months_per_year sampled months
  // is reported but not assessed (see Ph3Year::assessed); the unit needs ≥ min_years assessed
  // years, and a unit that fails is computed and flagged.
  int min_months_per_year = 6;
  int min_years = 5;
  int permutations = 999;           // LCBD test (`lcbdperm`)
  double lcbd_significance = 0.05;  // `lcbdtest`
  int ivi_taxa = 5;                 // `nbivi`
  int ivi_years = 3;                // IVI for at most this many significant years
  uint64_t seed = 1;
};

struct Ph3Month {
  int year = 0;
  int month = 0;
  int samples = 0;
  DiversityIndices indices;
  double patten = kIndicatorNaN;  // (H_max − H)/(H_max − H_min) over the assessed years' months
  bool bloom = false;             // one taxon ≥ 50 % of the month's total
  std::string dominant;           // the most abundant taxon
};

struct ImportanceValue {
  std::string taxon;
  double relative_density = 0;    // RD, % of the year's abundance
  double relative_frequency = 0;  // RF, % of the year's presences
  double ivi = 0;                 // RD + RF
};

struct Ph3Year {
  int year = 0;
  int months = 0;  // sampled months
  // ≥ min_months_per_year sampled months: only such years enter Patten's extremes, the EQRs, LCBD,
  // IVI and the trends (PelHabMSFD removes the others); the others have only their means.
  bool assessed = false;
  // Means over the year's sampled months.
  double richness = kIndicatorNaN;
  double menhinick = kIndicatorNaN;
  double margalef = kIndicatorNaN;
  double hulburt = kIndicatorNaN;
  double shannon = kIndicatorNaN;
  double simpson = kIndicatorNaN;
  double pielou = kIndicatorNaN;
  int bloom_months = 0;
  double bloom_index = kIndicatorNaN;  // PelHabMSFD `bloom`: 100 − bloom_months
  // EQRs (PelHabMSFD `eqrIndices`): value / the maximum over the assessed years; NaN for a year
  // that is not assessed.
  double eqr_hulburt = kIndicatorNaN;    // of 100 − Hulburt
  double eqr_menhinick = kIndicatorNaN;  // of Menhinick
  double eqr_bloom = kIndicatorNaN;      // of the bloom index
  double lcbd = kIndicatorNaN;           // of the year's pool: the mean of its monthly means
  double lcbd_p = kIndicatorNaN;
  std::vector<ImportanceValue> ivi;  // for the most unusual significant years only
};

struct IndexTrend {
  std::string index;  // "menhinick", "hulburt", "shannon", "simpson", "pielou"
  KendallTrend kendall;
};

struct Ph3Result {
  std::vector<std::string> taxa;  // the taxa (columns) used
  std::vector<Ph3Month> months;   // sampled months of the period
  std::vector<Ph3Year> years;
  std::vector<IndexTrend> trends;  // Mann–Kendall of the assessed years' annual means (phytoflow's
                                   // addition)
  int qualifying_years = 0;        // assessed years: ≥ min_months_per_year sampled months
  bool qc_passed = false;
  std::vector<std::string> warnings;
};

// PH3 as PelHabMSFD computes it (spec §3.3): per sampled month of the period the indices of the
// monthly pool (the taxa's monthly means); per year the annual means and bloom frequency; over the
// assessed years (≥ min_months_per_year sampled months) Patten, the EQRs, LCBD of the yearly pool
// (each taxon's mean over the year's sampled months, so that the sampling effort does not count)
// with its permutation test, the IVI of the ≤ ivi_years years of highest significant LCBD and the
// trends.
// `taxa` holds one series per taxon (the columns). Throws Error{kInvalidInput} when
// first_year > last_year.
Ph3Result ComputePh3(std::span<const MonthlySeries> taxa, const Ph3Options& options);

}  // namespace phytoflow
