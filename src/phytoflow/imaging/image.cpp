#include "phytoflow/imaging/image.h"

#include "phytoflow/core/error.h"

#include <algorithm>
#include <string>

namespace phytoflow {

bool Image::Contains(const PixelBox& box) const {
  // 64-bit sums: box fields come from list files and may be near INT_MAX.
  return box.width > 0 && box.height > 0 && box.x >= 0 && box.y >= 0 &&
         int64_t{box.x} + box.width <= width && int64_t{box.y} + box.height <= height;
}

bool Image::IsValid() const {
  if (width <= 0 || height <= 0 || (channels != 1 && channels != 3)) {
    return false;
  }
  return pixels.size() ==
         static_cast<size_t>(width) * static_cast<size_t>(height) * static_cast<size_t>(channels);
}

Image Crop(const Image& image, const PixelBox& box) {
  if (!image.IsValid()) {
    throw Error(ErrorCode::kInvalidInput,
                "cannot crop: image " + std::to_string(image.width) + "x" +
                    std::to_string(image.height) + "x" + std::to_string(image.channels) + " with " +
                    std::to_string(image.pixels.size()) + " bytes is malformed");
  }
  // Checked even though the header makes it the caller's job: a bad box from a list file
  // must not read out of bounds in release builds.
  if (!image.Contains(box)) {
    throw Error(ErrorCode::kInvalidInput,
                "cannot crop box (x=" + std::to_string(box.x) + ", y=" + std::to_string(box.y) +
                    ", " + std::to_string(box.width) + "x" + std::to_string(box.height) +
                    ") from a " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                    " image: box is empty or outside");
  }
  const size_t channels = static_cast<size_t>(image.channels);
  const size_t src_stride = static_cast<size_t>(image.width) * channels;
  const size_t row_bytes = static_cast<size_t>(box.width) * channels;
  Image crop{.width = box.width, .height = box.height, .channels = image.channels, .pixels = {}};
  crop.pixels.resize(row_bytes * static_cast<size_t>(box.height));
  for (size_t row_idx = 0; row_idx < static_cast<size_t>(box.height); ++row_idx) {
    const size_t src_offset =
        (static_cast<size_t>(box.y) + row_idx) * src_stride + static_cast<size_t>(box.x) * channels;
    std::copy_n(image.pixels.begin() + static_cast<std::ptrdiff_t>(src_offset),
                row_bytes,
                crop.pixels.begin() + static_cast<std::ptrdiff_t>(row_idx * row_bytes));
  }
  return crop;
}

}  // namespace phytoflow
