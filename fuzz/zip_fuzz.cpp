// libFuzzer target for the zip checks that guard every uploaded export: arbitrary bytes must
// either be refused with phytoflow::Error or pass CheckZip within its limits and then unpack,
// inside the destination and within the same limits (UnpackZip checks again and counts the
// bytes actually written).
#include "phytoflow/core/error.h"
#include "phytoflow/reader/export_source.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;

// Small limits keep each run fast; the checks are the same whatever the numbers.
constexpr phytoflow::ZipLimits kLimits{
    .max_entries = 64, .max_unpacked_bytes = uint64_t{1} << 20, .max_ratio = 1000};

// libzip reads files, so each input is written to one file of this process.
const fs::path& Scratch() {
  static const fs::path folder = [] {
    const fs::path path = fs::temp_directory_path() / ("zip_fuzz-" + std::to_string(getpid()));
    fs::create_directories(path);
    return path;
  }();
  return folder;
}

// Everything unpacked is a plain file or folder, and the bytes add up to at most the limit.
void CheckUnpacked(const fs::path& destination) {
  uint64_t bytes = 0;
  for (const auto& entry : fs::recursive_directory_iterator(destination)) {
    if (entry.is_symlink() || !(entry.is_regular_file() || entry.is_directory())) {
      std::abort();
    }
    if (entry.is_regular_file()) {
      bytes += entry.file_size();
    }
  }
  if (bytes > kLimits.max_unpacked_bytes) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path zip = Scratch() / "input.zip";
  const fs::path destination = Scratch() / "unpacked";
  {
    std::ofstream out(zip, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  std::error_code ignored;
  fs::remove_all(destination, ignored);
  fs::create_directories(destination);
  try {
    const phytoflow::ZipSummary summary = phytoflow::CheckZip(zip, kLimits, "fuzz.zip");
    if (summary.entries > kLimits.max_entries ||
        summary.unpacked_bytes > kLimits.max_unpacked_bytes) {
      std::abort();  // accepted beyond the limits
    }
    phytoflow::UnpackZip(zip, destination, kLimits, "fuzz.zip");
    CheckUnpacked(destination);
  } catch (const phytoflow::Error& error) {
    // Expected for malformed or hostile input; but a server path must never reach a message,
    // unless the input itself spelt it (an entry name the fuzzer learnt from our comparisons).
    const std::string scratch = Scratch().string();
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    if (std::string(error.what()).find(scratch) != std::string::npos &&
        input.find(scratch) == std::string_view::npos) {
      std::abort();
    }
  }
  fs::remove_all(destination, ignored);
  return 0;
}
