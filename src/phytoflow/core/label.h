#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phytoflow {

// Where a label came from.
inline constexpr const char* kLabelSourceVisualSpreadsheet = "VisualSpreadsheet";  // the .cla
inline constexpr const char* kLabelSourceModel = "model";    // a classifier's prediction
inline constexpr const char* kLabelSourceExpert = "expert";  // validated by a person

// The classification of the validations made in phytoflow (`validate`, the web UI).
inline constexpr const char* kPhytoflowClassification = "phytoflow";

// The label a model gives a particle that no class is sure enough of (below every threshold).
inline constexpr const char* kUncertainLabel = "uncertain";
// The name under which CountLabels counts particles an expert marked dubious; never a class.
inline constexpr const char* kDubiousLabel = "dubious";

// What an expert label says about its particle (docs/validation.md). Labels of other sources
// keep the default, which means nothing for them.
enum class ExpertStatus {
  kValidated,  // the particle is `name`
  kDubious,    // the expert doubts it (`name`: the class doubted, or empty): not validated
  kWithdrawn,  // this classification no longer labels the particle (an undo back to before its
               // first label, or an EcoTaxa label that EcoTaxa no longer validates)
};

// "validated", "dubious", "withdrawn": the stored spelling.
constexpr std::string_view ExpertStatusName(ExpertStatus status) {
  switch (status) {
    case ExpertStatus::kDubious:
      return "dubious";
    case ExpertStatus::kWithdrawn:
      return "withdrawn";
    case ExpertStatus::kValidated:
      break;
  }
  return "validated";
}

// The status named `name`, or nullopt.
constexpr std::optional<ExpertStatus> ParseExpertStatus(std::string_view name) {
  for (const ExpertStatus status :
       {ExpertStatus::kValidated, ExpertStatus::kDubious, ExpertStatus::kWithdrawn}) {
    if (ExpertStatusName(status) == name) {
      return status;
    }
  }
  return std::nullopt;
}

// One class and its probability, for a prediction's top-k.
struct LabelScore {
  std::string name;
  double probability = 0.0;
  bool operator==(const LabelScore&) const = default;
};

// A class name given to one particle, with its provenance.
//
// Labels of source "expert" are events (docs/validation.md): appended with
// Store::AppendExpertLabels, never changed, each with a sequence number that the store gives.
// The newest event of each classification is that classification's current label; an undo is an
// event too, which restores the label its classification had before the event it undoes.
struct Label {
  int64_t particle_number = 0;        // the list's `id`
  std::string name;                   // class name, e.g. "Dolichospermum"
  std::string source;                 // kLabelSourceVisualSpreadsheet, a model, an expert tool
  std::string classification;         // the classification's or model's name
  std::string author;                 // who made it (person or software)
  std::string created_at;             // ISO 8601 UTC, when it was recorded
  std::optional<double> probability;  // for model predictions
  std::vector<LabelScore> top_k;      // for model predictions: best classes first
  // Expert labels only:
  int64_t sequence = 0;  // given by the store: unique and increasing in the store; 0 = not stored
  ExpertStatus status = ExpertStatus::kValidated;
  int64_t undoes = 0;    // an undo: the sequence of the event it reverts; 0 otherwise
  int64_t restores = 0;  // an undo: the sequence of the event whose label it restores (through
                         // earlier undos, the original one); 0 when it restores none

  bool operator==(const Label&) const = default;
};

// Which of two current expert labels of a particle is newer: the larger precedence. An event's
// own sequence, except for an undo, which ranks where the label it restores ranked, so that
// undoing the newest event gives back exactly what was shown before it. Labels that were never
// stored (sequence 0) rank below every stored one.
constexpr int64_t ExpertPrecedence(const Label& label) {
  return label.undoes != 0 ? label.restores : label.sequence;
}

// Number of particles with one label in one classification.
struct LabelCount {
  std::string source;
  std::string classification;
  std::string name;
  int64_t count = 0;
  bool operator==(const LabelCount&) const = default;
};

}  // namespace phytoflow
