// job_limits.cpp — RLIMIT_DATA, a new_handler and a CPU-time timer (see job_limits.hpp).
#include "job_limits.hpp"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <new>
#include <string>

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

}  // namespace

bool JobLimits::set_up(const WorkerLimits& limits) noexcept {
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
    struct sigaction action {};
    action.sa_handler = cpu_time_exhausted;
    ::sigemptyset(&action.sa_mask);
    if (::sigaction(SIGXCPU, &action, nullptr) != 0) return false;
    sigevent event{};
    event.sigev_notify = SIGEV_SIGNAL;
    event.sigev_signo = SIGXCPU;
    timer_t timer{};
    if (::timer_create(CLOCK_PROCESS_CPUTIME_ID, &event, &timer) != 0) return false;
    timer_ = timer;
    has_timer_ = true;
  }
  return true;
}

void JobLimits::begin_job() noexcept {
  if (!has_timer_) return;
  itimerspec budget{};
  budget.it_value.tv_sec = static_cast<time_t>(limits_.cpu_ms / 1000);
  budget.it_value.tv_nsec = static_cast<long>(limits_.cpu_ms % 1000) * 1'000'000;
  ::timer_settime(static_cast<timer_t>(timer_), 0, &budget, nullptr);  // relative: from the CPU time used so far
}

void JobLimits::end_job() noexcept {
  if (!has_timer_) return;
  const itimerspec disarmed{};
  ::timer_settime(static_cast<timer_t>(timer_), 0, &disarmed, nullptr);
}

}  // namespace isolate::detail
