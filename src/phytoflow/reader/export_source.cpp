#include "phytoflow/reader/export_source.h"

#include "phytoflow/core/error.h"
#include "phytoflow/reader/text.h"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string_view>
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
using ZipArchive = std::unique_ptr<zip_t, ZipCloser>;

// Unix file types in the upper half of a zip entry's external attributes (made by Unix tools).
constexpr uint32_t kUnixTypeMask = 0170000;
constexpr uint32_t kUnixRegularFile = 0100000;
constexpr uint32_t kUnixFolder = 0040000;
constexpr uint32_t kUnixSymbolicLink = 0120000;

// Entry names longer or deeper than these are refused: no export needs them, and checking
// every entry's folders costs time proportional to its name.
constexpr size_t kMaxEntryNameBytes = 1024;
constexpr int kMaxEntryNameDepth = 32;
// A longer file or folder name cannot be created (NAME_MAX on Linux).
constexpr size_t kMaxEntryPartBytes = 255;

// Why an entry name cannot be unpacked as is, or empty when it can: it must stay inside the
// destination (relative, no "..", no drive letters; a backslash counts as a separator too, as
// Windows tools write it), name something other than the destination itself, and not be too
// long or deep to create.
std::string EntryNameProblem(const std::string& name) {
  if (name.size() > kMaxEntryNameBytes) {
    return "a name of " + std::to_string(name.size()) + " bytes, more than the limit of " +
           std::to_string(kMaxEntryNameBytes);
  }
  if (name.empty() || name.front() == '/' || name.front() == '\\' ||
      name.find(':') != std::string::npos) {
    return "an absolute path would be written outside the export folder";
  }
  int depth = 0;
  bool names_something = false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find_first_of("/\\", start);
    if (end == std::string::npos) {
      end = name.size();
    }
    const std::string_view part = std::string_view(name).substr(start, end - start);
    if (part == "..") {
      return "a path with '..' would be written outside the export folder";
    }
    if (part.size() > kMaxEntryPartBytes) {
      return "a file or folder name of " + std::to_string(part.size()) +
             " bytes, more than the limit of " + std::to_string(kMaxEntryPartBytes);
    }
    if (!part.empty() && part != ".") {
      names_something = true;
      if (++depth > kMaxEntryNameDepth) {
        return "more than " + std::to_string(kMaxEntryNameDepth) + " folders deep";
      }
    }
    start = end + 1;
  }
  if (!names_something && name.back() != '/' && name.back() != '\\') {
    return "not the name of a file";  // ".": the export folder itself
  }
  return {};
}

// An entry name in a message: hostile names can be long.
std::string QuotedEntryName(const std::string& name) {
  constexpr size_t kShown = 200;
  return "'" + (name.size() <= kShown ? name : name.substr(0, kShown) + "...") + "'";
}

// The entry's name as it will be written: '/'-separated, without "." parts or a final '/'.
std::string NormalisedEntryName(const std::string& name) {
  std::string normal = fs::path(name).lexically_normal().generic_string();
  while (!normal.empty() && normal.back() == '/') {
    normal.pop_back();
  }
  return normal;
}

std::string Label(const fs::path& zip, const std::string& display_name) {
  return display_name.empty() ? zip.string() : display_name;
}

ZipArchive OpenZip(const fs::path& zip, const std::string& label) {
  int open_error = 0;
  ZipArchive archive(zip_open(zip.c_str(), ZIP_RDONLY, &open_error));
  if (!archive) {
    zip_error_t error;
    zip_error_init_with_code(&error, open_error);
    const std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    throw Error(ErrorCode::kInvalidInput,
                label + ": not a readable zip archive (" + message +
                    "; a truncated upload looks like this too)");
  }
  return archive;
}

struct CheckedEntry {
  std::string name;
  bool folder = false;
  uint64_t declared_bytes = 0;
};

// The checks of CheckZip on an open archive; the entries in archive order.
std::vector<CheckedEntry> CheckEntries(zip_t* archive,
                                       const std::string& label,
                                       const ZipLimits& limits) {
  const zip_int64_t count = zip_get_num_entries(archive, 0);
  if (count > limits.max_entries) {
    throw Error(ErrorCode::kInvalidInput,
                label + ": holds " + std::to_string(count) + " entries, more than the limit of " +
                    std::to_string(limits.max_entries));
  }
  std::vector<CheckedEntry> entries;
  // The sets view the normalised names kept here (a deque never moves its elements), so that a
  // deep name costs its parent folders no copies.
  std::deque<std::string> normals;
  std::set<std::string_view> files;
  std::set<std::string_view> folders;  // named by an entry, or the parent of one
  uint64_t total = 0;
  for (zip_int64_t idx = 0; idx < count; ++idx) {
    const auto index = static_cast<zip_uint64_t>(idx);
    const char* raw_name = zip_get_name(archive, index, 0);
    CheckedEntry entry{.name = raw_name != nullptr ? raw_name : ""};
    const std::string where = label + ": entry " + QuotedEntryName(entry.name);
    if (const std::string problem = EntryNameProblem(entry.name); !problem.empty()) {
      throw Error(ErrorCode::kInvalidInput, where + ": " + problem);
    }
    zip_uint8_t system = 0;
    zip_uint32_t attributes = 0;
    if (zip_file_get_external_attributes(archive, index, 0, &system, &attributes) == 0 &&
        system == ZIP_OPSYS_UNIX) {
      const uint32_t type = (attributes >> 16) & kUnixTypeMask;
      if (type == kUnixSymbolicLink) {
        throw Error(ErrorCode::kInvalidInput,
                    where + ": a symbolic link (an export holds only files and folders)");
      }
      if (type != 0 && type != kUnixRegularFile && type != kUnixFolder) {
        throw Error(ErrorCode::kInvalidInput,
                    where + ": a special file (an export holds only files and folders)");
      }
    }
    entry.folder = entry.name.back() == '/';
    const std::string_view normal = normals.emplace_back(NormalisedEntryName(entry.name));
    if (entry.folder) {
      folders.insert(normal);
    } else if (!files.insert(normal).second) {
      throw Error(ErrorCode::kInvalidInput, where + ": the name is given twice");
    }
    // The parent folders, deepest first, found by scanning for '/'; once one is known, so are
    // all above it.
    for (size_t slash = normal.rfind('/'); slash != std::string_view::npos && slash > 0;
         slash = normal.rfind('/', slash - 1)) {
      if (!folders.insert(normal.substr(0, slash)).second) {
        break;
      }
    }

    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat_index(archive, index, 0, &stat) != 0 || (stat.valid & ZIP_STAT_SIZE) == 0 ||
        (stat.valid & ZIP_STAT_COMP_SIZE) == 0) {
      throw Error(ErrorCode::kInvalidInput,
                  where + ": unreadable header (" + zip_strerror(archive) + ")");
    }
    entry.declared_bytes = stat.size;
    // Compared with what is left, so that a huge declared size cannot overflow the sum.
    if (stat.size > limits.max_unpacked_bytes - total) {
      throw Error(ErrorCode::kInvalidInput,
                  where + ": the archive unpacks to more than the limit of " +
                      std::to_string(limits.max_unpacked_bytes) + " bytes (this entry alone " +
                      "declares " + std::to_string(stat.size) + ")");
    }
    total += stat.size;
    if (stat.size > 0) {
      // A non-empty entry stored in 0 bytes expands without bound; a finite ratio is printed
      // capped, since a 2^64-fold one does not fit an integer (found by zip_fuzz).
      const bool unbounded = stat.comp_size == 0;
      const double ratio =
          unbounded ? 0.0 : static_cast<double>(stat.size) / static_cast<double>(stat.comp_size);
      if (unbounded || ratio > limits.max_ratio) {
        const std::string fold =
            unbounded ? std::string("without bound")
                      : std::to_string(static_cast<int64_t>(std::min(ratio, 1e18))) + "-fold";
        throw Error(ErrorCode::kInvalidInput,
                    where + ": expands " + fold + " (" + std::to_string(stat.comp_size) + " to " +
                        std::to_string(stat.size) + " bytes), more than the limit of " +
                        std::to_string(static_cast<int64_t>(limits.max_ratio)) + " (a zip bomb?)");
      }
    }
    entries.push_back(std::move(entry));
  }
  for (const std::string_view file : files) {
    if (folders.count(file) > 0) {
      throw Error(ErrorCode::kInvalidInput,
                  label + ": entry " + QuotedEntryName(std::string(file)) +
                      " is given both as a file and as a folder");
    }
  }
  return entries;
}

}  // namespace

std::vector<RunFiles> FindRunsInFolder(const fs::path& folder) {
  std::vector<RunFiles> runs;
  CollectRuns(folder, 0, runs);
  return runs;
}

ZipSummary CheckZip(const fs::path& zip, const ZipLimits& limits, const std::string& display_name) {
  const std::string label = Label(zip, display_name);
  const ZipArchive archive = OpenZip(zip, label);
  ZipSummary summary;
  for (const CheckedEntry& entry : CheckEntries(archive.get(), label, limits)) {
    ++summary.entries;
    summary.unpacked_bytes += entry.declared_bytes;
  }
  return summary;
}

void UnpackZip(const fs::path& zip,
               const fs::path& destination,
               const ZipLimits& limits,
               const std::string& display_name) {
  const std::string label = Label(zip, display_name);
  const ZipArchive archive = OpenZip(zip, label);
  const std::vector<CheckedEntry> entries = CheckEntries(archive.get(), label, limits);
  std::vector<char> buffer(1 << 16);
  uint64_t total = 0;
  for (size_t idx = 0; idx < entries.size(); ++idx) {
    const CheckedEntry& entry = entries[idx];
    const std::string where = label + ": entry " + QuotedEntryName(entry.name);
    const fs::path target = destination / NormalisedEntryName(entry.name);
    std::error_code error;
    // Messages name the entry, never `destination`: a server's folders are not its users' business.
    fs::create_directories(entry.folder ? target : target.parent_path(), error);
    if (error) {
      throw Error(ErrorCode::kUnavailable,
                  where + ": cannot create its folder while unpacking (" + error.message() + ")");
    }
    if (entry.folder) {
      continue;
    }
    std::unique_ptr<zip_file_t, ZipFileCloser> file(
        zip_fopen_index(archive.get(), static_cast<zip_uint64_t>(idx), 0));
    if (!file) {
      throw Error(ErrorCode::kInvalidInput,
                  where + ": cannot be read (" + zip_strerror(archive.get()) + ")");
    }
    std::ofstream out(target, std::ios::binary);
    uint64_t written = 0;
    while (true) {
      const zip_int64_t read = zip_fread(file.get(), buffer.data(), buffer.size());
      if (read < 0) {
        throw Error(ErrorCode::kInvalidInput,
                    where + ": damaged (" + zip_file_strerror(file.get()) + ")");
      }
      if (read == 0) {
        break;
      }
      // The limits were checked against the declared sizes; a header that understates them is
      // caught here, after at most one buffer more than declared.
      written += static_cast<uint64_t>(read);
      total += static_cast<uint64_t>(read);
      if (written > entry.declared_bytes) {
        throw Error(ErrorCode::kInvalidInput,
                    where + ": unpacks to more than the " + std::to_string(entry.declared_bytes) +
                        " bytes its header declares (a zip bomb?)");
      }
      if (total > limits.max_unpacked_bytes) {
        throw Error(ErrorCode::kInvalidInput,
                    where + ": the archive unpacks to more than the limit of " +
                        std::to_string(limits.max_unpacked_bytes) + " bytes");
      }
      out.write(buffer.data(), read);
    }
    if (!out) {
      throw Error(ErrorCode::kUnavailable, where + ": cannot be written while unpacking");
    }
  }
}

ExportSource::ExportSource(const fs::path& input, const std::string& display_name) {
  const std::string label = Label(input, display_name);
  std::error_code error;
  if (!fs::exists(input, error)) {
    throw Error(ErrorCode::kNotFound, label + ": no such file or folder");
  }
  fs::path folder = input;
  if (fs::is_regular_file(input, error)) {
    if (!HasExtension(input, ".zip")) {
      throw Error(ErrorCode::kInvalidInput, label + ": expected an export folder or a .zip of one");
    }
    std::string pattern = (fs::temp_directory_path() / "phytoflow-zip-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw Error(ErrorCode::kUnavailable, "cannot create a temporary folder to unpack " + label);
    }
    unpacked_ = pattern;
    try {
      UnpackZip(input, unpacked_, {}, label);
    } catch (...) {
      fs::remove_all(unpacked_, error);
      throw;
    }
    folder = unpacked_;
  }
  runs_ = FindRunsInFolder(folder);
  for (RunFiles& run : runs_) {
    if (unpacked_.empty() && display_name.empty()) {
      run.source = run.folder.string();
    } else {
      const std::string inside = fs::relative(run.folder, folder).string();
      run.source = label + (inside == "." ? "" : ":" + inside);
    }
  }
  if (runs_.empty()) {
    if (!unpacked_.empty()) {
      fs::remove_all(unpacked_, error);
    }
    throw Error(ErrorCode::kInvalidInput,
                label + ": no FlowCam particle list (.lst, .flb or VS particle .csv) found");
  }
}

ExportSource::~ExportSource() {
  if (!unpacked_.empty()) {
    std::error_code error;
    fs::remove_all(unpacked_, error);
  }
}

}  // namespace phytoflow
