#include "phytoflow/classify/preprocess.h"

#include "phytoflow/core/error.h"
#include "phytoflow/imaging/transform.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace phytoflow {
namespace {

// Divides (pixel − background): an object 64 grey levels off the background gives ±1, the
// range a network's first layer expects, without stretching faint particles per image.
constexpr float kIntensityScale = 64.0f;
// Refuses sizes that would allocate absurd inputs from a corrupt model file.
constexpr int kMaxImageSize = 4096;

void CheckImage(const Image& image, const char* what) {
  if (!image.IsValid()) {
    throw Error(ErrorCode::kInvalidInput,
                std::string(what) + ": image " + std::to_string(image.width) + "x" +
                    std::to_string(image.height) + "x" + std::to_string(image.channels) + " with " +
                    std::to_string(image.pixels.size()) + " bytes is malformed");
  }
}

float Median(std::vector<uint8_t>& values) {
  const size_t middle = values.size() / 2;
  std::nth_element(
      values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle), values.end());
  const float upper = values[middle];
  if (values.size() % 2 == 1) {
    return upper;
  }
  const float lower =
      *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle));
  return (lower + upper) / 2.0f;
}

}  // namespace

std::vector<float> BorderColour(const Image& image) {
  CheckImage(image, "cannot find the border colour");
  const size_t width = static_cast<size_t>(image.width);
  const size_t height = static_cast<size_t>(image.height);
  const size_t channels = static_cast<size_t>(image.channels);
  std::vector<float> colour;
  std::vector<uint8_t> ring;
  for (size_t channel = 0; channel < channels; ++channel) {
    ring.clear();
    auto add = [&](size_t row, size_t col) {
      ring.push_back(image.pixels[(row * width + col) * channels + channel]);
    };
    for (size_t row = 0; row < height; ++row) {
      if (row == 0 || row + 1 == height) {
        for (size_t col = 0; col < width; ++col) {
          add(row, col);
        }
      } else {
        add(row, 0);
        if (width > 1) {
          add(row, width - 1);
        }
      }
    }
    colour.push_back(Median(ring));
  }
  return colour;
}

std::vector<float> PreprocessImage(const Image& image, const PreprocessOptions& options) {
  CheckImage(image, "cannot preprocess");
  if (options.image_size <= 0 || options.image_size > kMaxImageSize) {
    throw Error(ErrorCode::kInvalidInput,
                "preprocess image_size must be in 1.." + std::to_string(kMaxImageSize) +
                    ", found " + std::to_string(options.image_size));
  }
  if (options.channels != 1 && options.channels != 3) {
    throw Error(ErrorCode::kInvalidInput,
                "preprocess channels must be 1 or 3, found " + std::to_string(options.channels));
  }
  const std::vector<float> background = BorderColour(image);

  // Longer side to image_size, the other in proportion (at least one pixel).
  const int size = options.image_size;
  const double longer = std::max(image.width, image.height);
  const int width = std::max(1, static_cast<int>(std::lround(image.width * size / longer)));
  const int height = std::max(1, static_cast<int>(std::lround(image.height * size / longer)));
  const Image resized = Resize(image, width, height);
  const int offset_x = (size - width) / 2;
  const int offset_y = (size - height) / 2;

  const size_t plane = static_cast<size_t>(size) * static_cast<size_t>(size);
  const size_t out_channels = static_cast<size_t>(options.channels);
  const size_t in_channels = static_cast<size_t>(image.channels);
  // Padding is the background, which normalises to exactly 0.
  std::vector<float> input(out_channels * plane, 0.0f);
  float gray_background = 0.0f;
  for (float value : background) {
    gray_background += value;
  }
  gray_background /= static_cast<float>(background.size());

  for (int row = 0; row < height; ++row) {
    for (int col = 0; col < width; ++col) {
      const size_t source =
          (static_cast<size_t>(row) * static_cast<size_t>(width) + static_cast<size_t>(col)) *
          in_channels;
      const size_t target = static_cast<size_t>(row + offset_y) * static_cast<size_t>(size) +
                            static_cast<size_t>(col + offset_x);
      if (out_channels == 1 && in_channels == 3) {
        const float gray = (static_cast<float>(resized.pixels[source]) +
                            static_cast<float>(resized.pixels[source + 1]) +
                            static_cast<float>(resized.pixels[source + 2])) /
                           3.0f;
        input[target] = (gray - gray_background) / kIntensityScale;
        continue;
      }
      for (size_t channel = 0; channel < out_channels; ++channel) {
        // A gray source feeds every output channel from its one channel.
        const size_t in_channel = in_channels == 1 ? 0 : channel;
        input[channel * plane + target] =
            (static_cast<float>(resized.pixels[source + in_channel]) - background[in_channel]) /
            kIntensityScale;
      }
    }
  }
  return input;
}

}  // namespace phytoflow
