#include "phytoflow/server/json_views.h"

#include <cmath>
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

}  // namespace phytoflow
