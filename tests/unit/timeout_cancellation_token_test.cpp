// Tests of isolate::TimeoutCancellationToken.
//
// Ports Dart's cancellation_token package suite
// test/src/tokens/timeout_cancellation_token_test.dart: manual cancellation before the timeout,
// reset registrations are not run, the timeout cancels with TimeoutException or a custom
// exception, lazyStart, callbacks run once whatever the mix of manual cancels and the timeout,
// isCancelled and the exception getter. Dart drives a fake clock; here the clock is real, so:
//   * "not before the deadline" is asserted exactly (a timer must never fire early), and
//   * "it does fire" waits at most kSanityBound, a deliberately huge bound (sanitizers, a shared
//     2-core machine) that only catches a timer that never fires. No test claims lateness.
// C++-only additions: the timer thread runs the callbacks (and drops what they throw), negative
// and zero timeouts, slicing, the stop_token view, lazy start through a merged token, and that
// destroying the last handle stops the clock at once and releases the token.
#include <isolate/cancellation_token.hpp>
#include <isolate/errors.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
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
using isolate::CancellationToken;
using isolate::CancelledException;
using isolate::MergedCancellationToken;
using isolate::TimeoutCancellationToken;
using isolate::TimeoutException;
using isolate::TimeoutOptions;
using Clock = std::chrono::steady_clock;

// Sanity bound for "eventually": far above any real delay, only there so a broken timer fails
// the test instead of hanging it.
using isolate::test::kSanityBound;  // only catches a hang
// A timeout long enough never to fire during a test.
constexpr auto kNever = std::chrono::hours{1};

using isolate::test::test_error;
using isolate::test::TestError;
using isolate::test::TimerThreadHold;

TimeoutOptions lazy(std::exception_ptr exception = {}) {
  TimeoutOptions options;
  options.lazy_start = true;
  options.exception = std::move(exception);
  return options;
}

TimeoutOptions with_exception(std::exception_ptr exception) {
  TimeoutOptions options;
  options.exception = std::move(exception);
  return options;
}

// The timeout of the TimeoutException in `e`; fails the test if `e` holds anything else.
std::chrono::nanoseconds timeout_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const TimeoutException& timeout) {
    return timeout.timeout();
  } catch (...) {
    ADD_FAILURE() << "not a TimeoutException";
  }
  return std::chrono::nanoseconds{-1};
}

// True if `e` holds a CancelledException that is not a TimeoutException.
bool is_plain_cancel(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const TimeoutException&) {
    return false;
  } catch (const CancelledException&) {
    return true;
  } catch (...) {
    return false;
  }
}

// Polls `predicate` until it holds or kSanityBound passes.
template <class Predicate>
bool eventually(Predicate predicate) {
  const auto deadline = Clock::now() + kSanityBound;
  while (!predicate()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Records the first cancellation a callback sees: the exception, the time and the thread.
struct Firing {
  std::exception_ptr exception;
  Clock::time_point at;
  std::thread::id thread;
};

class FiringRecorder {
 public:
  std::function<void(std::exception_ptr)> callback() {
    return [this](std::exception_ptr e) {
      promise_.set_value(Firing{std::move(e), Clock::now(), std::this_thread::get_id()});
    };
  }
  // Waits up to kSanityBound; fails the test (and returns an empty Firing) if nothing fired.
  Firing wait() {
    if (future_.wait_for(kSanityBound) != std::future_status::ready) {
      ADD_FAILURE() << "the token did not fire within the sanity bound";
      return {};
    }
    return future_.get();
  }

 private:
  std::promise<Firing> promise_;
  std::future<Firing> future_ = promise_.get_future();
};

// ---- ported from the Dart suite -----------------------------------------------------------------

TEST(TimeoutCancellationToken, TimeoutRunsEveryCallbackWithTimeoutExceptionNotBeforeTheDeadline) {
  const auto timeout = 50ms;
  const auto created = Clock::now();
  const TimeoutCancellationToken token{timeout};
  FiringRecorder a;
  FiringRecorder b;
  auto registration_a = token.on_cancel(a.callback());
  auto registration_b = token.on_cancel(b.callback());

  const Firing fired_a = a.wait();
  const Firing fired_b = b.wait();

  EXPECT_EQ(timeout_of(fired_a.exception), std::chrono::nanoseconds{timeout});
  EXPECT_EQ(fired_b.exception, fired_a.exception);
  EXPECT_EQ(token.exception(), fired_a.exception);
  EXPECT_GE(fired_a.at - created, timeout) << "the timer fired before its deadline";
}

TEST(TimeoutCancellationToken, TimeoutCancelsWithTheCustomException) {
  const std::exception_ptr error = test_error();
  const TimeoutCancellationToken token{20ms, with_exception(error)};
  FiringRecorder a;
  FiringRecorder b;
  auto registration_a = token.on_cancel(a.callback());
  auto registration_b = token.on_cancel(b.callback());

  EXPECT_EQ(a.wait().exception, error);
  EXPECT_EQ(b.wait().exception, error);
  EXPECT_EQ(token.exception(), error);
}

TEST(TimeoutCancellationToken, LazyStartDoesNotRunTheClockBeforeTheFirstRegistration) {
  const std::exception_ptr error = test_error();
  const auto timeout = 30ms;
  const TimeoutCancellationToken token{timeout, lazy(error)};

  std::this_thread::sleep_for(timeout * 4);  // well past the deadline of a clock started at once
  EXPECT_FALSE(token.is_cancelled()) << "the lazy clock started before any registration";

  FiringRecorder recorder;
  const auto attached = Clock::now();
  auto registration = token.on_cancel(recorder.callback());
  const Firing fired = recorder.wait();

  EXPECT_TRUE(token.is_cancelled());
  EXPECT_EQ(fired.exception, error);
  EXPECT_GE(fired.at - attached, timeout) << "the lazy clock fired before its deadline";
}

TEST(TimeoutCancellationToken, ManualCancelStopsTheClockSoTheCallbackRunsOnce) {
  const auto timeout = 20ms;
  TimerThreadHold hold;  // the manual cancel surely comes first
  TimeoutCancellationToken token{timeout};
  std::atomic<int> runs{0};
  auto registration = token.on_cancel([&](std::exception_ptr) { ++runs; });

  token.cancel("manual");
  hold.release();
  std::this_thread::sleep_for(timeout * 5);  // past the deadline the stopped clock had

  EXPECT_EQ(runs.load(), 1);
  EXPECT_TRUE(is_plain_cancel(token.exception())) << "the timeout replaced the manual cancel";
}

TEST(TimeoutCancellationToken, ManualCancelAfterTheTimeoutRunsNothingAndKeepsTheTimeoutException) {
  TimeoutCancellationToken token{10ms};
  std::atomic<int> runs{0};
  FiringRecorder recorder;
  auto counting = token.on_cancel([&](std::exception_ptr) { ++runs; });
  auto recording = token.on_cancel(recorder.callback());
  const Firing fired = recorder.wait();

  token.cancel("too late");

  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(token.exception(), fired.exception);
  EXPECT_EQ(timeout_of(token.exception()), std::chrono::nanoseconds{10ms});
}

// ---- C++-only contract --------------------------------------------------------------------------

TEST(TimeoutCancellationToken, NegativeTimeoutThrowsInvalidArgument) {
  EXPECT_THROW(TimeoutCancellationToken{-1ms}, std::invalid_argument);
}

TEST(TimeoutCancellationToken, ZeroTimeoutFiresWithTimeoutExceptionOfZero) {
  const TimeoutCancellationToken token{0ns};
  EXPECT_TRUE(eventually([&] { return token.is_cancelled(); }));
  EXPECT_EQ(timeout_of(token.exception()), std::chrono::nanoseconds{0});
}

TEST(TimeoutCancellationToken, FiresWithoutAnyRegistration) {
  const TimeoutCancellationToken token{10ms};
  EXPECT_TRUE(eventually([&] { return token.is_cancelled(); }));
  EXPECT_EQ(timeout_of(token.exception()), std::chrono::nanoseconds{10ms});
}

TEST(TimeoutCancellationToken, TimeoutCallbacksRunOnTheTimerThreadNotTheCaller) {
  const TimeoutCancellationToken token{10ms, lazy()};  // cannot fire before the registration
  FiringRecorder recorder;
  auto registration = token.on_cancel(recorder.callback());

  const Firing fired = recorder.wait();

  EXPECT_NE(fired.thread, std::this_thread::get_id());
}

TEST(TimeoutCancellationToken, ThrowingCallbackOnTheTimerThreadIsDroppedAndTheOthersStillRun) {
  TimerThreadHold hold;  // all three are registered before it fires
  const TimeoutCancellationToken token{10ms};
  FiringRecorder before;
  FiringRecorder after;
  auto a = token.on_cancel(before.callback());
  auto b = token.on_cancel([](std::exception_ptr) { throw TestError{"thrown on the timer thread"}; });
  auto c = token.on_cancel(after.callback());
  hold.release();

  EXPECT_EQ(timeout_of(before.wait().exception), std::chrono::nanoseconds{10ms});
  EXPECT_EQ(timeout_of(after.wait().exception), std::chrono::nanoseconds{10ms});

  // The timer thread survived: another token still fires.
  const TimeoutCancellationToken next{10ms};
  EXPECT_TRUE(eventually([&] { return next.is_cancelled(); }));
}

TEST(TimeoutCancellationToken, SlicedToCancellationTokenStillTimesOut) {
  const CancellationToken sliced = TimeoutCancellationToken{10ms};
  EXPECT_TRUE(eventually([&] { return sliced.is_cancelled(); }));
  EXPECT_EQ(timeout_of(sliced.exception()), std::chrono::nanoseconds{10ms});
}

TEST(TimeoutCancellationToken, CopyKeepsTheClockRunningAfterTheOriginalIsDestroyed) {
  CancellationToken copy;
  {
    const TimeoutCancellationToken original{10ms};
    copy = original;
  }
  EXPECT_TRUE(eventually([&] { return copy.is_cancelled(); }));
  EXPECT_EQ(timeout_of(copy.exception()), std::chrono::nanoseconds{10ms});
}

TEST(TimeoutCancellationToken, StopTokenIsRequestedWhenTheTimeoutFires) {
  const TimeoutCancellationToken token{10ms};
  const std::stop_token stop = token.stop_token();
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock{mutex};

  (void)cv.wait_for(lock, stop, kSanityBound, [] { return false; });

  EXPECT_TRUE(stop.stop_requested());
}

TEST(TimeoutCancellationToken, LazyClockStartsWithARegistrationMadeThroughAMergedToken) {
  const auto timeout = 20ms;
  const TimeoutCancellationToken timeout_token{timeout, lazy()};
  const MergedCancellationToken merged{{CancellationToken{}, timeout_token}};
  std::this_thread::sleep_for(timeout * 4);
  EXPECT_FALSE(merged.is_cancelled()) << "a merged token without callbacks started the lazy clock";

  FiringRecorder recorder;
  auto registration = merged.on_cancel(recorder.callback());

  EXPECT_EQ(timeout_of(recorder.wait().exception), std::chrono::nanoseconds{timeout});
  EXPECT_TRUE(timeout_token.is_cancelled());
}

TEST(TimeoutCancellationToken, LazyClockKeepsRunningAfterTheFirstRegistrationIsReset) {
  const TimeoutCancellationToken token{10ms, lazy()};
  auto registration = token.on_cancel([](std::exception_ptr) {});
  registration.reset();

  EXPECT_TRUE(eventually([&] { return token.is_cancelled(); }));
  EXPECT_EQ(timeout_of(token.exception()), std::chrono::nanoseconds{10ms});
}

TEST(TimeoutCancellationToken, LazyTokenCancelledByHandBeforeAnyRegistrationKeepsThatException) {
  TimeoutCancellationToken token{10ms, lazy()};
  token.cancel("by hand");
  bool ran = false;
  auto registration = token.on_cancel([&](std::exception_ptr) { ran = true; });
  EXPECT_TRUE(ran);
  EXPECT_TRUE(is_plain_cancel(token.exception()));
}

TEST(TimeoutCancellationToken, MergedTokenFiresWithTheInputsTimeoutException) {
  const TimeoutCancellationToken timeout_token{10ms};
  const MergedCancellationToken merged{{CancellationToken{}, timeout_token}};
  FiringRecorder recorder;
  auto registration = merged.on_cancel(recorder.callback());

  const Firing fired = recorder.wait();

  EXPECT_EQ(fired.exception, timeout_token.exception());
  EXPECT_EQ(timeout_of(fired.exception), std::chrono::nanoseconds{10ms});
}

// A custom exception that owns a payload, so the test can see when the last copy of the token's
// state (which holds the exception) is gone.
struct PayloadError : std::exception {
  explicit PayloadError(std::shared_ptr<int> p) : payload(std::move(p)) {}
  std::shared_ptr<int> payload;
};

TEST(TimeoutCancellationToken, DestroyingTheLastHandleStopsTheClockWithoutWaiting) {
  auto payload = std::make_shared<int>(0);
  const std::weak_ptr<int> watch = payload;
  const auto before_destruction = Clock::now();
  {
    const TimeoutCancellationToken token{kNever,
                                         with_exception(std::make_exception_ptr(PayloadError{std::move(payload)}))};
  }
  // Sanity bound only: the point is that destruction does not wait for the hour-long timeout.
  EXPECT_LT(Clock::now() - before_destruction, kSanityBound);
  // The stopped clock must not keep the token's state (and its exception) alive.
  EXPECT_TRUE(eventually([&] { return watch.expired(); })) << "the timer still holds a destroyed token's state";
}

TEST(TimeoutCancellationToken, DestroyingTheLastHandleOfALazyTokenWhoseClockRunsReleasesIt) {
  auto payload = std::make_shared<int>(0);
  const std::weak_ptr<int> watch = payload;
  {
    const TimeoutCancellationToken token{kNever, lazy(std::make_exception_ptr(PayloadError{std::move(payload)}))};
    auto registration = token.on_cancel([](std::exception_ptr) {});  // starts the clock
  }
  EXPECT_TRUE(eventually([&] { return watch.expired(); })) << "the timer still holds a destroyed token's state";
}

TEST(TimeoutCancellationToken, ManyTokensStoppedEarlyAllowLaterTokensToFire) {
  for (int i = 0; i < 200; ++i) {
    TimeoutCancellationToken stopped{kNever};
    stopped.cancel();
  }
  {
    std::vector<TimeoutCancellationToken> destroyed;
    for (int i = 0; i < 200; ++i) destroyed.emplace_back(kNever);
  }

  const TimeoutCancellationToken token{10ms};
  EXPECT_TRUE(eventually([&] { return token.is_cancelled(); }));
}

}  // namespace
