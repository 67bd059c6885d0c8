#include "phytoflow/core/sample.h"

#include <array>
#include <utility>

namespace phytoflow {
namespace {

constexpr std::array<std::pair<VolumeSource, std::string_view>, 6> kVolumeSourceNames = {{
    {VolumeSource::kNone, "none"},
    {VolumeSource::kRunSummary, "run_summary"},
    {VolumeSource::kSummaryCsv, "summary_csv"},
    {VolumeSource::kContextManual, "ctx_manual"},
    {VolumeSource::kContextEfficiency, "ctx_efficiency"},
    {VolumeSource::kContextGeometry, "ctx_geometry"},
}};

}  // namespace

std::string_view VolumeSourceName(VolumeSource source) {
  for (const auto& [value, name] : kVolumeSourceNames) {
    if (value == source) {
      return name;
    }
  }
  return "none";
}

std::optional<VolumeSource> ParseVolumeSource(std::string_view name) {
  for (const auto& [value, known] : kVolumeSourceNames) {
    if (known == name) {
      return value;
    }
  }
  return std::nullopt;
}

std::optional<double> ParticlesPerMl(int64_t count,
                                     std::optional<double> volume_ml,
                                     double dilution) {
  if (!volume_ml || *volume_ml <= 0.0) {
    return std::nullopt;
  }
  return static_cast<double>(count) / *volume_ml * dilution;
}

}  // namespace phytoflow
