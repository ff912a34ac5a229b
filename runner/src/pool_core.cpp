// pool_core.cpp — choosing where jobs run: threads or processes, and the engine of a pool.
#include <isolate/detail/pool_core.hpp>
#include <isolate/detail/process_launch.hpp>
#include <isolate/errors.hpp>

#include <algorithm>
#include <thread>

namespace isolate::detail {

PoolCore::~PoolCore() = default;

bool runs_on_threads(Backend backend) {
  switch (backend) {
    case Backend::thread:
      return true;
    case Backend::process:
      if (!process_backend_available()) throw IsolateError("isolate: Backend::process is not built on this platform");
      return false;
    case Backend::automatic:
      break;
  }
  return !process_backend_available();
}

std::shared_ptr<PoolCore> make_pool_core(const PoolOptions& options) {
  const std::size_t workers =
      options.workers != 0 ? options.workers : std::max(1u, std::thread::hardware_concurrency());
  if (runs_on_threads(options.backend, options.limits, options.sandbox)) return make_thread_pool_core(workers);
  return make_process_pool_core(workers, options);
}

}  // namespace isolate::detail
