// job_limits.cpp — RLIMIT_DATA, a new_handler, a CPU-time timer and RLIMIT_CPU behind it (see
// job_limits.hpp).
#include "job_limits.hpp"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <new>
#include <optional>
#include <string>

#include "cpu_backstop.hpp"

namespace isolate::detail {
namespace {

/// VmData of /proc/self/status in bytes (the size RLIMIT_DATA is checked against), or 0.
std::uint64_t data_size() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmData:", 0) == 0) return std::strtoull(line.c_str() + 7, nullptr, 10) * 1024;
  }
  return 0;
}

[[noreturn]] void memory_exhausted() { ::_exit(kWorkerExitMemoryLimit); }

extern "C" void cpu_time_exhausted(int) { ::_exit(kWorkerExitCpuLimit); }

/// Installs the SIGXCPU handler and unblocks the signal on this thread (both, even if one is
/// refused). False if either was (the sandbox refuses a handler for SIGXCPU once the worker has
/// installed its own).
bool catch_sigxcpu() noexcept {
  struct sigaction action {};
  action.sa_handler = cpu_time_exhausted;
  ::sigemptyset(&action.sa_mask);
  const bool handled = ::sigaction(SIGXCPU, &action, nullptr) == 0;
  sigset_t xcpu;
  ::sigemptyset(&xcpu);
  ::sigaddset(&xcpu, SIGXCPU);
  return ::pthread_sigmask(SIG_UNBLOCK, &xcpu, nullptr) == 0 && handled;
}

/// A timer on this process's CPU time that sends SIGXCPU, or nullopt if refused.
std::optional<timer_t> make_cpu_timer() noexcept {
  sigevent event{};
  event.sigev_notify = SIGEV_SIGNAL;
  event.sigev_signo = SIGXCPU;
  timer_t timer{};
  if (::timer_create(CLOCK_PROCESS_CPUTIME_ID, &event, &timer) != 0) return std::nullopt;
  return timer;
}

/// CPU time this process (all its threads) has used.
std::chrono::nanoseconds cpu_used() noexcept {
  timespec now{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

/// Lowers RLIMIT_CPU to `backstop` (never raises it: a lower limit of the host's stays). Returns
/// the soft limit now in force, or nullopt if the kernel refused.
std::optional<std::uint64_t> set_cpu_backstop(const CpuBackstop& backstop) noexcept {
  rlimit current{};
  if (::getrlimit(RLIMIT_CPU, &current) != 0) return std::nullopt;
  const rlim_t hard = std::min<rlim_t>(current.rlim_max, backstop.hard_seconds);
  const rlimit lowered{std::min<rlim_t>({current.rlim_cur, backstop.soft_seconds, hard}), hard};
  if (::setrlimit(RLIMIT_CPU, &lowered) != 0) return std::nullopt;
  return lowered.rlim_cur;
}

}  // namespace

bool JobLimits::set_up(const WorkerLimits& limits, bool for_pool) noexcept {
  limits_ = limits;
  if (limits.memory_bytes != 0) {
    // The environment's top pad (64 MiB) would make a small allocation ask for more than a small
    // limit leaves; glibc's mmap fallback asks for the same size, so it would fail too.
    ::mallopt(M_TOP_PAD, static_cast<int>(std::min<std::uint64_t>(limits.memory_bytes / 16, 64u << 20)));
    // The heap grown by that pad before now is free but counted in VmData: without giving it
    // back, the job could allocate the pad (64 MiB) on top of its limit.
    ::malloc_trim(0);
    std::set_new_handler(memory_exhausted);
    std::uint64_t held = 0;
    try {
      held = data_size();
    } catch (...) {
      return false;
    }
    rlimit current{};
    if (::getrlimit(RLIMIT_DATA, &current) != 0) return false;
    // Saturated, and never above what the host allows (a lower hard limit is the limit then).
    const std::uint64_t wanted =
        limits.memory_bytes > RLIM_INFINITY - held ? RLIM_INFINITY : held + limits.memory_bytes;
    const rlimit data{std::min<rlim_t>(wanted, current.rlim_max), std::min<rlim_t>(wanted, current.rlim_max)};
    if (::setrlimit(RLIMIT_DATA, &data) != 0) return false;
  }
  if (limits.cpu_ms != 0) {
    if (!catch_sigxcpu()) return false;
    const auto timer = make_cpu_timer();
    if (!timer) return false;
    timer_ = *timer;
    has_timer_ = true;
    const auto soft = set_cpu_backstop(cpu_backstop(cpu_used(), std::chrono::milliseconds(limits.cpu_ms), for_pool));
    if (!soft) return false;
    cpu_soft_seconds_ = *soft;
  }
  return true;
}

bool JobLimits::has_room_for_next_job() const noexcept {
  return !has_timer_ || backstop_has_room(cpu_used(), std::chrono::milliseconds(limits_.cpu_ms), cpu_soft_seconds_);
}

void JobLimits::begin_job() noexcept {
  if (!has_timer_) return;
  // An earlier job of a pool worker may have blocked SIGXCPU, replaced its handler (without the
  // sandbox) or deleted the timer, and returned: each job starts with all three as set up.
  (void)catch_sigxcpu();  // the handler part is refused in the sandbox, where no job can change it
  itimerspec budget{};
  budget.it_value.tv_sec = static_cast<time_t>(limits_.cpu_ms / 1000);
  budget.it_value.tv_nsec = static_cast<long>(limits_.cpu_ms % 1000) * 1'000'000;
  // Relative: from the CPU time used so far.
  if (::timer_settime(static_cast<timer_t>(timer_), 0, &budget, nullptr) == 0) return;
  if (const auto timer = make_cpu_timer()) {  // deleted: a new one (RLIMIT_CPU stands behind it if refused)
    timer_ = *timer;
    (void)::timer_settime(*timer, 0, &budget, nullptr);
  }
}

void JobLimits::end_job() noexcept {
  if (!has_timer_) return;
  const itimerspec disarmed{};
  ::timer_settime(static_cast<timer_t>(timer_), 0, &disarmed, nullptr);
}

}  // namespace isolate::detail
