// errors.cpp — the exception types.
#include <isolate/errors.hpp>

#include <string>

#include "signal_text.hpp"

namespace isolate {
namespace {

std::string format_duration(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  const auto ns = d.count();
  if (ns % 1'000'000'000 == 0) return std::to_string(ns / 1'000'000'000) + "s";
  if (ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
  if (ns % 1'000 == 0) return std::to_string(ns / 1'000) + "us";
  return std::to_string(ns) + "ns";
}

std::string describe_death(std::optional<int> signal, std::optional<int> exit_code) {
  if (signal) return "worker killed by " + detail::signal_text(*signal);
  if (exit_code) return "worker exited with status " + std::to_string(*exit_code) + " without a result";
  return "worker died without a result";
}

}  // namespace

CancelledException::CancelledException() : CancelledException("cancelled") {}

CancelledException::CancelledException(std::string reason)
    : reason_(std::make_shared<const std::string>(std::move(reason))) {}

const std::string& CancelledException::reason() const noexcept { return *reason_; }

const char* CancelledException::what() const noexcept { return reason_->c_str(); }

TimeoutException::TimeoutException(std::chrono::nanoseconds timeout)
    : CancelledException("timed out after " + format_duration(timeout)), timeout_(timeout) {}

std::chrono::nanoseconds TimeoutException::timeout() const noexcept { return timeout_; }

JobError::JobError(std::string type_name, std::string message)
    : IsolateError(type_name + ": " + message),
      type_name_(std::make_shared<const std::string>(std::move(type_name))),
      message_(std::make_shared<const std::string>(std::move(message))) {}

const std::string& JobError::type_name() const noexcept { return *type_name_; }

const std::string& JobError::message() const noexcept { return *message_; }

WorkerCrashed::WorkerCrashed(std::optional<int> signal, std::optional<int> exit_code)
    : IsolateError(describe_death(signal, exit_code)), signal_(signal), exit_code_(exit_code) {}

std::optional<int> WorkerCrashed::signal() const noexcept { return signal_; }

std::optional<int> WorkerCrashed::exit_code() const noexcept { return exit_code_; }

namespace {
std::string describe_limit(ResourceLimitExceeded::Resource resource, std::uint64_t limit) {
  switch (resource) {
    case ResourceLimitExceeded::Resource::memory:
      return "the job went over its memory limit (" + std::to_string(limit) + " bytes)";
    case ResourceLimitExceeded::Resource::cpu_time:
      return "the job went over its CPU time limit (" + std::to_string(limit) + " ms)";
    case ResourceLimitExceeded::Resource::output:
      return "the job's output went over its limit (" + std::to_string(limit) + " bytes)";
  }
  return "the job went over a limit (" + std::to_string(limit) + ")";
}
std::string describe_violation(const std::string& syscall) {
  if (syscall == "unknown") {
    return "the sandbox killed the worker for a call it could not name (the job had SIGSYS blocked, as posix_spawn "
           "does around starting a process)";
  }
  return "the sandbox killed the worker: the job called " + syscall;
}

}  // namespace

ResourceLimitExceeded::ResourceLimitExceeded(Resource resource, std::uint64_t limit)
    : IsolateError(describe_limit(resource, limit)), resource_(resource), limit_(limit) {}
ResourceLimitExceeded::Resource ResourceLimitExceeded::resource() const noexcept { return resource_; }
std::uint64_t ResourceLimitExceeded::limit() const noexcept { return limit_; }

SandboxViolation::SandboxViolation(std::string syscall)
    : IsolateError(describe_violation(syscall)), syscall_(std::make_shared<const std::string>(std::move(syscall))) {}
const std::string& SandboxViolation::syscall() const noexcept { return *syscall_; }

}  // namespace isolate
