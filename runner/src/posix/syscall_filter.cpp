// syscall_filter.cpp — the seccomp filter of a sandboxed worker, compiled by the parent (see
// syscall_filter.hpp).
#include "syscall_filter.hpp"

#include <isolate/errors.hpp>

#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "posix/fd.hpp"
#include "protocol/sandbox_calls.hpp"
#include "protocol/sandbox_filter.hpp"

namespace isolate::detail {
namespace {

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

class FilterBuilder {
 public:
  FilterBuilder() : ctx_(::seccomp_init(SCMP_ACT_ALLOW)) {
    if (ctx_ == nullptr) throw IsolateError("isolate: seccomp_init failed: cannot build the sandbox's filter");
  }
  ~FilterBuilder() { ::seccomp_release(ctx_); }
  FilterBuilder(const FilterBuilder&) = delete;
  FilterBuilder& operator=(const FilterBuilder&) = delete;

  CompiledFilter build(bool network) {
    check(::seccomp_attr_set(ctx_, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS), "seccomp_attr_set");
    CompiledFilter filter;
    filter.killed_numbers.assign(kSandboxKilledCalls.size(), -1);
    for (std::size_t i = 1; i < kSandboxKilledCalls.size(); ++i) {
      filter.killed_numbers[i] = number_of(std::string(kSandboxKilledCalls[i]).c_str());
      add(SCMP_ACT_TRAP, filter.killed_numbers[i]);
    }
    filter.clone_number = number_of("clone");
    add(SCMP_ACT_TRAP, filter.clone_number, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
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
    filter.program = exported_program();
    return filter;
  }

 private:
  template <class... Conditions>
  void add(std::uint32_t action, int number, Conditions... conditions) {
    if (number >= 0)
      check(::seccomp_rule_add(ctx_, action, number, sizeof...(Conditions), conditions...), "seccomp_rule_add");
  }

  /// The BPF program, through a memory file (libseccomp exports to an fd).
  std::string exported_program() {
    const int fd = ::memfd_create("isolate-seccomp", MFD_CLOEXEC);
    if (fd < 0) throw IsolateError(std::string("isolate: memfd_create: ") + std::strerror(errno));
    std::string program;
    const int exported = ::seccomp_export_bpf(ctx_, fd);
    const auto size = ::lseek(fd, 0, SEEK_END);
    if (exported == 0 && size > 0) {
      program.resize(static_cast<std::size_t>(size));
      if (::pread(fd, program.data(), program.size(), 0) != size) program.clear();
    }
    close_fd(fd);
    if (exported != 0 || program.empty()) throw IsolateError("isolate: seccomp_export_bpf failed");
    return program;
  }

  static void check(int result, const char* what) {
    if (result != 0) throw IsolateError(std::string("isolate: ") + what + ": " + std::strerror(-result));
  }

  scmp_filter_ctx ctx_;
};

}  // namespace

const std::string& compiled_syscall_filter(bool network) {
  if (network) {
    static const std::string open = encode_filter(FilterBuilder().build(true));
    return open;
  }
  static const std::string closed = encode_filter(FilterBuilder().build(false));
  return closed;
}

}  // namespace isolate::detail
