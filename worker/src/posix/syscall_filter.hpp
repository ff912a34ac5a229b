// syscall_filter.hpp — the seccomp filter of a sandboxed worker (internal).
#pragma once

namespace isolate::detail {

/// Loads the worker's seccomp filter (libseccomp) on every thread of the process, after a SIGSYS
/// handler that ends the worker with kWorkerExitSandboxViolation + the call's index in
/// kSandboxKilledCalls. The policy (README, "Untrusted input"):
/// - killed (SIGSYS): the calls of kSandboxKilledCalls, and `clone` without CLONE_THREAD
///   (reported as "fork"); threads stay allowed;
/// - EPERM: changing a file's mode, owner, times or extended attributes (which Landlock does not
///   cover); a handler for SIGSYS or SIGXCPU (the CPU limit's); raising a resource limit
///   (setrlimit, prlimit64 with a new limit); System V IPC and POSIX message queues (memory
///   RLIMIT_DATA does not count); TIOCSTI and TIOCLINUX (typing into an inherited terminal);
/// - ENOSYS: clone3 (glibc then falls back to clone, whose flags the filter can read) and
///   io_uring_setup (whose operations would bypass this filter);
/// - EACCES: socket(), unless `network` (socketpair still works);
/// - another architecture's system calls (int 0x80) kill the worker.
/// Needs no_new_privs set. Returns false (errno set) if the kernel refused it.
[[nodiscard]] bool install_syscall_filter(bool network) noexcept;

}  // namespace isolate::detail
