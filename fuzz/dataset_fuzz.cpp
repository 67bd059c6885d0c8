// Fuzzes the reader of dataset.json, the dataset description of a Darwin Core Archive.

#include "phytoflow/core/error.h"
#include "phytoflow/products/darwin_core.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kMaxBytes = 64 * 1024;
  if (size > kMaxBytes) {
    return -1;
  }
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)phytoflow::ParseDatasetDescription(text, "fuzz.json");
  } catch (const phytoflow::Error&) {
  }
  return 0;
}
