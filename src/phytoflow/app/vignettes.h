#pragma once

#include "phytoflow/storage/store.h"

#include <cstdint>
#include <filesystem>
#include <string>

namespace phytoflow {

struct VignetteExport {
  int64_t written = 0;  // PNG files written
  int64_t missing = 0;  // particles stored without image
};

// Writes one PNG per particle of the sample into `folder` (created if needed), named by the
// particle's GUID, or "<run>_<number>.png" for lists without GUIDs. Throws Error{kNotFound}
// for an unknown sample.
VignetteExport ExportVignettes(const Store& store,
                               const std::string& sample_id,
                               const std::filesystem::path& folder);

// The file name of a particle's vignette.
std::string VignetteFileName(const Sample& sample, const Particle& particle);

}  // namespace phytoflow
