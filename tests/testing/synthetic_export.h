#pragma once

// Writes small, valid FlowCam exports for tests and benchmarks: a 65-field .lst, RGB LZW
// collages packed in shelves on black like VisualSpreadsheet's, _bin masks, .ctx, run summary,
// .cla and .edg. Every value is derived from the seed, so a spec always gives the same files.

#include <cstdint>
#include <filesystem>
#include <string>

namespace phytoflow::fixtures {

struct ExportSpec {
  std::string run_name = "synthetic_run";
  int64_t particles = 100;
  int page_width = 1292;
  int page_height = 964;
  int min_side_px = 12;  // vignette sides are drawn from [min_side_px, max_side_px]
  int max_side_px = 48;
  uint32_t seed = 1;
  bool guids = true;                 // write the image_id column
  bool masks = true;                 // write _bin pages
  bool crlf = false;                 // CRLF line endings in the list
  double volume_imaged_ml = 0.1418;  // written to the run summary; <= 0: no summary
  bool classification = true;        // write a .cla with two classes
};

// Writes the export into `folder` (created if needed) and returns the path of the .lst.
std::filesystem::path WriteSyntheticExport(const std::filesystem::path& folder,
                                           const ExportSpec& spec);

// A fresh temporary folder, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& Path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The repository root (tests run there; PHYTOFLOW_SOURCE_DIR overrides).
std::filesystem::path SourceDir();
// ../shared/data relative to the repository root.
std::filesystem::path SharedData();

}  // namespace phytoflow::fixtures
