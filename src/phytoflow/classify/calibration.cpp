#include "phytoflow/classify/calibration.h"

#include "phytoflow/classify/metrics.h"
#include "phytoflow/core/error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace phytoflow {
namespace {

constexpr double kMinTemperature = 0.05;
constexpr double kMaxTemperature = 20.0;
// Each golden-section step keeps 0.618 of the interval: 60 steps shrink ln(400) ≈ 6 to 1e-12.
constexpr int kGoldenSectionSteps = 60;
// Precision is a ratio of counts; this absorbs the rounding of e.g. 19 / 20 against 0.95.
constexpr double kPrecisionTolerance = 1e-9;

void CheckRows(std::span<const float> values, size_t classes, const char* what) {
  if (classes == 0 || values.size() % classes != 0) {
    throw Error(ErrorCode::kInvalidInput,
                std::string(what) + ": " + std::to_string(values.size()) +
                    " values are not rows of " + std::to_string(classes) + " classes");
  }
}

void CheckTargets(std::span<const int> targets, size_t rows, size_t classes) {
  if (targets.size() != rows) {
    throw Error(ErrorCode::kInvalidInput,
                "expected " + std::to_string(rows) + " targets, one per row, found " +
                    std::to_string(targets.size()));
  }
  for (size_t item_idx = 0; item_idx < targets.size(); ++item_idx) {
    if (targets[item_idx] < 0 || static_cast<size_t>(targets[item_idx]) >= classes) {
      throw Error(ErrorCode::kInvalidInput,
                  "item " + std::to_string(item_idx) + " has target " +
                      std::to_string(targets[item_idx]) + " outside the " +
                      std::to_string(classes) + " classes");
    }
  }
}

// Mean negative log-likelihood of the targets at one temperature.
double NegativeLogLikelihood(std::span<const float> logits,
                             size_t classes,
                             std::span<const int> targets,
                             double temperature) {
  double total = 0.0;
  for (size_t item_idx = 0; item_idx < targets.size(); ++item_idx) {
    const std::span<const float> row = logits.subspan(item_idx * classes, classes);
    const double top = *std::max_element(row.begin(), row.end()) / temperature;
    double sum = 0.0;
    for (float logit : row) {
      sum += std::exp(logit / temperature - top);
    }
    const double target_logit = row[static_cast<size_t>(targets[item_idx])] / temperature;
    total += top + std::log(sum) - target_logit;
  }
  return total / static_cast<double>(targets.size());
}

}  // namespace

std::vector<float> Softmax(std::span<const float> logits, size_t classes, double temperature) {
  CheckRows(logits, classes, "softmax");
  if (!(temperature > 0.0) || !std::isfinite(temperature)) {
    throw Error(ErrorCode::kInvalidInput,
                "softmax temperature must be positive, found " + std::to_string(temperature));
  }
  std::vector<float> probabilities(logits.size());
  std::vector<double> scaled(classes);
  for (size_t offset = 0; offset < logits.size(); offset += classes) {
    const std::span<const float> row = logits.subspan(offset, classes);
    // Subtracting the maximum keeps exp() from overflowing; the result is unchanged.
    const double top = *std::max_element(row.begin(), row.end()) / temperature;
    double sum = 0.0;
    for (size_t class_idx = 0; class_idx < classes; ++class_idx) {
      scaled[class_idx] = std::exp(row[class_idx] / temperature - top);
      sum += scaled[class_idx];
    }
    for (size_t class_idx = 0; class_idx < classes; ++class_idx) {
      probabilities[offset + class_idx] = static_cast<float>(scaled[class_idx] / sum);
    }
  }
  return probabilities;
}

double FitTemperature(std::span<const float> logits, size_t classes, std::span<const int> targets) {
  CheckRows(logits, classes, "temperature fit");
  CheckTargets(targets, logits.size() / classes, classes);
  if (targets.empty()) {
    return 1.0;
  }
  // Golden-section search on log T: the NLL is unimodal in T for a fixed set of logits, and
  // searching the logarithm treats 0.1 → 0.2 like 5 → 10.
  const double golden = (std::sqrt(5.0) - 1.0) / 2.0;
  double low = std::log(kMinTemperature);
  double high = std::log(kMaxTemperature);
  double left = high - golden * (high - low);
  double right = low + golden * (high - low);
  double left_loss = NegativeLogLikelihood(logits, classes, targets, std::exp(left));
  double right_loss = NegativeLogLikelihood(logits, classes, targets, std::exp(right));
  for (int step = 0; step < kGoldenSectionSteps; ++step) {
    if (left_loss <= right_loss) {
      high = right;
      right = left;
      right_loss = left_loss;
      left = high - golden * (high - low);
      left_loss = NegativeLogLikelihood(logits, classes, targets, std::exp(left));
    } else {
      low = left;
      left = right;
      left_loss = right_loss;
      right = low + golden * (high - low);
      right_loss = NegativeLogLikelihood(logits, classes, targets, std::exp(right));
    }
  }
  return std::exp((low + high) / 2.0);
}

std::vector<double> ThresholdsForPrecision(std::span<const float> probabilities,
                                           size_t classes,
                                           std::span<const int> targets,
                                           double target_precision) {
  CheckRows(probabilities, classes, "thresholds");
  CheckTargets(targets, probabilities.size() / classes, classes);
  if (!(target_precision > 0.0 && target_precision <= 1.0)) {
    throw Error(ErrorCode::kInvalidInput,
                "target precision must be in (0, 1], found " + std::to_string(target_precision));
  }
  // (probability of the top class, whether it is right) for the items each class wins.
  std::vector<std::vector<std::pair<float, bool>>> won(classes);
  for (size_t item_idx = 0; item_idx < targets.size(); ++item_idx) {
    const std::span<const float> row = probabilities.subspan(item_idx * classes, classes);
    const size_t top = ArgMax(row);
    won[top].emplace_back(row[top], static_cast<size_t>(targets[item_idx]) == top);
  }
  std::vector<double> thresholds(classes, target_precision);
  for (size_t class_idx = 0; class_idx < classes; ++class_idx) {
    std::vector<std::pair<float, bool>>& items = won[class_idx];
    if (items.empty()) {
      continue;  // never predicted: the neutral default
    }
    std::sort(
        items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    // Lowering t admits items in descending probability, ties together; the last t whose
    // admitted set is precise enough is the smallest one.
    double threshold = 1.0;
    int64_t correct = 0;
    int64_t admitted = 0;
    for (size_t item_idx = 0; item_idx < items.size(); ++item_idx) {
      correct += items[item_idx].second ? 1 : 0;
      ++admitted;
      const bool last_of_tie =
          item_idx + 1 == items.size() || items[item_idx + 1].first != items[item_idx].first;
      if (last_of_tie &&
          static_cast<double>(correct) >=
              target_precision * static_cast<double>(admitted) - kPrecisionTolerance) {
        threshold = items[item_idx].first;
      }
    }
    thresholds[class_idx] = threshold;
  }
  return thresholds;
}

int DecideClass(std::span<const float> probabilities, std::span<const double> thresholds) {
  if (probabilities.empty()) {
    return -1;
  }
  if (!thresholds.empty() && thresholds.size() != probabilities.size()) {
    throw Error(ErrorCode::kInvalidInput,
                "expected " + std::to_string(probabilities.size()) + " thresholds, found " +
                    std::to_string(thresholds.size()));
  }
  const size_t top = ArgMax(probabilities);
  if (!thresholds.empty() && static_cast<double>(probabilities[top]) < thresholds[top]) {
    return -1;
  }
  return static_cast<int>(top);
}

}  // namespace phytoflow
