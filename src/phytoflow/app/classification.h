#pragma once

// Use cases around a classifier: build a training set from validated labels in a store, run a
// model over a stored sample and keep its predictions, predict image files, and evaluate a
// model on a labelled dataset. The classifier is any Classifier (LibTorch in production).
//
//   auto report = ClassifySample(store, *classifier, "run-1", {});   // writes "model" labels

#include "phytoflow/classify/classifier.h"
#include "phytoflow/classify/context.h"
#include "phytoflow/classify/dataset.h"
#include "phytoflow/classify/metrics.h"
#include "phytoflow/core/particle.h"
#include "phytoflow/core/sample.h"
#include "phytoflow/storage/store.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace phytoflow {

// What the classifier may know about a stored particle besides its image: the vignette size
// in `size_unit` ("um" through the sample's calibration, or "px"), the list's morphometrics,
// and the sample's metadata (`metadata set|import`, ingest --metadata): day of year of
// sampled_at, latitude, longitude, depth (the middle of depth_min_m..depth_max_m, or the one
// given), temperature and salinity. What the sample does not give stays empty.
ParticleContext ContextForParticle(const Sample& sample,
                                   const Particle& particle,
                                   std::string_view size_unit);

// Which labels of a store are training data.
struct StoreLabelFilter {
  std::string source = kLabelSourceExpert;  // e.g. "expert", "VisualSpreadsheet"
  std::string classification;               // empty: any classification of that source
  std::vector<std::string> sample_ids;      // empty: every sample
};

// Parses "store", "store:SOURCE" or "store:SOURCE:CLASSIFICATION"; nullopt for anything else.
std::optional<StoreLabelFilter> ParseStoreDataset(const std::string& text);

// The labelled particles of the store with their PNG vignettes and context. A particle with
// several labels of the filter keeps the last one. Particles without an image are skipped.
// Vignette sizes are in µm ("um") when every sample has a calibration, else in pixels.
Dataset DatasetFromStore(const Store& store, const StoreLabelFilter& filter);

struct ClassifyOptions {
  int top_k = 5;
  int batch_size = 128;
  std::function<void(int64_t done, int64_t total)> on_progress;
};

struct ClassifyReport {
  std::string sample_id;
  std::string model_id;
  int64_t particles = 0;
  int64_t classified = 0;                 // given a class
  int64_t uncertain = 0;                  // below the class threshold
  int64_t without_image = 0;              // not classified: no vignette
  std::map<std::string, int64_t> counts;  // by label, "uncertain" included
};

// Classifies every particle of the sample and replaces this model's earlier predictions for
// it, in one transaction (labels of source "model", classification = the model id, with
// probability and top-k). Labels of other sources (experts, VisualSpreadsheet) are untouched.
ClassifyReport ClassifySample(Store& store,
                              Classifier& classifier,
                              const std::string& sample_id,
                              const ClassifyOptions& options);

struct FilePrediction {
  std::filesystem::path path;
  Prediction prediction;
};

// Predicts image files. With `pixel_size_um` the vignette size reaches the model in µm.
std::vector<FilePrediction> PredictFiles(Classifier& classifier,
                                         const std::vector<std::filesystem::path>& files,
                                         std::optional<double> pixel_size_um,
                                         int top_k);

struct ModelEvaluation {
  EvaluationReport report;
  int64_t skipped = 0;  // items whose label is not a class of the model
};

// Runs the model over a labelled dataset and scores it against the labels.
ModelEvaluation EvaluateModel(Classifier& classifier, const Dataset& dataset, int batch_size = 128);

}  // namespace phytoflow
