#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

namespace phytoflow {

// The whole file in one read (an istreambuf_iterator copy costs ~200 ms per collage in debug
// builds). Throws Error{kNotFound} naming `what` ("TIFF file", "image file") if `path` is not
// a readable regular file, Error{kUnavailable} on a read error.
std::vector<uint8_t> ReadFileBytes(const std::filesystem::path& path, std::string_view what);

}  // namespace phytoflow
