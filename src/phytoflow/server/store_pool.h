#pragma once

// A fixed set of open stores that request threads borrow one at a time, so that reads of a
// SQLite store run in parallel (each store reads through its own connection) and a MongoDB
// store gets one client per borrower.
//
//   StorePool pool([&] { return OpenStore(uri); }, 4);
//   StorePool::Lease store = pool.Acquire();   // waits while all four are borrowed
//   store->ListSamples();

#include "phytoflow/storage/store.h"

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace phytoflow {

using StoreFactory = std::function<std::unique_ptr<Store>()>;

// Thread-safe.
class StorePool {
 public:
  // Opens `size` (at least 1) stores now; throws what `open` throws.
  StorePool(const StoreFactory& open, int size);
  // A pool of one store already open (an in-memory store in tests).
  explicit StorePool(std::unique_ptr<Store> store);

  // A borrowed store, given back when the lease is destroyed.
  class Lease {
   public:
    Lease(StorePool& pool, Store* store) : pool_(&pool), store_(store) {}
    ~Lease();
    Lease(Lease&& other) noexcept : pool_(other.pool_), store_(other.store_) {
      other.store_ = nullptr;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    Store& operator*() const { return *store_; }
    Store* operator->() const { return store_; }

   private:
    StorePool* pool_;
    Store* store_;
  };

  // Borrows a store, waiting until one is free.
  Lease Acquire();
  int Size() const { return static_cast<int>(stores_.size()); }

 private:
  void Release(Store* store);

  std::vector<std::unique_ptr<Store>> stores_;
  std::mutex mutex_;
  std::condition_variable released_;
  std::vector<Store*> free_;  // guarded by mutex_
};

}  // namespace phytoflow
