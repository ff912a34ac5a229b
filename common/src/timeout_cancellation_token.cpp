// timeout_cancellation_token.cpp — a token with a clock on the shared timer thread.
#include <isolate/cancellation_token.hpp>
#include <isolate/detail/timer_service.hpp>
#include <isolate/errors.hpp>

#include <stdexcept>
#include <utility>

#include "token_state.hpp"

namespace isolate {
namespace {

class TimeoutState final : public detail::TokenState {
 public:
  TimeoutState(std::chrono::nanoseconds timeout, TimeoutOptions options)
      : timeout_(timeout),
        exception_(options.exception ? std::move(options.exception)
                                     : std::make_exception_ptr(TimeoutException(timeout))),
        lazy_(options.lazy_start) {}

  ~TimeoutState() override { stop_clock(); }

  /// Starts the clock (once). Called at construction, or at the first registration if lazy.
  void start() {
    if (started_.exchange(true)) return;
    auto& timers = detail::TimerService::instance();
    std::weak_ptr<TokenState> weak = weak_from_this();
    auto handle = timers.schedule(detail::TimerService::Clock::now() + timeout_, [weak] {
      if (auto self = weak.lock()) static_cast<TimeoutState&>(*self).fire();
    });
    std::lock_guard lock(mutex_);
    if (stopped_) {
      timers.cancel(handle);
    } else {
      handle_ = handle;
    }
  }

  [[nodiscard]] bool lazy() const noexcept { return lazy_; }

 protected:
  void attached() override {
    if (lazy_) start();
  }
  void cancelled() noexcept override { stop_clock(); }

 private:
  void fire() noexcept {
    try {
      cancel(exception_);
    } catch (...) {
      // A throwing callback on the timer thread: no caller to rethrow to (documented).
    }
  }

  void stop_clock() noexcept {
    detail::TimerService::Handle handle;
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
      handle = std::exchange(handle_, {});
    }
    detail::TimerService::instance().cancel(handle);
  }

  const std::chrono::nanoseconds timeout_;
  const std::exception_ptr exception_;
  const bool lazy_;
  std::atomic<bool> started_{false};
  std::mutex mutex_;  // guards handle_ and stopped_
  detail::TimerService::Handle handle_;
  bool stopped_ = false;
};

std::shared_ptr<detail::TokenState> make_timeout_state(std::chrono::nanoseconds timeout, TimeoutOptions options) {
  if (timeout < std::chrono::nanoseconds::zero()) {
    throw std::invalid_argument("TimeoutCancellationToken: negative timeout");
  }
  auto state = std::make_shared<TimeoutState>(timeout, std::move(options));
  if (!state->lazy()) state->start();
  return state;
}

}  // namespace

TimeoutCancellationToken::TimeoutCancellationToken(std::chrono::nanoseconds timeout, TimeoutOptions options)
    : CancellationToken(make_timeout_state(timeout, std::move(options))) {}

}  // namespace isolate
