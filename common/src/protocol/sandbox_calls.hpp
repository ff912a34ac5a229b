// sandbox_calls.hpp — the calls a sandboxed worker is killed for, and how its exit status names
// one (internal: the protocol).
//
// The worker's SIGSYS handler ends it with kWorkerExitSandboxViolation + the call's index here;
// the parent turns that status back into SandboxViolation(name). Both sides must agree on the
// order: append, never reorder (a reorder is a wire-version change).
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace isolate::detail {

inline constexpr int kWorkerExitSandboxViolation = 100;

/// Index 0: a call the worker could not name (SIGSYS arrived for a call not in this table). "fork"
/// is also what `clone` without CLONE_THREAD is reported as (glibc's fork() calls it).
inline constexpr std::array<std::string_view, 62> kSandboxKilledCalls = {
    // unnamed; process creation and program loading
    "unknown", "fork", "vfork", "execve", "execveat",
    // reaching into other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
    // mounts and namespaces
    "mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
    "mount_setattr", "unshare", "setns",
    // the kernel's programmable and privileged interfaces
    "bpf", "perf_event_open", "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "userfaultfd", "open_by_handle_at", "name_to_handle_at", "keyctl", "add_key", "request_key", "fanotify_init",
    // credentials
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid", "setgroups", "capset",
    // the host
    "reboot", "swapon", "swapoff", "acct", "iopl", "ioperm", "settimeofday", "clock_settime", "clock_adjtime",
    "adjtimex", "sethostname", "setdomainname", "syslog", "quotactl", "vhangup", "lookup_dcookie"};

static_assert(kWorkerExitSandboxViolation + kSandboxKilledCalls.size() <= 255);

/// The call a worker's exit code says the sandbox killed it for; nullopt: not such a code.
inline std::optional<std::string_view> sandbox_call_of_exit(int exit_code) noexcept {
  const auto index = exit_code - kWorkerExitSandboxViolation;
  if (index < 0 || index >= static_cast<int>(kSandboxKilledCalls.size())) return std::nullopt;
  return kSandboxKilledCalls[static_cast<std::size_t>(index)];
}

}  // namespace isolate::detail
