// worker_start.cpp — starting a worker, and the errors of one that failed (see worker_start.hpp).
#include "worker_start.hpp"

#include <isolate/errors.hpp>

#include <unistd.h>

#include <csignal>
#include <cstdint>

#include <string>
#include <vector>

#include "posix/worker_environment.hpp"
#include "protocol/sandbox_calls.hpp"
#include "protocol/worker_argument.hpp"
#include "syscall_filter.hpp"

namespace isolate::detail {
namespace {

constexpr const char* kWhatToCheck =
    "; is isolate::run_worker_if_requested(argc, argv) the first line of its main(), or is worker_executable the "
    "right program?";

std::string seconds_text(std::chrono::nanoseconds d) {
  return std::to_string(std::chrono::duration<double>(d).count()) + " s";
}

WorkerSandbox worker_sandbox(const Sandbox& sandbox) {
  WorkerSandbox out{.enabled = sandbox.enabled, .network = sandbox.network};
  if (!sandbox.enabled) return out;
  out.filter = compiled_syscall_filter(sandbox.network);
  for (const auto& path : sandbox.readable) out.readable.push_back(path.string());  // absolute already
  return out;
}

}  // namespace

void resolve_readable_paths(Sandbox& sandbox) {
  for (auto& path : sandbox.readable) path = std::filesystem::absolute(path);
}

std::filesystem::path worker_executable(const std::filesystem::path& configured) {
  return configured.empty() ? std::filesystem::path("/proc/self/exe") : configured;
}

ChildProcess spawn_worker(const std::filesystem::path& executable, int channel_fd, std::optional<PoolSeat> seat,
                          WorkerOutput output, const Limits& limits, const Sandbox& sandbox, int input_fd,
                          int tree_ready_fd) {
  std::vector<int> fds{channel_fd};
  const WorkerLimits worker_limits{.memory_bytes = limits.memory_bytes,
                                   .cpu_ms = static_cast<std::uint64_t>(limits.cpu_time.count())};
  const auto confined = worker_sandbox(sandbox);
  std::string argument;
  if (seat) {
    fds.push_back(seat->control_fd);
    fds.push_back(seat->bell_fd);
    argument = make_worker_argument(3, ::getpid(), 4, 5, worker_limits, confined);
  } else {
    if (input_fd >= 0) fds.push_back(input_fd);  // kWorkerInputFd
    int tree_ready = -1;                         // its number in the worker
    if (tree_ready_fd >= 0) {
      tree_ready = static_cast<int>(3 + fds.size());
      fds.push_back(tree_ready_fd);
    }
    argument = make_worker_argument(3, ::getpid(), -1, 0, worker_limits, confined, tree_ready);
  }
  // stdin is always /dev/null: a job never reads, or waits for, the host's input.
  const auto stdio = output == WorkerOutput::discard ? Stdio::null : Stdio::null_input;
  return ChildProcess::spawn(executable, {argument}, fds, /*use_pidfd=*/true, stdio, worker_environment());
}

std::exception_ptr start_failure_error(const std::filesystem::path& executable, const ExitStatus& status,
                                       bool timed_out, std::chrono::nanoseconds start_timeout) {
  // Built with append: g++ 12 at -O3 misreports a chain of operator+ here (-Wrestrict).
  std::string what = "isolate: the worker ";
  what.append(executable.string());
  if (timed_out) {
    what.append(" did not attach to its job within ").append(seconds_text(start_timeout)).append(" and was killed");
  } else {
    what.append(" ended (").append(to_string(status)).append(") before attaching to its job");
  }
  what.append(kWhatToCheck);
  return std::make_exception_ptr(IsolateError(what));
}

std::exception_ptr worker_ended_error(const ExitStatus& status) {
  if (status.signal || status.exit_code) return std::make_exception_ptr(WorkerCrashed(status.signal, status.exit_code));
  return std::make_exception_ptr(IsolateError(
      "isolate: the worker ended without a response, and how it ended is unknown: something else in this "
      "process reaped it first (SIGCHLD set to SIG_IGN, or a waitpid(-1) loop) on a kernel that keeps no exit "
      "status for isolate (Linux < 6.15)"));
}

std::exception_ptr worker_ended_error(const ExitStatus& status, const Limits& limits, const Sandbox& sandbox) {
  using Resource = ResourceLimitExceeded::Resource;
  if (sandbox.enabled) {
    if (const auto call = status.exit_code ? sandbox_call_of_exit(*status.exit_code) : std::nullopt) {
      return std::make_exception_ptr(SandboxViolation(std::string(*call)));
    }
    // SIGSYS itself: the job blocked or reset it, so the kernel's default action killed the worker.
    if (status.signal == SIGSYS) return std::make_exception_ptr(SandboxViolation("unknown"));
    if (status.exit_code == kWorkerExitSandboxRefused) {
      return std::make_exception_ptr(IsolateError(
          "isolate: the worker could not enter its sandbox (the kernel refused it: see the worker's stderr)"));
    }
  }
  if (limits.memory_bytes != 0 && status.exit_code == kWorkerExitMemoryLimit) {
    return std::make_exception_ptr(ResourceLimitExceeded(Resource::memory, limits.memory_bytes));
  }
  if (limits.cpu_time.count() > 0 && (status.exit_code == kWorkerExitCpuLimit || status.signal == SIGXCPU)) {
    return std::make_exception_ptr(
        ResourceLimitExceeded(Resource::cpu_time, static_cast<std::uint64_t>(limits.cpu_time.count())));
  }
  return worker_ended_error(status);
}

}  // namespace isolate::detail
