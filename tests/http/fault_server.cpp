// fault_server.cpp — FaultServer: an accepting thread, a thread per connection reading requests
// with Boost.Beast over a blocking socket and answering each path as fault_server.hpp says.
#include "fault_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <cctype>
#include <stdexcept>
#include <string_view>

namespace isolate::test {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;

/// Waits up to `timeout_ms` (-1: for ever) for the peer to close, reset or send; true if it did
/// (or the server is shutting the connection down).
bool peer_closed_within(int fd, int timeout_ms) {
  pollfd watch{fd, POLLIN | POLLRDHUP, 0};
  return ::poll(&watch, 1, timeout_ms) > 0;
}

nlohmann::json echo(const Request& request) {
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

/// One connection: answers requests until the client closes it or a path ends it.
class Session {
 public:
  Session(asio::io_context& io, int fd) : socket_(io, tcp::v4(), fd), fd_(fd) {}

  void run(const std::function<void(const std::string&)>& count_request) {
    boost::beast::flat_buffer buffer;
    boost::system::error_code error;
    while (true) {
      Request request;
      http::read(socket_, buffer, request, error);
      if (error) return;
      count_request(std::string(request.target()));
      if (!answer(request)) return;
    }
  }

 private:
  /// Answers `request`; false once the connection is done with.
  bool answer(const Request& request) {
    const std::string_view target = request.target();
    if (target == "/hello") return reply(request, 200, "hello");
    if (target == "/echo") return reply(request, 200, echo(request).dump());
    if (target.starts_with("/status/")) {
      const int status = std::stoi(std::string(target.substr(8)));
      return reply(request, status, "status " + std::to_string(status));
    }
    if (target.starts_with("/redirect/")) {
      const int left = std::stoi(std::string(target.substr(10)));
      if (left == 0) return reply(request, 200, "landed");
      return reply(request, 302, "", "/redirect/" + std::to_string(left - 1));
    }
    if (target == "/loop") return reply(request, 302, "", "/loop");
    if (target.starts_with("/bytes/")) {
      return reply(request, 200, std::string(std::stoull(std::string(target.substr(7))), 'x'));
    }
    if (target == "/stream") {
      const std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
      if (raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")) {
        while (raw(chunk) && !peer_closed_within(fd_, 1)) {
        }
      }
    } else if (target == "/drip") {
      const std::string kib(1024, 'x');
      if (raw("HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")) {
        while (raw(kib) && !peer_closed_within(fd_, 10)) {
        }
      }
    } else if (target == "/reset") {
      if (raw("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + std::string(1000, 'x'))) {
        (void)peer_closed_within(fd_, 50);
        socket_.set_option(asio::socket_base::linger(true, 0));  // close() then resets
      }
    } else if (target == "/hang") {
      (void)peer_closed_within(fd_, -1);
    }
    return false;
  }

  bool reply(const Request& request, int status, std::string body, const std::string& location = "") {
    http::response<http::string_body> response{static_cast<http::status>(status), request.version()};
    response.set(http::field::content_type, "text/plain");
    if (!location.empty()) response.set(http::field::location, location);
    response.keep_alive(request.keep_alive());
    response.body() = std::move(body);
    response.prepare_payload();
    boost::system::error_code error;
    http::write(socket_, response, error);
    return !error && request.keep_alive();
  }

  bool raw(std::string_view bytes) {
    boost::system::error_code error;
    asio::write(socket_, asio::buffer(bytes), error);
    return !error;
  }

  tcp::socket socket_;
  int fd_;
};

}  // namespace

FaultServer::FaultServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 128) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (listen_fd_ >= 0) ::close(listen_fd_);
    throw std::runtime_error("FaultServer: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FaultServer::~FaultServer() {
  std::vector<std::thread> sessions;
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
    for (const int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);  // wakes reads, writes and polls
  }
  ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  acceptor_.join();
  {
    const std::lock_guard lock(mutex_);
    sessions.swap(sessions_);
  }
  for (auto& session : sessions) session.join();
  ::close(listen_fd_);
}

void FaultServer::accept_loop() {
  while (true) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    const std::lock_guard lock(mutex_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    ++accepted_;
    open_fds_.insert(fd);
    sessions_.emplace_back([this, fd] { serve(fd); });
  }
}

void FaultServer::serve(int fd) {
  asio::io_context io;  // for the blocking socket's sake; never run
  {
    Session session(io, fd);
    session.run([this](const std::string& path) { count_request(path); });
    const std::lock_guard lock(mutex_);
    open_fds_.erase(fd);  // before the socket (and its fd number) goes
  }
  count_closed();
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

void FaultServer::count_closed() noexcept {
  last_closed_ns_ = std::chrono::steady_clock::now().time_since_epoch().count();
  ++closed_;
}

}  // namespace isolate::test
