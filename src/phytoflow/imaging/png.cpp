#include "phytoflow/imaging/png.h"

#include "phytoflow/core/error.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <zlib.h>

namespace phytoflow {
namespace {

constexpr uint8_t kPngSignature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
// zlib level 1: vignettes are small and written by the thousand; speed beats a few bytes.
constexpr int kPngCompressionLevel = 1;

// CRC-32 (ISO 3309), as PNG chunks use it.
constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) {
      c = (c & 1) != 0 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    table[n] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

uint32_t Crc32(std::span<const uint8_t> bytes) {
  uint32_t crc = 0xffffffffu;
  for (uint8_t byte : bytes) {
    crc = kCrcTable[(crc ^ byte) & 0xff] ^ (crc >> 8);
  }
  return crc ^ 0xffffffffu;
}

uint32_t ReadBigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// Walks the chunk list (bounds, CRCs, IHDR first, IEND last) before OpenCV sees the bytes:
// libpng, as OpenCV sets it up, prints to stderr on truncated or corrupt input, and this
// catches those cases with a precise message instead.
void CheckPngChunks(std::span<const uint8_t> bytes) {
  size_t offset = sizeof(kPngSignature);
  bool first = true;
  while (true) {
    if (bytes.size() - offset < 12) {
      throw Error(ErrorCode::kInvalidInput,
                  "corrupt PNG: truncated at byte " + std::to_string(offset) + " (no IEND chunk)");
    }
    const uint32_t length = ReadBigEndian32(bytes.data() + offset);
    const std::string type(reinterpret_cast<const char*>(bytes.data()) + offset + 4, 4);
    if (length > bytes.size() - offset - 12) {
      throw Error(ErrorCode::kInvalidInput,
                  "corrupt PNG: chunk '" + type + "' at byte " + std::to_string(offset) +
                      " claims " + std::to_string(length) + " bytes but the data ends first");
    }
    if (first && (type != "IHDR" || length != 13)) {
      throw Error(ErrorCode::kInvalidInput,
                  "corrupt PNG: expected a 13-byte IHDR chunk first, found '" + type + "'");
    }
    const uint32_t stored_crc = ReadBigEndian32(bytes.data() + offset + 8 + length);
    if (Crc32(bytes.subspan(offset + 4, size_t{length} + 4)) != stored_crc) {
      throw Error(ErrorCode::kInvalidInput,
                  "corrupt PNG: bad CRC in chunk '" + type + "' at byte " + std::to_string(offset));
    }
    if (type == "IEND") {
      return;
    }
    offset += size_t{length} + 12;
    first = false;
  }
}

void WriteBigEndian32(uint8_t* p, uint32_t value) {
  p[0] = static_cast<uint8_t>(value >> 24);
  p[1] = static_cast<uint8_t>(value >> 16);
  p[2] = static_cast<uint8_t>(value >> 8);
  p[3] = static_cast<uint8_t>(value);
}

// Writes length, type, data and CRC of a chunk at `at`. With `data` null the data is already in
// place after the 8-byte chunk header.
void WriteChunk(uint8_t* at, const char (&type)[5], const uint8_t* data, size_t length) {
  WriteBigEndian32(at, static_cast<uint32_t>(length));
  std::copy(type, type + 4, at + 4);
  if (data != nullptr) {
    std::copy(data, data + length, at + 8);
  }
  const uLong crc = crc32(crc32(0L, Z_NULL, 0), at + 4, static_cast<uInt>(length + 4));
  WriteBigEndian32(at + 8 + length, static_cast<uint32_t>(crc));
}

// One deflate stream per thread, reset for each image: deflateInit allocates ~270 KB.
class Deflater {
 public:
  Deflater() {
    if (deflateInit2(&stream_, kPngCompressionLevel, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
      throw Error(ErrorCode::kInternal, "cannot initialise zlib");
    }
  }
  ~Deflater() { deflateEnd(&stream_); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  z_stream& Reset() {
    deflateReset(&stream_);
    return stream_;
  }

 private:
  z_stream stream_{};
};

std::string ShapeText(const Image& image) {
  return std::to_string(image.width) + "x" + std::to_string(image.height) + "x" +
         std::to_string(image.channels);
}

}  // namespace

std::vector<uint8_t> EncodePng(const Image& image) {
  if (!image.IsValid()) {
    throw Error(ErrorCode::kInvalidInput,
                "cannot encode PNG: image " + ShapeText(image) + " with " +
                    std::to_string(image.pixels.size()) +
                    " bytes is malformed (expected 1 or 3 channels)");
  }
  // Written with zlib directly rather than through OpenCV/libpng: vignettes are encoded by the
  // hundred thousand, and libpng's per-image setup and adaptive filtering cost more than twice
  // the deflate itself (measured in bench/reader_bench). Every row uses the Sub filter, which
  // compresses FlowCam vignettes within a few percent of libpng's choice.
  const size_t channels = static_cast<size_t>(image.channels);
  const size_t stride = static_cast<size_t>(image.width) * channels;
  const size_t height = static_cast<size_t>(image.height);
  std::vector<uint8_t> filtered((stride + 1) * height);
  for (size_t row = 0; row < height; ++row) {
    const uint8_t* source = image.pixels.data() + row * stride;
    uint8_t* target = filtered.data() + row * (stride + 1);
    target[0] = 1;  // filter type Sub
    for (size_t i = 0; i < channels; ++i) {
      target[1 + i] = source[i];
    }
    for (size_t i = channels; i < stride; ++i) {
      target[1 + i] = static_cast<uint8_t>(source[i] - source[i - channels]);
    }
  }

  thread_local Deflater deflater;
  z_stream& stream = deflater.Reset();
  const size_t idat_offset = sizeof(kPngSignature) + 25;  // signature + IHDR chunk
  std::vector<uint8_t> png(idat_offset + 8 + deflateBound(&stream, filtered.size()) + 4 + 12);
  std::copy(std::begin(kPngSignature), std::end(kPngSignature), png.begin());
  uint8_t header[13] = {};
  WriteBigEndian32(header, static_cast<uint32_t>(image.width));
  WriteBigEndian32(header + 4, static_cast<uint32_t>(image.height));
  header[8] = 8;                            // bits per sample
  header[9] = image.channels == 3 ? 2 : 0;  // colour type: RGB or gray
  WriteChunk(png.data() + sizeof(kPngSignature), "IHDR", header, sizeof header);

  stream.next_in = filtered.data();
  stream.avail_in = static_cast<uInt>(filtered.size());
  stream.next_out = png.data() + idat_offset + 8;
  stream.avail_out = static_cast<uInt>(png.size() - idat_offset - 8);
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) {
    throw Error(ErrorCode::kInternal, "cannot compress PNG of image " + ShapeText(image));
  }
  const size_t compressed = stream.total_out;
  WriteChunk(png.data() + idat_offset, "IDAT", nullptr, compressed);
  const size_t iend_offset = idat_offset + 12 + compressed;
  WriteChunk(png.data() + iend_offset, "IEND", nullptr, 0);
  png.resize(iend_offset + 12);
  return png;
}

Image DecodePng(std::span<const uint8_t> bytes) {
  // cv::imdecode accepts any format it knows; insist on PNG so a JPEG or TIFF is not
  // silently accepted where a PNG is stored.
  if (bytes.size() < sizeof(kPngSignature) ||
      !std::equal(std::begin(kPngSignature), std::end(kPngSignature), bytes.begin())) {
    throw Error(ErrorCode::kInvalidInput,
                "not a PNG: the " + std::to_string(bytes.size()) +
                    " bytes do not start with the PNG signature");
  }
  CheckPngChunks(bytes);
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    throw Error(ErrorCode::kInvalidInput,
                "PNG of " + std::to_string(bytes.size()) + " bytes is too large");
  }
  cv::Mat decoded;
  try {
    const cv::Mat encoded(
        1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data()));
    decoded = cv::imdecode(encoded, cv::IMREAD_UNCHANGED);
    if (decoded.empty()) {
      throw Error(
          ErrorCode::kInvalidInput,
          "corrupt PNG: OpenCV could not decode the " + std::to_string(bytes.size()) + " bytes");
    }
    if (decoded.depth() == CV_16U) {
      decoded.convertTo(decoded, CV_8U, 1.0 / 257.0);  // 65535 -> 255
    } else if (decoded.depth() != CV_8U) {
      throw Error(ErrorCode::kInvalidInput, "unsupported PNG sample depth");
    }
    cv::Mat converted;
    switch (decoded.channels()) {
      case 1:
        converted = decoded;
        break;
      case 2:  // gray + alpha: keep gray
        cv::extractChannel(decoded, converted, 0);
        break;
      case 3:
        cv::cvtColor(decoded, converted, cv::COLOR_BGR2RGB);
        break;
      case 4:
        cv::cvtColor(decoded, converted, cv::COLOR_BGRA2RGB);  // alpha is dropped
        break;
      default:
        throw Error(ErrorCode::kInvalidInput,
                    "unsupported PNG with " + std::to_string(decoded.channels()) + " channels");
    }
    decoded = converted.isContinuous() ? converted : converted.clone();
  } catch (const cv::Exception& error) {
    throw Error(ErrorCode::kInvalidInput, std::string("corrupt PNG: ") + error.what());
  }
  Image image{
      .width = decoded.cols, .height = decoded.rows, .channels = decoded.channels(), .pixels = {}};
  const auto* data = decoded.ptr<uint8_t>(0);
  image.pixels.assign(data, data + decoded.total() * decoded.elemSize());
  return image;
}

}  // namespace phytoflow
