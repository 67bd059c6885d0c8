#include "phytoflow/products/indicators.h"

#include "phytoflow/core/error.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

namespace phytoflow {
namespace {

constexpr double kNaN = kIndicatorNaN;

int ParseYear(std::string_view text, std::string_view option, std::string_view whole) {
  int year = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), year);
  if (error != std::errc{} || end != text.data() + text.size() || text.size() != 4) {
    throw Error(ErrorCode::kInvalidInput,
                std::string(option) + ": expected YEAR-YEAR such as 2015-2020, found '" +
                    std::string(whole) + "'");
  }
  return year;
}

// The value of a series at (year, month); NaN when absent.
struct MonthLookup {
  explicit MonthLookup(const MonthlySeries& series) {
    for (const MonthlyPoint& point : series.points) {
      points[point.year * 12 + point.month - 1] = &point;
    }
  }
  const MonthlyPoint* At(int year, int month) const {
    const auto found = points.find(year * 12 + month - 1);
    return found == points.end() ? nullptr : found->second;
  }
  std::map<int, const MonthlyPoint*> points;
};

const MonthlySeries* FindSeries(std::span<const MonthlySeries> series, std::string_view name) {
  for (const MonthlySeries& one : series) {
    if (one.name == name) {
      return &one;
    }
  }
  return nullptr;
}

std::string JoinYears(const std::vector<int>& years) {
  std::string text;
  for (const int year : years) {
    text += (text.empty() ? "" : ", ") + std::to_string(year);
  }
  return text;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Periods.

int AssessmentPeriods::FirstYear() const {
  return std::min(reference_first, comparison_first);
}

int AssessmentPeriods::LastYear() const {
  return std::max(reference_last, comparison_last);
}

void AssessmentPeriods::Validate() const {
  Check(reference_first <= reference_last,
        ErrorCode::kInvalidInput,
        "the reference period's first year (" + std::to_string(reference_first) +
            ") is after its last (" + std::to_string(reference_last) + ")");
  Check(comparison_first <= comparison_last,
        ErrorCode::kInvalidInput,
        "the comparison period's first year (" + std::to_string(comparison_first) +
            ") is after its last (" + std::to_string(comparison_last) + ")");
  Check(reference_last < comparison_first || comparison_last < reference_first,
        ErrorCode::kInvalidInput,
        "the reference period " + std::to_string(reference_first) + "-" +
            std::to_string(reference_last) + " and the comparison period " +
            std::to_string(comparison_first) + "-" + std::to_string(comparison_last) +
            " overlap: the periods must not share a year");
}

std::pair<int, int> ParseYearRange(std::string_view text, std::string_view option) {
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    const int year = ParseYear(text, option, text);
    return {year, year};
  }
  return {ParseYear(text.substr(0, dash), option, text),
          ParseYear(text.substr(dash + 1), option, text)};
}

std::pair<int, int> PeriodSpan(const std::optional<std::pair<int, int>>& reference,
                               const std::optional<std::pair<int, int>>& comparison,
                               std::pair<int, int> otherwise) {
  std::optional<std::pair<int, int>> span;
  for (const auto& [period, name] :
       {std::pair{reference, "reference"}, std::pair{comparison, "comparison"}}) {
    if (!period) {
      continue;
    }
    Check(period->first <= period->second,
          ErrorCode::kInvalidInput,
          std::string("the ") + name + " period's first year (" + std::to_string(period->first) +
              ") is after its last (" + std::to_string(period->second) + ")");
    span = span ? std::pair{std::min(span->first, period->first),
                            std::max(span->second, period->second)}
                : *period;
  }
  return span.value_or(otherwise);
}

// ---------------------------------------------------------------------------------------------
// PH1.

const std::vector<LifeformPair>& DefaultLifeformPairs() {
  static const std::vector<LifeformPair> pairs = {{"diatom", "dinoflagellate"},
                                                  {"tychopelagic_diatoms", "pelagic_diatoms"},
                                                  {"lg_phyto", "sm_phyto"}};
  return pairs;
}

LifeformPair ParseLifeformPair(std::string_view text) {
  const size_t separator = text.find_first_of("-,");
  Check(separator != std::string_view::npos,
        ErrorCode::kInvalidInput,
        "--lifeforms: expected two lifeforms such as diatom-dinoflagellate, found '" +
            std::string(text) + "'");
  LifeformPair pair{std::string(text.substr(0, separator)),
                    std::string(text.substr(separator + 1))};
  for (const std::string& name : {pair.x, pair.y}) {
    Check(IsLifeformGroup(name),
          ErrorCode::kInvalidInput,
          "--lifeforms: unknown lifeform '" + name +
              "' (known: diatom, dinoflagellate, pelagic_diatoms, tychopelagic_diatoms, "
              "lg_phyto, sm_phyto, phytoplankton, ciliates, cyanobacteria, other_phytoplankton, "
              "zooplankton)");
  }
  Check(pair.x != pair.y,
        ErrorCode::kInvalidInput,
        "--lifeforms: the two lifeforms must differ, found '" + std::string(text) + "'");
  return pair;
}

std::string_view LogTransformName(LogTransform transform) {
  return transform == LogTransform::kPlusOne ? "plus-one" : "half-minimum";
}

std::optional<LogTransform> ParseLogTransform(std::string_view name) {
  for (const LogTransform transform : {LogTransform::kHalfMinimum, LogTransform::kPlusOne}) {
    if (LogTransformName(transform) == name) {
      return transform;
    }
  }
  return std::nullopt;
}

std::vector<double> LogTransformSeries(std::span<const double> values, LogTransform method) {
  const std::vector<double> present = WithoutNaN(values);
  if (std::all_of(present.begin(), present.end(), [](double value) { return value == 0; })) {
    return {};  // PLET: filter(!all(abundance == 0))
  }
  double offset = 1.0;  // method 2: log10(x + 1)
  if (method == LogTransform::kHalfMinimum) {
    // min_non_zero = min(abundance[abundance != min(abundance)]), added half (spec §3.1 step 3).
    const double minimum = *std::min_element(present.begin(), present.end());
    double second = std::numeric_limits<double>::infinity();
    for (const double value : present) {
      if (value != minimum) {
        second = std::min(second, value);
      }
    }
    offset = 0.5 * (std::isinf(second) ? minimum : second);
  }
  std::vector<double> transformed;
  transformed.reserve(values.size());
  for (const double value : values) {
    transformed.push_back(std::isnan(value) ? kNaN : std::log10(value + offset));
  }
  return transformed;
}

std::vector<int> ClearSparseYears(std::span<double> values, int min_months) {
  std::vector<int> cleared;
  for (size_t start = 0; start + 12 <= values.size(); start += 12) {
    int months = 0;
    for (size_t month = 0; month < 12; ++month) {
      months += std::isnan(values[start + month]) ? 0 : 1;
    }
    if (months > 0 && months < min_months) {
      for (size_t month = 0; month < 12; ++month) {
        values[start + month] = kNaN;
      }
      cleared.push_back(static_cast<int>(start / 12));
    }
  }
  return cleared;
}

std::vector<double> FillGaps(std::span<const double> values, int max_gap) {
  std::vector<double> filled(values.begin(), values.end());
  std::vector<size_t> known;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isnan(values[i])) {
      known.push_back(i);
    }
  }
  if (known.size() < 2) {
    return filled;  // zoo::na.approx leaves a series with fewer than 2 values as it is
  }
  size_t run_start = 0;
  while (run_start < values.size()) {
    if (!std::isnan(values[run_start])) {
      ++run_start;
      continue;
    }
    size_t run_end = run_start;  // exclusive
    while (run_end < values.size() && std::isnan(values[run_end])) {
      ++run_end;
    }
    if (run_end - run_start <= static_cast<size_t>(max_gap)) {
      for (size_t i = run_start; i < run_end; ++i) {
        if (run_start == 0) {
          filled[i] = values[run_end];  // rule = 2: the nearest value at the ends
        } else if (run_end == values.size()) {
          filled[i] = values[run_start - 1];
        } else {
          const double before = values[run_start - 1];
          const double after = values[run_end];
          const double fraction = static_cast<double>(i - (run_start - 1)) /
                                  static_cast<double>(run_end - (run_start - 1));
          filled[i] = before + fraction * (after - before);
        }
      }
    }
    run_start = run_end;
  }
  return filled;
}

std::vector<size_t> ConvexHull(std::span<const Point2> points) {
  std::vector<size_t> order(points.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return points[a].x < points[b].x || (points[a].x == points[b].x && points[a].y < points[b].y);
  });
  if (order.size() < 3) {
    return order;
  }
  const auto cross = [&](size_t o, size_t a, size_t b) {
    return (points[a].x - points[o].x) * (points[b].y - points[o].y) -
           (points[a].y - points[o].y) * (points[b].x - points[o].x);
  };
  std::vector<size_t> hull(2 * order.size());
  size_t k = 0;
  for (const size_t index : order) {  // lower hull
    while (k >= 2 && cross(hull[k - 2], hull[k - 1], index) <= 0) {
      --k;
    }
    hull[k++] = index;
  }
  const size_t lower = k + 1;
  for (size_t i = order.size() - 1; i-- > 0;) {  // upper hull
    while (k >= lower && cross(hull[k - 2], hull[k - 1], order[i]) <= 0) {
      --k;
    }
    hull[k++] = order[i];
  }
  hull.resize(k - 1);  // the last point is the first
  return hull;
}

bool InsidePolygon(Point2 point, std::span<const Point2> polygon) {
  if (polygon.size() < 3) {
    return false;
  }
  bool inside = false;
  for (size_t i = 0, j = polygon.size() - 1; i < polygon.size(); j = i++) {
    const Point2& a = polygon[i];
    const Point2& b = polygon[j];
    // On the edge: collinear and within its box (boundary = FALSE counts it outside).
    const double cross = (b.x - a.x) * (point.y - a.y) - (b.y - a.y) * (point.x - a.x);
    if (cross == 0 && point.x >= std::min(a.x, b.x) && point.x <= std::max(a.x, b.x) &&
        point.y >= std::min(a.y, b.y) && point.y <= std::max(a.y, b.y)) {
      return false;
    }
    if ((a.y > point.y) != (b.y > point.y) &&
        point.x < (b.x - a.x) * (point.y - a.y) / (b.y - a.y) + a.x) {
      inside = !inside;
    }
  }
  return inside;
}

std::optional<Envelope> FindEnvelope(std::span<const Point2> reference, double p, uint64_t seed) {
  const size_t n = reference.size();
  if (n < 3) {
    return std::nullopt;
  }
  // findEvn corrects p to 0.51..0.999, then trimmedwidth to 0.5..0.9 (PI_functions_v1.R).
  p = p > 1 ? 0.999 : (p < 0.5 ? 0.51 : p);
  p = p >= 1 ? 0.9 : p;
  std::vector<double> xs;
  std::vector<double> ys;
  for (const Point2& point : reference) {
    xs.push_back(point.x);
    ys.push_back(point.y);
  }
  const double median_x = Median(xs);
  const double median_y = Median(ys);
  const double sd_x = SampleSd(xs);
  const double sd_y = SampleSd(ys);
  if (!(sd_x > 0) || !(sd_y > 0)) {
    return std::nullopt;  // find_envAll skips a pair without variance
  }
  std::vector<double> angle(n);
  std::vector<double> radius(n);
  for (size_t i = 0; i < n; ++i) {
    const double x_scaled = (xs[i] - median_x) / sd_x;
    const double y_scaled = (ys[i] - median_y) / sd_y;
    angle[i] = std::atan2(x_scaled, y_scaled);  // atan2(xSC, ySC), as in findEvn
    radius[i] = std::sqrt(x_scaled * x_scaled + y_scaled * y_scaled);
    radius[i] = radius[i] == 0 ? 0.01 : radius[i];
  }
  // trimmedwidth: jitter the radii by (rnorm(n, 1) − 0.5)·range/1000 and keep those strictly
  // between the order statistics ceil(n·plex) and ceil(n·(1 − plex)), computed with the same
  // floating-point operations as the R code so that the indices match it.
  const double plex = (1 - p) / 2;
  const double range = *std::max_element(radius.begin(), radius.end()) -
                       *std::min_element(radius.begin(), radius.end());
  SplitMix64 random(seed);
  std::vector<double> jittered(n);
  for (size_t i = 0; i < n; ++i) {
    jittered[i] = radius[i] + (random.Normal() + 1.0 - 0.5) * (range / 1000);
  }
  const double count = static_cast<double>(n);
  const size_t upper_index = static_cast<size_t>(std::ceil(count * (1 - plex)));
  const size_t lower_index = static_cast<size_t>(std::ceil(count * plex));
  std::vector<double> sorted = jittered;
  std::sort(sorted.begin(), sorted.end());
  const double upper = sorted[std::min(upper_index, n) - 1];
  const double lower = sorted[std::max<size_t>(lower_index, 1) - 1];
  std::vector<Point2> kept;
  std::vector<Point2> inverted;
  for (size_t i = 0; i < n; ++i) {
    if (!(jittered[i] <= lower || jittered[i] >= upper)) {
      kept.push_back(reference[i]);
      inverted.push_back({std::cos(angle[i]) / radius[i], std::sin(angle[i]) / radius[i]});
    }
  }
  if (kept.size() < 3) {
    return std::nullopt;
  }
  Envelope envelope{.reference_points = static_cast<int>(n),
                    .kept_points = static_cast<int>(kept.size())};
  for (const size_t index : ConvexHull(kept)) {
    envelope.outer.push_back(kept[index]);
  }
  for (const size_t index : ConvexHull(inverted)) {
    envelope.inner.push_back(kept[index]);
  }
  return envelope;
}

double PletBinomialProbability(int n, int inside, double p) {
  if (n <= 0) {
    return kNaN;  // the R code fails on zero points
  }
  p = p >= 1 ? 0.99 : (p < 0.5 ? 0.51 : p);
  const double q = 1 - p;
  const int outside = n - inside;
  // outcomes[k + 1] = C(n, k)·p^(n−k)·q^k = P(K = k), K the points outside.
  const auto outcome = [&](int k) {
    const double log_choose =
        std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0);
    return std::exp(log_choose + (n - k) * std::log(p) + k * std::log(q));
  };
  double sum = 0;
  if (outside == 0) {
    // idxKeep = 0:n: R drops index 0, so n values fill n + 1 slots and the first is recycled.
    for (int k = 0; k < n; ++k) {
      sum += outcome(k);
    }
    return sum + outcome(0);
  }
  for (int k = outside - 1; k <= n - 1; ++k) {  // outcomes[outside : n]
    sum += outcome(k);
  }
  return sum;
}

double PletChiSquare(int n, int inside, double p) {
  if (n <= 0) {
    return kNaN;
  }
  p = p >= 1 ? 0.99 : (p < 0.5 ? 0.51 : p);
  const double expected_in = n * p;
  const double expected_out = n * (1 - p);
  const double outside = n - inside;
  return (inside - expected_in) * (inside - expected_in) / expected_in +
         (outside - expected_out) * (outside - expected_out) / expected_out;
}

PlanktonIndex ComputePlanktonIndex(std::span<const Point2> comparison,
                                   const Envelope& envelope,
                                   double p) {
  PlanktonIndex index{.points = static_cast<int>(comparison.size())};
  for (const Point2& point : comparison) {
    if (InsidePolygon(point, envelope.outer) && !InsidePolygon(point, envelope.inner)) {
      ++index.inside;
    }
  }
  if (index.points == 0) {
    return index;
  }
  index.pi = static_cast<double>(index.inside) / index.points;
  index.binomial_probability = PletBinomialProbability(index.points, index.inside, p);
  index.chi_square = PletChiSquare(index.points, index.inside, p);
  index.chi_square_p = ChiSquare1UpperP(index.chi_square);
  return index;
}

namespace {

// One lifeform's series over the PH1 years after transform, cleaning and gap filling.
struct PreparedLifeform {
  std::string name;
  std::vector<double> values;  // 12 a year from January of the first year; NaN: no value
  std::vector<int> samples;
  bool usable = false;
};

PreparedLifeform PrepareLifeform(std::span<const MonthlySeries> lifeforms,
                                 const std::string& name,
                                 const Ph1Options& options,
                                 std::vector<std::string>& warnings) {
  const int first = options.periods.FirstYear();
  const int last = options.periods.LastYear();
  PreparedLifeform prepared{.name = name};
  const MonthlySeries* series = FindSeries(lifeforms, name);
  if (series == nullptr) {
    warnings.push_back("no series for lifeform " + name);
    return prepared;
  }
  const MonthLookup lookup(*series);
  std::vector<double> raw;
  for (int year = first; year <= last; ++year) {
    for (int month = 1; month <= 12; ++month) {
      const MonthlyPoint* point = lookup.At(year, month);
      const bool sampled = point != nullptr && point->samples > 0;
      raw.push_back(sampled ? point->mean : kNaN);
      prepared.samples.push_back(sampled ? point->samples : 0);
    }
  }
  std::vector<double> transformed = LogTransformSeries(raw, options.transform);
  if (transformed.empty()) {
    warnings.push_back("lifeform " + name + " is zero (or unsampled) in every month of " +
                       std::to_string(first) + "-" + std::to_string(last) +
                       ": left out, as the PLET tool drops all-zero series");
    return prepared;
  }
  std::vector<int> cleared = ClearSparseYears(transformed, options.min_months_per_year);
  if (!cleared.empty()) {
    for (int& offset : cleared) {
      offset += first;
    }
    warnings.push_back("lifeform " + name + ": years with fewer than " +
                       std::to_string(options.min_months_per_year) +
                       " sampled months left out: " + JoinYears(cleared));
  }
  prepared.values = FillGaps(transformed, options.max_gap_months);
  prepared.usable = true;
  return prepared;
}

LifeformTrend TrendOf(const PreparedLifeform& lifeform, const Ph1Options& options) {
  const int first = options.periods.FirstYear();
  LifeformTrend trend{.lifeform = lifeform.name};
  std::vector<double> times;
  for (size_t start = 0; start + 12 <= lifeform.values.size(); start += 12) {
    const double mean = Mean(std::span(lifeform.values).subspan(start, 12));
    if (!std::isnan(mean)) {
      trend.years.push_back(first + static_cast<int>(start / 12));
      trend.annual_means.push_back(mean);
      times.push_back(trend.years.back());
    }
  }
  if (options.seasonal_kendall) {
    std::vector<SeasonValues> seasons(12);
    int values = 0;
    for (size_t i = 0; i < lifeform.values.size(); ++i) {
      if (!std::isnan(lifeform.values[i])) {
        seasons[i % 12].times.push_back(first + static_cast<double>(i / 12));
        seasons[i % 12].values.push_back(lifeform.values[i]);
        ++values;
      }
    }
    if (values >= 3) {
      trend.kendall = SeasonalKendall(seasons);
    }
  } else if (trend.years.size() >= 3) {  // kendallAll: count >= 3
    trend.kendall = MannKendall(times, trend.annual_means);
  }
  trend.significant = trend.kendall.p <= 0.05;
  return trend;
}

Ph1PairResult AssessPair(const LifeformPair& pair,
                         const PreparedLifeform& x,
                         const PreparedLifeform& y,
                         const Ph1Options& options) {
  const AssessmentPeriods& periods = options.periods;
  Ph1PairResult result{.pair = pair};
  if (!x.usable || !y.usable) {
    result.warnings.push_back("pair " + pair.x + "-" + pair.y + " not computed: lifeform " +
                              (x.usable ? pair.y : pair.x) + " has no usable series");
    return result;
  }
  const int first = periods.FirstYear();
  for (size_t i = 0; i < x.values.size(); ++i) {
    if (std::isnan(x.values[i]) || std::isnan(y.values[i])) {
      continue;  // dataSelect + drop NA rows
    }
    const int year = first + static_cast<int>(i / 12);
    const Ph1Point point{.year = year,
                         .month = static_cast<int>(i % 12) + 1,
                         .samples = std::min(x.samples[i], y.samples[i]),
                         .x = x.values[i],
                         .y = y.values[i]};
    if (periods.InReference(year)) {
      result.reference.push_back(point);
    } else if (periods.InComparison(year)) {
      result.comparison.push_back(point);
    }
  }
  // qc_ref counts the reference rows with num_samples > 0 that are left after clean_years and
  // fill_gaps: cleared years and interpolated months do not count.
  std::set<int> reference_years;
  std::map<int, std::set<int>> years_by_month;
  for (const Ph1Point& point : result.reference) {
    if (point.samples > 0) {
      reference_years.insert(point.year);
      years_by_month[point.month].insert(point.year);
      ++result.quality.months;
    }
  }
  result.quality.years = static_cast<int>(reference_years.size());
  for (const auto& [month, years] : years_by_month) {
    result.quality.calendar_months_ok +=
        static_cast<int>(years.size()) >= options.qc_min_years_per_month ? 1 : 0;
  }
  result.quality.passed = result.quality.years >= options.qc_min_years &&
                          result.quality.months >= options.qc_min_months &&
                          result.quality.calendar_months_ok == 12;
  if (!result.quality.passed) {
    result.warnings.push_back("the reference period fails the PLET quality control (needs >= " +
                              std::to_string(options.qc_min_years) +
                              " years and >= " + std::to_string(options.qc_min_months) +
                              " months with samples, and every calendar month "
                              "sampled in >= " +
                              std::to_string(options.qc_min_years_per_month) + " years; has " +
                              std::to_string(result.quality.years) + " years, " +
                              std::to_string(result.quality.months) + " months, " +
                              std::to_string(result.quality.calendar_months_ok) +
                              " calendar months): the index is unreliable");
  }
  std::vector<Point2> reference_points;
  for (const Ph1Point& point : result.reference) {
    reference_points.push_back({point.x, point.y});
  }
  result.envelope = FindEnvelope(reference_points, options.envelope_p, options.seed);
  if (!result.envelope) {
    result.warnings.push_back("no reference envelope for " + pair.x + "-" + pair.y + ": " +
                              std::to_string(reference_points.size()) +
                              " reference months, or no variance in one lifeform");
    return result;
  }
  if (result.comparison.empty()) {
    result.warnings.push_back("no comparison month with both " + pair.x + " and " + pair.y);
    return result;
  }
  std::vector<Point2> comparison_points;
  std::map<int, std::vector<Point2>> by_year;
  for (const Ph1Point& point : result.comparison) {
    comparison_points.push_back({point.x, point.y});
    by_year[point.year].push_back({point.x, point.y});
  }
  result.index = ComputePlanktonIndex(comparison_points, *result.envelope, options.envelope_p);
  for (const auto& [year, points] : by_year) {
    result.annual.push_back(
        {.year = year,
         .index = ComputePlanktonIndex(points, *result.envelope, options.envelope_p)});
  }
  return result;
}

}  // namespace

Ph1Result ComputePh1(std::span<const MonthlySeries> lifeforms,
                     std::span<const LifeformPair> pairs,
                     const Ph1Options& options) {
  options.periods.Validate();
  Ph1Result result;
  std::vector<std::string> names;
  for (const LifeformPair& pair : pairs) {
    for (const std::string& name : {pair.x, pair.y}) {
      if (std::find(names.begin(), names.end(), name) == names.end()) {
        names.push_back(name);
      }
    }
  }
  std::map<std::string, PreparedLifeform> prepared;
  for (const std::string& name : names) {
    prepared[name] = PrepareLifeform(lifeforms, name, options, result.warnings);
    if (prepared[name].usable) {
      result.trends.push_back(TrendOf(prepared[name], options));
    }
  }
  for (const LifeformPair& pair : pairs) {
    result.pairs.push_back(AssessPair(pair, prepared[pair.x], prepared[pair.y], options));
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// PH2.

std::string_view AnomalyClassName(AnomalyClass change) {
  switch (change) {
    case AnomalyClass::kImportantPositive:
      return "important+";
    case AnomalyClass::kImportantNegative:
      return "important-";
    case AnomalyClass::kExtremePositive:
      return "extreme+";
    case AnomalyClass::kExtremeNegative:
      return "extreme-";
    case AnomalyClass::kSmall:
      break;
  }
  return "small";
}

Ph2Result ComputePh2(const MonthlySeries& series, const Ph2Options& options) {
  const AssessmentPeriods& periods = options.periods;
  periods.Validate();
  Ph2Result result{.name = series.name};
  const MonthLookup lookup(series);
  // The years of both periods, in order (ph2DataSelection drops the years between them).
  std::vector<int> scope;
  for (int year = periods.FirstYear(); year <= periods.LastYear(); ++year) {
    if (periods.InReference(year) || periods.InComparison(year)) {
      scope.push_back(year);
    }
  }
  const auto sampled = [&](int year, int month) {
    const MonthlyPoint* point = lookup.At(year, month);
    return point != nullptr && point->samples > 0 && !std::isnan(point->mean);
  };
  // ph2DataCleaning: remove years with too few months, then (consistency) every year before the
  // last hole in what is left.
  std::vector<size_t> kept;  // positions in `scope`
  for (size_t position = 0; position < scope.size(); ++position) {
    int months = 0;
    for (int month = 1; month <= 12; ++month) {
      months += sampled(scope[position], month) ? 1 : 0;
    }
    if (months >= options.min_months_per_year) {
      kept.push_back(position);
    } else if (months > 0) {
      result.years_removed.push_back(scope[position]);
    }
  }
  if (options.drop_years_before_gap) {
    size_t first_after_gap = 0;
    for (size_t i = 1; i < kept.size(); ++i) {
      if (kept[i] - kept[i - 1] > 1) {
        first_after_gap = i;
      }
    }
    for (size_t i = 0; i < first_after_gap; ++i) {
      result.years_removed.push_back(scope[kept[i]]);
    }
    kept.erase(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(first_after_gap));
  }
  std::sort(result.years_removed.begin(), result.years_removed.end());
  if (!result.years_removed.empty()) {
    result.warnings.push_back("years left out by the PelHabMSFD cleaning (fewer than " +
                              std::to_string(options.min_months_per_year) + " sampled months" +
                              (options.drop_years_before_gap ? ", or before such a gap" : "") +
                              "): " + JoinYears(result.years_removed));
  }
  std::set<int> kept_years;
  for (const size_t position : kept) {
    kept_years.insert(scope[position]);
    result.reference_years += periods.InReference(scope[position]) ? 1 : 0;
  }
  const bool has_comparison = std::any_of(
      kept_years.begin(), kept_years.end(), [&](int year) { return periods.InComparison(year); });
  Check(result.reference_years > 0 && has_comparison,
        ErrorCode::kInvalidInput,
        "PH2 of " + series.name + ": no " +
            std::string(result.reference_years == 0 ? "reference" : "comparison") +
            " year has >= " + std::to_string(options.min_months_per_year) +
            " sampled months after the cleaning");
  if (result.reference_years < options.min_reference_years) {
    result.warnings.push_back(
        "only " + std::to_string(result.reference_years) + " reference years (PelHabMSFD needs " +
        std::to_string(options.min_reference_years) + "): the climatology is uncertain");
  }
  // The monthly series from the first to the last kept year, y = log10(monthly mean + 1).
  std::vector<double> values;
  for (size_t position = kept.front(); position <= kept.back(); ++position) {
    const int year = scope[position];
    for (int month = 1; month <= 12; ++month) {
      const bool measured = kept_years.count(year) > 0 && sampled(year, month);
      const MonthlyPoint* point = lookup.At(year, month);
      result.months.push_back({.year = year,
                               .month = month,
                               .samples = point != nullptr ? point->samples : 0,
                               .interpolated = !measured,
                               .comparison = periods.InComparison(year)});
      values.push_back(measured ? std::log10(point->mean + 1.0) : kNaN);
    }
  }
  // Regularisation: linear between measured months, the nearest value at the ends (rule = 2).
  values = FillGaps(values, static_cast<int>(values.size()));
  // The mean annual cycle of the reference months (anomalies(): mmean over rDataRef).
  for (int month = 0; month < 12; ++month) {
    std::vector<double> reference;
    for (size_t i = static_cast<size_t>(month); i < values.size(); i += 12) {
      if (!result.months[i].comparison) {
        reference.push_back(values[i]);
      }
    }
    result.cycle[static_cast<size_t>(month)] = Mean(reference);
  }
  std::vector<double> anomalies;
  double cumulative = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    Ph2Month& month = result.months[i];
    month.value = values[i];
    month.cycle = result.cycle[i % 12];
    month.anomaly = month.value - month.cycle;
    anomalies.push_back(month.anomaly);
    cumulative += std::isnan(month.anomaly) ? 0 : month.anomaly;
    month.cumulative = cumulative;
  }
  AnomalyThresholds& limits = result.thresholds;
  limits.q2_5 = QuantileType7(anomalies, 0.025);
  limits.q25 = QuantileType7(anomalies, 0.25);
  limits.q75 = QuantileType7(anomalies, 0.75);
  limits.q97_5 = QuantileType7(anomalies, 0.975);
  limits.min = QuantileType7(anomalies, 0.0);
  limits.max = QuantileType7(anomalies, 1.0);
  std::vector<double> reference_anomalies;
  std::vector<double> comparison_anomalies;
  AnomalyCounts& counts = result.comparison;
  for (Ph2Month& month : result.months) {
    const double a = month.anomaly;
    // The order of PelHabMSFD: later classes override earlier ones.
    month.change = AnomalyClass::kSmall;
    month.change = a >= limits.q75 ? AnomalyClass::kImportantPositive : month.change;
    month.change = a <= limits.q25 ? AnomalyClass::kImportantNegative : month.change;
    month.change = a >= limits.q97_5 ? AnomalyClass::kExtremePositive : month.change;
    month.change = a <= limits.q2_5 ? AnomalyClass::kExtremeNegative : month.change;
    if (std::isnan(a)) {
      continue;
    }
    if (!month.comparison) {
      reference_anomalies.push_back(a);
      continue;
    }
    comparison_anomalies.push_back(a);
    ++counts.months;
    counts.important_positive += a >= limits.q75 ? 1 : 0;
    counts.important_negative += a <= limits.q25 ? 1 : 0;
    counts.extreme_positive += a >= limits.q97_5 ? 1 : 0;
    counts.extreme_negative += a <= limits.q2_5 ? 1 : 0;
    counts.strong_positive += (a >= limits.q75 && a < limits.q97_5) ? 1 : 0;
    counts.strong_negative += (a <= limits.q25 && a > limits.q2_5) ? 1 : 0;
  }
  if (counts.months > 0) {
    const double months = counts.months;
    counts.percent_important =
        100.0 * (counts.important_positive + counts.important_negative) / months;
    counts.percent_extreme = 100.0 * (counts.extreme_positive + counts.extreme_negative) / months;
    counts.percent_strong = 100.0 * (counts.strong_positive + counts.strong_negative) / months;
  }
  result.t_test = WelchTest(reference_anomalies, comparison_anomalies);
  result.t_test_significant = result.t_test.p <= options.t_test_significance;
  result.f_test = VarianceRatioTest(reference_anomalies, comparison_anomalies);
  result.sd_change_percent =
      -(1.0 - SampleSd(comparison_anomalies) / SampleSd(reference_anomalies)) * 100.0;
  std::vector<double> years;
  std::vector<double> means;
  for (size_t start = 0; start + 12 <= values.size(); start += 12) {
    years.push_back(result.months[start].year);
    means.push_back(Mean(std::span(values).subspan(start, 12)));
  }
  result.trend = MannKendall(years, means);
  return result;
}

// ---------------------------------------------------------------------------------------------
// PH3.

DiversityIndices ComputeDiversity(std::span<const double> abundances) {
  std::vector<double> x;
  for (const double value : abundances) {
    x.push_back(std::isnan(value) || value < 0 ? 0.0 : value);
  }
  DiversityIndices indices;
  for (const double value : x) {
    indices.abundance += value;
    indices.richness += value > 0 ? 1 : 0;
  }
  const double n_total = indices.abundance;
  if (n_total <= 0) {
    return indices;
  }
  const double s = indices.richness;
  indices.menhinick = s / std::sqrt(n_total);                           // Menhinick 1964
  indices.margalef = n_total > 1 ? (s - 1) / std::log(n_total) : kNaN;  // Margalef 1958
  std::vector<double> sorted = x;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  const double n1 = sorted[0];
  const double n2 = sorted.size() > 1 ? sorted[1] : 0.0;
  indices.hulburt = 100.0 * (n1 + n2) / n_total;  // Hulburt 1963, as Rombouts codes it
  double shannon = 0;
  double squares = 0;
  for (const double value : x) {
    if (value > 0) {
      const double p = value / n_total;
      shannon -= p * std::log(p);  // Shannon 1948, natural log (vegan)
      squares += p * p;
    }
  }
  indices.shannon = shannon;
  indices.simpson = 1.0 - squares;  // Gini–Simpson (vegan "simpson")
  indices.gini = squares;
  indices.pielou = s > 1 ? shannon / std::log(s) : kNaN;  // Pielou 1966
  return indices;
}

std::vector<double> ComputeLcbd(const std::vector<std::vector<double>>& rows) {
  std::vector<double> lcbd(rows.size(), kNaN);
  if (rows.size() < 2) {
    return lcbd;
  }
  const size_t columns = rows.front().size();
  std::vector<size_t> used;  // columns that are not all zero
  for (size_t column = 0; column < columns; ++column) {
    for (const std::vector<double>& row : rows) {
      if (row[column] != 0) {
        used.push_back(column);
        break;
      }
    }
  }
  // Y = x / sqrt(2 Σx) (PelHabMSFD's transform; not the standard Hellinger √(x/Σx)).
  std::vector<std::vector<double>> y(rows.size(), std::vector<double>(used.size()));
  for (size_t i = 0; i < rows.size(); ++i) {
    const double row_sum = std::accumulate(rows[i].begin(), rows[i].end(), 0.0);
    if (!(row_sum > 0)) {
      return lcbd;  // R divides by zero here and gets NaN everywhere
    }
    for (size_t j = 0; j < used.size(); ++j) {
      y[i][j] = rows[i][used[j]] / std::sqrt(row_sum * 2);
    }
  }
  std::vector<double> row_squares(rows.size(), 0.0);
  double total = 0;
  for (size_t j = 0; j < used.size(); ++j) {
    double mean = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      mean += y[i][j];
    }
    mean /= static_cast<double>(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      const double square = (y[i][j] - mean) * (y[i][j] - mean);
      row_squares[i] += square;
      total += square;
    }
  }
  if (!(total > 0)) {
    return lcbd;
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    lcbd[i] = row_squares[i] / total;
  }
  return lcbd;
}

std::vector<double> LcbdPermutationP(const std::vector<std::vector<double>>& rows,
                                     int permutations,
                                     uint64_t seed) {
  const std::vector<double> observed = ComputeLcbd(rows);
  std::vector<double> p(rows.size(), kNaN);
  if (rows.size() < 2 || permutations <= 0 || std::isnan(observed.front())) {
    return p;
  }
  std::vector<int> at_least(rows.size(), 1);  // nGE.L starts at 1: the observed one
  SplitMix64 random(seed);
  std::vector<std::vector<double>> shuffled = rows;
  for (int permutation = 0; permutation < permutations; ++permutation) {
    for (size_t column = 0; column < rows.front().size(); ++column) {
      for (size_t i = rows.size() - 1; i > 0; --i) {  // Fisher–Yates, per column
        std::swap(shuffled[i][column], shuffled[random.Below(i + 1)][column]);
      }
    }
    const std::vector<double> lcbd = ComputeLcbd(shuffled);
    for (size_t i = 0; i < rows.size(); ++i) {
      at_least[i] += lcbd[i] >= observed[i] ? 1 : 0;
    }
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    p[i] = static_cast<double>(at_least[i]) / (permutations + 1);
  }
  return p;
}

Ph3Result ComputePh3(std::span<const MonthlySeries> taxa, const Ph3Options& options) {
  Check(options.first_year <= options.last_year,
        ErrorCode::kInvalidInput,
        "PH3: the first year (" + std::to_string(options.first_year) + ") is after the last (" +
            std::to_string(options.last_year) + ")");
  Ph3Result result;
  if (taxa.empty()) {
    result.warnings.push_back("no taxon of the group was seen in the period: nothing to assess");
  }
  std::vector<MonthLookup> lookups;
  for (const MonthlySeries& series : taxa) {
    result.taxa.push_back(series.name);
    lookups.emplace_back(series);
  }
  // The monthly pool: one abundance vector per sampled month.
  std::vector<std::vector<double>> month_rows;
  for (int year = options.first_year; year <= options.last_year; ++year) {
    for (int month = 1; month <= 12; ++month) {
      int samples = 0;
      std::vector<double> row;
      for (const MonthLookup& lookup : lookups) {
        const MonthlyPoint* point = lookup.At(year, month);
        const bool sampled = point != nullptr && point->samples > 0 && !std::isnan(point->mean);
        samples = std::max(samples, sampled ? point->samples : 0);
        row.push_back(sampled ? point->mean : 0.0);
      }
      if (samples == 0) {
        continue;
      }
      Ph3Month entry{
          .year = year, .month = month, .samples = samples, .indices = ComputeDiversity(row)};
      const auto largest = std::max_element(row.begin(), row.end());
      if (largest != row.end() && *largest > 0) {
        entry.dominant = result.taxa[static_cast<size_t>(largest - row.begin())];
        entry.bloom = *largest >= entry.indices.abundance / 2;  // PelHabMSFD `bloom`
      }
      result.months.push_back(std::move(entry));
      month_rows.push_back(std::move(row));
    }
  }
  // Annual means and blooms of every year with a sampled month. Only the years with enough
  // sampled months are assessed (ph3DataCleaning removes the others before computing anything):
  // they alone enter Patten's extremes, the EQRs' best year, the LCBD rows and the trends.
  std::vector<std::vector<double>> year_rows;  // LCBD rows: the assessed years' pools
  std::vector<size_t> year_of_row;
  std::vector<int> sparse_years;
  for (int year = options.first_year; year <= options.last_year; ++year) {
    Ph3Year entry{.year = year};
    std::vector<double> richness, menhinick, margalef, hulburt, shannon, simpson, pielou;
    std::vector<double> pooled(result.taxa.size(), 0.0);
    for (size_t m = 0; m < result.months.size(); ++m) {
      const Ph3Month& month = result.months[m];
      if (month.year != year) {
        continue;
      }
      ++entry.months;
      entry.bloom_months += month.bloom ? 1 : 0;
      richness.push_back(month.indices.richness);
      menhinick.push_back(month.indices.menhinick);
      margalef.push_back(month.indices.margalef);
      hulburt.push_back(month.indices.hulburt);
      shannon.push_back(month.indices.shannon);
      simpson.push_back(month.indices.simpson);
      pielou.push_back(month.indices.pielou);
      for (size_t t = 0; t < pooled.size(); ++t) {
        pooled[t] += month_rows[m][t];
      }
    }
    if (entry.months == 0) {
      continue;
    }
    entry.richness = Mean(richness);
    entry.menhinick = Mean(menhinick);
    entry.margalef = Mean(margalef);
    entry.hulburt = Mean(hulburt);
    entry.shannon = Mean(shannon);
    entry.simpson = Mean(simpson);
    entry.pielou = Mean(pielou);
    entry.bloom_index = 100.0 - entry.bloom_months;
    entry.assessed = entry.months >= options.min_months_per_year;
    if (!entry.assessed) {
      sparse_years.push_back(year);
    } else {
      ++result.qualifying_years;
      // The year's pool is the mean of its monthly means, free of the sampling effort: x/√(2Σx)
      // is not scale-invariant, so a sum over samples or months would make a year with more of
      // them look unusual.
      for (double& value : pooled) {
        value /= entry.months;
      }
      if (std::accumulate(pooled.begin(), pooled.end(), 0.0) > 0) {
        year_rows.push_back(std::move(pooled));
        year_of_row.push_back(result.years.size());
      }
    }
    result.years.push_back(std::move(entry));
  }
  result.qc_passed = result.qualifying_years >= options.min_years;
  if (!sparse_years.empty()) {
    result.warnings.push_back("years with fewer than " +
                              std::to_string(options.min_months_per_year) +
                              " sampled months are reported but left out of Patten, the EQRs, "
                              "LCBD, IVI and the trends (PelHabMSFD removes them): " +
                              JoinYears(sparse_years));
  }
  if (!result.qc_passed) {
    result.warnings.push_back("only " + std::to_string(result.qualifying_years) +
                              " years with >= " + std::to_string(options.min_months_per_year) +
                              " sampled months (PelHabMSFD needs " +
                              std::to_string(options.min_years) + " for a station)");
  }
  const auto assessed_year = [&](int year) {
    return std::find(sparse_years.begin(), sparse_years.end(), year) == sparse_years.end();
  };
  // Patten over the months of the assessed years (PelHabMSFD `pattenIndex`).
  double shannon_max = -std::numeric_limits<double>::infinity();
  double shannon_min = std::numeric_limits<double>::infinity();
  for (const Ph3Month& month : result.months) {
    if (assessed_year(month.year) && !std::isnan(month.indices.shannon)) {
      shannon_max = std::max(shannon_max, month.indices.shannon);
      shannon_min = std::min(shannon_min, month.indices.shannon);
    }
  }
  for (Ph3Month& month : result.months) {
    if (assessed_year(month.year) && shannon_max > shannon_min) {
      month.patten = (shannon_max - month.indices.shannon) / (shannon_max - shannon_min);
    }
  }
  // EQRs of the assessed years against the best of them (valRef = max).
  double best_hulburt = 0;
  double best_menhinick = 0;
  double best_bloom = 0;
  for (const Ph3Year& year : result.years) {
    if (year.assessed) {
      best_hulburt = std::max(best_hulburt, 100.0 - year.hulburt);
      best_menhinick = std::max(best_menhinick, year.menhinick);
      best_bloom = std::max(best_bloom, year.bloom_index);
    }
  }
  for (Ph3Year& year : result.years) {
    if (year.assessed) {
      year.eqr_hulburt = best_hulburt > 0 ? (100.0 - year.hulburt) / best_hulburt : kNaN;
      year.eqr_menhinick = best_menhinick > 0 ? year.menhinick / best_menhinick : kNaN;
      year.eqr_bloom = best_bloom > 0 ? year.bloom_index / best_bloom : kNaN;
    }
  }
  // LCBD of the yearly pool and its permutation test; IVI of the most unusual years.
  const std::vector<double> lcbd = ComputeLcbd(year_rows);
  const std::vector<double> lcbd_p =
      LcbdPermutationP(year_rows, options.permutations, options.seed);
  std::vector<size_t> by_lcbd;
  for (size_t row = 0; row < year_rows.size(); ++row) {
    Ph3Year& year = result.years[year_of_row[row]];
    year.lcbd = lcbd[row];
    year.lcbd_p = lcbd_p[row];
    if (year.lcbd_p <= options.lcbd_significance) {
      by_lcbd.push_back(year_of_row[row]);
    }
  }
  std::stable_sort(by_lcbd.begin(), by_lcbd.end(), [&](size_t a, size_t b) {
    return result.years[a].lcbd > result.years[b].lcbd;
  });
  for (size_t rank = 0; rank < by_lcbd.size() && static_cast<int>(rank) < options.ivi_years;
       ++rank) {
    Ph3Year& year = result.years[by_lcbd[rank]];
    std::vector<double> density(result.taxa.size(), 0.0);
    std::vector<double> presences(result.taxa.size(), 0.0);
    for (size_t m = 0; m < result.months.size(); ++m) {
      if (result.months[m].year != year.year) {
        continue;
      }
      for (size_t t = 0; t < density.size(); ++t) {
        density[t] += month_rows[m][t];
        presences[t] += month_rows[m][t] != 0 ? 1 : 0;
      }
    }
    const double density_total = std::accumulate(density.begin(), density.end(), 0.0);
    const double presence_total = std::accumulate(presences.begin(), presences.end(), 0.0);
    std::vector<ImportanceValue> values;
    for (size_t t = 0; t < density.size(); ++t) {
      ImportanceValue value{.taxon = result.taxa[t],
                            .relative_density = 100.0 * density[t] / density_total,
                            .relative_frequency = 100.0 * presences[t] / presence_total};
      value.ivi = value.relative_density + value.relative_frequency;
      if (value.ivi > 0) {
        values.push_back(std::move(value));
      }
    }
    std::stable_sort(
        values.begin(), values.end(), [](const auto& a, const auto& b) { return a.ivi > b.ivi; });
    if (values.size() > static_cast<size_t>(options.ivi_taxa)) {
      values.resize(static_cast<size_t>(options.ivi_taxa));
    }
    year.ivi = std::move(values);
  }
  // Trends of the assessed years' annual means.
  std::vector<double> times;
  for (const Ph3Year& year : result.years) {
    if (year.assessed) {
      times.push_back(year.year);
    }
  }
  const auto trend_of = [&](const char* name, double Ph3Year::* field) {
    std::vector<double> means;
    for (const Ph3Year& year : result.years) {
      if (year.assessed) {
        means.push_back(year.*field);
      }
    }
    result.trends.push_back({.index = name, .kendall = MannKendall(times, means)});
  };
  trend_of("menhinick", &Ph3Year::menhinick);
  trend_of("hulburt", &Ph3Year::hulburt);
  trend_of("shannon", &Ph3Year::shannon);
  trend_of("simpson", &Ph3Year::simpson);
  trend_of("pielou", &Ph3Year::pielou);
  return result;
}

}  // namespace phytoflow
