// thread_pool_core.cpp — an IsolatePool of threads (Backend::thread): a fixed set of threads
// taking jobs from a FIFO queue. Cancelling completes the future at once and requests stop
// through the job's JobContext; the thread is busy until the job returns.
#include <isolate/detail/pool_core.hpp>
#include <isolate/errors.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "per_process.hpp"
#include "runner_error.hpp"

namespace isolate::detail {
namespace {

class ThreadPoolCore final : public PoolCore, public std::enable_shared_from_this<ThreadPoolCore> {
 public:
  explicit ThreadPoolCore(std::size_t workers) {
    threads_.reserve(workers);
    try {
      for (std::size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { loop(); });
    } catch (...) {
      {
        std::lock_guard lock(mutex_);
        stopping_ = true;
      }
      work_.notify_all();
      for (auto& thread : threads_) thread.join();  // never destroy a joinable std::thread
      std::rethrow_exception(current_exception_as_isolate_error("cannot start a pool's threads"));
    }
  }
  ~ThreadPoolCore() override { shutdown(); }

  void submit(std::shared_ptr<PoolTask> task) override {
    if (generation_ != fork_generation()) {
      if (task->completion.claim()) {
        task->completion.fail(std::make_exception_ptr(
            IsolateError("isolate: this IsolatePool was made before this process was forked: its threads do not exist "
                         "here. Make a pool in the child")));
      }
      return;
    }
    try {
      task->own_input();  // the job runs after run() returns
    } catch (...) {
      if (task->completion.claim()) task->completion.fail(std::current_exception());
      return;
    }
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        queue_.push_back(std::move(task));
        work_.notify_one();
        return;
      }
    }
    finish(task);
  }

  void cancel(const std::shared_ptr<PoolTask>& task) noexcept override {
    if (generation_ != fork_generation()) return;
    {
      std::lock_guard lock(mutex_);
      for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if (*it == task) {
          queue_.erase(it);
          return;
        }
      }
    }
    task->stop.request_stop();
  }

  void shutdown() noexcept override {
    if (generation_ != fork_generation()) {
      // A fork() child's copy: its threads do not exist here and cannot be joined. Keep this
      // copy alive for ever (or, if it is being destroyed already, let go of the threads).
      abandoned_ = weak_from_this().lock();
      if (abandoned_) left_on_purpose(this);
      if (!abandoned_) {
        for (auto& thread : threads_) thread.detach();
      }
      return;
    }
    std::vector<std::shared_ptr<PoolTask>> tasks;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      tasks.assign(queue_.begin(), queue_.end());
      queue_.clear();
      tasks.insert(tasks.end(), running_.begin(), running_.end());
    }
    work_.notify_all();
    for (auto& task : tasks) finish(task);
    for (auto& thread : threads_) thread.join();
  }

  [[nodiscard]] std::size_t size() const noexcept override { return threads_.size(); }

 private:
  static void finish(const std::shared_ptr<PoolTask>& task) noexcept {
    // Claim first: a job that returns because it sees the stop must not beat "pool destroyed".
    if (task->completion.claim()) task->completion.fail(std::make_exception_ptr(CancelledException("pool destroyed")));
    task->stop.request_stop();
  }

  /// Runs `task` here, its progress watched while it runs.
  static void run(PoolTask& task) {
    ProgressCell* cell = nullptr;
    try {
      cell = watch_own_cell(task.progress.get());
    } catch (...) {
      if (task.completion.claim()) task.completion.fail(std::current_exception());  // no timer thread
      return;
    }
    JobContext context(task.stop.get_token(), 0, cell);
    task.run_here(context);
  }

  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      auto task = std::move(queue_.front());
      queue_.pop_front();
      running_.push_back(task);
      lock.unlock();
      run(*task);
      lock.lock();
      std::erase(running_, task);
    }
  }

  const std::uint64_t generation_ = fork_generation();
  std::shared_ptr<ThreadPoolCore> abandoned_;  // set in a child of fork(): keeps this copy alive
  std::mutex mutex_;
  std::condition_variable work_;
  std::deque<std::shared_ptr<PoolTask>> queue_;
  std::vector<std::shared_ptr<PoolTask>> running_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

std::shared_ptr<PoolCore> make_thread_pool_core(std::size_t workers) {
  return std::make_shared<ThreadPoolCore>(workers);
}

}  // namespace isolate::detail
