#pragma once

// The model files a server knows (the default model and those named with --model), what each
// says about itself and its validation, which one is active, and the active one's classifier,
// opened on first use. The classifier implementation is chosen by the caller
// (cli/cmd_serve.cpp passes LibTorch's ReadModelInfo and OpenTorchClassifier), so the server
// never names LibTorch.
//
//   ModelCatalog models({"models/phytoflow-flowcam-default.pt"}, ReadModelInfo, open_torch);
//   auto predictions = models.PredictImages(images, 5);     // the active (first) model
//   models.Activate("north-sea-0123456789ab");              // later predictions use that one

#include "phytoflow/app/classification.h"
#include "phytoflow/classify/classifier.h"
#include "phytoflow/classify/model_info.h"
#include "phytoflow/products/abundance_correction.h"

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace phytoflow {

using ModelInfoReader = std::function<ModelInfo(const std::filesystem::path&)>;
using ClassifierOpener = std::function<std::unique_ptr<Classifier>(const std::filesystem::path&)>;

// What a model's training report says about its validation.
struct ModelValidation {
  // The validation report as JSON text: ModelInfo::training_json itself when it holds
  // "confusion" at the top (what `train --json` prints), else its "validation" object; when
  // neither has a usable confusion matrix, the same from MODEL.training.json beside the model
  // file if that names the same model id. Empty if none.
  std::string report_json;
  std::optional<ConfusionRates> confusion;  // counts[true][predicted] over the model's classes
  std::string problem;  // why there is no confusion matrix (for the composition's warnings)
};

// Reads the validation of a model: see ModelValidation. Never throws for a missing or malformed
// report; `problem` says what is missing.
ModelValidation ReadModelValidation(const ModelInfo& info, const std::filesystem::path& model_path);

// One model file the catalog knows. Which one is active (the model of DEEPaaS predictions,
// corrected abundances and classify jobs without a model) is the catalog's to say: Active().
struct ModelEntry {
  std::filesystem::path path;
  ModelInfo info;
  ModelValidation validation;
};

// Thread-safe. The entries never change once the catalog is built, so the references that
// Models(), Find() and Active() give stay valid as long as the catalog; only which entry is
// active changes (Activate), so compare with Active() at the moment it matters.
class ModelCatalog {
 public:
  // An empty catalog: no model (built without LibTorch, or no model file found).
  ModelCatalog() = default;
  // Reads every model file's info and validation; the first is the active model. A path given
  // twice counts once. Throws what `read_info` throws for an unreadable model file.
  ModelCatalog(const std::vector<std::filesystem::path>& paths,
               const ModelInfoReader& read_info,
               ClassifierOpener open_classifier);

  // Every model, in the order given.
  const std::vector<ModelEntry>& Models() const { return models_; }
  // The model with this id, or nullptr.
  const ModelEntry* Find(const std::string& model_id) const;
  // The active model, or nullptr when there is none.
  const ModelEntry* Active() const;

  // Makes the model with this id the active one and returns it; the next PredictFiles opens its
  // classifier. `remember` (may be empty) is called with it first, under the catalog's lock, so
  // that concurrent activations are remembered in the order they take effect; if it throws,
  // nothing changes. Throws Error{kNotFound} for an id the catalog does not have.
  const ModelEntry& Activate(const std::string& model_id,
                             const std::function<void(const ModelEntry&)>& remember = {});

  // Predicts decoded images with the active model (as app PredictFiles, without a pixel size:
  // a model that wants sizes in pixels gets each image's), one prediction per image, opening its
  // classifier on the first call after a change of the active model; one prediction runs at a
  // time, so the caller decodes before, not under the lock. `model_used`, when given, is set to
  // the model that predicted. Throws Error{kUnavailable} when there is no model or no way to
  // open one, and what the classifier throws.
  std::vector<Prediction> PredictImages(std::span<const Image> images,
                                        int top_k,
                                        const ModelEntry** model_used = nullptr);

  // Opens a classifier of the model with this id for the caller alone (a classify job), apart
  // from the one PredictFiles shares, so that a long job never holds up predictions. Throws
  // Error{kNotFound} for an unknown id, Error{kUnavailable} when the catalog cannot open models,
  // and what opening the file throws.
  std::unique_ptr<Classifier> OpenClassifier(const std::string& model_id) const;

 private:
  std::vector<ModelEntry> models_;  // never changed after construction
  ClassifierOpener open_classifier_;
  std::atomic<const ModelEntry*> active_ = nullptr;  // an element of models_, or nullptr
  std::mutex activate_mutex_;                        // one Activate at a time
  std::mutex classifier_mutex_;
  std::unique_ptr<Classifier> classifier_;        // guarded by classifier_mutex_
  const ModelEntry* classifier_model_ = nullptr;  // what classifier_ was opened for; ditto
};

}  // namespace phytoflow
