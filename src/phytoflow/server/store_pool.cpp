#include "phytoflow/server/store_pool.h"

#include <algorithm>

namespace phytoflow {

StorePool::StorePool(const StoreFactory& open, int size) {
  for (int idx = 0; idx < std::max(size, 1); ++idx) {
    stores_.push_back(open());
    free_.push_back(stores_.back().get());
  }
}

StorePool::StorePool(std::unique_ptr<Store> store) {
  stores_.push_back(std::move(store));
  free_.push_back(stores_.back().get());
}

StorePool::Lease::~Lease() {
  if (store_ != nullptr) {
    pool_->Release(store_);
  }
}

StorePool::Lease StorePool::Acquire() {
  std::unique_lock lock(mutex_);
  released_.wait(lock, [&] { return !free_.empty(); });
  Store* store = free_.back();
  free_.pop_back();
  return Lease(*this, store);
}

void StorePool::Release(Store* store) {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(store);
  }
  released_.notify_one();
}

}  // namespace phytoflow
