// progress_bar.hpp — the line isolate-run draws on a terminal while a job parses: how much of
// the document is behind the parse, how fast it goes and how long it has left.
#pragma once

#include <isolate/progress.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace isolate::cli {

/// Draws a job's progress reports as one line on `terminal`, redrawn in place:
///
///   parse [##########..........]  48%  95.4 MiB of 200.0 MiB  512 MB/s  0.2 s left
///
/// The rate counts from the first report past the start. Thread safety: update() and
/// clear() may be called from any thread (a run delivers its reports on a library thread).
class ProgressBar {
 public:
  /// A bar on `terminal`, its line starting with `label` ("fetch", "parse"; none if empty).
  explicit ProgressBar(std::FILE* terminal, std::string label = {}) noexcept
      : terminal_(terminal), label_(std::move(label)) {}
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// Redraws the line for `progress` (a report with an unknown total is not drawn).
  void update(const Progress& progress);
  /// Erases the line, if one was drawn, so that what follows starts on a clean line.
  void clear();

  /// The line for `done` of `total` bytes, parsed at `bytes_per_second` (0: not known yet); no
  /// line ending.
  static std::string line(std::uint64_t done, std::uint64_t total, double bytes_per_second);

 private:
  std::FILE* terminal_;
  std::string label_;
  std::mutex mutex_;
  struct Report {
    std::chrono::steady_clock::time_point at;
    std::uint64_t done;
  };
  std::optional<Report> first_;  // the rate counts from here
  bool drawn_ = false;
};

}  // namespace isolate::cli
