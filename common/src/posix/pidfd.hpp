// pidfd.hpp — pidfd_open and pidfd_send_signal(SIGKILL), the one way the library calls them
// (internal: the parent's ChildProcess and the worker's process tree).
#pragma once

#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>

namespace isolate::detail {

/// Opens a pidfd (close-on-exec) for `pid`; -1 where the kernel (< 5.3) or a seccomp policy has
/// no pidfd_open, or on any other failure. The caller makes sure `pid` is the process it means
/// (its unreaped child, itself, or one it checks again after the pidfd exists).
/// ISOLATE_DISABLE_PIDFD makes it fail always: the tests' stand-in for a kernel without pidfds.
inline int open_pidfd(pid_t pid) noexcept {
  static const bool disabled = std::getenv("ISOLATE_DISABLE_PIDFD") != nullptr;
  if (disabled) return -1;
#ifdef SYS_pidfd_open
  const long fd = ::syscall(SYS_pidfd_open, pid, 0U);
  return fd < 0 ? -1 : static_cast<int>(fd);
#else
  (void)pid;
  return -1;
#endif
}

/// pidfd_send_signal(SIGKILL). Returns 0, or the errno (ENOSYS where the syscall is missing).
inline int pidfd_kill(int pidfd) noexcept {
#ifdef SYS_pidfd_send_signal
  if (::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0U) == 0) return 0;
  return errno;
#else
  (void)pidfd;
  return ENOSYS;
#endif
}

}  // namespace isolate::detail
