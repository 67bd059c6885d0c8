#pragma once

// The classifier's uncertainty carried through the indicators by Monte Carlo (docs/indicators.md,
// "Uncertainty of predicted labels"): each replicate redraws the label of every particle that a
// model labelled from that label's calibrated top-k probabilities, the indicators are computed
// from each replicate as from the hard labels, and the percentile interval of the replicates'
// values is reported next to the hard-label estimate. Pure computation: the app layer
// (app/indicators.h) reads the labels and runs the indicators per replicate.
//
//   std::mt19937_64 generator(ReplicateSeed(seed, sample.id));
//   std::vector<ResolvedLabel> drawn = DrawLabels(resolved, top_k, generator);
//   Interval pi = PercentileInterval(replicate_pis, 0.95);

#include "phytoflow/core/label.h"
#include "phytoflow/products/composition.h"
#include "phytoflow/products/indicators.h"
#include "phytoflow/products/time_series.h"

#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string_view>
#include <vector>

namespace phytoflow {

// The Monte Carlo propagation. Only meaningful when model labels count (include_predictions).
struct UncertaintyOptions {
  int replicates = 0;   // 0: off
  double level = 0.95;  // of the percentile interval: 0.95 → the 2.5 % and 97.5 % percentiles
  uint64_t seed = 1;
  // Replicates are drawn only for samples of these years (what the indicator uses); 0: every
  // year.
  int first_year = 0;
  int last_year = 0;
  // Refuse more than this many particle draws (replicates × particles of the samples drawn), or
  // more than max_draws / kDrawsPerKeptObservation sample replicates (replicates × samples, each
  // kept in memory), before the store's particles are read; 0: no limit. The HTTP API sets one.
  int64_t max_draws = 0;
};
// A kept sample replicate (about 2 KB) weighs as much as this many draws in the budget.
inline constexpr int64_t kDrawsPerKeptObservation = 50;

// The fewest replicates the CLI and the API accept: a "95 % interval" of a handful of draws is
// only their range.
inline constexpr int kMinUncertaintyReplicates = 20;

// "monte-carlo over calibrated top-k": how the intervals are made, for the outputs.
inline constexpr const char* kUncertaintyMethod = "monte-carlo over calibrated top-k";

// The seed of one sample's generator: from the seed and the sample id only, so that a sample's
// draws do not depend on which other samples are selected or in which order they are read.
uint64_t ReplicateSeed(uint64_t seed, std::string_view sample_id);

// One replicate of a sample's labels. `top_k[i]` is the top-k of the model label that `labels[i]`
// comes from (empty when labels[i] is not a model's). A particle whose label is a model's
// (kPredicted or kUncertain) draws a class from its own top-k: class c with its probability,
// and with the leftover mass 1 − Σ top-k ("some class outside the top-k") it is unlabelled in
// this replicate. Validated and unlabelled particles keep their label. A model label without a
// top-k keeps its label (nothing to draw from). Exactly one uniform number is drawn per model
// label, so a particle's draw uses only its own top-k. Throws Error{kInvalidInput} when the
// spans differ in length.
std::vector<ResolvedLabel> DrawLabels(std::span<const ResolvedLabel> labels,
                                      std::span<const std::vector<LabelScore>> top_k,
                                      std::mt19937_64& generator);

// A percentile interval and the replicates' median; all NaN when there is none.
struct Interval {
  double lower = std::numeric_limits<double>::quiet_NaN();
  double upper = std::numeric_limits<double>::quiet_NaN();
  // The replicates' centre: the hard-label estimate counts an uncertain particle under no class
  // and a predicted one wholly under its top-1, the replicates spread both over their top-k, so
  // the estimate may lie outside its interval; the median shows where the replicates are.
  double median = std::numeric_limits<double>::quiet_NaN();
  bool operator==(const Interval&) const = default;
};

// The (1 − level)/2, 0.5 and (1 + level)/2 quantiles (R type 7) of the finite values. NaN when
// fewer than level × size values are finite: an interval of the replicates where the value could
// be computed would hide how often it could not. Throws Error{kInvalidInput} unless
// 0 < level < 1.
Interval PercentileInterval(std::span<const double> values, double level);

// Sets every point's lower, upper and median to the interval of the same month's mean over
// `replicates` (series of the same months, e.g. MonthlyMeans of each replicate's observations).
void AttachIntervals(MonthlySeries& estimate,
                     std::span<const MonthlySeries> replicates,
                     double level);

// PH1: the interval of each pair's PI over the comparison period and of each comparison year's.
struct Ph1PairIntervals {
  Interval pi;
  std::vector<std::pair<int, Interval>> annual;  // year, in the estimate's order
};
// One per pair of `estimate`, in its order. Pairs and years are matched by name and year.
std::vector<Ph1PairIntervals> Ph1Intervals(const Ph1Result& estimate,
                                           std::span<const Ph1Result> replicates,
                                           double level);

// PH2: the comparison months' shares by anomaly class and the change of the sd.
struct Ph2Intervals {
  Interval percent_important;
  Interval percent_extreme;
  Interval percent_strong;
  Interval sd_change_percent;
};
Ph2Intervals Ph2IntervalsOf(std::span<const Ph2Result> replicates, double level);

// PH3: each year's annual means of the indices.
struct Ph3YearIntervals {
  int year = 0;
  Interval richness;
  Interval menhinick;
  Interval margalef;
  Interval hulburt;
  Interval shannon;
  Interval simpson;
  Interval pielou;
};
// One per year of `estimate`, in its order, matched by year.
std::vector<Ph3YearIntervals> Ph3Intervals(const Ph3Result& estimate,
                                           std::span<const Ph3Result> replicates,
                                           double level);

}  // namespace phytoflow
