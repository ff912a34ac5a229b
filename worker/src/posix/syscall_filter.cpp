// syscall_filter.cpp — the seccomp filter of a sandboxed worker (see syscall_filter.hpp).
#include "syscall_filter.hpp"

#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <string>

#include "protocol/sandbox_calls.hpp"

namespace isolate::detail {
namespace {

/// The system-call number of each entry of kSandboxKilledCalls on this architecture (-1: none,
/// or not known to libseccomp), filled before the filter loads; read by the SIGSYS handler.
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

/// Resolves `name` on this architecture; -1 when libseccomp does not know it here.
int number_of(const char* name) noexcept {
  const int number = ::seccomp_syscall_resolve_name(name);
  return number == __NR_SCMP_ERROR ? -1 : number;
}

constexpr std::array kAttributeChanges = {"chmod",       "fchmod",       "fchmodat",     "chown",     "fchown",
                                          "lchown",      "fchownat",     "setxattr",     "lsetxattr", "fsetxattr",
                                          "removexattr", "lremovexattr", "fremovexattr", "utime",     "utimes",
                                          "utimensat",   "futimesat"};

/// System V IPC and POSIX message queues: memory outside RLIMIT_DATA, reachable by no path.
constexpr std::array kUncountedMemory = {"shmget", "msgget", "semget", "mq_open"};

/// Calls this libseccomp (2.5.4) cannot name, by their x86-64 numbers.
#if defined(__x86_64__)
constexpr std::array kNewAttributeChanges = {452 /* fchmodat2 */, 463 /* setxattrat */, 466 /* removexattrat */};
#else
constexpr std::array<int, 0> kNewAttributeChanges = {};
#endif

class Filter {
 public:
  Filter() noexcept : ctx_(::seccomp_init(SCMP_ACT_ALLOW)) {}
  ~Filter() { ::seccomp_release(ctx_); }
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;

  [[nodiscard]] bool build(bool network) noexcept {
    if (ctx_ == nullptr) return fail(ENOMEM);
    ok_ = ::seccomp_attr_set(ctx_, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) == 0 &&
          ::seccomp_attr_set(ctx_, SCMP_FLTATR_CTL_TSYNC, 1) == 0;
    for (std::size_t i = 1; i < kSandboxKilledCalls.size(); ++i) {
      const std::string name(kSandboxKilledCalls[i]);
      g_killed_numbers[i] = number_of(name.c_str());
      if (g_killed_numbers[i] >= 0) add(SCMP_ACT_TRAP, g_killed_numbers[i]);
    }
    g_clone_number = number_of("clone");
    add(SCMP_ACT_TRAP, g_clone_number, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
    add(SCMP_ACT_ERRNO(ENOSYS), number_of("clone3"));
    add(SCMP_ACT_ERRNO(ENOSYS), number_of("io_uring_setup"));
    for (const scmp_datum_t signal : {scmp_datum_t{SIGSYS}, scmp_datum_t{SIGXCPU}}) {
      add(SCMP_ACT_ERRNO(EPERM), number_of("rt_sigaction"), SCMP_A0(SCMP_CMP_EQ, signal));
    }
    for (const char* name : kAttributeChanges) add(SCMP_ACT_ERRNO(EPERM), number_of(name));
    for (const int number : kNewAttributeChanges) add(SCMP_ACT_ERRNO(EPERM), number);
    for (const char* name : kUncountedMemory) add(SCMP_ACT_ERRNO(EPERM), number_of(name));
    add(SCMP_ACT_ERRNO(EPERM), number_of("setrlimit"));
    add(SCMP_ACT_ERRNO(EPERM), number_of("prlimit64"), SCMP_A2(SCMP_CMP_NE, 0));
    for (const scmp_datum_t request : {scmp_datum_t{TIOCSTI}, scmp_datum_t{TIOCLINUX}}) {
      add(SCMP_ACT_ERRNO(EPERM), number_of("ioctl"), SCMP_A1(SCMP_CMP_EQ, request));
    }
    if (!network) add(SCMP_ACT_ERRNO(EACCES), number_of("socket"));
    return ok_;
  }

  [[nodiscard]] bool load() noexcept {
    if (!ok_) return false;
    const int result = ::seccomp_load(ctx_);
    return result == 0 || fail(-result);
  }

 private:
  template <class... Conditions>
  void add(std::uint32_t action, int number, Conditions... conditions) noexcept {
    if (number < 0) return;
    const int result = ::seccomp_rule_add(ctx_, action, number, sizeof...(Conditions), conditions...);
    if (result != 0) ok_ = fail(-result);
  }
  static bool fail(int error) noexcept {
    errno = error;
    return false;
  }

  scmp_filter_ctx ctx_;
  bool ok_ = true;
};

}  // namespace

bool install_syscall_filter(bool network) noexcept {
  if (!install_sigsys_handler()) return false;
  Filter filter;
  return filter.build(network) && filter.load();
}

}  // namespace isolate::detail
