#pragma once

// Finds the FlowCam runs in what the user points at: a run folder, a folder of run folders, or
// a .zip of either. A zip is unpacked into a private temporary folder that lives as long as the
// ExportSource. Zips are checked against ZipLimits first (zip bombs, paths leaving the folder).

#include <cstdint>
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
  // particle list or is a zip that cannot be read or breaks the default ZipLimits. Messages and
  // RunFiles::source name `input` as `display_name` when given (a server passes the uploaded
  // file's name, so that its own folders never reach its users), else as its path.
  explicit ExportSource(const std::filesystem::path& input, const std::string& display_name = {});
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

// What a zip may hold, against zip bombs: an archive of a few kilobytes can declare (or, with a
// lying header, actually expand to) terabytes.
struct ZipLimits {
  int64_t max_entries = 100000;                      // files and folders
  uint64_t max_unpacked_bytes = uint64_t{16} << 30;  // sum of the entries' sizes (16 GiB)
  double max_ratio = 1000;  // unpacked / packed size of one entry (deflate's own limit is ~1032)
};

// What CheckZip found in an acceptable archive.
struct ZipSummary {
  int64_t entries = 0;          // files and folders
  uint64_t unpacked_bytes = 0;  // as declared by the central directory
};

// Checks a zip from its central directory, without unpacking anything: it must open as a zip
// (not truncated), hold at most `limits.max_entries` entries, declare at most
// `limits.max_unpacked_bytes` in all and no entry expanding more than `limits.max_ratio`-fold,
// and every entry must be a file or folder (no symbolic link or device, by its Unix mode) whose
// name is relative, without "..", names something other than the folder itself ("."), is at
// most 1024 bytes long, 32 folders deep and 255 bytes a part, and is not given twice (nor as
// both a file and a folder). Throws Error{kInvalidInput} naming the zip (`display_name`, or the
// path when empty) and the entry; no message names anything outside the archive.
ZipSummary CheckZip(const std::filesystem::path& zip,
                    const ZipLimits& limits = {},
                    const std::string& display_name = {});

// Unpacks `zip` into `destination` (which must exist) after CheckZip, and counts the bytes
// actually written: an entry that unpacks to more than its header declares is refused, so a
// lying header cannot pass the limits either. Throws Error{kInvalidInput} as CheckZip does and
// for a damaged entry, Error{kUnavailable} when a file cannot be written. On failure, what was
// unpacked so far stays in `destination` for the caller to remove.
void UnpackZip(const std::filesystem::path& zip,
               const std::filesystem::path& destination,
               const ZipLimits& limits = {},
               const std::string& display_name = {});

}  // namespace phytoflow
