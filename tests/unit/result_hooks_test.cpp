// Unit tests of ResultHooks on CancellableResult (what progress watches and async_run build on):
// on_claimed runs once, on the claiming thread, before the future is ready, whoever claims;
// on_ready runs once, after it is ready; neither can break the result by throwing.
#include <isolate/detail/cancellable_isolate-inl.hpp>
#include <isolate/detail/cancellable_result.hpp>

#include <gtest/gtest.h>

#include <future>
#include <stdexcept>
#include <string>
#include <vector>

namespace isolate::detail {
namespace {

using namespace std::chrono_literals;

/// Records the order of events around one result.
struct Trace {
  std::vector<std::string> events;
  std::future<int>* future = nullptr;

  ResultHooks hooks() {
    return {.on_claimed = [this] { events.push_back(ready() ? "claimed-after-ready" : "claimed"); },
            .on_ready = [this] { events.push_back(ready() ? "ready" : "ready-hook-before-ready"); }};
  }
  [[nodiscard]] bool ready() const { return future->wait_for(0s) == std::future_status::ready; }
};

TEST(ResultHooks, AProducerClaimRunsOnClaimedBeforeAndOnReadyAfterTheFutureIsReady) {
  Trace trace;
  auto result = CancellableResult<int>::create({}, trace.hooks());
  auto future = result->get_future();
  trace.future = &future;
  result->attach(CancellationToken());
  EXPECT_TRUE(result->set_value(7));
  EXPECT_EQ(trace.events, (std::vector<std::string>{"claimed", "ready"}));
  EXPECT_EQ(future.get(), 7);
}

TEST(ResultHooks, ATokenClaimRunsOnClaimedBeforeItsOnCancelAndOnReadyLast) {
  Trace trace;
  auto result = CancellableResult<int>::create([&trace] { trace.events.emplace_back("on_cancel"); }, trace.hooks());
  auto future = result->get_future();
  trace.future = &future;
  CancellationToken token;
  result->attach(token);
  token.cancel("stop");
  EXPECT_EQ(trace.events, (std::vector<std::string>{"claimed", "on_cancel", "ready"}));
  EXPECT_THROW(future.get(), CancelledException);
  EXPECT_FALSE(result->set_value(1)) << "the producer lost";
  EXPECT_EQ(trace.events.size(), 3U) << "hooks run once";
}

TEST(ResultHooks, AClaimThenFulfilRunsEachHookOnce) {
  Trace trace;
  auto result = CancellableResult<int>::create({}, trace.hooks());
  auto future = result->get_future();
  trace.future = &future;
  ASSERT_TRUE(result->claim());
  EXPECT_EQ(trace.events, (std::vector<std::string>{"claimed"}));
  result->fulfil_exception(std::make_exception_ptr(std::runtime_error("failed")));
  EXPECT_EQ(trace.events, (std::vector<std::string>{"claimed", "ready"}));
  EXPECT_THROW(future.get(), std::runtime_error);
}

TEST(ResultHooks, HooksThatThrowLeaveTheResultIntact) {
  auto result = CancellableResult<int>::create({}, {.on_claimed = [] { throw std::runtime_error("claimed hook"); },
                                                    .on_ready = [] { throw std::runtime_error("ready hook"); }});
  auto future = result->get_future();
  EXPECT_TRUE(result->set_value(3));
  EXPECT_EQ(future.get(), 3);
}

TEST(ResultHooks, AFailedFutureRunsOnReadyOnce) {
  int calls = 0;
  auto future = failed_future<int>(std::make_exception_ptr(std::logic_error("early")), {.on_ready = [&] { ++calls; }});
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(future.wait_for(0s), std::future_status::ready);
  EXPECT_THROW(future.get(), std::logic_error);
}

}  // namespace
}  // namespace isolate::detail
