// Fuzzes the run summary readers (_run_summary.txt, _summary.csv) and the .edg outline reader.

#include "phytoflow/reader/context_reader.h"
#include "phytoflow/reader/outline_reader.h"
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
  const std::string text(reinterpret_cast<const char*>(data), size);
  phytoflow::Diagnostics diagnostics;
  std::istringstream summary_in(text);
  const auto run_summary =
      phytoflow::ReadRunSummary(summary_in, "fuzz_run_summary.txt", diagnostics);
  std::istringstream csv_in(text);
  const auto summary_csv = phytoflow::ReadSummaryCsv(csv_in, "fuzz_summary.csv", diagnostics);
  (void)phytoflow::EstimateVolumeImaged({}, run_summary, summary_csv, std::nullopt);
  std::istringstream outlines_in(text);
  phytoflow::OutlineReader outlines(outlines_in, "fuzz.edg");
  for (int64_t number = 0; number < 64; ++number) {
    (void)outlines.Take(number, diagnostics);
  }
  return 0;
}
