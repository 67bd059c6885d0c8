#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace phytoflow {

// Where a label came from.
inline constexpr const char* kLabelSourceVisualSpreadsheet = "VisualSpreadsheet";  // the .cla
inline constexpr const char* kLabelSourceModel = "model";    // a classifier's prediction
inline constexpr const char* kLabelSourceExpert = "expert";  // validated by a person

// The label a model gives a particle that no class is sure enough of (below every threshold).
inline constexpr const char* kUncertainLabel = "uncertain";

// One class and its probability, for a prediction's top-k.
struct LabelScore {
  std::string name;
  double probability = 0.0;
  bool operator==(const LabelScore&) const = default;
};

// A class name given to one particle, with its provenance.
struct Label {
  int64_t particle_number = 0;        // the list's `id`
  std::string name;                   // class name, e.g. "Dolichospermum"
  std::string source;                 // kLabelSourceVisualSpreadsheet, a model, an expert tool
  std::string classification;         // the classification's or model's name
  std::string author;                 // who made it (person or software)
  std::string created_at;             // ISO 8601 UTC, when it was recorded
  std::optional<double> probability;  // for model predictions
  std::vector<LabelScore> top_k;      // for model predictions: best classes first

  bool operator==(const Label&) const = default;
};

// Number of particles with one label in one classification.
struct LabelCount {
  std::string source;
  std::string classification;
  std::string name;
  int64_t count = 0;
  bool operator==(const LabelCount&) const = default;
};

}  // namespace phytoflow
