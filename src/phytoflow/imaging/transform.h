#pragma once

#include "phytoflow/imaging/image.h"

namespace phytoflow {

// Resizes `image` to width × height pixels: area interpolation when shrinking (no aliasing),
// bilinear when enlarging (area degenerates to nearest neighbour there). When one side grows and
// the other shrinks, bilinear is used. Same channels as the input. Throws Error{kInvalidInput}
// when the image is malformed (see Image::IsValid) or a target side is not positive.
Image Resize(const Image& image, int width, int height);

}  // namespace phytoflow
