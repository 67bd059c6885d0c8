#pragma once

// Turns a vignette into the network's input tensor data without any LibTorch: aspect-preserving
// resize (never squashed), padding to a square with the image's own background colour, and
// normalisation relative to that background so that instruments with different white balance
// (FlowCam vignettes are bluish) look alike.

#include "phytoflow/imaging/image.h"

#include <string>
#include <vector>

namespace phytoflow {

struct PreprocessOptions {
  int image_size = 64;  // side of the square input, pixels
  int channels = 3;     // 3 = RGB, 1 = gray (averaged)
  bool operator==(const PreprocessOptions&) const = default;
};

// Median colour of the outermost ring of pixels, per channel: the vignette's background.
std::vector<float> BorderColour(const Image& image);

// Resizes so the longer side is options.image_size (area interpolation when shrinking, linear
// when enlarging), centres it on a square filled with BorderColour(image), then returns
// channels × size × size floats (CHW) as (pixel − background) / 64. Gray images are repeated
// into 3 channels when options.channels is 3; RGB is averaged when it is 1.
std::vector<float> PreprocessImage(const Image& image, const PreprocessOptions& options);

}  // namespace phytoflow
