#include "phytoflow/reader/volume.h"

namespace phytoflow {
namespace {

constexpr double kCubicMicrometresPerMl = 1.0e12;

bool Positive(std::optional<double> value) {
  return value && *value > 0.0;
}

}  // namespace

VolumeEstimate EstimateVolumeImaged(const KeyValueFile& context,
                                    const KeyValueFile& run_summary,
                                    const KeyValueFile& summary_csv,
                                    std::optional<double> calibration_um_per_px) {
  VolumeEstimate estimate;
  estimate.processed_ml = run_summary.FindNumber("Run", "Sample Volume Processed");
  if (!estimate.processed_ml) {
    estimate.processed_ml = summary_csv.FindNumber("", "Sample Volume Processed ml");
  }
  const auto aspirated = context.FindNumber("CaptureStats", "SampleVolumeAspirated");
  const auto calibration_fluid = context.FindNumber("CaptureStats", "CalibrationFluidVolume");
  if (!estimate.processed_ml && Positive(aspirated)) {
    estimate.processed_ml = *aspirated - calibration_fluid.value_or(0.0);
  }

  if (const auto value = run_summary.FindNumber("Run", "Fluid Volume Imaged"); Positive(value)) {
    estimate.imaged_ml = value;
    estimate.source = VolumeSource::kRunSummary;
    return estimate;
  }
  if (const auto value = summary_csv.FindNumber("", "Sample Volume Imaged ml"); Positive(value)) {
    estimate.imaged_ml = value;
    estimate.source = VolumeSource::kSummaryCsv;
    return estimate;
  }
  const auto use_manual = context.FindNumber("Fluid", "UseManualVolume");
  const auto manual = context.FindNumber("Fluid", "FluidVolumeImaged_ml");
  if (use_manual && *use_manual == 1.0 && Positive(manual)) {
    estimate.imaged_ml = manual;
    estimate.source = VolumeSource::kContextManual;
    return estimate;
  }
  const auto efficiency_percent = context.FindNumber("CaptureStats", "Efficiency");
  if (Positive(aspirated) && Positive(efficiency_percent)) {
    const double processed = *aspirated - calibration_fluid.value_or(0.0);
    if (processed > 0.0) {
      estimate.imaged_ml = processed * *efficiency_percent / 100.0;
      estimate.source = VolumeSource::kContextEfficiency;
      return estimate;
    }
  }
  const auto frames = context.FindNumber("CaptureStats", "RawImageTotal");
  const auto left = context.FindNumber("CaptureRegion", "AcceptableLeft");
  const auto right = context.FindNumber("CaptureRegion", "AcceptableRight");
  const auto top = context.FindNumber("CaptureRegion", "AcceptableTop");
  const auto bottom = context.FindNumber("CaptureRegion", "AcceptableBottom");
  const auto depth_um = context.FindNumber("Fluid", "FlowCellDepth");
  const auto volume_cf = context.FindNumber("CaptureStats", "VolumeCF");
  auto calibration = calibration_um_per_px;
  if (!Positive(calibration)) {
    calibration = context.FindNumber("Fluid", "CalibrationConstant");
  }
  if (Positive(frames) && left && right && top && bottom && Positive(depth_um) &&
      Positive(calibration) && *right > *left && *bottom > *top) {
    const double area_um2 = (*right - *left) * (*bottom - *top) * *calibration * *calibration;
    const double volume_um3 =
        *frames * area_um2 * *depth_um * (Positive(volume_cf) ? *volume_cf : 1.0);
    estimate.imaged_ml = volume_um3 / kCubicMicrometresPerMl;
    estimate.source = VolumeSource::kContextGeometry;
  }
  return estimate;
}

double DilutionFactor(const KeyValueFile& context) {
  const auto use = context.FindNumber("Fluid", "UseDilutionCalculation");
  const auto fraction = context.FindNumber("Fluid", "SampleDilution");
  if (!use || *use != 1.0 || !fraction || *fraction <= 0.0 || *fraction > 1.0) {
    return 1.0;
  }
  return 1.0 / *fraction;
}

}  // namespace phytoflow
