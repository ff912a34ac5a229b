// job_context.hpp — what a running job can ask of the runner (has it been cancelled?) and tell it
// (how far it has come).
#pragma once

#include <isolate/detail/progress_cell.hpp>

#include <cstddef>
#include <cstdint>
#include <stop_token>
#include <utility>

namespace isolate {

/// Passed to jobs that take a second parameter. In a worker process a cancelled job is killed,
/// so stop_requested() stays false there; on the thread backend it becomes true once the run's
/// token is cancelled, and a long job should check it and return early.
/// Thread safety: all members may be called from any thread.
class JobContext {
 public:
  /// A context whose stop is requested with `stop` (default: never), whose byte-view input is
  /// followed by `input_padding` readable bytes, and whose progress reports go to `progress`
  /// (default: nowhere).
  explicit JobContext(std::stop_token stop = {}, std::size_t input_padding = 0,
                      detail::ProgressCell* progress = nullptr) noexcept
      : stop_(std::move(stop)), input_padding_(input_padding), progress_(progress) {}
  /// True once the run was cancelled (thread backend; process jobs are killed instead).
  [[nodiscard]] bool stop_requested() const noexcept { return stop_.stop_requested(); }
  /// For std::stop_callback or std::condition_variable_any waits.
  [[nodiscard]] std::stop_token stop_token() const noexcept { return stop_; }
  /// How many bytes past the end of a std::string_view or std::span input the job may read
  /// (zeros), as parsers that read in 64-byte blocks need (simdjson's SIMDJSON_PADDING): 64 in
  /// a worker process, where the input lies in the request's shared memory; 0 on the thread
  /// backend, where the view is the caller's own memory.
  [[nodiscard]] std::size_t input_padding() const noexcept { return input_padding_; }

  /// Reports that `done` units of `total` (0: unknown) are done, for the run's progress callback
  /// (RunOptions::on_progress). Two atomic stores: no message, no lock, never blocks, so a job
  /// may call it as often as it likes (every few kilobytes of a parse). The parent reads the
  /// latest report every few tens of milliseconds; reports in between are never seen. Without a
  /// callback the report goes nowhere.
  void report_progress(std::uint64_t done, std::uint64_t total = 0) noexcept {
    if (progress_ != nullptr) progress_->store(done, total);
  }

 private:
  std::stop_token stop_;
  std::size_t input_padding_ = 0;
  detail::ProgressCell* progress_ = nullptr;
};

}  // namespace isolate
