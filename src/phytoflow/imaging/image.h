#pragma once

#include "phytoflow/core/particle.h"

#include <cstdint>
#include <vector>

namespace phytoflow {

// An 8-bit image that owns its pixels: row-major, channels interleaved (1 = gray, 3 = RGB),
// no row padding.
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;  // width * height * channels bytes

  bool Empty() const { return pixels.empty(); }
  // True when `box` is non-empty and lies entirely inside the image.
  bool Contains(const PixelBox& box) const;
  // True when the sizes are positive, channels is 1 or 3 and `pixels` holds exactly
  // width * height * channels bytes. Encoders and Crop() refuse images that are not.
  bool IsValid() const;
  bool operator==(const Image&) const = default;
};

// Copies the pixels inside `box`. The box must lie inside the image (check with Contains()).
Image Crop(const Image& image, const PixelBox& box);

}  // namespace phytoflow
