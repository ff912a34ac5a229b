// process_launch_unavailable.cpp — the process backend on platforms without it
// (ISOLATE_PROCESS_BACKEND=OFF): Backend::automatic runs jobs on threads, and Backend::process
// is an IsolateError raised by CancellableIsolate::run before anything here is reached.
#include <isolate/detail/pool_core.hpp>
#include <isolate/detail/process_launch.hpp>
#include <isolate/errors.hpp>

namespace isolate::detail {

struct ProcessLaunch::Impl {};

ProcessLaunch::ProcessLaunch(std::shared_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
ProcessLaunch::~ProcessLaunch() = default;

// NOLINTNEXTLINE(performance-unnecessary-value-param): the signature the process backend moves from
std::shared_ptr<ProcessLaunch> ProcessLaunch::create(const JobRequest&, RunOptions) {
  throw IsolateError("isolate: this build has no process backend (ISOLATE_PROCESS_BACKEND=OFF)");
}

void ProcessLaunch::start(Completion) {}  // NOLINT(performance-unnecessary-value-param): as above
void ProcessLaunch::cancel() noexcept {}

bool process_backend_available() noexcept { return false; }

std::shared_ptr<PoolCore> make_process_pool_core(std::size_t, const PoolOptions&) {
  throw IsolateError("isolate: this build has no process backend (ISOLATE_PROCESS_BACKEND=OFF)");
}

}  // namespace isolate::detail
