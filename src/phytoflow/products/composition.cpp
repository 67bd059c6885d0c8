#include "phytoflow/products/composition.h"

#include "phytoflow/core/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>
#include <unordered_map>

#include <fmt/core.h>

namespace phytoflow {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kSizeClasses = 11;  // <2, [2,4), ..., [512,1024), ≥1024 µm
// Below this many validation images a class's error rates are too noisy to trust blindly: on
// NDSB (a median of 9 per class) the correction did not lower the count error
// (docs/composition.md).
constexpr int64_t kFewValidationImages = 20;

// Raw sums of a group of particles; per-litre values are derived once at the end.
struct Sums {
  int64_t particles = 0;
  int64_t cells = 0;
  double volume_abd_um3 = 0;
  double volume_esd_um3 = 0;
  double carbon_pg = 0;

  void Add(const Sums& other) {
    particles += other.particles;
    cells += other.cells;
    volume_abd_um3 += other.volume_abd_um3;
    volume_esd_um3 += other.volume_esd_um3;
    carbon_pg += other.carbon_pg;
  }
};

Quantities PerLitreQuantities(const Sums& sums, std::optional<double> litres) {
  const double water = litres.value_or(kNaN);
  return Quantities{
      .particles = sums.particles,
      .cells = sums.cells,
      .cells_per_l = PerLitre(static_cast<double>(sums.cells), water),
      .biovolume_abd_um3_per_l = PerLitre(sums.volume_abd_um3, water),
      .biovolume_esd_um3_per_l = PerLitre(sums.volume_esd_um3, water),
      .carbon_ug_per_l = PerLitre(sums.carbon_pg * 1e-6, water),  // 1 pg = 1e-6 µg
  };
}

// The list's sphere volume when it gave one, else the sphere of the diameter; NaN when neither.
double SphereVolume(double listed_um3, double diameter_um) {
  if (std::isfinite(listed_um3)) {
    return listed_um3;
  }
  return std::isfinite(diameter_um) ? SphereVolumeUm3(diameter_um) : kNaN;
}

int SizeClassIndex(double esd_um) {
  int index = 0;
  double bound = 2.0;
  while (index < kSizeClasses - 1 && esd_um >= bound) {
    bound *= 2.0;
    ++index;
  }
  return index;
}

struct Entry {
  Sums total;
  Sums validated;
  Sums predicted;
  Sums uncertain;
  double probability_sum = 0;
  int64_t probabilities = 0;
};

// Living known taxa first, then classes the taxonomy does not know, then non-living ones.
int Group(const std::optional<Taxon>& taxon) {
  if (!taxon) {
    return 1;
  }
  return taxon->Living() ? 0 : 2;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string joined;
  for (const std::string& name : names) {
    joined += (joined.empty() ? "" : ", ") + name;
  }
  return joined;
}

}  // namespace

std::string_view LabelStatusName(LabelStatus status) {
  switch (status) {
    case LabelStatus::kValidated:
      return "validated";
    case LabelStatus::kPredicted:
      return "predicted";
    case LabelStatus::kUncertain:
      return "uncertain";
    case LabelStatus::kUnlabelled:
      break;
  }
  return "unlabelled";
}

void Quantities::Add(const Quantities& other) {
  particles += other.particles;
  cells += other.cells;
  cells_per_l += other.cells_per_l;
  biovolume_abd_um3_per_l += other.biovolume_abd_um3_per_l;
  biovolume_esd_um3_per_l += other.biovolume_esd_um3_per_l;
  carbon_ug_per_l += other.carbon_ug_per_l;
}

std::string ChosenModelId(std::span<const Label> labels, const LabelChoice& choice) {
  if (choice.validated_only) {
    return "";
  }
  if (!choice.model_id.empty()) {
    return choice.model_id;
  }
  const Label* newest = nullptr;
  for (const Label& label : labels) {
    if (label.source == kLabelSourceModel &&
        (newest == nullptr || std::tie(label.created_at, label.classification) >
                                  std::tie(newest->created_at, newest->classification))) {
      newest = &label;
    }
  }
  return newest ? newest->classification : "";
}

std::vector<ResolvedLabel> ResolveLabels(std::span<const int64_t> particle_numbers,
                                         std::span<const Label> labels,
                                         const LabelChoice& choice) {
  const std::string model_id = ChosenModelId(labels, choice);
  // The newest label of each kind per particle; a later label wins a tie.
  std::unordered_map<int64_t, const Label*> expert;
  std::unordered_map<int64_t, const Label*> model;
  std::unordered_map<int64_t, const Label*> visual_spreadsheet;
  const auto keep_newest = [](std::unordered_map<int64_t, const Label*>& kept, const Label& label) {
    const Label*& slot = kept[label.particle_number];
    // Precedence is 0 for all but stored expert labels, so created_at decides among the others.
    if (slot == nullptr ||
        std::pair(ExpertPrecedence(label), std::string_view(label.created_at)) >=
            std::pair(ExpertPrecedence(*slot), std::string_view(slot->created_at))) {
      slot = &label;
    }
  };
  for (const Label& label : labels) {
    if (label.source == kLabelSourceExpert) {
      if (label.status != ExpertStatus::kWithdrawn) {
        keep_newest(expert, label);
      }
    } else if (label.source == kLabelSourceModel && !model_id.empty() &&
               label.classification == model_id) {
      keep_newest(model, label);
    } else if (label.source == kLabelSourceVisualSpreadsheet &&
               !choice.visual_spreadsheet_classification.empty() &&
               label.classification == choice.visual_spreadsheet_classification) {
      keep_newest(visual_spreadsheet, label);
    }
  }
  const auto find = [](const std::unordered_map<int64_t, const Label*>& kept, int64_t number) {
    const auto at = kept.find(number);
    return at == kept.end() ? nullptr : at->second;
  };

  std::vector<ResolvedLabel> resolved;
  resolved.reserve(particle_numbers.size());
  for (const int64_t number : particle_numbers) {
    ResolvedLabel label{.particle_number = number};
    const Label* prediction = find(model, number);
    if (prediction) {
      label.top1 = !prediction->top_k.empty()            ? prediction->top_k.front().name
                   : prediction->name != kUncertainLabel ? prediction->name
                                                         : "";
    }
    const Label* validated = find(expert, number);
    // An expert who doubts the particle overrules every validation before: the model decides.
    label.dubious = validated != nullptr && validated->status == ExpertStatus::kDubious;
    const Label* listed = label.dubious ? nullptr : find(visual_spreadsheet, number);
    if (validated != nullptr && !label.dubious) {
      label.name = validated->name;
      label.status = LabelStatus::kValidated;
      label.identified_by = validated->author.empty() ? kLabelSourceExpert : validated->author;
    } else if (listed != nullptr) {
      label.name = listed->name;
      label.status = LabelStatus::kValidated;
      label.identified_by = listed->author.empty() ? kLabelSourceVisualSpreadsheet : listed->author;
    } else if (prediction) {
      label.name = prediction->name;
      label.status =
          prediction->name == kUncertainLabel ? LabelStatus::kUncertain : LabelStatus::kPredicted;
      label.probability = prediction->probability;
      label.identified_by = prediction->classification;
    }
    resolved.push_back(std::move(label));
  }
  return resolved;
}

SampleComposition ComputeComposition(const Sample& sample,
                                     std::span<const Particle> particles,
                                     std::span<const ResolvedLabel> labels,
                                     const Taxonomy& taxonomy,
                                     const CompositionOptions& options) {
  SampleComposition composition;
  composition.sample_id = sample.id;
  composition.volume_imaged_ml = sample.volume_imaged_ml;
  composition.dilution_factor =
      sample.dilution_factor * sample.metadata.dilution_factor.value_or(1.0);
  composition.concentration_factor = sample.metadata.concentration_factor.value_or(1.0);
  composition.seawater_litres = SeawaterLitres(
      sample.volume_imaged_ml, composition.dilution_factor, composition.concentration_factor);
  composition.taxonomy_version = taxonomy.Version();
  const std::optional<double> litres = composition.seawater_litres;

  std::unordered_map<int64_t, const ResolvedLabel*> label_of;
  bool any_label = false;
  for (const ResolvedLabel& label : labels) {
    label_of[label.particle_number] = &label;
    any_label = any_label || label.status != LabelStatus::kUnlabelled;
    if (composition.model_id.empty() &&
        (label.status == LabelStatus::kPredicted || label.status == LabelStatus::kUncertain)) {
      composition.model_id = label.identified_by;
    }
  }

  std::map<std::string, const Taxon*> taxon_of;  // Find() once per class name
  const auto find_taxon = [&](const std::string& name) {
    const auto [at, inserted] = taxon_of.emplace(name, nullptr);
    if (inserted) {
      at->second = taxonomy.Find(name);
    }
    return at->second;
  };

  std::map<std::string, Entry> entries;
  Sums all;
  Sums living;
  std::vector<Sums> size_all(kSizeClasses);
  std::vector<Sums> size_living(kSizeClasses);
  int64_t without_abd = 0;
  int64_t without_esd = 0;
  // For the corrected abundances: non-validated particles by their model's top class.
  std::map<std::string, Sums> observed_by_top1;

  for (const Particle& particle : particles) {
    const auto at = label_of.find(particle.number);
    const ResolvedLabel* label = at == label_of.end() ? nullptr : at->second;
    const LabelStatus status = label ? label->status : LabelStatus::kUnlabelled;
    const Taxon* taxon = status == LabelStatus::kUnlabelled ? nullptr : find_taxon(label->name);

    Sums sums{.particles = 1, .cells = std::max<int64_t>(particle.particles_per_chain, 1)};
    const double volume_abd = SphereVolume(particle.biovolume_abd_um3, particle.abd_um);
    const double volume_esd = SphereVolume(particle.biovolume_esd_um3, particle.esd_um);
    if (std::isfinite(volume_abd)) {
      sums.volume_abd_um3 = ChainBiovolumeUm3(volume_abd, sums.cells);
      if (taxon && taxon->Living() && taxon->lifeform != Lifeform::kZooplankton) {
        sums.carbon_pg = ParticleCarbonPg(
            volume_abd, sums.cells, taxon->lifeform == Lifeform::kDiatom, options.diatom_carbon);
      }
    } else {
      ++without_abd;
    }
    if (std::isfinite(volume_esd)) {
      sums.volume_esd_um3 = volume_esd;
    } else {
      ++without_esd;
    }

    all.Add(sums);
    const bool counts_as_living = any_label ? (taxon && taxon->Living()) : true;
    if (taxon && taxon->Living()) {
      living.Add(sums);
    }
    if (std::isfinite(particle.esd_um)) {
      const auto size_idx = static_cast<size_t>(SizeClassIndex(particle.esd_um));
      size_all[size_idx].Add(sums);
      if (counts_as_living) {
        size_living[size_idx].Add(sums);
      }
    }

    switch (status) {
      case LabelStatus::kValidated:
        ++composition.validated;
        break;
      case LabelStatus::kPredicted:
        ++composition.predicted;
        break;
      case LabelStatus::kUncertain:
        ++composition.uncertain;
        break;
      case LabelStatus::kUnlabelled:
        ++composition.unlabelled;
        break;
    }
    if (status == LabelStatus::kUnlabelled) {
      continue;
    }
    Entry& entry = entries[label->name];
    entry.total.Add(sums);
    if (status == LabelStatus::kValidated) {
      entry.validated.Add(sums);
    } else {
      (status == LabelStatus::kPredicted ? entry.predicted : entry.uncertain).Add(sums);
      if (status == LabelStatus::kPredicted && label->probability) {
        entry.probability_sum += *label->probability;
        ++entry.probabilities;
      }
      if (!label->top1.empty()) {
        observed_by_top1[label->top1].Add(sums);
      }
    }
  }

  // Corrected abundances, per model class, in cells per litre.
  std::map<std::string, AdjustedEstimate> adjusted;
  if (options.confusion) {
    const ConfusionRates& confusion = *options.confusion;
    if (composition.model_id.empty()) {
      composition.warnings.push_back(
          "no model predictions are counted: corrected abundances not computed");
    } else if (!options.confusion_model_id.empty() &&
               options.confusion_model_id != composition.model_id) {
      composition.warnings.push_back(
          fmt::format("the confusion matrix is of model {}, the predictions of model {}: corrected "
                      "abundances not computed",
                      options.confusion_model_id,
                      composition.model_id));
    } else if (!litres) {
      composition.warnings.push_back(
          "no imaged volume: corrected abundances (cells per litre) not computed");
    } else {
      std::vector<int64_t> observed(confusion.classes.size(), 0);
      int64_t outside = 0;
      for (const auto& [name, sums] : observed_by_top1) {
        const auto at = std::find(confusion.classes.begin(), confusion.classes.end(), name);
        if (at == confusion.classes.end()) {
          outside += sums.particles;
        } else {
          observed[static_cast<size_t>(at - confusion.classes.begin())] = sums.particles;
        }
      }
      if (outside > 0) {
        composition.warnings.push_back(fmt::format(
            "{} predicted particles have a top class outside the confusion matrix: not corrected",
            outside));
      }
      std::vector<std::string> thin;  // classes whose error rates rest on few images
      for (size_t class_idx = 0; class_idx < confusion.classes.size(); ++class_idx) {
        int64_t examples = 0;
        for (const int64_t count : confusion.counts[class_idx]) {
          examples += count;
        }
        if (examples < kFewValidationImages) {
          thin.push_back(confusion.classes[class_idx]);
        }
      }
      if (!thin.empty()) {
        composition.warnings.push_back(fmt::format(
            "{} model class{} had fewer than {} validation images ({}): their corrected "
            "abundances rest on few examples, read them with their intervals",
            thin.size(),
            thin.size() == 1 ? "" : "es",
            kFewValidationImages,
            JoinNames(thin)));
      }
      const AdjustedCounts counts =
          AdjustClassifyAndCount(observed, confusion, options.bootstrap_replicates, options.seed);
      for (size_t class_idx = 0; class_idx < confusion.classes.size(); ++class_idx) {
        const std::string& name = confusion.classes[class_idx];
        const auto observed_at = observed_by_top1.find(name);
        const double cells_per_particle =
            observed_at != observed_by_top1.end() && observed_at->second.particles > 0
                ? static_cast<double>(observed_at->second.cells) /
                      static_cast<double>(observed_at->second.particles)
                : 1.0;
        const auto entry_at = entries.find(name);
        const double validated_per_l =
            entry_at == entries.end()
                ? 0.0
                : PerLitre(static_cast<double>(entry_at->second.validated.cells), *litres);
        const AdjustedEstimate& estimate = counts.adjusted[class_idx];
        const auto to_per_litre = [&](double particles_count) {
          return PerLitre(particles_count * cells_per_particle, *litres) + validated_per_l;
        };
        if (entry_at == entries.end() && !(estimate.estimate > 0) && observed[class_idx] == 0) {
          continue;  // nothing seen and nothing estimated: no row
        }
        entries.try_emplace(name);
        adjusted[name] = AdjustedEstimate{.estimate = to_per_litre(estimate.estimate),
                                          .lower = to_per_litre(estimate.lower),
                                          .upper = to_per_litre(estimate.upper),
                                          .level = estimate.level};
      }
    }
  }

  std::vector<std::string> unknown;
  for (const auto& [name, entry] : entries) {
    TaxonComposition taxon{.name = name};
    if (const Taxon* known = find_taxon(name)) {
      taxon.taxon = *known;
    } else {
      unknown.push_back(name);
    }
    taxon.total = PerLitreQuantities(entry.total, litres);
    taxon.validated = PerLitreQuantities(entry.validated, litres);
    taxon.predicted = PerLitreQuantities(entry.predicted, litres);
    taxon.uncertain = PerLitreQuantities(entry.uncertain, litres);
    if (entry.probabilities > 0) {
      taxon.mean_probability = entry.probability_sum / static_cast<double>(entry.probabilities);
    }
    if (const auto at = adjusted.find(name); at != adjusted.end()) {
      taxon.adjusted_cells_per_l = at->second;
    }
    composition.taxa.push_back(std::move(taxon));
  }
  std::sort(composition.taxa.begin(),
            composition.taxa.end(),
            [](const TaxonComposition& a, const TaxonComposition& b) {
              return std::make_tuple(Group(a.taxon), -a.total.cells, -a.total.particles, a.name) <
                     std::make_tuple(Group(b.taxon), -b.total.cells, -b.total.particles, b.name);
            });

  composition.living = PerLitreQuantities(living, litres);
  composition.all = PerLitreQuantities(all, litres);
  double lower_bound = 0.0;
  for (int size_idx = 0; size_idx < kSizeClasses; ++size_idx) {
    const double upper_bound = size_idx == kSizeClasses - 1
                                   ? std::numeric_limits<double>::infinity()
                                   : std::ldexp(1.0, size_idx + 1);  // 2, 4, ..., 1024
    composition.size_classes.push_back(
        SizeClass{.esd_min_um = lower_bound,
                  .esd_max_um = upper_bound,
                  .living = PerLitreQuantities(size_living[static_cast<size_t>(size_idx)], litres),
                  .all = PerLitreQuantities(size_all[static_cast<size_t>(size_idx)], litres)});
    lower_bound = upper_bound;
  }

  if (!litres) {
    composition.warnings.push_back(
        "no imaged volume: per-litre values (cells, biovolume, carbon) are not available");
  }
  if (!unknown.empty()) {
    composition.warnings.push_back(fmt::format(
        "{} class{} not in taxonomy {}: {} (counted in the totals of all particles, not as "
        "living, without carbon)",
        unknown.size(),
        unknown.size() == 1 ? "" : "es",
        taxonomy.Version(),
        JoinNames(unknown)));
  }
  if (any_label && composition.unlabelled > 0) {
    composition.warnings.push_back(
        fmt::format("{} particles have no label: counted in the totals of all particles only",
                    composition.unlabelled));
  }
  if (without_abd > 0) {
    composition.warnings.push_back(fmt::format(
        "{} particles have no ABD size: counted, without ABD biovolume or carbon", without_abd));
  }
  if (without_esd > 0) {
    composition.warnings.push_back(
        fmt::format("{} particles have no ESD size: counted, without ESD biovolume or size class",
                    without_esd));
  }
  return composition;
}

}  // namespace phytoflow
