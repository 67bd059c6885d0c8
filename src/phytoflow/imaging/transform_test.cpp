#include "phytoflow/imaging/transform.h"

#include "phytoflow/core/error.h"
#include "phytoflow/imaging/decode.h"
#include "phytoflow/imaging/image.h"
#include "phytoflow/imaging/png.h"
#include "phytoflow/imaging/tiff.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace phytoflow {
namespace {

// Real JPEG vignettes; tests run from the repository root.
const std::filesystem::path kLabelledDir = "../shared/data/labeled/flowcam_vliz_demo_6class";

// Expects `call` to throw Error with `code` and a message containing `text`.
template <typename Call>
void ExpectError(ErrorCode code, const std::string& text, Call call) {
  try {
    call();
    ADD_FAILURE() << "expected phytoflow::Error " << ErrorCodeName(code);
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), code) << error.what();
    EXPECT_NE(std::string(error.what()).find(text), std::string::npos) << error.what();
  }
}

Image MakeGray(int width, int height, std::vector<uint8_t> pixels) {
  return Image{.width = width, .height = height, .channels = 1, .pixels = std::move(pixels)};
}

// An 8x8 JPEG of pure red (255, 0, 0), written by OpenCV 4.6 at quality 90.
const std::vector<uint8_t> kRedJpeg = {
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xff, 0xdb, 0x00, 0x43, 0x00, 0x03, 0x02, 0x02, 0x03, 0x02, 0x02, 0x03,
    0x03, 0x03, 0x03, 0x04, 0x03, 0x03, 0x04, 0x05, 0x08, 0x05, 0x05, 0x04, 0x04, 0x05, 0x0a, 0x07,
    0x07, 0x06, 0x08, 0x0c, 0x0a, 0x0c, 0x0c, 0x0b, 0x0a, 0x0b, 0x0b, 0x0d, 0x0e, 0x12, 0x10, 0x0d,
    0x0e, 0x11, 0x0e, 0x0b, 0x0b, 0x10, 0x16, 0x10, 0x11, 0x13, 0x14, 0x15, 0x15, 0x15, 0x0c, 0x0f,
    0x17, 0x18, 0x16, 0x14, 0x18, 0x12, 0x14, 0x15, 0x14, 0xff, 0xdb, 0x00, 0x43, 0x01, 0x03, 0x04,
    0x04, 0x05, 0x04, 0x05, 0x09, 0x05, 0x05, 0x09, 0x14, 0x0d, 0x0b, 0x0d, 0x14, 0x14, 0x14, 0x14,
    0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14,
    0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14,
    0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0xff, 0xc0,
    0x00, 0x11, 0x08, 0x00, 0x08, 0x00, 0x08, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11,
    0x01, 0xff, 0xc4, 0x00, 0x15, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0xff, 0xc4, 0x00, 0x14, 0x10, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xc4,
    0x00, 0x15, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x07, 0x09, 0xff, 0xc4, 0x00, 0x14, 0x11, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xda, 0x00, 0x0c, 0x03,
    0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3f, 0x00, 0x9d, 0x00, 0x06, 0x2a, 0x9b, 0xff, 0xd9,
};

// A 24-bit BMP, bottom-up rows padded to 4 bytes, pixels stored BGR.
std::vector<uint8_t> MakeBmp(int width, int height, const std::vector<uint8_t>& rgb) {
  const int row_bytes = (width * 3 + 3) / 4 * 4;
  const int data_bytes = row_bytes * height;
  std::vector<uint8_t> bmp(54 + static_cast<size_t>(data_bytes), 0);
  auto put32 = [&](size_t at, uint32_t value) {
    for (size_t byte_idx = 0; byte_idx < 4; ++byte_idx) {
      bmp[at + byte_idx] = static_cast<uint8_t>(value >> (8 * byte_idx));
    }
  };
  bmp[0] = 'B';
  bmp[1] = 'M';
  put32(2, static_cast<uint32_t>(bmp.size()));
  put32(10, 54);  // pixel data offset
  put32(14, 40);  // BITMAPINFOHEADER
  put32(18, static_cast<uint32_t>(width));
  put32(22, static_cast<uint32_t>(height));
  bmp[26] = 1;   // planes
  bmp[28] = 24;  // bits per pixel
  put32(34, static_cast<uint32_t>(data_bytes));
  for (int row = 0; row < height; ++row) {
    const size_t target_row = 54 + static_cast<size_t>((height - 1 - row) * row_bytes);
    for (int col = 0; col < width; ++col) {
      const size_t source = static_cast<size_t>((row * width + col) * 3);
      const size_t target = target_row + static_cast<size_t>(col * 3);
      bmp[target] = rgb[source + 2];
      bmp[target + 1] = rgb[source + 1];
      bmp[target + 2] = rgb[source];
    }
  }
  return bmp;
}

TEST(Resize, EnlargesBilinearly) {
  // Source x of target column c is (c + 0.5) / 2 − 0.5, clamped at the edges:
  // −0.25 0.25 0.75 1.25 1.75 2.25 2.75 3.25 → 100 100 100 100 100 132 196 228.
  const Image image = MakeGray(4, 2, {100, 100, 100, 228, 100, 100, 100, 228});
  const Image resized = Resize(image, 8, 4);
  ASSERT_EQ(resized.width, 8);
  ASSERT_EQ(resized.height, 4);
  ASSERT_EQ(resized.channels, 1);
  const std::vector<int> expected = {100, 100, 100, 100, 100, 132, 196, 228};
  for (int row = 0; row < 4; ++row) {
    for (int col = 0; col < 8; ++col) {
      EXPECT_NEAR(
          resized.pixels[static_cast<size_t>(row * 8 + col)], expected[static_cast<size_t>(col)], 1)
          << "row " << row << " col " << col;
    }
  }
}

TEST(Resize, ShrinksByAveragingAreas) {
  // Halving averages each 2x2 block.
  const Image image = MakeGray(4, 2, {0, 4, 100, 100, 8, 12, 100, 104});
  EXPECT_EQ(Resize(image, 2, 1), MakeGray(2, 1, {6, 101}));
}

TEST(Resize, KeepsRgbChannels) {
  Image image{.width = 3, .height = 3, .channels = 3, .pixels = {}};
  for (int pixel = 0; pixel < 9; ++pixel) {
    image.pixels.insert(image.pixels.end(), {200, 50, 10});
  }
  const Image larger = Resize(image, 5, 7);
  ASSERT_EQ(larger.channels, 3);
  ASSERT_EQ(larger.pixels.size(), 5u * 7u * 3u);
  for (size_t pixel = 0; pixel < 35; ++pixel) {
    EXPECT_EQ(larger.pixels[pixel * 3], 200);
    EXPECT_EQ(larger.pixels[pixel * 3 + 1], 50);
    EXPECT_EQ(larger.pixels[pixel * 3 + 2], 10);
  }
  EXPECT_EQ(Resize(image, 3, 3), image);
  EXPECT_EQ(Resize(image, 1, 1).pixels, (std::vector<uint8_t>{200, 50, 10}));
}

TEST(Resize, RefusesBadArguments) {
  ExpectError(ErrorCode::kInvalidInput, "malformed", [] { Resize(Image{}, 2, 2); });
  ExpectError(ErrorCode::kInvalidInput, "positive", [] { Resize(MakeGray(1, 1, {0}), 0, 2); });
  ExpectError(ErrorCode::kInvalidInput, "positive", [] { Resize(MakeGray(1, 1, {0}), 2, -1); });
}

TEST(DecodeImage, DecodesPngAndTiff) {
  const Image gray = MakeGray(3, 2, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(DecodeImage(EncodePng(gray), "a.png"), gray);
  EXPECT_EQ(DecodeImage(EncodeTiff(gray), "a.tif"), gray);
  const Image rgb{.width = 1, .height = 2, .channels = 3, .pixels = {255, 0, 0, 0, 128, 255}};
  EXPECT_EQ(DecodeImage(EncodePng(rgb), "b.png"), rgb);
  EXPECT_EQ(DecodeImage(EncodeTiff(rgb), "b.tif"), rgb);
}

TEST(DecodeImage, DecodesJpegAsRgb) {
  const Image red = DecodeImage(kRedJpeg, "red.jpg");
  ASSERT_EQ(red.width, 8);
  ASSERT_EQ(red.height, 8);
  ASSERT_EQ(red.channels, 3);
  for (size_t pixel = 0; pixel < 64; ++pixel) {
    EXPECT_GE(red.pixels[pixel * 3], 240);
    EXPECT_LE(red.pixels[pixel * 3 + 1], 15);
    EXPECT_LE(red.pixels[pixel * 3 + 2], 15);
  }
}

TEST(DecodeImage, DecodesBmpAsRgb) {
  // 3x2 so that rows need one byte of padding each.
  const std::vector<uint8_t> rgb = {255,
                                    0,
                                    0,
                                    0,
                                    255,
                                    0,
                                    0,
                                    0,
                                    255,  //
                                    10,
                                    20,
                                    30,
                                    40,
                                    50,
                                    60,
                                    70,
                                    80,
                                    90};
  const Image image = DecodeImage(MakeBmp(3, 2, rgb), "c.bmp");
  EXPECT_EQ(image, (Image{.width = 3, .height = 2, .channels = 3, .pixels = rgb}));
}

TEST(DecodeImage, RefusesUnknownAndCorruptBytes) {
  ExpectError(ErrorCode::kInvalidInput, "x.gif: not a PNG, JPEG, BMP or TIFF", [] {
    const std::vector<uint8_t> gif = {'G', 'I', 'F', '8', '9', 'a'};
    DecodeImage(gif, "x.gif");
  });
  ExpectError(ErrorCode::kInvalidInput, "empty", [] { DecodeImage({}, "empty.png"); });
  ExpectError(ErrorCode::kInvalidInput, "bad.png", [] {
    std::vector<uint8_t> png = EncodePng(MakeGray(2, 2, {0, 1, 2, 3}));
    png.resize(png.size() - 5);
    DecodeImage(png, "bad.png");
  });
  ExpectError(ErrorCode::kInvalidInput, "cut.jpg", [] {
    const std::vector<uint8_t> cut(kRedJpeg.begin(), kRedJpeg.begin() + 20);
    DecodeImage(cut, "cut.jpg");
  });
  ExpectError(ErrorCode::kInvalidInput, "bad.tif", [] {
    const std::vector<uint8_t> tiff = {'I', 'I', '*', 0, 1, 2};
    DecodeImage(tiff, "bad.tif");
  });
}

TEST(DecodeImage, RefusesHugeClaimedSizes) {
  std::vector<uint8_t> bmp = MakeBmp(1, 1, {1, 2, 3});
  bmp[20] = 0x01;  // width 65536
  bmp[24] = 0x01;  // height 65536
  ExpectError(
      ErrorCode::kInvalidInput, "more than the limit", [&] { DecodeImage(bmp, "huge.bmp"); });
  std::vector<uint8_t> jpeg = kRedJpeg;
  // Patch the SOF0 frame header to 65535x65535.
  for (size_t pos = 2; pos + 9 < jpeg.size(); ++pos) {
    if (jpeg[pos] == 0xff && jpeg[pos + 1] == 0xc0) {
      jpeg[pos + 5] = jpeg[pos + 6] = jpeg[pos + 7] = jpeg[pos + 8] = 0xff;
      break;
    }
  }
  ExpectError(
      ErrorCode::kInvalidInput, "more than the limit", [&] { DecodeImage(jpeg, "huge.jpg"); });
}

// PNG and JPEG are refused from their headers above kMaxImagePixels (40,000,000), before a
// decoder allocates what they claim: 20000 x 20000 = 400,000,000 (1.2 GB as RGB).
TEST(DecodeImage, RefusesPngAndJpegAboveThePixelLimitFromTheirHeaders) {
  const auto with_png_size = [](uint32_t width, uint32_t height) {
    std::vector<uint8_t> png = EncodePng(MakeGray(2, 2, {0, 1, 2, 3}));
    for (int byte = 0; byte < 4; ++byte) {  // IHDR: width at 16, height at 20, big-endian
      png[16 + byte] = static_cast<uint8_t>(width >> (24 - 8 * byte));
      png[20 + byte] = static_cast<uint8_t>(height >> (24 - 8 * byte));
    }
    return png;
  };
  ExpectError(ErrorCode::kInvalidInput,
              "huge.png: PNG claims 20000x20000 pixels, more than the limit of 40000000",
              [&] { DecodeImage(with_png_size(20000, 20000), "huge.png"); });
  // 8001 x 5000 = 40,005,000: just above.
  ExpectError(ErrorCode::kInvalidInput, "claims 8001x5000", [&] {
    DecodeImage(with_png_size(8001, 5000), "above.png");
  });
  // 2^32 - 1 on both sides: the product (about 1.8e19) must not overflow into a small number.
  ExpectError(ErrorCode::kInvalidInput, "claims 4294967295x4294967295", [&] {
    DecodeImage(with_png_size(0xffffffff, 0xffffffff), "max.png");
  });

  std::vector<uint8_t> jpeg = kRedJpeg;
  // The SOF0 frame header: FF C0, length (2 bytes), precision, height, width.
  for (size_t pos = 2; pos + 9 < jpeg.size(); ++pos) {
    if (jpeg[pos] == 0xff && jpeg[pos + 1] == 0xc0) {
      jpeg[pos + 5] = jpeg[pos + 7] = 20000 >> 8;
      jpeg[pos + 6] = jpeg[pos + 8] = 20000 & 0xff;
      break;
    }
  }
  ExpectError(ErrorCode::kInvalidInput,
              "big.jpg: JPEG claims 20000x20000 pixels, more than the limit of 40000000",
              [&] { DecodeImage(jpeg, "big.jpg"); });
}

TEST(ReadImage, MissingFileIsNotFound) {
  ExpectError(ErrorCode::kNotFound, "no/such.jpg", [] { ReadImage("no/such.jpg"); });
  ExpectError(ErrorCode::kNotFound, "no such image file", [] { ReadImage("."); });
}

TEST(ReadImage, ReadsRealJpegsGrayAndRgb) {
  const std::filesystem::path rgb_path =
      kLabelledDir / "Tripos/ecotaxa_Tripos_00C22BFE-7FDC-4192-8AFF-45D683C50EA4.jpg";
  const std::filesystem::path gray_path =
      kLabelledDir / "Actinoptychus/ecotaxa_Actinoptychus_0A02C03F-CE0F-420C-8325-8F1AC79B5F63.jpg";
  if (!std::filesystem::exists(rgb_path) || !std::filesystem::exists(gray_path)) {
    GTEST_SKIP() << "shared data not present: " << kLabelledDir;
  }
  const Image rgb = ReadImage(rgb_path);
  EXPECT_EQ(rgb.width, 42);
  EXPECT_EQ(rgb.height, 86);
  EXPECT_EQ(rgb.channels, 3);
  EXPECT_TRUE(rgb.IsValid());
  const Image gray = ReadImage(gray_path);
  EXPECT_EQ(gray.width, 89);
  EXPECT_EQ(gray.height, 99);
  EXPECT_EQ(gray.channels, 1);
}

}  // namespace
}  // namespace phytoflow
