// sandbox.hpp — a worker entering its sandbox (internal).
#pragma once

#include <string>

#include "protocol/worker_argument.hpp"

namespace isolate::detail {

/// Confines this worker process for good, before it reads its first request: no_new_privs, a
/// Landlock domain in which only `sandbox.readable` can be read (nothing written, created or
/// removed anywhere; without `network`, no TCP bind or connect; no signals or abstract UNIX
/// sockets outside the domain), then the seccomp filter the parent compiled (`sandbox.filter`:
/// runner/src/posix/syscall_filter.hpp). Returns an empty
/// string on success, else what the kernel refused (the worker must then not serve).
/// Landlock confines the calling thread and the threads it starts: call it before the job starts
/// any.
[[nodiscard]] std::string enter_sandbox(const WorkerSandbox& sandbox);

}  // namespace isolate::detail
