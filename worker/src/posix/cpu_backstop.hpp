// cpu_backstop.hpp — RLIMIT_CPU as the backstop of a worker's per-job CPU timer (internal).
//
// The per-job timer's SIGXCPU ends a job that goes over its budget, but a job can block that
// signal (the sandbox forbids replacing its handler, not masking it). The SIGKILL the kernel sends
// at RLIMIT_CPU's hard limit cannot be blocked, and a job cannot raise that limit: under the
// sandbox setrlimit and prlimit are refused, and without it raising a hard limit takes
// CAP_SYS_RESOURCE. The limit counts the worker's whole life, in whole seconds, and can only be
// lowered: a worker sets it once, before its first job, with room for that job's budget and, in a
// pool, a reserve for later jobs; a pool worker that can no longer give a next job its whole
// budget asks to be replaced.
//
// CPU the worker uses between two jobs beyond kCpuBetweenJobs (a long ISOLATE_SPIN_US, a thread a
// job left running) can bring the soft limit's SIGXCPU before the next job has used its whole
// budget: that job then reports the CPU limit early.
//
// So a job that blocks SIGXCPU is killed after at most its budget + 2.5 s of CPU on a one-shot
// run, its budget + pool_cpu_reserve(budget) + 2.5 s on a pool, and a pool worker with a CPU
// limit is replaced after its jobs have used about pool_cpu_reserve(budget) of CPU (at least two
// seconds of CPU per worker start).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace isolate::detail {

/// RLIMIT_CPU in seconds. At `soft` the kernel sends SIGXCPU (the worker's handler reports the
/// CPU limit), at `hard` SIGKILL.
struct CpuBackstop {
  std::uint64_t soft_seconds = 0;
  std::uint64_t hard_seconds = 0;
  friend bool operator==(const CpuBackstop&, const CpuBackstop&) = default;
};

/// What a pool worker keeps for its later jobs: two budgets, at least two seconds.
constexpr std::chrono::nanoseconds pool_cpu_reserve(std::chrono::milliseconds budget) noexcept {
  return std::max<std::chrono::nanoseconds>(2 * budget, std::chrono::seconds(2));
}

/// CPU a worker may use between checking that a next job fits and that job's start (the wait for
/// it, a trim of an idle worker's heap).
inline constexpr std::chrono::nanoseconds kCpuBetweenJobs = std::chrono::milliseconds(500);

/// The whole seconds at or above `t` (0 for a negative `t`).
constexpr std::uint64_t whole_seconds_above(std::chrono::nanoseconds t) noexcept {
  const auto seconds = std::chrono::ceil<std::chrono::seconds>(t).count();
  return seconds < 0 ? 0 : static_cast<std::uint64_t>(seconds);
}

/// No limit (RLIM_INFINITY): what a budget too long to need a backstop gets.
inline constexpr CpuBackstop kNoCpuBackstop{UINT64_MAX, UINT64_MAX};

/// Budgets longer than this get no backstop (ten years: the sums below stay far from overflow).
inline constexpr std::chrono::milliseconds kLongestBackstoppedBudget = std::chrono::hours(24 * 365 * 10);

/// The limit a worker that has used `used` of CPU sets before its first job of `budget`; a pool
/// worker (`for_pool`) keeps a reserve for its later jobs.
constexpr CpuBackstop cpu_backstop(std::chrono::nanoseconds used, std::chrono::milliseconds budget,
                                   bool for_pool) noexcept {
  if (budget > kLongestBackstoppedBudget || used > kLongestBackstoppedBudget) return kNoCpuBackstop;
  const auto reserve = for_pool ? pool_cpu_reserve(budget) : std::chrono::nanoseconds(0);
  const auto soft = whole_seconds_above(used + kCpuBetweenJobs + budget + reserve);
  return {soft, soft + 1};
}

/// Whether a worker that has used `used` of CPU, with SIGXCPU due at `soft_seconds`, can give a
/// next job its whole `budget` before that signal.
constexpr bool backstop_has_room(std::chrono::nanoseconds used, std::chrono::milliseconds budget,
                                 std::uint64_t soft_seconds) noexcept {
  if (soft_seconds == kNoCpuBackstop.soft_seconds) return true;
  if (budget > kLongestBackstoppedBudget || used > kLongestBackstoppedBudget) return false;
  return whole_seconds_above(used + kCpuBetweenJobs + budget) <= soft_seconds;
}

}  // namespace isolate::detail
