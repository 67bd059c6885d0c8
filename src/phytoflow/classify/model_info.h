#pragma once

#include "phytoflow/classify/context.h"
#include "phytoflow/classify/preprocess.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace phytoflow {

struct ModelClass {
  std::string name;
  std::optional<int64_t> aphia_id;  // WoRMS AphiaID when the class is a taxon
  bool operator==(const ModelClass&) const = default;
};

// Everything a model file says about itself besides its weights.
struct ModelInfo {
  std::string id;            // "<name>-<12 hex of the weights' hash>": what predictions cite
  std::string name;          // given at training, e.g. "phytoflow-flowcam-default"
  std::string architecture;  // e.g. "mobilenet:width=1.0,depth=1"
  std::vector<ModelClass> classes;
  PreprocessOptions preprocess;
  ContextSchema context;
  double temperature = 1.0;        // divides the logits before softmax
  double target_precision = 0.95;  // what the thresholds were chosen for
  std::vector<double> thresholds;  // per class; below it the prediction is "uncertain"
  std::string created_at;          // ISO 8601 UTC
  std::string phytoflow_version;
  std::string training_json;  // training data summary, options and validation metrics

  std::vector<std::string> ClassNames() const;
};

}  // namespace phytoflow
