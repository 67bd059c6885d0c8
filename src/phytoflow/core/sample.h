#pragma once

#include "phytoflow/core/sample_metadata.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace phytoflow {

// One `key=value` of the run's .ctx, kept verbatim.
struct ContextEntry {
  std::string section;
  std::string key;
  std::string value;
  bool operator==(const ContextEntry&) const = default;
};

// A file of the export that is kept with the sample as bytes (calibration images as PNG).
struct SampleFile {
  std::string name;        // original file name, e.g. "cal_image_000001.tif"
  std::string kind;        // "calibration_image"
  std::string media_type;  // "image/png"
  std::vector<uint8_t> bytes;
  bool operator==(const SampleFile&) const = default;
};

// How the imaged volume was obtained, best first.
enum class VolumeSource {
  kNone,               // no way to know it: no concentration is given
  kRunSummary,         // "_run_summary.txt: Fluid Volume Imaged"
  kSummaryCsv,         // "_summary.csv: Sample Volume Imaged ml"
  kContextManual,      // .ctx UseManualVolume / FluidVolumeImaged_ml
  kContextEfficiency,  // .ctx (SampleVolumeAspirated − CalibrationFluidVolume) × Efficiency
  kContextGeometry,    // .ctx frames × capture region × depth × VolumeCF
};
std::string_view VolumeSourceName(VolumeSource source);
std::optional<VolumeSource> ParseVolumeSource(std::string_view name);

// One FlowCam run (a "sample" to users) with its metadata. Particles are stored separately.
struct Sample {
  std::string id;           // stable and readable: the run name, made unique in the store
  std::string run_name;     // name of the list file without extension
  std::string fingerprint;  // identity of the run's particles (hash of GUIDs, or name + ids)
  std::string source_path;  // folder or zip it was read from, as given

  std::string software;          // "VisualSpreadsheet"
  std::string software_version;  // "4.19.3"
  std::string instrument_serial;
  std::string camera;
  std::optional<double> magnification;
  std::optional<double> calibration_um_per_px;  // from the list's cal_const, else the .ctx
  std::string flow_cell;
  std::optional<double> flow_cell_depth_um;
  std::optional<double> flow_rate_ml_per_min;
  std::string run_start_utc;  // .ctx RunStartTime, naive (VS writes UTC)
  std::string run_end_utc;
  std::string run_start_local;  // from the summaries (local time), when present
  std::optional<int64_t> frames_total;
  std::optional<int64_t> frames_used;

  std::optional<double> volume_imaged_ml;
  VolumeSource volume_source = VolumeSource::kNone;
  std::optional<double> volume_processed_ml;
  double dilution_factor = 1.0;  // multiply concentrations by this (1 / VS SampleDilution)

  int64_t particle_count = 0;
  std::optional<double> particles_per_ml;  // particle_count / volume × dilution_factor

  std::vector<std::string> measurement_names;  // order of Particle::measurements, units in names
  std::vector<ContextEntry> context;           // the whole .ctx
  std::vector<ContextEntry> summary;           // run summary lines, section = block name
  std::string notes;                           // _notes.txt verbatim
  std::vector<std::string> classifications;    // names of the .cla classifications
  std::vector<std::string> warnings;           // what ingest had to work around
  std::vector<SampleFile> files;               // calibration images

  SampleMetadata metadata;  // station, time, place, environment: given by users, not by VS

  std::string ingested_at;        // ISO 8601 UTC
  std::string phytoflow_version;  // version that ingested it

  bool operator==(const Sample&) const = default;
};

// Offset of the operator's local time from UTC in minutes (local − UTC), from the two run
// starts VisualSpreadsheet writes ("YYYY-MM-DDTHH:MM:SS"): the .ctx in UTC, the summaries in
// local time. Rounded to 15 minutes; nullopt unless both parse.
std::optional<int> UtcOffsetMinutes(const std::string& utc, const std::string& local);

// Concentration in particles per ml of the original sample, or nullopt without a volume.
std::optional<double> ParticlesPerMl(int64_t count,
                                     std::optional<double> volume_ml,
                                     double dilution);

}  // namespace phytoflow
