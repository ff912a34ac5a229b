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
//
// Blocking sockets, a thread per connection (Boost.Beast reads and writes the messages): cheap
// to build, and a connection's close is seen the moment it happens (poll for POLLRDHUP).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace isolate::test {

class FaultServer {
 public:
  /// Listens on 127.0.0.1 (a port the system picks) and serves on threads of its own.
  FaultServer();
  /// Stops serving: every connection is shut down and every thread joined.
  ~FaultServer();
  FaultServer(const FaultServer&) = delete;
  FaultServer& operator=(const FaultServer&) = delete;

  /// "http://127.0.0.1:PORT" + path.
  [[nodiscard]] std::string url(const std::string& path) const;

  [[nodiscard]] int accepted() const noexcept { return accepted_.load(); }
  /// Connections that ended (the client closed or reset them, or the server's /reset), as the
  /// server saw them.
  [[nodiscard]] int closed() const noexcept { return closed_.load(); }
  /// When the server last saw a connection end (steady_clock, nanoseconds since its epoch).
  [[nodiscard]] std::int64_t last_closed_ns() const noexcept { return last_closed_ns_.load(); }
  [[nodiscard]] int requests(const std::string& path) const;

 private:
  void accept_loop();
  void serve(int fd);
  void count_request(const std::string& path);
  void count_closed() noexcept;

  int listen_fd_ = -1;
  unsigned short port_ = 0;
  std::atomic<int> accepted_{0};
  std::atomic<int> closed_{0};
  std::atomic<std::int64_t> last_closed_ns_{0};
  mutable std::mutex mutex_;
  std::map<std::string, int> requests_;  // guarded by mutex_
  std::set<int> open_fds_;               // guarded by mutex_: shut down on destruction
  std::vector<std::thread> sessions_;    // guarded by mutex_
  bool stopping_ = false;                // guarded by mutex_
  std::thread acceptor_;
};

}  // namespace isolate::test
