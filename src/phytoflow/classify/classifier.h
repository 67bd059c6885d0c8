#pragma once

// The Classifier interface: images (and their context) in, calibrated predictions out. The
// LibTorch implementation lives in classify/torch/; the app layer and tests see only this.

#include "phytoflow/classify/context.h"
#include "phytoflow/classify/model_info.h"
#include "phytoflow/core/label.h"
#include "phytoflow/imaging/image.h"

#include <span>
#include <string>
#include <utility>
#include <vector>

namespace phytoflow {

// Label given when the top class's probability is below its threshold.

struct Prediction {
  int class_index = -1;                               // top class, or -1 when uncertain
  std::string label;                                  // class name, or kUncertainLabel
  double probability = 0.0;                           // calibrated probability of the top class
  std::vector<std::pair<std::string, double>> top_k;  // best classes first (kept when uncertain)
};

class Classifier {
 public:
  virtual ~Classifier() = default;

  // Calibrated class probabilities, one row of Info().classes.size() values per image
  // (row-major). `contexts` is empty or has one entry per image.
  virtual std::vector<float> Probabilities(std::span<const Image> images,
                                           std::span<const ParticleContext> contexts) = 0;

  // Probabilities turned into decisions with the model's thresholds.
  std::vector<Prediction> Classify(std::span<const Image> images,
                                   std::span<const ParticleContext> contexts,
                                   int top_k);

  virtual const ModelInfo& Info() const = 0;
};

}  // namespace phytoflow
