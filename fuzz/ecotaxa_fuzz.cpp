// Fuzzes the EcoTaxa TSV reader (export and import forms).

#include "phytoflow/core/error.h"
#include "phytoflow/products/ecotaxa.h"

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
    (void)phytoflow::ParseEcoTaxaTsv(text, "fuzz.tsv");
  } catch (const phytoflow::Error&) {
  }
  return 0;
}
