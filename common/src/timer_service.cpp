// timer_service.cpp — one thread, an ordered map of deadlines.
#include <isolate/detail/executor.hpp>
#include <isolate/detail/timer_service.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "per_process.hpp"

namespace isolate::detail {
namespace {
std::atomic<bool> g_timer_service_gone{false};
}

struct TimerService::Impl {
  using Key = std::pair<Clock::time_point, std::uint64_t>;
  mutable std::mutex mutex;
  std::condition_variable wake;
  std::map<Key, std::function<void()>> timers;
  std::uint64_t next_id = 1;
  bool stopping = false;
  std::thread thread;

  void loop() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      if (timers.empty()) {
        wake.wait(lock);
        continue;
      }
      auto first = timers.begin();
      const Clock::time_point deadline = first->first.first;  // a copy: the entry may go while we wait
      if (Clock::now() < deadline) {
        wake.wait_until(lock, deadline);
        continue;
      }
      auto fn = std::move(first->second);
      timers.erase(first);
      lock.unlock();
      try {
        fn();
      } catch (...) {
        // Documented: timer callbacks must not throw; there is nobody to hand the error to.
      }
      fn = nullptr;  // destroy captured state outside the lock
      lock.lock();
    }
  }
};

TimerService& TimerService::instance() {
  // Statics are destroyed in the reverse order of their construction: the executor's holder is
  // made first, so it outlives this one (timer callbacks submit work to it, up to the join in
  // ~TimerService). Made inside TimerService(), it would come second and go first (TSan saw the
  // timer thread signal the executor's condition variable as exit destroyed it).
  static const bool executor_first = (static_cast<void>(Executor::instance()), true);
  static PerProcess<TimerService> service;
  (void)executor_first;
  return service.get();
}

TimerService::TimerService() : impl_(new Impl) {}

TimerService::~TimerService() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  g_timer_service_gone.store(true);
  // Pending timers are dropped with the map; their owners are being destroyed at exit as well.
  delete impl_;
}

TimerService::Handle TimerService::schedule(Clock::time_point deadline, std::function<void()> fn) {
  std::unique_lock lock(impl_->mutex);
  const Handle handle{deadline, impl_->next_id++};
  const bool earliest = impl_->timers.empty() || deadline < impl_->timers.begin()->first.first;
  impl_->timers.emplace(Impl::Key{deadline, handle.id}, std::move(fn));
  if (!impl_->thread.joinable()) impl_->thread = std::thread([this] { impl_->loop(); });
  lock.unlock();
  if (earliest) impl_->wake.notify_one();
  return handle;
}

bool TimerService::cancel(const Handle& handle) noexcept {
  if (handle.id == 0 || g_timer_service_gone.load()) return false;
  std::function<void()> dropped;
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->timers.find(Impl::Key{handle.deadline, handle.id});
  if (it == impl_->timers.end()) return false;
  dropped = std::move(it->second);  // destroyed after the lock is released (declared first)
  impl_->timers.erase(it);
  return true;
}

std::size_t TimerService::pending() const noexcept {
  std::lock_guard lock(impl_->mutex);
  return impl_->timers.size();
}

}  // namespace isolate::detail
