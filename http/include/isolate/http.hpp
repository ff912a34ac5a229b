// http.hpp — cancellable HTTP requests: Dio's CancelToken for C++. One token can cancel a
// request and the job that parses its body.
//
//   isolate::http::Client client;
//   isolate::CancellationToken token;
//   isolate::http::Response response = client.get("https://example.org/data.json", token).get();
//   auto stats = pool.run(parse, std::move(response.body), token).get();
//
// Built on libcurl's multi interface: one library thread per Client runs every transfer (no
// thread per request), connections are reused (keep-alive), redirects followed, gzip/deflate
// bodies decoded, HTTPS checked against the system's CA store. Only http:// and https:// URLs
// are fetched, redirects included. CMake target isolate::http.
#pragma once

#include <isolate/cancellation_token.hpp>
#include <isolate/errors.hpp>
#include <isolate/http_export.hpp>
#include <isolate/progress.hpp>

#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace isolate::detail {
struct ResultHooks;
}  // namespace isolate::detail

namespace isolate::http {

namespace detail {
struct ClientAccess;
}  // namespace detail

/// What to send. `method` is any HTTP token ("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"...);
/// a body is sent with any method but HEAD.
struct Request {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};
  /// 0: no limit. A response whose body (decoded) grows past it stops at once: HttpError. A
  /// Content-Length above it fails before the body is read.
  std::size_t max_body_bytes = 0;
  /// Bytes of the body sent (total: its size). Same rules as RunOptions::on_progress: a library
  /// thread, never two calls at once, never after the future is ready, the latest report wins;
  /// a callback that throws cancels the request with its exception.
  ProgressCallback on_send_progress{};
  /// Bytes of the response body received (before decoding); total = Content-Length where known,
  /// else 0. Same rules as on_send_progress.
  ProgressCallback on_receive_progress{};
  // Beyond the contract in ../shared/API.md (after its members, so that code written against it
  // initialises the same members):
  /// If set, the response body goes here chunk by chunk as it arrives (decoded) instead of into
  /// Response::body, which stays empty: e.g. straight into a file or a memfd. It runs on the
  /// client's thread and must not block; max_body_bytes still counts every chunk. If it throws,
  /// the transfer stops (its connection closed) and the future holds its exception. It may
  /// cancel the request's own token: the transfer stops there, the future holds the token's
  /// exception at once and the connection closes as soon as the callback has returned.
  std::function<void(std::string_view chunk)> on_body{};
};

/// What came back: the last response after redirects. Any status is a Response (no exception
/// for 404 or 500).
struct Response {
  int status = 0;
  /// In the order received, names as the server wrote them.
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};
  /// The first header named `name` (case-insensitive), or nothing.
  [[nodiscard]] ISOLATE_HTTP_EXPORT std::optional<std::string> header(std::string_view name) const;
};

/// No response: the name did not resolve, the connection was refused or reset, TLS failed, too
/// many redirects, or the body went over max_body_bytes. The message holds curl's description
/// and the method and URL.
class ISOLATE_HTTP_EXPORT HttpError : public IsolateError {
  using IsolateError::IsolateError;
};

/// How a Client connects.
struct ClientOptions {
  /// A PEM file of CA certificates to trust instead of the system's store (a private CA, or a
  /// test server's self-signed certificate). Empty: the system's store.
  std::string ca_file{};
};

/// Sends requests; reuses connections between them. Thread safety: every member may be called
/// from any thread concurrently.
class ISOLATE_HTTP_EXPORT Client {
 public:
  /// Starts the client's thread. Throws HttpError if libcurl cannot be set up, std::system_error
  /// if the thread cannot start.
  Client();
  /// A client with `options`. Throws std::invalid_argument for a ca_file that does not exist, and
  /// as Client().
  explicit Client(ClientOptions options);
  /// Fails what is still in flight with CancelledException("client destroyed") (each transfer
  /// stopped and its connection closed first), then joins the thread.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Sends `request`. The future holds the Response, HttpError, or the token's exact exception:
  /// a token already cancelled makes no connection at all; a token cancelled while the request
  /// connects or transfers stops it — its connection closed, never reused — before the future
  /// is ready. A TimeoutCancellationToken is the request's timeout.
  /// Throws std::invalid_argument for a request that cannot be sent as given (no URL, a method
  /// or header that is not a valid HTTP token or holds a line break).
  std::future<Response> send(Request request, CancellationToken token = {});
  /// send() of a GET of `url`.
  std::future<Response> get(std::string url, CancellationToken token = {});

 private:
  friend struct detail::ClientAccess;  // async_send (<isolate/http_asio.hpp>)
  std::future<Response> send_with_hooks(Request request, CancellationToken token, isolate::detail::ResultHooks hooks);

  class Loop;
  ClientOptions options_;
  std::shared_ptr<Loop> loop_;
};

}  // namespace isolate::http
