#include "phytoflow/reader/collage_loader.h"

#include "phytoflow/core/error.h"
#include "phytoflow/imaging/tiff.h"

namespace phytoflow {
namespace fs = std::filesystem;
namespace {

// Pages decoded ahead of the one in use (at most this plus one are held): one is enough to
// hide decoding, and each page costs
// up to ~15 MB with its mask.
constexpr size_t kPagesAhead = 1;

}  // namespace

std::string MaskNameFor(const std::string& collage) {
  const fs::path path(collage);
  return path.stem().string() + "_bin" + path.extension().string();
}

CollagePage LoadCollagePage(const fs::path& folder, const std::string& name) {
  CollagePage page{.name = name};
  // collage_file never names a folder; a path in it must not lead outside the export.
  const fs::path path = folder / fs::path(name).filename();
  std::error_code error;
  if (!fs::is_regular_file(path, error)) {
    page.problem = "is missing";
    return page;
  }
  try {
    page.collage = ReadTiff(path);
  } catch (const std::exception& failure) {  // runs on the loader thread: nothing may escape
    page.problem = std::string("cannot be read: ") + failure.what();
    return page;
  }
  const fs::path mask_path = folder / MaskNameFor(fs::path(name).filename().string());
  if (!fs::is_regular_file(mask_path, error)) {
    return page;  // exports saved from VS (Macro, libraries) have no masks
  }
  try {
    page.mask = ReadTiff(mask_path);
  } catch (const std::exception& failure) {
    page.mask_problem = std::string("mask ignored: ") + failure.what();
    return page;
  }
  if (page.mask.width != page.collage.width || page.mask.height != page.collage.height ||
      page.mask.channels != 1) {
    page.mask = Image{};
    page.mask_problem = "mask ignored: its size or channels differ from the collage";
  }
  return page;
}

CollageLoader::CollageLoader(fs::path folder, std::vector<std::string> names)
    : folder_(std::move(folder)), names_(std::move(names)) {
  worker_ = std::jthread([this](std::stop_token stop) { Run(stop); });
}

CollageLoader::~CollageLoader() {
  worker_.request_stop();
  changed_.notify_all();
}

void CollageLoader::Run(std::stop_token stop) {
  for (size_t next = 0; next < names_.size(); ++next) {
    {
      std::unique_lock lock(mutex_);
      if (!changed_.wait(lock, stop, [&] { return ready_.size() < kPagesAhead; })) {
        return;  // stop requested
      }
    }
    CollagePage page = LoadCollagePage(folder_, names_[next]);  // decoded without the lock
    {
      const std::lock_guard lock(mutex_);
      ready_.push_back(std::move(page));
    }
    changed_.notify_all();
  }
}

CollagePage CollageLoader::Take(const std::string& name) {
  std::unique_lock lock(mutex_);
  if (taken_ >= names_.size() || names_[taken_] != name) {
    lock.unlock();
    return LoadCollagePage(folder_, name);
  }
  changed_.wait(lock, [&] { return !ready_.empty(); });
  CollagePage page = std::move(ready_.front());
  ready_.pop_front();
  ++taken_;
  lock.unlock();
  changed_.notify_all();
  return page;
}

}  // namespace phytoflow
