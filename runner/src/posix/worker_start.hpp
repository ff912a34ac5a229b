// worker_start.hpp — what one-shot runs and pools share in starting a worker and in telling why
// one failed (internal).
#pragma once

#include <isolate/run_options.hpp>

#include <chrono>
#include <exception>
#include <filesystem>
#include <optional>

#include "child_process.hpp"

namespace isolate::detail {

/// The worker program: `configured`, or this program re-executed (/proc/self/exe).
[[nodiscard]] std::filesystem::path worker_executable(const std::filesystem::path& configured);

/// Where a pool worker serves: its slot's control segment (inherited as fd 4) and the pool's
/// doorbell (fd 5).
struct PoolSeat {
  int control_fd = -1;
  int bell_fd = -1;
};

/// The fd a one-shot worker finds its input file at (FileInput), when it has one.
inline constexpr int kWorkerInputFd = 4;

/// Makes each of `sandbox.readable` absolute, against the current directory: called where run()
/// or a pool takes its options, in the caller's thread, so a worker started later (a pool's
/// replacement) reads the same paths whatever the process's directory is by then.
void resolve_readable_paths(Sandbox& sandbox);

/// Starts `executable` as a worker: its channel (`channel_fd`) as fd 3, a pool worker's control
/// segment and doorbell as fds 4 and 5 or a one-shot worker's input file (`input_fd`, if >= 0) as
/// fd 4, then a one-shot
/// worker's `tree_ready_fd` (if >= 0: an eventfd it writes once it serves, its process tree
/// complete), stdin on /dev/null, stdout and stderr as `output` says; it enforces `limits` and
/// enters `sandbox` itself. The caller keeps its fds. Throws IsolateError (naming the executable
/// and the reason) when it cannot be started.
[[nodiscard]] ChildProcess spawn_worker(const std::filesystem::path& executable, int channel_fd,
                                        std::optional<PoolSeat> seat, WorkerOutput output, const Limits& limits,
                                        const Sandbox& sandbox, int input_fd = -1, int tree_ready_fd = -1);

/// Why a worker that attached ended without a response, as `limits` and `sandbox` explain it: an
/// exit code or signal a limit causes (kWorkerExitMemoryLimit, kWorkerExitCpuLimit, SIGXCPU) is
/// ResourceLimitExceeded of that limit when it is set; under a sandbox, a kill for a call
/// (kWorkerExitSandboxViolation + its index, or SIGSYS) is SandboxViolation naming it, and
/// kWorkerExitSandboxRefused an IsolateError; anything else as worker_ended_error.
[[nodiscard]] std::exception_ptr worker_ended_error(const ExitStatus& status, const Limits& limits,
                                                    const Sandbox& sandbox);

/// Why a worker that never attached (never became ready) failed its job: it ended first
/// (`status`), or it was killed after `start_timeout`. The message says what to check.
[[nodiscard]] std::exception_ptr start_failure_error(const std::filesystem::path& executable, const ExitStatus& status,
                                                     bool timed_out, std::chrono::nanoseconds start_timeout);

/// Why a worker that attached but ended without a response failed its job: WorkerCrashed with how
/// it died, or, when something else in this process took its exit status (SIGCHLD ignored, a
/// waitpid(-1) loop, on a kernel that keeps none for us), an IsolateError saying so:
/// WorkerCrashed always names a signal or an exit code.
[[nodiscard]] std::exception_ptr worker_ended_error(const ExitStatus& status);

}  // namespace isolate::detail
