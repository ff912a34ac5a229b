// isolate::http::async_send against the fault server: the handler on its executor, coroutines,
// a transfer losing to a timer (its connection closed, seen by the server), slot and token
// cancels, an invalid request delivered to the handler.
#include <gtest/gtest.h>
#include <isolate/http_asio.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "fault_server.hpp"
#include "process_helpers.hpp"

namespace isolate::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using http::async_send;
using http::Client;
using http::Response;

class AsyncSend : public ::testing::Test {
 protected:
  FaultServer server;
  Client client;
  asio::io_context io;
};

TEST_F(AsyncSend, TheHandlerRunsOnItsExecutorWithTheResponse) {
  std::optional<Response> got;
  std::thread::id handler_thread;
  async_send(client, {.url = server.url("/hello")},
             asio::bind_executor(io, [&](std::exception_ptr error, Response response) {
               EXPECT_FALSE(error);
               handler_thread = std::this_thread::get_id();
               got = std::move(response);
             }));
  EXPECT_FALSE(got) << "the handler ran inside async_send";
  io.run();  // returns only once the operation has completed: its work is counted
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body, "hello");
  EXPECT_EQ(handler_thread, std::this_thread::get_id());
}

TEST_F(AsyncSend, UseFutureHoldsAnHttpError) {
  auto future = async_send(client, {.url = server.url("/loop")}, asio::use_future);
  EXPECT_THROW(future.get(), http::HttpError);
}

TEST_F(AsyncSend, CoroutinesAwaitRequestsAndATimerBeatsAServerThatNeverAnswers) {
  std::string body;
  bool timer_won = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        // Named, not braced in the co_await expression: g++ 12 miscompiles an aggregate temporary
        // there (README, Gotchas).
        http::Request hello_request{.url = server.url("/hello")};
        const Response hello = co_await async_send(client, std::move(hello_request), asio::use_awaitable);
        body = hello.body;
        asio::steady_timer timer(co_await asio::this_coro::executor, 200ms);
        http::Request hang_request{.url = server.url("/hang")};
        auto first = co_await (async_send(client, std::move(hang_request), asio::use_awaitable) ||
                               timer.async_wait(asio::use_awaitable));
        timer_won = first.index() == 1;
      },
      asio::detached);
  io.run();
  EXPECT_EQ(body, "hello");
  EXPECT_TRUE(timer_won);
  EXPECT_TRUE(eventually([&] { return server.closed() == 1; }, 10s)) << "the losing transfer's connection is open";
}

TEST_F(AsyncSend, ASlotCancelStopsTheTransferAndCompletesWithOperationAborted) {
  asio::cancellation_signal signal;
  std::exception_ptr got;
  async_send(client, {.url = server.url("/hang")},
             asio::bind_cancellation_slot(
                 signal.slot(), asio::bind_executor(io, [&](std::exception_ptr error, Response) { got = error; })));
  ASSERT_TRUE(eventually([&] { return server.requests("/hang") == 1; }, 20s));
  signal.emit(asio::cancellation_type::terminal);
  io.run();
  ASSERT_TRUE(got);
  try {
    std::rethrow_exception(got);
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), asio::error::operation_aborted);
  }
  EXPECT_TRUE(eventually([&] { return server.closed() == 1; }, 10s));
}

TEST_F(AsyncSend, ATokenCancelCompletesWithTheTokensException) {
  CancellationToken token;
  auto future = async_send(client, {.url = server.url("/hang")}, token, asio::use_future);
  ASSERT_TRUE(eventually([&] { return server.requests("/hang") == 1; }, 20s));
  token.cancel("user left");
  try {
    (void)future.get();
    FAIL() << "no exception";
  } catch (const CancelledException& e) {
    EXPECT_STREQ(e.what(), "user left");
  }
}

TEST_F(AsyncSend, ARequestThatCannotBeSentCompletesWithInvalidArgument) {
  auto future = async_send(client, {.method = "NOT A METHOD", .url = server.url("/hello")}, asio::use_future);
  EXPECT_THROW(future.get(), std::invalid_argument);
  EXPECT_EQ(server.accepted(), 0);
}

}  // namespace
}  // namespace isolate::test
