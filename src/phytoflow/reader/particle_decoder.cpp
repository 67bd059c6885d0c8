#include "phytoflow/reader/particle_decoder.h"

#include "phytoflow/core/error.h"
#include "phytoflow/reader/text.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <utility>

namespace phytoflow {
namespace {

// VisualSpreadsheet field → our measurement name. raw_* fields are in pixels, the others in µm
// (flowcam-formats.md §3.1); dimensionless ones keep their name.
constexpr std::array<std::pair<std::string_view, std::string_view>, 36> kMeasurementNames = {{
    {"src_x", "src_x_px"},
    {"src_y", "src_y_px"},
    {"src_image", "source_frame"},
    {"cal_image", "calibration_image"},
    {"ppc", "particles_per_chain"},
    {"cal_const", "calibration_um_per_px"},
    {"fringe_size", "fringe_size_um"},
    {"raw_sphere_volume", "sphere_volume_px3"},
    {"raw_sphere_complement", "sphere_complement_px3"},
    {"raw_sphere_unknown", "sphere_unknown_px3"},
    {"raw_area", "area_px2"},
    {"raw_feret_max", "feret_max_px"},
    {"raw_feret_min", "feret_min_px"},
    {"raw_feret_mean", "feret_mean_px"},
    {"raw_perimeter", "perimeter_px"},
    {"raw_convex_perimeter", "convex_perimeter_px"},
    {"raw_legendre_major", "legendre_major_px"},
    {"raw_legendre_minor", "legendre_minor_px"},
    {"raw_convex_hull_area", "convex_hull_area_px2"},
    {"raw_filled_area", "filled_area_px2"},
    {"abd_area", "area_abd_um2"},
    {"abd_diameter", "abd_um"},
    {"length", "length_um"},
    {"width", "width_um"},
    {"esd_diameter", "esd_um"},
    {"fd_diameter", "fd_um"},
    {"perimeter", "perimeter_um"},
    {"convex_perimeter", "convex_perimeter_um"},
    {"filled_area", "filled_area_um2"},
    {"elapsed_time", "elapsed_time_s"},
    {"feret_max_angle", "feret_max_angle_deg"},
    {"feret_min_angle", "feret_min_angle_deg"},
    {"volume_abd", "volume_abd_um3"},
    {"volume_esd", "volume_esd_um3"},
    {"capture_x", "src_x_px"},
    {"capture_y", "src_y_px"},
}};

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kInt32:
      return "an integer";
    case FieldType::kDouble:
      return "a number";
    case FieldType::kTimestamp:
      return "a timestamp";
    case FieldType::kString:
      return "a string";
    case FieldType::kGuid:
      return "a GUID";
  }
  return "a value";
}

}  // namespace

std::optional<FieldType> ParseFieldType(std::string_view name) {
  name = Trim(name);
  if (name == "int32") {
    return FieldType::kInt32;
  }
  if (name == "double") {
    return FieldType::kDouble;
  }
  if (name == "timestamp") {
    return FieldType::kTimestamp;
  }
  if (name == "string") {
    return FieldType::kString;
  }
  if (name == "guid") {
    return FieldType::kGuid;
  }
  return std::nullopt;
}

std::string MeasurementNameFor(std::string_view list_field) {
  for (const auto& [list_name, ours] : kMeasurementNames) {
    if (list_name == list_field) {
      return std::string(ours);
    }
  }
  return std::string(list_field);
}

ParticleDecoder::ParticleDecoder(std::vector<ListColumn> columns, std::string file)
    : file_(std::move(file)) {
  bool seen[6] = {};
  for (auto& source : columns) {
    Column column{.source = std::move(source)};
    const std::string& name = column.source.name;
    const FieldType type = column.source.type;
    if (name == "id") {
      column.role = Role::kId;
      seen[0] = true;
    } else if (name == "image_x") {
      column.role = Role::kImageX;
      seen[1] = true;
    } else if (name == "image_y") {
      column.role = Role::kImageY;
      seen[2] = true;
    } else if (name == "image_w") {
      column.role = Role::kImageW;
      seen[3] = true;
    } else if (name == "image_h") {
      column.role = Role::kImageH;
      seen[4] = true;
    } else if (name == "collage_file") {
      column.role = Role::kCollage;
      seen[5] = true;
    } else if (name == "image_id" || type == FieldType::kGuid) {
      column.role = Role::kGuid;
      guid_column_ = static_cast<int>(columns_.size());
    } else if (name == "timestamp" || type == FieldType::kTimestamp) {
      column.role = Role::kTimestamp;
    } else if (type == FieldType::kInt32 || type == FieldType::kDouble) {
      column.role = Role::kMeasurement;
      column.measurement_index = static_cast<int>(measurement_names_.size());
      std::string unique = MeasurementNameFor(name);
      for (int copy = 2; std::find(measurement_names_.begin(), measurement_names_.end(), unique) !=
                         measurement_names_.end();
           ++copy) {
        unique = MeasurementNameFor(name) + "_" + std::to_string(copy);  // a repeated column
      }
      measurement_names_.push_back(std::move(unique));
      const std::string& ours = measurement_names_.back();
      if (ours == "esd_um") {
        esd_index_ = column.measurement_index;
      } else if (ours == "abd_um") {
        abd_index_ = column.measurement_index;
      } else if (ours == "area_abd_um2") {
        abd_area_index_ = column.measurement_index;
      } else if (ours == "particles_per_chain") {
        ppc_index_ = column.measurement_index;
      }
    }
    columns_.push_back(std::move(column));
  }
  constexpr std::array<std::string_view, 6> kRequired = {
      "id", "image_x", "image_y", "image_w", "image_h", "collage_file"};
  for (size_t i = 0; i < kRequired.size(); ++i) {
    if (!seen[i]) {
      throw Error(ErrorCode::kInvalidInput,
                  file_ + ": the particle list has no '" + std::string(kRequired[i]) +
                      "' field; phytoflow needs it to find the particle's image");
    }
  }
}

void ParticleDecoder::Fail(int64_t line,
                           const std::string& field,
                           const std::string& message) const {
  throw Error(ErrorCode::kInvalidInput,
              file_ + ":" + std::to_string(line) + ": field '" + field + "': " + message);
}

void ParticleDecoder::Decode(std::span<const std::string_view> values,
                             int64_t line,
                             Particle& particle) const {
  if (values.size() != columns_.size()) {
    throw Error(ErrorCode::kInvalidInput,
                file_ + ":" + std::to_string(line) + ": expected " +
                    std::to_string(columns_.size()) + " values, found " +
                    std::to_string(values.size()) +
                    (values.size() < columns_.size() ? " (truncated row?)" : ""));
  }
  particle.measurements.assign(measurement_names_.size(), kMissing);
  particle.guid.clear();
  particle.timestamp.clear();
  for (size_t i = 0; i < columns_.size(); ++i) {
    const Column& column = columns_[i];
    const std::string_view text = values[i];
    switch (column.role) {
      case Role::kCollage:
        particle.collage_file = std::string(Trim(text));
        if (particle.collage_file.empty()) {
          Fail(line, column.source.name, "expected a collage file name, found nothing");
        }
        continue;
      case Role::kGuid:
        particle.guid = std::string(Trim(text));
        continue;
      case Role::kTimestamp:
        particle.timestamp = std::string(Trim(text));
        continue;
      case Role::kIgnored:
        continue;
      default:
        break;
    }
    if (column.source.type == FieldType::kInt32 || column.role != Role::kMeasurement) {
      const auto value = ParseInt(text);
      if (!value) {
        // VS writes some integer columns of the CSV with decimals; accept an integral double.
        const auto as_double = ParseDouble(text);
        if (!as_double || std::trunc(*as_double) != *as_double || std::abs(*as_double) > 9.0e15) {
          Fail(line,
               column.source.name,
               std::string("expected ") + std::string(FieldTypeName(FieldType::kInt32)) +
                   ", found '" + std::string(text) + "'");
        }
      }
    }
    const auto number = ParseDouble(text);
    if (!number) {
      Fail(line,
           column.source.name,
           std::string("expected ") + std::string(FieldTypeName(column.source.type)) + ", found '" +
               std::string(text) + "'");
    }
    const double value = *number + column.source.offset;
    // Box fields must fit an int; anything else is a corrupt row.
    const auto as_int = [&]() {
      if (!(std::abs(value) < 1.0e9)) {
        Fail(line, column.source.name, "value " + std::string(text) + " is out of range");
      }
      return static_cast<int>(value);
    };
    switch (column.role) {
      case Role::kId:
        if (!(std::abs(value) < 9.0e15)) {
          Fail(line, column.source.name, "value " + std::string(text) + " is out of range");
        }
        particle.number = static_cast<int64_t>(value);
        break;
      case Role::kImageX:
        particle.box.x = as_int();
        break;
      case Role::kImageY:
        particle.box.y = as_int();
        break;
      case Role::kImageW:
        particle.box.width = as_int();
        break;
      case Role::kImageH:
        particle.box.height = as_int();
        break;
      case Role::kMeasurement:
        particle.measurements[static_cast<size_t>(column.measurement_index)] = value;
        break;
      default:
        break;
    }
  }
  const auto measurement = [&](int index) {
    return index < 0 ? kMissing : particle.measurements[static_cast<size_t>(index)];
  };
  particle.esd_um = measurement(esd_index_);
  particle.abd_um = measurement(abd_index_);
  if (std::isnan(particle.abd_um) && abd_area_index_ >= 0) {
    // ABD = 2·sqrt(area/π) (flowcam-formats.md §3.1, verified on real lists).
    particle.abd_um = 2.0 * std::sqrt(measurement(abd_area_index_) / std::numbers::pi);
  }
  particle.biovolume_esd_um3 = SphereVolumeUm3(particle.esd_um);
  particle.biovolume_abd_um3 = SphereVolumeUm3(particle.abd_um);
  const double ppc = measurement(ppc_index_);
  particle.particles_per_chain = std::isnan(ppc) || ppc < 1 ? 1 : static_cast<int64_t>(ppc);
}

}  // namespace phytoflow
