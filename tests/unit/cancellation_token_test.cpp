// Tests of isolate::CancellationToken and isolate::CancellationCallback. The contract of a token
// cancelled by hand runs as one typed suite (TokenContract) over all three kinds: plain, timeout
// and merged; what only one kind does is in its own file.
//
// Ports Dart's cancellation_token package suite test/src/tokens/cancellation_token_test.dart
// (attached cancellables are cancelled with the token's exception, only once, not after detaching;
// isCancelled; the exception getter), with Dart's attach/detach mapped to on_cancel()/reset(),
// and Dio's CancelToken basics (cancelling a token nobody uses is harmless; one cancel reaches
// every user). The rest is the C++ contract, modelled on std::stop_callback and folly's
// CancellationToken: callbacks run exactly once on the cancelling thread, inline when registered
// late, a registration may reset itself, its destructor waits for a callback running elsewhere,
// a throwing callback does not stop the others, and the std::stop_token interop.
#include <isolate/cancellation_token.hpp>
#include <isolate/detail/cancellable_result.hpp>
#include <isolate/errors.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <typeinfo>
#include <utility>
#include <vector>

#include "test_errors.hpp"

namespace {

using namespace std::chrono_literals;
using isolate::CancellationCallback;
using isolate::CancellationToken;
using isolate::CancelledException;

// A custom exception type to cancel with (the Dart suite's `Exception('Test exception')`).
using isolate::test::cancelled_reason;
using isolate::test::test_error;
using isolate::test::TestError;

// Runs fn and returns what it threw (null if it returned).
template <class Fn>
std::exception_ptr thrown_by(Fn&& fn) {
  try {
    std::forward<Fn>(fn)();
  } catch (...) {
    return std::current_exception();
  }
  return nullptr;
}

// ---- the contract every kind of token keeps ---------------------------------------------------
//
// The tests below run for a plain CancellationToken, a TimeoutCancellationToken whose clock will not
// run out during the test (an hour), and a MergedCancellationToken of two inputs: cancelled by hand,
// each must behave exactly as a plain token does. (What only one kind does is tested in its own file.)

/// How each kind is made.
struct PlainToken {
  static CancellationToken make() { return CancellationToken(); }
};
struct TimeoutToken {
  static CancellationToken make() { return isolate::TimeoutCancellationToken(std::chrono::hours(1)); }
};
struct MergedToken {
  static CancellationToken make() {
    return isolate::MergedCancellationToken({CancellationToken(), CancellationToken()});
  }
};

template <class Kind>
class TokenContract : public ::testing::Test {};
using TokenKinds = ::testing::Types<PlainToken, TimeoutToken, MergedToken>;
TYPED_TEST_SUITE(TokenContract, TokenKinds);

// ---- ported from the Dart suite -----------------------------------------------------------------

TYPED_TEST(TokenContract, CancelRunsEveryRegisteredCallbackWithTheTokensException) {
  CancellationToken token = TypeParam::make();
  const std::exception_ptr error = test_error();
  std::exception_ptr seen_by_a;
  std::exception_ptr seen_by_b;
  auto a = token.on_cancel([&](std::exception_ptr e) { seen_by_a = std::move(e); });
  auto b = token.on_cancel([&](std::exception_ptr e) { seen_by_b = std::move(e); });

  token.cancel(error);

  EXPECT_EQ(seen_by_a, error);
  EXPECT_EQ(seen_by_b, error);
}

TYPED_TEST(TokenContract, CallbackRunsOnlyOnceWhenCancelledTwice) {
  CancellationToken token = TypeParam::make();
  int runs = 0;
  auto registration = token.on_cancel([&](std::exception_ptr) { ++runs; });

  token.cancel();
  token.cancel();

  EXPECT_EQ(runs, 1);
}

TYPED_TEST(TokenContract, ResetRegistrationIsNotRun) {
  CancellationToken token = TypeParam::make();
  bool ran = false;
  auto registration = token.on_cancel([&](std::exception_ptr) { ran = true; });

  registration.reset();
  token.cancel();

  EXPECT_FALSE(ran);
}

TYPED_TEST(TokenContract, DestroyedRegistrationIsNotRun) {
  CancellationToken token = TypeParam::make();
  bool ran = false;
  {
    auto registration = token.on_cancel([&](std::exception_ptr) { ran = true; });
  }

  token.cancel();

  EXPECT_FALSE(ran);
}

TYPED_TEST(TokenContract, IsCancelledBecomesTrueOnCancelWithoutCallbacks) {
  CancellationToken token = TypeParam::make();
  EXPECT_FALSE(token.is_cancelled());

  token.cancel();

  EXPECT_TRUE(token.is_cancelled());
}

TYPED_TEST(TokenContract, IsCancelledBecomesTrueOnCancelWithCallbacks) {
  CancellationToken token = TypeParam::make();
  auto registration = token.on_cancel([](std::exception_ptr) {});
  EXPECT_FALSE(token.is_cancelled());

  token.cancel();

  EXPECT_TRUE(token.is_cancelled());
}

TYPED_TEST(TokenContract, ExceptionIsCancelledExceptionWhenCancelledWithoutArguments) {
  CancellationToken token = TypeParam::make();
  token.cancel();

  EXPECT_EQ(cancelled_reason(token.exception()), "cancelled");
  try {
    std::rethrow_exception(token.exception());
  } catch (const CancelledException& e) {
    EXPECT_EQ(typeid(e), typeid(CancelledException)) << "a cancel by hand is never a TimeoutException";
  }
}

TYPED_TEST(TokenContract, ExceptionIsTheCustomExceptionItWasCancelledWith) {
  CancellationToken token = TypeParam::make();
  const std::exception_ptr error = test_error();

  token.cancel(error);

  EXPECT_EQ(token.exception(), error);
  EXPECT_THROW(std::rethrow_exception(token.exception()), TestError);
}

TYPED_TEST(TokenContract, ExceptionIsTheSameExceptionPtrEveryTime) {
  CancellationToken token = TypeParam::make();
  token.cancel();

  const std::exception_ptr first = token.exception();
  EXPECT_EQ(token.exception(), first);
  EXPECT_EQ(token.exception(), first);
}

// ---- Dio's CancelToken basics --------------------------------------------------------------------

TYPED_TEST(TokenContract, CancellingATokenNobodyUsesDoesNotThrow) {
  CancellationToken token = TypeParam::make();
  EXPECT_NO_THROW(token.cancel("unused"));
  EXPECT_TRUE(token.is_cancelled());
}

TYPED_TEST(TokenContract, CancelWithReasonGivesCancelledExceptionWithThatReason) {
  CancellationToken token = TypeParam::make();
  std::exception_ptr seen;
  auto registration = token.on_cancel([&](std::exception_ptr e) { seen = std::move(e); });

  token.cancel("user left the page");

  EXPECT_EQ(cancelled_reason(token.exception()), "user left the page");
  EXPECT_EQ(seen, token.exception());
}

// ---- the C++ contract: state and exceptions ----------------------------------------------------

TYPED_TEST(TokenContract, NewTokenIsNotCancelledAndHasNoException) {
  const CancellationToken token = TypeParam::make();
  EXPECT_FALSE(token.is_cancelled());
  EXPECT_EQ(token.exception(), nullptr);
  EXPECT_FALSE(token.has_callbacks());
  EXPECT_NO_THROW(token.throw_if_cancelled());
}

TYPED_TEST(TokenContract, CancelWithNullExceptionPtrThrowsInvalidArgumentAndLeavesTheTokenAlone) {
  CancellationToken token = TypeParam::make();
  int runs = 0;
  auto registration = token.on_cancel([&](std::exception_ptr) { ++runs; });

  EXPECT_THROW(token.cancel(std::exception_ptr{}), std::invalid_argument);

  EXPECT_FALSE(token.is_cancelled());
  EXPECT_EQ(token.exception(), nullptr);
  EXPECT_EQ(runs, 0);
  EXPECT_TRUE(token.has_callbacks());
}

TYPED_TEST(TokenContract, CancellingTwiceKeepsTheFirstException) {
  CancellationToken token = TypeParam::make();
  token.cancel("first");
  const std::exception_ptr first = token.exception();

  token.cancel("second");
  token.cancel(test_error("third"));
  token.cancel();

  EXPECT_EQ(token.exception(), first);
  EXPECT_EQ(cancelled_reason(token.exception()), "first");
}

TYPED_TEST(TokenContract, CancelWithNullExceptionPtrAfterCancelStillThrowsInvalidArgument) {
  CancellationToken token = TypeParam::make();
  token.cancel("first");
  const std::exception_ptr first = token.exception();

  EXPECT_THROW(token.cancel(std::exception_ptr{}), std::invalid_argument);
  EXPECT_EQ(token.exception(), first);
}

TYPED_TEST(TokenContract, ThrowIfCancelledRethrowsTheSameExceptionObject) {
  CancellationToken token = TypeParam::make();
  token.cancel(test_error());

  const std::exception_ptr thrown = thrown_by([&] { token.throw_if_cancelled(); });

  EXPECT_EQ(thrown, token.exception());
  EXPECT_THROW(token.throw_if_cancelled(), TestError);
}

TYPED_TEST(TokenContract, ThrowIfCancelledThrowsCancelledExceptionAfterPlainCancel) {
  CancellationToken token = TypeParam::make();
  token.cancel();
  EXPECT_THROW(token.throw_if_cancelled(), CancelledException);
}

TEST(CancellationToken, CopiesShareOneState) {
  CancellationToken original;
  const CancellationToken copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
  int runs = 0;
  auto registration = copy.on_cancel([&](std::exception_ptr) { ++runs; });
  EXPECT_TRUE(original.has_callbacks());
  EXPECT_TRUE(original == copy);

  original.cancel("via the original");

  EXPECT_TRUE(copy.is_cancelled());
  EXPECT_EQ(copy.exception(), original.exception());
  EXPECT_EQ(runs, 1);
}

TEST(CancellationToken, NewTokensAreIndependent) {
  CancellationToken a;
  const CancellationToken b;
  EXPECT_FALSE(a == b);

  a.cancel();

  EXPECT_FALSE(b.is_cancelled());
}

TEST(CancellationToken, CopyAssignmentMakesBothHandlesShareTheAssignedState) {
  CancellationToken a;
  CancellationToken b;
  b = a;
  a.cancel();
  EXPECT_TRUE(b.is_cancelled());
}

// ---- the C++ contract: callbacks ----------------------------------------------------------------

TEST(CancellationToken, OnCancelWithAnEmptyFunctionThrowsInvalidArgument) {
  const CancellationToken token;
  EXPECT_THROW((void)token.on_cancel(std::function<void(std::exception_ptr)>{}), std::invalid_argument);
  EXPECT_FALSE(token.has_callbacks());
}

TYPED_TEST(TokenContract, CallbackRegisteredAfterCancelRunsInlineOnTheRegisteringThread) {
  CancellationToken token = TypeParam::make();
  token.cancel("already");
  bool ran = false;
  std::thread::id ran_on;
  std::exception_ptr seen;

  auto registration = token.on_cancel([&](std::exception_ptr e) {
    ran = true;
    ran_on = std::this_thread::get_id();
    seen = std::move(e);
  });

  EXPECT_TRUE(ran) << "the callback had not run when on_cancel returned";
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_EQ(seen, token.exception());
  EXPECT_FALSE(token.has_callbacks()) << "a callback that already ran must not be counted";
}

TYPED_TEST(TokenContract, CallbackRegisteredAfterCancelIsNotRunAgainByALaterCancel) {
  CancellationToken token = TypeParam::make();
  token.cancel();
  int runs = 0;
  auto registration = token.on_cancel([&](std::exception_ptr) { ++runs; });

  token.cancel("again");

  EXPECT_EQ(runs, 1);
}

TYPED_TEST(TokenContract, CallbackRunsOnTheCancellingThread) {
  const CancellationToken token = TypeParam::make();
  std::thread::id ran_on;
  auto registration = token.on_cancel([&](std::exception_ptr) { ran_on = std::this_thread::get_id(); });

  std::thread canceller([handle = token]() mutable { handle.cancel(); });
  const std::thread::id canceller_id = canceller.get_id();
  canceller.join();

  EXPECT_EQ(ran_on, canceller_id);
}

TYPED_TEST(TokenContract, CallbacksHaveRunWhenCancelReturns) {
  CancellationToken token = TypeParam::make();
  std::vector<int> ran;
  auto a = token.on_cancel([&](std::exception_ptr) { ran.push_back(1); });
  auto b = token.on_cancel([&](std::exception_ptr) { ran.push_back(2); });
  auto c = token.on_cancel([&](std::exception_ptr) { ran.push_back(3); });

  token.cancel();

  std::sort(ran.begin(), ran.end());
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
}

TYPED_TEST(TokenContract, TokenReadsCancelledInsideItsOwnCallbacks) {
  CancellationToken token = TypeParam::make();
  bool cancelled_inside = false;
  std::exception_ptr exception_inside;
  auto registration = token.on_cancel([&](std::exception_ptr) {
    cancelled_inside = token.is_cancelled();
    exception_inside = token.exception();
  });

  token.cancel("reason");

  EXPECT_TRUE(cancelled_inside);
  EXPECT_EQ(exception_inside, token.exception());
}

TYPED_TEST(TokenContract, CancelCalledFromItsOwnCallbackHasNoEffect) {
  CancellationToken token = TypeParam::make();
  int runs = 0;
  auto registration = token.on_cancel([&](std::exception_ptr) {
    ++runs;
    token.cancel("from inside");
  });

  token.cancel("outer");

  EXPECT_EQ(runs, 1);
  EXPECT_EQ(cancelled_reason(token.exception()), "outer");
}

TYPED_TEST(TokenContract, CallbackRegisteredFromInsideACallbackRunsInline) {
  CancellationToken token = TypeParam::make();
  bool inner_ran = false;
  CancellationCallback inner;
  auto outer = token.on_cancel(
      [&](std::exception_ptr) { inner = token.on_cancel([&](std::exception_ptr) { inner_ran = true; }); });

  token.cancel();

  EXPECT_TRUE(inner_ran);
  EXPECT_FALSE(token.has_callbacks());
}

TYPED_TEST(TokenContract, CallbackMayResetItsOwnRegistration) {
  CancellationToken token = TypeParam::make();
  int runs = 0;
  CancellationCallback registration;
  registration = token.on_cancel([&](std::exception_ptr) {
    ++runs;
    registration.reset();  // must return at once: the callback runs on this very thread
  });

  token.cancel();

  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(token.has_callbacks());
}

TYPED_TEST(TokenContract, CallbackResettingANotYetRunRegistrationStopsItFromRunning) {
  // Each callback resets the other; whichever runs first must prevent the other from running.
  CancellationToken token = TypeParam::make();
  int runs = 0;
  CancellationCallback a;
  CancellationCallback b;
  a = token.on_cancel([&](std::exception_ptr) {
    ++runs;
    b.reset();
  });
  b = token.on_cancel([&](std::exception_ptr) {
    ++runs;
    a.reset();
  });

  token.cancel();

  EXPECT_EQ(runs, 1);
}

TEST(CancellationToken, RegistrationDestructorWaitsForACallbackRunningOnAnotherThread) {
  const CancellationToken token;
  std::promise<void> entered;
  std::atomic<bool> release{false};
  std::atomic<bool> finished{false};
  std::optional<CancellationCallback> registration;
  registration.emplace(token.on_cancel([&](std::exception_ptr) {
    entered.set_value();
    while (!release.load()) std::this_thread::yield();
    finished.store(true);
  }));

  std::thread canceller([handle = token]() mutable { handle.cancel(); });
  entered.get_future().wait();  // the callback is now running on `canceller`
  // The callback is released a little later, from yet another thread. The delay only makes a
  // destructor that does not wait observable; a correct destructor passes whatever the timing.
  std::thread releaser([&] {
    std::this_thread::sleep_for(20ms);
    release.store(true);
  });

  registration.reset();  // destroys the registration: must block until the callback returned

  EXPECT_TRUE(finished.load()) << "the registration's destructor returned while its callback ran";
  releaser.join();
  canceller.join();
}

TEST(CancellationToken, ResetWaitsForACallbackRunningOnAnotherThread) {
  const CancellationToken token;
  std::promise<void> entered;
  std::atomic<bool> release{false};
  std::atomic<bool> finished{false};
  auto registration = token.on_cancel([&](std::exception_ptr) {
    entered.set_value();
    while (!release.load()) std::this_thread::yield();
    finished.store(true);
  });

  std::thread canceller([handle = token]() mutable { handle.cancel(); });
  entered.get_future().wait();
  std::thread releaser([&] {
    std::this_thread::sleep_for(20ms);  // see RegistrationDestructorWaitsFor...: only exposes a bug
    release.store(true);
  });

  registration.reset();

  EXPECT_TRUE(finished.load()) << "reset() returned while its callback ran";
  releaser.join();
  canceller.join();
}

TYPED_TEST(TokenContract, ThrowingCallbackDoesNotStopTheOthersAndIsRethrownFromCancel) {
  CancellationToken token = TypeParam::make();
  int quiet_runs = 0;
  auto a = token.on_cancel([&](std::exception_ptr) { ++quiet_runs; });
  auto b = token.on_cancel([](std::exception_ptr) { throw TestError{"callback failed"}; });
  auto c = token.on_cancel([&](std::exception_ptr) { ++quiet_runs; });

  try {
    token.cancel("reason");
    ADD_FAILURE() << "cancel() did not rethrow the callback's exception";
  } catch (const TestError& e) {
    EXPECT_STREQ(e.what(), "callback failed");
  }

  EXPECT_EQ(quiet_runs, 2);
  EXPECT_TRUE(token.is_cancelled());
  EXPECT_EQ(cancelled_reason(token.exception()), "reason");
  EXPECT_FALSE(token.has_callbacks());
}

TYPED_TEST(TokenContract, WhenSeveralCallbacksThrowCancelRethrowsTheFirstThrown) {
  CancellationToken token = TypeParam::make();
  std::vector<std::string> thrown_in_order;
  auto a = token.on_cancel([&](std::exception_ptr) {
    thrown_in_order.emplace_back("a");
    throw TestError{"a"};
  });
  auto b = token.on_cancel([&](std::exception_ptr) {
    thrown_in_order.emplace_back("b");
    throw TestError{"b"};
  });

  try {
    token.cancel();
    ADD_FAILURE() << "cancel() did not rethrow";
  } catch (const TestError& e) {
    ASSERT_EQ(thrown_in_order.size(), 2U) << "a throwing callback stopped the other one";
    EXPECT_EQ(e.what(), thrown_in_order.front());
  }
}

TYPED_TEST(TokenContract, CancellingAgainAfterAThrowingCallbackDoesNotRunOrThrowAgain) {
  CancellationToken token = TypeParam::make();
  int runs = 0;
  auto registration = token.on_cancel([&](std::exception_ptr) {
    ++runs;
    throw TestError{"once"};
  });
  EXPECT_THROW(token.cancel(), TestError);

  EXPECT_NO_THROW(token.cancel());
  EXPECT_EQ(runs, 1);
}

TYPED_TEST(TokenContract, ThrowingCallbackRegisteredAfterCancelPropagatesOutOfOnCancel) {
  CancellationToken token = TypeParam::make();
  token.cancel();
  EXPECT_THROW((void)token.on_cancel([](std::exception_ptr) { throw TestError{"late"}; }), TestError);
  EXPECT_FALSE(token.has_callbacks());
}

TYPED_TEST(TokenContract, CallbackReceivesTheExceptionItWasCancelledWith) {
  CancellationToken token = TypeParam::make();
  std::exception_ptr seen;
  auto registration = token.on_cancel([&](std::exception_ptr e) { seen = std::move(e); });

  token.cancel();

  ASSERT_NE(seen, nullptr);
  EXPECT_EQ(seen, token.exception());
}

TYPED_TEST(TokenContract, HasCallbacksTracksLiveRegistrations) {
  const CancellationToken token = TypeParam::make();
  EXPECT_FALSE(token.has_callbacks());

  auto a = token.on_cancel([](std::exception_ptr) {});
  auto b = token.on_cancel([](std::exception_ptr) {});
  EXPECT_TRUE(token.has_callbacks());

  a.reset();
  EXPECT_TRUE(token.has_callbacks());
  b.reset();
  EXPECT_FALSE(token.has_callbacks());
}

TYPED_TEST(TokenContract, HasCallbacksIsFalseAfterCancelEvenWhileRegistrationsLive) {
  CancellationToken token = TypeParam::make();
  auto registration = token.on_cancel([](std::exception_ptr) {});

  token.cancel();

  EXPECT_FALSE(token.has_callbacks());
}

TYPED_TEST(TokenContract, CancelReleasesTheCallbacksItRan) {
  CancellationToken token = TypeParam::make();
  auto witness = std::make_shared<int>(0);
  auto registration = token.on_cancel([witness](std::exception_ptr) {});
  EXPECT_EQ(witness.use_count(), 2);

  token.cancel();

  EXPECT_EQ(witness.use_count(), 1) << "the token kept its callback after running it";
}

TYPED_TEST(TokenContract, ResetReleasesTheCallback) {
  const CancellationToken token = TypeParam::make();
  auto witness = std::make_shared<int>(0);
  auto registration = token.on_cancel([witness](std::exception_ptr) {});

  registration.reset();

  EXPECT_EQ(witness.use_count(), 1);
}

TEST(CancellationCallback, DefaultConstructedIsEmptyAndSafeToResetAndDestroy) {
  CancellationCallback empty;
  EXPECT_NO_THROW(empty.reset());
  EXPECT_NO_THROW(empty.reset());
}

TEST(CancellationCallback, MoveConstructionTransfersTheRegistration) {
  CancellationToken token;
  int runs = 0;
  auto original = token.on_cancel([&](std::exception_ptr) { ++runs; });
  CancellationCallback moved{std::move(original)};

  original.reset();  // NOLINT(bugprone-use-after-move): a moved-from registration is empty
  EXPECT_TRUE(token.has_callbacks());
  token.cancel();

  EXPECT_EQ(runs, 1);
}

TEST(CancellationCallback, MoveAssignmentDeregistersTheOldCallbackFirst) {
  CancellationToken token;
  int old_runs = 0;
  int new_runs = 0;
  auto target = token.on_cancel([&](std::exception_ptr) { ++old_runs; });
  auto source = token.on_cancel([&](std::exception_ptr) { ++new_runs; });

  target = std::move(source);
  token.cancel();

  EXPECT_EQ(old_runs, 0);
  EXPECT_EQ(new_runs, 1);
}

TEST(CancellationCallback, MoveAssigningARegistrationOfAnotherTokenDeregistersFromTheFirst) {
  const CancellationToken first;
  const CancellationToken second;
  auto target = first.on_cancel([](std::exception_ptr) {});
  auto source = second.on_cancel([](std::exception_ptr) {});

  target = std::move(source);

  EXPECT_FALSE(first.has_callbacks());
  EXPECT_TRUE(second.has_callbacks());
}

TEST(CancellationCallback, MayOutliveEveryHandleOfItsToken) {
  int runs = 0;
  CancellationCallback registration;
  {
    const CancellationToken token;
    registration = token.on_cancel([&](std::exception_ptr) { ++runs; });
  }
  EXPECT_NO_THROW(registration.reset());
  EXPECT_EQ(runs, 0);
}

// ---- std::stop_token interop ---------------------------------------------------------------------

TEST(CancellationTokenStopToken, StopIsRequestedWhenTheTokenIsCancelled) {
  CancellationToken token;
  const std::stop_token stop = token.stop_token();
  EXPECT_TRUE(stop.stop_possible());
  EXPECT_FALSE(stop.stop_requested());

  token.cancel();

  EXPECT_TRUE(stop.stop_requested());
}

TEST(CancellationTokenStopToken, StopIsAlreadyRequestedForAnAlreadyCancelledToken) {
  CancellationToken token;
  token.cancel();
  EXPECT_TRUE(token.stop_token().stop_requested());
}

TEST(CancellationTokenStopToken, StopCallbackRunsOnTheCancellingThread) {
  const CancellationToken token;
  std::thread::id ran_on;
  const std::stop_callback on_stop{token.stop_token(), [&] { ran_on = std::this_thread::get_id(); }};

  std::thread canceller([handle = token]() mutable { handle.cancel(); });
  const std::thread::id canceller_id = canceller.get_id();
  canceller.join();

  EXPECT_EQ(ran_on, canceller_id);
}

TEST(CancellationTokenStopToken, ConditionVariableWaitingOnTheStopTokenWakesOnCancel) {
  const CancellationToken token;
  std::mutex mutex;
  std::condition_variable_any cv;
  std::promise<bool> woke_by_stop;

  std::thread waiter([&, stop = token.stop_token()] {
    std::unique_lock lock{mutex};
    const bool predicate = cv.wait(lock, stop, [] { return false; });
    woke_by_stop.set_value(!predicate && stop.stop_requested());
  });
  CancellationToken{token}.cancel();

  EXPECT_TRUE(woke_by_stop.get_future().get());
  waiter.join();
}

TEST(CancellationTokenStopToken, JthreadStopTokenDrivesACancellationToken) {
  std::promise<std::exception_ptr> cancelled_with;
  std::promise<CancellationToken> made;
  std::promise<void> seen;
  // The thread keeps its registration until the cancel has been seen here: a thread that ended
  // at the stop request would drop it, racing the stop callbacks that request_stop() runs.
  std::jthread worker([&, until_seen = seen.get_future()](std::stop_token stop) {
    const CancellationToken token = CancellationToken::from(stop);
    auto registration = token.on_cancel([&](std::exception_ptr e) { cancelled_with.set_value(e); });
    made.set_value(token);
    until_seen.wait();
  });
  const CancellationToken token = made.get_future().get();
  EXPECT_FALSE(token.is_cancelled());

  worker.request_stop();

  const std::exception_ptr e = cancelled_with.get_future().get();
  seen.set_value();
  EXPECT_EQ(e, token.exception());
  EXPECT_EQ(cancelled_reason(e), "stop requested");
  worker.join();
}

TEST(CancellationTokenStopToken, FromIsCancelledWhenStopIsRequested) {
  std::stop_source source = isolate::detail::new_stop_source();  // GCC 12 -Og: see there
  const CancellationToken token = CancellationToken::from(source.get_token());
  int runs = 0;
  auto registration = token.on_cancel([&](std::exception_ptr) { ++runs; });
  EXPECT_FALSE(token.is_cancelled());

  source.request_stop();

  EXPECT_TRUE(token.is_cancelled());
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(cancelled_reason(token.exception()), "stop requested");
}

TEST(CancellationTokenStopToken, FromAnAlreadyStoppedTokenIsCancelledAtOnce) {
  std::stop_source source = isolate::detail::new_stop_source();  // GCC 12 -Og: see there
  source.request_stop();

  const CancellationToken token = CancellationToken::from(source.get_token());

  EXPECT_TRUE(token.is_cancelled());
  EXPECT_THROW(token.throw_if_cancelled(), CancelledException);
}

TEST(CancellationTokenStopToken, FromATokenWithoutStopStateIsNeverCancelled) {
  const CancellationToken token = CancellationToken::from(std::stop_token{});
  EXPECT_FALSE(token.is_cancelled());
}

TEST(CancellationTokenStopToken, CancellingTheTokenMadeFromAStopTokenDoesNotRequestStop) {
  std::stop_source source = isolate::detail::new_stop_source();  // GCC 12 -Og: see there
  CancellationToken token = CancellationToken::from(source.get_token());

  token.cancel();

  EXPECT_FALSE(source.stop_requested());
}

TEST(CancellationTokenStopToken, RoundTripThroughStopTokenCancelsTheNewToken) {
  CancellationToken original;
  const CancellationToken round_trip = CancellationToken::from(original.stop_token());

  original.cancel();

  EXPECT_TRUE(round_trip.is_cancelled());
}

}  // namespace
