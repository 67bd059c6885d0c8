#pragma once

// Helpers shared by the benchmarks: peak memory, synthetic exports cached between runs.

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "testing/synthetic_export.h"

namespace phytoflow::bench {

// Peak resident set size of this process so far (VmHWM), in MiB.
inline double PeakRssMiB() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmHWM:") {
      int64_t kib = 0;
      status >> kib;
      return static_cast<double>(kib) / 1024.0;
    }
    std::getline(status, key);
  }
  return 0.0;
}

// True when scripts/test runs the benchmark only to see that it still works.
inline bool SmokeRun() {
  return std::getenv("PHYTOFLOW_BENCH_SMOKE") != nullptr;
}

// A synthetic export of `particles` particles, written once under the temp folder and reused.
inline std::filesystem::path SyntheticExport(int64_t particles) {
  const auto folder = std::filesystem::temp_directory_path() /
                      ("phytoflow-bench-synthetic-" + std::to_string(particles));
  if (!std::filesystem::exists(folder / "done")) {
    std::filesystem::remove_all(folder);
    fixtures::WriteSyntheticExport(folder, {.run_name = "synthetic", .particles = particles});
    std::ofstream(folder / "done") << "ok";
  }
  return folder;
}

}  // namespace phytoflow::bench
