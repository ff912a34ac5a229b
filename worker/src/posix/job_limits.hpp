// job_limits.hpp — the limits a worker enforces on its jobs: memory (RLIMIT_DATA) and CPU time
// per job (a process CPU-time timer) (internal).
#pragma once

#include "protocol/worker_argument.hpp"

namespace isolate::detail {

/// Set up once per worker process, before its first job; then each job runs between
/// begin_job() and end_job().
///
/// Memory: RLIMIT_DATA is set to what the worker holds now plus memory_bytes, so the heap and
/// private writable mappings of its jobs (and what a pool worker keeps of earlier jobs' freed
/// heap, which the next job reuses) stay under the limit; shared segments and read-only mappings
/// do not count. An allocation that fails ends the worker with kWorkerExitMemoryLimit (a
/// new_handler), so a job cannot swallow it and go on; malloc's top pad is cut to fit.
///
/// CPU time: a CLOCK_PROCESS_CPUTIME_ID timer armed for each job with the whole budget; on expiry
/// SIGXCPU ends the worker with kWorkerExitCpuLimit (no core dump). Not thread-safe: the serving
/// thread only.
class JobLimits {
 public:
  /// Applies the memory limit and makes the CPU timer. Returns false (errno set) if the kernel
  /// refused either: the worker must not serve without its limits.
  [[nodiscard]] bool set_up(const WorkerLimits& limits) noexcept;
  void begin_job() noexcept;
  /// True once set_up applied a memory limit: memory the worker holds for a job's input must then
  /// be shared (RLIMIT_DATA does not count it).
  [[nodiscard]] bool limits_memory() const noexcept { return limits_.memory_bytes != 0; }
  void end_job() noexcept;

 private:
  WorkerLimits limits_{};
  void* timer_ = nullptr;  // a timer_t
  bool has_timer_ = false;
};

}  // namespace isolate::detail
