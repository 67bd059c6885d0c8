#include "phytoflow/server/sample_directory.h"

namespace phytoflow {

SampleDirectory::SampleDirectory(StorePool& stores, std::chrono::milliseconds max_age)
    : stores_(stores), max_age_(max_age) {}

std::shared_ptr<const std::vector<Sample>> SampleDirectory::Samples() {
  const auto now = std::chrono::steady_clock::now();
  uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    if (samples_ && now - read_at_ < max_age_) {
      return samples_;
    }
    generation = generation_;
  }
  // Read outside the lock: concurrent refreshes may both read. A list read before an
  // Invalidate() is returned to its caller but not kept.
  auto samples = std::make_shared<const std::vector<Sample>>(stores_.Acquire()->ListSamples());
  std::lock_guard lock(mutex_);
  if (generation == generation_) {
    samples_ = samples;
    read_at_ = now;
  }
  return samples;
}

std::optional<Sample> SampleDirectory::Find(const std::string& sample_id) {
  const auto samples = Samples();
  for (const Sample& sample : *samples) {
    if (sample.id == sample_id) {
      return sample;
    }
  }
  return std::nullopt;
}

void SampleDirectory::Invalidate() {
  std::lock_guard lock(mutex_);
  samples_.reset();
  ++generation_;
}

}  // namespace phytoflow
