#pragma once

// Writing and reading the zip files phytoflow produces and exchanges (Darwin Core Archives,
// EcoTaxa packages). The only place besides the FlowCam export reader that uses libzip.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace phytoflow {

struct ZipEntry {
  std::string name;  // path inside the archive, '/'-separated
  std::vector<uint8_t> bytes;
};

// Writes `entries` in order to `path` atomically: a temporary file beside it is renamed over
// `path` only when complete, so a failure never leaves a half-written archive and an existing
// file stays as it was. Entries get a fixed timestamp (1980-01-01) and mode 0644, so the same
// entries give the same bytes; PNGs are stored, everything else deflated. Throws
// Error{kInvalidInput} for an empty, absolute or repeated entry name (before writing anything)
// and Error{kUnavailable} on I/O failure.
void WriteZip(const std::filesystem::path& path, const std::vector<ZipEntry>& entries);

// Caps on what ReadZip holds in memory, counted on the bytes actually decompressed (a header
// may lie about them). A zip from elsewhere should also pass the reader's CheckZip first.
struct ReadZipOptions {
  uint64_t max_entry_bytes = UINT64_MAX;  // one wanted entry
  uint64_t max_total_bytes = UINT64_MAX;  // all wanted entries together
  std::string display_name;               // names the zip in messages; its path when empty
};

// Every file entry of a zip, in archive order, or only those whose name `wanted` accepts (the
// others are not decompressed). Throws Error{kNotFound} for a missing file and
// Error{kInvalidInput} for something that is not a readable zip or an entry beyond the caps of
// `options` (stopping within 64 KiB of the cap).
std::vector<ZipEntry> ReadZip(const std::filesystem::path& path,
                              const std::function<bool(std::string_view name)>& wanted = {},
                              const ReadZipOptions& options = {});

}  // namespace phytoflow
