// progress.hpp — how far a job has come, as it reports it (JobContext::report_progress) and a
// run's callback receives it (RunOptions::on_progress, IsolatePool::run with a callback).
#pragma once

#include <cstdint>
#include <functional>

namespace isolate {

/// A job's report: `done` units of `total` (e.g. bytes parsed of the input's size).
struct Progress {
  std::uint64_t done = 0;
  std::uint64_t total = 0;  ///< 0: unknown
};

/// Receives a run's progress. It runs on a library thread, never twice at once for one run and
/// never after the run's future is ready, with `done` never decreasing; reports it had no time
/// to deliver are skipped (the latest wins). See RunOptions::on_progress for what it must not do
/// and what happens when it throws.
using ProgressCallback = std::function<void(const Progress&)>;

}  // namespace isolate
