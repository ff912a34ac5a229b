// token_state.cpp — cancellation, registration and deregistration of callbacks.
#include "token_state.hpp"

namespace isolate::detail {

TokenState::~TokenState() = default;

bool TokenState::is_cancelled() noexcept {
  if (cancelled_.load(std::memory_order_acquire)) return true;
  if (auto seen = poll()) {
    try {
      cancel(seen);
    } catch (...) {
      // A callback threw while cancellation was only being observed: there is no canceller to
      // hand the exception to (documented in CancellationToken).
    }
    return true;
  }
  return false;
}

std::exception_ptr TokenState::exception() noexcept {
  if (!is_cancelled()) return nullptr;
  return exception_;  // immutable once cancelled_ is set (release/acquire)
}

bool TokenState::cancel(std::exception_ptr exception) {
  std::optional<std::stop_source> stop;
  bool had_callbacks = false;
  {
    std::lock_guard lock(mutex_);
    if (cancelled_.load(std::memory_order_relaxed)) return false;
    exception_ = std::move(exception);
    cancelled_.store(true, std::memory_order_release);
    cancelling_thread_ = std::this_thread::get_id();
    had_callbacks = count_ > 0;
    stop = stop_source_;
  }
  cancelled();
  if (stop) stop->request_stop();

  std::exception_ptr first_error;
  std::unique_lock lock(mutex_);
  while (head_ != nullptr) {
    CallbackNode& node = *head_;
    unlink(node);
    // The owner is blocked on mutex_ if it is deregistering, so the node is alive: pin it, so a
    // callback that destroys its own registration does not free the function it is running.
    std::shared_ptr<CallbackNode> pinned = node.shared_from_this();
    running_ = &node;
    lock.unlock();
    try {
      pinned->fn(exception_);
    } catch (...) {
      if (!first_error) first_error = std::current_exception();
    }
    pinned->fn = nullptr;  // ran once: release what it captured, even while its registration lives
    lock.lock();
    running_ = nullptr;
    callback_done_.notify_all();
  }
  lock.unlock();
  if (had_callbacks) detached();
  if (first_error) std::rethrow_exception(first_error);
  return true;
}

std::shared_ptr<CallbackNode> TokenState::add(std::function<void(std::exception_ptr)> fn) {
  auto node = std::make_shared<CallbackNode>(std::move(fn));
  bool first = false;
  bool linked = false;
  if (!is_cancelled()) {
    std::lock_guard lock(mutex_);
    if (!cancelled_.load(std::memory_order_relaxed)) {
      linked = node->linked = true;
      node->prev = tail_;
      (tail_ != nullptr ? tail_->next : head_) = node.get();
      tail_ = node.get();
      first = count_++ == 0;
    }
  }
  if (!linked) {
    node->fn(exception_);
    return nullptr;
  }
  if (first) attached();
  return node;
}

void TokenState::remove(CallbackNode& node) noexcept {
  std::unique_lock lock(mutex_);
  if (node.linked) {
    unlink(node);
    const bool last = count_ == 0;
    lock.unlock();
    if (last) {
      try {
        detached();
      } catch (...) {
        // detached() of the built-in states only releases registrations; nothing to report.
      }
    }
    return;
  }
  if (running_ == &node && cancelling_thread_ != std::this_thread::get_id()) {
    callback_done_.wait(lock, [&] { return running_ != &node; });
  }
}

void TokenState::unlink(CallbackNode& node) noexcept {
  (node.prev != nullptr ? node.prev->next : head_) = node.next;
  (node.next != nullptr ? node.next->prev : tail_) = node.prev;
  node.prev = node.next = nullptr;
  node.linked = false;
  --count_;
}

bool TokenState::has_callbacks() noexcept {
  std::lock_guard lock(mutex_);
  return count_ > 0;
}

std::size_t TokenState::callback_count() noexcept {
  std::lock_guard lock(mutex_);
  return count_;
}

std::stop_token TokenState::stop_token() {
  const bool cancelled_now = is_cancelled();
  std::unique_lock lock(mutex_);
  if (!stop_source_) stop_source_.emplace();
  std::stop_source source = *stop_source_;
  // cancel() copies stop_source_ under the mutex: if it ran before we created it, request here.
  const bool request = cancelled_now || cancelled_.load(std::memory_order_relaxed);
  lock.unlock();
  if (request) source.request_stop();
  return source.get_token();
}

void TokenState::keep_alive(std::shared_ptr<void> object) {
  std::lock_guard lock(mutex_);
  kept_alive_ = std::move(object);
}

}  // namespace isolate::detail
