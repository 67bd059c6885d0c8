#pragma once

// Turns one row of a FlowCam particle table (.lst, .flb or the VS 4.x .csv) into a Particle.
// Both list formats describe their columns with the .lst field names, so the mapping from
// VisualSpreadsheet names to our measurement names (units in the name) lives here once.

#include "phytoflow/core/particle.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace phytoflow {

enum class FieldType { kInt32, kDouble, kTimestamp, kString, kGuid };

// One column of a particle table, named as in a .lst header.
struct ListColumn {
  std::string name;  // .lst field name, e.g. "esd_diameter"
  FieldType type = FieldType::kDouble;
  double offset = 0.0;  // added to the value (the CSV's 1-based Camera → 0-based)
};

// Parses a .lst type name ("int32", "double", ...). nullopt for unknown names.
std::optional<FieldType> ParseFieldType(std::string_view name);

// Our name for a numeric list field, with its unit: "esd_diameter" → "esd_um",
// "raw_area" → "area_px2". Unknown fields keep their list name.
std::string MeasurementNameFor(std::string_view list_field);

class ParticleDecoder {
 public:
  // Throws Error{kInvalidInput} naming `file` if a field the reader needs (id, image_x,
  // image_y, image_w, image_h, collage_file) is missing.
  ParticleDecoder(std::vector<ListColumn> columns, std::string file);

  size_t ColumnCount() const { return columns_.size(); }
  // Names of Particle::measurements, in column order.
  const std::vector<std::string>& MeasurementNames() const { return measurement_names_; }
  bool HasGuid() const { return guid_column_ >= 0; }

  // Fills `particle` (images and outlines untouched) from one row. Throws Error{kInvalidInput}
  // naming the file, line and field when a value does not parse or the count is wrong.
  void Decode(std::span<const std::string_view> values, int64_t line, Particle& particle) const;

 private:
  enum class Role {
    kId,
    kImageX,
    kImageY,
    kImageW,
    kImageH,
    kCollage,
    kGuid,
    kTimestamp,
    kMeasurement,
    kIgnored
  };
  struct Column {
    ListColumn source;
    Role role = Role::kIgnored;
    int measurement_index = -1;
  };

  [[noreturn]] void Fail(int64_t line, const std::string& field, const std::string& message) const;

  std::vector<Column> columns_;
  std::vector<std::string> measurement_names_;
  std::string file_;
  int guid_column_ = -1;
  int esd_index_ = -1;
  int abd_index_ = -1;
  int abd_area_index_ = -1;
  int ppc_index_ = -1;
};

}  // namespace phytoflow
