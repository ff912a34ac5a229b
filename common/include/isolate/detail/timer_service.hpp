// timer_service.hpp — the library's one timer thread (internal; reachable because run_delayed,
// a template, schedules on it).
//
// Every TimeoutCancellationToken and run_delayed() schedules here: one thread for the whole
// program, started at the first schedule(), stopped and joined at exit. No thread per timer.
#pragma once

#include <isolate/export.hpp>

#include <chrono>
#include <cstdint>
#include <functional>

namespace isolate::detail {

template <class T>
class PerProcess;

class ISOLATE_EXPORT TimerService {
 public:
  using Clock = std::chrono::steady_clock;
  /// Identifies one scheduled call; a default-constructed handle names none.
  struct Handle {
    Clock::time_point deadline{};
    std::uint64_t id = 0;
  };

  /// The program's timer service. Thread safety: all members may be called from any thread.
  static TimerService& instance();

  /// Calls `fn` on the timer thread at `deadline` (at once if it has passed). `fn` must be short
  /// and must not throw (an exception is dropped). Throws std::bad_alloc, std::system_error.
  Handle schedule(Clock::time_point deadline, std::function<void()> fn);
  /// Unschedules; true if the call had not started. Does not wait for a call that is running.
  bool cancel(const Handle& handle) noexcept;
  /// Calls scheduled and not yet started.
  [[nodiscard]] std::size_t pending() const noexcept;

  TimerService(const TimerService&) = delete;
  TimerService& operator=(const TimerService&) = delete;
  ~TimerService();

 private:
  friend class PerProcess<TimerService>;  // one per process: a child of fork() gets its own
  TimerService();
  struct Impl;
  Impl* impl_;
};

}  // namespace isolate::detail
