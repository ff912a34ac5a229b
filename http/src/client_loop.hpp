// client_loop.hpp — a Client's thread: one curl multi handle that runs every transfer of the
// client, fed through a queue (internal).
#pragma once

#include <curl/curl.h>
#include <isolate/http.hpp>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "transfer.hpp"

namespace isolate::http {

/// Only the thread touches the multi handle and the transfers on it; other threads hand work
/// over through the queues and wake it with curl_multi_wakeup.
/// Thread safety: submit() and stop() from any thread; shutdown() once, from the owner.
class Client::Loop {
 public:
  /// Sets up curl and starts the thread. Throws HttpError, std::system_error.
  static std::shared_ptr<Loop> start();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  /// Hands `transfer` to the thread, unless it was stopped already.
  void submit(const std::shared_ptr<detail::Transfer>& transfer);
  /// Takes `transfer` off the wire, closing its connection, and returns once it is off (at once
  /// if it never got on, or if the thread has ended; on the thread itself — a callback of the
  /// transfer cancelling its token — the transfer stops at its next callback and comes off when
  /// curl returns). Its result is the caller's to complete.
  void stop(const std::shared_ptr<detail::Transfer>& transfer);
  /// Fails every transfer with CancelledException("client destroyed") and joins the thread.
  void shutdown() noexcept;

 private:
  Loop();
  void run() noexcept;
  void start_queued(std::vector<std::shared_ptr<detail::Transfer>>& queued);
  void detach(const std::shared_ptr<detail::Transfer>& transfer, bool part_way) noexcept;
  void finish_done() noexcept;
  void fail_all() noexcept;

  CURLM* multi_ = nullptr;  // the thread's; curl_multi_wakeup from others while running_
  std::mutex mutex_;
  std::condition_variable detached_;
  std::vector<std::shared_ptr<detail::Transfer>> queued_;                // guarded by mutex_
  std::vector<std::shared_ptr<detail::Transfer>> stopping_;              // guarded by mutex_
  bool running_ = false;                                                 // guarded by mutex_
  bool shutting_down_ = false;                                           // guarded by mutex_
  std::unordered_map<CURL*, std::shared_ptr<detail::Transfer>> active_;  // the thread's
  std::thread thread_;
};

}  // namespace isolate::http
