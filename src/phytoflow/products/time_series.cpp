#include "phytoflow/products/time_series.h"

#include "phytoflow/core/error.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <unordered_map>

namespace phytoflow {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool IsPhytoplankton(Lifeform lifeform) {
  return lifeform == Lifeform::kDiatom || lifeform == Lifeform::kDinoflagellate ||
         lifeform == Lifeform::kCyanobacteria || lifeform == Lifeform::kOtherPhytoplankton;
}

int ParseDigits(std::string_view text, size_t at, size_t count) {
  int number = -1;
  if (text.size() >= at + count) {
    const char* first = text.data() + at;
    const auto [end, error] = std::from_chars(first, first + count, number);
    if (error != std::errc{} || end != first + count) {
      number = -1;
    }
  }
  return number;
}

// Sums a group's value over a composition's living taxa.
double GroupSum(const SampleComposition& composition, std::string_view group, SeriesValue value) {
  double sum = 0;
  for (const TaxonComposition& entry : composition.taxa) {
    if (entry.taxon && entry.taxon->Living() && InLifeformGroup(group, *entry.taxon)) {
      sum += QuantityValue(entry.total, value);
    }
  }
  return sum;
}

}  // namespace

std::string_view SeriesValueName(SeriesValue value) {
  switch (value) {
    case SeriesValue::kCells:
      return "cells";
    case SeriesValue::kBiovolume:
      return "biovolume_um3_per_l";
    case SeriesValue::kCarbon:
      return "carbon_ug_per_l";
    case SeriesValue::kCellsPerL:
      break;
  }
  return "cells_per_l";
}

std::optional<SeriesValue> ParseSeriesValue(std::string_view name) {
  for (const SeriesValue value : {SeriesValue::kCellsPerL,
                                  SeriesValue::kCells,
                                  SeriesValue::kBiovolume,
                                  SeriesValue::kCarbon}) {
    if (SeriesValueName(value) == name) {
      return value;
    }
  }
  if (name == "biovolume") {
    return SeriesValue::kBiovolume;
  }
  if (name == "carbon") {
    return SeriesValue::kCarbon;
  }
  return std::nullopt;
}

double QuantityValue(const Quantities& quantities, SeriesValue value) {
  switch (value) {
    case SeriesValue::kCells:
      return static_cast<double>(quantities.cells);
    case SeriesValue::kBiovolume:
      return quantities.biovolume_abd_um3_per_l;
    case SeriesValue::kCarbon:
      return quantities.carbon_ug_per_l;
    case SeriesValue::kCellsPerL:
      break;
  }
  return quantities.cells_per_l;
}

const std::vector<std::string>& LifeformGroups() {
  static const std::vector<std::string> groups = {"diatom",
                                                  "dinoflagellate",
                                                  "pelagic_diatoms",
                                                  "tychopelagic_diatoms",
                                                  "lg_phyto",
                                                  "sm_phyto",
                                                  "phytoplankton",
                                                  "ciliates",
                                                  "cyanobacteria",
                                                  "other_phytoplankton",
                                                  "zooplankton"};
  return groups;
}

bool IsLifeformGroup(std::string_view name) {
  const std::vector<std::string>& groups = LifeformGroups();
  return std::find(groups.begin(), groups.end(), name) != groups.end();
}

bool InLifeformGroup(std::string_view group, const Taxon& taxon) {
  const Lifeform lifeform = taxon.lifeform;
  if (group == "diatom") {
    return lifeform == Lifeform::kDiatom;
  }
  if (group == "dinoflagellate") {
    return lifeform == Lifeform::kDinoflagellate;
  }
  if (group == "pelagic_diatoms") {
    return lifeform == Lifeform::kDiatom && taxon.habitat == Habitat::kPelagic;
  }
  if (group == "tychopelagic_diatoms") {
    return lifeform == Lifeform::kDiatom && taxon.habitat == Habitat::kTychopelagic;
  }
  if (group == "phytoplankton" || group == "lg_phyto" || group == "sm_phyto") {
    return IsPhytoplankton(lifeform);
  }
  if (group == "ciliates") {
    return lifeform == Lifeform::kCiliate;
  }
  if (group == "cyanobacteria") {
    return lifeform == Lifeform::kCyanobacteria;
  }
  if (group == "other_phytoplankton") {
    return lifeform == Lifeform::kOtherPhytoplankton;
  }
  if (group == "zooplankton") {
    return lifeform == Lifeform::kZooplankton;
  }
  return false;
}

SampleObservation ObserveSample(const Sample& sample,
                                std::span<const Particle> particles,
                                std::span<const ResolvedLabel> labels,
                                const Taxonomy& taxonomy,
                                const CompositionOptions& options,
                                SeriesValue value) {
  const std::string& sampled_at = sample.metadata.sampled_at;
  const int year = ParseDigits(sampled_at, 0, 4);
  const int month = ParseDigits(sampled_at, 5, 2);
  Check(year >= 0 && month >= 1 && month <= 12,
        ErrorCode::kInvalidInput,
        "sample '" + sample.id + "': sampled_at: expected YYYY-MM-DD..., found '" + sampled_at +
            "' (set it with `phytoflow metadata set " + sample.id + " sampled_at=...`)");
  const SampleComposition all = ComputeComposition(sample, particles, labels, taxonomy, options);
  // lg_phyto and sm_phyto: the same sums over the particles of each size.
  std::vector<Particle> small_particles;
  std::vector<Particle> large_particles;
  std::vector<ResolvedLabel> small_labels;
  std::vector<ResolvedLabel> large_labels;
  std::unordered_map<int64_t, const ResolvedLabel*> label_of;
  for (const ResolvedLabel& label : labels) {
    label_of[label.particle_number] = &label;
  }
  for (const Particle& particle : particles) {
    if (std::isnan(particle.esd_um)) {
      continue;
    }
    const bool large = particle.esd_um >= kLargePhytoplanktonEsdUm;
    (large ? large_particles : small_particles).push_back(particle);
    const auto found = label_of.find(particle.number);
    if (found != label_of.end()) {
      (large ? large_labels : small_labels).push_back(*found->second);
    }
  }
  const SampleComposition below =
      ComputeComposition(sample, small_particles, small_labels, taxonomy, options);
  const SampleComposition from =
      ComputeComposition(sample, large_particles, large_labels, taxonomy, options);

  SampleObservation observation{.sample_id = sample.id,
                                .station = sample.metadata.station,
                                .area = sample.metadata.water_body,
                                .year = year,
                                .month = month,
                                .validated = all.validated,
                                .predicted = all.predicted,
                                .uncertain = all.uncertain,
                                .unlabelled = all.unlabelled};
  const bool per_litre = value != SeriesValue::kCells;
  const bool no_volume = per_litre && !all.seawater_litres.has_value();
  for (const TaxonComposition& entry : all.taxa) {
    if (entry.taxon && entry.taxon->Living()) {
      observation.taxa.push_back({.name = entry.name,
                                  .lifeform = entry.taxon->lifeform,
                                  .habitat = entry.taxon->habitat,
                                  .value = no_volume ? kNaN : QuantityValue(entry.total, value)});
    }
  }
  for (const std::string& group : LifeformGroups()) {
    double sum = 0;
    if (group == "sm_phyto") {
      sum = GroupSum(below, "phytoplankton", value);
    } else if (group == "lg_phyto") {
      sum = GroupSum(from, "phytoplankton", value);
    } else {
      sum = GroupSum(all, group, value);
    }
    observation.groups[group] = no_volume ? kNaN : sum;
  }
  return observation;
}

MonthlySeries MonthlyMeans(std::span<const SampleObservation> observations,
                           SeriesOf kind,
                           std::string_view name,
                           int first_year,
                           int last_year) {
  Check(kind == SeriesOf::kTaxon || IsLifeformGroup(name),
        ErrorCode::kInvalidInput,
        "unknown lifeform group '" + std::string(name) +
            "' (known: diatom, dinoflagellate, pelagic_diatoms, tychopelagic_diatoms, lg_phyto, "
            "sm_phyto, phytoplankton, ciliates, cyanobacteria, other_phytoplankton, zooplankton)");
  Check(first_year <= last_year,
        ErrorCode::kInvalidInput,
        "series years: the first year (" + std::to_string(first_year) + ") is after the last (" +
            std::to_string(last_year) + ")");
  struct Sums {
    int samples = 0;
    double values = 0;
    int64_t predicted = 0;  // predicted + uncertain particles
    int64_t labelled = 0;
  };
  const size_t months = static_cast<size_t>(last_year - first_year + 1) * 12;
  std::vector<Sums> sums(months);
  for (const SampleObservation& observation : observations) {
    if (observation.year < first_year || observation.year > last_year) {
      continue;
    }
    double value = 0;
    if (kind == SeriesOf::kGroup) {
      const auto found = observation.groups.find(std::string(name));
      value = found == observation.groups.end() ? kNaN : found->second;
    } else {
      for (const TaxonValue& taxon : observation.taxa) {
        if (taxon.name == name) {
          value = taxon.value;
        }
      }
    }
    if (std::isnan(value)) {
      continue;
    }
    Sums& month = sums[static_cast<size_t>(observation.year - first_year) * 12 +
                       static_cast<size_t>(observation.month - 1)];
    month.samples += 1;
    month.values += value;
    month.predicted += observation.predicted + observation.uncertain;
    month.labelled += observation.validated + observation.predicted + observation.uncertain;
  }
  MonthlySeries series{.name = std::string(name), .points = {}};
  series.points.reserve(months);
  for (size_t index = 0; index < months; ++index) {
    const Sums& month = sums[index];
    series.points.push_back({.year = first_year + static_cast<int>(index / 12),
                             .month = static_cast<int>(index % 12) + 1,
                             .samples = month.samples,
                             .mean = month.samples > 0 ? month.values / month.samples : kNaN,
                             .predicted_share = month.labelled > 0
                                                    ? static_cast<double>(month.predicted) /
                                                          static_cast<double>(month.labelled)
                                                    : kNaN});
  }
  return series;
}

std::vector<std::string> ObservedTaxa(std::span<const SampleObservation> observations,
                                      std::string_view group) {
  std::set<std::string> names;
  for (const SampleObservation& observation : observations) {
    for (const TaxonValue& taxon : observation.taxa) {
      const Taxon as_taxon{.lifeform = taxon.lifeform, .habitat = taxon.habitat};
      if (taxon.value > 0 && (group.empty() || InLifeformGroup(group, as_taxon))) {
        names.insert(taxon.name);
      }
    }
  }
  return {names.begin(), names.end()};
}

}  // namespace phytoflow
