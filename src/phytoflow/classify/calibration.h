#pragma once

// Calibrated confidence: temperature scaling fitted on validation logits, and per-class
// probability thresholds chosen for a target precision, below which a particle is "uncertain".

#include <cstddef>
#include <span>
#include <vector>

namespace phytoflow {

// Softmax of logits / temperature, row by row (`classes` values per row).
std::vector<float> Softmax(std::span<const float> logits, size_t classes, double temperature);

// The temperature in [0.05, 20] that minimises the negative log-likelihood of `targets`
// (golden-section search on log T). 1 when there are no items.
double FitTemperature(std::span<const float> logits, size_t classes, std::span<const int> targets);

// For each class c, the smallest probability t such that, among validation items whose top
// class is c and whose probability is ≥ t, at least `target_precision` are truly c (and at
// least one item qualifies). Classes that never reach the target get 1.0 (always uncertain);
// classes never predicted get `target_precision` as a neutral default. Each t is one of the
// items' probabilities (the lowest one admitted), so DecideClass keeps that item.
std::vector<double> ThresholdsForPrecision(std::span<const float> probabilities,
                                           size_t classes,
                                           std::span<const int> targets,
                                           double target_precision);

// The decision for one row: the index of the top class, or -1 ("uncertain") when its
// probability is below that class's threshold. Ties go to the lower index. Empty `thresholds`:
// never uncertain; otherwise Error{kInvalidInput} unless there is one per class.
int DecideClass(std::span<const float> probabilities, std::span<const double> thresholds);

}  // namespace phytoflow
