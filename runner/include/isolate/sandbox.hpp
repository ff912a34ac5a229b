// sandbox.hpp — Sandbox: what a worker process may reach (RunOptions::sandbox, PoolOptions::sandbox).
#pragma once

#include <filesystem>
#include <vector>

namespace isolate {

/// The sandbox of a worker process: file-system access limited to `readable` (read-only:
/// Landlock; anything else fails in the job with EACCES or EPERM), no socket unless `network`
/// (socket() fails with EACCES), and a seccomp filter that kills the worker for process creation,
/// execve, ptrace, mount, namespaces, bpf, perf_event_open, modules and credential changes
/// (reported as SandboxViolation naming the call). Entered by the worker before the job reads a
/// byte of its input, irrevocably (no_new_privs); once per pool worker. Threads, the job's input
/// (a FileInput included), its output, stdout and stderr keep working. The exact policy: README,
/// "Untrusted input".
///
/// A sandbox that cannot be enforced — available() is false, or the run is on the thread
/// backend — fails the run (or the pool's construction) with IsolateError: never a silent run
/// without it. A `readable` path that does not exist: std::invalid_argument.
struct Sandbox {
  bool enabled = false;
  std::vector<std::filesystem::path> readable{};
  bool network = false;
  /// Whether this build of the library on this kernel can enforce the sandbox (Linux with
  /// Landlock ABI >= 3 and seccomp filters; never with the thread backend only). Thread-safe.
  [[nodiscard]] static bool available() noexcept;
};

}  // namespace isolate
