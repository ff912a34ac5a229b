// run_options.hpp — where and how jobs run: Backend, RunOptions and PoolOptions.
#pragma once

#include <isolate/limits.hpp>
#include <isolate/progress.hpp>
#include <isolate/sandbox.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>

namespace isolate {

/// Where a job runs. automatic: in a worker process where the platform has them (Linux), else
/// on a thread. process: always a worker process (IsolateError where unsupported). thread: a
/// thread of this process (cannot be killed; see CancellableIsolate).
enum class Backend { automatic, process, thread };

/// Where a worker process's standard output and error go. (Its standard input is always
/// /dev/null: a job never reads this program's input.) No effect on the thread backend.
enum class WorkerOutput {
  inherit,  ///< this program's stdout and stderr: a job's prints and crash messages show there
  discard,  ///< /dev/null
};

/// Options of CancellableIsolate::run.
struct RunOptions {
  Backend backend = Backend::automatic;
  /// The worker program. Empty: this program re-executes itself (/proc/self/exe), so main()
  /// must start with run_worker_if_requested. Or e.g. the installed generic `isolate-worker`.
  std::filesystem::path worker_executable{};
  /// How long a started worker may take to attach to its request before it is killed and the
  /// run fails with IsolateError (a program whose main() lacks run_worker_if_requested, or the
  /// wrong binary, never attaches). Generous by default: sanitizer builds start slowly.
  std::chrono::nanoseconds start_timeout = std::chrono::seconds(10);
  /// The worker's stdout and stderr (its stdin is /dev/null).
  WorkerOutput worker_output = WorkerOutput::inherit;
  /// What the job may use (see Limits); none by default.
  Limits limits{};
  /// What the worker may reach (see Sandbox); off by default.
  Sandbox sandbox{};
  /// Receives the job's progress reports (JobContext::report_progress), on both backends: the
  /// latest report, read about every 25 ms, on a library thread; never two calls at once for
  /// the run, `done` never decreasing, and no call once the run's future is ready (the run's end
  /// waits for a call in progress). Keep it short, and never wait in it for a run to end (its
  /// own run's end waits for it). If it throws, it is not called again and the run ends as if
  /// cancelled (the worker is killed and reaped) with the callback's exception in its future.
  /// A callback that cancels its own run's token may still be running when that future becomes
  /// ready: let it hold what it uses (a copy of the token), not references to the caller's locals.
  ProgressCallback on_progress{};
};

/// Options of an IsolatePool.
struct PoolOptions {
  std::size_t workers = 0;  // 0: std::thread::hardware_concurrency()
  Backend backend = Backend::automatic;
  std::filesystem::path worker_executable{};
  /// How long a started worker may take to become ready before it is killed and the pool reports
  /// IsolateError for the job waiting on it (as RunOptions::start_timeout).
  std::chrono::nanoseconds start_timeout = std::chrono::seconds(10);
  /// The workers' stdout and stderr (their stdin is /dev/null).
  WorkerOutput worker_output = WorkerOutput::inherit;
  /// What each job may use (see Limits); none by default.
  Limits limits{};
  /// What the workers may reach (see Sandbox); off by default.
  Sandbox sandbox{};
  /// 0: no limit. Otherwise a worker process is replaced by a fresh one after it has answered
  /// that many jobs (a job that leaks, or a parser that keeps memory, starts over clean). Queued
  /// jobs wait for the new worker; nothing fails. No effect on the thread backend.
  std::size_t max_jobs_per_worker = 0;
};

}  // namespace isolate
