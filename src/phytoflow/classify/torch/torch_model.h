#pragma once

// Training and inference with LibTorch, behind plain C++ types: no LibTorch header is included
// here, so only classify/torch/*.cpp pay LibTorch's compile time.
//
//   TrainResult result = TrainModel(train, validation, {.architecture = "mobilenet"}, "model.pt");
//   std::unique_ptr<Classifier> classifier = OpenTorchClassifier("model.pt", {});

#include "phytoflow/classify/classifier.h"
#include "phytoflow/classify/context.h"
#include "phytoflow/classify/dataset.h"
#include "phytoflow/classify/metrics.h"
#include "phytoflow/classify/model_info.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace phytoflow {

struct TrainProgress {
  int epoch = 0;  // 1-based
  int epochs = 0;
  int64_t step = 0;  // within the epoch, 1-based
  int64_t steps = 0;
  double loss = 0.0;      // running mean over the epoch
  double accuracy = 0.0;  // running training accuracy over the epoch
  double seconds_left = 0.0;
  std::optional<double> validation_macro_f1;  // set once per epoch, after validation
};

struct TrainOptions {
  std::string name = "phytoflow-model";
  // "resnet" or "mobilenet", optionally with parameters: "resnet:width=32,depth=2",
  // "mobilenet:width=1.0,depth=1". See docs/classifier.md.
  std::string architecture = "mobilenet";
  int epochs = 40;
  int image_size = 64;
  int channels = 3;
  int batch_size = 64;
  double learning_rate = 3e-3;  // peak, AdamW
  double weight_decay = 5e-4;
  double label_smoothing = 0.1;
  int warmup_epochs = 2;
  int patience = 10;  // epochs without a better validation macro-F1 before stopping
  ContextMode context = ContextMode::kSize;
  uint32_t seed = 1;
  double target_precision = 0.95;
  int threads = 0;                              // CPU threads; 0 = every core
  std::string device = "auto";                  // "auto", "cpu" or "cuda"
  std::optional<std::filesystem::path> resume;  // a checkpoint written by an earlier run
  std::vector<ModelClass> class_info;           // optional AphiaIDs by class name
  std::function<void(const TrainProgress&)> on_progress;
};

struct TrainResult {
  ModelInfo info;
  EvaluationReport validation;  // of the best epoch, calibrated
  int best_epoch = 0;
  int epochs_run = 0;
  double seconds = 0.0;
  double train_images_per_second = 0.0;
};

// Trains on `train`, selects the epoch by macro-F1 on `validation`, fits the temperature and
// thresholds on `validation`, and writes one model file to `model_path` (weights and
// ModelInfo). Writes "<model_path>.checkpoint" after every epoch (for `resume`). Throws
// Error{kInvalidInput} for empty datasets or unknown architectures.
TrainResult TrainModel(const Dataset& train,
                       const Dataset& validation,
                       const TrainOptions& options,
                       const std::filesystem::path& model_path);

struct ClassifierOptions {
  int threads = 0;              // CPU threads; 0 = every core
  std::string device = "auto";  // "auto", "cpu" or "cuda"
  int batch_size = 64;
  bool test_time_augmentation = false;  // average over flips and 90° rotations
};

// Loads a model file once. Throws Error{kNotFound} if missing, Error{kInvalidInput} if it is
// not a phytoflow model.
std::unique_ptr<Classifier> OpenTorchClassifier(const std::filesystem::path& model_path,
                                                const ClassifierOptions& options);

// Reads only the ModelInfo of a model file.
ModelInfo ReadModelInfo(const std::filesystem::path& model_path);

}  // namespace phytoflow
