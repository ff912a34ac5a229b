// errors.hpp — the exceptions of isolate.
//
// Defines CancelledException (a task was cancelled) and TimeoutException (a timeout token fired),
// and the runner's failures: IsolateError, JobError (the job threw) and WorkerCrashed (the worker
// died without a result). Every type here copies without throwing (the texts are shared,
// immutable strings), so they can be stored in and rethrown from an exception_ptr freely.
#pragma once

#include <isolate/export.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace isolate {

/// A task was cancelled. Futures of cancelled tasks hold this (or whatever exception the token
/// was cancelled with). reason() is "cancelled" unless a reason was given.
/// Thread safety: immutable after construction; copies share the text and never throw.
class ISOLATE_EXPORT CancelledException : public std::exception {
 public:
  /// reason() == "cancelled". Throws std::bad_alloc only.
  CancelledException();
  /// Cancelled for `reason`. Throws std::bad_alloc only.
  explicit CancelledException(std::string reason);

  /// Why the task was cancelled.
  [[nodiscard]] const std::string& reason() const noexcept;
  /// The same text as reason().
  [[nodiscard]] const char* what() const noexcept override;

 private:
  std::shared_ptr<const std::string> reason_;
};

/// A TimeoutCancellationToken ran out of time. reason() reads "timed out after <timeout>".
class ISOLATE_EXPORT TimeoutException : public CancelledException {
 public:
  explicit TimeoutException(std::chrono::nanoseconds timeout);
  /// The timeout the token was created with.
  [[nodiscard]] std::chrono::nanoseconds timeout() const noexcept;

 private:
  std::chrono::nanoseconds timeout_;
};

/// The runner itself failed: a worker could not be started, never answered, or sent back data
/// that does not decode. The message says what went wrong and, where it can, what to fix.
class ISOLATE_EXPORT IsolateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A run's FileInput could not be read: a read error, or more bytes than its max_bytes. The
/// message names the reason (and the limit).
class ISOLATE_EXPORT InputError : public IsolateError {
 public:
  using IsolateError::IsolateError;
};

/// The job threw an exception of a type the parent cannot rebuild (see ExceptionType).
/// what() reads "<type_name>: <message>".
class ISOLATE_EXPORT JobError : public IsolateError {
 public:
  JobError(std::string type_name, std::string message);
  /// The demangled type of the exception the job threw.
  [[nodiscard]] const std::string& type_name() const noexcept;
  /// The what() of the exception the job threw.
  [[nodiscard]] const std::string& message() const noexcept;

 private:
  std::shared_ptr<const std::string> type_name_;
  std::shared_ptr<const std::string> message_;
};

/// The worker died without sending a result: killed by a signal (SIGSEGV, SIGABRT, SIGKILL from
/// the OOM killer, ...) or exited without answering.
class ISOLATE_EXPORT WorkerCrashed : public IsolateError {
 public:
  /// Exactly one of `signal` and `exit_code` is set; what() says how the worker died.
  WorkerCrashed(std::optional<int> signal, std::optional<int> exit_code);
  /// The signal that killed the worker, if a signal did.
  [[nodiscard]] std::optional<int> signal() const noexcept;
  /// The worker's exit status, set only when it exited normally.
  [[nodiscard]] std::optional<int> exit_code() const noexcept;

 private:
  std::optional<int> signal_;
  std::optional<int> exit_code_;
};

/// The job went over one of its Limits (RunOptions::limits, PoolOptions::limits): it allocated
/// more memory than memory_bytes, used more CPU time than cpu_time, or returned an output larger
/// than output_bytes. Whether the job let std::bad_alloc escape or its worker was killed for it,
/// the run ends with this error, never WorkerCrashed or std::bad_alloc.
class ISOLATE_EXPORT ResourceLimitExceeded : public IsolateError {
 public:
  enum class Resource { memory, cpu_time, output };
  /// `limit` in bytes, or milliseconds for cpu_time. what() names the resource and the limit.
  ResourceLimitExceeded(Resource resource, std::uint64_t limit);
  [[nodiscard]] Resource resource() const noexcept;
  /// The limit that was exceeded: bytes, or milliseconds for cpu_time.
  [[nodiscard]] std::uint64_t limit() const noexcept;

 private:
  Resource resource_;
  std::uint64_t limit_;
};

/// The job tried something its Sandbox kills the worker for (starting a process, execve, ptrace,
/// mount, a namespace, bpf, perf_event_open, a module, a credential change).
class ISOLATE_EXPORT SandboxViolation : public IsolateError {
 public:
  /// `syscall`: the name of the call, e.g. "execve", "fork", "ptrace".
  explicit SandboxViolation(std::string syscall);
  [[nodiscard]] const std::string& syscall() const noexcept;

 private:
  std::shared_ptr<const std::string> syscall_;
};

}  // namespace isolate
