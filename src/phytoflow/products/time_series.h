#pragma once

// Monthly time series of stored samples, per taxon and per lifeform group, for one station or
// assessment area: what the OSPAR pelagic-habitat indicators (indicators.h) are computed from
// (../shared/spec/quantities-and-indicators.md §3, docs/indicators.md). Pure computation: the app
// layer (app/indicators.h) reads the store and composes each sample.
//
//   SampleObservation one = ObserveSample(sample, particles, labels, DefaultTaxonomy(), {},
//                                         SeriesValue::kCellsPerL);
//   MonthlySeries diatoms = MonthlyMeans(observations, SeriesOf::kGroup, "diatom", 2015, 2022);

#include "phytoflow/core/sample.h"
#include "phytoflow/products/composition.h"
#include "phytoflow/products/taxonomy.h"

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace phytoflow {

// What a series follows for each taxon or group of a sample.
enum class SeriesValue {
  kCellsPerL,  // cells per litre of seawater (default; "abundance" in the indicators)
  kCells,      // cells counted in the sample, not per litre (diversity indices on counts)
  kBiovolume,  // ABD biovolume, µm³ per litre
  kCarbon,     // Menden-Deuer & Lessard carbon, µg C per litre
};
// "cells_per_l", "cells", "biovolume_um3_per_l", "carbon_ug_per_l".
std::string_view SeriesValueName(SeriesValue value);
// Also accepts the short names "biovolume" and "carbon"; nullopt for anything else.
std::optional<SeriesValue> ParseSeriesValue(std::string_view name);
// The value of one group of particles; NaN for a per-litre value without an imaged volume.
double QuantityValue(const Quantities& quantities, SeriesValue value);

// The PLET size boundary between large and small phytoplankton (spec §3.1: Lg ≥ 20 µm). PLET
// takes the size from each taxon's traits; phytoflow takes each particle's ESD.
inline constexpr double kLargePhytoplanktonEsdUm = 20.0;

// The PLET lifeform groups phytoflow computes, with PLET's names (spec §3.1): "diatom",
// "dinoflagellate", "pelagic_diatoms", "tychopelagic_diatoms" (PLET's column: tycho_diatoms),
// "lg_phyto", "sm_phyto", "phytoplankton", "ciliates", "cyanobacteria", "other_phytoplankton",
// "zooplankton". Phytoplankton is the diatoms, dinoflagellates, cyanobacteria and other
// phytoplankton of the taxonomy.
const std::vector<std::string>& LifeformGroups();
bool IsLifeformGroup(std::string_view name);
// Whether a taxon belongs to a group by its lifeform and habitat. lg_phyto and sm_phyto depend on
// each particle's size: for them this says whether the taxon is phytoplankton.
bool InLifeformGroup(std::string_view group, const Taxon& taxon);

struct TaxonValue {
  std::string name;  // class name as labelled
  Lifeform lifeform = Lifeform::kOtherLiving;
  Habitat habitat = Habitat::kUnknown;
  double value = 0;
  bool operator==(const TaxonValue&) const = default;
};

// What one sample contributes to the series.
struct SampleObservation {
  std::string sample_id;
  std::string station;  // SampleMetadata::station
  std::string area;     // SampleMetadata::water_body: the assessment area (e.g. COMP4 "SNS")
  int year = 0;         // of SampleMetadata::sampled_at (UTC)
  int month = 0;        // 1..12
  // Living taxa the taxonomy knows, in the composition's order (zero values included).
  std::vector<TaxonValue> taxa;
  std::map<std::string, double> groups;  // every LifeformGroups() name
  // Particles by label status (ComputeComposition), for the share of model predictions.
  int64_t validated = 0;
  int64_t predicted = 0;
  int64_t uncertain = 0;
  int64_t unlabelled = 0;
};

// The observation of one sample: ComputeComposition of all its particles for the taxa and the
// lifeform groups, and of its particles below and from kLargePhytoplanktonEsdUm for lg_phyto and
// sm_phyto (particles without an ESD are in neither). `labels` are ResolveLabels' for
// `particles`. Values are NaN when a per-litre value is asked for and the sample has no imaged
// volume. Throws Error{kInvalidInput} when the sample has no sampled_at.
SampleObservation ObserveSample(const Sample& sample,
                                std::span<const Particle> particles,
                                std::span<const ResolvedLabel> labels,
                                const Taxonomy& taxonomy,
                                const CompositionOptions& options,
                                SeriesValue value);

// One calendar month of a series.
struct MonthlyPoint {
  int year = 0;
  int month = 0;    // 1..12
  int samples = 0;  // samples taken that month (replicates count one each)
  double mean = std::numeric_limits<double>::quiet_NaN();  // of the samples' values; NaN: none
  // Share of the month's labelled particles that carry a model's label (predicted or uncertain)
  // rather than an expert's; NaN when no particle of the month is labelled.
  double predicted_share = std::numeric_limits<double>::quiet_NaN();
  // The interval of `mean` under the classifier's uncertainty and the replicates' median
  // (indicator_uncertainty.h); NaN when not computed.
  double lower = std::numeric_limits<double>::quiet_NaN();
  double upper = std::numeric_limits<double>::quiet_NaN();
  double median = std::numeric_limits<double>::quiet_NaN();
};

struct MonthlySeries {
  std::string name;                  // group or taxon
  std::vector<MonthlyPoint> points;  // every month from January first_year to December last_year
};

enum class SeriesOf { kGroup, kTaxon };

// The monthly means of a group's or a taxon's values over `observations`, pooled: every sample of
// a month counts once, whatever its station (PLET's monthly mean abundance per assessment unit,
// spec §3.1; PelHabMSFD's monthly pool "mean", §3.2–3.3). A taxon a sample did not see counts as
// 0 in it. Observations outside the years, or whose value is NaN, are left out. Throws
// Error{kInvalidInput} for an unknown group or first_year > last_year.
MonthlySeries MonthlyMeans(std::span<const SampleObservation> observations,
                           SeriesOf kind,
                           std::string_view name,
                           int first_year,
                           int last_year);

// Taxa with a value > 0 in any observation whose taxon belongs to `group` (InLifeformGroup; an
// empty group: every taxon), sorted by name.
std::vector<std::string> ObservedTaxa(std::span<const SampleObservation> observations,
                                      std::string_view group);

}  // namespace phytoflow
