// fault_server.cpp — FaultServer: Boost.Beast on one thread, a coroutine per connection.
#include "fault_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string_view>

namespace isolate::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

class FaultSession {
 public:
  FaultSession(FaultServer& server, tcp::socket socket) : server_(server), socket_(std::move(socket)) {}

  asio::awaitable<void> serve() {
    try {
      beast::flat_buffer buffer;
      while (true) {
        beast::http::request<beast::http::string_body> request;
        co_await beast::http::async_read(socket_, buffer, request, asio::use_awaitable);
        const std::string target(request.target());
        server_.count_request(target);
        if (!co_await answer(request)) break;
      }
    } catch (const std::exception&) {  // the client closed or reset the connection
    }
    server_.count_closed();
  }

 private:
  using Request = beast::http::request<beast::http::string_body>;

  /// Answers `request`; false once the connection is done with.
  asio::awaitable<bool> answer(const Request& request) {
    const std::string_view target = request.target();
    if (target == "/hello") co_return co_await reply(request, 200, "hello");
    if (target == "/echo") co_return co_await reply(request, 200, echo(request).dump());
    if (target.starts_with("/status/")) {
      const int status = std::stoi(std::string(target.substr(8)));
      co_return co_await reply(request, status, "status " + std::to_string(status));
    }
    if (target.starts_with("/redirect/")) {
      const int left = std::stoi(std::string(target.substr(10)));
      if (left == 0) co_return co_await reply(request, 200, "landed");
      co_return co_await reply(request, 302, "", "/redirect/" + std::to_string(left - 1));
    }
    if (target == "/loop") co_return co_await reply(request, 302, "", "/loop");
    if (target.starts_with("/bytes/")) {
      co_return co_await reply(request, 200, std::string(std::stoull(std::string(target.substr(7))), 'x'));
    }
    if (target == "/stream") co_await (stream() || until_closed());
    if (target == "/drip") co_await (drip() || until_closed());
    if (target == "/reset") co_await reset();
    if (target == "/hang") co_await until_closed();
    co_return false;
  }

  static nlohmann::json echo(const Request& request) {
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& field : request) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      headers[name] = std::string(field.value());
    }
    return {{"method", std::string(request.method_string())},
            {"target", std::string(request.target())},
            {"headers", headers},
            {"body", request.body()}};
  }

  asio::awaitable<bool> reply(const Request& request, int status, std::string body, std::string location = "") {
    beast::http::response<beast::http::string_body> response{static_cast<beast::http::status>(status),
                                                             request.version()};
    response.set(beast::http::field::content_type, "text/plain");
    if (!location.empty()) response.set(beast::http::field::location, location);
    response.keep_alive(request.keep_alive());
    response.body() = std::move(body);
    response.prepare_payload();
    co_await beast::http::async_write(socket_, response, asio::use_awaitable);
    co_return request.keep_alive();
  }

  asio::awaitable<void> raw(std::string_view bytes) {
    co_await asio::async_write(socket_, asio::buffer(bytes), asio::use_awaitable);
  }

  asio::awaitable<void> pause(std::chrono::milliseconds how_long) {
    asio::steady_timer timer(socket_.get_executor(), how_long);
    co_await timer.async_wait(asio::use_awaitable);
  }

  asio::awaitable<void> drip() {
    co_await raw("HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n");
    const std::string kib(1024, 'x');
    while (true) {
      co_await raw(kib);
      co_await pause(std::chrono::milliseconds(10));
    }
  }

  asio::awaitable<void> stream() {
    co_await raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
    while (true) {
      co_await raw(chunk);
      co_await pause(std::chrono::milliseconds(1));
    }
  }

  asio::awaitable<void> reset() {
    co_await raw("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + std::string(1000, 'x'));
    co_await pause(std::chrono::milliseconds(50));
    socket_.set_option(asio::socket_base::linger(true, 0));
    socket_.close();  // with linger 0: a reset, not a FIN
  }

  /// Returns when the client closes (or resets) the connection.
  asio::awaitable<void> until_closed() {
    char byte = 0;
    beast::error_code error;
    while (!error) {
      co_await socket_.async_read_some(asio::buffer(&byte, 1), asio::redirect_error(asio::use_awaitable, error));
    }
  }

  FaultServer& server_;
  tcp::socket socket_;
};

FaultServer::FaultServer() {
  auto acceptor = std::make_shared<tcp::acceptor>(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  port_ = acceptor->local_endpoint().port();
  asio::co_spawn(
      io_,
      [this, acceptor]() -> asio::awaitable<void> {
        while (true) {
          tcp::socket socket = co_await acceptor->async_accept(asio::use_awaitable);
          ++accepted_;
          auto session = std::make_shared<FaultSession>(*this, std::move(socket));
          asio::co_spawn(
              io_, [session]() { return session->serve(); }, asio::detached);
        }
      },
      asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

FaultServer::~FaultServer() {
  io_.stop();
  thread_.join();
}

std::string FaultServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

int FaultServer::requests(const std::string& path) const {
  const std::lock_guard lock(mutex_);
  const auto found = requests_.find(path);
  return found == requests_.end() ? 0 : found->second;
}

void FaultServer::count_request(const std::string& path) {
  const std::lock_guard lock(mutex_);
  ++requests_[path];
}

}  // namespace isolate::test
