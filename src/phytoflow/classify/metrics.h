#pragma once

// Classification quality from predicted probabilities: top-1, top-5, macro-F1, balanced
// accuracy, per-class precision / recall / F1 / support, the confusion matrix and the
// expected calibration error. Plain arithmetic, tested against hand-computed matrices.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace phytoflow {

struct ClassMetrics {
  std::string name;
  double precision = 0.0;  // 0 when nothing was predicted as this class
  double recall = 0.0;     // 0 when the class has no support
  double f1 = 0.0;
  int64_t support = 0;  // true items of this class
};

struct EvaluationReport {
  int64_t items = 0;
  double top1 = 0.0;
  double top5 = 0.0;
  double macro_f1 = 0.0;           // mean F1 over classes with support
  double balanced_accuracy = 0.0;  // mean recall over classes with support
  double ece = 0.0;                // expected calibration error, 15 equal-width bins
  std::vector<ClassMetrics> per_class;
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
};

// Index of the highest value of a row; the first one on ties.
size_t ArgMax(std::span<const float> row);

// `probabilities` holds one row of `classes.size()` values per item (row-major).
EvaluationReport Evaluate(std::span<const int> targets,
                          std::span<const float> probabilities,
                          const std::vector<std::string>& classes);

// The confusion matrix as CSV: header "true\predicted,<classes>", one row per true class.
std::string ConfusionCsv(const EvaluationReport& report);

// The confusion matrix as an SVG heat map (row-normalised), for reports.
std::string ConfusionSvg(const EvaluationReport& report);

}  // namespace phytoflow
