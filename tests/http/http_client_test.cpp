// isolate::http::Client against a real server on 127.0.0.1 (FaultServer): what reaches the
// server, what comes back, and — checked on the server's side — that a cancelled request's
// connection is closed and never reused, and that a pre-cancelled one never arrives.
#include <gtest/gtest.h>
#include <isolate/http.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fault_server.hpp"
#include "free_port.hpp"
#include "process_helpers.hpp"

namespace isolate::test {
namespace {

using namespace std::chrono_literals;
using http::Client;
using http::HttpError;
using http::Request;
using http::Response;

/// The message of what `future` throws, which must be of type E.
template <class E, class T>
std::string failure_of(std::future<T>& future) {
  try {
    future.get();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception: ") + e.what();
  }
  return "no exception";
}

class HttpClient : public ::testing::Test {
 protected:
  FaultServer server;
  Client client;
};

TEST_F(HttpClient, GetReturnsStatusHeadersAndBody) {
  const Response response = client.get(server.url("/hello")).get();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "hello");
  EXPECT_EQ(response.header("CONTENT-type"), "text/plain");
  EXPECT_EQ(response.header("content-length"), "5");
  EXPECT_EQ(response.header("x-not-there"), std::nullopt);
}

TEST_F(HttpClient, AnyStatusIsAResponse) {
  EXPECT_EQ(client.get(server.url("/status/404")).get().status, 404);
  const Response failed = client.get(server.url("/status/500")).get();
  EXPECT_EQ(failed.status, 500);
  EXPECT_EQ(failed.body, "status 500");
}

TEST_F(HttpClient, MethodsHeadersAndBodiesReachTheServer) {
  for (const std::string method : {"POST", "PUT", "DELETE", "PATCH"}) {
    const Response response = client
                                  .send({.method = method,
                                         .url = server.url("/echo"),
                                         .headers = {{"X-Test", "one two"}, {"X-Empty", ""}},
                                         .body = "payload of " + method})
                                  .get();
    ASSERT_EQ(response.status, 200) << method;
    const auto echo = nlohmann::json::parse(response.body);
    EXPECT_EQ(echo["method"], method);
    EXPECT_EQ(echo["body"], "payload of " + method);
    EXPECT_EQ(echo["headers"]["x-test"], "one two");
    EXPECT_EQ(echo["headers"]["x-empty"], "");
    EXPECT_FALSE(echo["headers"].contains("expect")) << "no 100-continue round trip";
  }
  const auto get = nlohmann::json::parse(client.get(server.url("/echo")).get().body);
  EXPECT_EQ(get["method"], "GET");
  EXPECT_EQ(get["body"], "");
}

TEST_F(HttpClient, HeadGetsTheHeadersAndNoBody) {
  const Response response = client.send({.method = "HEAD", .url = server.url("/bytes/1000")}).get();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Length"), "1000");
  EXPECT_EQ(response.body, "");
}

TEST_F(HttpClient, RedirectsAreFollowed) {
  const Response response = client.get(server.url("/redirect/3")).get();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "landed");
  EXPECT_EQ(server.requests("/redirect/0"), 1);
  EXPECT_FALSE(response.header("Location")) << "the headers are the last response's";
}

TEST_F(HttpClient, ARedirectLoopIsAnHttpErrorNamingTheUrl) {
  auto future = client.get(server.url("/loop"));
  const std::string what = failure_of<HttpError>(future);
  EXPECT_NE(what.find("redirect"), std::string::npos) << what;
  EXPECT_NE(what.find(server.url("/loop")), std::string::npos) << what;
}

TEST_F(HttpClient, ConnectionsAreReused) {
  for (int i = 0; i < 5; ++i) ASSERT_EQ(client.get(server.url("/hello")).get().body, "hello");
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(HttpClient, APreCancelledRequestMakesNoConnection) {
  CancellationToken token;
  token.cancel("user left");
  auto future = client.get(server.url("/hello"), token);
  EXPECT_EQ(failure_of<CancelledException>(future), "user left");
  // A request that was sent would have arrived by the time this one is answered.
  ASSERT_EQ(client.get(server.url("/echo")).get().status, 200);
  EXPECT_EQ(server.requests("/hello"), 0);
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(HttpClient, CancellingATransferClosesItsConnectionAndNeverReusesIt) {
  CancellationToken token;
  std::atomic<bool> receiving{false};
  auto future = client.send(
      {.url = server.url("/drip"), .on_receive_progress = [&](const Progress& p) { receiving = p.done > 0; }}, token);
  ASSERT_TRUE(eventually([&] { return receiving.load(); }, 20s)) << "the body never started";
  token.cancel("user left");
  EXPECT_EQ(failure_of<CancelledException>(future), "user left");
  EXPECT_TRUE(eventually([&] { return server.closed() == 1; }, 10s)) << "the server still sees the connection";
  ASSERT_EQ(client.get(server.url("/hello")).get().body, "hello");
  EXPECT_EQ(server.accepted(), 2) << "the cancelled transfer's connection was reused";
}

TEST_F(HttpClient, CancellingWhileWaitingForTheAnswerClosesTheConnection) {
  CancellationToken token;
  auto future = client.get(server.url("/hang"), token);
  ASSERT_TRUE(eventually([&] { return server.requests("/hang") == 1; }, 20s));
  token.cancel(std::make_exception_ptr(std::runtime_error("the caller's own exception")));
  EXPECT_EQ(failure_of<std::runtime_error>(future), "the caller's own exception");
  EXPECT_TRUE(eventually([&] { return server.closed() == 1; }, 10s));
}

TEST_F(HttpClient, ATimeoutTokenIsTheRequestTimeout) {
  auto future = client.get(server.url("/hang"), TimeoutCancellationToken(200ms));
  const std::string what = failure_of<TimeoutException>(future);
  EXPECT_NE(what.find("timed out"), std::string::npos) << what;
  EXPECT_TRUE(eventually([&] { return server.closed() == 1; }, 10s));
}

TEST_F(HttpClient, ABodyOverMaxBodyBytesIsAnHttpError) {
  auto declared = client.send({.url = server.url("/bytes/100000"), .max_body_bytes = 1000});
  EXPECT_NE(failure_of<HttpError>(declared).find("larger than max_body_bytes (1000)"), std::string::npos);
  EXPECT_EQ(client.send({.url = server.url("/bytes/1000"), .max_body_bytes = 1000}).get().body.size(), 1000u);
}

TEST_F(HttpClient, AnEndlessBodyStopsAsSoonAsItPassesMaxBodyBytes) {
  auto future = client.send({.url = server.url("/stream"), .max_body_bytes = 1 << 20});
  EXPECT_NE(failure_of<HttpError>(future).find("larger than max_body_bytes"), std::string::npos);
  EXPECT_TRUE(eventually([&] { return server.closed() == 1; }, 10s));
}

TEST_F(HttpClient, TransportFailuresAreHttpErrorsWithCurlsMessageAndTheUrl) {
  const std::string refused = "http://127.0.0.1:" + std::to_string(free_port()) + "/";  // nothing listens
  auto future = client.get(refused);
  std::string what = failure_of<HttpError>(future);
  EXPECT_NE(what.find("onnect"), std::string::npos) << what;
  EXPECT_NE(what.find(refused), std::string::npos) << what;

  auto reset = client.get(server.url("/reset"));
  what = failure_of<HttpError>(reset);
  EXPECT_NE(what.find(server.url("/reset")), std::string::npos) << what;

  auto unresolvable = client.get("http://no-such-host.invalid/");
  what = failure_of<HttpError>(unresolvable);
  EXPECT_NE(what.find("resolve"), std::string::npos) << what;
}

TEST_F(HttpClient, OnlyHttpAndHttpsAreFetched) {
  for (const std::string url : {"file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1/"}) {
    auto future = client.get(url);
    const std::string what = failure_of<HttpError>(future);
    EXPECT_NE(what.find(url), std::string::npos) << what;
  }
}

TEST_F(HttpClient, ARequestThatCannotBeSentAsGivenIsInvalidArgument) {
  EXPECT_THROW((void)client.get(""), std::invalid_argument);
  EXPECT_THROW((void)client.send({.method = "GE T", .url = server.url("/hello")}), std::invalid_argument);
  EXPECT_THROW((void)client.send({.method = "", .url = server.url("/hello")}), std::invalid_argument);
  EXPECT_THROW((void)client.send({.url = server.url("/hello"), .headers = {{"Bad Name", "x"}}}), std::invalid_argument);
  EXPECT_THROW((void)client.send({.url = server.url("/hello"), .headers = {{"X-Injected", "a\r\nEvil: 1"}}}),
               std::invalid_argument);
  EXPECT_THROW((void)client.get(server.url("/hello\r\nEvil: 1")), std::invalid_argument);
  EXPECT_EQ(server.accepted(), 0);
}

TEST(HttpClientLifetime, DestroyingTheClientFailsWhatIsInFlightAndClosesItsConnections) {
  FaultServer server;
  std::future<Response> hanging;
  {
    Client client;
    hanging = client.get(server.url("/hang"));
    ASSERT_TRUE(eventually([&] { return server.requests("/hang") == 1; }, 20s));
  }
  EXPECT_EQ(failure_of<CancelledException>(hanging), "client destroyed");
  EXPECT_TRUE(eventually([&] { return server.closed() == 1; }, 10s));
}

TEST_F(HttpClient, ReceiveProgressReportsTheContentLengthAndNeverGoesBack) {
  CancellationToken token;
  std::atomic<bool> after_ready{false};
  std::atomic<bool> went_back{false};
  std::atomic<std::uint64_t> last{0}, total{0};
  std::atomic<int> calls{0};
  auto future = client.send({.url = server.url("/drip"),
                             .on_receive_progress =
                                 [&](const Progress& p) {
                                   if (after_ready) went_back = true;  // "after the future is ready"
                                   if (p.done < last) went_back = true;
                                   last = p.done;
                                   total = p.total;
                                   ++calls;
                                 }},
                            token);
  ASSERT_TRUE(eventually([&] { return calls >= 3 && last > 0; }, 20s));
  token.cancel();
  EXPECT_THROW(future.get(), CancelledException);
  after_ready = true;
  std::this_thread::sleep_for(100ms);  // a late report would land here
  EXPECT_FALSE(went_back);
  EXPECT_EQ(total, 1'000'000'000u);
}

TEST_F(HttpClient, SendProgressReportsTheBodySent) {
  const std::string body(900'000, 'b');
  std::atomic<std::uint64_t> done{0}, total{0};
  auto future = client.send({.method = "POST",
                             .url = server.url("/hang"),
                             .body = body,
                             .on_send_progress =
                                 [&](const Progress& p) {
                                   total = p.total;  // before done: once done is seen, so is its total
                                   done = p.done;
                                 }},
                            TimeoutCancellationToken(60s));
  EXPECT_TRUE(eventually([&] { return done == body.size(); }, 20s)) << done << " of " << total;
  EXPECT_EQ(total, body.size());
}

TEST_F(HttpClient, AProgressCallbackThatThrowsEndsItsRequestWithItsException) {
  auto future = client.send({.url = server.url("/drip"), .on_receive_progress = [](const Progress& p) {
                               if (p.done > 0) throw std::runtime_error("seen enough");
                             }});
  EXPECT_EQ(failure_of<std::runtime_error>(future), "seen enough");
  EXPECT_TRUE(eventually([&] { return server.closed() == 1; }, 10s));
}

TEST_F(HttpClient, OnBodyReceivesTheBodyInChunksInsteadOfTheResponse) {
  std::string streamed;
  int chunks = 0;
  const Response response = client
                                .send({.url = server.url("/bytes/1000000"),
                                       .on_body =
                                           [&](std::string_view chunk) {
                                             streamed += chunk;
                                             ++chunks;
                                           }})
                                .get();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "");
  EXPECT_EQ(streamed, std::string(1000000, 'x'));
  EXPECT_GT(chunks, 1);
}

TEST_F(HttpClient, OnBodyStillStopsAtMaxBodyBytes) {
  std::size_t streamed = 0;
  auto future =
      client.send({.url = server.url("/stream"), .max_body_bytes = 1 << 20, .on_body = [&](std::string_view chunk) {
                     streamed += chunk.size();
                   }});
  EXPECT_NE(failure_of<HttpError>(future).find("larger than max_body_bytes"), std::string::npos);
  EXPECT_LE(streamed, std::size_t{1} << 20);
  EXPECT_TRUE(eventually([&] { return server.closed() == 1; }, 10s));
}

TEST_F(HttpClient, AnOnBodyThatThrowsEndsTheRequestWithItsExceptionAndClosesTheConnection) {
  auto future = client.send(
      {.url = server.url("/drip"), .on_body = [](std::string_view) { throw std::runtime_error("disk full"); }});
  EXPECT_EQ(failure_of<std::runtime_error>(future), "disk full");
  EXPECT_TRUE(eventually([&] { return server.closed() == 1; }, 10s));
}

TEST_F(HttpClient, AnOnBodyThatCancelsItsOwnTokenEndsTheRequestWithTheTokensException) {
  CancellationToken token;
  auto future = client.send({.url = server.url("/drip"),
                             .on_body = [token](std::string_view) mutable { token.cancel("seen the first chunk"); }},
                            token);
  EXPECT_EQ(failure_of<CancelledException>(future), "seen the first chunk");
  EXPECT_TRUE(eventually([&] { return server.closed() == 1; }, 10s));
  EXPECT_EQ(client.get(server.url("/hello")).get().body, "hello") << "the client goes on";
}

TEST_F(HttpClient, ManyThreadsShareOneClient) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        CancellationToken token;
        auto hello = client.get(server.url("/hello"));
        auto bytes = client.get(server.url("/bytes/100000"));
        auto hang = client.get(server.url("/hang"), token);
        if ((i + t) % 2 == 0) token.cancel();
        if (hello.get().body == "hello" && bytes.get().body.size() == 100000) ++ok;
        token.cancel();
        EXPECT_THROW(hang.get(), CancelledException);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok, 100);
}

}  // namespace
}  // namespace isolate::test
