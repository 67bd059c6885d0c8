#include "phytoflow/classify/classifier.h"

#include "phytoflow/classify/calibration.h"
#include "phytoflow/core/error.h"

#include <algorithm>
#include <numeric>

namespace phytoflow {

std::vector<Prediction> Classifier::Classify(std::span<const Image> images,
                                             std::span<const ParticleContext> contexts,
                                             int top_k) {
  const std::vector<float> probabilities = Probabilities(images, contexts);
  const ModelInfo& info = Info();
  const size_t classes = info.classes.size();
  if (classes == 0 || probabilities.size() != images.size() * classes) {
    throw Error(ErrorCode::kInternal,
                "classifier returned " + std::to_string(probabilities.size()) +
                    " probabilities for " + std::to_string(images.size()) + " images and " +
                    std::to_string(classes) + " classes");
  }
  const size_t keep = std::min(static_cast<size_t>(std::max(top_k, 0)), classes);
  std::vector<size_t> order(classes);
  std::vector<Prediction> predictions;
  predictions.reserve(images.size());
  for (size_t image_idx = 0; image_idx < images.size(); ++image_idx) {
    const std::span<const float> row(probabilities.data() + image_idx * classes, classes);
    // Best first; equal probabilities keep class order, as DecideClass does.
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(
        order.begin(), order.end(), [&](size_t a, size_t b) { return row[a] > row[b]; });

    Prediction prediction;
    prediction.class_index = DecideClass(row, info.thresholds);  // empty thresholds: never -1
    prediction.label = prediction.class_index < 0
                           ? kUncertainLabel
                           : info.classes[static_cast<size_t>(prediction.class_index)].name;
    prediction.probability = row[order[0]];
    for (size_t rank = 0; rank < keep; ++rank) {
      prediction.top_k.emplace_back(info.classes[order[rank]].name, row[order[rank]]);
    }
    predictions.push_back(std::move(prediction));
  }
  return predictions;
}

}  // namespace phytoflow
