// progress_watch.hpp — delivering one run's progress reports to its callback (internal;
// reachable because the run templates create one for RunOptions::on_progress).
//
// The job stores its latest report in a ProgressCell (JobContext::report_progress). While the run
// is watched, the library's timer thread polls every watched cell every kProgressInterval and,
// for a cell that moved on, hands the report to an executor thread that calls the callback:
// reports coalesce (the latest wins), one run's callback never runs twice at once, and a slow
// callback delays neither the timer nor other runs. close() — called when the run's result is
// claimed, before its future is ready — stops the polling and waits out a call in progress.
#pragma once

#include <isolate/detail/cancellable_result.hpp>
#include <isolate/detail/progress_cell.hpp>
#include <isolate/export.hpp>
#include <isolate/progress.hpp>

#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace isolate::detail {

/// How often watched cells are read.
inline constexpr std::chrono::milliseconds kProgressInterval{25};

class ISOLATE_EXPORT ProgressWatch : public std::enable_shared_from_this<ProgressWatch> {
 public:
  /// A watch delivering to `callback`; null if there is no callback. Throws std::bad_alloc.
  static std::shared_ptr<ProgressWatch> create(ProgressCallback callback);

  /// Starts polling a cell of the watch's own, for a job on a thread of this process, and
  /// returns it. Throws as watch().
  ProgressCell* watch_own_cell() {
    watch(&own_cell_);
    return &own_cell_;
  }
  /// Starts polling `cell`, which must stay valid until close() returns. Once per watch. Throws
  /// std::bad_alloc or std::system_error (no timer thread).
  void watch(ProgressCell* cell);
  /// What a callback that throws does to its run (called with the exception, on the thread that
  /// ran the callback, after it returned): the run's result is cancelled with it.
  void set_on_error(std::function<void(std::exception_ptr)> on_error);
  /// No more calls; waits for a call in progress unless it is this thread's. Never throws.
  void close() noexcept;

  /// The timer thread's poll: hands a new report to an executor thread. False once closed.
  bool poll() noexcept;

  ProgressWatch(const ProgressWatch&) = delete;
  ProgressWatch& operator=(const ProgressWatch&) = delete;
  ~ProgressWatch();

 private:
  explicit ProgressWatch(ProgressCallback callback) noexcept : callback_(std::move(callback)) {}
  void deliver(Progress report) noexcept;

  ProgressCallback callback_;
  ProgressCell own_cell_;
  std::mutex mutex_;
  std::condition_variable idle_;
  ProgressCell* cell_ = nullptr;  // guarded by mutex_, as the rest below
  std::function<void(std::exception_ptr)> on_error_;
  bool closed_ = false;
  bool delivering_ = false;
  std::thread::id delivering_thread_{};
  Progress last_{};
};

/// `hooks` with `watch` (may be null) closed when the result is claimed.
inline ResultHooks closing_progress(std::shared_ptr<ProgressWatch> watch, ResultHooks hooks) {
  if (!watch) return hooks;
  hooks.on_claimed = [watch = std::move(watch), then = std::move(hooks.on_claimed)] {
    watch->close();
    run_hook(then);
  };
  return hooks;
}

/// For a job on a thread of this process: the cell it reports to, watched; null without a watch.
inline ProgressCell* watch_own_cell(ProgressWatch* watch) { return watch ? watch->watch_own_cell() : nullptr; }

/// What a run does besides completing its future: its progress watch (may be null), closed when
/// the result is claimed; the caller's hooks (async_run's).
struct RunExtras {
  std::shared_ptr<ProgressWatch> progress{};
  ResultHooks hooks{};

  /// The run's result: `on_cancel` as CancellableResult::create, the caller's hooks with the watch
  /// closed first, and a callback that throws cancelling it with its exception (the worker is
  /// killed as for a token cancel, the future holds the callback's exception).
  template <class T>
  std::shared_ptr<CancellableResult<T>> make_result(std::function<void()> on_cancel = {}) const {
    auto result = CancellableResult<T>::create(std::move(on_cancel), closing_progress(progress, hooks));
    if (progress) {
      std::weak_ptr<CancellableResult<T>> weak = result;
      progress->set_on_error([weak](std::exception_ptr error) {
        if (auto r = weak.lock()) r->cancel_with(std::move(error));
      });
    }
    return result;
  }
};

}  // namespace isolate::detail
