#pragma once

// The list of samples (ListSamples: ids, counts, run times and metadata, no files), kept for a
// short time so that image and particle requests need no query of their own to find their
// sample. Writes made through the server invalidate it; writes by other processes (a CLI ingest)
// show within `max_age`.

#include "phytoflow/core/sample.h"
#include "phytoflow/server/store_pool.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace phytoflow {

// Thread-safe.
class SampleDirectory {
 public:
  SampleDirectory(StorePool& stores, std::chrono::milliseconds max_age);

  // Every sample, oldest first, as ListSamples gave it at most `max_age` ago.
  std::shared_ptr<const std::vector<Sample>> Samples();
  // The listed sample with this id, or nullopt.
  std::optional<Sample> Find(const std::string& sample_id);
  // Forgets the list: the next call reads the store again.
  void Invalidate();

 private:
  StorePool& stores_;
  std::chrono::milliseconds max_age_;
  std::mutex mutex_;
  std::shared_ptr<const std::vector<Sample>> samples_;  // guarded by mutex_
  std::chrono::steady_clock::time_point read_at_;       // guarded by mutex_
  uint64_t generation_ = 0;                             // guarded by mutex_; +1 per Invalidate
};

}  // namespace phytoflow
