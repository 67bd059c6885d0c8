#include "phytoflow/server/particle_image_cache.h"

namespace phytoflow {

std::string EntityTag(std::string_view bytes) {
  uint64_t hash = 14695981039346656037ULL;  // FNV-1a 64-bit offset basis
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;  // FNV-1a 64-bit prime
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string tag = "\"";
  for (int shift = 60; shift >= 0; shift -= 4) {
    tag += kDigits[(hash >> shift) & 0xf];
  }
  return tag + "\"";
}

ParticleImageCache::ParticleImageCache(size_t budget_bytes) : budget_bytes_(budget_bytes) {}

std::shared_ptr<const ParticleImageCache::Block> ParticleImageCache::Load(const Store& store,
                                                                          const Sample& sample,
                                                                          int64_t block_index) {
  auto block = std::make_shared<Block>();
  const int64_t first = block_index * kBlockSize;
  const ParticleScan block_images{
      .images = true, .first_number = first, .last_number = first + kBlockSize - 1};
  store.ScanParticles(sample.id, block_images, [&](const Particle& particle) {
    ParticleImages images{
        .image_png = std::string(particle.image_png.begin(), particle.image_png.end()),
        .mask_png = std::string(particle.mask_png.begin(), particle.mask_png.end())};
    images.image_etag = EntityTag(images.image_png);
    images.mask_etag = EntityTag(images.mask_png);
    block->emplace(particle.number, std::move(images));
  });
  return block;
}

std::optional<ParticleImages> ParticleImageCache::Find(const Store& store,
                                                       const Sample& sample,
                                                       int64_t number) {
  if (number < 0) {
    return std::nullopt;
  }
  const int64_t block_index = number / kBlockSize;
  const std::string key = sample.id + '\n' + sample.fingerprint + '\n' + sample.ingested_at + '\n' +
                          std::to_string(block_index);
  std::shared_future<std::shared_ptr<const Block>> block;
  std::promise<std::shared_ptr<const Block>> promise;
  bool load = false;
  {
    std::lock_guard lock(mutex_);
    auto found = entries_.find(key);
    if (found != entries_.end()) {
      recency_.splice(recency_.begin(), recency_, found->second.recency);
      block = found->second.block;
    } else {
      recency_.push_front(key);
      block = promise.get_future().share();
      entries_.emplace(key, Entry{.block = block, .recency = recency_.begin()});
      load = true;
    }
  }
  if (load) {
    try {
      std::shared_ptr<const Block> loaded = Load(store, sample, block_index);
      size_t bytes = 0;
      for (const auto& [particle_number, images] : *loaded) {
        bytes += images.image_png.size() + images.mask_png.size() + 64;  // + bookkeeping
      }
      promise.set_value(loaded);
      std::lock_guard lock(mutex_);
      const auto found = entries_.find(key);
      if (found != entries_.end()) {
        found->second.bytes = bytes;
        bytes_ += bytes;
        Evict();
      }
    } catch (...) {
      promise.set_exception(std::current_exception());
      std::lock_guard lock(mutex_);
      const auto found = entries_.find(key);
      if (found != entries_.end()) {
        recency_.erase(found->second.recency);
        entries_.erase(found);
      }
    }
  }
  const std::shared_ptr<const Block> images = block.get();  // rethrows a failed load
  const auto found = images->find(number);
  if (found == images->end()) {
    return std::nullopt;
  }
  return found->second;
}

void ParticleImageCache::Evict() {
  // Never the most recent entry, which was just loaded for a waiting request.
  while (bytes_ > budget_bytes_ && recency_.size() > 1) {
    const auto found = entries_.find(recency_.back());
    if (found->second.bytes == 0) {
      break;  // still loading: its size is not known yet
    }
    bytes_ -= found->second.bytes;
    entries_.erase(found);
    recency_.pop_back();
  }
}

size_t ParticleImageCache::BytesHeld() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

}  // namespace phytoflow
