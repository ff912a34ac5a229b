// cancellable_completer.hpp — a promise that a token can cancel (Dart's CancellableCompleter).
//
// Defines CancellableCompleter<T> and CancellableCompleter<void>. Complete it from your own code
// (a callback API, an event loop); if its token is cancelled first, its future holds the token's
// exact exception and on_cancel runs once — use it to stop the work that would have completed it.
//
//   isolate::CancellableCompleter<int> completer(token, [&] { request.abort(); });
//   auto f = completer.future();
//   http.get(url, [&](int status) { completer.complete(status); });
#pragma once

#include <isolate/cancellation_token.hpp>
#include <isolate/detail/cancellable_result.hpp>

#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <stdexcept>

namespace isolate {

namespace detail {

template <class T>
class CompleterBase {
 public:
  /// Registers on `token` (if it is already cancelled, the completer is cancelled now and
  /// on_cancel runs on this thread). Throws std::bad_alloc.
  explicit CompleterBase(CancellationToken token, std::function<void()> on_cancel)
      : result_(CancellableResult<T>::create(std::move(on_cancel))) {
    future_ = result_->get_future();
    result_->attach(token);
  }
  CompleterBase(CompleterBase&&) noexcept = default;
  CompleterBase& operator=(CompleterBase&&) noexcept = default;

  /// Completes the future with `error`. No effect once completed or cancelled.
  void complete_error(std::exception_ptr error) {
    if (!error) throw std::invalid_argument("CancellableCompleter::complete_error: null exception_ptr");
    result_->set_exception(std::move(error));
  }
  /// Completed, errored or cancelled.
  [[nodiscard]] bool is_completed() const noexcept { return result_->is_done(); }
  /// Ended by its token.
  [[nodiscard]] bool is_cancelled() const noexcept { return result_->is_cancelled(); }
  /// The future. Callable once: a second call throws std::future_error(future_already_retrieved).
  [[nodiscard]] std::future<T> future() {
    if (!future_.valid()) throw std::future_error(std::future_errc::future_already_retrieved);
    return std::move(future_);
  }

 protected:
  std::shared_ptr<CancellableResult<T>> result_;
  std::future<T> future_;
};

}  // namespace detail

/// A promise that `token` can cancel. If the token is cancelled before complete(), the future
/// holds the token's exact exception and on_cancel runs once (on the cancelling thread, before
/// the future is ready). The registration on the token is dropped when the completer completes,
/// is cancelled, or is destroyed. Destroyed without completing: the future holds
/// std::future_error(broken_promise).
/// Thread safety: every member may be called concurrently (complete racing cancel is fine).
template <class T>
class CancellableCompleter : public detail::CompleterBase<T> {
 public:
  explicit CancellableCompleter(CancellationToken token, std::function<void()> on_cancel = {})
      : detail::CompleterBase<T>(std::move(token), std::move(on_cancel)) {}
  /// Completes the future with `value`. No effect once completed or cancelled.
  void complete(T value) { this->result_->set_value(std::move(value)); }
};

/// The void form: complete() takes no value.
template <>
class CancellableCompleter<void> : public detail::CompleterBase<void> {
 public:
  explicit CancellableCompleter(CancellationToken token, std::function<void()> on_cancel = {})
      : detail::CompleterBase<void>(std::move(token), std::move(on_cancel)) {}
  /// Completes the future. No effect once completed or cancelled.
  void complete() { this->result_->set_value(); }
};

}  // namespace isolate
