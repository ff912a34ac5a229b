// executor.hpp — the threads that run run_cancellable() work (internal; reachable because
// run_cancellable and the thread backend, templates, submit to it).
//
// An elastic pool: a task runs on an idle thread if there is one, else on a new thread, so a
// blocked or abandoned task never delays another. Threads idle for a while exit. At program exit
// the pool waits for running tasks and joins every thread: no thread is left behind.
#pragma once

#include <isolate/export.hpp>

#include <functional>

namespace isolate::detail {

template <class T>
class PerProcess;

class ISOLATE_EXPORT Executor {
 public:
  /// The program's executor. Thread safety: all members may be called from any thread.
  static Executor& instance();

  /// Runs `task` on a pool thread. Exceptions escaping `task` are dropped (wrap your own).
  /// While the executor shuts down (static destruction) and after, runs `task` on this thread.
  /// Throws std::system_error if it needs a new thread and none can be started, or
  /// std::bad_alloc; `task` has not run then.
  void submit(std::function<void()> task);
  /// Threads currently alive (idle or busy).
  [[nodiscard]] std::size_t thread_count() const noexcept;

  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;
  ~Executor();

 private:
  friend class PerProcess<Executor>;  // one per process: a child of fork() gets its own
  Executor();
  struct Impl;
  Impl* impl_;
};

}  // namespace isolate::detail
