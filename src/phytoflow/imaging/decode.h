#pragma once

// Image files of any format a labelled dataset may hold, decoded to our Image:
//
//   Image vignette = ReadImage("Tripos/ecotaxa_Tripos_00C22BFE.jpg");  // gray or RGB

#include "phytoflow/imaging/image.h"

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace phytoflow {

// PNG, JPEG and BMP images larger than this are refused from their header, before decoding:
// a PNG of 1 MB can claim 20000 x 20000 pixels and take gigabytes to decode. 40 megapixels is
// far above any vignette, collage or calibration image (FlowCam cameras have 1-5 megapixels).
inline constexpr int64_t kMaxImagePixels = 40'000'000;

// Decodes PNG, JPEG, BMP or TIFF bytes (recognised by their signature, not by `name`) to 8-bit
// gray (1 channel) or RGB (3 channels, never BGR; alpha is dropped). Gray stays gray, even in a
// format that could store colour. Throws Error{kInvalidInput} naming `name` when the bytes are
// none of these formats, are corrupt, or claim more than kMaxImagePixels pixels (a TIFF:
// kMaxTiffPixels).
Image DecodeImage(std::span<const uint8_t> bytes, const std::string& name);

// Reads and decodes an image file (see DecodeImage). Throws Error{kNotFound} if it is missing
// or not a regular file.
Image ReadImage(const std::filesystem::path& path);

}  // namespace phytoflow
