// syscall_filter.hpp — the seccomp filter of a sandboxed worker, compiled by the parent (internal).
#pragma once

#include <string>

namespace isolate::detail {

/// The sandbox's seccomp filter for this architecture, compiled with libseccomp once per process
/// and `network` value (thread-safe), encoded for the worker argument (encode_filter). The policy
/// (README, "Untrusted input"):
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
/// Throws IsolateError if libseccomp cannot build it.
[[nodiscard]] const std::string& compiled_syscall_filter(bool network);

}  // namespace isolate::detail
