// progress_bar.cpp — ProgressBar: format a progress line and redraw it in place.
#include "progress_bar.hpp"

#include <algorithm>
#include <cstdint>

namespace isolate::cli {
namespace {

constexpr int kBarWidth = 20;

std::string mebibytes(std::uint64_t bytes) {
  char out[32];
  std::snprintf(out, sizeof out, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return out;
}

}  // namespace

std::string ProgressBar::line(std::uint64_t done, std::uint64_t total, double bytes_per_second) {
  done = std::min(done, total);
  const double fraction = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0.0;
  const int filled = static_cast<int>(fraction * kBarWidth);
  std::string out = "[" + std::string(static_cast<std::size_t>(filled), '#') +
                    std::string(static_cast<std::size_t>(kBarWidth - filled), '.') + "]";
  char text[160];
  std::snprintf(text, sizeof text, " %3d%%  %s of %s", static_cast<int>(fraction * 100), mebibytes(done).c_str(),
                mebibytes(total).c_str());
  out += text;
  if (bytes_per_second > 0) {
    std::snprintf(text, sizeof text, "  %.0f MB/s  %.1f s left", bytes_per_second / 1e6,
                  static_cast<double>(total - done) / bytes_per_second);
    out += text;
  }
  return out;
}

void ProgressBar::update(const Progress& progress) {
  if (progress.total == 0) return;
  const std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  // The rate counts from the first report past the start: before it the parser indexes the whole
  // document (simdjson's first stage), after it the bytes go by at an even pace.
  if (!first_ && progress.done > 0) first_ = Report{now, progress.done};
  double rate = 0;
  if (first_ && progress.done > first_->done) {
    rate = static_cast<double>(progress.done - first_->done) / std::chrono::duration<double>(now - first_->at).count();
  }
  // \r back to the line's start, \033[K erases what a longer previous line left.
  const std::string prefix = label_.empty() ? "" : label_ + " ";
  std::fprintf(terminal_, "\r%s%s\033[K", prefix.c_str(), line(progress.done, progress.total, rate).c_str());
  std::fflush(terminal_);
  drawn_ = true;
}

void ProgressBar::clear() {
  const std::lock_guard lock(mutex_);
  if (!drawn_) return;
  std::fprintf(terminal_, "\r\033[K");
  std::fflush(terminal_);
  drawn_ = false;
}

}  // namespace isolate::cli
