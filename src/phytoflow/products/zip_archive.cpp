#include "phytoflow/products/zip_archive.h"

#include "phytoflow/core/error.h"

#include <memory>
#include <set>
#include <system_error>

#include <unistd.h>
#include <zip.h>

namespace phytoflow {
namespace {

namespace fs = std::filesystem;

// Every entry is dated 1980-01-01 00:00, the first instant a zip can record, in MS-DOS form
// (date: (year − 1980) << 9 | month << 5 | day; time 0). Set as DOS fields rather than as a
// time_t, which libzip would convert through the local time zone.
constexpr zip_uint16_t kFixedDosDate = (0 << 9) | (1 << 5) | 1;
constexpr zip_uint16_t kFixedDosTime = 0;

struct ZipDiscarder {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};

// PNGs are compressed already: deflating them again costs time and gains nothing.
bool StoreUncompressed(const std::string& name) {
  return name.size() >= 4 && name.compare(name.size() - 4, 4, ".png") == 0;
}

std::string OpenErrorMessage(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string message = zip_error_strerror(&error);
  zip_error_fini(&error);
  return message;
}

// Removes the temporary file unless the write succeeded.
struct TemporaryFile {
  fs::path path;
  bool keep = false;
  ~TemporaryFile() {
    if (!keep) {
      std::error_code ignored;
      fs::remove(path, ignored);
    }
  }
};

}  // namespace

void WriteZip(const fs::path& path, const std::vector<ZipEntry>& entries) {
  std::set<std::string> names;
  for (const ZipEntry& entry : entries) {
    Check(!entry.name.empty() && entry.name.front() != '/' && entry.name.back() != '/',
          ErrorCode::kInvalidInput,
          path.string() + ": zip entry name '" + entry.name + "' is not a relative file name");
    Check(names.insert(entry.name).second,
          ErrorCode::kInvalidInput,
          path.string() + ": zip entry '" + entry.name + "' given twice");
  }

  TemporaryFile temporary{.path = path.parent_path() / ("." + path.filename().string() +
                                                        ".partial-" + std::to_string(getpid()))};
  std::error_code ignored;
  fs::remove(temporary.path, ignored);
  int open_error = 0;
  std::unique_ptr<zip_t, ZipDiscarder> archive(
      zip_open(temporary.path.c_str(), ZIP_CREATE | ZIP_EXCL, &open_error));
  Check(archive != nullptr,
        ErrorCode::kUnavailable,
        "cannot write " + path.string() + " (" + OpenErrorMessage(open_error) + ")");

  for (const ZipEntry& entry : entries) {
    // The bytes stay owned by `entries`, which outlive zip_close below.
    zip_source_t* source =
        zip_source_buffer(archive.get(), entry.bytes.data(), entry.bytes.size(), 0);
    const zip_int64_t index =
        source ? zip_file_add(archive.get(), entry.name.c_str(), source, ZIP_FL_ENC_UTF_8) : -1;
    if (index < 0) {
      if (source) {
        zip_source_free(source);
      }
      throw Error(ErrorCode::kUnavailable,
                  "cannot add '" + entry.name + "' to " + path.string() + " (" +
                      zip_strerror(archive.get()) + ")");
    }
    const auto at = static_cast<zip_uint64_t>(index);
    const bool configured =
        zip_file_set_dostime(archive.get(), at, kFixedDosTime, kFixedDosDate, 0) == 0 &&
        zip_set_file_compression(
            archive.get(), at, StoreUncompressed(entry.name) ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 0) ==
            0 &&
        // Plain files readable by everyone (0644), whoever wrote the archive.
        zip_file_set_external_attributes(archive.get(), at, 0, ZIP_OPSYS_UNIX, 0100644u << 16) == 0;
    Check(configured,
          ErrorCode::kUnavailable,
          "cannot add '" + entry.name + "' to " + path.string() + " (" +
              zip_strerror(archive.get()) + ")");
  }
  if (zip_close(archive.get()) != 0) {
    throw Error(ErrorCode::kUnavailable,
                "cannot write " + path.string() + " (" + zip_strerror(archive.get()) + ")");
  }
  archive.release();  // zip_close freed it

  std::error_code error;
  fs::rename(temporary.path, path, error);
  Check(!error,
        ErrorCode::kUnavailable,
        "cannot write " + path.string() + " (" + error.message() + ")");
  temporary.keep = true;
}

std::vector<ZipEntry> ReadZip(const fs::path& path,
                              const std::function<bool(std::string_view name)>& wanted,
                              const ReadZipOptions& options) {
  const std::string label = options.display_name.empty() ? path.string() : options.display_name;
  std::error_code error;
  Check(fs::is_regular_file(path, error), ErrorCode::kNotFound, label + ": no such file");
  int open_error = 0;
  std::unique_ptr<zip_t, ZipDiscarder> archive(zip_open(path.c_str(), ZIP_RDONLY, &open_error));
  Check(archive != nullptr,
        ErrorCode::kInvalidInput,
        label + ": not a readable zip archive (" + OpenErrorMessage(open_error) + ")");

  std::vector<ZipEntry> entries;
  uint64_t total = 0;
  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    const auto index = static_cast<zip_uint64_t>(i);
    const char* raw_name = zip_get_name(archive.get(), index, ZIP_FL_ENC_GUESS);
    ZipEntry entry{.name = raw_name ? raw_name : ""};
    if (entry.name.empty() || entry.name.back() == '/' || (wanted && !wanted(entry.name))) {
      continue;  // folders and unwanted files
    }
    std::unique_ptr<zip_file_t, ZipFileCloser> file(zip_fopen_index(archive.get(), index, 0));
    Check(file != nullptr,
          ErrorCode::kInvalidInput,
          label + ": cannot read entry '" + entry.name + "' (" + zip_strerror(archive.get()) + ")");
    std::vector<uint8_t> buffer(1 << 16);
    while (true) {
      const zip_int64_t read = zip_fread(file.get(), buffer.data(), buffer.size());
      Check(read >= 0, ErrorCode::kInvalidInput, label + ": entry '" + entry.name + "' is damaged");
      if (read == 0) {
        break;
      }
      // Counted before keeping the bytes, so that memory never grows past a cap by more than a
      // buffer, whatever the header declares.
      const auto bytes = static_cast<uint64_t>(read);
      Check(bytes <= options.max_entry_bytes - entry.bytes.size(),
            ErrorCode::kInvalidInput,
            label + ": entry '" + entry.name + "' unpacks to more than the limit of " +
                std::to_string(options.max_entry_bytes) + " bytes");
      Check(bytes <= options.max_total_bytes - total,
            ErrorCode::kInvalidInput,
            label + ": the entries unpack to more than the limit of " +
                std::to_string(options.max_total_bytes) + " bytes");
      total += bytes;
      entry.bytes.insert(entry.bytes.end(), buffer.begin(), buffer.begin() + read);
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace phytoflow
