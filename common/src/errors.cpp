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

}  // namespace isolate
