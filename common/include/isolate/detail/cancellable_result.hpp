// cancellable_result.hpp — a promise that either its producer or a token completes (internal;
// reachable because every template that returns a cancellable future builds on it).
//
// The one mechanism behind run_cancellable, run_delayed, as_cancellable, CancellableCompleter
// and CancellableIsolate::run: whoever claims it first (the producer with a value or error, or
// the token with its exception) completes the future; the other side's attempt is a no-op. The
// token registration is dropped before the future becomes ready, so once a task's future is
// ready its token's has_callbacks() no longer counts it.
#pragma once

#include <isolate/cancellation_token.hpp>
#include <isolate/export.hpp>

#include <atomic>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stop_token>
#include <utility>

namespace isolate::detail {

/// What else happens when a result completes: `on_claimed` runs once, on the thread that claims
/// it (producer or token), before the future is ready (a run's progress watch closes there);
/// `on_ready` runs once, right after the future is ready (async_run posts its handler there).
/// Neither may throw (an exception is dropped).
struct ResultHooks {
  std::function<void()> on_claimed{};
  std::function<void()> on_ready{};
};

/// A new std::stop_source, built in the library: GCC 12 at -Og warns of the constructor's own
/// code where it is inlined (maybe-uninitialized, a false positive), and a user's -Og -Werror
/// build must not fail on this header. Throws std::bad_alloc.
ISOLATE_EXPORT std::stop_source new_stop_source();

/// Runs a hook, dropping what it throws.
inline void run_hook(const std::function<void()>& hook) noexcept {
  if (!hook) return;
  try {
    hook();
  } catch (...) {
  }
}

template <class T>
class CancellableResult : public std::enable_shared_from_this<CancellableResult<T>> {
 public:
  /// `on_cancel` runs once, on the cancelling thread, if the token wins (before the future is
  /// ready). Call attach() next.
  static std::shared_ptr<CancellableResult> create(std::function<void()> on_cancel = {}, ResultHooks hooks = {}) {
    return std::shared_ptr<CancellableResult>(new CancellableResult(std::move(on_cancel), std::move(hooks)));
  }

  /// A stop_token whose stop is requested when the token wins, after it has claimed the result:
  /// work that returns (or throws) because it saw the stop cannot complete the future ahead of
  /// the token's exception. Call before attach(); optional.
  std::stop_token enable_stop() {
    if (!stop_.stop_possible()) stop_ = new_stop_source();
    return stop_.get_token();
  }

  /// Registers on `token`. If it is cancelled already, completes with its exception now.
  void attach(const CancellationToken& token) {
    std::weak_ptr<CancellableResult> weak = this->weak_from_this();
    auto registration = token.on_cancel([weak](std::exception_ptr e) {
      if (auto self = weak.lock()) self->cancel_with(std::move(e));
    });
    std::unique_lock lock(mutex_);
    if (claimed_.load(std::memory_order_acquire)) {
      lock.unlock();
      return;  // `registration` resets here: completed (or cancelled) while registering
    }
    registration_ = std::move(registration);
  }

  /// Claims the result for the producer. False if it is already claimed (e.g. cancelled).
  /// After a successful claim the producer must call one of the fulfil_* functions.
  bool claim() noexcept {
    if (claimed_.exchange(true, std::memory_order_acq_rel)) return false;
    drop_registration();
    run_hook(hooks_.on_claimed);
    return true;
  }

  template <class... Args>
  bool set_value(Args&&... args) {
    if (!claim()) return false;
    fulfil_value(std::forward<Args>(args)...);
    return true;
  }

  bool set_exception(std::exception_ptr error) {
    if (!claim()) return false;
    fulfil_exception(std::move(error));
    return true;
  }

  /// After a successful claim(): completes the future.
  template <class... Args>
  void fulfil_value(Args&&... args) {
    promise_.set_value(std::forward<Args>(args)...);
    run_hook(hooks_.on_ready);
  }
  void fulfil_exception(std::exception_ptr error) {
    promise_.set_exception(std::move(error));
    run_hook(hooks_.on_ready);
  }

  /// Completed, errored or cancelled (claimed by anyone).
  [[nodiscard]] bool is_done() const noexcept { return claimed_.load(std::memory_order_acquire); }
  /// Ended by its token.
  [[nodiscard]] bool is_cancelled() const noexcept { return cancelled_.load(std::memory_order_acquire); }

  std::future<T> get_future() { return promise_.get_future(); }

  /// The token's side: completes with `e` unless already claimed.
  void cancel_with(std::exception_ptr e) {
    if (claimed_.exchange(true, std::memory_order_acq_rel)) return;
    drop_registration();  // we are that callback: deregistering ourselves does not wait
    run_hook(hooks_.on_claimed);
    cancelled_.store(true, std::memory_order_release);
    stop_.request_stop();  // no-op without enable_stop()
    std::exception_ptr hook_error;
    if (on_cancel_) {
      try {
        on_cancel_();
      } catch (...) {
        hook_error = std::current_exception();
      }
    }
    fulfil_exception(std::move(e));
    if (hook_error) std::rethrow_exception(hook_error);
  }

 private:
  CancellableResult(std::function<void()> on_cancel, ResultHooks hooks)
      : on_cancel_(std::move(on_cancel)), hooks_(std::move(hooks)) {}

  void drop_registration() noexcept {
    CancellationCallback registration;
    {
      std::lock_guard lock(mutex_);
      registration = std::move(registration_);
    }
    registration.reset();
  }

  std::promise<T> promise_;
  std::atomic<bool> claimed_{false};
  std::atomic<bool> cancelled_{false};
  std::function<void()> on_cancel_;
  ResultHooks hooks_;
  std::stop_source stop_{std::nostopstate};
  std::mutex mutex_;  // guards registration_
  CancellationCallback registration_;
};

}  // namespace isolate::detail
