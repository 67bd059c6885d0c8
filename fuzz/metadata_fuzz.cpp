// Fuzzes the sample metadata sidecar reader (CSV and JSON) and the validation of every value.

#include "phytoflow/app/metadata.h"
#include "phytoflow/core/error.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kMaxBytes = 64 * 1024;
  if (size < 1 || size > kMaxBytes) {
    return -1;
  }
  // The first byte picks the format, so one corpus covers both.
  const std::string file_name = (data[0] & 1) ? "fuzz.json" : "fuzz.csv";
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    for (const phytoflow::MetadataRecord& record : phytoflow::ParseMetadataText(text, file_name)) {
      // Whatever was accepted must validate and print back.
      phytoflow::ValidateMetadata(record.metadata);
      (void)phytoflow::MetadataValues(record.metadata);
      (void)phytoflow::DayOfYear(record.metadata);
    }
  } catch (const phytoflow::Error&) {
    // Bad input must end in an Error, never in a crash or another exception.
  }
  return 0;
}
