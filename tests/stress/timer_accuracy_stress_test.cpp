// Timer accuracy and scalability of TimeoutCancellationToken with thousands of live tokens.
//
// 5000 tokens with deadlines spread over half a second, each with one registration. Checked:
//   * none fires before its deadline (exact: a timer must never fire early);
//   * all fire, within kSanityBound (a deliberately huge bound for sanitizers and a shared 2-core
//     machine: it only catches a timer that never fires or is stuck; it is not a latency claim);
//   * the process does not get a thread per token: the number of threads (entries of
//     /proc/self/task) grows by at most kThreadSlack, and every timeout callback runs on one
//     thread (the library's single timer thread, as the header documents).
// Lateness is printed for information only.
#include <isolate/cancellation_token.hpp>
#include <isolate/errors.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <future>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "sanity_bound.hpp"

namespace {

using namespace std::chrono_literals;
using isolate::CancellationCallback;
using isolate::TimeoutCancellationToken;
using isolate::TimeoutException;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kTokens = 5000;
using isolate::test::kSanityBound;  // only catches a hang
// The timer thread (started lazily), plus room for an executor or sanitizer helper thread.
constexpr std::ptrdiff_t kThreadSlack = 4;

std::ptrdiff_t thread_count() {
  std::ptrdiff_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator{"/proc/self/task"}) ++n;
  return n;
}

bool is_timeout(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const TimeoutException&) {
    return true;
  } catch (...) {
    return false;
  }
}

struct Slot {
  Clock::time_point deadline{};           // earliest allowed firing time
  std::atomic<std::int64_t> fired_ns{0};  // steady_clock ticks of the firing, 0 = not yet
  std::atomic<bool> timed_out{false};
};

TEST(TimerAccuracyStress, FiveThousandTimeoutTokensFireNotBeforeTheirDeadlinesWithoutAThreadEach) {
  const std::ptrdiff_t threads_before = thread_count();
  std::vector<Slot> slots(kTokens);
  std::atomic<std::size_t> fired{0};
  std::promise<void> all_fired;
  std::mutex firing_threads_mutex;
  std::set<std::thread::id> firing_threads;
  const std::thread::id test_thread = std::this_thread::get_id();

  std::vector<TimeoutCancellationToken> tokens;
  std::vector<CancellationCallback> registrations;
  tokens.reserve(kTokens);
  registrations.reserve(kTokens);
  for (std::size_t i = 0; i < kTokens; ++i) {
    // Deadlines spread over [50 ms, 550 ms), interleaved so neighbours do not share a deadline.
    const auto timeout = 50ms + std::chrono::microseconds{(i * 7919) % 500000};
    slots[i].deadline = Clock::now() + timeout;  // taken before the clock can start
    tokens.emplace_back(timeout);
    registrations.push_back(tokens.back().on_cancel([&, i](std::exception_ptr e) {
      slots[i].fired_ns.store(Clock::now().time_since_epoch().count());
      slots[i].timed_out.store(is_timeout(e));
      if (std::this_thread::get_id() != test_thread) {  // not run inline by a late on_cancel
        const std::lock_guard lock{firing_threads_mutex};
        firing_threads.insert(std::this_thread::get_id());
      }
      if (fired.fetch_add(1) + 1 == kTokens) all_fired.set_value();
    }));
  }
  const std::ptrdiff_t threads_while_live = thread_count();

  ASSERT_EQ(all_fired.get_future().wait_for(kSanityBound), std::future_status::ready)
      << fired.load() << " of " << kTokens << " tokens fired within the sanity bound";
  const std::ptrdiff_t threads_after = thread_count();

  std::size_t early = 0;
  Clock::duration worst_lateness{0};
  for (std::size_t i = 0; i < kTokens; ++i) {
    const Clock::time_point at{Clock::duration{slots[i].fired_ns.load()}};
    if (at < slots[i].deadline) ++early;
    worst_lateness = std::max(worst_lateness, at - slots[i].deadline);
    EXPECT_TRUE(slots[i].timed_out.load()) << "token " << i << " was not cancelled with TimeoutException";
    EXPECT_TRUE(tokens[i].is_cancelled());
  }
  EXPECT_EQ(early, 0U) << early << " tokens fired before their deadline";
  EXPECT_LE(threads_while_live - threads_before, kThreadSlack)
      << "threads before: " << threads_before << ", with " << kTokens << " live tokens: " << threads_while_live;
  EXPECT_LE(threads_after - threads_before, kThreadSlack);
  EXPECT_LE(firing_threads.size(), 1U) << "timeout callbacks ran on several threads";
  std::cout << "[ info     ] worst lateness "
            << std::chrono::duration_cast<std::chrono::microseconds>(worst_lateness).count() << " us over " << kTokens
            << " tokens (informational, not asserted)\n";
}

TEST(TimerAccuracyStress, FiveThousandLazyTokensStartTheirClocksAtRegistration) {
  const std::ptrdiff_t threads_before = thread_count();
  std::vector<Slot> slots(kTokens);
  std::atomic<std::size_t> fired{0};
  std::promise<void> all_fired;
  isolate::TimeoutOptions lazy;
  lazy.lazy_start = true;

  std::vector<TimeoutCancellationToken> tokens;
  tokens.reserve(kTokens);
  for (std::size_t i = 0; i < kTokens; ++i) tokens.emplace_back(20ms + std::chrono::microseconds{i % 200 * 100}, lazy);
  std::this_thread::sleep_for(100ms);  // past every deadline of a clock started at construction
  for (const auto& token : tokens) ASSERT_FALSE(token.is_cancelled()) << "a lazy clock started without registration";

  std::vector<CancellationCallback> registrations;
  registrations.reserve(kTokens);
  for (std::size_t i = 0; i < kTokens; ++i) {
    slots[i].deadline = Clock::now() + 20ms + std::chrono::microseconds{i % 200 * 100};
    registrations.push_back(tokens[i].on_cancel([&, i](std::exception_ptr) {
      slots[i].fired_ns.store(Clock::now().time_since_epoch().count());
      if (fired.fetch_add(1) + 1 == kTokens) all_fired.set_value();
    }));
  }
  ASSERT_EQ(all_fired.get_future().wait_for(kSanityBound), std::future_status::ready)
      << fired.load() << " of " << kTokens << " lazy tokens fired within the sanity bound";

  std::size_t early = 0;
  for (const auto& slot : slots) {
    if (Clock::time_point{Clock::duration{slot.fired_ns.load()}} < slot.deadline) ++early;
  }
  EXPECT_EQ(early, 0U) << early << " lazy tokens fired before their deadline";
  EXPECT_LE(thread_count() - threads_before, kThreadSlack);
}

TEST(TimerAccuracyStress, FiveThousandTokensDestroyedBeforeTheirDeadlineStopTheirClocks) {
  const std::ptrdiff_t threads_before = thread_count();
  std::atomic<std::size_t> fired{0};
  {
    std::vector<TimeoutCancellationToken> tokens;
    tokens.reserve(kTokens);
    for (std::size_t i = 0; i < kTokens; ++i) tokens.emplace_back(std::chrono::hours{1});
    EXPECT_LE(thread_count() - threads_before, kThreadSlack);
  }  // every handle gone: every clock stops, without waiting an hour

  // A token made afterwards still fires: the stopped clocks do not clog the timer.
  const TimeoutCancellationToken probe{1ms};
  std::promise<void> probe_fired;
  auto registration = probe.on_cancel([&](std::exception_ptr) {
    fired.fetch_add(1);
    probe_fired.set_value();
  });
  ASSERT_EQ(probe_fired.get_future().wait_for(kSanityBound), std::future_status::ready);
  EXPECT_EQ(fired.load(), 1U);
  EXPECT_LE(thread_count() - threads_before, kThreadSlack);
}

}  // namespace
