#pragma once

// Stored vignettes and masks by particle, kept in memory for the image endpoints. A miss reads
// the images of the requested block of particle numbers in one ScanParticles range query, so a
// gallery then finds its neighbours in memory. Blocks are dropped least recently used first beyond
// a byte budget. Stored images never change for a given sample ingest, so a block is keyed by the
// sample's id, fingerprint and ingest time: a replaced sample gets new blocks.

#include "phytoflow/core/sample.h"
#include "phytoflow/storage/store.h"

#include <cstddef>
#include <cstdint>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace phytoflow {

// One particle's stored PNGs (empty when it has none) and their entity tags.
struct ParticleImages {
  std::string image_png;
  std::string mask_png;
  std::string image_etag;  // "\"<16 hex digits of the PNG's FNV-1a 64-bit hash>\""
  std::string mask_etag;
};

// The strong entity tag of a body: its FNV-1a 64-bit hash as 16 hex digits, quoted.
std::string EntityTag(std::string_view bytes);

// Thread-safe.
class ParticleImageCache {
 public:
  // Particles per cached block.
  static constexpr int64_t kBlockSize = 4096;

  explicit ParticleImageCache(size_t budget_bytes);

  // The images of particle `number` of `sample` (as listed: id, fingerprint, ingested_at),
  // read from `store` on a miss. nullopt when the sample has no particle with that number.
  // Concurrent misses of one block read the store once.
  std::optional<ParticleImages> Find(const Store& store, const Sample& sample, int64_t number);

  size_t BytesHeld() const;

 private:
  using Block = std::unordered_map<int64_t, ParticleImages>;
  struct Entry {
    std::shared_future<std::shared_ptr<const Block>> block;
    size_t bytes = 0;  // 0 while loading
    std::list<std::string>::iterator recency;
  };

  std::shared_ptr<const Block> Load(const Store& store, const Sample& sample, int64_t block_index);
  void Evict();  // caller holds mutex_

  size_t budget_bytes_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;  // guarded by mutex_
  std::list<std::string> recency_;        // most recent first; guarded by mutex_
  size_t bytes_ = 0;                      // guarded by mutex_
};

}  // namespace phytoflow
