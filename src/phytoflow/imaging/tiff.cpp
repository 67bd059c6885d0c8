#include "phytoflow/imaging/tiff.h"

#include "phytoflow/core/error.h"
#include "phytoflow/imaging/file_bytes.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <new>
#include <system_error>
#include <utility>

#include <tiffio.h>

namespace phytoflow {
namespace {

// Decoded pages up to this size are always allowed; larger ones must be backed by enough
// compressed bytes (see kMaxCompressionRatio), so a 200-byte header cannot make us allocate
// and zero a gigabyte.
constexpr int64_t kAlwaysAllowedDecodeBytes = int64_t{16} << 20;
// LZW peaks near 1365:1 and Deflate near 1032:1 on constant images; 4096 leaves room.
constexpr int64_t kMaxCompressionRatio = 4096;
// Cap on any single allocation libtiff makes for us (strip buffers, tag arrays).
constexpr tmsize_t kMaxLibtiffAllocBytes = tmsize_t{256} << 20;
// Keeps the message readable when garbage makes libtiff complain about every tag.
constexpr size_t kMaxErrorTextBytes = 600;

// Collects libtiff's error messages for one handle instead of letting it print to stderr.
struct TiffMessages {
  std::string errors;
};

int CollectError(
    TIFF* /*tif*/, void* user_data, const char* module, const char* format, va_list args) {
  auto* messages = static_cast<TiffMessages*>(user_data);
  if (messages == nullptr || messages->errors.size() >= kMaxErrorTextBytes) {
    return 1;
  }
  char text[256];
  std::vsnprintf(text, sizeof(text), format, args);
  try {
    if (!messages->errors.empty()) {
      messages->errors += "; ";
    }
    if (module != nullptr && module[0] != '\0') {
      messages->errors += module;
      messages->errors += ": ";
    }
    messages->errors += text;
  } catch (...) {
    // Called from C: nothing may unwind through libtiff; losing the text is acceptable.
  }
  return 1;  // handled: do not call the global handler (which prints)
}

int IgnoreWarning(TIFF*, void*, const char*, const char*, va_list) {
  return 1;  // warnings (unknown tags, ...) are not worth surfacing
}

// A read-only file over caller-owned bytes. The callbacks are C, so they never throw.
struct MemoryReader {
  const uint8_t* data = nullptr;
  uint64_t size = 0;
  uint64_t offset = 0;
};

// A growing in-memory file for the encoder.
struct MemoryWriter {
  std::vector<uint8_t> bytes;
  uint64_t offset = 0;
};

// Resolves a seek; returns false for positions before the start or beyond int64.
bool ResolveSeek(uint64_t current, uint64_t size, toff_t offset, int whence, uint64_t& result) {
  const auto delta = static_cast<int64_t>(offset);  // libtiff passes negative deltas wrapped
  int64_t base = 0;
  switch (whence) {
    case SEEK_SET:
      if (offset > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return false;
      }
      result = offset;
      return true;
    case SEEK_CUR:
      base = static_cast<int64_t>(current);
      break;
    case SEEK_END:
      base = static_cast<int64_t>(size);
      break;
    default:
      return false;
  }
  int64_t position = 0;
  if (__builtin_add_overflow(base, delta, &position) || position < 0) {
    return false;
  }
  result = static_cast<uint64_t>(position);
  return true;
}

tmsize_t ReaderRead(thandle_t handle, void* buffer, tmsize_t size) {
  auto* file = static_cast<MemoryReader*>(handle);
  if (size <= 0 || file->offset >= file->size) {
    return 0;
  }
  const uint64_t count = std::min<uint64_t>(static_cast<uint64_t>(size), file->size - file->offset);
  std::memcpy(buffer, file->data + file->offset, count);
  file->offset += count;
  return static_cast<tmsize_t>(count);
}

tmsize_t ReaderWrite(thandle_t, void*, tmsize_t) {
  return -1;
}

toff_t ReaderSeek(thandle_t handle, toff_t offset, int whence) {
  auto* file = static_cast<MemoryReader*>(handle);
  uint64_t position = 0;
  if (!ResolveSeek(file->offset, file->size, offset, whence, position)) {
    return static_cast<toff_t>(-1);
  }
  file->offset = position;  // past the end is allowed; reads there return 0 bytes
  return position;
}

toff_t ReaderSize(thandle_t handle) {
  return static_cast<MemoryReader*>(handle)->size;
}

tmsize_t WriterRead(thandle_t handle, void* buffer, tmsize_t size) {
  auto* file = static_cast<MemoryWriter*>(handle);
  if (size <= 0 || file->offset >= file->bytes.size()) {
    return 0;
  }
  const uint64_t count =
      std::min<uint64_t>(static_cast<uint64_t>(size), file->bytes.size() - file->offset);
  std::memcpy(buffer, file->bytes.data() + file->offset, count);
  file->offset += count;
  return static_cast<tmsize_t>(count);
}

tmsize_t WriterWrite(thandle_t handle, void* buffer, tmsize_t size) {
  auto* file = static_cast<MemoryWriter*>(handle);
  if (size <= 0) {
    return 0;
  }
  const auto count = static_cast<uint64_t>(size);
  try {
    if (file->offset + count > file->bytes.size()) {
      file->bytes.resize(file->offset + count);
    }
  } catch (const std::bad_alloc&) {
    return -1;  // an exception must not unwind through libtiff's C frames
  }
  std::memcpy(file->bytes.data() + file->offset, buffer, count);
  file->offset += count;
  return size;
}

toff_t WriterSeek(thandle_t handle, toff_t offset, int whence) {
  auto* file = static_cast<MemoryWriter*>(handle);
  uint64_t position = 0;
  if (!ResolveSeek(file->offset, file->bytes.size(), offset, whence, position)) {
    return static_cast<toff_t>(-1);
  }
  file->offset = position;  // a later write past the end zero-fills the gap
  return position;
}

toff_t WriterSize(thandle_t handle) {
  return static_cast<MemoryWriter*>(handle)->bytes.size();
}

int CloseNothing(thandle_t) {
  return 0;
}

int MapNothing(thandle_t, void**, toff_t*) {
  return 0;  // no memory mapping: libtiff then reads through ReaderRead
}

void UnmapNothing(thandle_t, void*, toff_t) {}

struct TiffCloser {
  void operator()(TIFF* tif) const { TIFFClose(tif); }
};
using TiffHandle = std::unique_ptr<TIFF, TiffCloser>;

struct OptionsFreer {
  void operator()(TIFFOpenOptions* options) const { TIFFOpenOptionsFree(options); }
};

// Opens `file` through libtiff with per-handle message handlers, so nothing is printed and
// concurrent decodes do not share state.
TiffHandle OpenClient(const std::string& name,
                      const char* mode,
                      thandle_t file,
                      TIFFReadWriteProc read,
                      TIFFReadWriteProc write,
                      TIFFSeekProc seek,
                      TIFFSizeProc size,
                      TiffMessages& messages) {
  std::unique_ptr<TIFFOpenOptions, OptionsFreer> options(TIFFOpenOptionsAlloc());
  if (!options) {
    throw std::bad_alloc();
  }
  TIFFOpenOptionsSetErrorHandlerExtR(options.get(), CollectError, &messages);
  TIFFOpenOptionsSetWarningHandlerExtR(options.get(), IgnoreWarning, nullptr);
  TIFFOpenOptionsSetMaxSingleMemAlloc(options.get(), kMaxLibtiffAllocBytes);
  // libtiff copies the options into the handle, so they may be freed right after.
  return TiffHandle(TIFFClientOpenExt(name.c_str(),
                                      mode,
                                      file,
                                      read,
                                      write,
                                      seek,
                                      CloseNothing,
                                      size,
                                      MapNothing,
                                      UnmapNothing,
                                      options.get()));
}

[[noreturn]] void ThrowInvalid(const std::string& name,
                               const std::string& what,
                               const TiffMessages& messages) {
  std::string message = name + ": " + what;
  if (!messages.errors.empty()) {
    message += " (libtiff: " + messages.errors + ")";
  }
  throw Error(ErrorCode::kInvalidInput, message);
}

std::string SizeText(uint32_t width, uint32_t height) {
  return std::to_string(width) + "x" + std::to_string(height);
}

// The page layout read from the first directory.
struct PageInfo {
  uint32_t width = 0;
  uint32_t height = 0;
  uint16_t samples_per_pixel = 1;
  uint16_t bits_per_sample = 1;
  uint16_t sample_format = SAMPLEFORMAT_UINT;
  uint16_t planar_config = PLANARCONFIG_CONTIG;
  uint16_t photometric = 0;
  bool has_photometric = false;
  bool tiled = false;
};

PageInfo ReadPageInfo(TIFF* tif) {
  PageInfo info;
  TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &info.width);
  TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &info.height);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &info.samples_per_pixel);
  TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &info.bits_per_sample);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &info.sample_format);
  TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &info.planar_config);
  info.has_photometric = TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &info.photometric) == 1;
  info.tiled = TIFFIsTiled(tif) != 0;
  return info;
}

// Channels we produce for a page: 1 for gray-like photometrics, else 3.
int OutputChannels(const PageInfo& info) {
  if (!info.has_photometric) {
    return info.samples_per_pixel >= 3 ? 3 : 1;  // what libtiff guesses too
  }
  const bool gray =
      info.photometric == PHOTOMETRIC_MINISBLACK || info.photometric == PHOTOMETRIC_MINISWHITE;
  return gray ? 1 : 3;
}

// True for the layouts FlowCam writes (8-bit gray, 8-bit RGB/RGBA in strips), which we
// decode strip by strip straight from libtiff's output. Everything else goes through
// TIFFReadRGBAImage.
bool IsFastPath(const PageInfo& info) {
  if (info.tiled || info.bits_per_sample != 8 || info.sample_format != SAMPLEFORMAT_UINT ||
      !info.has_photometric || info.samples_per_pixel > 4) {
    return false;
  }
  if (info.planar_config != PLANARCONFIG_CONTIG && info.planar_config != PLANARCONFIG_SEPARATE) {
    return false;
  }
  if (info.photometric == PHOTOMETRIC_MINISBLACK || info.photometric == PHOTOMETRIC_MINISWHITE) {
    return info.samples_per_pixel >= 1;
  }
  return info.photometric == PHOTOMETRIC_RGB && info.samples_per_pixel >= 3;
}

// Refuses pages whose decoded size is implausible for the number of bytes we were given.
void CheckDecodeBudget(const std::string& name,
                       const PageInfo& info,
                       int64_t decoded_bytes,
                       size_t file_bytes,
                       const TiffMessages& messages) {
  if (decoded_bytes > kAlwaysAllowedDecodeBytes &&
      decoded_bytes / kMaxCompressionRatio > static_cast<int64_t>(file_bytes)) {
    ThrowInvalid(name,
                 "page claims " + SizeText(info.width, info.height) + " pixels (" +
                     std::to_string(decoded_bytes) + " decoded bytes) but the file has only " +
                     std::to_string(file_bytes) + " bytes",
                 messages);
  }
}

void DecodeStrips(TIFF* tif,
                  const std::string& name,
                  const PageInfo& info,
                  const TiffMessages& messages,
                  Image& image) {
  uint32_t rows_per_strip = 0;
  TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
  if (rows_per_strip == 0) {
    ThrowInvalid(name, "RowsPerStrip is 0", messages);
  }
  rows_per_strip = std::min(rows_per_strip, info.height);

  const bool separate = info.planar_config == PLANARCONFIG_SEPARATE;
  const size_t width = info.width;
  const size_t out_channels = static_cast<size_t>(image.channels);
  const size_t in_channels = separate ? 1 : info.samples_per_pixel;
  const size_t in_row_bytes = width * in_channels;
  if (TIFFScanlineSize64(tif) != in_row_bytes) {
    ThrowInvalid(name,
                 "unexpected scanline size " + std::to_string(TIFFScanlineSize64(tif)) +
                     ", expected " + std::to_string(in_row_bytes),
                 messages);
  }
  const size_t out_row_bytes = width * out_channels;
  // Gray and RGB contig strips decode straight into the image; the rest needs a copy.
  const bool direct = !separate && in_channels == out_channels;
  std::vector<uint8_t> strip_buffer;
  if (!direct) {
    strip_buffer.resize(in_row_bytes * rows_per_strip);
  }
  const size_t planes = separate ? out_channels : 1;  // alpha planes are never read
  const uint32_t strip_count = TIFFNumberOfStrips(tif);

  for (size_t plane_idx = 0; plane_idx < planes; ++plane_idx) {
    for (uint32_t row = 0; row < info.height; row += rows_per_strip) {
      const uint32_t rows = std::min(rows_per_strip, info.height - row);
      const uint32_t strip = TIFFComputeStrip(tif, row, static_cast<uint16_t>(plane_idx));
      if (strip >= strip_count) {
        ThrowInvalid(name,
                     "row " + std::to_string(row) + " needs strip " + std::to_string(strip) +
                         " but the file has " + std::to_string(strip_count),
                     messages);
      }
      const size_t expected = in_row_bytes * rows;
      uint8_t* target = direct ? image.pixels.data() + row * out_row_bytes : strip_buffer.data();
      const tmsize_t got =
          TIFFReadEncodedStrip(tif, strip, target, static_cast<tmsize_t>(expected));
      if (got < 0 || static_cast<size_t>(got) != expected) {
        ThrowInvalid(name,
                     "cannot decode strip " + std::to_string(strip) + " (rows " +
                         std::to_string(row) + "-" + std::to_string(row + rows - 1) + ")",
                     messages);
      }
      if (direct) {
        continue;
      }
      // Scatter: drop extra samples (alpha) or interleave one plane.
      for (size_t strip_row = 0; strip_row < rows; ++strip_row) {
        const uint8_t* src = strip_buffer.data() + strip_row * in_row_bytes;
        uint8_t* dst = image.pixels.data() + (row + strip_row) * out_row_bytes;
        if (separate) {
          for (size_t col = 0; col < width; ++col) {
            dst[col * out_channels + plane_idx] = src[col];
          }
        } else {
          for (size_t col = 0; col < width; ++col) {
            for (size_t channel = 0; channel < out_channels; ++channel) {
              dst[col * out_channels + channel] = src[col * in_channels + channel];
            }
          }
        }
      }
    }
  }
  if (info.photometric == PHOTOMETRIC_MINISWHITE) {
    for (uint8_t& value : image.pixels) {
      value = static_cast<uint8_t>(255 - value);
    }
  }
}

// Palette, bilevel, 16-bit, tiled, YCbCr/JPEG...: libtiff converts to 8-bit RGBA for us.
void DecodeViaRgba(TIFF* tif,
                   const std::string& name,
                   const PageInfo& info,
                   const TiffMessages& messages,
                   Image& image) {
  char reason[1024] = {};
  if (TIFFRGBAImageOK(tif, reason) != 1) {
    ThrowInvalid(name, std::string("unsupported TIFF layout: ") + reason, messages);
  }
  const size_t pixel_count = size_t{info.width} * info.height;
  std::vector<uint32_t> raster(pixel_count);
  if (TIFFReadRGBAImageOriented(
          tif, info.width, info.height, raster.data(), ORIENTATION_TOPLEFT, 0) != 1) {
    ThrowInvalid(name, "cannot decode page", messages);
  }
  const size_t channels = static_cast<size_t>(image.channels);
  for (size_t pixel_idx = 0; pixel_idx < pixel_count; ++pixel_idx) {
    const uint32_t abgr = raster[pixel_idx];
    uint8_t* dst = image.pixels.data() + pixel_idx * channels;
    dst[0] = static_cast<uint8_t>(TIFFGetR(abgr));
    if (channels == 3) {
      dst[1] = static_cast<uint8_t>(TIFFGetG(abgr));
      dst[2] = static_cast<uint8_t>(TIFFGetB(abgr));
    }
  }
}

}  // namespace

Image DecodeTiff(std::span<const uint8_t> bytes, const std::string& name) {
  // Check the magic before handing bytes to libtiff: clearer message, less work.
  static constexpr uint8_t kLittle[] = {'I', 'I'};
  static constexpr uint8_t kBig[] = {'M', 'M'};
  if (bytes.size() < 8) {
    throw Error(
        ErrorCode::kInvalidInput,
        name + ": not a TIFF (" + std::to_string(bytes.size()) + " bytes, a TIFF header needs 8)");
  }
  if (!std::equal(kLittle, kLittle + 2, bytes.begin()) &&
      !std::equal(kBig, kBig + 2, bytes.begin())) {
    throw Error(ErrorCode::kInvalidInput,
                name + ": not a TIFF (expected 'II' or 'MM' at the start)");
  }
  TiffMessages messages;
  MemoryReader file{.data = bytes.data(), .size = bytes.size()};
  // "m": never map; our reader already is memory.
  TiffHandle tif =
      OpenClient(name, "rm", &file, ReaderRead, ReaderWrite, ReaderSeek, ReaderSize, messages);
  if (!tif) {
    ThrowInvalid(name, "not a readable TIFF", messages);
  }
  const PageInfo info = ReadPageInfo(tif.get());
  if (info.width == 0 || info.height == 0) {
    ThrowInvalid(name, "page has size " + SizeText(info.width, info.height), messages);
  }
  // Each side is a uint32 in the file: two large ones overflow an int64 product but not a
  // uint64 one (found by tiff_fuzz).
  const bool too_large = uint64_t{info.width} * info.height > static_cast<uint64_t>(kMaxTiffPixels);
  const int64_t pixel_count = too_large ? kMaxTiffPixels + 1 : int64_t{info.width} * info.height;
  if (too_large) {
    ThrowInvalid(name,
                 "page is " + SizeText(info.width, info.height) +
                     " pixels, more than the limit of " + std::to_string(kMaxTiffPixels),
                 messages);
  }
  const bool fast = IsFastPath(info);
  const int64_t bytes_per_pixel = fast ? int64_t{info.samples_per_pixel} : 4;
  CheckDecodeBudget(name, info, pixel_count * bytes_per_pixel, bytes.size(), messages);

  // Both sides are below kMaxTiffPixels (4e8), so they fit in int.
  Image image{.width = static_cast<int>(info.width),
              .height = static_cast<int>(info.height),
              .channels = OutputChannels(info),
              .pixels = {}};
  image.pixels.resize(static_cast<size_t>(pixel_count) * static_cast<size_t>(image.channels));
  if (fast) {
    DecodeStrips(tif.get(), name, info, messages, image);
  } else {
    DecodeViaRgba(tif.get(), name, info, messages, image);
  }
  return image;
}

Image ReadTiff(const std::filesystem::path& path) {
  return DecodeTiff(ReadFileBytes(path, "TIFF file"), path.string());
}

std::vector<uint8_t> EncodeTiff(const Image& image) {
  if (!image.IsValid()) {
    throw Error(ErrorCode::kInvalidInput,
                "cannot encode TIFF: image " + std::to_string(image.width) + "x" +
                    std::to_string(image.height) + "x" + std::to_string(image.channels) + " with " +
                    std::to_string(image.pixels.size()) +
                    " bytes is malformed (expected 1 or 3 channels)");
  }
  TiffMessages messages;
  MemoryWriter file;
  TiffHandle tif = OpenClient(
      "memory.tif", "w", &file, WriterRead, WriterWrite, WriterSeek, WriterSize, messages);
  if (!tif) {
    throw Error(ErrorCode::kInternal, "cannot create TIFF encoder: " + messages.errors);
  }
  const auto width = static_cast<uint32_t>(image.width);
  const auto height = static_cast<uint32_t>(image.height);
  const auto channels = static_cast<uint16_t>(image.channels);
  TIFFSetField(tif.get(), TIFFTAG_IMAGEWIDTH, width);
  TIFFSetField(tif.get(), TIFFTAG_IMAGELENGTH, height);
  TIFFSetField(tif.get(), TIFFTAG_SAMPLESPERPIXEL, channels);
  TIFFSetField(tif.get(), TIFFTAG_BITSPERSAMPLE, uint16_t{8});
  TIFFSetField(
      tif.get(), TIFFTAG_PHOTOMETRIC, channels == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB);
  TIFFSetField(tif.get(), TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(tif.get(), TIFFTAG_COMPRESSION, COMPRESSION_LZW);
  TIFFSetField(tif.get(), TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
  const uint32_t rows_per_strip = TIFFDefaultStripSize(tif.get(), 0);
  TIFFSetField(tif.get(), TIFFTAG_ROWSPERSTRIP, rows_per_strip);

  const size_t row_bytes = size_t{width} * channels;
  std::vector<uint8_t> scratch;  // libtiff may scribble on the buffer it is given
  for (uint32_t row = 0; row < height; row += rows_per_strip) {
    const uint32_t rows = std::min(rows_per_strip, height - row);
    const auto first = image.pixels.begin() + static_cast<std::ptrdiff_t>(row * row_bytes);
    scratch.assign(first, first + static_cast<std::ptrdiff_t>(rows * row_bytes));
    const uint32_t strip = TIFFComputeStrip(tif.get(), row, 0);
    if (TIFFWriteEncodedStrip(
            tif.get(), strip, scratch.data(), static_cast<tmsize_t>(scratch.size())) < 0) {
      throw Error(ErrorCode::kInternal, "cannot encode TIFF strip: " + messages.errors);
    }
  }
  if (TIFFWriteDirectory(tif.get()) != 1) {
    throw Error(ErrorCode::kInternal, "cannot write TIFF directory: " + messages.errors);
  }
  tif.reset();  // TIFFClose flushes into `file`
  return std::move(file.bytes);
}

}  // namespace phytoflow
