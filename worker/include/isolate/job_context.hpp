// job_context.hpp — what a running job can ask of the runner: has it been cancelled?
#pragma once

#include <cstddef>
#include <stop_token>
#include <utility>

namespace isolate {

/// Passed to jobs that take a second parameter. In a worker process a cancelled job is killed,
/// so stop_requested() stays false there; on the thread backend it becomes true once the run's
/// token is cancelled, and a long job should check it and return early.
/// Thread safety: all members may be called from any thread.
class JobContext {
 public:
  /// A context whose stop is requested with `stop` (default: never) and whose byte-view input is
  /// followed by `input_padding` readable bytes.
  explicit JobContext(std::stop_token stop = {}, std::size_t input_padding = 0) noexcept
      : stop_(std::move(stop)), input_padding_(input_padding) {}
  /// True once the run was cancelled (thread backend; process jobs are killed instead).
  [[nodiscard]] bool stop_requested() const noexcept { return stop_.stop_requested(); }
  /// For std::stop_callback or std::condition_variable_any waits.
  [[nodiscard]] std::stop_token stop_token() const noexcept { return stop_; }
  /// How many bytes past the end of a std::string_view or std::span input the job may read
  /// (zeros), as parsers that read in 64-byte blocks need (simdjson's SIMDJSON_PADDING): 64 in
  /// a worker process, where the input lies in the request's shared memory; 0 on the thread
  /// backend, where the view is the caller's own memory.
  [[nodiscard]] std::size_t input_padding() const noexcept { return input_padding_; }

 private:
  std::stop_token stop_;
  std::size_t input_padding_ = 0;
};

}  // namespace isolate
