#pragma once

// The context a classifier sees beside the image: particle morphometrics from the FlowCam list,
// the vignette's size, and the sample's time, place and environment. Every value is optional;
// the encoding gives the network each value and a flag saying whether it was there.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace phytoflow {

struct ParticleContext {
  // Vignette size. In µm when the pixel size is known, else in pixels (see ContextSchema).
  std::optional<double> vignette_width;
  std::optional<double> vignette_height;
  // Morphometrics of the FlowCam list.
  std::optional<double> esd_um;
  std::optional<double> abd_um;
  std::optional<double> area_abd_um2;
  std::optional<double> length_um;
  std::optional<double> width_um;
  std::optional<double> aspect_ratio;  // width / length, 0..1
  std::optional<double> elongation;
  std::optional<double> circularity;
  std::optional<double> intensity;
  std::optional<double> sigma_intensity;
  // Sample context.
  std::optional<double> day_of_year;  // 1..366
  std::optional<double> latitude;
  std::optional<double> longitude;
  std::optional<double> depth_m;
  std::optional<double> temperature_c;
  std::optional<double> salinity;
};

enum class ContextMode {
  kNone,  // image only
  kSize,  // vignette size and particle size (ESD, ABD, area, length, width)
  kAll,   // size, shape, intensity, and sample time, place and environment
};
std::string_view ContextModeName(ContextMode mode);
// Parses "none", "size" or "all"; throws Error{kInvalidInput} otherwise.
ContextMode ParseContextMode(std::string_view name);

// How raw context values become network inputs. Fitted on the training set, stored in the
// model file, applied unchanged at inference.
struct ContextSchema {
  ContextMode mode = ContextMode::kNone;
  std::string size_unit = "um";       // unit of vignette_width/height: "um" or "px"
  std::vector<std::string> features;  // names, in input order
  std::vector<float> mean;            // of the transformed value, per feature
  std::vector<float> scale;           // standard deviation (≥ a small floor), per feature

  // Number of network inputs: one value and one presence flag per feature.
  size_t InputSize() const { return features.size() * 2; }
  bool operator==(const ContextSchema&) const = default;
};

// The features a mode uses, in input order.
std::vector<std::string> ContextFeatures(ContextMode mode);

// Fits means and scales on the training contexts. Sizes and areas are log-transformed, day of
// year becomes sin/cos (two features), the rest are used as they are. A feature never present in
// `training` gets mean 0 and scale 1. Throws Error{kInvalidInput} for a size_unit other than
// "um" or "px".
ContextSchema FitContextSchema(ContextMode mode,
                               std::string_view size_unit,
                               std::span<const ParticleContext> training);

// The network input for one particle: for each feature its standardised value (0 when missing)
// followed by all presence flags (1 present, 0 missing). Size schema.InputSize(). Non-finite
// values count as missing. Throws Error{kInvalidInput} for unknown feature names or a schema whose
// mean/scale sizes differ from its features.
std::vector<float> EncodeContext(const ParticleContext& context, const ContextSchema& schema);

}  // namespace phytoflow
