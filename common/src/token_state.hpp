// token_state.hpp — the shared state behind every CancellationToken handle (internal).
//
// A TokenState owns the cancelled flag, the exception, and an intrusive list of registered
// callbacks. Derived states (timeout, merged) hook into four points: a registration count going
// 0 -> 1 (attached) and 1 -> 0 (detached), the moment of cancellation, and a poll for
// cancellation that has happened elsewhere (a merged token's inputs).
#pragma once

#include <isolate/cancellation_token.hpp>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>

namespace isolate::detail {

/// One registered callback. Owned by its CancellationCallback; while linked into a state's list
/// its owner is blocked from freeing it (unlinking takes the state's mutex).
struct CallbackNode : std::enable_shared_from_this<CallbackNode> {
  explicit CallbackNode(std::function<void(std::exception_ptr)> f) : fn(std::move(f)) {}
  std::function<void(std::exception_ptr)> fn;
  CallbackNode* prev = nullptr;
  CallbackNode* next = nullptr;
  bool linked = false;
};

class TokenState : public std::enable_shared_from_this<TokenState> {
 public:
  TokenState() = default;
  TokenState(const TokenState&) = delete;
  TokenState& operator=(const TokenState&) = delete;
  virtual ~TokenState();

  /// Cancelled flag; for merged tokens also polls the inputs (and cancels if one is).
  bool is_cancelled() noexcept;
  /// The exception, or null while not cancelled (polls like is_cancelled).
  std::exception_ptr exception() noexcept;
  /// Cancels with `exception` (non-null). Returns false if it was cancelled already. Runs every
  /// callback on this thread; rethrows the first exception a callback threw.
  bool cancel(std::exception_ptr exception);
  /// Links a callback, or (already cancelled) runs it now and returns null.
  std::shared_ptr<CallbackNode> add(std::function<void(std::exception_ptr)> fn);
  /// Unlinks `node`; waits if it is running on another thread.
  void remove(CallbackNode& node) noexcept;
  bool has_callbacks() noexcept;
  std::stop_token stop_token();
  /// Keeps `object` alive as long as this state (used for std::stop_callback interop).
  void keep_alive(std::shared_ptr<void> object);

 protected:
  virtual void attached() {}
  virtual void detached() {}
  virtual void cancelled() noexcept {}
  virtual std::exception_ptr poll() noexcept { return nullptr; }
  std::size_t callback_count() noexcept;

 private:
  void unlink(CallbackNode& node) noexcept;  // mutex_ held

  std::mutex mutex_;
  std::condition_variable callback_done_;
  std::atomic<bool> cancelled_{false};
  std::exception_ptr exception_;  // written once under mutex_, before cancelled_ is set
  CallbackNode* head_ = nullptr;
  CallbackNode* tail_ = nullptr;
  std::size_t count_ = 0;
  CallbackNode* running_ = nullptr;  // the callback cancel() is running now
  std::thread::id cancelling_thread_;
  std::optional<std::stop_source> stop_source_;
  std::shared_ptr<void> kept_alive_;
};

}  // namespace isolate::detail
