// Integration test of examples/offload_server.cpp: the real server, its real pool workers, and
// real HTTP clients on 127.0.0.1 — a request parsed in a worker, a body that is not JSON, and a
// client that hangs up mid-parse (its job's worker killed, the server serving on).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdlib>
#include <set>
#include <string>

#include "json_document.hpp"
#include "process_helpers.hpp"

namespace isolate::test {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

#ifdef ISOLATE_OFFLOAD_SERVER
/// The example server in a process group of its own, its stdout in a file; stopped (SIGTERM, then
/// the whole group SIGKILLed) when the test ends.
class OffloadServer {
 public:
  explicit OffloadServer(const std::filesystem::path& out) : out_(out) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 1);
      ::execl(ISOLATE_OFFLOAD_SERVER, ISOLATE_OFFLOAD_SERVER, "0", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
  }
  ~OffloadServer() {
    if (!stopped_) (void)stop();
    ::kill(-pid_, SIGKILL);
  }
  OffloadServer(const OffloadServer&) = delete;
  OffloadServer& operator=(const OffloadServer&) = delete;

  /// The port it listens on (0 if it never said).
  unsigned short port() {
    unsigned short port = 0;
    (void)eventually(
        [&] {
          const auto text = output();
          const auto at = text.find("listening on 127.0.0.1:");
          if (at == std::string::npos || text.find('\n', at) == std::string::npos) return false;
          port = static_cast<unsigned short>(std::stoi(text.substr(at + 23)));
          return true;
        },
        20s);
    return port;
  }
  [[nodiscard]] std::string output() const { return read_file(out_); }
  /// Its child processes (its pool's workers).
  [[nodiscard]] std::set<pid_t> children() const {
    std::set<pid_t> found;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid_) + "/task")) {
      std::ifstream in(task.path() / "children");
      pid_t pid;
      while (in >> pid) found.insert(pid);
    }
    return found;
  }

  /// SIGTERM; true if it exited by itself, leaving no process of its group.
  bool stop() {
    stopped_ = true;
    ::kill(pid_, SIGTERM);
    int status = 0;
    const bool exited = eventually([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, 20s);
    const bool group_gone = eventually([&] { return ::kill(-pid_, 0) != 0; }, 5s);
    return exited && WIFEXITED(status) && WEXITSTATUS(status) == 0 && group_gone;
  }

 private:
  std::filesystem::path out_;
  pid_t pid_ = -1;
  bool stopped_ = false;
};

/// A connected socket that gives up reading after 30 s (a server that never answers fails the
/// test instead of hanging it).
tcp::socket connect(asio::io_context& io, unsigned short port) {
  tcp::socket socket(io);
  socket.connect({asio::ip::address_v4::loopback(), port});
  const timeval timeout{.tv_sec = 30, .tv_usec = 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return socket;
}

http::response<http::string_body> post(unsigned short port, std::string body) {
  asio::io_context io;
  auto socket = connect(io, port);
  http::request<http::string_body> request{http::verb::post, "/", 11};
  request.set(http::field::host, "127.0.0.1");
  request.body() = std::move(body);
  request.prepare_payload();
  http::write(socket, request);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  return response;
}

class OffloadServerTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(OffloadServerTest, ParsesABodyInAWorkerAndAnswersABadOneWithItsError) {
  OffloadServer server(dir_.path() / "out");
  const auto port = server.port();
  ASSERT_NE(port, 0) << server.output();

  const auto ok = post(port, R"([1, {"a": 2}, "three"])");
  EXPECT_EQ(ok.result(), http::status::ok);
  EXPECT_EQ(nlohmann::json::parse(ok.body()), (nlohmann::json{{"type", "array"}, {"elements", 3}}));

  const auto bad = post(port, "{not json");
  EXPECT_EQ(bad.result(), http::status::bad_request);
  EXPECT_NE(nlohmann::json::parse(bad.body()).at("error").get<std::string>().find("parse"), std::string::npos);

  EXPECT_TRUE(server.stop()) << "the server did not stop cleanly, or left a process";
}

TEST_F(OffloadServerTest, AClientThatHangsUpMidParseHasItsJobKilledAndTheServerGoesOn) {
  OffloadServer server(dir_.path() / "out");
  const auto port = server.port();
  ASSERT_NE(port, 0) << server.output();
  const std::string big = examples::make_json_document(60'000'000);  // a parse of about a second
  ASSERT_EQ(post(port, "[]").result(), http::status::ok);
  // Both pool workers spawned (the server's direct children): the hung-up job goes to one of them.
  ASSERT_TRUE(eventually([&] { return server.children().size() == 2; }, 20s)) << server.children().size();
  const auto workers = server.children();

  {
    asio::io_context io;
    auto socket = connect(io, port);
    http::request<http::string_body> request{http::verb::post, "/", 11};
    request.set(http::field::host, "127.0.0.1");
    request.body() = big;
    request.prepare_payload();
    http::write(socket, request);
    socket.shutdown(tcp::socket::shutdown_both);  // gone before any answer
  }
  EXPECT_TRUE(eventually([&] { return server.output().find("client hung up mid-parse") != std::string::npos; }, 30s))
      << server.output();
  // `workers` are the server's children, the workers' relays: a killed worker's relay is reaped by
  // the server's supervisor a moment after the job's future is ready.
  const auto a_worker_was_killed = [&] {
    for (const pid_t pid : workers) {
      if (pid_gone(pid)) return true;
    }
    return false;
  };
  EXPECT_TRUE(eventually(a_worker_was_killed, 10s)) << "the hung-up client's job still has its worker";

  const auto after = post(port, "[true, false]");
  EXPECT_EQ(after.result(), http::status::ok);
  EXPECT_EQ(nlohmann::json::parse(after.body()).at("elements"), 2);
  EXPECT_TRUE(server.stop()) << "the server did not stop cleanly, or left a process";
}
#else
TEST(OffloadServerTest, NeedsTheExamples) { GTEST_SKIP() << "built without the examples"; }
#endif

}  // namespace
}  // namespace isolate::test
