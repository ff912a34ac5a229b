// pool_core.cpp — choosing the engine of an IsolatePool.
#include <isolate/detail/pool_core.hpp>

#include <algorithm>
#include <thread>

namespace isolate::detail {

PoolCore::~PoolCore() = default;

std::shared_ptr<PoolCore> make_pool_core(const PoolOptions& options) {
  const std::size_t workers = options.workers != 0 ? options.workers : std::max(1u, std::thread::hardware_concurrency());
  const bool threads = options.backend == Backend::thread ||
                       (options.backend == Backend::automatic && !process_backend_available());
  if (threads) return make_thread_pool_core(workers);
  return make_process_pool_core(workers, options);
}

}  // namespace isolate::detail
