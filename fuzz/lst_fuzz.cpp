// Fuzzes the particle table readers: the .lst/.flb list, or the VS 4.x .csv when the input
// starts with "Particle ID".

#include "phytoflow/core/error.h"
#include "phytoflow/reader/list_reader.h"

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kMaxBytes = 64 * 1024;
  if (size > kMaxBytes) {
    return -1;
  }
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::istringstream in(text);
  try {
    phytoflow::Particle particle;
    if (text.starts_with("Particle ID")) {
      phytoflow::CsvListReader reader(in, "fuzz.csv");
      while (reader.Next(particle)) {
      }
    } else {
      phytoflow::ListReader reader(in, "fuzz.lst");
      while (reader.Next(particle)) {
      }
    }
  } catch (const phytoflow::Error&) {
    // A located error is the expected answer to bad input.
  }
  return 0;
}
