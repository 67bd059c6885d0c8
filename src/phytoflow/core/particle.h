#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace phytoflow {

// Value of a measurement that the list does not give.
inline constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

// A vignette's rectangle in its collage page, in pixels, 0-based top-left.
struct PixelBox {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
  bool operator==(const PixelBox&) const = default;
};

// One outline of a blob as a Freeman chain code (.edg), start point in raw-frame pixels.
struct ChainCode {
  int start_x = 0;
  int start_y = 0;
  std::string directions;  // digits 1..8, see docs/formats/flowcam-export.md
  bool operator==(const ChainCode&) const = default;
};

// One imaged particle of a run with everything the export says about it.
struct Particle {
  int64_t number = 0;        // the list's 1-based `id`
  std::string guid;          // `image_id`; empty for lists without one (VS 3.x)
  std::string collage_file;  // collage page name, no directory
  PixelBox box;              // vignette in the collage page
  int64_t particles_per_chain = 1;
  std::string timestamp;  // naive ISO 8601 as written by VisualSpreadsheet

  // Sizes every later step needs; NaN when the list lacks them.
  double esd_um = kMissing;
  double abd_um = kMissing;
  double biovolume_esd_um3 = kMissing;  // sphere of diameter ESD
  double biovolume_abd_um3 = kMissing;  // sphere of diameter ABD

  // Every numeric field of the list, aligned with Sample::measurement_names.
  std::vector<double> measurements;

  std::vector<ChainCode> outlines;  // from the .edg, one per blob; may be empty
  std::vector<uint8_t> image_png;   // vignette cut from the collage; empty when unavailable
  std::vector<uint8_t> mask_png;    // same crop of the _bin mask; empty when unavailable

  // Equal when every field is; two missing (NaN) values count as equal.
  bool operator==(const Particle& other) const;
};

// Volume of a sphere of diameter `diameter_um`, in µm³ (π/6·d³). NaN in, NaN out.
double SphereVolumeUm3(double diameter_um);

}  // namespace phytoflow
