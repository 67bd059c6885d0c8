// Fuzzes the .ctx (INI) reader and the lookups and volume derivation that use it.

#include "phytoflow/reader/context_reader.h"
#include "phytoflow/reader/volume.h"

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kMaxBytes = 64 * 1024;
  if (size > kMaxBytes) {
    return -1;
  }
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  phytoflow::Diagnostics diagnostics;
  const phytoflow::KeyValueFile context = phytoflow::ReadContext(in, "fuzz.ctx", diagnostics);
  (void)context.Find("Fluid", "calibrationconstant");
  (void)phytoflow::EstimateVolumeImaged(context, {}, {}, std::nullopt);
  (void)phytoflow::EstimateVolumeImaged(context, {}, {}, 0.5544);
  (void)phytoflow::DilutionFactor(context);
  return 0;
}
