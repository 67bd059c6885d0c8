#include "phytoflow/imaging/transform.h"

#include "phytoflow/core/error.h"

#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace phytoflow {

Image Resize(const Image& image, int width, int height) {
  if (!image.IsValid()) {
    throw Error(ErrorCode::kInvalidInput,
                "cannot resize: image " + std::to_string(image.width) + "x" +
                    std::to_string(image.height) + "x" + std::to_string(image.channels) + " with " +
                    std::to_string(image.pixels.size()) + " bytes is malformed");
  }
  if (width <= 0 || height <= 0) {
    throw Error(ErrorCode::kInvalidInput,
                "cannot resize to " + std::to_string(width) + "x" + std::to_string(height) +
                    ": expected positive sides");
  }
  if (width == image.width && height == image.height) {
    return image;
  }
  const bool shrinking = width <= image.width && height <= image.height;
  const int type = image.channels == 3 ? CV_8UC3 : CV_8UC1;
  // cv::Mat over our buffer, no copy: OpenCV only reads it.
  const cv::Mat source(image.height, image.width, type, const_cast<uint8_t*>(image.pixels.data()));
  Image resized{.width = width, .height = height, .channels = image.channels, .pixels = {}};
  resized.pixels.resize(static_cast<size_t>(width) * static_cast<size_t>(height) *
                        static_cast<size_t>(image.channels));
  cv::Mat target(height, width, type, resized.pixels.data());
  try {
    cv::resize(source,
               target,
               cv::Size(width, height),
               0,
               0,
               shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  } catch (const cv::Exception& error) {
    throw Error(ErrorCode::kInternal, std::string("cannot resize: ") + error.what());
  }
  // cv::resize writes into `target` in place because size and type already match.
  if (target.data != resized.pixels.data()) {
    throw Error(ErrorCode::kInternal, "cannot resize: OpenCV reallocated the output");
  }
  return resized;
}

}  // namespace phytoflow
