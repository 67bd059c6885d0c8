#include "phytoflow/core/error.h"
#include "phytoflow/imaging/image.h"
#include "phytoflow/imaging/png.h"
#include "phytoflow/imaging/tiff.h"

#include <chrono>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace phytoflow {
namespace {

// Real FlowCam export; tests run from the repository root.
const std::filesystem::path kRunDir =
    "../shared/data/flowcam/vicko_pygsuia_2025/"
    "7-Pygsuia-3LB-SFSW-Terasakiella-sample2-replicate1-day7-11Apr2025";
const std::string kRunName = "7-Pygsuia-3LB-SFSW-Terasakiella-sample2-replicate1-day7-11Apr2025";

// Pixel values 0, 1, 2, ... row-major.
Image MakeCounting(int width, int height, int channels) {
  Image image{.width = width, .height = height, .channels = channels, .pixels = {}};
  image.pixels.resize(static_cast<size_t>(width * height * channels));
  for (size_t i = 0; i < image.pixels.size(); ++i) {
    image.pixels[i] = static_cast<uint8_t>(i);
  }
  return image;
}

// Deterministic noise, so LZW and PNG see something less regular than a ramp.
Image MakeNoise(int width, int height, int channels, uint32_t seed) {
  Image image{.width = width, .height = height, .channels = channels, .pixels = {}};
  image.pixels.resize(static_cast<size_t>(width * height * channels));
  uint32_t state = seed;
  for (uint8_t& value : image.pixels) {
    state = state * 1664525u + 1013904223u;
    value = static_cast<uint8_t>(state >> 24);
  }
  return image;
}

// Expects `call` to throw Error with `code`.
template <typename Call>
void ExpectError(ErrorCode code, Call call) {
  try {
    call();
    ADD_FAILURE() << "expected phytoflow::Error " << ErrorCodeName(code);
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), code) << error.what();
  }
}

// A hand-built, uncompressed little-endian TIFF: one strip per plane holding `data`.
// Lets tests reach layouts our encoder never writes (planar, alpha, 16-bit, palette...).
struct TiffSpec {
  uint32_t width = 1;
  uint32_t height = 1;
  uint16_t samples_per_pixel = 1;
  uint16_t bits_per_sample = 8;
  uint16_t photometric = 1;  // MinIsBlack
  uint16_t planar_config = 1;
  std::vector<uint16_t> extra_samples;
  std::vector<uint16_t> color_map;  // 3 * 2^bits entries for palette images
  std::vector<uint8_t> data;        // all planes, back to back
};

std::vector<uint8_t> BuildTiff(const TiffSpec& spec) {
  struct Entry {
    uint16_t tag;
    uint16_t type;  // 3 = SHORT, 4 = LONG
    std::vector<uint32_t> values;
  };
  const uint32_t planes = spec.planar_config == 2 ? spec.samples_per_pixel : 1;
  const uint32_t plane_bytes = static_cast<uint32_t>(spec.data.size()) / planes;
  std::vector<Entry> entries = {
      {256, 4, {spec.width}},
      {257, 4, {spec.height}},
      {258, 3, std::vector<uint32_t>(spec.samples_per_pixel, spec.bits_per_sample)},
      {259, 3, {1}},
      {262, 3, {spec.photometric}},
      {273, 4, std::vector<uint32_t>(planes, 0)},  // offsets filled in below
      {277, 3, {spec.samples_per_pixel}},
      {278, 4, {spec.height}},
      {279, 4, std::vector<uint32_t>(planes, plane_bytes)},
      {284, 3, {spec.planar_config}},
  };
  if (!spec.color_map.empty()) {
    entries.push_back({320, 3, {spec.color_map.begin(), spec.color_map.end()}});
  }
  if (!spec.extra_samples.empty()) {
    entries.push_back({338, 3, {spec.extra_samples.begin(), spec.extra_samples.end()}});
  }
  const uint32_t ifd_bytes = 2 + 12 * static_cast<uint32_t>(entries.size()) + 4;
  uint32_t out_of_line = 0;
  for (const Entry& entry : entries) {
    const uint32_t size = static_cast<uint32_t>(entry.values.size()) * (entry.type == 3 ? 2 : 4);
    out_of_line += size > 4 ? size : 0;
  }
  const uint32_t data_offset = 8 + ifd_bytes + out_of_line;
  for (uint32_t plane_idx = 0; plane_idx < planes; ++plane_idx) {
    entries[5].values[plane_idx] = data_offset + plane_idx * plane_bytes;
  }

  std::vector<uint8_t> out;
  auto put16 = [&out](uint32_t value) {
    out.push_back(static_cast<uint8_t>(value));
    out.push_back(static_cast<uint8_t>(value >> 8));
  };
  auto put32 = [&](uint32_t value) {
    put16(value & 0xffff);
    put16(value >> 16);
  };
  out = {'I', 'I', 42, 0};
  put32(8);
  put16(static_cast<uint32_t>(entries.size()));
  std::vector<uint8_t> extra;
  uint32_t extra_offset = 8 + ifd_bytes;
  for (const Entry& entry : entries) {
    put16(entry.tag);
    put16(entry.type);
    put32(static_cast<uint32_t>(entry.values.size()));
    const uint32_t size = static_cast<uint32_t>(entry.values.size()) * (entry.type == 3 ? 2 : 4);
    std::vector<uint8_t> packed;
    for (uint32_t value : entry.values) {
      packed.push_back(static_cast<uint8_t>(value));
      packed.push_back(static_cast<uint8_t>(value >> 8));
      if (entry.type == 4) {
        packed.push_back(static_cast<uint8_t>(value >> 16));
        packed.push_back(static_cast<uint8_t>(value >> 24));
      }
    }
    if (size <= 4) {
      packed.resize(4, 0);
      out.insert(out.end(), packed.begin(), packed.end());
    } else {
      put32(extra_offset);
      extra.insert(extra.end(), packed.begin(), packed.end());
      extra_offset += size;
    }
  }
  put32(0);  // no next IFD
  out.insert(out.end(), extra.begin(), extra.end());
  out.insert(out.end(), spec.data.begin(), spec.data.end());
  return out;
}

TEST(Image, ContainsChecksEveryEdge) {
  const Image image = MakeCounting(4, 3, 1);
  EXPECT_TRUE(image.Contains({.x = 0, .y = 0, .width = 4, .height = 3}));
  EXPECT_TRUE(image.Contains({.x = 3, .y = 2, .width = 1, .height = 1}));
  EXPECT_FALSE(image.Contains({.x = 3, .y = 2, .width = 2, .height = 1}));  // right edge
  EXPECT_FALSE(image.Contains({.x = 0, .y = 1, .width = 1, .height = 3}));  // bottom edge
  EXPECT_FALSE(image.Contains({.x = -1, .y = 0, .width = 1, .height = 1}));
  EXPECT_FALSE(image.Contains({.x = 0, .y = -1, .width = 1, .height = 1}));
  EXPECT_FALSE(image.Contains({.x = 1, .y = 1, .width = 0, .height = 1}));  // empty
  EXPECT_FALSE(image.Contains({.x = 1, .y = 1, .width = 1, .height = -2}));
  EXPECT_FALSE(image.Contains({.x = INT_MAX, .y = 0, .width = INT_MAX, .height = 1}));
  EXPECT_FALSE(Image{}.Contains({.x = 0, .y = 0, .width = 1, .height = 1}));
}

TEST(Image, IsValidChecksShapeAndSize) {
  EXPECT_TRUE(MakeCounting(2, 2, 1).IsValid());
  EXPECT_TRUE(MakeCounting(2, 2, 3).IsValid());
  EXPECT_FALSE(Image{}.IsValid());
  EXPECT_FALSE(MakeCounting(2, 2, 4).IsValid());
  Image short_pixels = MakeCounting(2, 2, 3);
  short_pixels.pixels.pop_back();
  EXPECT_FALSE(short_pixels.IsValid());
}

TEST(Crop, CopiesGrayPixels) {
  // 0  1  2  3
  // 4  5  6  7
  // 8  9 10 11
  const Image image = MakeCounting(4, 3, 1);
  const Image crop = Crop(image, {.x = 1, .y = 1, .width = 2, .height = 2});
  EXPECT_EQ(crop, (Image{.width = 2, .height = 2, .channels = 1, .pixels = {5, 6, 9, 10}}));
  EXPECT_EQ(Crop(image, {.x = 0, .y = 0, .width = 4, .height = 3}), image);
}

TEST(Crop, CopiesRgbPixels) {
  // Row 0: (0,1,2) (3,4,5) (6,7,8); row 1: (9,10,11) (12,13,14) (15,16,17).
  const Image image = MakeCounting(3, 2, 3);
  const Image crop = Crop(image, {.x = 2, .y = 0, .width = 1, .height = 2});
  EXPECT_EQ(crop, (Image{.width = 1, .height = 2, .channels = 3, .pixels = {6, 7, 8, 15, 16, 17}}));
}

TEST(Crop, RefusesBoxOutsideImage) {
  const Image image = MakeCounting(4, 3, 1);
  ExpectError(ErrorCode::kInvalidInput,
              [&] { Crop(image, {.x = 3, .y = 0, .width = 2, .height = 1}); });
  ExpectError(ErrorCode::kInvalidInput,
              [&] { Crop(image, {.x = 0, .y = 0, .width = 0, .height = 0}); });
  ExpectError(ErrorCode::kInvalidInput,
              [&] { Crop(Image{}, {.x = 0, .y = 0, .width = 1, .height = 1}); });
}

TEST(Tiff, RoundTripsGray) {
  // Odd sizes and more rows than one default strip, to cross strip boundaries.
  const Image image = MakeNoise(37, 523, 1, 1);
  const std::vector<uint8_t> bytes = EncodeTiff(image);
  EXPECT_EQ(DecodeTiff(bytes, "gray.tif"), image);
}

TEST(Tiff, RoundTripsRgb) {
  const Image image = MakeNoise(301, 211, 3, 2);
  const std::vector<uint8_t> bytes = EncodeTiff(image);
  EXPECT_EQ(DecodeTiff(bytes, "rgb.tif"), image);
  const Image tiny = MakeCounting(1, 1, 3);
  EXPECT_EQ(DecodeTiff(EncodeTiff(tiny), "tiny.tif"), tiny);
}

TEST(Tiff, EncodeRefusesMalformedImage) {
  ExpectError(ErrorCode::kInvalidInput, [] { EncodeTiff(Image{}); });
  ExpectError(ErrorCode::kInvalidInput, [] { EncodeTiff(MakeCounting(2, 2, 4)); });
}

TEST(Tiff, DropsAlphaFromContigRgba) {
  TiffSpec spec;
  spec.width = 2;
  spec.samples_per_pixel = 4;
  spec.photometric = 2;
  spec.extra_samples = {2};  // unassociated alpha
  spec.data = {10, 20, 30, 0, 40, 50, 60, 255};
  EXPECT_EQ(DecodeTiff(BuildTiff(spec), "rgba.tif"),
            (Image{.width = 2, .height = 1, .channels = 3, .pixels = {10, 20, 30, 40, 50, 60}}));
}

TEST(Tiff, InterleavesSeparatePlanes) {
  TiffSpec spec;
  spec.width = 2;
  spec.height = 2;
  spec.samples_per_pixel = 3;
  spec.photometric = 2;
  spec.planar_config = 2;
  spec.data = {1, 2, 3, 4, /*green*/ 11, 12, 13, 14, /*blue*/ 21, 22, 23, 24};
  EXPECT_EQ(DecodeTiff(BuildTiff(spec), "planar.tif"),
            (Image{.width = 2,
                   .height = 2,
                   .channels = 3,
                   .pixels = {1, 11, 21, 2, 12, 22, 3, 13, 23, 4, 14, 24}}));
}

TEST(Tiff, InvertsMinIsWhite) {
  TiffSpec spec;
  spec.width = 3;
  spec.photometric = 0;
  spec.data = {0, 55, 255};
  EXPECT_EQ(DecodeTiff(BuildTiff(spec), "white.tif"),
            (Image{.width = 3, .height = 1, .channels = 1, .pixels = {255, 200, 0}}));
}

TEST(Tiff, ReadsSixteenBitGrayThroughRgba) {
  TiffSpec spec;
  spec.width = 2;
  spec.bits_per_sample = 16;
  spec.data = {0x00, 0x00, 0xff, 0xff};  // 0 and 65535, little-endian
  EXPECT_EQ(DecodeTiff(BuildTiff(spec), "gray16.tif"),
            (Image{.width = 2, .height = 1, .channels = 1, .pixels = {0, 255}}));
}

TEST(Tiff, ReadsPaletteAsRgb) {
  TiffSpec spec;
  spec.width = 2;
  spec.bits_per_sample = 1;
  spec.photometric = 3;
  // Entry 0 = red, entry 1 = blue; 16-bit color map values.
  spec.color_map = {0xffff, 0, 0, 0, 0, 0xffff};
  spec.data = {0x40};  // pixels 0, 1 (MSB first)
  EXPECT_EQ(DecodeTiff(BuildTiff(spec), "palette.tif"),
            (Image{.width = 2, .height = 1, .channels = 3, .pixels = {255, 0, 0, 0, 0, 255}}));
}

TEST(Tiff, RefusesPagesAboveThePixelLimit) {
  TiffSpec spec;
  spec.width = 20001;
  spec.height = 20000;
  spec.data = {0};
  ExpectError(ErrorCode::kInvalidInput, [&] { DecodeTiff(BuildTiff(spec), "huge.tif"); });
}

TEST(Tiff, RefusesPagesLargerThanTheBytesCanHold) {
  // Inside kMaxTiffPixels but 100 MB from a ~150-byte file: refused before allocating.
  TiffSpec spec;
  spec.width = 10000;
  spec.height = 10000;
  spec.data = {0};
  try {
    DecodeTiff(BuildTiff(spec), "bomb.tif");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
    EXPECT_NE(std::string(error.what()).find("bomb.tif"), std::string::npos) << error.what();
  }
}

TEST(Tiff, GarbageThrowsInvalidInputSilently) {
  const std::vector<std::vector<uint8_t>> inputs = {
      {},
      {'I', 'I'},
      {'G', 'I', 'F', '8', '9', 'a', 0, 0, 0, 0},
      {'I', 'I', 42, 0, 0xff, 0xff, 0xff, 0x7f},  // IFD offset far past the end
      {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 0},        // IFD with no entries
      {'I', 'I', 43, 0, 8, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},  // BigTIFF
      MakeNoise(4096, 1, 1, 3).pixels,
  };
  testing::internal::CaptureStderr();
  for (const std::vector<uint8_t>& input : inputs) {
    ExpectError(ErrorCode::kInvalidInput, [&] { DecodeTiff(input, "garbage.tif"); });
  }
  std::vector<uint8_t> noisy = MakeNoise(4096, 1, 1, 4).pixels;
  noisy[0] = 'I';
  noisy[1] = 'I';
  noisy[2] = 42;
  noisy[3] = 0;
  noisy[4] = 8;
  noisy[5] = noisy[6] = noisy[7] = 0;
  ExpectError(ErrorCode::kInvalidInput, [&] { DecodeTiff(noisy, "noisy.tif"); });
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(Tiff, TruncatedFileThrowsInvalidInput) {
  const std::vector<uint8_t> bytes = EncodeTiff(MakeNoise(64, 300, 3, 5));
  testing::internal::CaptureStderr();
  for (size_t length = 0; length < bytes.size(); length += 97) {
    const std::span<const uint8_t> prefix(bytes.data(), length);
    ExpectError(ErrorCode::kInvalidInput, [&] { DecodeTiff(prefix, "truncated.tif"); });
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(Tiff, CorruptedBytesNeverCrash) {
  // Flip bytes across a valid file; each result either decodes or throws kInvalidInput.
  const std::vector<uint8_t> good = EncodeTiff(MakeNoise(40, 90, 3, 6));
  testing::internal::CaptureStderr();
  for (size_t position = 0; position < good.size(); position += 13) {
    std::vector<uint8_t> bytes = good;
    bytes[position] ^= 0xa5;
    try {
      const Image image = DecodeTiff(bytes, "flipped.tif");
      EXPECT_TRUE(image.IsValid());
    } catch (const Error& error) {
      EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput) << error.what();
    }
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(Tiff, ReadTiffMissingFileIsNotFound) {
  ExpectError(ErrorCode::kNotFound, [] { ReadTiff("no/such/collage.tif"); });
  ExpectError(ErrorCode::kNotFound, [] { ReadTiff("src"); });  // a directory
}

TEST(Tiff, ReadsRealFlowCamCollage) {
  const std::filesystem::path path = kRunDir / (kRunName + "_000001.tif");
  if (!std::filesystem::exists(path)) {
    GTEST_SKIP() << "shared data not present: " << path;
  }
  const auto start = std::chrono::steady_clock::now();
  const Image collage = ReadTiff(path);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  std::cout << "ReadTiff 1292x964 collage: "
            << std::chrono::duration<double, std::milli>(elapsed).count() << " ms\n";
  EXPECT_EQ(collage.width, 1292);
  EXPECT_EQ(collage.height, 964);
  EXPECT_EQ(collage.channels, 3);
  EXPECT_TRUE(collage.IsValid());
  // Our encoders keep the real pixels exactly.
  EXPECT_EQ(DecodeTiff(EncodeTiff(collage), "reencoded.tif"), collage);
  const PixelBox box{.x = 100, .y = 50, .width = 120, .height = 80};
  const Image crop = Crop(collage, box);
  EXPECT_EQ(DecodePng(EncodePng(crop)), crop);
}

TEST(Tiff, ReadsRealBinaryMask) {
  const std::filesystem::path path = kRunDir / (kRunName + "_000001_bin.tif");
  if (!std::filesystem::exists(path)) {
    GTEST_SKIP() << "shared data not present: " << path;
  }
  const Image mask = ReadTiff(path);
  EXPECT_EQ(mask.width, 1292);
  EXPECT_EQ(mask.height, 964);
  EXPECT_EQ(mask.channels, 1);
  std::vector<int64_t> histogram(256, 0);
  for (uint8_t value : mask.pixels) {
    ++histogram[value];
  }
  EXPECT_GT(histogram[0], 0);
  EXPECT_GT(histogram[255], 0);
  EXPECT_EQ(histogram[0] + histogram[255], static_cast<int64_t>(mask.pixels.size()));
}

TEST(Tiff, ReadsRealCalibrationImageAsGray) {
  const std::filesystem::path path = kRunDir / "cal_image_000001.tif";
  if (!std::filesystem::exists(path)) {
    GTEST_SKIP() << "shared data not present: " << path;
  }
  const Image calibration = ReadTiff(path);
  EXPECT_EQ(calibration.channels, 1);
  EXPECT_TRUE(calibration.IsValid());
}

TEST(Png, RoundTripsGray) {
  const Image image = MakeNoise(33, 17, 1, 7);
  const std::vector<uint8_t> bytes = EncodePng(image);
  ASSERT_GE(bytes.size(), 8u);
  EXPECT_EQ(bytes[1], 'P');
  EXPECT_EQ(DecodePng(bytes), image);
}

TEST(Png, RoundTripsRgb) {
  const Image image = MakeNoise(29, 31, 3, 8);
  EXPECT_EQ(DecodePng(EncodePng(image)), image);
}

TEST(Png, KeepsRgbOrderOfForeignFiles) {
  // 2x1 RGB PNG written by Python's zlib: red (255,0,0), then (0,128,255).
  const std::vector<uint8_t> png = {
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
      0x52, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x7b,
      0x40, 0xe8, 0xdd, 0x00, 0x00, 0x00, 0x0f, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8,
      0xcf, 0xc0, 0xc0, 0xd0, 0xf0, 0x1f, 0x00, 0x08, 0x00, 0x02, 0x7f, 0x9c, 0x45, 0x40, 0x4e,
      0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
  EXPECT_EQ(DecodePng(png),
            (Image{.width = 2, .height = 1, .channels = 3, .pixels = {255, 0, 0, 0, 128, 255}}));
}

TEST(Png, EncodeRefusesMalformedImage) {
  ExpectError(ErrorCode::kInvalidInput, [] { EncodePng(Image{}); });
  ExpectError(ErrorCode::kInvalidInput, [] { EncodePng(MakeCounting(2, 2, 2)); });
}

TEST(Png, RejectsNonPngBytes) {
  testing::internal::CaptureStderr();
  ExpectError(ErrorCode::kInvalidInput, [] { DecodePng({}); });
  const std::vector<uint8_t> tiff = EncodeTiff(MakeCounting(2, 2, 1));
  ExpectError(ErrorCode::kInvalidInput, [&] { DecodePng(tiff); });
  const std::vector<uint8_t> signature_only = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  ExpectError(ErrorCode::kInvalidInput, [&] { DecodePng(signature_only); });
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(Png, TruncatedOrFlippedPngThrowsInvalidInputSilently) {
  const std::vector<uint8_t> bytes = EncodePng(MakeNoise(20, 20, 3, 9));
  testing::internal::CaptureStderr();
  for (size_t length = 0; length < bytes.size(); length += 7) {
    const std::span<const uint8_t> prefix(bytes.data(), length);
    ExpectError(ErrorCode::kInvalidInput, [&] { DecodePng(prefix); });
  }
  for (size_t position = 0; position < bytes.size(); position += 11) {
    std::vector<uint8_t> flipped = bytes;
    flipped[position] ^= 0x5a;
    ExpectError(ErrorCode::kInvalidInput, [&] { DecodePng(flipped); });
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace phytoflow
