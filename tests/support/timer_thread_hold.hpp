// timer_thread_hold.hpp — holds the library's timer thread so that nothing scheduled on it fires.
//
// Every TimeoutCancellationToken and every run_delayed fires on one shared timer thread. A test
// that must do several things before a short timeout fires (register callbacks, cancel by hand)
// holds that thread inside a callback first: "before the timeout fired" is then a fact, not a
// race the test wins on a fast machine and loses under TSan on a busy one.
#pragma once

#include <isolate/cancellation_token.hpp>

#include <chrono>
#include <exception>
#include <future>
#include <optional>

namespace isolate::test {

class TimerThreadHold {
 public:
  /// Returns once the timer thread is held.
  TimerThreadHold() {
    TimeoutOptions lazy;
    lazy.lazy_start = true;  // the clock starts with the registration, so it fires on the timer thread
    blocker_.emplace(std::chrono::nanoseconds{0}, std::move(lazy));
    registration_ = blocker_->on_cancel([this](std::exception_ptr) {
      entered_.set_value();
      released_.get_future().wait();
    });
    entered_.get_future().wait();
  }

  /// Lets the timer thread go on: what came due while it was held fires now, in deadline order.
  void release() {
    if (held_) released_.set_value();
    held_ = false;
  }

  ~TimerThreadHold() {
    release();
    registration_.reset();  // waits until the blocking callback has returned
  }

  TimerThreadHold(const TimerThreadHold&) = delete;
  TimerThreadHold& operator=(const TimerThreadHold&) = delete;

 private:
  std::promise<void> entered_;
  std::promise<void> released_;
  bool held_ = true;
  std::optional<TimeoutCancellationToken> blocker_;
  CancellationCallback registration_;
};

}  // namespace isolate::test
