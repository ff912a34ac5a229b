// progress_watch.cpp — polling watched progress cells on the timer thread, delivering on the
// executor.
#include <isolate/detail/executor.hpp>
#include <isolate/detail/progress_watch.hpp>
#include <isolate/detail/timer_service.hpp>

#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

#include "per_process.hpp"

namespace isolate::detail {
namespace {

/// The watched runs of this process. While there are any, one tick a kProgressInterval polls
/// them all on the timer thread (atomic loads; the callbacks run on executor threads).
class ProgressTicker {
 public:
  static ProgressTicker& instance();

  void add(std::weak_ptr<ProgressWatch> watch) {
    std::lock_guard lock(mutex_);
    watched_.push_back(std::move(watch));
    if (ticking_) return;
    try {
      schedule_tick();
    } catch (...) {
      watched_.pop_back();
      throw;
    }
    ticking_ = true;
  }

 private:
  friend class PerProcess<ProgressTicker>;
  ProgressTicker() = default;

  static void schedule_tick();

  void tick() noexcept {
    std::vector<std::shared_ptr<ProgressWatch>> live;
    {
      std::lock_guard lock(mutex_);
      for (const auto& weak : watched_) {
        if (auto watch = weak.lock()) live.push_back(std::move(watch));
      }
    }
    std::vector<const ProgressWatch*> ended;
    for (const auto& watch : live) {
      if (!watch->poll()) ended.push_back(watch.get());
    }
    std::lock_guard lock(mutex_);
    std::erase_if(watched_, [&ended](const std::weak_ptr<ProgressWatch>& weak) {
      const auto watch = weak.lock();
      return !watch || std::find(ended.begin(), ended.end(), watch.get()) != ended.end();
    });
    ticking_ = !watched_.empty();
    if (!ticking_) return;
    try {
      schedule_tick();
    } catch (...) {
      ticking_ = false;  // no timer: the runs go on without progress; the next add() tries again
    }
  }

  std::mutex mutex_;
  std::vector<std::weak_ptr<ProgressWatch>> watched_;
  bool ticking_ = false;
};

ProgressTicker& ProgressTicker::instance() {
  // Never destroyed: a tick may run on the timer thread while the program's statics go.
  static auto* const ticker = new PerProcess<ProgressTicker>;
  return ticker->get();
}

void ProgressTicker::schedule_tick() {
  TimerService::instance().schedule(TimerService::Clock::now() + kProgressInterval,
                                    [] { ProgressTicker::instance().tick(); });
}

}  // namespace

std::shared_ptr<ProgressWatch> ProgressWatch::create(ProgressCallback callback) {
  if (!callback) return nullptr;
  return std::shared_ptr<ProgressWatch>(new ProgressWatch(std::move(callback)));
}

ProgressWatch::~ProgressWatch() = default;

void ProgressWatch::watch(ProgressCell* cell) {
  {
    std::lock_guard lock(mutex_);
    cell_ = cell;
  }
  try {
    ProgressTicker::instance().add(weak_from_this());
  } catch (...) {
    std::lock_guard lock(mutex_);
    cell_ = nullptr;
    throw;
  }
}

void ProgressWatch::set_on_error(std::function<void(std::exception_ptr)> on_error) {
  std::lock_guard lock(mutex_);
  on_error_ = std::move(on_error);
}

void ProgressWatch::close() noexcept {
  std::unique_lock lock(mutex_);
  closed_ = true;
  cell_ = nullptr;
  if (delivering_thread_ == std::this_thread::get_id()) return;  // the callback ends its own run
  idle_.wait(lock, [this] { return !delivering_; });
}

bool ProgressWatch::poll() noexcept {
  Progress report;
  {
    std::lock_guard lock(mutex_);
    if (closed_ || cell_ == nullptr) return !closed_;
    if (delivering_) return true;
    report.done = cell_->done.load(std::memory_order_acquire);
    report.total = cell_->total.load(std::memory_order_relaxed);
    const bool moved_on = report.done > last_.done || (report.done == last_.done && report.total != last_.total);
    if (!moved_on) return true;
    delivering_ = true;
  }
  try {
    Executor::instance().submit([self = shared_from_this(), report] { self->deliver(report); });
  } catch (...) {
    {
      std::lock_guard lock(mutex_);
      delivering_ = false;
    }
    idle_.notify_all();  // no thread to be had: this report is skipped, the next tick tries again
  }
  return true;
}

void ProgressWatch::deliver(Progress report) noexcept {
  {
    std::lock_guard lock(mutex_);
    if (closed_) {
      delivering_ = false;
      idle_.notify_all();
      return;
    }
    delivering_thread_ = std::this_thread::get_id();
  }
  std::exception_ptr error;
  try {
    callback_(report);
  } catch (...) {
    error = std::current_exception();
  }
  std::function<void(std::exception_ptr)> on_error;
  {
    std::lock_guard lock(mutex_);
    delivering_ = false;
    delivering_thread_ = {};
    last_ = report;
    if (error) {
      closed_ = true;  // a callback that threw is not called again
      cell_ = nullptr;
      on_error = std::move(on_error_);
    }
  }
  idle_.notify_all();
  if (!on_error) return;
  try {
    on_error(std::move(error));
  } catch (...) {
  }
}

}  // namespace isolate::detail
