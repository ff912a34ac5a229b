// transfer.hpp — one request on its way: its curl easy handle set up from the Request, the
// Response it fills, its progress watches and the result its future reads (internal).
#pragma once

#include <curl/curl.h>
#include <isolate/detail/cancellable_result.hpp>
#include <isolate/detail/progress_watch.hpp>
#include <isolate/http.hpp>

#include <array>
#include <atomic>
#include <exception>
#include <functional>
#include <memory>

namespace isolate::http::detail {

/// Where a transfer stands with its client's loop (guarded by the loop's mutex).
enum class Stage {
  created,   // not handed to the loop yet
  queued,    // handed over, not yet on the multi handle
  active,    // on the multi handle: may be connecting or transferring
  detached,  // off the multi handle (done, stopped or never started): its connection is closed
             // or back in the pool, and the loop will not touch it again
};

class Transfer {
 public:
  /// What a token's cancel does to the transfer before its future is ready: take it off the wire.
  using Stop = std::function<void(const std::shared_ptr<Transfer>&)>;

  /// A transfer of `request` (with the client's `options`) whose result calls `stop` with it when
  /// its token wins, and runs
  /// `hooks` besides (its progress watches close first). Throws
  /// HttpError if curl cannot take the request, std::bad_alloc.
  static std::shared_ptr<Transfer> create(Request request, const ClientOptions& options, Stop stop,
                                          isolate::detail::ResultHooks hooks = {});
  ~Transfer();
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  [[nodiscard]] CURL* easy() const noexcept { return easy_; }
  [[nodiscard]] isolate::detail::CancellableResult<Response>& result() noexcept { return *result_; }
  /// Loop state; read and written under the loop's mutex only.
  Stage stage = Stage::created;
  /// Set on the loop's thread when the transfer's token fired inside one of its own callbacks:
  /// its next callback tells curl to stop.
  std::atomic<bool> stop_requested{false};

  /// Completes the future from curl's verdict (loop thread, once detached). Never throws.
  void finish(CURLcode code) noexcept;
  /// Makes sure the connection is closed rather than pooled when the handle comes off now
  /// (a transfer stopped part-way).
  void forbid_reuse() noexcept;

 private:
  explicit Transfer(Request request);
  void configure(const ClientOptions& options);
  void set_method();
  void set_progress();

  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self) noexcept;
  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self) noexcept;
  static int on_progress(void* self, curl_off_t down_total, curl_off_t down_now, curl_off_t up_total,
                         curl_off_t up_now) noexcept;

  Request request_;
  Response response_;
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::array<char, CURL_ERROR_SIZE> error_{};
  bool body_too_large_ = false;
  std::exception_ptr body_error_;  // what Request::on_body threw
  bool body_reserved_ = false;
  std::size_t received_ = 0;  // body bytes given to Request::on_body
  std::shared_ptr<isolate::detail::ProgressWatch> send_watch_, receive_watch_;
  isolate::detail::ProgressCell* send_cell_ = nullptr;
  isolate::detail::ProgressCell* receive_cell_ = nullptr;
  std::shared_ptr<isolate::detail::CancellableResult<Response>> result_;
};

}  // namespace isolate::http::detail
