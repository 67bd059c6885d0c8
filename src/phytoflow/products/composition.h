#pragma once

// Per-sample composition: from each particle's label (validated by an expert, or predicted by a
// model) to counts, cells per litre, biovolume and carbon per taxon, with a size spectrum.
// Pure computation: the app layer reads the store and the model; nothing here does I/O.

#include "phytoflow/core/label.h"
#include "phytoflow/core/particle.h"
#include "phytoflow/core/sample.h"
#include "phytoflow/products/abundance_correction.h"
#include "phytoflow/products/quantities.h"
#include "phytoflow/products/taxonomy.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace phytoflow {

enum class LabelStatus {
  kValidated,   // an expert's label (source "expert")
  kPredicted,   // a model's label above its class threshold
  kUncertain,   // a model's label "uncertain" (below every threshold)
  kUnlabelled,  // no label of the sources used
};
std::string_view LabelStatusName(LabelStatus status);  // "validated", "predicted", ...

// The one label a particle counts under.
struct ResolvedLabel {
  int64_t particle_number = 0;
  std::string name;  // class name; "uncertain" for kUncertain, empty for kUnlabelled
  LabelStatus status = LabelStatus::kUnlabelled;
  std::optional<double> probability;  // of the model's label
  std::string top1;                   // the model's most probable class, even when uncertain
  std::string identified_by;          // expert (author) or model id
  // An expert's newest label marks the particle dubious: it is not validated and counts as the
  // model predicts (or unlabelled).
  bool dubious = false;
};

struct LabelChoice {
  // Model predictions used: labels of source "model" with this classification (model id).
  // Empty: the most recent model classification of the sample, if any.
  std::string model_id;
  // Also count VisualSpreadsheet (.cla) labels of this classification as validated when
  // there is no expert label; empty: never.
  std::string visual_spreadsheet_classification;
  // Ignore model predictions: only validated labels count (the rest is unlabelled).
  bool validated_only = false;
};

// One label per particle: the newest expert label, else a VisualSpreadsheet label if asked
// (validated too), else the chosen model's, else unlabelled. The newest expert label is the one
// of highest ExpertPrecedence (the store's sequence; docs/validation.md), then of latest
// created_at, then the later one in `labels`; a kWithdrawn one is ignored. When it is kDubious,
// the particle is not validated (`dubious` is set) and falls back to the model. A model label
// "uncertain" gives kUncertain. `top1` is the model's top_k[0] whenever the particle has a label
// of the chosen model. `particle_numbers` lists every particle.
std::vector<ResolvedLabel> ResolveLabels(std::span<const int64_t> particle_numbers,
                                         std::span<const Label> labels,
                                         const LabelChoice& choice);
// The model id ResolveLabels uses for `choice` (the newest model classification, by created_at,
// if not given); empty when the sample has no model labels or `validated_only` is set.
std::string ChosenModelId(std::span<const Label> labels, const LabelChoice& choice);

// Sums for one group of particles. Per-litre values are NaN without an imaged volume.
struct Quantities {
  int64_t particles = 0;
  int64_t cells = 0;  // Σ particles-per-chain (see docs/composition.md)
  double cells_per_l = 0;
  double biovolume_abd_um3_per_l = 0;  // spheres of ABD diameter (the default biovolume)
  double biovolume_esd_um3_per_l = 0;  // spheres of ESD diameter
  double carbon_ug_per_l = 0;          // Menden-Deuer & Lessard per cell, from ABD volumes
  void Add(const Quantities& other);
};

struct TaxonComposition {
  std::string name;            // class name as labelled
  std::optional<Taxon> taxon;  // nullopt when the taxonomy does not know the name
  Quantities total;            // validated + predicted (+ uncertain for "uncertain")
  Quantities validated;
  Quantities predicted;
  Quantities uncertain;  // model labels "uncertain": only on the "uncertain" entry
  std::optional<double> mean_probability;  // over predicted particles
  // Classifier-error-corrected estimate of cells per litre (predicted part corrected, validated
  // part added as is), when a confusion matrix was given and the class is a model class. The
  // predicted part counts every non-validated particle under its top1 (uncertain ones too), and
  // turns corrected particles into cells with the mean cells per particle of the class's
  // observed particles (1 if none).
  std::optional<AdjustedEstimate> adjusted_cells_per_l;
};

struct SizeClass {
  double esd_min_um = 0;  // inclusive
  double esd_max_um = 0;  // exclusive; +inf for the last class
  Quantities living;      // particles with a living, labelled taxon (or all, if unlabelled)
  Quantities all;         // every particle
};

struct CompositionOptions {
  DiatomCarbon diatom_carbon = DiatomCarbon::kAllSizes;
  // The model's validation confusion matrix, for the corrected abundances; nullopt: none.
  std::optional<ConfusionRates> confusion;
  // The model that `confusion` belongs to. When set and the predictions counted are another
  // model's, nothing is corrected and a warning says why.
  std::string confusion_model_id;
  int bootstrap_replicates = 1000;
  uint64_t seed = 42;
};

struct SampleComposition {
  std::string sample_id;
  std::optional<double> volume_imaged_ml;
  double dilution_factor = 1;       // VisualSpreadsheet's × the metadata's
  double concentration_factor = 1;  // from the metadata
  std::optional<double> seawater_litres;
  std::string model_id;  // predictions used; empty if none
  std::string taxonomy_version;
  std::vector<TaxonComposition> taxa;  // living first by cells/L descending, then non-living
  Quantities living;                   // totals over living taxa
  Quantities all;                      // every particle, unlabelled included
  int64_t validated = 0;               // particles by status
  int64_t predicted = 0;
  int64_t uncertain = 0;
  int64_t unlabelled = 0;
  std::vector<SizeClass> size_classes;  // ESD octaves: <2, 2–4, 4–8, ... , ≥1024 µm
  std::vector<std::string> warnings;    // e.g. classes unknown to the taxonomy, no volume
};

// The composition of one sample. `particles` need no images. Cells are Σ max(particles per
// chain, 1). Biovolumes are spheres of the ABD and ESD diameters (the list's volumes when given).
// Carbon is computed per cell from the ABD volume for living taxa except zooplankton (Menden-
// Deuer & Lessard apply to protists); diatoms are taxa of lifeform diatom. A particle without a
// size counts in counts and cells but adds no volume or carbon (and is in no size class). A
// class the taxonomy does not know counts in `all` but not in `living`. Per-litre values use
// SeawaterLitres(volume, sample dilution × metadata dilution, metadata concentration). Model
// id: the identified_by of the model labels.
SampleComposition ComputeComposition(const Sample& sample,
                                     std::span<const Particle> particles,
                                     std::span<const ResolvedLabel> labels,
                                     const Taxonomy& taxonomy,
                                     const CompositionOptions& options);

}  // namespace phytoflow
