#include "phytoflow/server/model_catalog.h"

#include "phytoflow/core/error.h"

#include <fstream>

#include <nlohmann/json.hpp>

namespace phytoflow {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// The validation part of a training report: the report itself when it has a confusion matrix
// at the top (what `train --json` prints), else its "validation" object.
const Json* ValidationPart(const Json& json) {
  if (!json.is_object()) {
    return nullptr;
  }
  if (json.contains("confusion")) {
    return &json;
  }
  if (json.contains("validation") && json["validation"].is_object() &&
      json["validation"].contains("confusion")) {
    return &json["validation"];
  }
  return nullptr;
}

// counts[true][predicted] over the model's classes; nullopt unless the matrix is square over
// exactly these classes (and, when the report names its classes, in this order).
std::optional<ConfusionRates> ConfusionFromJson(const Json& validation,
                                                const std::vector<std::string>& classes) {
  const Json& matrix = validation["confusion"];
  if (!matrix.is_array() || matrix.size() != classes.size()) {
    return std::nullopt;
  }
  if (validation.contains("per_class") && validation["per_class"].is_array()) {
    const Json& per_class = validation["per_class"];
    if (per_class.size() != classes.size()) {
      return std::nullopt;
    }
    for (size_t idx = 0; idx < classes.size(); ++idx) {
      if (!per_class[idx].is_object() || per_class[idx].value("name", "") != classes[idx]) {
        return std::nullopt;
      }
    }
  }
  ConfusionRates rates{.classes = classes};
  for (const Json& row : matrix) {
    if (!row.is_array() || row.size() != classes.size()) {
      return std::nullopt;
    }
    std::vector<int64_t> counts;
    for (const Json& count : row) {
      if (!count.is_number_integer() || count.get<int64_t>() < 0) {
        return std::nullopt;
      }
      counts.push_back(count.get<int64_t>());
    }
    rates.counts.push_back(std::move(counts));
  }
  return rates;
}

}  // namespace

ModelValidation ReadModelValidation(const ModelInfo& info, const fs::path& model_path) {
  ModelValidation validation;
  const std::vector<std::string> classes = info.ClassNames();
  const Json stored = Json::parse(info.training_json, nullptr, /*allow_exceptions=*/false);
  if (const Json* part = ValidationPart(stored)) {
    validation.report_json = part->dump();
    validation.confusion = ConfusionFromJson(*part, classes);
  }
  fs::path report = model_path;
  report.replace_extension(".training.json");
  if (!validation.confusion) {
    std::ifstream in(report);
    if (in) {
      const Json json = Json::parse(in, nullptr, /*allow_exceptions=*/false);
      const Json* part = ValidationPart(json);
      if (part != nullptr && json.value("model_id", "") == info.id) {
        validation.report_json = part->dump();
        validation.confusion = ConfusionFromJson(*part, classes);
      }
    }
  }
  if (!validation.confusion) {
    validation.problem = "model " + info.id + " (" + model_path.string() +
                         ") carries no validation confusion matrix, and " + report.string() +
                         " has none for it: corrected abundances not computed";
  }
  return validation;
}

ModelCatalog::ModelCatalog(const std::vector<fs::path>& paths,
                           const ModelInfoReader& read_info,
                           ClassifierOpener open_classifier)
    : open_classifier_(std::move(open_classifier)) {
  for (const fs::path& path : paths) {
    std::error_code error;
    bool seen = false;
    for (const ModelEntry& entry : models_) {
      seen = seen || fs::equivalent(entry.path, path, error);
    }
    if (seen) {
      continue;
    }
    ModelEntry entry{.path = path, .info = read_info(path)};
    entry.validation = ReadModelValidation(entry.info, path);
    models_.push_back(std::move(entry));
  }
  // Only now: the vector no longer moves its elements.
  active_ = models_.empty() ? nullptr : &models_.front();
}

const ModelEntry* ModelCatalog::Find(const std::string& model_id) const {
  for (const ModelEntry& entry : models_) {
    if (entry.info.id == model_id) {
      return &entry;
    }
  }
  return nullptr;
}

const ModelEntry* ModelCatalog::Active() const {
  return active_.load();
}

const ModelEntry& ModelCatalog::Activate(const std::string& model_id,
                                         const std::function<void(const ModelEntry&)>& remember) {
  const ModelEntry* entry = Find(model_id);
  if (entry == nullptr) {
    throw Error(ErrorCode::kNotFound, "no model '" + model_id + "' (see /api/v1/models)");
  }
  std::lock_guard lock(activate_mutex_);
  if (remember) {
    remember(*entry);
  }
  active_ = entry;
  return *entry;
}

std::vector<Prediction> ModelCatalog::PredictImages(std::span<const Image> images,
                                                    int top_k,
                                                    const ModelEntry** model_used) {
  std::lock_guard lock(classifier_mutex_);
  // Read under the lock: an activation during this prediction counts from the next one.
  const ModelEntry* active = Active();
  Check(active != nullptr && open_classifier_ != nullptr,
        ErrorCode::kUnavailable,
        "no model to predict with: start the server with --model MODEL.pt, in a phytoflow "
        "built with LibTorch");
  if (!classifier_ || classifier_model_ != active) {
    // Free the previous model before loading the next: both may be large.
    classifier_.reset();
    classifier_model_ = nullptr;
    classifier_ = open_classifier_(active->path);
    classifier_model_ = active;
  }
  if (model_used != nullptr) {
    *model_used = active;
  }
  // Without a pixel size, only a model that measures vignettes in pixels gets their size (as
  // app PredictFiles does).
  const bool sizes_in_pixels = classifier_->Info().context.size_unit == "px";
  std::vector<ParticleContext> contexts(images.size());
  for (size_t idx = 0; idx < images.size() && sizes_in_pixels; ++idx) {
    contexts[idx].vignette_width = images[idx].width;
    contexts[idx].vignette_height = images[idx].height;
  }
  return classifier_->Classify(images, contexts, top_k);
}

std::unique_ptr<Classifier> ModelCatalog::OpenClassifier(const std::string& model_id) const {
  const ModelEntry* entry = Find(model_id);
  Check(entry != nullptr, ErrorCode::kNotFound, "no model '" + model_id + "' (see /api/v1/models)");
  Check(open_classifier_ != nullptr,
        ErrorCode::kUnavailable,
        "this server cannot open models (a phytoflow built without LibTorch)");
  return open_classifier_(entry->path);
}

}  // namespace phytoflow
