// client_loop.cpp — Client::Loop: add what was submitted, take off what was stopped, drive
// curl, complete what curl finished; then sleep in curl_multi_poll until a socket or a wake-up.
#include "client_loop.hpp"

#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace isolate::http {
namespace {

/// curl_global_init is not safe to race with other curl set-up: once per process.
void initialise_curl() {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) throw HttpError(std::string("cannot initialise libcurl: ") + curl_easy_strerror(code));
}

/// The longest the thread sleeps without a socket event or a wake-up (ms). Only bounds how long a
/// missed wake-up could go unnoticed; curl's own timers wake it sooner.
constexpr int kPollMilliseconds = 1000;

}  // namespace

std::shared_ptr<Client::Loop> Client::Loop::start() {
  initialise_curl();
  std::shared_ptr<Loop> loop(new Loop());
  loop->running_ = true;
  loop->thread_ = std::thread([raw = loop.get()] { raw->run(); });
  return loop;
}

Client::Loop::Loop() {
  multi_ = curl_multi_init();
  if (multi_ == nullptr) throw HttpError("cannot initialise libcurl: curl_multi_init failed");
}

Client::Loop::~Loop() { curl_multi_cleanup(multi_); }

void Client::Loop::submit(const std::shared_ptr<detail::Transfer>& transfer) {
  {
    const std::lock_guard lock(mutex_);
    if (transfer->stage != detail::Stage::created) return;  // stopped before it was handed over
    if (!running_) {
      transfer->stage = detail::Stage::detached;
    } else {
      transfer->stage = detail::Stage::queued;
      queued_.push_back(transfer);
      curl_multi_wakeup(multi_);
      return;
    }
  }
  transfer->result().set_exception(std::make_exception_ptr(CancelledException("client destroyed")));
}

void Client::Loop::stop(const std::shared_ptr<detail::Transfer>& transfer) {
  std::unique_lock lock(mutex_);
  if (transfer->stage != detail::Stage::active) {
    transfer->stage = detail::Stage::detached;  // never on the wire (the thread skips it)
    return;
  }
  if (!running_) return;
  stopping_.push_back(transfer);
  if (std::this_thread::get_id() == thread_.get_id()) {
    // Cancelled from one of the transfer's own callbacks (an on_body that cancels its token):
    // curl cannot take a handle off from inside a callback, and waiting here would wait for
    // ourselves. Its callbacks stop the transfer; the thread takes it off when curl returns.
    transfer->stop_requested = true;
    return;
  }
  curl_multi_wakeup(multi_);
  detached_.wait(lock, [&] { return transfer->stage == detail::Stage::detached || !running_; });
}

void Client::Loop::shutdown() noexcept {
  {
    const std::lock_guard lock(mutex_);
    shutting_down_ = true;
    curl_multi_wakeup(multi_);
  }
  if (thread_.joinable()) thread_.join();
}

void Client::Loop::run() noexcept {
  std::vector<std::shared_ptr<detail::Transfer>> queued, stopping;
  while (true) {
    {
      const std::lock_guard lock(mutex_);
      if (shutting_down_) break;
      queued.swap(queued_);
      stopping.swap(stopping_);
    }
    for (const auto& transfer : stopping) detach(transfer, /*part_way=*/true);
    stopping.clear();
    start_queued(queued);
    int running = 0;
    curl_multi_perform(multi_, &running);
    finish_done();
    curl_multi_poll(multi_, nullptr, 0, kPollMilliseconds, nullptr);
  }
  fail_all();
}

void Client::Loop::start_queued(std::vector<std::shared_ptr<detail::Transfer>>& queued) {
  for (auto& transfer : queued) {
    {
      const std::lock_guard lock(mutex_);
      if (transfer->stage != detail::Stage::queued) continue;  // stopped while queued
      transfer->stage = detail::Stage::active;
    }
    if (const CURLMcode code = curl_multi_add_handle(multi_, transfer->easy()); code != CURLM_OK) {
      {
        const std::lock_guard lock(mutex_);
        transfer->stage = detail::Stage::detached;
      }
      detached_.notify_all();
      transfer->result().set_exception(
          std::make_exception_ptr(HttpError(std::string("cannot start the request: ") + curl_multi_strerror(code))));
      continue;
    }
    active_.emplace(transfer->easy(), std::move(transfer));
  }
  queued.clear();
}

void Client::Loop::detach(const std::shared_ptr<detail::Transfer>& transfer, bool part_way) noexcept {
  if (active_.erase(transfer->easy()) != 0) {
    // Off the wire part-way: curl closes a connection whose transfer did not finish; forbidding
    // reuse makes sure of it.
    if (part_way) transfer->forbid_reuse();
    curl_multi_remove_handle(multi_, transfer->easy());
  }
  {
    const std::lock_guard lock(mutex_);
    transfer->stage = detail::Stage::detached;
  }
  detached_.notify_all();
}

void Client::Loop::finish_done() noexcept {
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    const auto found = active_.find(message->easy_handle);
    if (found == active_.end()) continue;
    const std::shared_ptr<detail::Transfer> transfer = found->second;
    const CURLcode code = message->data.result;  // `message` is gone once the handle is removed
    detach(transfer, /*part_way=*/code != CURLE_OK);
    transfer->finish(code);
  }
}

void Client::Loop::fail_all() noexcept {
  std::vector<std::shared_ptr<detail::Transfer>> left;
  for (const auto& [easy, transfer] : active_) left.push_back(transfer);
  for (const auto& transfer : left) detach(transfer, /*part_way=*/true);
  {
    const std::lock_guard lock(mutex_);
    running_ = false;
    for (auto& transfer : queued_) {
      transfer->stage = detail::Stage::detached;
      left.push_back(std::move(transfer));
    }
    queued_.clear();
    stopping_.clear();
  }
  detached_.notify_all();
  for (const auto& transfer : left) {
    try {
      transfer->result().set_exception(std::make_exception_ptr(CancelledException("client destroyed")));
    } catch (...) {  // std::bad_alloc making the exception: nothing better to give
    }
  }
}

}  // namespace isolate::http
