// http_asio.hpp — async_send: Client::send as a Boost.Asio asynchronous operation (link
// isolate::http and isolate::asio). The same rules as async_run (<isolate/asio.hpp>):
//
//   boost::asio::awaitable<void> fetch(isolate::http::Client& client, std::string url) {
//     using namespace boost::asio::experimental::awaitable_operators;
//     boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, 2s);
//     isolate::http::Request request{.url = std::move(url)};  // named: see below
//     auto first = co_await (isolate::http::async_send(client, std::move(request), boost::asio::use_awaitable) ||
//                            timer.async_wait(boost::asio::use_awaitable));
//     // the timer won: the transfer is off the wire and its connection closed
//   }
//
// Completion signature: void(std::exception_ptr, Response). The handler runs on its associated
// executor, never inside async_send; no thread waits per request. Cancellation through the
// handler's cancellation slot (any type) does what a token cancel does — the transfer stops and
// its connection is closed before the operation completes — with boost::system::system_error(
// operation_aborted); a cancelled `token` completes with its exact exception. A request that
// cannot be sent as given completes with std::invalid_argument. The client must outlive the
// initiation (with `deferred`, until the operation is initiated).
// g++ 12 (Debian 12's) miscompiles an aggregate temporary in a co_await expression: it builds it
// in one place and moves its bytes to another, so a short std::string member in it is later
// freed at a bad address. `co_await async_send(client, {.url = u}, use_awaitable)` crashes;
// name the Request first, as above (the same holds for async_run with an aggregate input).
#pragma once

#include <isolate/asio.hpp>
#include <isolate/detail/cancellable_result.hpp>
#include <isolate/http.hpp>

#include <boost/asio/async_result.hpp>

#include <exception>
#include <future>
#include <utility>

namespace isolate::http {

namespace detail {

/// async_send's way into Client's send with hooks.
struct ClientAccess {
  static std::future<Response> send(Client& client, Request request, CancellationToken token,
                                    isolate::detail::ResultHooks hooks) {
    return client.send_with_hooks(std::move(request), std::move(token), std::move(hooks));
  }
};

}  // namespace detail

/// Client::send(request, token) as an asynchronous operation. See the file comment.
template <class CompletionToken>
auto async_send(Client& client, Request request, CancellationToken token, CompletionToken&& completion) {
  return boost::asio::async_initiate<CompletionToken, void(std::exception_ptr, Response)>(
      [&client](auto handler, Request r, CancellationToken t) {
        isolate::detail::initiate_async_run<Response>(
            std::move(handler), std::move(t), [&](const CancellationToken& merged, isolate::detail::ResultHooks hooks) {
              return detail::ClientAccess::send(client, std::move(r), merged, std::move(hooks));
            });
      },
      completion, std::move(request), std::move(token));
}

/// async_send with no token.
template <class CompletionToken>
auto async_send(Client& client, Request request, CompletionToken&& completion) {
  return async_send(client, std::move(request), CancellationToken{}, std::forward<CompletionToken>(completion));
}

}  // namespace isolate::http
