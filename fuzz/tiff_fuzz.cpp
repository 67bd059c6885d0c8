// libFuzzer target for the TIFF decoder: arbitrary bytes must either decode to a well-formed
// image or throw phytoflow::Error. A decoded page is also cropped and PNG round-tripped, the
// path a collage tile takes on import.
#include "phytoflow/core/error.h"
#include "phytoflow/imaging/image.h"
#include "phytoflow/imaging/png.h"
#include "phytoflow/imaging/tiff.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

namespace {

// Larger inputs only slow the fuzzer down; TIFF structure bugs show up in small files.
constexpr size_t kMaxInputBytes = size_t{1} << 20;
constexpr int kCropSidePx = 16;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, std::min(size, kMaxInputBytes));
  try {
    const phytoflow::Image image = phytoflow::DecodeTiff(bytes, "fuzz.tif");
    if (!image.IsValid()) {
      std::abort();  // a decoded image must always be well formed
    }
    const phytoflow::PixelBox box{.x = image.width / 3,
                                  .y = image.height / 3,
                                  .width = std::min(kCropSidePx, image.width - image.width / 3),
                                  .height = std::min(kCropSidePx, image.height - image.height / 3)};
    const phytoflow::Image crop = phytoflow::Crop(image, box);
    const std::vector<uint8_t> png = phytoflow::EncodePng(crop);
    if (phytoflow::DecodePng(png) != crop) {
      std::abort();  // PNG must be lossless
    }
  } catch (const phytoflow::Error&) {
    // Expected for malformed input.
  }
  return 0;
}
