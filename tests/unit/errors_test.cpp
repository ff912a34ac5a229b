// Tests of the exception types in <isolate/errors.hpp>.
//
// Ports the exception part of Dart's cancellation_token package (the CancelledException and
// TimeoutException types that its token suites match on), plus the C++-only guarantees: every
// type copies and moves without throwing (so it can live in an exception_ptr), copies share their
// text, and each type keeps its fields through a copy and through an exception_ptr.
#include <isolate/errors.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace {

using namespace std::chrono_literals;

template <class E>
constexpr bool copies_and_moves_without_throwing = std::is_nothrow_copy_constructible_v<E>&&
    std::is_nothrow_copy_assignable_v<E>&& std::is_nothrow_move_constructible_v<E>&&
        std::is_nothrow_move_assignable_v<E>&& std::is_nothrow_destructible_v<E>;

static_assert(copies_and_moves_without_throwing<isolate::CancelledException>);
static_assert(copies_and_moves_without_throwing<isolate::TimeoutException>);
static_assert(copies_and_moves_without_throwing<isolate::IsolateError>);
static_assert(copies_and_moves_without_throwing<isolate::JobError>);
static_assert(copies_and_moves_without_throwing<isolate::WorkerCrashed>);

static_assert(std::is_base_of_v<std::exception, isolate::CancelledException>);
static_assert(std::is_base_of_v<isolate::CancelledException, isolate::TimeoutException>);
static_assert(std::is_base_of_v<std::runtime_error, isolate::IsolateError>);
static_assert(std::is_base_of_v<isolate::IsolateError, isolate::JobError>);
static_assert(std::is_base_of_v<isolate::IsolateError, isolate::WorkerCrashed>);
// A timeout is a cancellation, never a runner failure, and the other way round.
static_assert(!std::is_base_of_v<isolate::IsolateError, isolate::TimeoutException>);
static_assert(!std::is_base_of_v<isolate::CancelledException, isolate::IsolateError>);
// The one-argument constructors are explicit: no accidental conversions from strings/durations.
static_assert(!std::is_convertible_v<std::string, isolate::CancelledException>);
static_assert(!std::is_convertible_v<std::chrono::nanoseconds, isolate::TimeoutException>);

// `e` stored in an exception_ptr, as a future or a token stores it.
template <class E>
std::exception_ptr as_exception_ptr(const E& e) {
  return std::make_exception_ptr(e);
}

TEST(CancelledException, DefaultReasonIsCancelled) {
  const isolate::CancelledException e;
  EXPECT_EQ(e.reason(), "cancelled");
  EXPECT_STREQ(e.what(), "cancelled");
}

TEST(CancelledException, KeepsTheGivenReasonAndReportsItFromWhat) {
  const isolate::CancelledException e{"user pressed stop"};
  EXPECT_EQ(e.reason(), "user pressed stop");
  EXPECT_STREQ(e.what(), "user pressed stop");
}

TEST(CancelledException, CopiesShareTheReasonText) {
  const isolate::CancelledException original{"shared text"};
  const isolate::CancelledException copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(copy.reason(), "shared text");
  // "the texts are shared, immutable strings": the copy points at the very same characters.
  EXPECT_EQ(copy.what(), original.what());
}

TEST(CancelledException, CopyAssignmentReplacesTheReason) {
  isolate::CancelledException target{"old"};
  const isolate::CancelledException source{"new"};
  target = source;
  EXPECT_EQ(target.reason(), "new");
  EXPECT_STREQ(target.what(), "new");
}

TEST(CancelledException, SurvivesARoundTripThroughAnExceptionPtr) {
  const std::exception_ptr ptr = as_exception_ptr(isolate::CancelledException{"via ptr"});
  try {
    std::rethrow_exception(ptr);
  } catch (const isolate::CancelledException& e) {
    EXPECT_EQ(e.reason(), "via ptr");
    return;
  }
  FAIL() << "rethrow_exception did not throw a CancelledException";
}

TEST(TimeoutException, KeepsTheTimeout) {
  const isolate::TimeoutException e{1500ms};
  EXPECT_EQ(e.timeout(), std::chrono::nanoseconds{1500ms});
}

TEST(TimeoutException, ReasonSaysItTimedOut) {
  const isolate::TimeoutException e{2s};
  EXPECT_EQ(e.reason().rfind("timed out after", 0), 0U) << "reason: " << e.reason();
  EXPECT_EQ(std::string_view{e.what()}, e.reason());
}

TEST(TimeoutException, IsCaughtAsCancelledExceptionAndKeepsItsTimeout) {
  const std::exception_ptr ptr = as_exception_ptr(isolate::TimeoutException{250ms});
  try {
    std::rethrow_exception(ptr);
  } catch (const isolate::CancelledException& e) {
    const auto* timeout = dynamic_cast<const isolate::TimeoutException*>(&e);
    ASSERT_NE(timeout, nullptr) << "caught a CancelledException that is not a TimeoutException";
    EXPECT_EQ(timeout->timeout(), std::chrono::nanoseconds{250ms});
    return;
  }
  FAIL() << "rethrow_exception did not throw a CancelledException";
}

TEST(TimeoutException, CopyKeepsTimeoutAndReason) {
  const isolate::TimeoutException original{42ms};
  const isolate::TimeoutException copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(copy.timeout(), std::chrono::nanoseconds{42ms});
  EXPECT_EQ(copy.reason(), original.reason());
}

TEST(IsolateError, WhatIsTheGivenMessage) {
  const isolate::IsolateError e{"worker executable not found"};
  EXPECT_STREQ(e.what(), "worker executable not found");
}

TEST(JobError, KeepsTypeNameAndMessage) {
  const isolate::JobError e{"my::ParseError", "bad byte at 3"};
  EXPECT_EQ(e.type_name(), "my::ParseError");
  EXPECT_EQ(e.message(), "bad byte at 3");
}

TEST(JobError, WhatReadsTypeNameColonMessage) {
  const isolate::JobError e{"my::ParseError", "bad byte at 3"};
  EXPECT_STREQ(e.what(), "my::ParseError: bad byte at 3");
}

TEST(JobError, CopyKeepsTypeNameMessageAndWhat) {
  const isolate::JobError original{"T", "m"};
  const isolate::JobError copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(copy.type_name(), "T");
  EXPECT_EQ(copy.message(), "m");
  EXPECT_STREQ(copy.what(), "T: m");
}

TEST(JobError, IsCaughtAsIsolateError) {
  const std::exception_ptr ptr = as_exception_ptr(isolate::JobError{"T", "m"});
  EXPECT_THROW(std::rethrow_exception(ptr), isolate::IsolateError);
}

TEST(WorkerCrashed, KilledBySignalHasSignalAndNoExitCode) {
  const isolate::WorkerCrashed e{SIGSEGV, std::nullopt};
  EXPECT_EQ(e.signal(), std::optional<int>{SIGSEGV});
  EXPECT_EQ(e.exit_code(), std::nullopt);
}

TEST(WorkerCrashed, NormalExitHasExitCodeAndNoSignal) {
  const isolate::WorkerCrashed e{std::nullopt, 3};
  EXPECT_EQ(e.exit_code(), std::optional<int>{3});
  EXPECT_EQ(e.signal(), std::nullopt);
}

TEST(WorkerCrashed, WhatTellsASignalDeathFromAnExit) {
  const isolate::WorkerCrashed by_signal{SIGKILL, std::nullopt};
  const isolate::WorkerCrashed by_exit{std::nullopt, 1};
  EXPECT_STRNE(by_signal.what(), "");
  EXPECT_STRNE(by_exit.what(), "");
  EXPECT_STRNE(by_signal.what(), by_exit.what());
}

TEST(WorkerCrashed, CopyKeepsSignalExitCodeAndWhat) {
  const isolate::WorkerCrashed original{SIGABRT, std::nullopt};
  const isolate::WorkerCrashed copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(copy.signal(), std::optional<int>{SIGABRT});
  EXPECT_EQ(copy.exit_code(), std::nullopt);
  EXPECT_STREQ(copy.what(), original.what());
}

TEST(WorkerCrashed, IsCaughtAsIsolateError) {
  const std::exception_ptr ptr = as_exception_ptr(isolate::WorkerCrashed{SIGKILL, std::nullopt});
  EXPECT_THROW(std::rethrow_exception(ptr), isolate::IsolateError);
}

}  // namespace
