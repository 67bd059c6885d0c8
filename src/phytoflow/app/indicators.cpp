#include "phytoflow/app/indicators.h"

#include "phytoflow/core/error.h"

#include <algorithm>
#include <charconv>
#include <random>
#include <tuple>
#include <unordered_map>

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

// The top-k of the model label each resolved label comes from (empty for the others), found as
// ResolveLabels finds it: the newest label of that model for the particle.
std::vector<std::vector<LabelScore>> TopKOf(std::span<const ResolvedLabel> resolved,
                                            std::span<const Label> labels) {
  std::unordered_map<int64_t, std::vector<const Label*>> by_particle;
  for (const Label& label : labels) {
    if (label.source == kLabelSourceModel) {
      by_particle[label.particle_number].push_back(&label);
    }
  }
  std::vector<std::vector<LabelScore>> top_k(resolved.size());
  for (size_t i = 0; i < resolved.size(); ++i) {
    const ResolvedLabel& label = resolved[i];
    if (label.status != LabelStatus::kPredicted && label.status != LabelStatus::kUncertain) {
      continue;
    }
    const auto found = by_particle.find(label.particle_number);
    if (found == by_particle.end()) {
      continue;
    }
    const Label* chosen = nullptr;
    for (const Label* candidate : found->second) {
      // A later label wins a tie, as in ResolveLabels.
      if (candidate->classification == label.identified_by &&
          (chosen == nullptr || candidate->created_at >= chosen->created_at)) {
        chosen = candidate;
      }
    }
    if (chosen != nullptr) {
      top_k[i] = chosen->top_k;
    }
  }
  return top_k;
}

// Whether a sample of `year` draws replicates (UncertaintyOptions' years; 0: every year).
bool DrawsReplicates(const UncertaintyOptions& options, int year) {
  return (options.first_year == 0 || year >= options.first_year) &&
         (options.last_year == 0 || year <= options.last_year);
}

// The year of an ISO 8601 sampled_at, for the draw budget (0 when it has none; ObserveSample
// parses and checks it properly).
int YearOf(const std::string& sampled_at) {
  int year = 0;
  std::from_chars(
      sampled_at.data(), sampled_at.data() + std::min<size_t>(4, sampled_at.size()), year);
  return year;
}

// Refuses, before any particle is read, more draws than `options.max_draws`: replicates ×
// particles of the samples that draw them.
void CheckDrawBudget(const std::vector<Sample>& samples,
                     const IndicatorQuery& query,
                     const UncertaintyOptions& options) {
  if (options.replicates == 0 || options.max_draws <= 0) {
    return;
  }
  int64_t particles = 0;
  int64_t drawing_samples = 0;
  for (const Sample& sample : samples) {
    if ((query.station.empty() || sample.metadata.station == query.station) &&
        (query.area.empty() || sample.metadata.water_body == query.area) &&
        DrawsReplicates(options, YearOf(sample.metadata.sampled_at))) {
      particles += sample.particle_count;
      ++drawing_samples;
    }
  }
  const std::string advice =
      " allowed per request: ask for fewer replicates, fewer years or one station, or run "
      "`phytoflow indicators` on the command line";
  const int64_t draws = particles * options.replicates;
  Check(draws <= options.max_draws,
        ErrorCode::kInvalidInput,
        "uncertainty: " + std::to_string(options.replicates) + " replicates of the " +
            std::to_string(particles) + " particles selected are " + std::to_string(draws) +
            " draws, more than " + std::to_string(options.max_draws) + advice);
  // Each sample's replicate is kept until the indicator is computed (about 2 KB), so many small
  // samples cost memory that their few draws do not show.
  const int64_t observations = drawing_samples * options.replicates;
  const int64_t max_observations = options.max_draws / kDrawsPerKeptObservation;
  Check(observations <= max_observations,
        ErrorCode::kInvalidInput,
        "uncertainty: " + std::to_string(options.replicates) + " replicates of the " +
            std::to_string(drawing_samples) + " samples selected are " +
            std::to_string(observations) + " sample replicates, more than " +
            std::to_string(max_observations) + advice);
}

// Sets the intervals of a series from the same series of every replicate.
void AddIntervals(MonthlySeries& series,
                  const Observations& observations,
                  SeriesOf kind,
                  int first_year,
                  int last_year) {
  if (observations.replicates.empty()) {
    return;
  }
  std::vector<MonthlySeries> replicates;
  replicates.reserve(observations.replicates.size());
  for (const std::vector<SampleObservation>& replicate : observations.replicates) {
    replicates.push_back(MonthlyMeans(replicate, kind, series.name, first_year, last_year));
  }
  AttachIntervals(series, replicates, observations.level);
}

// The lifeform series of the pairs and their PH1.
std::pair<std::vector<MonthlySeries>, Ph1Result> Ph1Of(std::span<const SampleObservation> samples,
                                                       std::span<const LifeformPair> pairs,
                                                       const Ph1Options& options) {
  std::vector<MonthlySeries> series;
  for (const LifeformPair& pair : pairs) {
    for (const std::string& name : {pair.x, pair.y}) {
      const bool known = std::any_of(
          series.begin(), series.end(), [&](const MonthlySeries& one) { return one.name == name; });
      if (!known) {
        series.push_back(MonthlyMeans(samples,
                                      SeriesOf::kGroup,
                                      name,
                                      options.periods.FirstYear(),
                                      options.periods.LastYear()));
      }
    }
  }
  Ph1Result result = ComputePh1(series, pairs, options);
  return {std::move(series), std::move(result)};
}

// The taxa series of a group (the taxa seen in the period) and their PH3; options with the years.
std::pair<std::vector<MonthlySeries>, Ph3Result> Ph3Of(std::span<const SampleObservation> samples,
                                                       std::string_view group,
                                                       const Ph3Options& options) {
  // The taxa seen in the period: a taxon never seen adds nothing to any index.
  std::vector<SampleObservation> in_period;
  for (const SampleObservation& sample : samples) {
    if (sample.year >= options.first_year && sample.year <= options.last_year) {
      in_period.push_back(sample);
    }
  }
  std::vector<MonthlySeries> series;
  for (const std::string& taxon : ObservedTaxa(in_period, group)) {
    series.push_back(
        MonthlyMeans(samples, SeriesOf::kTaxon, taxon, options.first_year, options.last_year));
  }
  Ph3Result result = ComputePh3(series, options);
  return {std::move(series), std::move(result)};
}

}  // namespace

Observations ObserveSamples(const Store& store, const IndicatorQuery& query) {
  Check(query.taxonomy != nullptr, ErrorCode::kInternal, "ObserveSamples: no taxonomy given");
  const int replicates = query.uncertainty.replicates;
  Check(replicates >= 0,
        ErrorCode::kInvalidInput,
        "uncertainty replicates: expected 0 or more, found " + std::to_string(replicates));
  Check(replicates == 0 || query.include_predictions,
        ErrorCode::kInvalidInput,
        "uncertainty replicates need the model's predictions (include_predictions): validated "
        "labels have no uncertainty to draw");
  PercentileInterval({}, query.uncertainty.level);  // checks the level before the store is read
  Observations observations;
  observations.replicates.resize(static_cast<size_t>(replicates));
  observations.level = query.uncertainty.level;
  std::vector<std::string> without_time;
  std::vector<std::string> without_volume;
  int selected = 0;
  const LabelChoice choice{.model_id = query.model_id,
                           .validated_only = !query.include_predictions};
  const CompositionOptions composition{.diatom_carbon = query.diatom_carbon};
  const std::vector<Sample> samples = store.ListSamples();
  CheckDrawBudget(samples, query, query.uncertainty);
  for (const Sample& sample : samples) {
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
    if (replicates > 0 && DrawsReplicates(query.uncertainty, observation.year)) {
      const std::vector<std::vector<LabelScore>> top_k = TopKOf(resolved, labels);
      std::mt19937_64 generator(ReplicateSeed(query.uncertainty.seed, sample.id));
      for (std::vector<SampleObservation>& replicate : observations.replicates) {
        const std::vector<ResolvedLabel> drawn = DrawLabels(resolved, top_k, generator);
        replicate.push_back(
            ObserveSample(sample, particles, drawn, *query.taxonomy, composition, query.value));
      }
    }
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
    AddIntervals(series.back(), observations, SeriesOf::kGroup, first_year, last_year);
  }
  return series;
}

Ph1Assessment AssessPh1(const Observations& observations,
                        std::span<const LifeformPair> pairs,
                        const Ph1Options& options) {
  options.periods.Validate();
  Ph1Assessment assessment;
  std::tie(assessment.series, assessment.result) = Ph1Of(observations.samples, pairs, options);
  for (MonthlySeries& series : assessment.series) {
    AddIntervals(series,
                 observations,
                 SeriesOf::kGroup,
                 options.periods.FirstYear(),
                 options.periods.LastYear());
  }
  if (!observations.replicates.empty()) {
    // The same seed in every replicate: the envelope's jitter is not part of the uncertainty.
    std::vector<Ph1Result> replicates;
    for (const std::vector<SampleObservation>& replicate : observations.replicates) {
      replicates.push_back(Ph1Of(replicate, pairs, options).second);
    }
    assessment.intervals = Ph1Intervals(assessment.result, replicates, observations.level);
  }
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
  AddIntervals(assessment.series,
               observations,
               SeriesOf::kGroup,
               options.periods.FirstYear(),
               options.periods.LastYear());
  if (!observations.replicates.empty()) {
    std::vector<Ph2Result> replicates;
    for (const std::vector<SampleObservation>& replicate : observations.replicates) {
      replicates.push_back(ComputePh2(MonthlyMeans(replicate,
                                                   SeriesOf::kGroup,
                                                   group,
                                                   options.periods.FirstYear(),
                                                   options.periods.LastYear()),
                                      options));
    }
    assessment.intervals = Ph2IntervalsOf(replicates, observations.level);
  }
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
  std::tie(assessment.series, assessment.result) = Ph3Of(observations.samples, group, options);
  for (MonthlySeries& series : assessment.series) {
    AddIntervals(series, observations, SeriesOf::kTaxon, options.first_year, options.last_year);
  }
  if (!observations.replicates.empty()) {
    // The permutation test has no interval: the replicates skip it.
    Ph3Options cheap = options;
    cheap.permutations = 0;
    std::vector<Ph3Result> replicates;
    for (const std::vector<SampleObservation>& replicate : observations.replicates) {
      replicates.push_back(Ph3Of(replicate, group, cheap).second);
    }
    assessment.intervals = Ph3Intervals(assessment.result, replicates, observations.level);
  }
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
