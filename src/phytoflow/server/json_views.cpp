#include "phytoflow/server/json_views.h"

#include <cmath>
#include <limits>
#include <optional>

namespace phytoflow {
namespace {

using Json = nlohmann::json;

template <typename T>
Json OrNull(const std::optional<T>& value) {
  return value ? Json(*value) : Json(nullptr);
}

Json OrNull(const std::string& value) {
  return value.empty() ? Json(nullptr) : Json(value);
}

// {"Section": {"Key": "value"}}; a repeated key keeps its first value (VS repeats some
// summary lines with the same value).
Json SectionsJson(const std::vector<ContextEntry>& entries) {
  Json sections = Json::object();
  for (const ContextEntry& entry : entries) {
    Json& section = sections[entry.section];
    if (!section.contains(entry.key)) {
      section[entry.key] = entry.value;
    }
  }
  return sections;
}

// A number for JSON; NaN and infinity (no imaged volume) become null.
Json Number(double value) {
  return std::isfinite(value) ? Json(value) : Json(nullptr);
}

Json QuantitiesJson(const Quantities& quantities) {
  return {{"count", quantities.particles},
          {"cells", quantities.cells},
          {"cells_per_l", Number(quantities.cells_per_l)},
          {"biovolume_um3_per_l", Number(quantities.biovolume_abd_um3_per_l)},
          {"biovolume_esd_um3_per_l", Number(quantities.biovolume_esd_um3_per_l)},
          {"carbon_ug_per_l", Number(quantities.carbon_ug_per_l)}};
}

Json AdjustedJson(const std::optional<AdjustedEstimate>& adjusted) {
  if (!adjusted) {
    return nullptr;
  }
  return {{"estimate", Number(adjusted->estimate)},
          {"lower", Number(adjusted->lower)},
          {"upper", Number(adjusted->upper)},
          {"level", adjusted->level}};
}

Json TaxonJson(const TaxonComposition& entry) {
  Json json = {{"name", entry.name}};
  const std::optional<Taxon>& taxon = entry.taxon;
  json["aphia_id"] = taxon && taxon->aphia_id ? Json(*taxon->aphia_id) : Json(nullptr);
  json["lsid"] = taxon && taxon->aphia_id ? Json(taxon->Lsid()) : Json(nullptr);
  json["scientific_name"] =
      taxon && !taxon->scientific_name.empty() ? Json(taxon->scientific_name) : Json(nullptr);
  json["rank"] = taxon && !taxon->rank.empty() ? Json(taxon->rank) : Json(nullptr);
  json["lifeform"] = taxon ? Json(std::string(LifeformName(taxon->lifeform))) : Json(nullptr);
  json["living"] = taxon ? Json(taxon->Living()) : Json(nullptr);
  json.update(QuantitiesJson(entry.total));
  json["validated"] = entry.validated.particles;
  json["predicted"] = entry.predicted.particles;
  json["uncertain"] = entry.uncertain.particles;
  json["mean_probability"] = entry.mean_probability ? Json(*entry.mean_probability) : Json(nullptr);
  json["adjusted_cells_per_l"] = AdjustedJson(entry.adjusted_cells_per_l);
  return json;
}

}  // namespace

Json SampleMetadataJson(const SampleMetadata& metadata) {
  return {
      {"station", OrNull(metadata.station)},
      {"campaign", OrNull(metadata.campaign)},
      {"latitude", OrNull(metadata.latitude)},
      {"longitude", OrNull(metadata.longitude)},
      {"sampled_at", OrNull(metadata.sampled_at)},
      {"depth_min_m", OrNull(metadata.depth_min_m)},
      {"depth_max_m", OrNull(metadata.depth_max_m)},
      {"sampling_protocol", OrNull(metadata.sampling_protocol)},
      {"gear", OrNull(metadata.gear)},
      {"water_body", OrNull(metadata.water_body)},
      {"country_code", OrNull(metadata.country_code)},
      {"dilution_factor", OrNull(metadata.dilution_factor)},
      {"concentration_factor", OrNull(metadata.concentration_factor)},
      {"temperature_c", OrNull(metadata.temperature_c)},
      {"salinity", OrNull(metadata.salinity)},
      {"environment", metadata.environment},
  };
}

Json SampleSummaryJson(const Sample& sample) {
  return {
      {"sample_id", sample.id},
      {"run_name", sample.run_name},
      {"particles", sample.particle_count},
      {"volume_imaged_ml", OrNull(sample.volume_imaged_ml)},
      {"volume_source", std::string(VolumeSourceName(sample.volume_source))},
      {"dilution_factor", sample.dilution_factor},
      {"particles_per_ml", OrNull(sample.particles_per_ml)},
      {"run_start_utc", OrNull(sample.run_start_utc)},
      {"ingested_at", sample.ingested_at},
  };
}

Json SampleDetailJson(const Sample& sample, const std::vector<LabelCount>& label_counts) {
  Json json = SampleSummaryJson(sample);
  json["fingerprint"] = sample.fingerprint;
  json["source_path"] = sample.source_path;
  json["software"] = sample.software;
  json["software_version"] = OrNull(sample.software_version);
  json["instrument_serial"] = OrNull(sample.instrument_serial);
  json["camera"] = OrNull(sample.camera);
  json["magnification"] = OrNull(sample.magnification);
  json["calibration_um_per_px"] = OrNull(sample.calibration_um_per_px);
  json["flow_cell"] = OrNull(sample.flow_cell);
  json["flow_cell_depth_um"] = OrNull(sample.flow_cell_depth_um);
  json["flow_rate_ml_per_min"] = OrNull(sample.flow_rate_ml_per_min);
  json["run_end_utc"] = OrNull(sample.run_end_utc);
  json["run_start_local"] = OrNull(sample.run_start_local);
  json["utc_offset_minutes"] =
      OrNull(UtcOffsetMinutes(sample.run_start_utc, sample.run_start_local));
  json["frames_total"] = OrNull(sample.frames_total);
  json["frames_used"] = OrNull(sample.frames_used);
  json["volume_processed_ml"] = OrNull(sample.volume_processed_ml);
  json["phytoflow_version"] = sample.phytoflow_version;
  json["measurements"] = sample.measurement_names;
  json["classifications"] = sample.classifications;
  json["notes"] = OrNull(sample.notes);
  json["warnings"] = sample.warnings;
  Json files = Json::array();
  for (const SampleFile& file : sample.files) {
    files.push_back({{"name", file.name}, {"kind", file.kind}, {"bytes", file.bytes.size()}});
  }
  json["files"] = files;
  json["context"] = SectionsJson(sample.context);
  json["summary"] = SectionsJson(sample.summary);
  json["metadata"] = SampleMetadataJson(sample.metadata);

  // One entry per (source, classification) with the particle count of each class.
  Json labels = Json::array();
  for (const LabelCount& count : label_counts) {
    if (labels.empty() || labels.back()["source"] != count.source ||
        labels.back()["classification"] != count.classification) {
      labels.push_back({{"source", count.source},
                        {"classification", count.classification},
                        {"labelled", 0},
                        {"classes", Json::object()}});
    }
    labels.back()["classes"][count.name] = count.count;
    labels.back()["labelled"] = labels.back()["labelled"].get<int64_t>() + count.count;
  }
  json["labels"] = labels;
  return json;
}

Json IngestReportJson(const IngestReport& report) {
  Json json = SampleSummaryJson(report.sample);
  json["outcome"] = std::string(IngestOutcomeName(report.outcome));
  json["labels"] = report.labels;
  json["particles_without_image"] = OrNull(report.particles_without_image);
  json["warnings"] = report.outcome == IngestOutcome::kUnchanged ? std::vector<std::string>{}
                                                                 : report.sample.warnings;
  json["metadata"] = SampleMetadataJson(report.sample.metadata);
  json["metadata_updated"] = report.metadata_updated;
  return json;
}

Json LabelJson(const Label& label) {
  Json json = {{"particle_number", label.particle_number},
               {"name", label.name},
               {"source", label.source},
               {"classification", label.classification},
               {"author", label.author},
               {"created_at", label.created_at}};
  if (label.source == kLabelSourceExpert) {
    json["sequence"] = label.sequence;
    json["status"] = std::string(ExpertStatusName(label.status));
    json["undoes"] = label.undoes != 0 ? Json(label.undoes) : Json(nullptr);
    return json;
  }
  Json top_k = Json::array();
  for (const LabelScore& score : label.top_k) {
    top_k.push_back({{"name", score.name}, {"probability", score.probability}});
  }
  json["probability"] = OrNull(label.probability);
  json["top_k"] = std::move(top_k);
  return json;
}

Json ValidationReportJson(const ValidationReport& report) {
  Json events = Json::array();
  for (const Label& event : report.events) {
    events.push_back(LabelJson(event));
  }
  return {{"sample_id", report.sample_id}, {"events", std::move(events)}};
}

Json ParticleHistoryJson(const ParticleHistoryReport& report) {
  Json entries = Json::array();
  for (const HistoryEntry& entry : report.entries) {
    entries.push_back({{"kind", std::string(entry.kind)},
                       {"current", entry.current},
                       {"label", LabelJson(entry.label)}});
  }
  const ResolvedLabel& resolved = report.resolved;
  return {{"sample_id", report.sample_id},
          {"particle_number", report.particle_number},
          {"entries", std::move(entries)},
          {"resolved",
           {{"label", OrNull(resolved.name)},
            {"status", std::string(LabelStatusName(resolved.status))},
            {"probability", OrNull(resolved.probability)},
            {"identified_by", OrNull(resolved.identified_by)},
            {"dubious", resolved.dubious}}},
          {"newest_sequence",
           report.newest_sequence != 0 ? Json(report.newest_sequence) : Json(nullptr)}};
}

Json CompositionJson(const SampleComposition& composition,
                     std::string_view carbon_equation,
                     bool validated_only) {
  const auto share = [&](int64_t count) {
    return composition.all.particles > 0
               ? Json(static_cast<double>(count) / static_cast<double>(composition.all.particles))
               : Json(nullptr);
  };
  Json taxa = Json::array();
  for (const TaxonComposition& entry : composition.taxa) {
    taxa.push_back(TaxonJson(entry));
  }
  Json size_classes = Json::array();
  for (const SizeClass& size_class : composition.size_classes) {
    size_classes.push_back({{"esd_min_um", size_class.esd_min_um},
                            {"esd_max_um", Number(size_class.esd_max_um)},
                            {"all", QuantitiesJson(size_class.all)},
                            {"living", QuantitiesJson(size_class.living)}});
  }
  return {
      {"sample_id", composition.sample_id},
      {"volume_imaged_ml", OrNull(composition.volume_imaged_ml)},
      {"dilution_factor", composition.dilution_factor},
      {"concentration_factor", composition.concentration_factor},
      {"seawater_litres", OrNull(composition.seawater_litres)},
      {"model_id", OrNull(composition.model_id)},
      {"taxonomy_version", composition.taxonomy_version},
      {"carbon_equation", std::string(carbon_equation)},
      {"validated_only", validated_only},
      {"taxa", std::move(taxa)},
      {"totals",
       {{"living", QuantitiesJson(composition.living)}, {"all", QuantitiesJson(composition.all)}}},
      {"label_counts",
       {{"validated", composition.validated},
        {"predicted", composition.predicted},
        {"uncertain", composition.uncertain},
        {"unlabelled", composition.unlabelled}}},
      {"shares",
       {{"validated", share(composition.validated)},
        {"predicted", share(composition.predicted)},
        {"uncertain", share(composition.uncertain)},
        {"unlabelled", share(composition.unlabelled)}}},
      {"size_classes", std::move(size_classes)},
      {"warnings", composition.warnings},
  };
}

// ---------------------------------------------------------------------------------------------
// OSPAR indicators

namespace {

using Ordered = nlohmann::ordered_json;  // keys in the order docs/indicators.md gives them

Ordered Value(double value) {
  return std::isfinite(value) ? Ordered(value) : Ordered(nullptr);
}

Ordered SelectionJson(const IndicatorQuery& query, const Observations& observations) {
  const double predicted_share =
      observations.labelled > 0
          ? static_cast<double>(observations.predicted) / static_cast<double>(observations.labelled)
          : std::numeric_limits<double>::quiet_NaN();
  return {{"station", query.station.empty() ? Ordered(nullptr) : Ordered(query.station)},
          {"area", query.area.empty() ? Ordered(nullptr) : Ordered(query.area)},
          {"value", SeriesValueName(query.value)},
          {"labels", query.include_predictions ? "validated+predicted" : "validated"},
          {"samples", observations.samples.size()},
          {"first_year", observations.first_year},
          {"last_year", observations.last_year},
          {"predicted_share", Value(predicted_share)}};
}

// The Monte Carlo propagation of the classifier's uncertainty, null when off.
Ordered UncertaintyJson(const IndicatorQuery& query) {
  if (query.uncertainty.replicates <= 0) {
    return nullptr;
  }
  return {{"replicates", query.uncertainty.replicates},
          {"level", query.uncertainty.level},
          {"method", kUncertaintyMethod}};
}

// Adds NAME_lower, NAME_upper and NAME_median (null without an interval) to `json`.
void AddInterval(Ordered& json, const std::string& name, const std::optional<Interval>& interval) {
  const Interval none;
  json[name + "_lower"] = Value(interval.value_or(none).lower);
  json[name + "_upper"] = Value(interval.value_or(none).upper);
  json[name + "_median"] = Value(interval.value_or(none).median);
}

Ordered PeriodsJson(const AssessmentPeriods& periods) {
  return {{"reference", {periods.reference_first, periods.reference_last}},
          {"comparison", {periods.comparison_first, periods.comparison_last}}};
}

// The months of a series with their samples, raw mean and share of model labels.
Ordered MonthsJson(const MonthlySeries& series) {
  Ordered months = Ordered::array();
  for (const MonthlyPoint& point : series.points) {
    months.push_back({{"year", point.year},
                      {"month", point.month},
                      {"samples", point.samples},
                      {"mean", Value(point.mean)},
                      {"lower", Value(point.lower)},
                      {"upper", Value(point.upper)},
                      {"median", Value(point.median)},
                      {"predicted_share", Value(point.predicted_share)}});
  }
  return months;
}

Ordered KendallJson(const KendallTrend& trend) {
  return {{"n", trend.n},
          {"s", trend.s},
          {"variance", trend.variance},
          {"z", Value(trend.z)},
          {"p", Value(trend.p)},
          {"tau", Value(trend.tau)},
          {"sen_slope", Value(trend.sen_slope)}};
}

Ordered PlanktonIndexJson(const PlanktonIndex& index, const std::optional<Interval>& interval) {
  Ordered json = {{"pi", Value(index.pi)}};
  AddInterval(json, "pi", interval);
  json.update(Ordered{{"points", index.points},
                      {"inside", index.inside},
                      {"binomial_probability", Value(index.binomial_probability)},
                      {"chi_square", Value(index.chi_square)},
                      {"chi_square_p", Value(index.chi_square_p)}});
  return json;
}

Ordered PolygonJson(const std::vector<Point2>& points) {
  Ordered array = Ordered::array();
  for (const Point2& point : points) {
    array.push_back({point.x, point.y});
  }
  return array;
}

Ordered Ph1PointsJson(const std::vector<Ph1Point>& points) {
  Ordered array = Ordered::array();
  for (const Ph1Point& point : points) {
    array.push_back({{"year", point.year},
                     {"month", point.month},
                     {"samples", point.samples},
                     {"x", point.x},
                     {"y", point.y}});
  }
  return array;
}

// `intervals`: the pair's, or null without uncertainty.
Ordered Ph1PairJson(const Ph1PairResult& pair, const Ph1PairIntervals* intervals) {
  Ordered annual = Ordered::array();
  for (size_t i = 0; i < pair.annual.size(); ++i) {
    const AnnualPlanktonIndex& year = pair.annual[i];
    Ordered entry = {{"year", year.year}};
    entry.update(PlanktonIndexJson(
        year.index, intervals ? std::optional(intervals->annual.at(i).second) : std::nullopt));
    annual.push_back(std::move(entry));
  }
  Ordered json = {{"x", pair.pair.x}, {"y", pair.pair.y}};
  json.update(
      PlanktonIndexJson(pair.index, intervals ? std::optional(intervals->pi) : std::nullopt));
  json["reference_points"] = pair.reference.size();
  json["quality"] = {{"years", pair.quality.years},
                     {"months", pair.quality.months},
                     {"calendar_months", pair.quality.calendar_months_ok},
                     {"passed", pair.quality.passed}};
  json["envelope"] = pair.envelope ? Ordered{{"outer", PolygonJson(pair.envelope->outer)},
                                             {"inner", PolygonJson(pair.envelope->inner)},
                                             {"kept_points", pair.envelope->kept_points}}
                                   : Ordered(nullptr);
  json["annual"] = std::move(annual);
  json["reference"] = Ph1PointsJson(pair.reference);
  json["comparison"] = Ph1PointsJson(pair.comparison);
  json["warnings"] = pair.warnings;
  return json;
}

}  // namespace

Ordered Ph1Json(const IndicatorQuery& query,
                const Observations& observations,
                const Ph1Assessment& assessment) {
  const Ph1Result& result = assessment.result;
  Ordered pairs = Ordered::array();
  for (size_t i = 0; i < result.pairs.size(); ++i) {
    pairs.push_back(Ph1PairJson(
        result.pairs[i], assessment.intervals.empty() ? nullptr : &assessment.intervals.at(i)));
  }
  Ordered trends = Ordered::array();
  for (const LifeformTrend& trend : result.trends) {
    Ordered entry = {
        {"lifeform", trend.lifeform}, {"years", trend.years}, {"annual_means", trend.annual_means}};
    entry.update(KendallJson(trend.kendall));
    entry["significant"] = trend.significant;
    trends.push_back(std::move(entry));
  }
  Ordered months = Ordered::object();
  for (const MonthlySeries& series : assessment.series) {
    months[series.name] = MonthsJson(series);
  }
  return {{"indicator", "ph1"},
          {"selection", SelectionJson(query, observations)},
          {"uncertainty", UncertaintyJson(query)},
          {"periods", PeriodsJson(assessment.options.periods)},
          {"transform", LogTransformName(assessment.options.transform)},
          {"kendall", assessment.options.seasonal_kendall ? "seasonal" : "annual"},
          {"pairs", std::move(pairs)},
          {"trends", std::move(trends)},
          {"months", std::move(months)},
          {"warnings", assessment.warnings}};
}

Ordered Ph2Json(const IndicatorQuery& query,
                const Observations& observations,
                const Ph2Assessment& assessment) {
  const Ph2Result& result = assessment.result;
  Ordered months = Ordered::array();
  for (const Ph2Month& month : result.months) {
    months.push_back({{"year", month.year},
                      {"month", month.month},
                      {"samples", month.samples},
                      {"interpolated", month.interpolated},
                      {"comparison", month.comparison},
                      {"value", Value(month.value)},
                      {"cycle", Value(month.cycle)},
                      {"anomaly", Value(month.anomaly)},
                      {"class", AnomalyClassName(month.change)},
                      {"cumulative", Value(month.cumulative)}});
  }
  Ordered cycle = Ordered::array();
  for (const double value : result.cycle) {
    cycle.push_back(Value(value));
  }
  const AnomalyThresholds& limits = result.thresholds;
  const AnomalyCounts& counts = result.comparison;
  const std::optional<Ph2Intervals>& intervals = assessment.intervals;
  const auto interval = [&](Interval Ph2Intervals::* member) -> std::optional<Interval> {
    return intervals ? std::optional((*intervals).*member) : std::nullopt;
  };
  Ordered comparison = {{"months", counts.months},
                        {"important_positive", counts.important_positive},
                        {"important_negative", counts.important_negative},
                        {"extreme_positive", counts.extreme_positive},
                        {"extreme_negative", counts.extreme_negative},
                        {"strong_positive", counts.strong_positive},
                        {"strong_negative", counts.strong_negative},
                        {"percent_important", Value(counts.percent_important)}};
  AddInterval(comparison, "percent_important", interval(&Ph2Intervals::percent_important));
  comparison["percent_extreme"] = Value(counts.percent_extreme);
  AddInterval(comparison, "percent_extreme", interval(&Ph2Intervals::percent_extreme));
  comparison["percent_strong"] = Value(counts.percent_strong);
  AddInterval(comparison, "percent_strong", interval(&Ph2Intervals::percent_strong));
  const std::optional<Interval> sd_change = interval(&Ph2Intervals::sd_change_percent);
  return {{"indicator", "ph2"},
          {"lifeform", assessment.lifeform},
          {"selection", SelectionJson(query, observations)},
          {"uncertainty", UncertaintyJson(query)},
          {"periods", PeriodsJson(assessment.options.periods)},
          {"reference_years", result.reference_years},
          {"years_removed", result.years_removed},
          {"thresholds",
           {{"q2_5", Value(limits.q2_5)},
            {"q25", Value(limits.q25)},
            {"q75", Value(limits.q75)},
            {"q97_5", Value(limits.q97_5)},
            {"min", Value(limits.min)},
            {"max", Value(limits.max)}}},
          {"comparison", std::move(comparison)},
          {"t_test",
           {{"reference_mean", Value(result.t_test.mean_a)},
            {"comparison_mean", Value(result.t_test.mean_b)},
            {"t", Value(result.t_test.t)},
            {"df", Value(result.t_test.df)},
            {"p", Value(result.t_test.p)},
            {"significant", result.t_test_significant}}},
          {"f_test",
           {{"f", Value(result.f_test.f)},
            {"df_reference", Value(result.f_test.df_a)},
            {"df_comparison", Value(result.f_test.df_b)},
            {"p", Value(result.f_test.p)}}},
          {"sd_change_percent", Value(result.sd_change_percent)},
          {"sd_change_percent_lower", Value(sd_change ? sd_change->lower : kIndicatorNaN)},
          {"sd_change_percent_upper", Value(sd_change ? sd_change->upper : kIndicatorNaN)},
          {"sd_change_percent_median", Value(sd_change ? sd_change->median : kIndicatorNaN)},
          {"trend", KendallJson(result.trend)},
          {"cycle", std::move(cycle)},
          {"months", std::move(months)},
          {"label_months", MonthsJson(assessment.series)},
          {"warnings", assessment.warnings}};
}

Ordered Ph3Json(const IndicatorQuery& query,
                const Observations& observations,
                const Ph3Assessment& assessment) {
  const Ph3Result& result = assessment.result;
  Ordered months = Ordered::array();
  for (const Ph3Month& month : result.months) {
    const DiversityIndices& indices = month.indices;
    months.push_back({{"year", month.year},
                      {"month", month.month},
                      {"samples", month.samples},
                      {"richness", indices.richness},
                      {"abundance", indices.abundance},
                      {"menhinick", Value(indices.menhinick)},
                      {"margalef", Value(indices.margalef)},
                      {"hulburt", Value(indices.hulburt)},
                      {"shannon", Value(indices.shannon)},
                      {"simpson", Value(indices.simpson)},
                      {"gini", Value(indices.gini)},
                      {"pielou", Value(indices.pielou)},
                      {"patten", Value(month.patten)},
                      {"bloom", month.bloom},
                      {"dominant", month.dominant}});
  }
  Ordered years = Ordered::array();
  for (size_t i = 0; i < result.years.size(); ++i) {
    const Ph3Year& year = result.years[i];
    const Ph3YearIntervals* intervals =
        assessment.intervals.empty() ? nullptr : &assessment.intervals.at(i);
    const auto interval = [&](Interval Ph3YearIntervals::* member) -> std::optional<Interval> {
      return intervals ? std::optional(intervals->*member) : std::nullopt;
    };
    Ordered ivi = Ordered::array();
    for (const ImportanceValue& value : year.ivi) {
      ivi.push_back({{"taxon", value.taxon},
                     {"relative_density", value.relative_density},
                     {"relative_frequency", value.relative_frequency},
                     {"ivi", value.ivi}});
    }
    Ordered entry = {{"year", year.year}, {"months", year.months}, {"assessed", year.assessed}};
    const std::pair<const char*, std::pair<double, Interval Ph3YearIntervals::*>> means[] = {
        {"richness", {year.richness, &Ph3YearIntervals::richness}},
        {"menhinick", {year.menhinick, &Ph3YearIntervals::menhinick}},
        {"margalef", {year.margalef, &Ph3YearIntervals::margalef}},
        {"hulburt", {year.hulburt, &Ph3YearIntervals::hulburt}},
        {"shannon", {year.shannon, &Ph3YearIntervals::shannon}},
        {"simpson", {year.simpson, &Ph3YearIntervals::simpson}},
        {"pielou", {year.pielou, &Ph3YearIntervals::pielou}}};
    for (const auto& [name, mean] : means) {
      entry[name] = Value(mean.first);
      AddInterval(entry, name, interval(mean.second));
    }
    entry.update(Ordered{{"bloom_months", year.bloom_months},
                         {"bloom_index", Value(year.bloom_index)},
                         {"eqr_hulburt", Value(year.eqr_hulburt)},
                         {"eqr_menhinick", Value(year.eqr_menhinick)},
                         {"eqr_bloom", Value(year.eqr_bloom)},
                         {"lcbd", Value(year.lcbd)},
                         {"lcbd_p", Value(year.lcbd_p)},
                         {"ivi", std::move(ivi)}});
    years.push_back(std::move(entry));
  }
  Ordered trends = Ordered::array();
  for (const IndexTrend& trend : result.trends) {
    Ordered entry = {{"index", trend.index}};
    entry.update(KendallJson(trend.kendall));
    trends.push_back(std::move(entry));
  }
  return {{"indicator", "ph3"},
          {"lifeform", assessment.lifeform},
          {"selection", SelectionJson(query, observations)},
          {"uncertainty", UncertaintyJson(query)},
          {"first_year", assessment.options.first_year},
          {"last_year", assessment.options.last_year},
          {"min_months_per_year", assessment.options.min_months_per_year},
          {"taxa", result.taxa},
          {"qualifying_years", result.qualifying_years},
          {"qc_passed", result.qc_passed},
          {"months", std::move(months)},
          {"years", std::move(years)},
          {"trends", std::move(trends)},
          {"warnings", assessment.warnings}};
}

Ordered SeriesJson(const IndicatorQuery& query,
                   const Observations& observations,
                   std::span<const MonthlySeries> series) {
  Ordered rows = Ordered::array();
  const std::vector<MonthlyPoint>& months = series.front().points;
  for (size_t i = 0; i < months.size(); ++i) {
    Ordered groups = Ordered::object();
    Ordered lower = Ordered::object();
    Ordered upper = Ordered::object();
    Ordered median = Ordered::object();
    for (const MonthlySeries& one : series) {
      groups[one.name] = Value(one.points[i].mean);
      lower[one.name] = Value(one.points[i].lower);
      upper[one.name] = Value(one.points[i].upper);
      median[one.name] = Value(one.points[i].median);
    }
    rows.push_back({{"year", months[i].year},
                    {"month", months[i].month},
                    {"samples", months[i].samples},
                    {"predicted_share", Value(months[i].predicted_share)},
                    {"lifeforms", std::move(groups)},
                    {"lower", std::move(lower)},
                    {"upper", std::move(upper)},
                    {"median", std::move(median)}});
  }
  return {{"indicator", "series"},
          {"selection", SelectionJson(query, observations)},
          {"uncertainty", UncertaintyJson(query)},
          {"months", std::move(rows)},
          {"warnings", observations.warnings}};
}

}  // namespace phytoflow
