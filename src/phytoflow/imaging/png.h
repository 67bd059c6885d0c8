#pragma once

#include "phytoflow/imaging/image.h"

#include <cstdint>
#include <span>
#include <vector>

namespace phytoflow {

// Encodes a gray or RGB image as PNG (fast compression; vignettes are small).
std::vector<uint8_t> EncodePng(const Image& image);

// Decodes PNG bytes to gray or RGB. Throws Error{kInvalidInput} if they are not a PNG.
Image DecodePng(std::span<const uint8_t> bytes);

}  // namespace phytoflow
