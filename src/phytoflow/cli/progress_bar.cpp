#include "phytoflow/cli/progress_bar.h"

#include <cstdio>

#include <fmt/core.h>
#include <unistd.h>

namespace phytoflow {
namespace {

constexpr int kBarWidth = 30;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

}  // namespace

ProgressBar::ProgressBar() : enabled_(isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() {
  Finish();
}

void ProgressBar::Update(const std::string& label, int64_t done, int64_t total) {
  if (!enabled_) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (label != label_) {
    Finish();
    label_ = label;
    start_ = now;
  } else if (now - last_draw_ < kRedrawInterval && done < total) {
    return;
  }
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  const double fraction = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  const int filled = static_cast<int>(fraction * kBarWidth);
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
  std::string shown = label.size() > 32 ? "…" + label.substr(label.size() - 31) : label;
  fmt::print(stderr,
             "\r{:<32} [{}{}] {:3.0f}% {}/{} {:.0f} particles/s ETA {:.0f}s \x1b[K",
             shown,
             std::string(static_cast<size_t>(filled), '#'),
             std::string(static_cast<size_t>(kBarWidth - filled), ' '),
             fraction * 100.0,
             done,
             total,
             rate,
             eta);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (enabled_ && drawn_) {
    fmt::print(stderr, "\n");
    drawn_ = false;
  }
}

}  // namespace phytoflow
