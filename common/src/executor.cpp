// executor.cpp — an elastic thread pool that never makes one task wait behind another.
#include <isolate/detail/executor.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <list>
#include <mutex>
#include <thread>

#include "per_process.hpp"

namespace isolate::detail {
namespace {
std::atomic<bool> g_executor_gone{false};
constexpr auto kIdleLifetime = std::chrono::seconds(10);
}  // namespace

struct Executor::Impl {
  mutable std::mutex mutex;
  std::condition_variable work;
  std::deque<std::function<void()>> queue;
  std::list<std::thread> threads;
  std::list<std::thread> retired;  // exited their loop; joined by the next submit or at exit
  std::size_t idle = 0;
  bool stopping = false;

  void loop(std::list<std::thread>::iterator self) {
    std::unique_lock lock(mutex);
    for (;;) {
      ++idle;
      const bool woke = work.wait_for(lock, kIdleLifetime, [&] { return stopping || !queue.empty(); });
      --idle;
      if (!woke || queue.empty()) break;  // idle too long, or stopping with nothing left to run
      auto task = std::move(queue.front());
      queue.pop_front();
      lock.unlock();
      try {
        task();
      } catch (...) {
        // Documented: submitters wrap their own errors; nothing may escape a pool thread.
      }
      task = nullptr;
      lock.lock();
    }
    if (!stopping) retired.splice(retired.end(), threads, self);
  }
};

Executor& Executor::instance() {
  static PerProcess<Executor> executor;
  return executor.get();
}

Executor::Executor() : impl_(new Impl) {}

Executor::~Executor() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->work.notify_all();
  // No thread adds to `threads` once stopping is set; every thread drains the queue and exits.
  for (auto& t : impl_->threads) t.join();
  for (auto& t : impl_->retired) t.join();
  g_executor_gone.store(true);
  delete impl_;
}

void Executor::submit(std::function<void()> task) {
  if (g_executor_gone.load()) {
    task();
    return;
  }
  std::list<std::thread> finished;
  std::exception_ptr failure;
  {
    std::unique_lock lock(impl_->mutex);
    if (impl_->stopping) {  // being destroyed (program exit): no new thread may join the pool
      lock.unlock();
      task();
      return;
    }
    finished.splice(finished.end(), impl_->retired);
    impl_->queue.push_back(std::move(task));
    if (impl_->idle < impl_->queue.size()) {
      auto it = impl_->threads.emplace(impl_->threads.end());
      try {
        *it = std::thread([this, it] { impl_->loop(it); });
      } catch (...) {
        impl_->threads.erase(it);
        impl_->queue.pop_back();  // not run, and the caller is told
        failure = std::current_exception();
      }
    }
  }
  impl_->work.notify_one();
  for (auto& t : finished) t.join();
  if (failure) std::rethrow_exception(failure);
}

std::size_t Executor::thread_count() const noexcept {
  std::lock_guard lock(impl_->mutex);
  return impl_->threads.size();
}

}  // namespace isolate::detail
