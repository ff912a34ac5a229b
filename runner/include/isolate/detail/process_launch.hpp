// process_launch.hpp — one process run in flight: spawn, supervise, settle (internal; reachable
// because CancellableIsolate::run, a template, starts its runs through it).
//
// The template hands over how to write its request (the job's name, its input codec's tag and
// an InputWriter) and a Completion (how to claim the run's result and complete its future). The
// launch writes the request into a new channel at once (still inside run(): a view input is
// valid), posts the spawn to the supervisor thread, watches the worker, and when it exits reads
// the response (on an executor thread) and completes through the Completion. cancel() — called by
// the token, after it claimed the result — kills the worker and waits until it and every process
// of its tree are gone before returning, so once the future is ready no process that ran the
// job's code remains (the worker's relay, which runs none, is reaped by the supervisor's watch).
#pragma once

#include <isolate/detail/byte_writer.hpp>
#include <isolate/detail/progress_watch.hpp>
#include <isolate/export.hpp>
#include <isolate/file_input.hpp>
#include <isolate/run_options.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

namespace isolate::detail {

/// What a run asks of its worker: the job's name, its input codec's tag, and how to write the
/// input payload (Codec<In>::encode) into the request, or the file the worker reads it from.
struct JobRequest {
  std::string_view job;
  std::string_view input_tag;
  std::size_t size_hint = 0;  // bytes the input will take, about
  std::function<void(ByteWriter&)> write_input{};
  std::optional<FileInput> input_file{};      // set: the worker reads this instead (write_input unused)
  std::shared_ptr<ProgressWatch> progress{};  // set: watches the job's reports (RunOptions::on_progress)
};

class ISOLATE_EXPORT ProcessLaunch {
 public:
  /// Called by deliver() once the payload is decoded, before the future is ready: a pool frees
  /// the worker there, so that a caller woken by the future finds its warm worker idle.
  using Decoded = std::function<void()>;
  struct Completion {
    std::function<bool()> claim;                                              // false: the token won
    std::function<void(std::span<const std::byte>, const Decoded&)> deliver;  // decode, decoded(),
                                                                              // complete; throws on bad data
    std::function<void(std::exception_ptr)> fail;                             // complete with an error
  };

  /// Writes `request` into a new channel now (and duplicates its input file's fd), and starts its
  /// progress watch on the channel's cell. Throws what writing throws (IsolateError: no fd or
  /// memory for the channel; the encoder's exceptions; InputError: the input file's fd cannot be
  /// duplicated), or what watching throws (std::system_error: no timer thread).
  static std::shared_ptr<ProcessLaunch> create(const JobRequest& request, RunOptions options);

  /// Starts the worker (asynchronously, on the supervisor thread). No effect after cancel().
  void start(Completion completion);
  /// Kills the worker if it exists (waiting out a spawn in progress, ~1 ms) and waits until its
  /// process tree is gone (ChildProcess::kill_tree_and_wait); a launch not yet spawned never
  /// spawns. Thread safety: any thread except the supervisor's.
  void cancel() noexcept;

  ~ProcessLaunch();
  ProcessLaunch(const ProcessLaunch&) = delete;
  ProcessLaunch& operator=(const ProcessLaunch&) = delete;

 private:
  struct Impl;
  explicit ProcessLaunch(std::shared_ptr<Impl> impl) noexcept;
  std::shared_ptr<Impl> impl_;
};

/// True when Backend::process is built in (Linux).
ISOLATE_EXPORT bool process_backend_available() noexcept;

/// Whether jobs asked to run on `backend` run on threads: Backend::thread, or Backend::automatic
/// where processes are not built. Throws IsolateError for Backend::process where they are not.
ISOLATE_EXPORT bool runs_on_threads(Backend backend);

/// runs_on_threads(backend), after checking `limits` and `sandbox`: std::invalid_argument for a
/// value out of range (a negative CPU time, a memory limit too small for a worker, a readable
/// path that does not exist); IsolateError when they cannot be enforced where the jobs would run
/// (on threads, or a sandbox this kernel cannot enforce).
ISOLATE_EXPORT bool runs_on_threads(Backend backend, const Limits& limits, const Sandbox& sandbox);

}  // namespace isolate::detail
