#pragma once

// Counts corrected for classifier error. Plain classify-and-count (CC) inherits the model's
// confusions: a rare class gains the errors of the common ones. Adjusted classify-and-count (ACC;
// Forman 2008, Saerens et al. 2002) inverts the model's validation confusion matrix:
//   observed_j = Σ_i true_i · P(predicted j | true i)
// solved for true_i ≥ 0 by non-negative least squares, with a bootstrap confidence interval that
// resamples both the validation confusion matrix and the sample's predictions.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace phytoflow {

// A model's confusion matrix on its validation set: counts[true][predicted] (argmax, before
// thresholds) over `classes`.
struct ConfusionRates {
  std::vector<std::string> classes;
  std::vector<std::vector<int64_t>> counts;
};

struct AdjustedEstimate {
  double estimate = 0;  // in the unit of what was corrected (counts, or cells per litre)
  double lower = 0;     // confidence interval
  double upper = 0;
  double level = 0.95;
};

struct AdjustedCounts {
  std::vector<double> plain;               // classify-and-count: the observed counts
  std::vector<AdjustedEstimate> adjusted;  // per class, same order as ConfusionRates::classes
};

// Corrects `observed` counts of predicted (argmax) classes, aligned with `confusion.classes`.
// A class without validation examples is taken as recognised perfectly (an identity row), so it
// keeps its observed count unless other classes are confused with it. The interval is the
// percentile bootstrap over `bootstrap_replicates` resamples (each confusion row multinomially
// with its own count, and the observed counts with their total); with 0 replicates it is the
// estimate itself. Throws Error{kInvalidInput} when sizes differ, a count is negative or the
// level is not in (0, 1). Deterministic for a given seed (and standard library).
AdjustedCounts AdjustClassifyAndCount(std::span<const int64_t> observed,
                                      const ConfusionRates& confusion,
                                      int bootstrap_replicates,
                                      uint64_t seed,
                                      double level = 0.95);

}  // namespace phytoflow
