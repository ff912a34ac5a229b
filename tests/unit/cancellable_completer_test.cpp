// Tests of isolate::CancellableCompleter<T> and CancellableCompleter<void>.
//
// Ports Dart's cancellation_token package suite
// test/src/cancellables/cancellable_completer_test.dart: completes with the given value or error
// when not cancelled, completes with the cancellation exception when the token was cancelled
// before or after attaching, isCancelled and isCompleted in every state; plus the onCancel
// callback of the Dart constructor (README "Cancellable Completer"). The Dart "null token" cases
// map to a fresh CancellationToken that nobody cancels. C++-only additions: the future holds the
// token's exact exception_ptr, completion after cancellation (and vice versa) has no effect,
// on_cancel runs exactly once, the registration on the token is released as soon as the
// completer ends, the void specialization, move-only values, and completion from other threads.
#include <isolate/cancellable_completer.hpp>
#include <isolate/cancellation_token.hpp>
#include <isolate/errors.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "sanity_bound.hpp"
#include "test_errors.hpp"

namespace {

using namespace std::chrono_literals;
using isolate::CancellableCompleter;
using isolate::CancellationToken;
using isolate::CancelledException;
using isolate::MergedCancellationToken;
using isolate::TimeoutCancellationToken;
using isolate::TimeoutException;

using isolate::test::kSanityBound;  // only catches a hang

using isolate::test::error_of;
using isolate::test::is_ready;
using isolate::test::test_error;
using isolate::test::TestError;

// ---- ported from the Dart suite -----------------------------------------------------------------

TEST(CancellableCompleter, CompletesWithTheGivenValueIfNotCancelled) {
  CancellableCompleter<std::string> completer{CancellationToken{}};
  auto future = completer.future();

  completer.complete("Test value");

  EXPECT_EQ(future.get(), "Test value");
}

TEST(CancellableCompleter, CompletesWithTheGivenErrorIfNotCancelled) {
  CancellableCompleter<std::string> completer{CancellationToken{}};
  auto future = completer.future();

  completer.complete_error(test_error());

  EXPECT_THROW(future.get(), TestError);
}

TEST(CancellableCompleter, CompletesWithCancelledExceptionWhenCancelledBeforeConstruction) {
  CancellationToken token;
  token.cancel();
  CancellableCompleter<std::string> completer{token};
  auto future = completer.future();

  ASSERT_TRUE(is_ready(future));
  EXPECT_THROW(future.get(), CancelledException);
}

TEST(CancellableCompleter, CompletesWithCancelledExceptionWhenCancelledAfterConstruction) {
  CancellationToken token;
  CancellableCompleter<std::string> completer{token};
  auto future = completer.future();

  token.cancel();

  ASSERT_TRUE(is_ready(future)) << "the future was not ready when cancel() returned";
  EXPECT_THROW(future.get(), CancelledException);
}

TEST(CancellableCompleter, IsCancelledWhenTheTokenWasAlreadyCancelled) {
  CancellationToken token;
  token.cancel();
  CancellableCompleter<std::string> completer{token};

  EXPECT_TRUE(completer.is_cancelled());
  auto future = completer.future();
  EXPECT_THROW(future.get(), CancelledException);
}

TEST(CancellableCompleter, IsNotCancelledWhileTheTokenIsNot) {
  const CancellableCompleter<std::string> completer{CancellationToken{}};
  EXPECT_FALSE(completer.is_cancelled());
}

TEST(CancellableCompleter, IsCompletedAfterCompletingWithAValue) {
  CancellableCompleter<std::string> completer{CancellationToken{}};
  completer.complete("Test value");
  EXPECT_TRUE(completer.is_completed());
  EXPECT_FALSE(completer.is_cancelled());
}

TEST(CancellableCompleter, IsCompletedAfterCompletingWithAnError) {
  CancellableCompleter<std::string> completer{CancellationToken{}};
  completer.complete_error(test_error());
  EXPECT_TRUE(completer.is_completed());
  EXPECT_FALSE(completer.is_cancelled());
  auto future = completer.future();
  EXPECT_THROW(future.get(), TestError);
}

TEST(CancellableCompleter, IsCompletedWhenCancelled) {
  CancellationToken token;
  token.cancel();
  CancellableCompleter<std::string> completer{token};
  EXPECT_TRUE(completer.is_completed());
  auto future = completer.future();
  EXPECT_THROW(future.get(), CancelledException);
}

TEST(CancellableCompleter, IsNotCompletedBeforeAnything) {
  const CancellableCompleter<std::string> completer{CancellationToken{}};
  EXPECT_FALSE(completer.is_completed());
}

TEST(CancellableCompleter, OnCancelRunsWhenTheTokenIsCancelled) {
  CancellationToken token;
  int on_cancel_runs = 0;
  CancellableCompleter<int> completer{token, [&] { ++on_cancel_runs; }};

  token.cancel();

  EXPECT_EQ(on_cancel_runs, 1);
}

// ---- C++-only contract --------------------------------------------------------------------------

TEST(CancellableCompleter, CancelledFutureHoldsTheTokensExactException) {
  CancellationToken token;
  CancellableCompleter<int> completer{token};
  auto future = completer.future();

  token.cancel(test_error());

  EXPECT_EQ(error_of(future), token.exception());
}

TEST(CancellableCompleter, CompleterOnAnAlreadyCancelledTokenHoldsItsExactException) {
  CancellationToken token;
  token.cancel("early");
  CancellableCompleter<int> completer{token};
  auto future = completer.future();
  EXPECT_EQ(error_of(future), token.exception());
}

TEST(CancellableCompleter, OnCancelRunsOnceWhenTheTokenIsCancelledTwice) {
  CancellationToken token;
  int on_cancel_runs = 0;
  CancellableCompleter<int> completer{token, [&] { ++on_cancel_runs; }};

  token.cancel();
  token.cancel();

  EXPECT_EQ(on_cancel_runs, 1);
}

TEST(CancellableCompleter, OnCancelRunsOnceWhenTheTokenWasAlreadyCancelled) {
  CancellationToken token;
  token.cancel();
  int on_cancel_runs = 0;

  CancellableCompleter<int> completer{token, [&] { ++on_cancel_runs; }};
  token.cancel();

  EXPECT_EQ(on_cancel_runs, 1);
}

TEST(CancellableCompleter, OnCancelDoesNotRunAfterCompletion) {
  CancellationToken token;
  int on_cancel_runs = 0;
  CancellableCompleter<int> completer{token, [&] { ++on_cancel_runs; }};
  auto future = completer.future();

  completer.complete(7);
  token.cancel();

  EXPECT_EQ(on_cancel_runs, 0);
  EXPECT_FALSE(completer.is_cancelled()) << "is_cancelled() means ended by the token";
  EXPECT_EQ(future.get(), 7);
}

TEST(CancellableCompleter, OnCancelDoesNotRunAfterCompleteError) {
  CancellationToken token;
  int on_cancel_runs = 0;
  CancellableCompleter<int> completer{token, [&] { ++on_cancel_runs; }};
  auto future = completer.future();

  completer.complete_error(test_error());
  token.cancel();

  EXPECT_EQ(on_cancel_runs, 0);
  EXPECT_FALSE(completer.is_cancelled());
  EXPECT_THROW(future.get(), TestError);
}

TEST(CancellableCompleter, CompleteAfterCancelHasNoEffect) {
  CancellationToken token;
  CancellableCompleter<int> completer{token};
  auto future = completer.future();
  token.cancel();

  EXPECT_NO_THROW(completer.complete(1));

  EXPECT_TRUE(completer.is_cancelled());
  EXPECT_EQ(error_of(future), token.exception());
}

TEST(CancellableCompleter, CompleteErrorAfterCancelHasNoEffect) {
  CancellationToken token;
  CancellableCompleter<int> completer{token};
  auto future = completer.future();
  token.cancel();

  EXPECT_NO_THROW(completer.complete_error(test_error()));

  EXPECT_TRUE(completer.is_cancelled());
  EXPECT_EQ(error_of(future), token.exception());
}

TEST(CancellableCompleter, SecondCompleteHasNoEffect) {
  CancellableCompleter<int> completer{CancellationToken{}};
  auto future = completer.future();

  completer.complete(1);
  EXPECT_NO_THROW(completer.complete(2));
  EXPECT_NO_THROW(completer.complete_error(test_error()));

  EXPECT_EQ(future.get(), 1);
}

TEST(CancellableCompleter, CompleteAfterCompleteErrorHasNoEffect) {
  CancellableCompleter<int> completer{CancellationToken{}};
  auto future = completer.future();
  const std::exception_ptr error = test_error();

  completer.complete_error(error);
  EXPECT_NO_THROW(completer.complete(2));

  EXPECT_EQ(error_of(future), error);
}

TEST(CancellableCompleter, HoldsARegistrationOnItsTokenWhileWaiting) {
  const CancellationToken token;
  const CancellableCompleter<int> completer{token};
  EXPECT_TRUE(token.has_callbacks());
}

TEST(CancellableCompleter, ReleasesItsRegistrationWhenCompleted) {
  const CancellationToken token;
  CancellableCompleter<int> completer{token};
  completer.complete(1);
  EXPECT_FALSE(token.has_callbacks());
}

TEST(CancellableCompleter, ReleasesItsRegistrationWhenCompletedWithAnError) {
  const CancellationToken token;
  CancellableCompleter<int> completer{token};
  completer.complete_error(test_error());
  EXPECT_FALSE(token.has_callbacks());
}

TEST(CancellableCompleter, ReleasesItsRegistrationWhenDestroyed) {
  const CancellationToken token;
  { const CancellableCompleter<int> completer{token}; }
  EXPECT_FALSE(token.has_callbacks());
}

TEST(CancellableCompleter, ReleasesMergedInputsWhenCompleted) {
  const CancellationToken a;
  const CancellationToken b;
  CancellableCompleter<int> completer{MergedCancellationToken{{a, b}}};
  EXPECT_TRUE(a.has_callbacks());

  completer.complete(1);

  EXPECT_FALSE(a.has_callbacks());
  EXPECT_FALSE(b.has_callbacks());
}

TEST(CancellableCompleter, IsCancelledThroughAMergedTokensInput) {
  CancellationToken input;
  CancellableCompleter<int> completer{MergedCancellationToken{{CancellationToken{}, input}}};
  auto future = completer.future();

  input.cancel(test_error());

  EXPECT_TRUE(completer.is_cancelled());
  EXPECT_EQ(error_of(future), input.exception());
  EXPECT_FALSE(input.has_callbacks());
}

TEST(CancellableCompleter, TemporaryTimeoutTokenStillCancelsIt) {
  CancellableCompleter<int> completer{TimeoutCancellationToken{10ms}};
  auto future = completer.future();

  ASSERT_EQ(future.wait_for(kSanityBound), std::future_status::ready);
  EXPECT_THROW(future.get(), TimeoutException);
  EXPECT_TRUE(completer.is_cancelled());
}

TEST(CancellableCompleter, CompleteFromAnotherThreadWakesTheWaiter) {
  CancellableCompleter<int> completer{CancellationToken{}};
  auto future = completer.future();

  std::thread producer([&] { completer.complete(42); });
  const int value = future.get();
  producer.join();

  EXPECT_EQ(value, 42);
}

TEST(CancellableCompleter, CancelFromAnotherThreadWakesTheWaiterAndRunsOnCancelThere) {
  const CancellationToken token;
  std::thread::id on_cancel_thread;
  CancellableCompleter<int> completer{token, [&] { on_cancel_thread = std::this_thread::get_id(); }};
  auto future = completer.future();

  std::thread canceller([handle = token]() mutable { handle.cancel(); });
  const std::thread::id canceller_id = canceller.get_id();
  EXPECT_THROW(future.get(), CancelledException);
  canceller.join();

  EXPECT_EQ(on_cancel_thread, canceller_id);
}

TEST(CancellableCompleter, SecondCallToFutureThrowsFutureAlreadyRetrieved) {
  CancellableCompleter<int> completer{CancellationToken{}};
  auto future = completer.future();
  try {
    (void)completer.future();
    ADD_FAILURE() << "a second future() did not throw";
  } catch (const std::future_error& e) {
    EXPECT_EQ(e.code(), std::make_error_code(std::future_errc::future_already_retrieved));
  }
}

TEST(CancellableCompleter, DestroyedWithoutCompletingLeavesABrokenPromise) {
  std::future<int> future;
  {
    CancellableCompleter<int> completer{CancellationToken{}};
    future = completer.future();
  }
  try {
    (void)future.get();
    ADD_FAILURE() << "get() returned";
  } catch (const std::future_error& e) {
    EXPECT_EQ(e.code(), std::make_error_code(std::future_errc::broken_promise));
  }
}

TEST(CancellableCompleter, CompleteErrorWithANullExceptionPtrThrowsInvalidArgument) {
  CancellableCompleter<int> completer{CancellationToken{}};
  EXPECT_THROW(completer.complete_error(std::exception_ptr{}), std::invalid_argument);
  EXPECT_FALSE(completer.is_completed());
}

TEST(CancellableCompleter, CarriesMoveOnlyValues) {
  CancellableCompleter<std::unique_ptr<int>> completer{CancellationToken{}};
  auto future = completer.future();

  completer.complete(std::make_unique<int>(5));

  const std::unique_ptr<int> value = future.get();
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, 5);
}

TEST(CancellableCompleter, DroppedValueOfACancelledCompleterIsDestroyed) {
  CancellationToken token;
  CancellableCompleter<std::shared_ptr<int>> completer{token};
  token.cancel();
  auto value = std::make_shared<int>(1);

  completer.complete(value);

  EXPECT_EQ(value.use_count(), 1) << "the completer kept a value it must ignore";
}

TEST(CancellableCompleterVoid, CompletesWithoutAValue) {
  CancellableCompleter<void> completer{CancellationToken{}};
  auto future = completer.future();

  completer.complete();

  EXPECT_TRUE(completer.is_completed());
  EXPECT_NO_THROW(future.get());
}

TEST(CancellableCompleterVoid, CompletesWithTheGivenError) {
  CancellableCompleter<void> completer{CancellationToken{}};
  auto future = completer.future();

  completer.complete_error(test_error());

  EXPECT_THROW(future.get(), TestError);
}

TEST(CancellableCompleterVoid, CancelledFutureHoldsTheTokensExactException) {
  CancellationToken token;
  int on_cancel_runs = 0;
  CancellableCompleter<void> completer{token, [&] { ++on_cancel_runs; }};
  auto future = completer.future();

  token.cancel("void cancelled");

  EXPECT_TRUE(completer.is_cancelled());
  EXPECT_TRUE(completer.is_completed());
  EXPECT_EQ(on_cancel_runs, 1);
  EXPECT_EQ(error_of(future), token.exception());
}

TEST(CancellableCompleterVoid, CompleteAfterCancelHasNoEffect) {
  CancellationToken token;
  CancellableCompleter<void> completer{token};
  auto future = completer.future();
  token.cancel();

  EXPECT_NO_THROW(completer.complete());

  EXPECT_THROW(future.get(), CancelledException);
}

TEST(CancellableCompleterVoid, ReleasesItsRegistrationWhenCompleted) {
  const CancellationToken token;
  CancellableCompleter<void> completer{token};
  EXPECT_TRUE(token.has_callbacks());
  completer.complete();
  EXPECT_FALSE(token.has_callbacks());
}

}  // namespace
