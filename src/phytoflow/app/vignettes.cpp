#include "phytoflow/app/vignettes.h"

#include "phytoflow/core/error.h"

#include <fstream>

namespace phytoflow {

std::string VignetteFileName(const Sample& sample, const Particle& particle) {
  if (!particle.guid.empty()) {
    return particle.guid + ".png";
  }
  return sample.run_name + "_" + std::to_string(particle.number) + ".png";
}

VignetteExport ExportVignettes(const Store& store,
                               const std::string& sample_id,
                               const std::filesystem::path& folder) {
  const auto sample = store.FindSample(sample_id);
  Check(sample.has_value(), ErrorCode::kNotFound, "no sample '" + sample_id + "' in the store");
  std::filesystem::create_directories(folder);
  VignetteExport result;
  store.ScanParticles(sample_id, {.images = true}, [&](const Particle& particle) {
    if (particle.image_png.empty()) {
      ++result.missing;
      return;
    }
    const std::filesystem::path path = folder / VignetteFileName(*sample, particle);
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(particle.image_png.data()),
              static_cast<std::streamsize>(particle.image_png.size()));
    Check(static_cast<bool>(out), ErrorCode::kUnavailable, "cannot write " + path.string());
    ++result.written;
  });
  return result;
}

}  // namespace phytoflow
