#pragma once

// Shared by the server's tests (server_test.cpp, http_test.cpp) only: a store with the bundled
// example ingested once per test program, and a small deterministic classifier standing in for a
// LibTorch model, so that the DEEPaaS endpoints run without LibTorch.

#include "phytoflow/app/ingest.h"
#include "phytoflow/classify/classifier.h"
#include "phytoflow/server/model_catalog.h"
#include "phytoflow/storage/sqlite/sqlite_store.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace phytoflow::testing_support {

namespace fs = std::filesystem;

// The bundled example run (1000 particles, 89 VisualSpreadsheet labels).
inline fs::path ExampleRun() {
  return "examples/vicko_pygsuia_2025/"
         "7-Pygsuia-3LB-SFSW-Terasakiella-sample2-replicate1-day7-11Apr2025";
}
inline const std::string kExampleSampleId =
    "7-Pygsuia-3LB-SFSW-Terasakiella-sample2-replicate1-day7-11Apr2025";

// A temporary folder removed at exit of the test program.
inline const fs::path& TestFolder() {
  static const fs::path folder = [] {
    std::string pattern = (fs::temp_directory_path() / "phytoflow-server-test-XXXXXX").string();
    fs::path made = mkdtemp(pattern.data());
    std::atexit([] { fs::remove_all(TestFolder()); });
    return made;
  }();
  return folder;
}

// A SQLite store file holding the ingested example, made once per program; each call gives a
// fresh copy, so tests that write do not see each other.
inline fs::path ExampleStoreCopy(const std::string& name) {
  const fs::path original = TestFolder() / "example.db";
  if (!fs::exists(original)) {
    auto store = OpenSqliteStore(original);
    IngestExport(*store, ExampleRun(), IngestOptions{});
  }
  const fs::path copy = TestFolder() / (name + ".db");
  fs::remove(copy);
  fs::copy_file(original, copy);
  return copy;
}

// Classes of the test classifier: the six VLIZ demo classes and Junk.
inline const std::vector<std::string> kTestClasses = {"Actinoptychus",
                                                      "Bacillariophyceae",
                                                      "Ciliophora",
                                                      "Dinoflagellata",
                                                      "Noctilucales",
                                                      "Tripos",
                                                      "Junk"};

// Each class has a centre on the grey scale (30, 60, ..., 210); an image's probabilities fall
// off with the distance of its mean grey value from each centre: p_k ∝ 1 / (1 + |mean − c_k|).
// Deterministic and cheap, so tests can compute the expected top class by hand.
inline double TestClassCentre(size_t class_index) {
  return 30.0 * static_cast<double>(class_index + 1);
}

inline double MeanGrey(const Image& image) {
  double sum = 0;
  for (const uint8_t value : image.pixels) {
    sum += value;
  }
  return image.pixels.empty() ? 0 : sum / static_cast<double>(image.pixels.size());
}

class TestClassifier : public Classifier {
 public:
  explicit TestClassifier(ModelInfo info) : info_(std::move(info)) {}
  std::vector<float> Probabilities(std::span<const Image> images,
                                   std::span<const ParticleContext>) override {
    std::vector<float> probabilities;
    for (const Image& image : images) {
      const double mean = MeanGrey(image);
      std::vector<double> weights;
      double total = 0;
      for (size_t idx = 0; idx < info_.classes.size(); ++idx) {
        weights.push_back(1.0 / (1.0 + std::abs(mean - TestClassCentre(idx))));
        total += weights.back();
      }
      for (const double weight : weights) {
        probabilities.push_back(static_cast<float>(weight / total));
      }
    }
    return probabilities;
  }
  const ModelInfo& Info() const override { return info_; }

 private:
  ModelInfo info_;
};

// The ModelInfo of the test model: Ciliophora carries its own AphiaID (a different one from the
// taxonomy's 11, so tests can see which wins); the others get the taxonomy's.
inline ModelInfo TestModelInfo() {
  ModelInfo info{.id = "test-model-0123456789ab", .name = "test-model"};
  for (const std::string& name : kTestClasses) {
    info.classes.push_back(ModelClass{.name = name});
  }
  info.classes[2].aphia_id = 999011;
  return info;
}

inline ModelCatalog TestModels() {
  return ModelCatalog(
      {"test-model.pt"},
      [](const fs::path&) { return TestModelInfo(); },
      [](const fs::path&) { return std::make_unique<TestClassifier>(TestModelInfo()); });
}

}  // namespace phytoflow::testing_support
