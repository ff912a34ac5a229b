// job_limits.hpp — the limits a worker enforces on its jobs: memory (RLIMIT_DATA) and CPU time
// per job (a process CPU-time timer) (internal).
#pragma once

#include <cstdint>

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
/// SIGXCPU ends the worker with kWorkerExitCpuLimit (no core dump). Behind it, RLIMIT_CPU (see
/// cpu_backstop.hpp): a job that blocks SIGXCPU is SIGKILLed by the kernel a few seconds later,
/// and a pool worker whose limit leaves no room for a next job's budget must be replaced
/// (has_room_for_next_job). Not thread-safe: the serving thread only.
class JobLimits {
 public:
  /// Applies the memory limit, makes the CPU timer and sets RLIMIT_CPU behind it (with a reserve
  /// for later jobs `for_pool`). Returns false (errno set) if the kernel refused any: the worker
  /// must not serve without its limits.
  [[nodiscard]] bool set_up(const WorkerLimits& limits, bool for_pool) noexcept;
  void begin_job() noexcept;
  /// True once set_up applied a memory limit: memory the worker holds for a job's input must then
  /// be shared (RLIMIT_DATA does not count it).
  [[nodiscard]] bool limits_memory() const noexcept { return limits_.memory_bytes != 0; }
  void end_job() noexcept;
  /// False once RLIMIT_CPU leaves a next job less than its whole CPU budget: the worker must ask
  /// to be replaced. Always true without a CPU limit.
  [[nodiscard]] bool has_room_for_next_job() const noexcept;

 private:
  WorkerLimits limits_{};
  void* timer_ = nullptr;  // a timer_t
  bool has_timer_ = false;
  std::uint64_t cpu_soft_seconds_ = 0;  // RLIMIT_CPU's soft limit, set with the timer
};

}  // namespace isolate::detail
