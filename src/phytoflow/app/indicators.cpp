#include "phytoflow/app/indicators.h"

#include "phytoflow/core/error.h"

#include <algorithm>

namespace phytoflow {
namespace {

// At most this many sample ids are named in a warning; the rest are counted.
constexpr size_t kNamedSamples = 5;

std::string NameSome(const std::vector<std::string>& ids) {
  std::string text;
  for (size_t i = 0; i < ids.size() && i < kNamedSamples; ++i) {
    text += (i > 0 ? ", " : "") + ids[i];
  }
  if (ids.size() > kNamedSamples) {
    text += ", ... (" + std::to_string(ids.size()) + " in all)";
  }
  return text;
}

std::string Selection(const IndicatorQuery& query) {
  std::string text;
  if (!query.station.empty()) {
    text += " with station '" + query.station + "'";
  }
  if (!query.area.empty()) {
    text +=
        std::string(text.empty() ? " with" : " and") + " area (water_body) '" + query.area + "'";
  }
  return text;
}

}  // namespace

Observations ObserveSamples(const Store& store, const IndicatorQuery& query) {
  Check(query.taxonomy != nullptr, ErrorCode::kInternal, "ObserveSamples: no taxonomy given");
  Observations observations;
  std::vector<std::string> without_time;
  std::vector<std::string> without_volume;
  int selected = 0;
  const LabelChoice choice{.model_id = query.model_id,
                           .validated_only = !query.include_predictions};
  const CompositionOptions composition{.diatom_carbon = query.diatom_carbon};
  for (const Sample& sample : store.ListSamples()) {
    if ((!query.station.empty() && sample.metadata.station != query.station) ||
        (!query.area.empty() && sample.metadata.water_body != query.area)) {
      continue;
    }
    ++selected;
    if (sample.metadata.sampled_at.empty()) {
      without_time.push_back(sample.id);
      continue;
    }
    // A volume of 0 (or NaN) gives no value per litre either: left out, not silently NaN.
    if (query.value != SeriesValue::kCells && !(sample.volume_imaged_ml.value_or(0) > 0)) {
      without_volume.push_back(sample.id);
      continue;
    }
    std::vector<Particle> particles;
    store.ScanParticles(sample.id,
                        ParticleScan{.measurements = false},
                        [&](const Particle& particle) { particles.push_back(particle); });
    std::vector<int64_t> numbers;
    numbers.reserve(particles.size());
    for (const Particle& particle : particles) {
      numbers.push_back(particle.number);
    }
    const std::vector<Label> labels = store.Labels(sample.id);
    const std::vector<ResolvedLabel> resolved = ResolveLabels(numbers, labels, choice);
    SampleObservation observation =
        ObserveSample(sample, particles, resolved, *query.taxonomy, composition, query.value);
    observations.labelled += observation.validated + observation.predicted + observation.uncertain;
    observations.predicted += observation.predicted + observation.uncertain;
    observations.first_year = observations.samples.empty()
                                  ? observation.year
                                  : std::min(observations.first_year, observation.year);
    observations.last_year = std::max(observations.last_year, observation.year);
    observations.samples.push_back(std::move(observation));
  }
  Check(selected > 0,
        ErrorCode::kNotFound,
        "no sample in the store" + (Selection(query).empty() ? std::string() : Selection(query)) +
            " (set station and water_body with `phytoflow metadata set|import`)");
  if (!without_time.empty()) {
    observations.warnings.push_back(
        std::to_string(without_time.size()) +
        " samples without sampled_at left out: " + NameSome(without_time));
  }
  if (!without_volume.empty()) {
    observations.warnings.push_back(std::to_string(without_volume.size()) +
                                    " samples without a positive imaged volume left out (no "
                                    "value per litre; --value cells counts them): " +
                                    NameSome(without_volume));
  }
  Check(!observations.samples.empty(),
        ErrorCode::kInvalidInput,
        "none of the " + std::to_string(selected) + " samples" + Selection(query) +
            " can be used: " +
            (observations.warnings.empty() ? std::string("no sample") : observations.warnings[0]));
  return observations;
}

std::vector<MonthlySeries> LifeformSeries(const Observations& observations,
                                          int first_year,
                                          int last_year) {
  std::vector<MonthlySeries> series;
  for (const std::string& group : LifeformGroups()) {
    series.push_back(
        MonthlyMeans(observations.samples, SeriesOf::kGroup, group, first_year, last_year));
  }
  return series;
}

Ph1Assessment AssessPh1(const Observations& observations,
                        std::span<const LifeformPair> pairs,
                        const Ph1Options& options) {
  options.periods.Validate();
  Ph1Assessment assessment;
  for (const LifeformPair& pair : pairs) {
    for (const std::string& name : {pair.x, pair.y}) {
      const bool known = std::any_of(assessment.series.begin(),
                                     assessment.series.end(),
                                     [&](const MonthlySeries& one) { return one.name == name; });
      if (!known) {
        assessment.series.push_back(MonthlyMeans(observations.samples,
                                                 SeriesOf::kGroup,
                                                 name,
                                                 options.periods.FirstYear(),
                                                 options.periods.LastYear()));
      }
    }
  }
  assessment.result = ComputePh1(assessment.series, pairs, options);
  assessment.options = options;
  assessment.warnings = observations.warnings;
  const Ph1Result& result = assessment.result;
  assessment.warnings.insert(
      assessment.warnings.end(), result.warnings.begin(), result.warnings.end());
  for (const Ph1PairResult& pair : result.pairs) {
    for (const std::string& warning : pair.warnings) {
      assessment.warnings.push_back(pair.pair.x + "-" + pair.pair.y + ": " + warning);
    }
  }
  return assessment;
}

Ph2Assessment AssessPh2(const Observations& observations,
                        std::string_view group,
                        const Ph2Options& options) {
  options.periods.Validate();
  Ph2Assessment assessment{.lifeform = std::string(group), .options = options};
  assessment.series = MonthlyMeans(observations.samples,
                                   SeriesOf::kGroup,
                                   group,
                                   options.periods.FirstYear(),
                                   options.periods.LastYear());
  assessment.result = ComputePh2(assessment.series, options);
  assessment.warnings = observations.warnings;
  assessment.warnings.insert(assessment.warnings.end(),
                             assessment.result.warnings.begin(),
                             assessment.result.warnings.end());
  return assessment;
}

Ph3Assessment AssessPh3(const Observations& observations,
                        std::string_view group,
                        Ph3Options options) {
  Check(IsLifeformGroup(group),
        ErrorCode::kInvalidInput,
        "unknown lifeform group '" + std::string(group) + "'");
  options.first_year = options.first_year == 0 ? observations.first_year : options.first_year;
  options.last_year = options.last_year == 0 ? observations.last_year : options.last_year;
  Ph3Assessment assessment{.lifeform = std::string(group), .options = options};
  // The taxa seen in the period: a taxon never seen adds nothing to any index.
  std::vector<SampleObservation> in_period;
  for (const SampleObservation& sample : observations.samples) {
    if (sample.year >= options.first_year && sample.year <= options.last_year) {
      in_period.push_back(sample);
    }
  }
  for (const std::string& taxon : ObservedTaxa(in_period, group)) {
    assessment.series.push_back(MonthlyMeans(
        observations.samples, SeriesOf::kTaxon, taxon, options.first_year, options.last_year));
  }
  assessment.result = ComputePh3(assessment.series, options);
  assessment.warnings = observations.warnings;
  assessment.warnings.insert(assessment.warnings.end(),
                             assessment.result.warnings.begin(),
                             assessment.result.warnings.end());
  return assessment;
}

std::string IndicatorPlotTitle(std::string_view indicator, const IndicatorQuery& query) {
  std::string where;
  where += query.station.empty() ? "" : " station " + query.station;
  where += query.area.empty() ? "" : " area " + query.area;
  return std::string(indicator) + (where.empty() ? std::string(" all samples") : where) + " (" +
         std::string(SeriesValueName(query.value)) + ")";
}

}  // namespace phytoflow
