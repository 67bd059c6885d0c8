#include "phytoflow/imaging/decode.h"

#include "phytoflow/core/error.h"
#include "phytoflow/imaging/file_bytes.h"
#include "phytoflow/imaging/png.h"
#include "phytoflow/imaging/tiff.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <system_error>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace phytoflow {
namespace {

enum class Format { kPng, kJpeg, kBmp, kTiff, kUnknown };

Format Sniff(std::span<const uint8_t> bytes) {
  auto starts_with = [&](std::initializer_list<uint8_t> prefix) {
    if (bytes.size() < prefix.size()) {
      return false;
    }
    size_t index = 0;
    for (uint8_t value : prefix) {
      if (bytes[index++] != value) {
        return false;
      }
    }
    return true;
  };
  if (starts_with({0x89, 'P', 'N', 'G'})) {
    return Format::kPng;
  }
  if (starts_with({0xff, 0xd8, 0xff})) {
    return Format::kJpeg;
  }
  if (starts_with({'B', 'M'})) {
    return Format::kBmp;
  }
  if (starts_with({'I', 'I', '*', 0}) || starts_with({'M', 'M', 0, '*'}) ||
      starts_with({'I', 'I', '+', 0}) || starts_with({'M', 'M', 0, '+'})) {
    return Format::kTiff;
  }
  return Format::kUnknown;
}

uint32_t BigEndian16(std::span<const uint8_t> bytes, size_t at) {
  return (uint32_t{bytes[at]} << 8) | bytes[at + 1];
}

uint32_t LittleEndian32(std::span<const uint8_t> bytes, size_t at) {
  return uint32_t{bytes[at]} | (uint32_t{bytes[at + 1]} << 8) | (uint32_t{bytes[at + 2]} << 16) |
         (uint32_t{bytes[at + 3]} << 24);
}

struct Size {
  int64_t width = 0;
  int64_t height = 0;
};

uint32_t BigEndian32(std::span<const uint8_t> bytes, size_t at) {
  return (BigEndian16(bytes, at) << 16) | BigEndian16(bytes, at + 2);
}

// Width and height from the IHDR chunk, which must come first (after the 8-byte signature: its
// length, "IHDR", then width and height as 32-bit big-endian), or nullopt when it does not.
std::optional<Size> PngSize(std::span<const uint8_t> bytes) {
  if (bytes.size() < 24 || bytes[12] != 'I' || bytes[13] != 'H' || bytes[14] != 'D' ||
      bytes[15] != 'R') {
    return std::nullopt;
  }
  return Size{.width = BigEndian32(bytes, 16), .height = BigEndian32(bytes, 20)};
}

// Width and height from the first SOF marker, or nullopt when the walk does not reach one.
std::optional<Size> JpegSize(std::span<const uint8_t> bytes) {
  size_t pos = 2;
  while (pos + 4 <= bytes.size()) {
    if (bytes[pos] != 0xff) {
      return std::nullopt;
    }
    const uint8_t marker = bytes[pos + 1];
    if (marker == 0xff) {  // fill byte
      ++pos;
      continue;
    }
    pos += 2;
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      continue;  // markers without a length
    }
    if (marker == 0xd9 || marker == 0xda) {
      return std::nullopt;  // end of image or start of scan before any frame header
    }
    const uint32_t length = BigEndian16(bytes, pos);
    const bool frame =
        marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
    if (frame && pos + 7 <= bytes.size()) {
      return Size{.width = BigEndian16(bytes, pos + 5), .height = BigEndian16(bytes, pos + 3)};
    }
    pos += length;
  }
  return std::nullopt;
}

// Width and height from the DIB header, or nullopt when it is too short.
std::optional<Size> BmpSize(std::span<const uint8_t> bytes) {
  if (bytes.size() < 26) {
    return std::nullopt;
  }
  const uint32_t header_size = LittleEndian32(bytes, 14);
  if (header_size == 12) {  // BITMAPCOREHEADER: 16-bit sides
    return Size{.width = bytes[18] | (bytes[19] << 8), .height = bytes[20] | (bytes[21] << 8)};
  }
  const auto width = static_cast<int32_t>(LittleEndian32(bytes, 18));
  const auto height = static_cast<int32_t>(LittleEndian32(bytes, 22));  // negative: top-down
  return Size{.width = std::abs(int64_t{width}), .height = std::abs(int64_t{height})};
}

// Decoders allocate what the header claims (OpenCV up to 2^30 pixels) before reading the data;
// refuse large sizes first so a few bytes cannot make us allocate gigabytes. The sides are
// compared alone first, so that their product cannot overflow.
void CheckClaimedSize(const std::optional<Size>& size,
                      const char* format,
                      const std::string& name) {
  if (size && (size->width > kMaxImagePixels || size->height > kMaxImagePixels ||
               size->width * size->height > kMaxImagePixels)) {
    throw Error(ErrorCode::kInvalidInput,
                name + ": " + format + " claims " + std::to_string(size->width) + "x" +
                    std::to_string(size->height) + " pixels, more than the limit of " +
                    std::to_string(kMaxImagePixels));
  }
}

Image DecodeWithOpenCv(std::span<const uint8_t> bytes,
                       const char* format,
                       const std::string& name) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    throw Error(
        ErrorCode::kInvalidInput,
        name + ": " + format + " of " + std::to_string(bytes.size()) + " bytes is too large");
  }
  cv::Mat decoded;
  try {
    const cv::Mat encoded(
        1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data()));
    // ANYCOLOR keeps gray files gray; without ANYDEPTH every depth becomes 8-bit.
    decoded = cv::imdecode(encoded, cv::IMREAD_ANYCOLOR);
    if (decoded.empty()) {
      throw Error(ErrorCode::kInvalidInput,
                  name + ": corrupt " + format + ", OpenCV could not decode the " +
                      std::to_string(bytes.size()) + " bytes");
    }
    cv::Mat converted;
    switch (decoded.channels()) {
      case 1:
        converted = decoded;
        break;
      case 3:
        cv::cvtColor(decoded, converted, cv::COLOR_BGR2RGB);
        break;
      case 4:
        cv::cvtColor(decoded, converted, cv::COLOR_BGRA2RGB);
        break;
      default:
        throw Error(ErrorCode::kInvalidInput,
                    name + ": unsupported " + format + " with " +
                        std::to_string(decoded.channels()) + " channels");
    }
    decoded = converted.isContinuous() ? converted : converted.clone();
  } catch (const cv::Exception& error) {
    throw Error(ErrorCode::kInvalidInput, name + ": corrupt " + format + ": " + error.what());
  }
  Image image{
      .width = decoded.cols, .height = decoded.rows, .channels = decoded.channels(), .pixels = {}};
  const auto* data = decoded.ptr<uint8_t>(0);
  image.pixels.assign(data, data + decoded.total() * decoded.elemSize());
  return image;
}

}  // namespace

Image DecodeImage(std::span<const uint8_t> bytes, const std::string& name) {
  switch (Sniff(bytes)) {
    case Format::kPng:
      CheckClaimedSize(PngSize(bytes), "PNG", name);
      try {
        return DecodePng(bytes);
      } catch (const Error& error) {
        throw Error(error.Code(), name + ": " + error.what());  // DecodePng has no name to give
      }
    case Format::kJpeg:
      CheckClaimedSize(JpegSize(bytes), "JPEG", name);
      return DecodeWithOpenCv(bytes, "JPEG", name);
    case Format::kBmp:
      CheckClaimedSize(BmpSize(bytes), "BMP", name);
      return DecodeWithOpenCv(bytes, "BMP", name);
    case Format::kTiff:
      return DecodeTiff(bytes, name);
    case Format::kUnknown:
      break;
  }
  std::string start;
  for (size_t index = 0; index < bytes.size() && index < 4; ++index) {
    char hex[4];
    std::snprintf(hex, sizeof hex, "%02x", bytes[index]);
    start += (index == 0 ? "" : " ") + std::string(hex);
  }
  throw Error(ErrorCode::kInvalidInput,
              name + ": not a PNG, JPEG, BMP or TIFF image (" +
                  (bytes.empty() ? std::string("empty") : "starts with " + start) + ")");
}

Image ReadImage(const std::filesystem::path& path) {
  return DecodeImage(ReadFileBytes(path, "image file"), path.string());
}

}  // namespace phytoflow
