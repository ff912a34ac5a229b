// offload_server.cpp — an HTTP server (Boost.Beast, coroutines) that parses each request's JSON
// body in a pool worker, without a thread per request. A client that hangs up while its body is
// being parsed loses nothing but its job: the job's worker is killed and reaped at once, and the
// pool starts a fresh one.
//
//   offload_server [port]    listens on 127.0.0.1 (port 0 or none: any free port); prints
//                            "listening on 127.0.0.1:PORT"; SIGINT or SIGTERM stops it
//   curl --data-binary @big.json http://127.0.0.1:PORT/   ->  {"type":"array","elements":...}
//
// One request at a time per connection: while its job runs, anything the client sends (a
// pipelined request included) counts as hanging up.
#include <isolate/asio.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

// The work to keep out of the server's process: parsing a body nobody vetted.
isolate::Job<std::string_view, nlohmann::json> summarize("example.summarize", [](const std::string_view& body) {
  const auto document = nlohmann::json::parse(body);
  return nlohmann::json{{"type", document.type_name()}, {"elements", document.size()}};
});

http::response<http::string_body> reply(const http::request<http::string_body>& request, http::status status,
                                        std::string body) {
  http::response<http::string_body> response{status, request.version()};
  response.set(http::field::content_type, "application/json");
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

/// The summary of `body`, parsed on a pool worker, as the answer's status and body: the job's
/// exception (a body that is not JSON) is a 400 with its message.
asio::awaitable<std::pair<http::status, std::string>> summarize_body(isolate::IsolatePool& pool,
                                                                     std::string_view body) {
  try {
    const auto summary = co_await isolate::async_run(pool, summarize, body, asio::use_awaitable);
    co_return std::pair{http::status::ok, summary.dump()};
  } catch (const std::exception& e) {
    co_return std::pair{http::status::bad_request, nlohmann::json{{"error", e.what()}}.dump()};
  }
}

/// Answers `request`, unless the client hangs up first: then the parse loses the race, its
/// worker is killed and reaped, and there is nothing to answer (nullopt). (Asio's || waits for
/// the first operation to *succeed*: summarize_body turns the job's failure into an answer.)
asio::awaitable<std::optional<http::response<http::string_body>>> handle(
    tcp::socket& socket, isolate::IsolatePool& pool, const http::request<http::string_body>& request) {
  auto outcome =
      co_await (summarize_body(pool, request.body()) || socket.async_wait(tcp::socket::wait_read, asio::use_awaitable));
  if (outcome.index() == 1) {
    std::printf("client hung up mid-parse: its job was cancelled and its worker killed\n");
    std::fflush(stdout);
    co_return std::nullopt;
  }
  auto [status, body] = std::get<0>(std::move(outcome));
  co_return reply(request, status, std::move(body));
}

asio::awaitable<void> serve(tcp::socket socket, isolate::IsolatePool& pool) {
  boost::beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(std::uint64_t{1} << 30);
    co_await http::async_read(socket, buffer, parser, asio::use_awaitable);  // throws at end of stream
    const auto request = parser.release();
    auto response = co_await handle(socket, pool, request);
    if (!response) co_return;
    co_await http::async_write(socket, *response, asio::use_awaitable);
    if (!response->keep_alive()) co_return;
  }
}

asio::awaitable<void> accept_clients(tcp::acceptor& acceptor, isolate::IsolatePool& pool) {
  for (;;) {
    auto socket = co_await acceptor.async_accept(asio::use_awaitable);
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket), pool), asio::detached);
  }
}

int main(int argc, char** argv) {
  if (auto code = isolate::run_worker_if_requested(argc, argv)) return *code;  // first line of main
  const auto port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 0);
  isolate::IsolatePool pool({.workers = 2, .sandbox = {.enabled = isolate::Sandbox::available()}});

  asio::io_context io;  // one thread serves every connection
  tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), port});
  std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
  std::fflush(stdout);
  asio::co_spawn(io, accept_clients(acceptor, pool), asio::detached);
  asio::signal_set stop(io, SIGINT, SIGTERM);
  stop.async_wait([&io](auto, int) { io.stop(); });
  io.run();
  std::printf("stopped\n");
}
