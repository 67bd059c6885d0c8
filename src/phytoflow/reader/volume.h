#pragma once

// The fluid volume imaged of a run (the denominator of every concentration) and its dilution,
// from the summaries when VisualSpreadsheet wrote them, else derived from the .ctx as
// flowcam-formats.md §3.4 describes.

#include "phytoflow/core/sample.h"
#include "phytoflow/reader/context_reader.h"

#include <optional>

namespace phytoflow {

struct VolumeEstimate {
  std::optional<double> imaged_ml;
  VolumeSource source = VolumeSource::kNone;
  std::optional<double> processed_ml;
};

// Picks the best available volume: run summary, summary CSV, manual volume in the .ctx,
// (aspirated − calibration fluid) × efficiency, then the geometric estimate frames × capture
// region × depth × VolumeCF. `calibration_um_per_px` is the list's cal_const when known (the
// .ctx value can be a placeholder 1.0).
VolumeEstimate EstimateVolumeImaged(const KeyValueFile& context,
                                    const KeyValueFile& run_summary,
                                    const KeyValueFile& summary_csv,
                                    std::optional<double> calibration_um_per_px);

// Factor that turns particles per ml of the fluid run into particles per ml of the original
// sample. VisualSpreadsheet's [Fluid] SampleDilution is the fraction of sample in the fluid
// (0.3333 = one part sample in three), applied when UseDilutionCalculation=1; the factor is
// its inverse. 1 when the run does not ask for it or the value is unusable.
double DilutionFactor(const KeyValueFile& context);

}  // namespace phytoflow
