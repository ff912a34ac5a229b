// limits.hpp — Limits: what one job may use (RunOptions::limits, PoolOptions::limits).
#pragma once

#include <chrono>
#include <cstddef>

namespace isolate {

/// Per-job resource limits of a worker process. 0 (the default) means "no limit" everywhere.
/// Going over one fails the job with ResourceLimitExceeded naming the resource and the limit (a
/// pool replaces a worker that died of it and goes on). Enforced in the worker process only: a
/// run with limits on the thread backend fails with IsolateError.
///
/// - memory_bytes: memory the job allocates (its heap and private mappings: RLIMIT_DATA over what
///   the worker holds when the job starts). The shared segments holding its input and output, and
///   a FileInput's mapping, do not count. Smaller than 16 MiB: std::invalid_argument at run() or
///   at the pool's construction (a worker needs more to start).
/// - cpu_time: CPU time of one job, all its threads together; in a pool each job gets the whole
///   budget, whatever the worker ran before. A job that blocks the timer's signal is killed by the
///   kernel at RLIMIT_CPU's hard limit, a few seconds of CPU later (a pool worker also keeps a
///   reserve of two budgets there, and is replaced once its jobs have used it up; no job fails
///   for that). Negative: std::invalid_argument.
/// - output_bytes: size of the job's encoded output as the parent receives it.
struct Limits {
  std::size_t memory_bytes = 0;
  std::chrono::milliseconds cpu_time{0};
  std::size_t output_bytes = 0;
};

}  // namespace isolate
