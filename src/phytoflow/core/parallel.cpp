#include "phytoflow/core/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace phytoflow {

void ParallelFor(size_t count, int threads, const std::function<void(size_t)>& body) {
  const size_t workers = std::min(count, static_cast<size_t>(std::max(threads, 1)));
  if (workers <= 1) {
    for (size_t i = 0; i < count; ++i) {
      body(i);
    }
    return;
  }
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  const auto work = [&] {
    try {
      for (size_t i = next++; i < count; i = next++) {
        body(i);
      }
    } catch (...) {
      const std::lock_guard lock(failure_mutex);
      if (!failure) {
        failure = std::current_exception();
      }
      next = count;  // stop the others early
    }
  };
  {
    std::vector<std::jthread> helpers;
    for (size_t i = 1; i < workers; ++i) {
      helpers.emplace_back(work);
    }
    work();
  }  // joins the helpers
  if (failure) {
    std::rethrow_exception(failure);
  }
}

int DefaultThreadCount() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace phytoflow
