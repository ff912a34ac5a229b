// job_context.hpp — what a running job can ask of the runner: has it been cancelled?
#pragma once

#include <stop_token>
#include <utility>

namespace isolate {

/// Passed to jobs that take a second parameter. In a worker process a cancelled job is killed,
/// so stop_requested() stays false there; on the thread backend it becomes true once the run's
/// token is cancelled, and a long job should check it and return early.
/// Thread safety: all members may be called from any thread.
class JobContext {
 public:
  /// A context whose stop is requested with `stop` (default: never).
  explicit JobContext(std::stop_token stop = {}) noexcept : stop_(std::move(stop)) {}
  /// True once the run was cancelled (thread backend; process jobs are killed instead).
  [[nodiscard]] bool stop_requested() const noexcept { return stop_.stop_requested(); }
  /// For std::stop_callback or std::condition_variable_any waits.
  [[nodiscard]] std::stop_token stop_token() const noexcept { return stop_; }

 private:
  std::stop_token stop_;
};

}  // namespace isolate
