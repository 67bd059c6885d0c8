#include "phytoflow/classify/context.h"

#include "phytoflow/core/error.h"

#include <cmath>
#include <numbers>
#include <string>

namespace phytoflow {
namespace {

// Standard deviations below this are raised to it, so a constant feature does not blow up.
constexpr double kMinScale = 1e-3;
// Days per year for the seasonal angle; leap years differ by less than a day.
constexpr double kDaysPerYear = 365.25;

// How a raw value becomes a network input before standardisation.
enum class Transform { kIdentity, kLog1p, kDaySin, kDayCos };

struct FeatureSpec {
  const char* name;
  std::optional<double> ParticleContext::* field;
  Transform transform;
};

// Every feature, in input order; kSize uses the first kSizeFeatureCount.
constexpr FeatureSpec kFeatures[] = {
    {"vignette_width", &ParticleContext::vignette_width, Transform::kLog1p},
    {"vignette_height", &ParticleContext::vignette_height, Transform::kLog1p},
    {"esd_um", &ParticleContext::esd_um, Transform::kLog1p},
    {"abd_um", &ParticleContext::abd_um, Transform::kLog1p},
    {"area_abd_um2", &ParticleContext::area_abd_um2, Transform::kLog1p},
    {"length_um", &ParticleContext::length_um, Transform::kLog1p},
    {"width_um", &ParticleContext::width_um, Transform::kLog1p},
    {"aspect_ratio", &ParticleContext::aspect_ratio, Transform::kIdentity},
    {"elongation", &ParticleContext::elongation, Transform::kIdentity},
    {"circularity", &ParticleContext::circularity, Transform::kIdentity},
    {"intensity", &ParticleContext::intensity, Transform::kIdentity},
    {"sigma_intensity", &ParticleContext::sigma_intensity, Transform::kIdentity},
    {"day_of_year_sin", &ParticleContext::day_of_year, Transform::kDaySin},
    {"day_of_year_cos", &ParticleContext::day_of_year, Transform::kDayCos},
    {"latitude", &ParticleContext::latitude, Transform::kIdentity},
    {"longitude", &ParticleContext::longitude, Transform::kIdentity},
    {"depth_m", &ParticleContext::depth_m, Transform::kIdentity},
    {"temperature_c", &ParticleContext::temperature_c, Transform::kIdentity},
    {"salinity", &ParticleContext::salinity, Transform::kIdentity},
};
constexpr size_t kSizeFeatureCount = 7;

const FeatureSpec& FindFeature(const std::string& name) {
  for (const FeatureSpec& spec : kFeatures) {
    if (name == spec.name) {
      return spec;
    }
  }
  throw Error(ErrorCode::kInvalidInput, "unknown context feature '" + name + "'");
}

// The transformed value, or nullopt when the raw value is missing or not finite.
std::optional<double> Transformed(const ParticleContext& context, const FeatureSpec& spec) {
  const std::optional<double>& raw = context.*spec.field;
  if (!raw || !std::isfinite(*raw)) {
    return std::nullopt;
  }
  switch (spec.transform) {
    case Transform::kIdentity:
      return *raw;
    case Transform::kLog1p:
      // Sizes are non-negative; a negative one is a data error that must not become NaN.
      return std::log1p(std::max(*raw, 0.0));
    case Transform::kDaySin:
      return std::sin(2.0 * std::numbers::pi * *raw / kDaysPerYear);
    case Transform::kDayCos:
      return std::cos(2.0 * std::numbers::pi * *raw / kDaysPerYear);
  }
  return std::nullopt;
}

}  // namespace

std::string_view ContextModeName(ContextMode mode) {
  switch (mode) {
    case ContextMode::kNone:
      return "none";
    case ContextMode::kSize:
      return "size";
    case ContextMode::kAll:
      return "all";
  }
  return "none";
}

ContextMode ParseContextMode(std::string_view name) {
  for (ContextMode mode : {ContextMode::kNone, ContextMode::kSize, ContextMode::kAll}) {
    if (name == ContextModeName(mode)) {
      return mode;
    }
  }
  throw Error(ErrorCode::kInvalidInput,
              "unknown context mode '" + std::string(name) + "': expected none, size or all");
}

std::vector<std::string> ContextFeatures(ContextMode mode) {
  size_t count = 0;
  switch (mode) {
    case ContextMode::kNone:
      count = 0;
      break;
    case ContextMode::kSize:
      count = kSizeFeatureCount;
      break;
    case ContextMode::kAll:
      count = std::size(kFeatures);
      break;
  }
  std::vector<std::string> names;
  for (size_t feature_idx = 0; feature_idx < count; ++feature_idx) {
    names.emplace_back(kFeatures[feature_idx].name);
  }
  return names;
}

ContextSchema FitContextSchema(ContextMode mode,
                               std::string_view size_unit,
                               std::span<const ParticleContext> training) {
  if (size_unit != "um" && size_unit != "px") {
    throw Error(ErrorCode::kInvalidInput,
                "unknown size unit '" + std::string(size_unit) + "': expected um or px");
  }
  ContextSchema schema{.mode = mode,
                       .size_unit = std::string(size_unit),
                       .features = ContextFeatures(mode),
                       .mean = {},
                       .scale = {}};
  for (const std::string& name : schema.features) {
    const FeatureSpec& spec = FindFeature(name);
    // Two passes in double: training sets are small next to the network's cost.
    double sum = 0.0;
    int64_t count = 0;
    for (const ParticleContext& context : training) {
      if (const std::optional<double> value = Transformed(context, spec)) {
        sum += *value;
        ++count;
      }
    }
    if (count == 0) {
      // Never seen in training: the flag is always 0 there, so keep present values unscaled.
      schema.mean.push_back(0.0f);
      schema.scale.push_back(1.0f);
      continue;
    }
    const double mean = sum / static_cast<double>(count);
    double squares = 0.0;
    for (const ParticleContext& context : training) {
      if (const std::optional<double> value = Transformed(context, spec)) {
        squares += (*value - mean) * (*value - mean);
      }
    }
    const double deviation = std::sqrt(squares / static_cast<double>(count));
    schema.mean.push_back(static_cast<float>(mean));
    schema.scale.push_back(static_cast<float>(std::max(deviation, kMinScale)));
  }
  return schema;
}

std::vector<float> EncodeContext(const ParticleContext& context, const ContextSchema& schema) {
  const size_t count = schema.features.size();
  if (schema.mean.size() != count || schema.scale.size() != count) {
    throw Error(ErrorCode::kInvalidInput,
                "context schema has " + std::to_string(count) + " features but " +
                    std::to_string(schema.mean.size()) + " means and " +
                    std::to_string(schema.scale.size()) + " scales");
  }
  std::vector<float> input(schema.InputSize(), 0.0f);
  for (size_t feature_idx = 0; feature_idx < count; ++feature_idx) {
    const std::optional<double> value =
        Transformed(context, FindFeature(schema.features[feature_idx]));
    if (!value) {
      continue;
    }
    const double scale = std::max(static_cast<double>(schema.scale[feature_idx]), kMinScale);
    input[feature_idx] =
        static_cast<float>((*value - static_cast<double>(schema.mean[feature_idx])) / scale);
    input[count + feature_idx] = 1.0f;
  }
  return input;
}

}  // namespace phytoflow
