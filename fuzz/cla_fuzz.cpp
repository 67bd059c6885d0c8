// Fuzzes the .cla classification reader; what it reads must write back to the same structure.

#include "phytoflow/core/error.h"
#include "phytoflow/reader/classification_reader.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kMaxBytes = 64 * 1024;
  if (size > kMaxBytes) {
    return -1;
  }
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const auto classifications = phytoflow::ReadClassifications(in, "fuzz.cla");
    std::ostringstream out;
    phytoflow::WriteClassifications(out, classifications);
    std::istringstream again(out.str());
    if (phytoflow::ReadClassifications(again, "again.cla") != classifications) {
      std::abort();  // the round trip lost something
    }
  } catch (const phytoflow::Error&) {
  }
  return 0;
}
