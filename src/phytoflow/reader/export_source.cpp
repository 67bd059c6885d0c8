#include "phytoflow/reader/export_source.h"

#include "phytoflow/core/error.h"
#include "phytoflow/reader/text.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <system_error>

#include <zip.h>

namespace phytoflow {
namespace fs = std::filesystem;
namespace {

// Folders are searched this deep for run folders (an institute's archive is folder/cruise/run).
constexpr int kMaxFolderDepth = 4;

bool HasExtension(const fs::path& path, std::string_view extension) {
  return EqualsIgnoreCase(path.extension().string(), extension);
}

bool EndsWithIgnoreCase(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         EqualsIgnoreCase(std::string_view(text).substr(text.size() - suffix.size()), suffix);
}

// A VS 4.x particle CSV starts with the "Particle ID" column.
bool IsParticleCsv(const fs::path& path) {
  std::ifstream in(path);
  std::string first;
  std::getline(in, first);
  return first.find("Particle ID") != std::string::npos;
}

// `<stem><suffix>` if it exists; else the only file in the folder ending in `suffix`, when the
// folder holds a single run (lists get renamed, e.g. NERC's metadata.lst).
std::optional<fs::path> Companion(const std::vector<fs::path>& files,
                                  const std::string& stem,
                                  std::string_view suffix,
                                  bool single_run) {
  std::optional<fs::path> only;
  int matches = 0;
  for (const fs::path& file : files) {
    const std::string name = file.filename().string();
    if (EqualsIgnoreCase(name, stem + std::string(suffix))) {
      return file;
    }
    if (EndsWithIgnoreCase(name, suffix)) {
      only = file;
      ++matches;
    }
  }
  if (single_run && matches == 1) {
    return only;
  }
  return std::nullopt;
}

void CollectRuns(const fs::path& folder, int depth, std::vector<RunFiles>& runs) {
  std::vector<fs::path> files;
  std::vector<fs::path> folders;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    if (entry.is_directory(error)) {
      folders.push_back(entry.path());
    } else if (entry.is_regular_file(error)) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::sort(folders.begin(), folders.end());

  std::vector<fs::path> lists;
  for (const fs::path& file : files) {
    if (HasExtension(file, ".lst") || HasExtension(file, ".flb")) {
      lists.push_back(file);
    }
  }
  bool lists_are_csv = false;
  if (lists.empty()) {
    for (const fs::path& file : files) {
      if (HasExtension(file, ".csv") &&
          !EndsWithIgnoreCase(file.filename().string(), "_summary.csv") && IsParticleCsv(file)) {
        lists.push_back(file);
        lists_are_csv = true;
      }
    }
  }
  if (lists.empty()) {
    if (depth < kMaxFolderDepth) {
      for (const fs::path& sub : folders) {
        CollectRuns(sub, depth + 1, runs);
      }
    }
    return;
  }

  const bool single_run = lists.size() == 1;
  std::vector<fs::path> calibration_images;
  for (const fs::path& file : files) {
    const std::string name = file.filename().string();
    if (name.starts_with("cal_image_") && HasExtension(file, ".tif")) {
      calibration_images.push_back(file);
    }
  }
  for (const fs::path& list : lists) {
    const std::string stem = list.stem().string();
    RunFiles run{.folder = folder, .list = list, .list_is_csv = lists_are_csv};
    run.context = Companion(files, stem, ".ctx", single_run);
    run.classification = Companion(files, stem, ".cla", single_run);
    run.outlines = Companion(files, stem, ".edg", single_run);
    run.run_summary = Companion(files, stem, "_run_summary.txt", single_run);
    run.summary_csv = Companion(files, stem, "_summary.csv", single_run);
    run.notes = Companion(files, stem, "_notes.txt", single_run);
    if (!lists_are_csv) {
      const fs::path csv = folder / (stem + ".csv");
      if (fs::is_regular_file(csv, error)) {
        run.particle_csv = csv;
      }
    }
    run.calibration_images = calibration_images;
    runs.push_back(std::move(run));
  }
}

struct ZipCloser {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};

// An entry name that stays inside the destination: relative, no "..", no drive letters.
bool IsSafeEntryName(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.front() == '\\' ||
      name.find(':') != std::string::npos) {
    return false;
  }
  for (const auto& part : fs::path(name)) {
    if (part == "..") {
      return false;
    }
  }
  return true;
}

}  // namespace

std::vector<RunFiles> FindRunsInFolder(const fs::path& folder) {
  std::vector<RunFiles> runs;
  CollectRuns(folder, 0, runs);
  return runs;
}

void UnpackZip(const fs::path& zip, const fs::path& destination) {
  int open_error = 0;
  std::unique_ptr<zip_t, ZipCloser> archive(zip_open(zip.c_str(), ZIP_RDONLY, &open_error));
  if (!archive) {
    zip_error_t error;
    zip_error_init_with_code(&error, open_error);
    const std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    throw Error(ErrorCode::kInvalidInput,
                zip.string() + ": not a readable zip archive (" + message + ")");
  }
  const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);
  std::vector<char> buffer(1 << 16);
  for (zip_int64_t i = 0; i < entries; ++i) {
    const char* raw_name = zip_get_name(archive.get(), static_cast<zip_uint64_t>(i), 0);
    const std::string name = raw_name ? raw_name : "";
    if (!IsSafeEntryName(name)) {
      throw Error(
          ErrorCode::kInvalidInput,
          zip.string() + ": entry '" + name + "' would be written outside the export folder");
    }
    const fs::path target = destination / name;
    if (name.back() == '/') {
      fs::create_directories(target);
      continue;
    }
    fs::create_directories(target.parent_path());
    std::unique_ptr<zip_file_t, ZipFileCloser> file(
        zip_fopen_index(archive.get(), static_cast<zip_uint64_t>(i), 0));
    if (!file) {
      throw Error(ErrorCode::kInvalidInput,
                  zip.string() + ": cannot read entry '" + name + "' (" +
                      zip_strerror(archive.get()) + ")");
    }
    std::ofstream out(target, std::ios::binary);
    while (true) {
      const zip_int64_t read = zip_fread(file.get(), buffer.data(), buffer.size());
      if (read < 0) {
        throw Error(ErrorCode::kInvalidInput, zip.string() + ": entry '" + name + "' is damaged");
      }
      if (read == 0) {
        break;
      }
      out.write(buffer.data(), read);
    }
    if (!out) {
      throw Error(ErrorCode::kUnavailable,
                  "cannot write " + target.string() + " while unpacking " + zip.string());
    }
  }
}

ExportSource::ExportSource(const fs::path& input) {
  std::error_code error;
  if (!fs::exists(input, error)) {
    throw Error(ErrorCode::kNotFound, input.string() + ": no such file or folder");
  }
  fs::path folder = input;
  if (fs::is_regular_file(input, error)) {
    if (!HasExtension(input, ".zip")) {
      throw Error(ErrorCode::kInvalidInput,
                  input.string() + ": expected an export folder or a .zip of one");
    }
    std::string pattern = (fs::temp_directory_path() / "phytoflow-zip-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw Error(ErrorCode::kUnavailable,
                  "cannot create a temporary folder to unpack " + input.string());
    }
    unpacked_ = pattern;
    try {
      UnpackZip(input, unpacked_);
    } catch (...) {
      fs::remove_all(unpacked_, error);
      throw;
    }
    folder = unpacked_;
  }
  runs_ = FindRunsInFolder(folder);
  for (RunFiles& run : runs_) {
    if (unpacked_.empty()) {
      run.source = run.folder.string();
    } else {
      const std::string inside = fs::relative(run.folder, unpacked_).string();
      run.source = input.string() + (inside == "." ? "" : ":" + inside);
    }
  }
  if (runs_.empty()) {
    if (!unpacked_.empty()) {
      fs::remove_all(unpacked_, error);
    }
    throw Error(
        ErrorCode::kInvalidInput,
        input.string() + ": no FlowCam particle list (.lst, .flb or VS particle .csv) found");
  }
}

ExportSource::~ExportSource() {
  if (!unpacked_.empty()) {
    std::error_code error;
    fs::remove_all(unpacked_, error);
  }
}

}  // namespace phytoflow
