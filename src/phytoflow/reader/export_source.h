#pragma once

// Finds the FlowCam runs in what the user points at: a run folder, a folder of run folders, or
// a .zip of either. A zip is unpacked into a private temporary folder that lives as long as the
// ExportSource.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace phytoflow {

// The files of one run. Only `list` is required; the rest is used when present.
struct RunFiles {
  std::string source;  // where the run was read from, as the user named it (a zip: "x.zip:sub/dir")
  std::filesystem::path folder;
  std::filesystem::path list;  // .lst, .flb (VS library) or, without either, the VS 4.x .csv
  bool list_is_csv = false;
  std::optional<std::filesystem::path> context;           // .ctx
  std::optional<std::filesystem::path> classification;    // .cla
  std::optional<std::filesystem::path> outlines;          // .edg
  std::optional<std::filesystem::path> run_summary;       // _run_summary.txt
  std::optional<std::filesystem::path> summary_csv;       // _summary.csv
  std::optional<std::filesystem::path> particle_csv;      // VS 4.x particle .csv beside a .lst
  std::optional<std::filesystem::path> notes;             // _notes.txt
  std::vector<std::filesystem::path> calibration_images;  // cal_image_NNNNNN.tif
};

class ExportSource {
 public:
  // Throws Error{kNotFound} if `input` does not exist, Error{kInvalidInput} if it holds no
  // particle list or is a zip that cannot be read (or tries to write outside its folder).
  explicit ExportSource(const std::filesystem::path& input);
  ~ExportSource();
  ExportSource(const ExportSource&) = delete;
  ExportSource& operator=(const ExportSource&) = delete;

  const std::vector<RunFiles>& Runs() const { return runs_; }

 private:
  std::filesystem::path unpacked_;  // temporary folder of an unpacked zip; empty otherwise
  std::vector<RunFiles> runs_;
};

// The runs directly inside `folder` (one per list file), or, if it has none, those of its
// sub-folders, recursively. Sorted by list path.
std::vector<RunFiles> FindRunsInFolder(const std::filesystem::path& folder);

// Unpacks `zip` into `destination` (which must exist). Throws Error{kInvalidInput} for a
// damaged archive or an entry whose path would leave `destination`.
void UnpackZip(const std::filesystem::path& zip, const std::filesystem::path& destination);

}  // namespace phytoflow
