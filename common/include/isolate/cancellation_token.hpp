// cancellation_token.hpp — the cancellation-token family.
//
// Defines CancellationToken (a cheap handle to shared cancellation state, like std::stop_token),
// CancellationCallback (the RAII registration returned by on_cancel), TimeoutCancellationToken
// (cancels itself after a timeout) and MergedCancellationToken (cancelled when any input is).
// The derived token types only add constructors: slicing one to CancellationToken is harmless.
//
//   isolate::TimeoutCancellationToken token{std::chrono::seconds(5)};
//   auto registration = token.on_cancel([](std::exception_ptr) { /* stop something */ });
//   token.cancel("user pressed stop");   // runs the callback here, once
#pragma once

#include <isolate/export.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

namespace isolate {

namespace detail {
class TokenState;
class MergedState;
struct CallbackNode;
}  // namespace detail

class MergedCancellationToken;

/// The registration of a callback on a token (returned by CancellationToken::on_cancel). While it
/// lives, the callback runs once when the token is cancelled. Destroying or resetting it
/// deregisters the callback; if the callback is running on another thread at that moment, the
/// destructor waits for it to return (so callbacks must not block), and if it is running on this
/// thread (a callback deregistering itself) it returns at once.
/// Thread safety: one object must not be used from two threads at once; different registrations
/// of the same token may be created and destroyed concurrently with each other and with cancel().
class ISOLATE_EXPORT CancellationCallback {
 public:
  /// An empty registration: registers nothing.
  CancellationCallback() noexcept;
  CancellationCallback(CancellationCallback&& other) noexcept;
  /// Deregisters the current callback first (as reset()), then takes over `other`'s.
  CancellationCallback& operator=(CancellationCallback&& other) noexcept;
  CancellationCallback(const CancellationCallback&) = delete;
  CancellationCallback& operator=(const CancellationCallback&) = delete;
  /// Deregisters; waits for the callback if it is running on another thread.
  ~CancellationCallback();

  /// Deregisters now (same rules as the destructor). The registration is empty afterwards.
  void reset() noexcept;

 private:
  friend class CancellationToken;
  CancellationCallback(std::shared_ptr<detail::TokenState> state, std::shared_ptr<detail::CallbackNode> node) noexcept;

  std::shared_ptr<detail::TokenState> state_;
  std::shared_ptr<detail::CallbackNode> node_;
};

/// A handle to cancellation state. Copies share one state: cancelling any copy cancels all.
/// Cancelling twice keeps the first exception. Cancelling runs every registered callback exactly
/// once, on the cancelling thread, then drops them; a callback registered after cancellation runs
/// at once on the registering thread.
///
/// A throwing callback does not stop the others: every callback still runs, and the first
/// exception thrown is rethrown from cancel() once they all have (the token stays cancelled).
/// On the timer thread of a TimeoutCancellationToken there is no caller to rethrow to: such an
/// exception is dropped. A callback registered after cancellation that throws propagates out of
/// on_cancel().
/// Thread safety: every member is safe to call concurrently on the same or on copied handles.
class ISOLATE_EXPORT CancellationToken {
 public:
  /// A new, independent, uncancelled token. Allocates its state; throws std::bad_alloc only.
  CancellationToken();

  /// True once cancelled.
  [[nodiscard]] bool is_cancelled() const noexcept;
  /// Cancels with CancelledException(). No effect if already cancelled.
  void cancel();
  /// Cancels with CancelledException(reason). No effect if already cancelled.
  void cancel(std::string reason);
  /// Cancels with a custom exception. Throws std::invalid_argument if `exception` is null.
  void cancel(std::exception_ptr exception);
  /// What the token was cancelled with (the same exception_ptr every time); null before.
  [[nodiscard]] std::exception_ptr exception() const noexcept;
  /// Rethrows exception() if cancelled; otherwise returns.
  void throw_if_cancelled() const;

  /// Registers `callback`, to run once with exception() when the token is cancelled. If the token
  /// is already cancelled the callback runs now, on this thread, and the returned registration is
  /// empty. Throws std::invalid_argument if `callback` is empty.
  [[nodiscard]] CancellationCallback on_cancel(std::function<void(std::exception_ptr)> callback) const;

  /// A token cancelled when this one or any of `others` is; this token comes first in its list.
  [[nodiscard]] MergedCancellationToken merge(std::vector<CancellationToken> others) const;

  /// True while any on_cancel registration of this token is live (not run and not reset).
  [[nodiscard]] bool has_callbacks() const noexcept;

  /// A std::stop_token whose stop is requested when this token is cancelled (at once if it
  /// already is). Interop with std::jthread and std::stop_callback.
  [[nodiscard]] std::stop_token stop_token() const;
  /// A token cancelled (with CancelledException("stop requested")) when `stop` is requested.
  [[nodiscard]] static CancellationToken from(std::stop_token stop);

  /// True if both handles share one state.
  friend bool operator==(const CancellationToken& a, const CancellationToken& b) noexcept {
    return a.state_ == b.state_;
  }

 protected:
  explicit CancellationToken(std::shared_ptr<detail::TokenState> state) noexcept;

 private:
  friend class MergedCancellationToken;
  friend class detail::MergedState;
  std::shared_ptr<detail::TokenState> state_;
};

/// Options of a TimeoutCancellationToken.
struct TimeoutOptions {
  /// Start the clock when the first task (the first on_cancel registration) attaches, not at once.
  bool lazy_start = false;
  /// What to cancel with when the time runs out; null: TimeoutException(timeout).
  std::exception_ptr exception{};
};

/// A token that cancels itself `timeout` after construction (or, with lazy_start, after the first
/// registration). A manual cancel() before that wins and stops the clock. Destroying the last
/// handle stops the clock without waiting. All timeout tokens share one timer thread of the
/// library; no thread is created per token.
/// Thread safety: as CancellationToken.
class ISOLATE_EXPORT TimeoutCancellationToken : public CancellationToken {
 public:
  /// Throws std::invalid_argument for a negative timeout.
  explicit TimeoutCancellationToken(std::chrono::nanoseconds timeout, TimeoutOptions options = {});
};

/// A token cancelled as soon as any of its inputs is, with the exception of the input whose
/// cancellation it saw (inputs already cancelled when it looks: the first in list order). Its own
/// cancel() cancels only itself. It registers on its inputs only while it has callbacks of its
/// own, so long-lived inputs do not accumulate registrations. Duplicate inputs are dropped.
/// Thread safety: as CancellationToken.
class ISOLATE_EXPORT MergedCancellationToken : public CancellationToken {
 public:
  explicit MergedCancellationToken(std::vector<CancellationToken> tokens);
};

}  // namespace isolate
