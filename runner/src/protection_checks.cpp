// protection_checks.cpp — checking Limits and Sandbox, and where they can be enforced.
#include <isolate/detail/process_launch.hpp>
#include <isolate/errors.hpp>

#include "sandbox_support.hpp"

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace isolate {

namespace detail {
namespace {

/// Below this, a worker cannot even start (its libraries' data and its heap's first arena).
constexpr std::size_t kMinMemoryLimit = std::size_t{16} << 20;

void check_limits(const Limits& limits) {
  if (limits.cpu_time.count() < 0) {
    throw std::invalid_argument("isolate: Limits::cpu_time is negative (" + std::to_string(limits.cpu_time.count()) +
                                " ms)");
  }
  if (limits.memory_bytes != 0 && limits.memory_bytes < kMinMemoryLimit) {
    throw std::invalid_argument("isolate: Limits::memory_bytes (" + std::to_string(limits.memory_bytes) +
                                ") is below the " + std::to_string(kMinMemoryLimit) + " bytes a worker needs to start");
  }
}

void check_sandbox(const Sandbox& sandbox) {
  if (!sandbox.enabled) return;
  for (const auto& path : sandbox.readable) {
    std::error_code error;
    if (path.empty() || !std::filesystem::exists(path, error)) {
      throw std::invalid_argument("isolate: Sandbox::readable path '" + path.string() + "' does not exist");
    }
  }
}

}  // namespace

bool runs_on_threads(Backend backend, const Limits& limits, const Sandbox& sandbox) {
  check_limits(limits);
  check_sandbox(sandbox);
  const bool on_thread = runs_on_threads(backend);
  const bool limited = limits.memory_bytes != 0 || limits.cpu_time.count() != 0 || limits.output_bytes != 0;
  if (on_thread && (limited || sandbox.enabled)) {
    throw IsolateError(
        "isolate: limits and the sandbox are enforced in worker processes only, and these jobs would run on threads "
        "(Backend::thread, or a platform without worker processes)");
  }
  if (sandbox.enabled && !Sandbox::available()) {
    throw IsolateError("isolate: the sandbox cannot be enforced here: " + sandbox_unavailable_reason());
  }
  return on_thread;
}

}  // namespace detail
}  // namespace isolate
