// cancellable_future.hpp — futures that a token completes early (Dart's CancellableFuture).
//
// Defines run_cancellable (CancellableFuture.from), run_delayed (CancellableFuture.delayed) and
// as_cancellable (Future.asCancellable). Each returns a std::future that holds the work's result
// or, as soon as the token is cancelled, the token's exception; the abandoned work itself goes
// on (a thread cannot be killed — for work that must really stop, use CancellableIsolate::run).
//
//   isolate::CancellationToken token;
//   auto f = isolate::run_cancellable([] { return expensive(); }, token);
//   token.cancel();        // f.get() throws CancelledException now, without waiting
#pragma once

#include <isolate/cancellation_token.hpp>

#include <chrono>
#include <future>
#include <stop_token>
#include <type_traits>

namespace isolate {

namespace detail {
/// What work fn returns (it may take a std::stop_token).
template <class F>
using work_result_t =
    typename std::conditional_t<std::is_invocable_v<F&, std::stop_token>, std::invoke_result<F&, std::stop_token>,
                                std::invoke_result<F&>>::type;
}  // namespace detail

/// Runs fn() on a library thread unless `token` is already cancelled (then fn never runs; also
/// when it is cancelled before fn starts). The future holds fn's result or exception, or the
/// token's exception as soon as it is cancelled, whichever comes first. If fn accepts a
/// std::stop_token it gets one whose stop is requested on cancellation.
/// Does not block. Throws std::bad_alloc or std::system_error (no thread could be started).
/// Thread safety: may be called from any thread.
template <class F>
[[nodiscard]] auto run_cancellable(F fn, CancellationToken token) -> std::future<detail::work_result_t<F>>;

/// Like run_cancellable, after `delay` (measured on the library's timer thread). Cancelling
/// during the delay completes the future at once and fn never runs.
template <class F>
[[nodiscard]] auto run_delayed(std::chrono::nanoseconds delay, F fn, CancellationToken token)
    -> std::future<detail::work_result_t<F>>;

/// The future completes with f's result or `token`'s exception, whichever comes first (a token
/// already cancelled wins over a future already ready). f's work itself goes on; until f is
/// ready one library thread waits on it.
template <class T>
[[nodiscard]] std::future<T> as_cancellable(std::future<T> f, CancellationToken token);

}  // namespace isolate

#include <isolate/detail/cancellable_future-inl.hpp>
