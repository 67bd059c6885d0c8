#pragma once

#include <cstddef>
#include <functional>

namespace phytoflow {

// Calls body(i) for every i in [0, count) on up to `threads` threads (the caller's included)
// and returns when all are done. The first exception thrown by a body is rethrown here.
void ParallelFor(size_t count, int threads, const std::function<void(size_t)>& body);

// Threads to use when the user does not say: the cores of this machine.
int DefaultThreadCount();

}  // namespace phytoflow
