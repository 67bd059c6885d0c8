#pragma once

#include "phytoflow/imaging/image.h"

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace phytoflow {

// Decodes the first page of a TIFF held in memory into 8-bit gray (1 channel) or RGB
// (3 channels; an alpha channel is dropped). Any compression libtiff supports (FlowCam
// collages are LZW). Throws Error{kInvalidInput} naming `name` when the bytes are not a TIFF
// this can read, or when the page is larger than kMaxTiffPixels.
Image DecodeTiff(std::span<const uint8_t> bytes, const std::string& name);

// Reads and decodes a TIFF file. Throws Error{kNotFound} if it cannot be opened.
Image ReadTiff(const std::filesystem::path& path);

// Encodes an image as an LZW-compressed TIFF (used by tests and the synthetic export
// generator to write collages).
std::vector<uint8_t> EncodeTiff(const Image& image);

// Pages larger than this are refused, so a corrupt header cannot make us allocate gigabytes.
inline constexpr int64_t kMaxTiffPixels = int64_t{20000} * 20000;

}  // namespace phytoflow
