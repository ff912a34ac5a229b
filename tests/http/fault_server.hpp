// fault_server.hpp — a real HTTP/1.1 server on 127.0.0.1 for the HTTP client's tests, with the
// faults a client must survive, that counts what it sees from the server's side: connections
// accepted and closed, requests per path.
//
//   /hello             200 "hello" (keep-alive)
//   /echo              200, JSON {method, target, headers (lower-case names), body}
//   /status/N          status N, body "status N"
//   /redirect/N        302 to /redirect/N-1; /redirect/0 is 200 "landed"
//   /loop              302 to itself, for ever
//   /bytes/N           N bytes of 'x' with a Content-Length
//   /stream            chunked 'x's for ever (no Content-Length)
//   /drip              Content-Length 1 GB, then 1 KiB every 10 ms for ever
//   /reset             Content-Length 1 MB, 1000 bytes, then a TCP reset
//   /hang              reads the request and never answers
#pragma once

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace isolate::test {

class FaultServer {
 public:
  /// Listens on 127.0.0.1 (a port the system picks) and serves on its own thread.
  FaultServer();
  /// Stops serving and closes every connection.
  ~FaultServer();
  FaultServer(const FaultServer&) = delete;
  FaultServer& operator=(const FaultServer&) = delete;

  /// "http://127.0.0.1:PORT" + path.
  [[nodiscard]] std::string url(const std::string& path) const;

  [[nodiscard]] int accepted() const noexcept { return accepted_.load(); }
  /// Connections the client closed (or reset), as the server saw them.
  [[nodiscard]] int closed() const noexcept { return closed_.load(); }
  /// When the server last saw a connection closed (steady_clock, nanoseconds since its epoch).
  [[nodiscard]] std::int64_t last_closed_ns() const noexcept { return last_closed_ns_.load(); }
  [[nodiscard]] int requests(const std::string& path) const;

 private:
  boost::asio::io_context io_;
  unsigned short port_ = 0;
  std::atomic<int> accepted_{0};
  std::atomic<int> closed_{0};
  std::atomic<std::int64_t> last_closed_ns_{0};
  mutable std::mutex mutex_;
  std::map<std::string, int> requests_;  // guarded by mutex_
  std::thread thread_;

  friend class FaultSession;
  void count_request(const std::string& path);
  void count_closed() noexcept {
    last_closed_ns_ = std::chrono::steady_clock::now().time_since_epoch().count();
    ++closed_;
  }
};

}  // namespace isolate::test
