// Tests of isolate::run_cancellable, isolate::run_delayed and isolate::as_cancellable.
//
// Ports Dart's cancellation_token package suites
// test/src/cancellables/cancellable_future_test.dart and test/src/utils/extensions_test.dart:
// CancellableFuture.from / CancellableFuture(...) map to run_cancellable, CancellableFuture.value
// to as_cancellable on a ready future, CancellableFuture.delayed to run_delayed, asCancellable to
// as_cancellable. Covered: value and error when not cancelled, the cancellation exception when
// cancelled before or after attaching, detaching from the token after a value or an error, the
// delayed computation not running when cancelled during the delay, and asCancellable over a
// CancellableCompleter's future sharing the token. Dio's CancelToken semantics are covered too:
// cancel before the work starts (it never runs), during (the future completes at once), after
// (no effect), and one token cancelling many tasks.
// C++-only: the future completes at once on cancel although fn is still running (fn is held on
// a gate, never a sleep), the exact exception_ptr, std::stop_token passed to fn, merged and
// temporary timeout tokens, and has_callbacks() false the moment a future is ready.
#include <isolate/cancellable_completer.hpp>
#include <isolate/cancellable_future.hpp>
#include <isolate/cancellation_token.hpp>
#include <isolate/errors.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sanity_bound.hpp"
#include "test_errors.hpp"
#include "timer_thread_hold.hpp"

namespace {

using namespace std::chrono_literals;
using isolate::as_cancellable;
using isolate::CancellableCompleter;
using isolate::CancellationToken;
using isolate::CancelledException;
using isolate::MergedCancellationToken;
using isolate::run_cancellable;
using isolate::run_delayed;
using isolate::TimeoutCancellationToken;
using isolate::TimeoutException;
using Clock = std::chrono::steady_clock;

using isolate::test::kSanityBound;  // only catches a hang

using isolate::test::error_of;
using isolate::test::is_ready;
using isolate::test::test_error;
using isolate::test::TestError;
using isolate::test::TimerThreadHold;

template <class T>
bool ready_within_sanity_bound(const std::future<T>& f) {
  return f.wait_for(kSanityBound) == std::future_status::ready;
}

// A one-shot gate: open() releases every wait(). Shared by pointer, so work that outlives a
// cancelled future never touches a dead test frame.
class Gate {
 public:
  void open() {
    {
      const std::lock_guard lock{mutex_};
      open_ = true;
    }
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock{mutex_};
    cv_.wait(lock, [&] { return open_; });
  }
  bool wait_for(std::chrono::nanoseconds bound) {
    std::unique_lock lock{mutex_};
    return cv_.wait_for(lock, bound, [&] { return open_; });
  }
  bool is_open() {
    const std::lock_guard lock{mutex_};
    return open_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Work that signals `started`, blocks until `release` opens, then signals `finished`.
struct BlockedWork {
  std::shared_ptr<Gate> started = std::make_shared<Gate>();
  std::shared_ptr<Gate> release = std::make_shared<Gate>();
  std::shared_ptr<Gate> finished = std::make_shared<Gate>();

  auto fn(int value) const {
    return [started = started, release = release, finished = finished, value] {
      started->open();
      release->wait();
      finished->open();
      return value;
    };
  }
  // Lets the work end and, if it started, waits until it has. (Work that has not started when
  // released either never starts or runs straight through; it only holds shared gates.)
  void finish() const {
    release->open();
    if (started->is_open()) {
      EXPECT_TRUE(finished->wait_for(kSanityBound)) << "the released work did not finish";
    }
  }
};

// Work that records whether it ran at all.
struct RecordedWork {
  std::shared_ptr<std::atomic<bool>> ran = std::make_shared<std::atomic<bool>>(false);
  auto fn(int value) const {
    return [ran = ran, value] {
      ran->store(true);
      return value;
    };
  }
};

// ---- run_cancellable (Dart CancellableFuture.from / CancellableFuture(...)) ---------------------

TEST(RunCancellable, CompletesWithFnsValueIfNotCancelled) {
  auto future = run_cancellable([] { return std::string{"Test value"}; }, CancellationToken{});
  EXPECT_EQ(future.get(), "Test value");
}

TEST(RunCancellable, CompletesWithFnsExceptionIfNotCancelled) {
  auto future = run_cancellable([]() -> int { throw TestError{"from fn"}; }, CancellationToken{});
  try {
    (void)future.get();
    ADD_FAILURE() << "get() returned";
  } catch (const TestError& e) {
    EXPECT_STREQ(e.what(), "from fn");
  }
}

TEST(RunCancellable, AlreadyCancelledTokenGivesItsExceptionAndFnNeverRuns) {
  CancellationToken token;
  token.cancel();
  const RecordedWork work;

  auto future = run_cancellable(work.fn(1), token);

  ASSERT_TRUE(is_ready(future)) << "a cancelled-before-start future must be ready at once";
  EXPECT_EQ(error_of(future), token.exception());
  EXPECT_FALSE(work.ran->load());
}

TEST(RunCancellable, CancelledWhileFnRunsCompletesAtOnceWithTheTokensException) {
  CancellationToken token;
  const BlockedWork work;
  auto future = run_cancellable(work.fn(1), token);
  ASSERT_TRUE(work.started->wait_for(kSanityBound));

  token.cancel();

  ASSERT_TRUE(is_ready(future)) << "the future was not ready when cancel() returned";
  EXPECT_FALSE(work.finished->is_open()) << "fn should still be blocked";
  EXPECT_EQ(error_of(future), token.exception());
  EXPECT_THROW(std::rethrow_exception(token.exception()), CancelledException);
  work.finish();
}

TEST(RunCancellable, ResultOfFnFinishingAfterCancelIsDropped) {
  CancellationToken token;
  const BlockedWork work;
  auto future = run_cancellable(work.fn(1), token);
  ASSERT_TRUE(work.started->wait_for(kSanityBound));
  token.cancel("cancelled mid-run");

  work.finish();

  EXPECT_EQ(error_of(future), token.exception());
}

TEST(RunCancellable, ReleasesItsRegistrationOnceTheFutureHoldsAValue) {
  const CancellationToken token;
  auto future = run_cancellable([] { return 1; }, token);
  EXPECT_EQ(future.get(), 1);
  EXPECT_FALSE(token.has_callbacks());
}

TEST(RunCancellable, ReleasesItsRegistrationOnceTheFutureHoldsAnError) {
  const CancellationToken token;
  auto future = run_cancellable([]() -> int { throw TestError{"x"}; }, token);
  EXPECT_THROW((void)future.get(), TestError);
  EXPECT_FALSE(token.has_callbacks());
}

TEST(RunCancellable, HoldsARegistrationWhileFnRuns) {
  const CancellationToken token;
  const BlockedWork work;
  auto future = run_cancellable(work.fn(3), token);
  ASSERT_TRUE(work.started->wait_for(kSanityBound));

  EXPECT_TRUE(token.has_callbacks());

  work.finish();
  EXPECT_EQ(future.get(), 3);
  EXPECT_FALSE(token.has_callbacks());
}

TEST(RunCancellable, ReleasesMergedInputsOnceTheFutureIsReady) {
  const CancellationToken a;
  const CancellationToken b;
  auto future = run_cancellable([] { return 1; }, MergedCancellationToken{{a, b}});
  EXPECT_EQ(future.get(), 1);
  EXPECT_FALSE(a.has_callbacks());
  EXPECT_FALSE(b.has_callbacks());
}

TEST(RunCancellable, CancellingAMergedInputCancelsTheTaskAndReleasesEveryInput) {
  CancellationToken a;
  const CancellationToken b;
  const BlockedWork work;
  auto future = run_cancellable(work.fn(1), MergedCancellationToken{{a, b}});
  ASSERT_TRUE(work.started->wait_for(kSanityBound));

  a.cancel(test_error());

  ASSERT_TRUE(is_ready(future));
  EXPECT_EQ(error_of(future), a.exception());
  EXPECT_FALSE(a.has_callbacks());
  EXPECT_FALSE(b.has_callbacks());
  work.finish();
}

TEST(RunCancellable, CustomCancelExceptionIsRethrownExactly) {
  CancellationToken token;
  const BlockedWork work;
  auto future = run_cancellable(work.fn(1), token);
  ASSERT_TRUE(work.started->wait_for(kSanityBound));
  const std::exception_ptr error = test_error("custom");

  token.cancel(error);

  EXPECT_EQ(error_of(future), error);
  work.finish();
}

TEST(RunCancellable, TemporaryTimeoutTokenStillFires) {
  const BlockedWork work;
  auto future = run_cancellable(work.fn(1), TimeoutCancellationToken{10ms});

  ASSERT_TRUE(ready_within_sanity_bound(future));
  EXPECT_THROW((void)future.get(), TimeoutException);
  work.finish();
}

TEST(RunCancellable, RunsFnOnAnotherThread) {
  auto future = run_cancellable([] { return std::this_thread::get_id(); }, CancellationToken{});
  EXPECT_NE(future.get(), std::this_thread::get_id());
}

TEST(RunCancellable, VoidFnGivesAVoidFuture) {
  const RecordedWork work;
  auto future = run_cancellable([ran = work.ran] { ran->store(true); }, CancellationToken{});
  static_assert(std::is_same_v<decltype(future), std::future<void>>);
  EXPECT_NO_THROW(future.get());
  EXPECT_TRUE(work.ran->load());
}

TEST(RunCancellable, CarriesAMoveOnlyResultAndAcceptsAMoveOnlyFn) {
  auto payload = std::make_unique<int>(9);
  auto future = run_cancellable([p = std::move(payload)]() mutable { return std::move(p); }, CancellationToken{});
  const std::unique_ptr<int> value = future.get();
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, 9);
}

TEST(RunCancellable, BlockedTaskDoesNotDelayAnotherTask) {
  const BlockedWork blocked;
  auto blocked_future = run_cancellable(blocked.fn(1), CancellationToken{});
  ASSERT_TRUE(blocked.started->wait_for(kSanityBound));

  auto other = run_cancellable([] { return 2; }, CancellationToken{});

  ASSERT_TRUE(ready_within_sanity_bound(other)) << "a blocked task kept another from running";
  EXPECT_EQ(other.get(), 2);
  blocked.finish();
  EXPECT_EQ(blocked_future.get(), 1);
}

// ---- Dio CancelToken semantics ------------------------------------------------------------------

TEST(RunCancellableDioSemantics, CancelBeforeStartMeansTheWorkNeverRuns) {
  CancellationToken token;
  token.cancel("before start");
  const RecordedWork work;

  auto future = run_cancellable(work.fn(1), token);

  EXPECT_THROW((void)future.get(), CancelledException);
  EXPECT_FALSE(work.ran->load());
  EXPECT_FALSE(token.has_callbacks());
}

TEST(RunCancellableDioSemantics, CancelAfterCompletionHasNoEffect) {
  CancellationToken token;
  auto future = run_cancellable([] { return 5; }, token);
  ASSERT_TRUE(ready_within_sanity_bound(future));

  EXPECT_NO_THROW(token.cancel("after"));

  EXPECT_EQ(future.get(), 5);
  EXPECT_FALSE(token.has_callbacks());
}

TEST(RunCancellableDioSemantics, OneTokenCancelsEveryTaskUsingIt) {
  CancellationToken token;
  std::vector<BlockedWork> works(3);
  std::vector<std::future<int>> futures;
  for (int i = 0; i < 3; ++i) futures.push_back(run_cancellable(works[static_cast<std::size_t>(i)].fn(i), token));
  for (const auto& work : works) ASSERT_TRUE(work.started->wait_for(kSanityBound));

  token.cancel("cancel all");

  for (auto& future : futures) {
    ASSERT_TRUE(is_ready(future));
    EXPECT_EQ(error_of(future), token.exception());
  }
  EXPECT_FALSE(token.has_callbacks());
  for (const auto& work : works) work.finish();
}

// ---- std::stop_token extension ------------------------------------------------------------------

TEST(RunCancellableStopToken, FnTakingAStopTokenSeesStopRequestedOnCancel) {
  CancellationToken token;
  auto started = std::make_shared<Gate>();
  auto saw_stop = std::make_shared<std::promise<bool>>();
  auto future = run_cancellable(
      [started, saw_stop](std::stop_token stop) {
        started->open();
        std::mutex mutex;
        std::condition_variable_any cv;
        std::unique_lock lock{mutex};
        (void)cv.wait_for(lock, stop, kSanityBound, [] { return false; });
        saw_stop->set_value(stop.stop_requested());
        return 1;
      },
      token);
  ASSERT_TRUE(started->wait_for(kSanityBound));

  token.cancel();

  EXPECT_EQ(error_of(future), token.exception());
  auto stop_seen = saw_stop->get_future();
  ASSERT_TRUE(ready_within_sanity_bound(stop_seen));
  EXPECT_TRUE(stop_seen.get()) << "fn was not asked to stop";
}

TEST(RunCancellableStopToken, FnTakingAStopTokenGetsOneNotRequestedAndItsValueIsKept) {
  auto future = run_cancellable([](std::stop_token stop) { return stop.stop_possible() && !stop.stop_requested(); },
                                CancellationToken{});
  EXPECT_TRUE(future.get());
}

TEST(RunCancellableStopToken, VoidFnTakingAStopTokenGivesAVoidFuture) {
  auto ran = std::make_shared<std::atomic<bool>>(false);
  auto future = run_cancellable([ran](std::stop_token) { ran->store(true); }, CancellationToken{});
  static_assert(std::is_same_v<decltype(future), std::future<void>>);
  future.get();
  EXPECT_TRUE(ran->load());
}

TEST(RunCancellableStopToken, FnTakingAStopTokenNeverRunsForAnAlreadyCancelledToken) {
  CancellationToken token;
  token.cancel();
  auto ran = std::make_shared<std::atomic<bool>>(false);

  auto future = run_cancellable([ran](std::stop_token) { ran->store(true); }, token);

  EXPECT_THROW(future.get(), CancelledException);
  EXPECT_FALSE(ran->load());
}

// ---- run_delayed (Dart CancellableFuture.delayed) ------------------------------------------------

TEST(RunDelayed, RunsFnNotBeforeTheDelayAndDeliversItsValue) {
  const auto delay = 30ms;
  const auto called = Clock::now();
  auto future = run_delayed(
      delay, [] { return Clock::now(); }, CancellationToken{});

  ASSERT_TRUE(ready_within_sanity_bound(future));
  EXPECT_GE(future.get() - called, delay) << "fn ran before its delay";
}

TEST(RunDelayed, DeliversFnsException) {
  auto future = run_delayed(
      1ms, []() -> int { throw TestError{"delayed"}; }, CancellationToken{});
  EXPECT_THROW((void)future.get(), TestError);
}

TEST(RunDelayed, ZeroDelayRunsFn) {
  auto future = run_delayed(
      0ns, [] { return 4; }, CancellationToken{});
  EXPECT_EQ(future.get(), 4);
}

TEST(RunDelayed, CancelDuringTheDelayCompletesAtOnceAndFnNeverRuns) {
  const auto delay = 30ms;
  TimerThreadHold hold;  // the cancel surely lands during the delay
  CancellationToken token;
  const RecordedWork work;
  auto future = run_delayed(delay, work.fn(1), token);

  token.cancel("during the delay");
  hold.release();

  ASSERT_TRUE(is_ready(future));
  EXPECT_EQ(error_of(future), token.exception());
  std::this_thread::sleep_for(delay * 5);  // well past the delay: fn must still not have run
  EXPECT_FALSE(work.ran->load());
  EXPECT_FALSE(token.has_callbacks());
}

TEST(RunDelayed, AlreadyCancelledTokenGivesItsExceptionAndFnNeverRuns) {
  CancellationToken token;
  token.cancel();
  const RecordedWork work;

  auto future = run_delayed(1ms, work.fn(1), token);

  ASSERT_TRUE(is_ready(future));
  EXPECT_EQ(error_of(future), token.exception());
  std::this_thread::sleep_for(50ms);  // past the delay: fn must still not have run
  EXPECT_FALSE(work.ran->load());
}

TEST(RunDelayed, CancelWhileFnRunsCompletesAtOnce) {
  CancellationToken token;
  const BlockedWork work;
  auto future = run_delayed(1ms, work.fn(1), token);
  ASSERT_TRUE(work.started->wait_for(kSanityBound));

  token.cancel(test_error());

  ASSERT_TRUE(is_ready(future));
  EXPECT_FALSE(work.finished->is_open());
  EXPECT_EQ(error_of(future), token.exception());
  work.finish();
}

TEST(RunDelayed, ReleasesItsRegistrationOnceTheFutureHoldsAValue) {
  const CancellationToken token;
  auto future = run_delayed(
      1ms, [] { return 1; }, token);
  EXPECT_EQ(future.get(), 1);
  EXPECT_FALSE(token.has_callbacks());
}

TEST(RunDelayed, HoldsARegistrationDuringTheDelayAndReleasesItOnCancel) {
  CancellationToken token;
  auto future = run_delayed(
      std::chrono::hours{1}, [] { return 1; }, token);
  EXPECT_TRUE(token.has_callbacks()) << "it must hold a registration during the delay";

  token.cancel();

  EXPECT_THROW((void)future.get(), CancelledException);
  EXPECT_FALSE(token.has_callbacks());
}

TEST(RunDelayed, ReleasesMergedInputsOnceTheFutureIsReady) {
  const CancellationToken a;
  const CancellationToken b;
  auto future = run_delayed(
      1ms, [] { return 1; }, MergedCancellationToken{{a, b}});
  EXPECT_EQ(future.get(), 1);
  EXPECT_FALSE(a.has_callbacks());
  EXPECT_FALSE(b.has_callbacks());
}

TEST(RunDelayed, LongDelayCancelledEarlyReleasesTheWork) {
  CancellationToken token;
  auto witness = std::make_shared<int>(0);
  auto future = run_delayed(
      std::chrono::hours{1}, [witness] { return *witness; }, token);

  token.cancel();

  EXPECT_THROW((void)future.get(), CancelledException);
  // The unscheduled work (and what it captured) must not wait an hour to be freed. Polled with a
  // sanity bound in case the release happens on the timer thread.
  const auto deadline = Clock::now() + kSanityBound;
  while (witness.use_count() > 1 && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(witness.use_count(), 1);
}

TEST(RunDelayed, FnTakingAStopTokenSeesStopRequestedOnCancel) {
  CancellationToken token;
  auto started = std::make_shared<Gate>();
  auto stopped = std::make_shared<Gate>();
  auto future = run_delayed(
      1ms,
      [started, stopped](std::stop_token stop) {
        started->open();
        std::mutex mutex;
        std::condition_variable_any cv;
        std::unique_lock lock{mutex};
        (void)cv.wait_for(lock, stop, kSanityBound, [] { return false; });
        if (stop.stop_requested()) stopped->open();
      },
      token);
  ASSERT_TRUE(started->wait_for(kSanityBound));

  token.cancel();

  EXPECT_THROW(future.get(), CancelledException);
  EXPECT_TRUE(stopped->wait_for(kSanityBound)) << "fn was not asked to stop";
}

TEST(RunDelayed, TemporaryTimeoutTokenShorterThanTheDelayMeansFnNeverRuns) {
  const RecordedWork work;
  auto future = run_delayed(std::chrono::hours{1}, work.fn(1), TimeoutCancellationToken{10ms});

  ASSERT_TRUE(ready_within_sanity_bound(future));
  EXPECT_THROW((void)future.get(), TimeoutException);
  EXPECT_FALSE(work.ran->load());
}

// ---- as_cancellable (Dart asCancellable / CancellableFuture.value) ------------------------------

TEST(AsCancellable, CompletesWithTheValueIfNotCancelled) {
  std::promise<std::string> promise;
  promise.set_value("Test value");
  auto future = as_cancellable(promise.get_future(), CancellationToken{});
  EXPECT_EQ(future.get(), "Test value");
}

TEST(AsCancellable, CompletesWithTheExceptionIfNotCancelled) {
  std::promise<std::string> promise;
  promise.set_exception(test_error());
  auto future = as_cancellable(promise.get_future(), CancellationToken{});
  EXPECT_THROW((void)future.get(), TestError);
}

TEST(AsCancellable, TokenCancelledBeforeAttachWinsOverAReadyValue) {
  CancellationToken token;
  token.cancel();
  std::promise<std::string> promise;
  promise.set_value("Test value");

  auto future = as_cancellable(promise.get_future(), token);

  ASSERT_TRUE(is_ready(future));
  EXPECT_EQ(error_of(future), token.exception());
}

TEST(AsCancellable, TokenCancelledBeforeAttachWinsOverAReadyError) {
  CancellationToken token;
  token.cancel();
  std::promise<std::string> promise;
  promise.set_exception(test_error());

  auto future = as_cancellable(promise.get_future(), token);

  EXPECT_THROW((void)future.get(), CancelledException);
}

TEST(AsCancellable, CancelledAfterAttachCompletesAtOnceWithTheTokensException) {
  CancellationToken token;
  std::promise<std::string> promise;  // never set before the cancel
  auto future = as_cancellable(promise.get_future(), token);
  EXPECT_FALSE(is_ready(future));

  token.cancel(test_error());

  ASSERT_TRUE(is_ready(future));
  EXPECT_EQ(error_of(future), token.exception());
  promise.set_value("late");  // the original work goes on and may still finish
}

TEST(AsCancellable, PendingFutureCompletedLaterFromAnotherThreadDeliversItsValue) {
  std::promise<int> promise;
  auto future = as_cancellable(promise.get_future(), CancellationToken{});
  std::thread producer([&] { promise.set_value(11); });
  EXPECT_EQ(future.get(), 11);
  producer.join();
}

TEST(AsCancellable, ReleasesItsRegistrationAfterAValue) {
  const CancellationToken token;
  std::promise<int> promise;
  auto future = as_cancellable(promise.get_future(), token);
  EXPECT_TRUE(token.has_callbacks());

  promise.set_value(1);

  EXPECT_EQ(future.get(), 1);
  EXPECT_FALSE(token.has_callbacks());
}

TEST(AsCancellable, ReleasesItsRegistrationAfterAnError) {
  const CancellationToken token;
  std::promise<int> promise;
  auto future = as_cancellable(promise.get_future(), token);

  promise.set_exception(test_error());

  EXPECT_THROW((void)future.get(), TestError);
  EXPECT_FALSE(token.has_callbacks());
}

TEST(AsCancellable, ReleasesItsRegistrationAfterAReadyValue) {
  const CancellationToken token;
  std::promise<int> promise;
  promise.set_value(2);
  auto future = as_cancellable(promise.get_future(), token);
  EXPECT_EQ(future.get(), 2);
  EXPECT_FALSE(token.has_callbacks());
}

TEST(AsCancellable, ReleasesMergedInputsOnceTheFutureIsReady) {
  const CancellationToken a;
  const CancellationToken b;
  std::promise<int> promise;
  auto future = as_cancellable(promise.get_future(), MergedCancellationToken{{a, b}});
  EXPECT_TRUE(a.has_callbacks());

  promise.set_value(1);

  EXPECT_EQ(future.get(), 1);
  EXPECT_FALSE(a.has_callbacks());
  EXPECT_FALSE(b.has_callbacks());
}

TEST(AsCancellable, FutureOfACompleterSharingTheTokenCompletesWithCancelledException) {
  CancellationToken token;
  CancellableCompleter<int> completer{token};
  auto future = as_cancellable(completer.future(), token);

  token.cancel();

  ASSERT_TRUE(ready_within_sanity_bound(future));
  EXPECT_EQ(error_of(future), token.exception());
  EXPECT_FALSE(token.has_callbacks());
}

TEST(AsCancellable, WorksForVoidFutures) {
  std::promise<void> promise;
  auto future = as_cancellable(promise.get_future(), CancellationToken{});
  promise.set_value();
  EXPECT_NO_THROW(future.get());
}

TEST(AsCancellable, CancelledVoidFutureHoldsTheTokensException) {
  CancellationToken token;
  std::promise<void> promise;
  auto future = as_cancellable(promise.get_future(), token);

  token.cancel("void");

  EXPECT_EQ(error_of(future), token.exception());
  promise.set_value();
}

TEST(AsCancellable, CancelAfterTheValueArrivedHasNoEffect) {
  CancellationToken token;
  std::promise<int> promise;
  auto future = as_cancellable(promise.get_future(), token);
  promise.set_value(3);
  ASSERT_TRUE(ready_within_sanity_bound(future));

  token.cancel();

  EXPECT_EQ(future.get(), 3);
}

TEST(AsCancellable, MovesAMoveOnlyValueThrough) {
  std::promise<std::unique_ptr<int>> promise;
  promise.set_value(std::make_unique<int>(8));
  auto future = as_cancellable(promise.get_future(), CancellationToken{});
  const std::unique_ptr<int> value = future.get();
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, 8);
}

}  // namespace
