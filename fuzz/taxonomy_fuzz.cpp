// Fuzzes the taxonomy TSV parser: a table it accepts must print back to the same table.

#include "phytoflow/core/error.h"
#include "phytoflow/products/taxonomy.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kMaxBytes = 64 * 1024;
  if (size > kMaxBytes) {
    return -1;
  }
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const phytoflow::Taxonomy taxonomy = phytoflow::ParseTaxonomy(text, "fuzz.tsv");
    const phytoflow::Taxonomy again =
        phytoflow::ParseTaxonomy(phytoflow::TaxonomyTsv(taxonomy), "round-trip.tsv");
    if (again.Taxa() != taxonomy.Taxa() || again.Version() != taxonomy.Version()) {
      std::abort();  // TaxonomyTsv lost or changed something
    }
  } catch (const phytoflow::Error&) {
  }
  return 0;
}
