#pragma once

// Loads the collage pages of a run (and their _bin masks) in the order the list uses them, one
// page ahead on a background thread, so decoding the next page overlaps with cutting and
// encoding the vignettes of the current one.

#include "phytoflow/imaging/image.h"

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace phytoflow {

// A decoded page, or why there is none.
struct CollagePage {
  std::string name;
  Image collage;             // empty when missing or unreadable
  Image mask;                // empty when there is no usable _bin page
  std::string problem;       // why `collage` is empty: "is missing", "cannot be read: ..."
  std::string mask_problem;  // why an existing mask was not used
};

// The mask page of a collage page: "run_000001.tif" → "run_000001_bin.tif".
std::string MaskNameFor(const std::string& collage);

// Reads one page and its mask now (no thread).
CollagePage LoadCollagePage(const std::filesystem::path& folder, const std::string& name);

class CollageLoader {
 public:
  // `names` are the pages in the order they will be asked for (consecutive repeats removed).
  CollageLoader(std::filesystem::path folder, std::vector<std::string> names);
  ~CollageLoader();
  CollageLoader(const CollageLoader&) = delete;
  CollageLoader& operator=(const CollageLoader&) = delete;

  // The next page, which should be `name`; waits for the background thread if needed. A name
  // out of the expected order is loaded directly.
  CollagePage Take(const std::string& name);

 private:
  void Run(std::stop_token stop);

  std::filesystem::path folder_;
  std::vector<std::string> names_;
  std::mutex mutex_;
  std::condition_variable_any changed_;
  std::deque<CollagePage> ready_;
  size_t taken_ = 0;     // pages handed out in order so far
  std::jthread worker_;  // last: started after everything it uses
};

}  // namespace phytoflow
