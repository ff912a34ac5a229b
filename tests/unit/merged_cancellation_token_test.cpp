// Tests of isolate::MergedCancellationToken and CancellationToken::merge.
//
// Ports Dart's cancellation_token package suite
// test/src/tokens/merged_cancellation_token_test.dart: callbacks run when the merged token or any
// input is cancelled, once, not after detaching; isCancelled and the exception getter in every
// case (already-cancelled input, own cancel, input cancel, with and without callbacks); the merged
// token attaches to its inputs only while it has callbacks and detaches when they are reset, when
// it is cancelled and when an input is. C++-only additions: the list-order rule when several
// inputs were cancelled before it looked, own cancel never cancels inputs, duplicate and nested
// inputs, merge(), and that long-lived inputs never accumulate registrations.
#include <isolate/cancellation_token.hpp>
#include <isolate/errors.hpp>

#include <gtest/gtest.h>

#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test_errors.hpp"

namespace {

using isolate::CancellationCallback;
using isolate::CancellationToken;
using isolate::CancelledException;
using isolate::MergedCancellationToken;

using isolate::test::cancelled_reason;
using isolate::test::test_error;
using isolate::test::TestError;

// The Dart suite's setUp: two inputs and a token merged from them.
class MergedCancellationTokenTest : public ::testing::Test {
 protected:
  CancellationToken token_a_;
  CancellationToken token_b_;
  MergedCancellationToken merged_{{token_a_, token_b_}};
};

// ---- ported from the Dart suite -----------------------------------------------------------------

TEST_F(MergedCancellationTokenTest, InputCancelRunsEveryCallbackWithTheInputsException) {
  const std::exception_ptr error = test_error();
  std::exception_ptr seen_by_a;
  std::exception_ptr seen_by_b;
  auto a = merged_.on_cancel([&](std::exception_ptr e) { seen_by_a = std::move(e); });
  auto b = merged_.on_cancel([&](std::exception_ptr e) { seen_by_b = std::move(e); });

  token_a_.cancel(error);

  EXPECT_EQ(seen_by_a, error);
  EXPECT_EQ(seen_by_b, error);
  EXPECT_EQ(merged_.exception(), error);
}

TEST_F(MergedCancellationTokenTest, CallbackRunsOnlyOnceWhenTwoInputsAreCancelled) {
  int runs = 0;
  auto registration = merged_.on_cancel([&](std::exception_ptr) { ++runs; });

  token_a_.cancel();
  token_b_.cancel();

  EXPECT_EQ(runs, 1);
}

TEST_F(MergedCancellationTokenTest, ResetRegistrationIsNotRunWhenAnInputIsCancelled) {
  bool ran = false;
  auto registration = merged_.on_cancel([&](std::exception_ptr) { ran = true; });

  registration.reset();
  token_a_.cancel();

  EXPECT_FALSE(ran);
}

TEST_F(MergedCancellationTokenTest, CallbackMayResetItsOwnRegistrationWhileAnInputIsCancelled) {
  int runs = 0;
  CancellationCallback registration;
  registration = merged_.on_cancel([&](std::exception_ptr) {
    ++runs;
    registration.reset();
  });

  token_b_.cancel();

  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(token_b_.has_callbacks());
}

TEST_F(MergedCancellationTokenTest, IsCancelledAtConstructionWhenAnInputAlreadyIs) {
  token_a_.cancel();
  const MergedCancellationToken merged{{token_a_, token_b_}};
  EXPECT_TRUE(merged.is_cancelled());
}

TEST_F(MergedCancellationTokenTest, IsCancelledAfterAnInputIsCancelledWithoutCallbacks) {
  EXPECT_FALSE(merged_.is_cancelled());
  token_a_.cancel();
  EXPECT_TRUE(merged_.is_cancelled());
}

TEST_F(MergedCancellationTokenTest, IsCancelledAfterAnInputIsCancelledWithCallbacks) {
  auto registration = merged_.on_cancel([](std::exception_ptr) {});
  EXPECT_FALSE(merged_.is_cancelled());
  token_a_.cancel();
  EXPECT_TRUE(merged_.is_cancelled());
}

TEST_F(MergedCancellationTokenTest, HasNoCallbacksAfterAnInputIsCancelled) {
  auto registration = merged_.on_cancel([](std::exception_ptr) {});
  token_a_.cancel();
  EXPECT_FALSE(merged_.has_callbacks());
}

TEST_F(MergedCancellationTokenTest, ExceptionIsTheInputsWhenAnInputWasAlreadyCancelled) {
  token_a_.cancel();
  const MergedCancellationToken merged{{token_a_, token_b_}};

  EXPECT_EQ(merged.exception(), token_a_.exception());
  EXPECT_EQ(cancelled_reason(merged.exception()), "cancelled");
}

TEST_F(MergedCancellationTokenTest, ExceptionIsCancelledExceptionAfterPlainInputCancel) {
  token_b_.cancel();
  EXPECT_EQ(cancelled_reason(merged_.exception()), "cancelled");
}

TEST_F(MergedCancellationTokenTest, ExceptionIsTheCustomExceptionOfTheCancelledInput) {
  const std::exception_ptr error = test_error();
  token_b_.cancel(error);
  EXPECT_EQ(merged_.exception(), error);
  EXPECT_THROW(merged_.throw_if_cancelled(), TestError);
}

TEST_F(MergedCancellationTokenTest, ExceptionFromAnInputIsTheSameExceptionPtrEveryTime) {
  token_a_.cancel("input");
  const std::exception_ptr first = merged_.exception();
  EXPECT_EQ(merged_.exception(), first);
  EXPECT_EQ(first, token_a_.exception());
}

TEST_F(MergedCancellationTokenTest, RegistersOnItsInputsWhenACallbackRegisters) {
  auto registration = merged_.on_cancel([](std::exception_ptr) {});

  EXPECT_TRUE(token_a_.has_callbacks());
  EXPECT_TRUE(token_b_.has_callbacks());
  EXPECT_TRUE(merged_.has_callbacks());
}

TEST_F(MergedCancellationTokenTest, DeregistersFromItsInputsWhenItsCallbacksAreReset) {
  auto registration = merged_.on_cancel([](std::exception_ptr) {});
  registration.reset();

  EXPECT_FALSE(token_a_.has_callbacks());
  EXPECT_FALSE(token_b_.has_callbacks());
  EXPECT_FALSE(merged_.has_callbacks());
}

TEST_F(MergedCancellationTokenTest, DeregistersFromItsInputsWhenCancelled) {
  auto registration = merged_.on_cancel([](std::exception_ptr) {});
  merged_.cancel();

  EXPECT_FALSE(token_a_.has_callbacks());
  EXPECT_FALSE(token_b_.has_callbacks());
  EXPECT_FALSE(merged_.has_callbacks());
}

TEST_F(MergedCancellationTokenTest, DeregistersFromItsInputsWhenAnInputIsCancelled) {
  auto registration = merged_.on_cancel([](std::exception_ptr) {});
  token_a_.cancel();

  EXPECT_FALSE(token_a_.has_callbacks());
  EXPECT_FALSE(token_b_.has_callbacks());
  EXPECT_FALSE(merged_.has_callbacks());
}

// ---- C++-only contract --------------------------------------------------------------------------

TEST_F(MergedCancellationTokenTest, OwnCancelNeverCancelsItsInputs) {
  auto registration = merged_.on_cancel([](std::exception_ptr) {});
  merged_.cancel();

  EXPECT_FALSE(token_a_.is_cancelled());
  EXPECT_FALSE(token_b_.is_cancelled());
}

TEST_F(MergedCancellationTokenTest, StaysRegisteredOnInputsUntilItsLastCallbackIsReset) {
  auto first = merged_.on_cancel([](std::exception_ptr) {});
  auto second = merged_.on_cancel([](std::exception_ptr) {});

  first.reset();
  EXPECT_TRUE(token_a_.has_callbacks());
  EXPECT_TRUE(token_b_.has_callbacks());

  second.reset();
  EXPECT_FALSE(token_a_.has_callbacks());
  EXPECT_FALSE(token_b_.has_callbacks());
}

TEST_F(MergedCancellationTokenTest, RegistersOnItsInputsAgainForANewCallbackAfterAllWereReset) {
  auto first = merged_.on_cancel([](std::exception_ptr) {});
  first.reset();
  int runs = 0;
  auto second = merged_.on_cancel([&](std::exception_ptr) { ++runs; });
  EXPECT_TRUE(token_a_.has_callbacks());

  token_b_.cancel();

  EXPECT_EQ(runs, 1);
}

TEST_F(MergedCancellationTokenTest, InputCancelledWhileItHadNoCallbacksStillCancelsItOnLaterRegistration) {
  token_b_.cancel("b");
  bool ran = false;
  std::exception_ptr seen;

  auto registration = merged_.on_cancel([&](std::exception_ptr e) {
    ran = true;
    seen = std::move(e);
  });

  EXPECT_TRUE(ran) << "the merged token missed a cancellation that happened before registration";
  EXPECT_EQ(seen, token_b_.exception());
  EXPECT_FALSE(token_a_.has_callbacks());
}

TEST_F(MergedCancellationTokenTest, WhenSeveralInputsWereCancelledBeforeItLookedTheFirstInListOrderWins) {
  const std::exception_ptr error_a = test_error("a");
  const std::exception_ptr error_b = test_error("b");
  token_b_.cancel(error_b);  // cancelled first in time ...
  token_a_.cancel(error_a);  // ... but a is first in list order

  EXPECT_EQ(merged_.exception(), error_a);
}

TEST_F(MergedCancellationTokenTest, InputsAlreadyCancelledAtConstructionTakeTheFirstInListOrder) {
  const std::exception_ptr error_a = test_error("a");
  const std::exception_ptr error_b = test_error("b");
  token_b_.cancel(error_b);
  token_a_.cancel(error_a);

  const MergedCancellationToken merged{{token_b_, token_a_}};

  EXPECT_EQ(merged.exception(), error_b);
}

TEST_F(MergedCancellationTokenTest, KeepsTheExceptionOfTheInputWhoseCancellationItSaw) {
  const std::exception_ptr error_b = test_error("b");
  std::exception_ptr seen;
  auto registration = merged_.on_cancel([&](std::exception_ptr e) { seen = std::move(e); });

  token_b_.cancel(error_b);
  token_a_.cancel(test_error("a"));

  EXPECT_EQ(seen, error_b);
  EXPECT_EQ(merged_.exception(), error_b);
}

TEST_F(MergedCancellationTokenTest, OwnCancelBeforeAnyInputKeepsItsOwnException) {
  merged_.cancel("own");
  token_a_.cancel(test_error("a"));
  EXPECT_EQ(cancelled_reason(merged_.exception()), "own");
}

TEST_F(MergedCancellationTokenTest, CallbackRegisteredAfterAnInputWasCancelledRunsInline) {
  token_a_.cancel();
  std::thread::id ran_on;
  auto registration = merged_.on_cancel([&](std::exception_ptr) { ran_on = std::this_thread::get_id(); });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_FALSE(merged_.has_callbacks());
}

TEST_F(MergedCancellationTokenTest, RegistrationKeepsAMergedTokenWorkingAfterItsLastHandleIsGone) {
  int runs = 0;
  CancellationCallback registration =
      MergedCancellationToken{{token_a_, token_b_}}.on_cancel([&](std::exception_ptr) { ++runs; });
  EXPECT_TRUE(token_a_.has_callbacks());

  token_a_.cancel();

  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(token_a_.has_callbacks());
  EXPECT_FALSE(token_b_.has_callbacks());
}

TEST_F(MergedCancellationTokenTest, DestroyingTheLastRegistrationOfAnUnnamedMergedTokenFreesItsInputs) {
  {
    auto registration = MergedCancellationToken{{token_a_, token_b_}}.on_cancel([](std::exception_ptr) {});
    EXPECT_TRUE(token_b_.has_callbacks());
  }
  EXPECT_FALSE(token_a_.has_callbacks());
  EXPECT_FALSE(token_b_.has_callbacks());
}

TEST(MergedCancellationToken, LongLivedInputNeverAccumulatesRegistrations) {
  const CancellationToken input;
  for (int i = 0; i < 1000; ++i) {
    const MergedCancellationToken merged{{input, CancellationToken{}}};
    auto registration = merged.on_cancel([](std::exception_ptr) {});
    ASSERT_TRUE(input.has_callbacks());
  }
  EXPECT_FALSE(input.has_callbacks());
}

TEST(MergedCancellationToken, TwoMergedTokensOnOneInputEachHoldTheirOwnRegistration) {
  CancellationToken input;
  const MergedCancellationToken first{{input}};
  const MergedCancellationToken second{{input}};
  int first_runs = 0;
  int second_runs = 0;
  auto a = first.on_cancel([&](std::exception_ptr) { ++first_runs; });
  auto b = second.on_cancel([&](std::exception_ptr) { ++second_runs; });

  a.reset();
  EXPECT_TRUE(input.has_callbacks());
  input.cancel();

  EXPECT_EQ(first_runs, 0);
  EXPECT_EQ(second_runs, 1);
  EXPECT_TRUE(first.is_cancelled());
}

TEST(MergedCancellationToken, DuplicateInputsRunTheCallbackOnce) {
  CancellationToken input;
  const MergedCancellationToken merged{{input, input, CancellationToken{input}}};
  int runs = 0;
  auto registration = merged.on_cancel([&](std::exception_ptr) { ++runs; });

  input.cancel();

  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(input.has_callbacks());
}

TEST(MergedCancellationToken, DuplicateInputsLeaveNoRegistrationBehindAfterReset) {
  const CancellationToken input;
  const MergedCancellationToken merged{{input, input}};
  auto registration = merged.on_cancel([](std::exception_ptr) {});
  registration.reset();
  EXPECT_FALSE(input.has_callbacks());
}

TEST(MergedCancellationToken, WithNoInputsIsCancelledOnlyByItsOwnCancel) {
  MergedCancellationToken merged{{}};
  EXPECT_FALSE(merged.is_cancelled());
  int runs = 0;
  auto registration = merged.on_cancel([&](std::exception_ptr) { ++runs; });

  merged.cancel();

  EXPECT_EQ(runs, 1);
}

TEST(MergedCancellationToken, NestedMergedTokensPropagateAndReleaseRegistrations) {
  CancellationToken a;
  const CancellationToken b;
  const CancellationToken c;
  const MergedCancellationToken inner{{a, b}};
  const MergedCancellationToken outer{{inner, c}};
  std::exception_ptr seen;
  auto registration = outer.on_cancel([&](std::exception_ptr e) { seen = std::move(e); });
  EXPECT_TRUE(a.has_callbacks());
  EXPECT_TRUE(inner.has_callbacks());

  registration.reset();
  EXPECT_FALSE(a.has_callbacks());
  EXPECT_FALSE(inner.has_callbacks());
  EXPECT_FALSE(c.has_callbacks());

  registration = outer.on_cancel([&](std::exception_ptr e) { seen = std::move(e); });
  a.cancel("deep");
  EXPECT_EQ(seen, a.exception());
  EXPECT_EQ(outer.exception(), a.exception());
  EXPECT_FALSE(b.has_callbacks());
  EXPECT_FALSE(c.has_callbacks());
}

TEST(MergedCancellationToken, NestedMergedTokenSeesADeepInputCancelledWithoutCallbacks) {
  CancellationToken a;
  // (The explicit vector: `outer{{merged}}` would pick the copy constructor.)
  const MergedCancellationToken outer{
      std::vector<CancellationToken>{MergedCancellationToken{{CancellationToken{}, a}}}};
  a.cancel("deep");
  EXPECT_TRUE(outer.is_cancelled());
  EXPECT_EQ(outer.exception(), a.exception());
}

TEST(MergedCancellationToken, CallbackRunsOnTheThreadThatCancelledTheInput) {
  const CancellationToken input;
  const MergedCancellationToken merged{{input}};
  std::thread::id ran_on;
  auto registration = merged.on_cancel([&](std::exception_ptr) { ran_on = std::this_thread::get_id(); });

  std::thread canceller([handle = input]() mutable { handle.cancel(); });
  const std::thread::id canceller_id = canceller.get_id();
  canceller.join();

  EXPECT_EQ(ran_on, canceller_id);
}

TEST(MergedCancellationToken, ThrowingCallbackOnTheMergedTokenIsRethrownFromTheInputsCancel) {
  CancellationToken input;
  const MergedCancellationToken merged{{input}};
  int quiet_runs = 0;
  auto a = merged.on_cancel([](std::exception_ptr) { throw TestError{"merged callback"}; });
  auto b = merged.on_cancel([&](std::exception_ptr) { ++quiet_runs; });

  EXPECT_THROW(input.cancel(), TestError);

  EXPECT_EQ(quiet_runs, 1);
  EXPECT_TRUE(merged.is_cancelled());
}

TEST(CancellationTokenMerge, PutsTheCallingTokenFirst) {
  CancellationToken self;
  CancellationToken other;
  const MergedCancellationToken merged = self.merge({other});
  const std::exception_ptr error_self = test_error("self");
  other.cancel(test_error("other"));
  self.cancel(error_self);

  EXPECT_EQ(merged.exception(), error_self);
}

TEST(CancellationTokenMerge, IsCancelledWhenAnyOtherIs) {
  const CancellationToken self;
  CancellationToken first;
  CancellationToken second;
  const MergedCancellationToken merged = self.merge({first, second});
  int runs = 0;
  auto registration = merged.on_cancel([&](std::exception_ptr) { ++runs; });

  second.cancel("second");

  EXPECT_EQ(runs, 1);
  EXPECT_EQ(merged.exception(), second.exception());
  EXPECT_FALSE(self.is_cancelled());
  EXPECT_FALSE(self.has_callbacks());
}

TEST(CancellationTokenMerge, MergedTokenSlicedToCancellationTokenStillFollowsItsInputs) {
  CancellationToken input;
  const CancellationToken sliced = MergedCancellationToken{{input}};
  input.cancel("input");
  EXPECT_TRUE(sliced.is_cancelled());
  EXPECT_EQ(sliced.exception(), input.exception());
}

}  // namespace
