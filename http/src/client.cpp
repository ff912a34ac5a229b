// client.cpp — Client: check a request, then hand it to the client's loop with its token.
#include <isolate/detail/cancellable_isolate-inl.hpp>  // failed_future
#include <isolate/detail/cancellable_result.hpp>
#include <isolate/http.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "client_loop.hpp"
#include "transfer.hpp"

namespace isolate::http {
namespace {

/// An HTTP token (RFC 9110): what a method or a header name may be.
bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool has_line_break(std::string_view text) { return text.find_first_of("\r\n") != std::string_view::npos; }

void check(const Request& request) {
  if (request.url.empty()) throw std::invalid_argument("isolate::http: the request has no URL");
  if (has_line_break(request.url) || request.url.find('\0') != std::string::npos) {
    throw std::invalid_argument("isolate::http: the URL holds a line break or a NUL byte");
  }
  if (!is_token(request.method)) {
    throw std::invalid_argument("isolate::http: \"" + request.method.substr(0, 40) + "\" is not an HTTP method");
  }
  for (const auto& [name, value] : request.headers) {
    if (!is_token(name)) {
      throw std::invalid_argument("isolate::http: \"" + name.substr(0, 40) + "\" is not a header name");
    }
    if (has_line_break(value) || value.find('\0') != std::string::npos) {
      throw std::invalid_argument("isolate::http: the value of header " + name + " holds a line break or a NUL byte");
    }
  }
}

}  // namespace

Client::Client() : Client(ClientOptions{}) {}

Client::Client(ClientOptions options) : options_(std::move(options)) {
  if (!options_.ca_file.empty() && !std::filesystem::is_regular_file(options_.ca_file)) {
    throw std::invalid_argument("isolate::http: no CA file " + options_.ca_file);
  }
  loop_ = Loop::start();
}

Client::~Client() { loop_->shutdown(); }

std::future<Response> Client::send(Request request, CancellationToken token) {
  return send_with_hooks(std::move(request), std::move(token), {});
}

std::future<Response> Client::send_with_hooks(Request request, CancellationToken token,
                                              isolate::detail::ResultHooks hooks) {
  check(request);
  if (token.is_cancelled()) return isolate::detail::failed_future<Response>(token.exception(), std::move(hooks));
  auto transfer = detail::Transfer::create(
      std::move(request), options_,
      [weak = std::weak_ptr<Loop>(loop_)](const std::shared_ptr<detail::Transfer>& self) {
        if (auto loop = weak.lock()) loop->stop(self);
      },
      std::move(hooks));
  auto future = transfer->result().get_future();
  transfer->result().attach(token);  // cancelled meanwhile: completes now, and never starts
  loop_->submit(transfer);
  return future;
}

std::future<Response> Client::get(std::string url, CancellationToken token) {
  return send(Request{.url = std::move(url)}, std::move(token));
}

}  // namespace isolate::http
