// filter_loading.hpp — a sandboxed worker loading the seccomp filter its parent compiled
// (internal; the policy: runner/src/posix/syscall_filter.hpp).
#pragma once

#include <string_view>

namespace isolate::detail {

/// Installs a SIGSYS handler that ends the worker with kWorkerExitSandboxViolation + the trapped
/// call's index in kSandboxKilledCalls (clone is "fork"), then loads `compiled` (encode_filter
/// bytes) on every thread of the process. Needs no_new_privs set. Returns false (errno set) if
/// `compiled` does not decode (EINVAL) or the kernel refused it.
[[nodiscard]] bool load_syscall_filter(std::string_view compiled) noexcept;

}  // namespace isolate::detail
