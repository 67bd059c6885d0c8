#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace phytoflow {

// A one-line progress bar with rate and ETA on stderr, drawn only when stderr is a terminal
// (so logs and pipes stay clean). Redraws at most ten times a second.
class ProgressBar {
 public:
  ProgressBar();
  ~ProgressBar();

  void Update(const std::string& label, int64_t done, int64_t total);
  void Finish();

 private:
  bool enabled_;
  bool drawn_ = false;
  std::string label_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace phytoflow
