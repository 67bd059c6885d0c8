#include "phytoflow/cli/json_output.h"

#include <optional>

namespace phytoflow {
namespace {

template <typename T>
nlohmann::json OrNull(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json OrNull(const std::string& value) {
  return value.empty() ? nlohmann::json(nullptr) : nlohmann::json(value);
}

// {"Section": {"Key": "value"}}; a repeated key keeps its first value (VS repeats some
// summary lines with the same value).
nlohmann::json SectionsJson(const std::vector<ContextEntry>& entries) {
  nlohmann::json sections = nlohmann::json::object();
  for (const ContextEntry& entry : entries) {
    nlohmann::json& section = sections[entry.section];
    if (!section.contains(entry.key)) {
      section[entry.key] = entry.value;
    }
  }
  return sections;
}

}  // namespace

nlohmann::json SampleMetadataJson(const SampleMetadata& metadata) {
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

nlohmann::json SampleSummaryJson(const Sample& sample) {
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

nlohmann::json SampleDetailJson(const Sample& sample, const std::vector<LabelCount>& label_counts) {
  nlohmann::json json = SampleSummaryJson(sample);
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
  nlohmann::json files = nlohmann::json::array();
  for (const SampleFile& file : sample.files) {
    files.push_back({{"name", file.name}, {"kind", file.kind}, {"bytes", file.bytes.size()}});
  }
  json["files"] = files;
  json["context"] = SectionsJson(sample.context);
  json["summary"] = SectionsJson(sample.summary);
  json["metadata"] = SampleMetadataJson(sample.metadata);

  // One entry per (source, classification) with the particle count of each class.
  nlohmann::json labels = nlohmann::json::array();
  for (const LabelCount& count : label_counts) {
    if (labels.empty() || labels.back()["source"] != count.source ||
        labels.back()["classification"] != count.classification) {
      labels.push_back({{"source", count.source},
                        {"classification", count.classification},
                        {"labelled", 0},
                        {"classes", nlohmann::json::object()}});
    }
    labels.back()["classes"][count.name] = count.count;
    labels.back()["labelled"] = labels.back()["labelled"].get<int64_t>() + count.count;
  }
  json["labels"] = labels;
  return json;
}

nlohmann::json IngestReportJson(const IngestReport& report) {
  nlohmann::json json = SampleSummaryJson(report.sample);
  json["outcome"] = std::string(IngestOutcomeName(report.outcome));
  json["labels"] = report.labels;
  json["particles_without_image"] = OrNull(report.particles_without_image);
  json["warnings"] = report.outcome == IngestOutcome::kUnchanged ? std::vector<std::string>{}
                                                                 : report.sample.warnings;
  json["metadata"] = SampleMetadataJson(report.sample.metadata);
  json["metadata_updated"] = report.metadata_updated;
  return json;
}

}  // namespace phytoflow
