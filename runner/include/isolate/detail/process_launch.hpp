// process_launch.hpp — one process run in flight: spawn, supervise, settle (internal).
//
// The template CancellableIsolate::run encodes the request into a segment and hands it here with
// a Completion (how to claim the run's result and complete its future). The launch posts the
// spawn to the Supervisor thread, watches the worker, and when it exits reads the response
// (on an executor thread) and completes through the Completion. cancel() — called by the token,
// after it claimed the result — kills the worker and reaps it before returning, so once the
// future is ready no process of the run remains.
#pragma once

#include <isolate/detail/shared_memory.hpp>
#include <isolate/export.hpp>
#include <isolate/run_options.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <span>

namespace isolate::detail {

class ISOLATE_EXPORT ProcessLaunch {
 public:
  struct Completion {
    std::function<bool()> claim;                                // false: the token won
    std::function<void(std::span<const std::byte>)> deliver;    // decode + complete; throws on bad data
    std::function<void(std::exception_ptr)> fail;               // complete with an error
  };

  /// Takes the published request segment. Throws std::bad_alloc.
  static std::shared_ptr<ProcessLaunch> create(SharedMemory request, RunOptions options);

  /// Starts the worker (asynchronously, on the supervisor thread). No effect after cancel().
  void start(Completion completion);
  /// Kills the worker if it exists (waiting out a spawn in progress, ~1 ms) and reaps it; a
  /// launch not yet spawned never spawns. Thread safety: any thread except the supervisor's.
  void cancel() noexcept;

  ~ProcessLaunch();
  ProcessLaunch(const ProcessLaunch&) = delete;
  ProcessLaunch& operator=(const ProcessLaunch&) = delete;

 private:
  struct Impl;
  explicit ProcessLaunch(std::shared_ptr<Impl> impl) noexcept;
  std::shared_ptr<Impl> impl_;
};

/// Completes `completion` (already claimed) from the response in `segment` (state responded,
/// mapped at its final size): the value to deliver(), or the job's exception rebuilt to fail().
/// Throws IsolateError for a malformed response.
ISOLATE_EXPORT void complete_from_response(SharedMemory& segment, const ProcessLaunch::Completion& completion);

/// True when Backend::process is built in (Linux).
ISOLATE_EXPORT bool process_backend_available() noexcept;

}  // namespace isolate::detail
