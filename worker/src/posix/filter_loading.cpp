// filter_loading.cpp — a sandboxed worker loading the seccomp filter its parent compiled (see
// filter_loading.hpp).
#include "filter_loading.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>

#include "protocol/sandbox_calls.hpp"
#include "protocol/sandbox_filter.hpp"

namespace isolate::detail {
namespace {

/// The system-call number of each entry of kSandboxKilledCalls here (-1: none), filled before
/// the filter loads; read by the SIGSYS handler.
std::array<int, kSandboxKilledCalls.size()> g_killed_numbers{};
int g_clone_number = -1;

constexpr std::size_t kForkIndex = 1;
static_assert(kSandboxKilledCalls[kForkIndex] == "fork");

/// Async-signal-safe: a lookup in a filled table and exit_group, called directly: a sanitizer's
/// _exit runs its at-exit work, which under TSan waits for a lock its fork() interceptor holds
/// when the trapped call was a fork.
void on_sigsys(int, siginfo_t* info, void*) {
  std::size_t index = 0;
  if (info->si_syscall == g_clone_number) {
    index = kForkIndex;
  } else {
    for (std::size_t i = 1; i < g_killed_numbers.size(); ++i) {
      if (g_killed_numbers[i] >= 0 && g_killed_numbers[i] == info->si_syscall) index = i;
    }
  }
  ::syscall(SYS_exit_group, kWorkerExitSandboxViolation + static_cast<int>(index));
}

#if defined(__x86_64__)
/// The kernel's struct sigaction (x86-64), for rt_sigaction called directly.
struct KernelSigaction {
  void (*handler)(int, siginfo_t*, void*);
  unsigned long flags;
  void (*restorer)();
  std::uint64_t mask;
};
constexpr unsigned long kSaRestorer = 0x04000000;  // <asm/signal.h>; x86-64 requires a restorer

/// The restorer the kernel would return through: on_sigsys never returns.
void never_returns() { ::syscall(SYS_exit_group, kWorkerExitSandboxViolation); }
#endif

/// Installs on_sigsys as the kernel's handler of SIGSYS. On x86-64 directly (rt_sigaction), not
/// through sigaction(): a sanitizer's interceptor would install its own dispatcher instead, which
/// consults a table the job can change (under TSan, signal(SIGSYS, SIG_IGN) is refused by the
/// filter but still recorded there, and a trapped fork() then "returns" its own call number).
bool install_sigsys_handler() noexcept {
#if defined(__x86_64__)
  const KernelSigaction action{
      .handler = on_sigsys, .flags = SA_SIGINFO | kSaRestorer, .restorer = never_returns, .mask = 0};
  const bool installed = ::syscall(SYS_rt_sigaction, SIGSYS, &action, nullptr, sizeof action.mask) == 0;
#else
  struct sigaction action {};
  action.sa_sigaction = on_sigsys;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  const bool installed = ::sigaction(SIGSYS, &action, nullptr) == 0;
#endif
  sigset_t sigsys;
  sigemptyset(&sigsys);
  sigaddset(&sigsys, SIGSYS);
  return installed && ::sigprocmask(SIG_UNBLOCK, &sigsys, nullptr) == 0;
}

}  // namespace

bool load_syscall_filter(std::string_view compiled) noexcept {
  const auto filter = decode_filter(compiled);
  if (!filter) {
    errno = EINVAL;
    return false;
  }
  std::copy(filter->killed_numbers.begin(), filter->killed_numbers.end(), g_killed_numbers.begin());
  g_clone_number = filter->clone_number;
  if (!install_sigsys_handler()) return false;
  sock_fprog program{};
  program.len = static_cast<unsigned short>(filter->program.size() / kFilterInstructionBytes);
  program.filter =
      reinterpret_cast<sock_filter*>(const_cast<char*>(filter->program.data()));  // NOLINT: the kernel's API
  return ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &program) == 0;
}

}  // namespace isolate::detail
